package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for raw access

	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/catalog/sqlstore"
	"wsus/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// engine opens stores of one engine for the tests that run on every
// engine.
type engine struct {
	name string
	// fresh returns the location of a new, empty database (a file path or
	// a PostgreSQL URL), dropped when the test ends.
	fresh func(t testing.TB) string
	// openStore opens the store at a location fresh returned.
	openStore func(ctx context.Context, where string) (*sqlstore.Store, error)
	// driver is the database/sql driver that reaches the database behind
	// the store's back (see raw).
	driver string
	// migrations are the schema versions a new database records, as
	// "version name".
	migrations []string
}

// raw opens the database at where behind the store's back, closed when
// the test ends.
func (e engine) raw(t testing.TB, where string) *sql.DB {
	t.Helper()
	db, err := sql.Open(e.driver, where)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// engines lists every engine the store runs on.
func engines() []engine {
	return []engine{
		{
			name:      "sqlite",
			fresh:     func(t testing.TB) string { return filepath.Join(t.TempDir(), "catalog.db") },
			openStore: sqlite.Open,
			driver:    "sqlite",
			migrations: []string{"1 0001_init", "2 0002_update_state_computer_groups", "3 0003_revision_drivers",
				"4 0004_event_received", "100 0100_one_store", "101 0101_sync", "102 0102_inventory", "103 0103_access", "104 0104_compliance", "105 0105_rules", "106 0106_event_installs"},
		},
		{
			name:      "postgres",
			fresh:     testpg.URL,
			openStore: postgres.Open,
			driver:    "pgx",
			migrations: []string{"1 0001_init", "2 0002_revision_drivers", "3 0003_event_received", "100 0100_one_store",
				"101 0101_sync", "102 0102_inventory", "103 0103_access", "104 0104_compliance", "105 0105_rules", "106 0106_event_installs"},
		},
	}
}

// open opens the store at where, failing the test on error.
func (e engine) open(t testing.TB, where string) *sqlstore.Store {
	t.Helper()
	s, err := e.openStore(t.Context(), where)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openFresh opens a store of e on a new database, closed when the test
// ends.
func (e engine) openFresh(t testing.TB) *sqlstore.Store {
	t.Helper()
	s := e.open(t, e.fresh(t))
	t.Cleanup(func() { s.Close() })
	return s
}
