// Package sqlite is the embedded catalog store: catalog.Store on one SQLite
// file, through the pure-Go driver modernc.org/sqlite.
//
// The file runs in WAL mode with synchronous=FULL, so a method that returned
// has its write on disk. Writes go through a single connection that begins
// its transactions IMMEDIATE: writers inside one process queue in Go instead
// of failing with SQLITE_BUSY, and writers of other processes on the same file
// wait up to the busy timeout. Reads use a separate pool of query-only
// connections that run beside the writer.
//
// The schema lives in migrations/*.sql, applied in order at Open and recorded
// in the schema_migrations table.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"
	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"wsus/catalog"
)

// busyTimeout is how long a statement waits for another process's lock.
const busyTimeout = 5 * time.Second

// readConns bounds the query-only connections that serve reads.
const readConns = 4

// Store is the SQLite catalog.Store. It is safe for concurrent use.
type Store struct {
	w     *sql.DB // the single writer connection
	r     *sql.DB // query-only readers
	close sync.Once
	err   error
}

var _ catalog.Store = (*Store)(nil)

// Open opens the catalog at path, creating the file if needed, and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, errorf("sqlite: open %q: want a plain file path", path)
	}
	ms := fmt.Sprint(busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite", path+"?_busy_timeout="+ms+
		"&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// Switching a new file to WAL takes an exclusive lock that SQLite does
	// not always wait for through the busy handler, so several processes
	// opening one new catalog at once may see SQLITE_BUSY here: retry.
	retry := backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(busyTimeout)), ctx)
	if err := backoff.Retry(func() error {
		if err := checkWAL(ctx, w); !isBusy(err) {
			return backoff.Permanent(err)
		}
		return err
	}, retry); err != nil {
		w.Close()
		return nil, errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?_busy_timeout="+ms+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, errorf("sqlite: open %s: %w", path, err)
	}
	return &Store{w: w, r: r}, nil
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// checkWAL makes sure the file really is in WAL mode: SQLite silently keeps
// the old journal mode where WAL is unavailable (some network file systems).
func checkWAL(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, WAL unavailable", mode)
	}
	return nil
}

// Close releases both connection pools. Calling it again returns the first
// result.
func (s *Store) Close() error {
	s.close.Do(func() {
		s.err = errors.Join(s.r.Close(), s.w.Close())
		if s.err != nil {
			s.err = errorf("sqlite: close: %w", s.err)
		}
	})
	return s.err
}

// write runs fn in one IMMEDIATE transaction on the writer connection and
// commits it; op names the operation in the returned error.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return errorf("sqlite: %s: begin: %w", op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return errorf("sqlite: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return errorf("sqlite: %s: commit: %w", op, err)
	}
	return nil
}

// read runs fn in one read-only transaction, so that several queries see one
// snapshot of the file.
func (s *Store) read(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return errorf("sqlite: %s: begin: %w", op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return errorf("sqlite: %s: %w", op, err)
	}
	return nil
}

// nowUTC is the current time as stored: UTC, no monotonic reading.
func nowUTC() time.Time { return time.Now().UTC() }

// bumpChangeSequence records a change to revisions, approvals, declines,
// target groups or computer-group assignments; it runs inside the
// transaction that makes the change.
func bumpChangeSequence(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "UPDATE change_sequence SET value = value + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("bump change sequence: %w", err)
	}
	return nil
}

// ChangeSequence returns the counter bumped by every change to revisions,
// approvals, declines, target groups or computer-group assignments (not by
// other changes to computers).
func (s *Store) ChangeSequence(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, "SELECT value FROM change_sequence WHERE id = 1").Scan(&v); err != nil {
		return 0, errorf("sqlite: change sequence: %w", err)
	}
	return v, nil
}

// ServerInfo returns the installation identity, creating it with a random ID
// on first use. ConfigChanged is the creation time, to the millisecond.
func (s *Store) ServerInfo(ctx context.Context) (catalog.ServerInfo, error) {
	info, err := scanServerInfo(s.r.QueryRowContext(ctx, "SELECT server_id, config_changed FROM server_info WHERE id = 1"))
	if err == nil {
		return info, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return catalog.ServerInfo{}, errorf("sqlite: server info: %w", err)
	}
	err = s.write(ctx, "server info", func(tx *sql.Tx) error {
		// Another process may have created it since the read: keep theirs.
		_, err := tx.ExecContext(ctx,
			"INSERT INTO server_info (id, server_id, config_changed) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
			uuid.New().String(), encTime(nowUTC().Truncate(time.Millisecond)))
		if err != nil {
			return err
		}
		info, err = scanServerInfo(tx.QueryRowContext(ctx, "SELECT server_id, config_changed FROM server_info WHERE id = 1"))
		return err
	})
	if err != nil {
		return catalog.ServerInfo{}, err
	}
	return info, nil
}

func scanServerInfo(row *sql.Row) (catalog.ServerInfo, error) {
	var id string
	var changed sql.NullString
	if err := row.Scan(&id, &changed); err != nil {
		return catalog.ServerInfo{}, err
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return catalog.ServerInfo{}, fmt.Errorf("stored server id: %w", err)
	}
	t, err := decTime(changed)
	if err != nil {
		return catalog.ServerInfo{}, err
	}
	return catalog.ServerInfo{ID: u, ConfigChanged: t}, nil
}
