package sqlstore_test

import (
	"os"
	"path/filepath"
	"testing"

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
	// open opens the store at a location fresh returned.
	open func(t testing.TB, where string) *sqlstore.Store
}

// engines lists every engine the store runs on.
func engines() []engine {
	return []engine{
		{
			name:  "sqlite",
			fresh: func(t testing.TB) string { return filepath.Join(t.TempDir(), "catalog.db") },
			open: func(t testing.TB, path string) *sqlstore.Store {
				t.Helper()
				s, err := sqlite.Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		},
		{
			name:  "postgres",
			fresh: testpg.URL,
			open: func(t testing.TB, url string) *sqlstore.Store {
				t.Helper()
				s, err := postgres.Open(t.Context(), url)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		},
	}
}

// openFresh opens a store of e on a new database, closed when the test
// ends.
func (e engine) openFresh(t testing.TB) *sqlstore.Store {
	t.Helper()
	s := e.open(t, e.fresh(t))
	t.Cleanup(func() { s.Close() })
	return s
}
