package sqlstore_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wsus/catalog"
	"wsus/catalog/sqlstore"
	"wsus/catalog/storetest"
)

// upgradeDir holds catalogs written by the stores from before they merged
// (commit 12c089f) and what those stores read from them; see its README.
const upgradeDir = "testdata/upgrade"

// IDs of the old catalogs (testdata/upgrade/gen/main.go).
var (
	upLeaf         = uuid.MustParse("a1000000-0000-4000-8000-000000000006")
	upGroupServers = uuid.MustParse("b2000000-0000-4000-8000-000000000001")
	upGroupSigma   = uuid.MustParse("b2000000-0000-4000-8000-000000000003") // "Σας"
	upGroupStrasse = uuid.MustParse("b2000000-0000-4000-8000-000000000004") // "Straße"
	upClientAuth   = "c3000000-0000-4000-8000-000000000001"
	upClientFull   = "c3000000-0000-4000-8000-000000000002"
)

// TestUpgrade opens a catalog written by the old store of each engine with
// this store: it must read back exactly what the old store read (every
// revision, fragment, file, group, approval, decline, computer, event and
// status), record the shared schema version, refold the group name keys,
// keep working, and change nothing when opened again.
func TestUpgrade(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := placeOldCatalog(t, e)
			want, err := os.ReadFile(filepath.Join(upgradeDir, "expected-"+e.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			raw := e.raw(t, where)
			// The old catalog records the engine's own versions, none of
			// the shared ones (100 on).
			legacy := schemaMigrations(t, raw)
			var wantLegacy []string
			for _, m := range e.migrations {
				if v, _, _ := strings.Cut(m, " "); len(v) < len("100") { // below the shared 100
					wantLegacy = append(wantLegacy, m)
				}
			}
			if got := versionNames(legacy); !slices.Equal(got, wantLegacy) {
				t.Fatalf("the old catalog records schema versions %q, want %q", got, wantLegacy)
			}

			s := e.open(t, where)
			defer func() { s.Close() }()
			old := dump(t, s)
			compareJSON(t, "state read after the upgrade", snapshotJSON(t, old), want)
			// The old history stays as it was, and the shared versions
			// follow it.
			migrations := schemaMigrations(t, raw)
			if got := versionNames(migrations); !slices.Equal(got, e.migrations) ||
				!slices.Equal(migrations[:len(legacy)], legacy) {
				t.Errorf("schema_migrations after the upgrade:\n%v\nwant the old rows\n%v\nthen %q", migrations, legacy,
					e.migrations[len(legacy):])
			}
			checkGroupKeys(t, raw, len(old.TargetGroups))
			checkStillWorks(t, s, old)

			// Opened again: nothing is applied twice, nothing changes.
			before := snapshotJSON(t, dump(t, s))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = e.open(t, where)
			compareJSON(t, "state after opening again", snapshotJSON(t, dump(t, s)), before)
			if again := schemaMigrations(t, raw); !slices.Equal(again, migrations) {
				t.Errorf("schema_migrations after opening again:\n%v\nwant\n%v", again, migrations)
			}
			checkGroupKeys(t, raw, len(old.TargetGroups)+1)
		})
	}
}

// placeOldCatalog puts the old catalog of engine e where e.open finds it:
// the SQLite file copied into a temporary directory, the PostgreSQL dump
// replayed into a new database.
func placeOldCatalog(t *testing.T, e engine) string {
	t.Helper()
	where := e.fresh(t)
	switch e.name {
	case "sqlite":
		b, err := os.ReadFile(filepath.Join(upgradeDir, "sqlite.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(where, b, 0o600); err != nil {
			t.Fatal(err)
		}
	case "postgres":
		dumpSQL, err := os.ReadFile(filepath.Join(upgradeDir, "postgres.sql"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(t.Context(), where)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		// No arguments: the simple protocol, which runs the many statements
		// of the dump in one call.
		if _, err := conn.Exec(t.Context(), string(dumpSQL)); err != nil {
			t.Fatalf("replay postgres.sql: %v", err)
		}
	default:
		t.Fatalf("no old catalog for engine %s", e.name)
	}
	return where
}

func dump(t *testing.T, s catalog.Store) storetest.Snapshot {
	t.Helper()
	sn, err := storetest.Dump(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

func snapshotJSON(t *testing.T, sn storetest.Snapshot) []byte {
	t.Helper()
	b, err := sn.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compareJSON fails unless got and want are the same bytes, showing the
// first lines that differ.
func compareJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	from := max(0, i-8)
	t.Errorf("%s differs from line %d on (%d lines, want %d):\ngot:\n%s\nwant:\n%s", what, i+1, len(g), len(w),
		strings.Join(g[from:min(len(g), i+8)], "\n"), strings.Join(w[from:min(len(w), i+8)], "\n"))
}

// migrationRow is one row of schema_migrations.
type migrationRow struct {
	version   int
	name      string
	appliedAt string
}

// versionNames returns the rows as engine.migrations lists them.
func versionNames(rows []migrationRow) []string {
	out := make([]string, len(rows))
	for i, m := range rows {
		out[i] = fmt.Sprintf("%d %s", m.version, m.name)
	}
	return out
}

// schemaMigrations returns the rows of schema_migrations, by version.
func schemaMigrations(t *testing.T, db *sql.DB) []migrationRow {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version, name, CAST(applied_at AS TEXT) FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var m migrationRow
		if err := rows.Scan(&m.version, &m.name, &m.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkGroupKeys checks the stored name keys: each is catalog.GroupNameKey
// of the name (the old stores lower-cased: "Σας" was "σας", is now "σασ"),
// except where that key is another group's already: "Straße" folds to
// "strasse", the key of "STRASSE", so it keeps its old "straße" and both
// groups stay. groups is how many groups there must be.
func checkGroupKeys(t *testing.T, db *sql.DB, groups int) {
	rows, err := db.QueryContext(t.Context(), "SELECT CAST(id AS TEXT), name, name_key FROM target_group")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, name, key string
		if err := rows.Scan(&id, &name, &key); err != nil {
			t.Fatal(err)
		}
		n++
		want := catalog.GroupNameKey(name)
		if id == upGroupStrasse.String() {
			want = "straße"
		}
		if key != want {
			t.Errorf("name key of group %q (%s) is %q, want %q", name, id, key, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != groups {
		t.Errorf("%d target groups, want %d", n, groups)
	}
}

// checkStillWorks writes to the upgraded catalog through every kind of
// write and checks what it reads back; old is the state read right after
// the upgrade.
func checkStillWorks(t *testing.T, s *sqlstore.Store, old storetest.Snapshot) {
	ctx := t.Context()
	seq := old.ChangeSequence
	// moved checks that the change sequence moved by n since the last
	// check.
	moved := func(what string, n int64) {
		t.Helper()
		got, err := s.ChangeSequence(ctx)
		if err != nil || got != seq+n {
			t.Errorf("change sequence after %s: %d, %v; want %d", what, got, err, seq+n)
		}
		seq = got
	}

	// Names that differ only in case conflict, in every script, with the
	// groups the old store created.
	for _, name := range []string{"σασ", "ΣΑΣ", "Σας", "straße", "STRAßE", "servers", "ünïcödé grüppe"} {
		err := s.CreateTargetGroup(ctx, catalog.TargetGroup{ID: uuid.New(), Name: name, ParentID: catalog.AllComputersGroupID})
		if !errors.Is(err, catalog.ErrConflict) {
			t.Errorf("create group %q: %v, want a conflict", name, err)
		}
	}
	moved("refused groups", 0)
	newGroup := catalog.TargetGroup{ID: uuid.MustParse("e5000000-0000-4000-8000-000000000001"), Name: "Σας-2", ParentID: upGroupSigma}
	if err := s.CreateTargetGroup(ctx, newGroup); err != nil {
		t.Errorf("create group %q: %v", newGroup.Name, err)
	}
	moved("a new group", 1)

	// Every revision read back imports as unchanged: the stored digests
	// are those of what the store returns, so nothing was lost.
	res, err := s.ImportRevisions(ctx, old.Revisions)
	if err != nil || res != (catalog.ImportResult{Unchanged: len(old.Revisions)}) {
		t.Errorf("re-import of the revisions read back: %+v, %v; want all %d unchanged", res, err, len(old.Revisions))
	}
	moved("an unchanged re-import", 0)
	last := old.Summaries[len(old.Summaries)-1].ID
	rev := &catalog.Revision{
		Identity: catalog.Identity{UpdateID: uuid.MustParse("e5000000-0000-4000-8000-000000000002"), RevisionNumber: 1},
		Type:     catalog.TypeSoftware, Title: "After the upgrade",
		Prerequisites: []catalog.PrerequisiteClause{{UpdateIDs: []uuid.UUID{upLeaf}}},
	}
	res, err = s.ImportRevisions(ctx, []*catalog.Revision{rev})
	if err != nil || res != (catalog.ImportResult{Added: 1}) || rev.ID != last+1 {
		t.Errorf("import after the upgrade: %+v, %v, ID %d; want 1 added with ID %d", res, err, rev.ID, last+1)
	}
	moved("an import", 1)
	sums, err := s.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sm := range sums {
		if sm.UpdateID == upLeaf && sm.IsLeaf {
			t.Errorf("revision %d of the leaf update is still a leaf: the new revision needs it", sm.ID)
		}
	}

	// Approvals draw deployment IDs never handed out by the old store.
	maxID := int32(0)
	for _, a := range old.Approvals {
		maxID = max(maxID, a.ID)
	}
	a, err := s.SetApproval(ctx, catalog.Approval{UpdateID: rev.UpdateID, GroupID: newGroup.ID,
		Action: catalog.ActionInstall, ChangedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), By: "after"})
	if err != nil || a.ID <= maxID {
		t.Errorf("approval after the upgrade: %+v, %v; want a deployment ID above %d", a, err, maxID)
	}
	moved("an approval", 1)
	if err := s.SetDeclined(ctx, upLeaf, true); err != nil {
		t.Errorf("decline after the upgrade: %v", err)
	}
	moved("a decline", 1)

	// Server-side targeting and client bookkeeping.
	if err := s.SetComputerGroups(ctx, upClientAuth, []uuid.UUID{upGroupServers, newGroup.ID}); err != nil {
		t.Errorf("SetComputerGroups: %v", err)
	}
	moved("an assignment", 1)
	groups, err := s.ComputerGroupAssignments(ctx)
	if want := catalog.SortGroupIDs([]uuid.UUID{upGroupServers, newGroup.ID}); err != nil || !slices.Equal(groups[upClientAuth], want) {
		t.Errorf("groups of %s after SetComputerGroups: %v, %v; want %v", upClientAuth, groups[upClientAuth], err, want)
	}
	lists := []string{"x", `"`, "{}", ""}
	if err := s.RecordAuthorization(ctx, upClientAuth, "alpha.contoso.local", lists, time.Time{}); err != nil {
		t.Errorf("RecordAuthorization: %v", err)
	}
	if c, err := s.Computer(ctx, upClientAuth); err != nil || !slices.Equal(c.RequestedGroups, lists) {
		t.Errorf("requested groups after RecordAuthorization: %q, %v; want %q", c.RequestedGroups, err, lists)
	}
	ev := catalog.Event{InstanceID: uuid.MustParse("e5000000-0000-4000-8000-000000000003"), ClientID: upClientFull,
		EventID: 183, SourceID: 101, TimeAtTarget: time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC), UpdateID: rev.UpdateID,
		RevisionNumber: 1, AppName: "AutomaticUpdates", Replacement: []string{"a", "b"}, MiscData: []string{"c"}}
	reported := time.Date(2026, 11, 1, 1, 0, 1, 0, time.UTC)
	n, err := s.StoreReport(ctx, catalog.Report{ClientID: upClientFull, Events: []catalog.Event{ev},
		Changes: []catalog.StatusChange{{Event: ev.InstanceID,
			Statuses: []catalog.UpdateStatus{{UpdateID: rev.UpdateID, State: catalog.StateInstalled}}}},
		At: reported})
	if err != nil || n != 1 {
		t.Errorf("report after the upgrade: %d new, %v; want 1", n, err)
	}
	moved("a report and an authorization", 0)
	evs, err := s.Events(ctx, upClientFull)
	ev.Received = reported
	if err != nil || len(evs) != len(old.Events[upClientFull])+1 || fmt.Sprint(evs[len(evs)-1]) != fmt.Sprint(ev) {
		t.Errorf("events after the report: %d, %v; want the %d old ones and last %+v", len(evs), err,
			len(old.Events[upClientFull]), ev)
	}
	sts, err := s.Statuses(ctx, upClientFull)
	found := false
	for _, st := range sts {
		found = found || (st.UpdateID == rev.UpdateID && st.State == catalog.StateInstalled && st.ChangedAt.Equal(reported))
	}
	if err != nil || !found || len(sts) != len(old.Statuses[upClientFull])+1 {
		t.Errorf("statuses after the report: %+v, %v; want the %d old ones and %s installed", sts, err,
			len(old.Statuses[upClientFull]), rev.UpdateID)
	}
	if n, err := s.CountEvents(ctx, upClientFull, reported); err != nil || n != 1 {
		t.Errorf("CountEvents since the report: %d, %v; want 1", n, err)
	}
}

// TestUpgradeGeneratorBuilds vets the program that wrote the old catalogs
// against this code: go vet ./... skips testdata directories, and the
// generator must keep compiling to be run again.
func TestUpgradeGeneratorBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.CommandContext(t.Context(), goCmd, "vet", "./"+upgradeDir+"/gen").CombinedOutput()
	if err != nil {
		t.Errorf("go vet %s/gen: %v\n%s", upgradeDir, err, out)
	}
}
