package sqlite_test

// The store's behaviour is tested on both engines in catalog/sqlstore; what
// is SQLite's own is here.

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/sqlite"
)

// open opens the store at path, failing the test on error.
func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawDB opens the file behind the store's back, to look at the schema.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenRejectsGarbageFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a garbage file succeeded")
	}
	if !strings.HasPrefix(err.Error(), "sqlite: open "+path+": ") {
		t.Errorf("Open of a garbage file: error %q does not name the file", err)
	}
}

// TestUpgradeFromVersion1 opens a catalog written before migration 0002 (as
// catalogs in the field were): its approvals get update states, changed when
// the newest approval of each update was set, and nothing else is lost.
func TestUpgradeFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	v1schema, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	const updateA, updateB = "1f9bd9bb-7390-4aa3-bbdb-ded99fac2583", "ff36f0b5-dded-4780-8664-cd78af8b62c1"
	for _, q := range []string{
		string(v1schema),
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
		"INSERT INTO schema_migrations VALUES (1, '0001_init', '2026-10-01T00:00:00.000000000Z')",
		`INSERT INTO approval (update_id, group_id, action, deadline, changed_at, changed_by) VALUES
			('` + updateA + `', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'Install', NULL, '2026-10-02T08:00:00.000000000Z', 'admin'),
			('` + updateA + `', 'b73ca6ed-5727-47f3-84de-015e03f6a88a', 'Install', NULL, '2026-10-03T09:30:00.123456000Z', 'admin'),
			('` + updateB + `', 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'Uninstall', NULL, '2026-10-01T12:00:00.000000000Z', 'admin')`,
		`INSERT INTO computer (id, dns_name, registered, os_major, os_minor, os_build, os_description, os_locale,
			architecture, manufacturer, model, client_version, first_seen)
			VALUES ('pc1', 'pc1.contoso.local', 0, 0, 0, 0, '', '', '', '', '', '', '2026-10-01T00:00:00.000000000Z')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("build a version 1 catalog: %v", err)
		}
	}
	db.Close()

	s := open(t, path)
	defer s.Close()
	states, err := s.UpdateStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	date := func(v string) time.Time {
		d, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := []catalog.UpdateState{
		{UpdateID: uuid.MustParse(updateA), ChangedAt: date("2026-10-03T09:30:00.123456Z")},
		{UpdateID: uuid.MustParse(updateB), ChangedAt: date("2026-10-01T12:00:00Z")},
	}
	if !reflect.DeepEqual(states, want) {
		t.Errorf("UpdateStates after the upgrade:\n got %+v\nwant %+v", states, want)
	}
	approvals, err := s.Approvals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(approvals) != 3 {
		t.Errorf("got %d approvals after the upgrade, want 3", len(approvals))
	}
	c, err := s.Computer(t.Context(), "pc1")
	if err != nil {
		t.Fatal(err)
	}
	if c.DNSName != "pc1.contoso.local" || c.Groups != nil {
		t.Errorf("computer after the upgrade: %+v, want pc1.contoso.local in no group", c)
	}
	if err := s.SetComputerGroups(t.Context(), "pc1", []uuid.UUID{catalog.UnassignedComputersGroupID}); err != nil {
		t.Errorf("SetComputerGroups after the upgrade: %v", err)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:catalog.db", "catalog.db?mode=ro"} {
		s, err := sqlite.Open(t.Context(), p)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
			continue
		}
		if want := fmt.Sprintf("sqlite: open %q: want a plain file path", p); err.Error() != want {
			t.Errorf("Open(%q): got error %q, want %q", p, err, want)
		}
	}
	if _, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing-dir", "catalog.db")); err == nil {
		t.Errorf("Open in a missing directory succeeded, want an error")
	}
}
