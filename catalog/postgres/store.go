// Package postgres is the PostgreSQL catalog store: the one store of
// package catalog/sqlstore on one PostgreSQL database, through pgx
// (github.com/jackc/pgx/v5): one pgxpool, used through pgx's database/sql
// adapter for writes and through pgx's own API for reads. This package
// holds what is PostgreSQL's own: connecting, its dialect (COPY for bulk
// loads, native read transactions), and its schema history from before the
// stores merged.
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
// bookkeeping are the callers'. Migrations run under a session advisory
// lock, so replicas starting together migrate once.
package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"wsus/catalog/sqlstore"
)

// Store is the PostgreSQL catalog store. It is safe for concurrent use, and
// any number of Stores (in one process or many) may share one database.
type Store = sqlstore.Store

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx reads them; pool settings such as
// pool_max_conns, pool_max_conn_lifetime and pool_max_conn_idle_time go in
// it too, with pgxpool's defaults) and brings its schema up to date.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, markOutage(fmt.Errorf("postgres: open %s: %w", where, err))
	}
	// One pool serves both ways in: database/sql (writes, COPY) and pgx's
	// own API (reads, see dialect.BeginRead).
	db := stdlib.OpenDBFromPool(pool)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		pool.Close()
		return nil, markOutage(fmt.Errorf("postgres: open %s: %w", where, err))
	}
	s, err := sqlstore.New(ctx, sqlstore.Config{Dialect: dialect{pool: pool}, Writer: db, Reader: db, Close: pool.Close})
	if err != nil {
		return nil, markOutage(fmt.Errorf("postgres: open %s: %w", where, err))
	}
	return s, nil
}
