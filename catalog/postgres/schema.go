package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"wsus/catalog/sqlstore"
)

// Inspect connects to the database at url and reads its schema version
// without migrating or changing anything (wsusd check). A database that is
// not reachable is an error marked catalog.ErrUnavailable.
func Inspect(ctx context.Context, url string) (sqlstore.Schema, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return sqlstore.Schema{}, fmt.Errorf("postgres: inspect: %w", err)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return sqlstore.Schema{}, markOutage(fmt.Errorf("postgres: inspect %s: %w", where, err))
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	s, err := sqlstore.ReadSchema(ctx, dialect{}, db, "SELECT to_regclass('schema_migrations') IS NOT NULL")
	if err != nil {
		return s, markOutage(fmt.Errorf("postgres: inspect %s: %w", where, err))
	}
	return s, nil
}

// CheckURL reports whether url is a connection string Open can parse (a
// postgres:// URL or key=value pairs), without connecting.
func CheckURL(url string) error {
	if _, err := pgxpool.ParseConfig(url); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}
