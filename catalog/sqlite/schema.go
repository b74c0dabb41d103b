package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"wsus/catalog/sqlstore"
)

// Inspect reads the schema version of the catalog file at path without
// migrating or changing it (wsusd check): the file is opened query-only.
// A missing file is not created: the error wraps fs.ErrNotExist, and the
// Schema still tells the version Open would create.
func Inspect(ctx context.Context, path string) (sqlstore.Schema, error) {
	if _, err := os.Stat(path); err != nil {
		want, werr := sqlstore.WantSchema(dialect{})
		return sqlstore.Schema{Want: want}, errors.Join(fmt.Errorf("sqlite: inspect: %w", err), werr)
	}
	db, err := sql.Open("sqlite", path+"?_query_only=1&_busy_timeout="+fmt.Sprint(busyTimeout.Milliseconds()))
	if err != nil {
		return sqlstore.Schema{}, openError(path, err)
	}
	defer db.Close()
	s, err := sqlstore.ReadSchema(ctx, dialect{}, db,
		"SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
	if err != nil {
		return s, fmt.Errorf("sqlite: inspect %s: %w", path, err)
	}
	return s, nil
}
