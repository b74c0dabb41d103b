package postgres_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wsus/catalog"
	"wsus/catalog/postgres"
	"wsus/catalog/storetest"
	"wsus/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// open opens the store at url, failing the test on error.
func open(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// openFresh opens a store on a new database.
func openFresh(t *testing.T) catalog.Store {
	return open(t, testpg.URL(t))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openFresh)
}

func TestPersistence(t *testing.T) {
	var url string
	storetest.RunPersistence(t,
		func(t *testing.T) catalog.Store {
			url = testpg.URL(t)
			return open(t, url)
		},
		func(t *testing.T, s catalog.Store) catalog.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, url)
		})
}

// rawDB connects to the database behind the store's back.
func rawDB(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	return conn
}

// TestTwoReplicas runs two Stores on one database, as two server processes
// would: each sees the other's writes at once, they share the change
// sequence and the server identity, and writing through both at the same
// time loses nothing and hands out no ID twice.
func TestTwoReplicas(t *testing.T) {
	url := testpg.URL(t)
	a, b := open(t, url), open(t, url)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()

	seq := func(s *postgres.Store) int64 {
		t.Helper()
		v, err := s.ChangeSequence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// steps alternate the writer; after each, both replicas agree.
	revs := storetest.Synthetic(20, "replicas")
	group := catalog.TargetGroup{ID: uuid.New(), Name: "Ring 1", ParentID: catalog.AllComputersGroupID}
	steps := []struct {
		name  string
		write func() error
		check func(s *postgres.Store) error
	}{
		{"A imports", func() error { _, err := a.ImportRevisions(ctx, revs); return err },
			func(s *postgres.Store) error {
				sums, err := s.Summaries(ctx)
				if err == nil && len(sums) != len(revs) {
					err = fmt.Errorf("sees %d revisions, want %d", len(sums), len(revs))
				}
				return err
			}},
		{"B creates a group", func() error { return b.CreateTargetGroup(ctx, group) },
			func(s *postgres.Store) error {
				gs, err := s.TargetGroups(ctx)
				if err == nil && len(gs) != 3 {
					err = fmt.Errorf("sees %d groups, want 3", len(gs))
				}
				return err
			}},
		{"A approves for B's group", func() error {
			_, err := a.SetApproval(ctx, catalog.Approval{UpdateID: revs[len(revs)-1].UpdateID, GroupID: group.ID, Action: catalog.ActionInstall})
			return err
		}, func(s *postgres.Store) error {
			as, err := s.Approvals(ctx)
			if err == nil && (len(as) != 1 || as[0].GroupID != group.ID) {
				err = fmt.Errorf("sees approvals %+v, want the one for %s", as, group.ID)
			}
			return err
		}},
		{"B declines", func() error { return b.SetDeclined(ctx, revs[0].UpdateID, true) },
			func(s *postgres.Store) error {
				sts, err := s.UpdateStates(ctx)
				found := false
				for _, st := range sts {
					found = found || (st.UpdateID == revs[0].UpdateID && st.Declined)
				}
				if err == nil && !found {
					err = fmt.Errorf("does not see the decline: %+v", sts)
				}
				return err
			}},
	}
	last := seq(a)
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for name, s := range map[string]*postgres.Store{"A": a, "B": b} {
			if err := st.check(s); err != nil {
				t.Errorf("after %s, replica %s %v", st.name, name, err)
			}
		}
		sa, sb := seq(a), seq(b)
		if sa != sb || sa <= last {
			t.Errorf("after %s: change sequence A %d, B %d; want equal and above %d", st.name, sa, sb, last)
		}
		last = sa
	}

	// Both replicas write at once.
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*postgres.Store{a, b}[w%2]
			for r := range rounds {
				if _, err := s.ImportRevisions(ctx, storetest.Synthetic(10, fmt.Sprintf("replicas-%d-%d", w, r))); err != nil {
					errs <- err
				}
				g := catalog.TargetGroup{ID: uuid.New(), Name: fmt.Sprintf("g%d-%d", w, r), ParentID: catalog.AllComputersGroupID}
				if err := s.CreateTargetGroup(ctx, g); err != nil {
					errs <- err
				}
				if _, err := s.SetApproval(ctx, catalog.Approval{UpdateID: revs[r].UpdateID, GroupID: catalog.AllComputersGroupID,
					Action: catalog.ActionInstall}); err != nil {
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
	want := len(revs) + workers*rounds*10
	seen := map[int32]bool{}
	for name, s := range map[string]*postgres.Store{"A": a, "B": b} {
		sums, err := s.Summaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != want {
			t.Errorf("replica %s sees %d revisions, want %d", name, len(sums), want)
		}
		clear(seen)
		for _, sm := range sums {
			if seen[sm.ID] {
				t.Errorf("revision ID %d handed out twice", sm.ID)
			}
			seen[sm.ID] = true
		}
	}
	ia, err := a.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ia != ib {
		t.Errorf("the replicas disagree on ServerInfo: %+v vs %+v", ia, ib)
	}
}

// TestServerInfoRace has replicas on a new database ask for the server
// identity at once: one is created, and all get it.
func TestServerInfoRace(t *testing.T) {
	url := testpg.URL(t)
	const n = 6
	stores := make([]*postgres.Store, n)
	for i := range stores {
		stores[i] = open(t, url)
		defer stores[i].Close()
	}
	infos := make([]catalog.ServerInfo, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = s.ServerInfo(t.Context())
		}()
	}
	wg.Wait()
	for i := range stores {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		} else if infos[i] != infos[0] {
			t.Errorf("replica %d got %+v, replica 0 %+v", i, infos[i], infos[0])
		}
	}
}

// migrations lists schema_migrations.
func migrations(t *testing.T, url string) []string {
	t.Helper()
	rows, err := rawDB(t, url).Query(t.Context(), "SELECT version, name FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
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
	return got
}

func TestMigrationsRecordedOnce(t *testing.T) {
	url := testpg.URL(t)
	open(t, url).Close()
	open(t, url).Close() // a second open applies nothing
	if got := strings.Join(migrations(t, url), ","); got != "1 0001_init,2 0002_revision_drivers,3 0003_event_received,100 0100_one_store" {
		t.Errorf("schema_migrations = %q, want [1 0001_init 2 0002_revision_drivers 3 0003_event_received 100 0100_one_store]", got)
	}
}

// TestConcurrentOpen opens one new database from several goroutines at
// once, as replicas starting together would: the schema is created once
// and every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	url := testpg.URL(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(t.Context(), url)
			if err != nil {
				errs <- err
				return
			}
			_, err = s.ServerInfo(t.Context())
			errs <- errors.Join(err, s.Close())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := strings.Join(migrations(t, url), ","); got != "1 0001_init,2 0002_revision_drivers,3 0003_event_received,100 0100_one_store" {
		t.Errorf("schema_migrations = %q, want [1 0001_init 2 0002_revision_drivers 3 0003_event_received 100 0100_one_store]", got)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	url := testpg.URL(t)
	open(t, url).Close()
	if _, err := rawDB(t, url).Exec(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future')"); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(t.Context(), url)
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: open ") ||
		!strings.HasSuffix(err.Error(), ": migrate: schema version 999 is newer than this program's 100") {
		t.Errorf("Open of a newer schema: got error %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, url, prefix string
	}{
		{"not a URL", "postgres://%zz", "postgres: open: "},
		{"no server", "postgres://postgres@127.0.0.1:1/none?connect_timeout=5", "postgres: open 127.0.0.1:1/none: "},
		{"no database", strings.Replace(testpg.URL(t), "/testpg_", "/missing_", 1), "postgres: open 127.0.0.1:"},
	}
	for _, tc := range tests {
		if tc.name == "no database" && os.Getenv(testpg.EnvURL) != "" {
			continue // the prefix names the host of an unknown server
		}
		s, err := postgres.Open(t.Context(), tc.url)
		if err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.prefix) {
			t.Errorf("%s: got error %q, want it to start with %q", tc.name, err, tc.prefix)
		}
		if strings.Contains(err.Error(), "password") {
			t.Errorf("%s: error %q mentions a password", tc.name, err)
		}
	}
}

func TestErrorsNameTheOperation(t *testing.T) {
	s := open(t, testpg.URL(t))
	defer s.Close()
	ctx := t.Context()
	_, err := s.Revision(ctx, 42)
	if !errors.Is(err, catalog.ErrNotFound) || err.Error() != "postgres: revision 42: not found" {
		t.Errorf("Revision(42): got %v", err)
	}
	_, err = s.FileBySHA1(ctx, []byte{1, 2, 3})
	if err == nil || err.Error() != "postgres: file by sha1 010203: digest has 3 bytes, want 20" {
		t.Errorf("FileBySHA1 of a short digest: got %v", err)
	}
	_, err = s.Fragments(ctx, []int32{1}, "Bogus", nil)
	if err == nil || err.Error() != `postgres: fragments: unknown fragment type "Bogus"` {
		t.Errorf("Fragments of an unknown type: got %v", err)
	}
	_, err = s.ImportRevisions(ctx, []*catalog.Revision{nil})
	if err == nil || err.Error() != "postgres: import revisions: revision 0: nil revision" {
		t.Errorf("ImportRevisions of nil: got %v", err)
	}
}

// TestRejectsTextPostgreSQLCannotHold: text columns hold neither NUL
// characters nor invalid UTF-8; such input is refused with an error that
// says which field, before anything is written.
func TestRejectsTextPostgreSQLCannotHold(t *testing.T) {
	s := open(t, testpg.URL(t))
	defer s.Close()
	ctx := t.Context()
	tests := []struct {
		name string
		edit func(r *catalog.Revision)
		want string
	}{
		{"NUL in the title", func(r *catalog.Revision) { r.Title = "a\x00b" },
			"postgres: import revisions: revision 1: Title contains a NUL character"},
		{"invalid UTF-8 in a fragment", func(r *catalog.Revision) { r.Localized["en"] = "\xff" },
			`postgres: import revisions: revision 1: LocalizedProperties "en" is not valid UTF-8`},
	}
	for _, tc := range tests {
		revs := storetest.Synthetic(2, "text")
		tc.edit(revs[1])
		_, err := s.ImportRevisions(ctx, revs)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got error %v, want %q", tc.name, err, tc.want)
		}
	}
	err := s.RecordAuthorization(ctx, "c1", "pc\x001", nil, time.Date(2026, 10, 4, 15, 0, 0, 0, time.UTC))
	if want := `postgres: record authorization of "c1": DNS name contains a NUL character`; err == nil || err.Error() != want {
		t.Errorf("RecordAuthorization with a NUL: got error %v, want %q", err, want)
	}
	sums, err := s.Summaries(ctx)
	if err != nil || len(sums) != 0 {
		t.Errorf("after rejected imports: %d revisions, error %v; want none", len(sums), err)
	}
}

func TestCloseTwice(t *testing.T) {
	s := open(t, testpg.URL(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// BenchmarkSummaries reads the summaries of a 5,000-revision catalog.
func BenchmarkSummaries(b *testing.B) {
	s := open(b, testpg.URL(b))
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

// BenchmarkImport imports a 5,000-revision catalog into a new database.
func BenchmarkImport(b *testing.B) { benchmarkImport(b, 5000) }

// BenchmarkImport50k imports a 50,000-revision catalog into a new database.
func BenchmarkImport50k(b *testing.B) { benchmarkImport(b, 50000) }

func benchmarkImport(b *testing.B, n int) {
	for b.Loop() {
		b.StopTimer()
		s := open(b, testpg.URL(b))
		revs := storetest.Synthetic(n, "bench")
		b.StartTimer()
		if _, err := s.ImportRevisions(b.Context(), revs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
