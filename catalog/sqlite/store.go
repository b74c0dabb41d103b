// Package sqlite is the embedded catalog store: the one store of package
// catalog/sqlstore on one SQLite file, through the pure-Go driver
// modernc.org/sqlite. This package holds what is SQLite's own: opening the
// file, its dialect, and its schema history from before the stores merged.
//
// The file runs in WAL mode with synchronous=FULL, so a method that returned
// has its write on disk. Writes go through a single connection that begins
// its transactions IMMEDIATE: writers inside one process queue in Go instead
// of failing with SQLITE_BUSY, and writers of other processes on the same file
// wait up to the busy timeout. Reads use a separate pool of query-only
// connections that run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"wsus/catalog/sqlstore"
)

// busyTimeout is how long a statement waits for another process's lock.
const busyTimeout = 5 * time.Second

// readConns bounds the query-only connections that serve reads.
const readConns = 4

// Store is the SQLite catalog store. It is safe for concurrent use.
type Store = sqlstore.Store

// Open opens the catalog at path, creating the file if needed, and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	ms := fmt.Sprint(busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite", path+"?_busy_timeout="+ms+
		"&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, openError(path, err)
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
		return nil, openError(path, err)
	}
	r, err := sql.Open("sqlite", path+"?_busy_timeout="+ms+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, openError(path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s, err := sqlstore.New(ctx, sqlstore.Config{Dialect: dialect{}, Writer: w, Reader: r})
	if err != nil {
		return nil, openError(path, err)
	}
	return s, nil
}

func openError(path string, err error) error {
	return markOutage(fmt.Errorf("sqlite: open %s: %w", path, err))
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
