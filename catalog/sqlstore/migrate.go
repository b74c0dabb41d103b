package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"wsus/catalog"
	"wsus/catalog/migration"
)

//go:embed migrations/*.sql
var sharedMigrations embed.FS

// firstShared is the version of the first shared migration; the engines'
// own histories stay below it.
const firstShared = 100

// migrations returns the steps of the store's engine, in order: its own
// history, then the shared one.
func migrations(d Dialect) ([]migration.Migration, error) {
	legacy, err := d.LegacyMigrations()
	if err != nil {
		return nil, err
	}
	if n := len(legacy); n > 0 && legacy[n-1].Version >= firstShared {
		return nil, fmt.Errorf("%s's own migration %s reaches the shared versions", d.Name(), legacy[n-1].Name)
	}
	shared, err := migration.LoadShared(sharedMigrations, "migrations", d.Name(), firstShared)
	if err != nil {
		return nil, err
	}
	return append(legacy, shared...), nil
}

// migrate applies the migrations the database has not recorded yet, each in
// its own write transaction together with its schema_migrations row, then
// brings the stored group name keys up to date and reads the metadata
// columns of revisions imported before 0104_compliance
// (backfillProperties). Other processes opening the
// same database wait (Dialect.LockMigrations), then find nothing to do. It
// refuses a database whose schema is newer than this program.
func migrate(ctx context.Context, s *Store) error {
	ms, err := migrations(s.d)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	unlock, err := s.d.LockMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer unlock()
	if _, err := conn.ExecContext(ctx, s.d.SchemaMigrationsTable()); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := checkRecorded(ctx, conn, ms); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if err := apply(ctx, s, conn, m); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
	}
	if err := rekeyGroupNames(ctx, s, conn); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := backfillProperties(ctx, s, conn); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// checkRecorded refuses a database that recorded a version this program
// does not know: a newer program migrated it.
func checkRecorded(ctx context.Context, conn *sql.Conn, ms []migration.Migration) error {
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
	}
	last := ms[len(ms)-1].Version
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version DESC")
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, func(row Row) error {
		var v int
		if err := row.Scan(num(&v)); err != nil {
			return err
		}
		switch {
		case v > last:
			return fmt.Errorf("schema version %d is newer than this program's %d", v, last)
		case !known[v]:
			return fmt.Errorf("schema version %d is unknown to this program (its newest is %d)", v, last)
		}
		return nil
	})
}

// apply runs one migration unless it is recorded already; the check sits
// inside the write transaction.
func apply(ctx context.Context, s *Store, conn *sql.Conn, m migration.Migration) error {
	return s.inTx(ctx, conn, func(t *tx) error {
		var n int
		if err := t.queryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.Version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if m.SQL != "" {
			if _, err := t.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
		}
		_, err := t.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
			m.Version, m.Name, s.d.Time(time.Now()))
		return err
	})
}

// rekeyGroupNames stores each target group's name key as
// catalog.GroupNameKey computes it today. Keys written by older programs
// (lower-cased, not folded) change; a key another group holds already stays
// as it was, so that two groups named apart before stay apart.
func rekeyGroupNames(ctx context.Context, s *Store, conn *sql.Conn) error {
	return s.inTx(ctx, conn, func(t *tx) error {
		type group struct{ id, name, key string }
		var groups []group
		taken := map[string]bool{}
		err := t.query(ctx, "SELECT id, name, name_key FROM target_group", nil, func(rows Row) error {
			var g group
			if err := rows.Scan(&g.id, &g.name, &g.key); err != nil {
				return err
			}
			groups = append(groups, g)
			taken[g.key] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("group name keys: %w", err)
		}
		for _, g := range groups {
			key := catalog.GroupNameKey(g.name)
			if key == g.key || taken[key] {
				continue
			}
			if _, err := t.exec(ctx, "UPDATE target_group SET name_key = $1 WHERE id = $2", key, g.id); err != nil {
				return fmt.Errorf("group name key of %q: %w", g.name, err)
			}
			delete(taken, g.key)
			taken[key] = true
		}
		return nil
	})
}
