package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/sqlite"
	"wsus/catalog/storetest"
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

// openTemp opens a store on a new file in a temporary directory.
func openTemp(t *testing.T) catalog.Store {
	return open(t, filepath.Join(t.TempDir(), "catalog.db"))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTemp)
}

func TestPersistence(t *testing.T) {
	var path string
	storetest.RunPersistence(t,
		func(t *testing.T) catalog.Store {
			path = filepath.Join(t.TempDir(), "catalog.db")
			return open(t, path)
		},
		func(t *testing.T, s catalog.Store) catalog.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path)
		})
}

// TestTwoStoresOneFile runs writers through two Stores on one file, as two
// server processes would: SQLite's locks and the busy timeout, not Go,
// serialize them, and none may fail with SQLITE_BUSY.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	stores := []*sqlite.Store{open(t, path), open(t, path)}
	for _, s := range stores {
		defer s.Close()
	}
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*3)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for r := 0; r < rounds; r++ {
				if _, err := s.ImportRevisions(t.Context(), storetest.Synthetic(10, fmt.Sprintf("two-stores-%d-%d", w, r))); err != nil {
					errs <- err
				}
				g := catalog.TargetGroup{ID: uuid.New(), Name: fmt.Sprintf("g%d-%d", w, r), ParentID: catalog.AllComputersGroupID}
				if err := s.CreateTargetGroup(t.Context(), g); err != nil {
					errs <- err
				}
				if _, err := s.ServerInfo(t.Context()); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, s := range stores {
		sums, err := s.Summaries(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != workers*rounds*10 {
			t.Errorf("store %d sees %d revisions, want %d", i, len(sums), workers*rounds*10)
		}
	}
	a, err := stores[0].ServerInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, err := stores[1].ServerInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("the two stores disagree on ServerInfo: %+v vs %+v", a, b)
	}
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

func TestMigrationsRecordedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	open(t, path).Close()
	open(t, path).Close() // a second open applies nothing
	db := rawDB(t, path)
	rows, err := db.Query("SELECT version, name FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", v, name))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "1 0001_init,2 0002_update_state_computer_groups,3 0003_revision_drivers,4 0004_event_received,100 0100_one_store"; strings.Join(got, ",") != want {
		t.Errorf("schema_migrations = %q, want %q", got, want)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

// TestConcurrentOpen opens one new file from several goroutines at once, as
// replicas starting together would: the schema is created exactly once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var count int
	if err := rawDB(t, path).QueryRow("SELECT count(*) FROM schema_migrations").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 5 {
		t.Errorf("schema_migrations has %d rows, want 5", count)
	}
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

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	open(t, path).Close()
	if _, err := rawDB(t, path).Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', '')"); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(t.Context(), path)
	want := "sqlite: open " + path + ": migrate: schema version 999 is newer than this program's 100"
	if err == nil || err.Error() != want {
		t.Errorf("Open of a newer schema: got error %v, want %q", err, want)
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

func TestErrorsNameTheOperation(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	_, err := s.Revision(t.Context(), 42)
	if !errors.Is(err, catalog.ErrNotFound) || err.Error() != "sqlite: revision 42: not found" {
		t.Errorf("Revision(42): got %v", err)
	}
	_, err = s.FileBySHA1(t.Context(), []byte{1, 2, 3})
	if !errors.Is(err, catalog.ErrInvalid) || err.Error() != "sqlite: file by sha1 010203: digest has 3 bytes, want 20" {
		t.Errorf("FileBySHA1 of a short digest: got %v", err)
	}
	_, err = s.Fragments(t.Context(), []int32{1}, "Bogus", nil)
	if !errors.Is(err, catalog.ErrInvalid) || err.Error() != `sqlite: fragments: unknown fragment type "Bogus"` {
		t.Errorf("Fragments of an unknown type: got %v", err)
	}
	_, err = s.ImportRevisions(t.Context(), []*catalog.Revision{nil})
	if !errors.Is(err, catalog.ErrInvalid) || err.Error() != "sqlite: import revisions: revision 0: nil revision" {
		t.Errorf("ImportRevisions of nil: got %v", err)
	}
	unknown := uuid.MustParse("72e7624a-5b00-45d2-b92f-e561c0a6a160")
	err = s.SetDeclined(t.Context(), unknown, true)
	if !errors.Is(err, catalog.ErrNotFound) || err.Error() != "sqlite: decline update "+unknown.String()+": update "+unknown.String()+": not found" {
		t.Errorf("SetDeclined of an unknown update: got %v", err)
	}
	err = s.SetComputerGroups(t.Context(), "pc9", nil)
	if !errors.Is(err, catalog.ErrNotFound) || err.Error() != `sqlite: set groups of "pc9": computer "pc9": not found` {
		t.Errorf("SetComputerGroups of an unknown computer: got %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	s := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// BenchmarkSummaries reads the summaries of a 5,000-revision catalog.
func BenchmarkSummaries(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "catalog.db"))
	defer s.Close()
	revs := storetest.Synthetic(5000, "bench")
	if _, err := s.ImportRevisions(b.Context(), revs); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		sums, err := s.Summaries(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if len(sums) != len(revs) {
			b.Fatalf("got %d summaries, want %d", len(sums), len(revs))
		}
	}
}

// BenchmarkImport imports a 5,000-revision catalog into a new file.
func BenchmarkImport(b *testing.B) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		b.StopTimer()
		s := open(b, filepath.Join(dir, fmt.Sprintf("catalog-%d.db", i)))
		revs := storetest.Synthetic(5000, "bench")
		i++
		b.StartTimer()
		if _, err := s.ImportRevisions(b.Context(), revs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
