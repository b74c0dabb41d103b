// Package postgres is the PostgreSQL catalog store: catalog.Store on one
// PostgreSQL database through pgx (github.com/jackc/pgx/v5) and its pool.
//
// Several server processes (replicas) may open one database: every write is
// one transaction, and cross-process invariants live in the database, not in
// Go. Revision and deployment IDs come from sequences, so they are never
// reused; imports take a transaction-level advisory lock, so IsLeaf, which
// depends on the whole catalog, is recomputed over a consistent one; the
// change sequence is one row that every catalog-changing transaction bumps as
// its last statement. Times the store picks itself (approval and decline
// times, import times, the server identity's stamp) come from the database
// server's clock, the one clock all replicas share; times of client
// bookkeeping are the callers'.
//
// The schema lives in migrations/*.sql, applied in order at Open (under a
// session advisory lock, so replicas starting together migrate once) and
// recorded in the schema_migrations table.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wsus/catalog"
)

// Advisory lock keys of the store (pg_advisory_lock's one-bigint form). They
// only need to differ from the keys other programs sharing the database use.
const (
	lockMigrate int64 = 0x7773_7573_6d69_6701 // "wsusmig" + 1
	lockImport  int64 = 0x7773_7573_696d_7001 // "wsusimp" + 1
)

// writeAttempts bounds how often a write transaction that failed with a
// serialization failure or a deadlock is run again.
const writeAttempts = 3

// Store is the PostgreSQL catalog.Store. It is safe for concurrent use, and
// any number of Stores (in one process or many) may share one database.
type Store struct {
	pool  *pgxpool.Pool
	close sync.Once
}

var _ catalog.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx reads them; pool settings such as
// pool_max_conns go in it too) and brings its schema up to date.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errorf("postgres: open: %w", err)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if err := migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, errorf("postgres: open %s: %w", where, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errorf("postgres: open %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, errorf("postgres: open %s: %w", where, err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the connection pool, waiting for connections in use to be
// returned. Calling it again does nothing.
func (s *Store) Close() error {
	s.close.Do(s.pool.Close)
	return nil
}

// write runs fn in one READ COMMITTED transaction and commits it; op names
// the operation in the returned error. A transaction that fails with a
// serialization failure or a deadlock is run again, so fn must not keep
// state from an earlier attempt.
func (s *Store) write(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	var err error
	for range writeAttempts {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if c := pgCode(err); c != codeSerializationFailure && c != codeDeadlockDetected {
			break
		}
	}
	if err != nil {
		return errorf("postgres: %s: %w", op, err)
	}
	return nil
}

// read runs fn in one read-only REPEATABLE READ transaction, so that several
// queries see one snapshot.
func (s *Store) read(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	if err != nil {
		return errorf("postgres: %s: %w", op, err)
	}
	return nil
}

// bumpChangeSequence records a change to revisions, approvals, declines,
// target groups or computer-group assignments. It must be the last
// statement of the transaction that makes the change: the row lock it takes
// is held until commit, and a transaction that waits for no other lock while
// holding it cannot deadlock.
func bumpChangeSequence(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "UPDATE change_sequence SET value = value + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("bump change sequence: %w", err)
	}
	return nil
}

// ChangeSequence returns the counter bumped by every change to revisions,
// approvals, declines, target groups or computer-group assignments (not by
// other changes to computers).
func (s *Store) ChangeSequence(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, "SELECT value FROM change_sequence WHERE id = 1").Scan(&v); err != nil {
		return 0, errorf("postgres: change sequence: %w", err)
	}
	return v, nil
}

// ServerInfo returns the installation identity, creating it with a random ID
// on first use. ConfigChanged is the creation time (the database server's
// clock), to the millisecond. When
// replicas race to create it, the first insert wins and all return it.
func (s *Store) ServerInfo(ctx context.Context) (catalog.ServerInfo, error) {
	const get = "SELECT server_id, config_changed FROM server_info WHERE id = 1"
	info, err := scanServerInfo(s.pool.QueryRow(ctx, get))
	if err == nil {
		return info, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return catalog.ServerInfo{}, errorf("postgres: server info: %w", err)
	}
	err = s.write(ctx, "server info", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO server_info (id, server_id, config_changed)
			VALUES (1, $1, date_trunc('milliseconds', now())) ON CONFLICT (id) DO NOTHING`, encUUID(uuid.New()))
		if err != nil {
			return err
		}
		info, err = scanServerInfo(tx.QueryRow(ctx, get))
		return err
	})
	if err != nil {
		return catalog.ServerInfo{}, err
	}
	return info, nil
}

func scanServerInfo(row pgx.Row) (catalog.ServerInfo, error) {
	var info catalog.ServerInfo
	var changed time.Time
	if err := row.Scan((*[16]byte)(&info.ID), &changed); err != nil {
		return catalog.ServerInfo{}, err
	}
	info.ConfigChanged = changed.UTC()
	return info, nil
}
