package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"wsus/catalog/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies the migrations db has not recorded yet, each in its own
// transaction together with its schema_migrations row. It refuses a file
// whose schema is newer than this program.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migration.Load(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var newest sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if newest.Int64 > int64(len(ms)) {
		return fmt.Errorf("migrate: schema version %d is newer than this program's %d", newest.Int64, len(ms))
	}
	for _, m := range ms {
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
	}
	return nil
}

// apply runs one migration unless it is recorded already. The check sits
// inside the (IMMEDIATE) transaction, so two processes opening a new file at
// once apply it only once.
func apply(ctx context.Context, db *sql.DB, m migration.Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, encTime(nowUTC())); err != nil {
		return err
	}
	return tx.Commit()
}
