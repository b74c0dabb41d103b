package sqlstore_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/sqlstore"
	"wsus/catalog/storetest"
)

func TestConformance(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) catalog.Store { return e.openFresh(t) })
		})
	}
}

func TestPersistence(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			var where string
			storetest.RunPersistence(t,
				func(t *testing.T) catalog.Store {
					where = e.fresh(t)
					return e.open(t, where)
				},
				func(t *testing.T, s catalog.Store) catalog.Store {
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					return e.open(t, where)
				})
		})
	}
}

// TestTwoStoresOneDatabase runs two Stores on one database, as two server
// processes would: each sees the other's writes at once, they share the
// change sequence and the server identity, and writing through both at the
// same time loses nothing, fails nothing and hands out no ID twice.
func TestTwoStoresOneDatabase(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) { testTwoStores(t, e) })
	}
}

func testTwoStores(t *testing.T, e engine) {
	where := e.fresh(t)
	a, b := e.open(t, where), e.open(t, where)
	defer a.Close()
	defer b.Close()
	ctx := t.Context()

	seq := func(s *sqlstore.Store) int64 {
		t.Helper()
		v, err := s.ChangeSequence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// steps alternate the writer; after each, both stores agree.
	revs := storetest.Synthetic(20, "replicas")
	group := catalog.TargetGroup{ID: uuid.New(), Name: "Ring 1", ParentID: catalog.AllComputersGroupID}
	steps := []struct {
		name  string
		write func() error
		check func(s *sqlstore.Store) error
	}{
		{"A imports", func() error { _, err := a.ImportRevisions(ctx, revs); return err },
			func(s *sqlstore.Store) error {
				sums, err := s.Summaries(ctx)
				if err == nil && len(sums) != len(revs) {
					err = fmt.Errorf("sees %d revisions, want %d", len(sums), len(revs))
				}
				return err
			}},
		{"B creates a group", func() error { return b.CreateTargetGroup(ctx, group) },
			func(s *sqlstore.Store) error {
				gs, err := s.TargetGroups(ctx)
				if err == nil && len(gs) != 3 {
					err = fmt.Errorf("sees %d groups, want 3", len(gs))
				}
				return err
			}},
		{"A approves for B's group", func() error {
			_, err := a.SetApproval(ctx, catalog.Approval{UpdateID: revs[len(revs)-1].UpdateID, GroupID: group.ID, Action: catalog.ActionInstall})
			return err
		}, func(s *sqlstore.Store) error {
			as, err := s.Approvals(ctx)
			if err == nil && (len(as) != 1 || as[0].GroupID != group.ID) {
				err = fmt.Errorf("sees approvals %+v, want the one for %s", as, group.ID)
			}
			return err
		}},
		{"B declines", func() error { return b.SetDeclined(ctx, revs[0].UpdateID, true) },
			func(s *sqlstore.Store) error {
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
		for name, s := range map[string]*sqlstore.Store{"A": a, "B": b} {
			if err := st.check(s); err != nil {
				t.Errorf("after %s, store %s %v", st.name, name, err)
			}
		}
		sa, sb := seq(a), seq(b)
		if sa != sb || sa <= last {
			t.Errorf("after %s: change sequence A %d, B %d; want equal and above %d", st.name, sa, sb, last)
		}
		last = sa
	}

	// Both stores write at once: imports, groups, and the same approvals
	// replaced over and over.
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*sqlstore.Store{a, b}[w%2]
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
	for name, s := range map[string]*sqlstore.Store{"A": a, "B": b} {
		sums, err := s.Summaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != want {
			t.Errorf("store %s sees %d revisions, want %d", name, len(sums), want)
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
		t.Errorf("the stores disagree on ServerInfo: %+v vs %+v", ia, ib)
	}
}

// TestCreateTargetGroupRace has two stores create groups of one name at
// once: one wins, every other gets catalog.ErrConflict.
func TestCreateTargetGroupRace(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := e.fresh(t)
			stores := []*sqlstore.Store{e.open(t, where), e.open(t, where)}
			for _, s := range stores {
				defer s.Close()
			}
			const n = 6
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					g := catalog.TargetGroup{ID: uuid.New(), Name: []string{"Pilot", "PILOT", "pilot"}[i%3], ParentID: catalog.AllComputersGroupID}
					errs[i] = stores[i%2].CreateTargetGroup(t.Context(), g)
				}()
			}
			wg.Wait()
			created := 0
			for i, err := range errs {
				switch {
				case err == nil:
					created++
				case !errors.Is(err, catalog.ErrConflict):
					t.Errorf("create %d: %v, want nil or a conflict", i, err)
				}
			}
			if created != 1 {
				t.Errorf("%d creates succeeded, want 1", created)
			}
		})
	}
}

// TestServerInfoRace has stores on a new database ask for the server
// identity at once: one is created, and all get it.
func TestServerInfoRace(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := e.fresh(t)
			const n = 6
			stores := make([]*sqlstore.Store, n)
			for i := range stores {
				stores[i] = e.open(t, where)
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
					t.Errorf("store %d: %v", i, errs[i])
				} else if infos[i] != infos[0] {
					t.Errorf("store %d got %+v, store 0 %+v", i, infos[i], infos[0])
				}
			}
		})
	}
}

// migrations lists schema_migrations as "version name".
func migrations(t *testing.T, e engine, where string) []string {
	t.Helper()
	rows, err := e.raw(t, where).QueryContext(t.Context(), "SELECT version, name FROM schema_migrations ORDER BY version")
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
	return got
}

func TestMigrationsRecordedOnce(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := e.fresh(t)
			e.open(t, where).Close()
			e.open(t, where).Close() // a second open applies nothing
			if got := migrations(t, e, where); !reflect.DeepEqual(got, e.migrations) {
				t.Errorf("schema_migrations = %q, want %q", got, e.migrations)
			}
		})
	}
}

// TestConcurrentOpen opens one new database from several goroutines at
// once, as replicas starting together would: the schema is created once and
// every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := e.fresh(t)
			const n = 6
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := e.openStore(t.Context(), where)
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
			if got := migrations(t, e, where); !reflect.DeepEqual(got, e.migrations) {
				t.Errorf("schema_migrations = %q, want %q", got, e.migrations)
			}
		})
	}
}

// TestOpenRefusesNewerSchema: a database a newer program migrated (a
// version above this program's, or one it does not know) is refused.
func TestOpenRefusesNewerSchema(t *testing.T) {
	cases := []struct {
		version int
		want    string
	}{
		{999, "migrate: schema version 999 is newer than this program's %s"},
		{42, "migrate: schema version 42 is unknown to this program (its newest is %s)"},
	}
	for _, e := range engines() {
		// The newest version is the last of the engine's migrations.
		newest, _, _ := strings.Cut(e.migrations[len(e.migrations)-1], " ")
		for _, c := range cases {
			want := fmt.Sprintf(c.want, newest)
			t.Run(fmt.Sprintf("%s/%d", e.name, c.version), func(t *testing.T) {
				where := e.fresh(t)
				e.open(t, where).Close()
				insert := "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', $2)"
				if e.driver == "sqlite" {
					insert = strings.ReplaceAll(insert, "$", "?")
				}
				if _, err := e.raw(t, where).ExecContext(t.Context(), insert, c.version, time.Now().UTC().Format(sqlstore.TimeLayout)); err != nil {
					t.Fatal(err)
				}
				s, err := e.openStore(t.Context(), where)
				if err == nil {
					s.Close()
				}
				if err == nil || !strings.HasPrefix(err.Error(), e.name+": open ") || !strings.HasSuffix(err.Error(), ": "+want) {
					t.Errorf("Open: got error %v, want %q", err, want)
				}
			})
		}
	}
}

// TestErrorsNameTheOperation: every error names the engine and the
// operation, and tells its kind by errors.Is.
func TestErrorsNameTheOperation(t *testing.T) {
	unknown := uuid.MustParse("72e7624a-5b00-45d2-b92f-e561c0a6a160")
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			s := e.openFresh(t)
			ctx := t.Context()
			at := time.Date(2026, 10, 4, 15, 0, 0, 0, time.UTC)
			cases := []struct {
				call string
				err  func() error
				kind error
				want string
			}{
				{"Revision(42)", func() error { _, err := s.Revision(ctx, 42); return err },
					catalog.ErrNotFound, "revision 42: not found"},
				{"FileBySHA1 of a short digest", func() error { _, err := s.FileBySHA1(ctx, []byte{1, 2, 3}); return err },
					catalog.ErrInvalid, "file by sha1 010203: digest has 3 bytes, want 20"},
				{"Fragments of an unknown type", func() error { _, err := s.Fragments(ctx, []int32{1}, "Bogus", nil); return err },
					catalog.ErrInvalid, `fragments: unknown fragment type "Bogus"`},
				{"ImportRevisions of nil", func() error { _, err := s.ImportRevisions(ctx, []*catalog.Revision{nil}); return err },
					catalog.ErrInvalid, "import revisions: revision 0: nil revision"},
				{"SetDeclined of an unknown update", func() error { return s.SetDeclined(ctx, unknown, true) },
					catalog.ErrNotFound, "decline update " + unknown.String() + ": update " + unknown.String() + ": not found"},
				{"SetComputerGroups of an unknown computer", func() error { return s.SetComputerGroups(ctx, "pc9", nil) },
					catalog.ErrNotFound, `set groups of "pc9": computer "pc9": not found`},
				{"RecordAuthorization with a NUL", func() error { return s.RecordAuthorization(ctx, "c1", "pc\x001", nil, at) },
					catalog.ErrInvalid, `record authorization of "c1": DNS name contains a NUL character`},
				{"RegisterComputer with invalid UTF-8", func() error {
					return s.RegisterComputer(ctx, catalog.Computer{ID: "c1", Model: "\xff"})
				}, catalog.ErrInvalid, `register computer "c1": model is not valid UTF-8`},
				{"Computer of an ID no computer can have", func() error { _, err := s.Computer(ctx, "pc\x00"); return err },
					catalog.ErrNotFound, `computer "pc\x00": not found`},
				{"RecordSync of an ID no computer can have", func() error { return s.RecordSync(ctx, "pc\xff", at) },
					catalog.ErrNotFound, `record sync of "pc\xff": computer "pc\xff": not found`},
				{"RegisterComputer with a build beyond 32 bits", func() error {
					return s.RegisterComputer(ctx, catalog.Computer{ID: "c1", OSBuild: 1 << 40})
				}, catalog.ErrInvalid, `register computer "c1": OSBuild 1099511627776 is outside the 32-bit range`},
				{"SetApproval of an unknown action", func() error {
					_, err := s.SetApproval(ctx, catalog.Approval{UpdateID: unknown, GroupID: catalog.AllComputersGroupID, Action: "Maybe"})
					return err
				}, catalog.ErrInvalid, "set approval " + unknown.String() + "/" + catalog.AllComputersGroupID.String() + `: unknown action "Maybe"`},
			}
			for _, c := range cases {
				err := c.err()
				if want := e.name + ": " + c.want; !errors.Is(err, c.kind) || err.Error() != want {
					t.Errorf("%s: got %v, want %q matching %v", c.call, err, want, c.kind)
				}
			}
		})
	}
}

// TestRejectsTextNoEngineHolds: text columns hold neither NUL characters
// (PostgreSQL refuses them) nor invalid UTF-8; such input is refused on
// every engine with an error that says which field, before anything is
// written.
func TestRejectsTextNoEngineHolds(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *catalog.Revision)
		want string
	}{
		{"NUL in the title", func(r *catalog.Revision) { r.Title = "a\x00b" },
			"import revisions: revision 1: Title contains a NUL character"},
		{"invalid UTF-8 in a fragment", func(r *catalog.Revision) { r.Localized["en"] = "\xff" },
			`import revisions: revision 1: LocalizedProperties "en" is not valid UTF-8`},
		{"invalid UTF-8 in a file name", func(r *catalog.Revision) {
			r.Files = append(r.Files, catalog.File{SHA1: make([]byte, 20), FileName: "a\xffb.cab"})
		}, "import revisions: revision 1: file 0 name is not valid UTF-8"},
	}
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			s := e.openFresh(t)
			for _, tc := range tests {
				revs := storetest.Synthetic(2, "text")
				revs[1].Files = nil
				tc.edit(revs[1])
				_, err := s.ImportRevisions(t.Context(), revs)
				if want := e.name + ": " + tc.want; !errors.Is(err, catalog.ErrInvalid) || err.Error() != want {
					t.Errorf("%s: got error %v, want %q", tc.name, err, want)
				}
			}
			sums, err := s.Summaries(t.Context())
			if err != nil || len(sums) != 0 {
				t.Errorf("after rejected imports: %d revisions, error %v; want none", len(sums), err)
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t, e.fresh(t))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// BenchmarkSummaries reads the summaries of a 5,000-revision catalog.
func BenchmarkSummaries(b *testing.B) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			s := e.openFresh(b)
			revs := storetest.Synthetic(5000, "bench")
			if _, err := s.ImportRevisions(b.Context(), revs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
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
		})
	}
}

// BenchmarkImport imports a 5,000-revision catalog into a new database.
func BenchmarkImport(b *testing.B) { benchmarkImport(b, 5000) }

// BenchmarkImport50k imports a 50,000-revision catalog into a new database.
func BenchmarkImport50k(b *testing.B) { benchmarkImport(b, 50000) }

func benchmarkImport(b *testing.B, n int) {
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				s := e.open(b, e.fresh(b))
				revs := storetest.Synthetic(n, "bench")
				b.StartTimer()
				if _, err := s.ImportRevisions(b.Context(), revs); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
}
