package scan_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/scan"
	"wsus/catalog/sqlite"
)

// graph builds a catalog on a real embedded store and names its revisions.
type graph struct {
	t     testing.TB
	store *sqlite.Store
	names map[string]uuid.UUID
	revs  []*catalog.Revision
}

func newGraph(t testing.TB) *graph {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &graph{t: t, store: store, names: map[string]uuid.UUID{}}
}

func (g *graph) id(name string) uuid.UUID {
	if id, ok := g.names[name]; ok {
		return id
	}
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(name))
	g.names[name] = id
	return id
}

// rev describes one revision: prereqs are clauses of names ("a|b" means
// AtLeastOne of a, b); a category clause is prefixed with "cat:".
type rev struct {
	name         string
	revision     int32
	typ          catalog.UpdateType
	categoryType string
	prereqs      []string
	bundles      []string
	supersedes   []string
	expired      bool
	drivers      []catalog.DriverMetadata
}

func (g *graph) add(rs ...rev) {
	g.t.Helper()
	var batch []*catalog.Revision
	for _, r := range rs {
		if r.revision == 0 {
			r.revision = 100
		}
		cr := &catalog.Revision{
			Identity:         catalog.Identity{UpdateID: g.id(r.name), RevisionNumber: r.revision},
			Type:             r.typ,
			CategoryType:     r.categoryType,
			Title:            r.name,
			PublicationState: "Published",
			CoreXML:          fmt.Sprintf(`<UpdateIdentity UpdateID="%s" RevisionNumber="%d" />`, g.id(r.name), r.revision),
			SourceXML:        "<upd:Update/>",
		}
		if r.expired {
			cr.PublicationState = "Expired"
		}
		cr.Drivers = r.drivers
		for _, p := range r.prereqs {
			clause := catalog.PrerequisiteClause{}
			if len(p) > 4 && p[:4] == "cat:" {
				clause.IsCategory, p = true, p[4:]
			}
			for _, n := range splitBar(p) {
				clause.UpdateIDs = append(clause.UpdateIDs, g.id(n))
			}
			cr.Prerequisites = append(cr.Prerequisites, clause)
		}
		for _, o := range r.supersedes {
			cr.SupersededUpdates = append(cr.SupersededUpdates, g.id(o))
		}
		for _, b := range r.bundles {
			cr.BundledUpdates = append(cr.BundledUpdates, catalog.Identity{UpdateID: g.id(b), RevisionNumber: 100})
		}
		batch = append(batch, cr)
	}
	if _, err := g.store.ImportRevisions(context.Background(), batch); err != nil {
		g.t.Fatal(err)
	}
	g.revs = append(g.revs, batch...)
}

func splitBar(s string) []string {
	var out []string
	start := 0
	for i := range len(s) + 1 {
		if i == len(s) || s[i] == '|' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// revID returns the revision ID of name at revision number n.
func (g *graph) revID(name string, n int32) int32 {
	for _, r := range g.revs {
		if r.UpdateID == g.id(name) && r.RevisionNumber == n {
			return r.ID
		}
	}
	g.t.Fatalf("no revision %s r%d", name, n)
	return 0
}

func (g *graph) approve(name string, group uuid.UUID, action catalog.ApprovalAction) catalog.Approval {
	g.t.Helper()
	a, err := g.store.SetApproval(context.Background(), catalog.Approval{UpdateID: g.id(name), GroupID: group, Action: action})
	if err != nil {
		g.t.Fatal(err)
	}
	return a
}

func (g *graph) snapshot() *scan.Snapshot {
	g.t.Helper()
	s, err := scan.NewEngine(g.store, 0).Snapshot(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	return s
}

// actions renders a scope as name → action.
func (g *graph) actions(sc *scan.Scope) map[string]scan.Action {
	out := map[string]scan.Action{}
	for id, d := range sc.All() {
		for _, r := range g.revs {
			if r.ID == id {
				out[fmt.Sprintf("%s r%d", r.Title, r.RevisionNumber)] = d.Action
			}
		}
	}
	return out
}

// standard is a small Microsoft-shaped catalog: company → product family →
// product, a classification, a detectoid, a bundle with two members, a
// lone update, an expired one and a driver.
func standard(t testing.TB) *graph {
	g := newGraph(t)
	g.add(
		rev{name: "Microsoft", typ: catalog.TypeCategory, categoryType: "Company"},
		rev{name: "Windows", typ: catalog.TypeCategory, categoryType: "ProductFamily", prereqs: []string{"cat:Microsoft"}},
		rev{name: "Windows 11", typ: catalog.TypeCategory, categoryType: "Product", prereqs: []string{"cat:Windows"}},
		rev{name: "Office", typ: catalog.TypeCategory, categoryType: "Product", prereqs: []string{"cat:Microsoft"}},
		rev{name: "Security Updates", typ: catalog.TypeCategory, categoryType: "UpdateClassification"},
		rev{name: "Is x64", typ: catalog.TypeDetectoid},
		rev{name: "Bundle", typ: catalog.TypeSoftware, prereqs: []string{"cat:Windows 11", "cat:Security Updates"}, bundles: []string{"Member A", "Member B"}},
		rev{name: "Member A", typ: catalog.TypeSoftware, prereqs: []string{"Is x64"}},
		rev{name: "Member B", typ: catalog.TypeSoftware},
		rev{name: "Office fix", typ: catalog.TypeSoftware, prereqs: []string{"cat:Office"}},
		rev{name: "Old fix", typ: catalog.TypeSoftware, prereqs: []string{"cat:Windows 11"}, expired: true},
		rev{name: "Driver", typ: catalog.TypeDriver},
	)
	return g
}

func TestScopeActions(t *testing.T) {
	g := standard(t)
	ring1 := uuid.New()
	if err := g.store.CreateTargetGroup(context.Background(), catalog.TargetGroup{ID: ring1, Name: "Ring1", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	canary := uuid.New()
	if err := g.store.CreateTargetGroup(context.Background(), catalog.TargetGroup{ID: canary, Name: "Canary", ParentID: ring1}); err != nil {
		t.Fatal(err)
	}
	g.approve("Bundle", ring1, catalog.ActionInstall)
	g.approve("Office fix", catalog.AllComputersGroupID, catalog.ActionUninstall)
	snap := g.snapshot()

	base := map[string]scan.Action{
		"Microsoft r100": scan.Evaluate, "Windows r100": scan.Evaluate, "Windows 11 r100": scan.Evaluate,
		"Office r100": scan.Evaluate, "Security Updates r100": scan.Evaluate, "Is x64 r100": scan.Evaluate,
		"Member A r100": scan.Bundle, "Member B r100": scan.Bundle, "Office fix r100": scan.Uninstall,
	}
	inRing := maps.Clone(base)
	inRing["Bundle r100"] = scan.Install
	unassigned := maps.Clone(base)
	unassigned["Bundle r100"] = scan.PreDeploymentCheck

	cases := []struct {
		name   string
		groups []string
		want   map[string]scan.Action
	}{
		{"no target group: unapproved top-level updates are detection only", nil, unassigned},
		{"client-side targeting to Ring1", []string{"ring1"}, inRing},
		{"nested group inherits its parent's approvals", []string{"Canary"}, inRing},
		{"unknown group name counts as unassigned", []string{"Nope"}, unassigned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := g.actions(snap.Scope(snap.ResolveGroups(c.groups, nil))); !maps.Equal(got, c.want) {
				t.Errorf("scope\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestResolveGroups(t *testing.T) {
	g := standard(t)
	ring1 := uuid.New()
	if err := g.store.CreateTargetGroup(context.Background(), catalog.TargetGroup{ID: ring1, Name: "Ring1", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	snap := g.snapshot()
	sorted := func(ids ...uuid.UUID) []uuid.UUID {
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return cmpString(a.String(), b.String()) })
		return ids
	}
	if got, want := snap.ResolveGroups(nil, nil), sorted(catalog.AllComputersGroupID, catalog.UnassignedComputersGroupID); !slices.Equal(got, want) {
		t.Errorf("no groups: %v, want %v", got, want)
	}
	if got, want := snap.ResolveGroups([]string{"RING1", "missing"}, nil), sorted(catalog.AllComputersGroupID, ring1); !slices.Equal(got, want) {
		t.Errorf("Ring1: %v, want %v", got, want)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestSyncRounds(t *testing.T) {
	g := standard(t)
	g.approve("Bundle", catalog.AllComputersGroupID, catalog.ActionInstall)
	snap := g.snapshot()
	groups := snap.ResolveGroups(nil, nil)
	id := func(n string) int32 { return g.revID(n, 100) }

	rounds := []struct {
		installed []int32
		want      []int32
	}{
		{nil, []int32{id("Microsoft"), id("Security Updates"), id("Is x64"), id("Member B")}},
		{[]int32{id("Microsoft"), id("Security Updates"), id("Is x64")}, []int32{id("Windows"), id("Office"), id("Member A")}},
		{[]int32{id("Microsoft"), id("Security Updates"), id("Is x64"), id("Windows"), id("Office")}, []int32{id("Windows 11"), id("Office fix")}},
		{[]int32{id("Microsoft"), id("Security Updates"), id("Is x64"), id("Windows"), id("Office"), id("Windows 11")}, []int32{id("Bundle")}},
	}
	var cached []int32
	for i, r := range rounds {
		res := snap.Sync(scan.SyncRequest{Groups: groups, InstalledNonLeaf: r.installed, OtherCached: cached})
		var got []int32
		for _, u := range res.NewUpdates {
			got = append(got, u.RevisionID)
			if !u.IsLeaf && slices.ContainsFunc(res.NewUpdates, func(o scan.UpdateInfo) bool {
				return o.IsLeaf && slices.Index(res.NewUpdates, o) < slices.Index(res.NewUpdates, u)
			}) {
				t.Errorf("round %d: non-leaf %d after a leaf", i, u.RevisionID)
			}
			if !slices.Contains(r.installed, u.RevisionID) && u.IsLeaf {
				cached = append(cached, u.RevisionID)
			}
		}
		slices.Sort(got)
		slices.Sort(r.want)
		if !slices.Equal(got, r.want) {
			t.Errorf("round %d: delivered %v, want %v", i, got, r.want)
		}
		if res.Truncated || len(res.OutOfScope) > 0 || res.DriverSyncNotNeeded {
			t.Errorf("round %d: truncated=%v outOfScope=%v driverSyncNotNeeded=%v", i, res.Truncated, res.OutOfScope, res.DriverSyncNotNeeded)
		}
	}
	drivers := snap.Sync(scan.SyncRequest{Groups: groups, Drivers: true})
	if len(drivers.NewUpdates) != 0 || !drivers.DriverSyncNotNeeded {
		t.Errorf("driver pass: %v, DriverSyncNotNeeded=%v", drivers.NewUpdates, drivers.DriverSyncNotNeeded)
	}
}

func TestNewerRevisionReplacesCachedOne(t *testing.T) {
	g := standard(t)
	old := g.revID("Member B", 100)
	g.add(rev{name: "Member B", revision: 101, typ: catalog.TypeSoftware})
	snap := g.snapshot()
	res := snap.Sync(scan.SyncRequest{Groups: snap.ResolveGroups(nil, nil), OtherCached: []int32{old, g.revID("Old fix", 100)}})
	if !slices.Equal(res.OutOfScope, []int32{old, g.revID("Old fix", 100)}) {
		t.Errorf("OutOfScope %v, want the superseded revision r100 and the expired update", res.OutOfScope)
	}
	if !slices.ContainsFunc(res.NewUpdates, func(u scan.UpdateInfo) bool { return u.RevisionID == g.revID("Member B", 101) }) {
		t.Errorf("r101 not delivered: %v", res.NewUpdates)
	}
}

func TestChangedUpdatesAfterAnchor(t *testing.T) {
	g := standard(t)
	snap := g.snapshot()
	groups := snap.ResolveGroups(nil, nil)
	first := snap.Sync(scan.SyncRequest{Groups: groups})
	cached := []int32{g.revID("Member B", 100), g.revID("Microsoft", 100)}
	if res := snap.Sync(scan.SyncRequest{Groups: groups, OtherCached: cached, Anchor: first.Anchor}); len(res.ChangedUpdates) != 0 {
		t.Fatalf("ChangedUpdates %v with nothing changed", res.ChangedUpdates)
	}
	time.Sleep(2 * time.Millisecond) // approvals are stamped by the store's clock
	a := g.approve("Member B", catalog.AllComputersGroupID, catalog.ActionInstall)
	snap = g.snapshot()
	res := snap.Sync(scan.SyncRequest{Groups: groups, OtherCached: cached, Anchor: first.Anchor})
	if len(res.ChangedUpdates) != 1 || res.ChangedUpdates[0].RevisionID != g.revID("Member B", 100) ||
		res.ChangedUpdates[0].Deployment.Action != scan.Install || res.ChangedUpdates[0].Deployment.ID != a.ID {
		t.Fatalf("ChangedUpdates %+v, want Member B with the new Install deployment %d", res.ChangedUpdates, a.ID)
	}
	if !res.Anchor.Equal(a.ChangedAt) {
		t.Errorf("new anchor %v, want the approval time %v", res.Anchor, a.ChangedAt)
	}
}

func TestFilteredScan(t *testing.T) {
	g := standard(t)
	snap := g.snapshot()
	groups := snap.ResolveGroups(nil, nil)
	filtered := g.actions(snap.Filter(groups, []uuid.UUID{g.id("Office")}))
	want := map[string]scan.Action{"Office r100": scan.Evaluate, "Microsoft r100": scan.Evaluate, "Office fix r100": scan.PreDeploymentCheck}
	if !maps.Equal(filtered, want) {
		t.Errorf("Office filter: %v, want %v", filtered, want)
	}
	res := snap.Sync(scan.SyncRequest{Groups: groups, Filter: []uuid.UUID{g.id("Office")}, NeedTwoGroupOutOfScope: true,
		OtherCached: []int32{g.revID("Member B", 100), 99999}})
	if !slices.Equal(res.DeployedOutOfScope, []int32{g.revID("Member B", 100)}) || !slices.Equal(res.OutOfScope, []int32{99999}) {
		t.Errorf("DeployedOutOfScope %v OutOfScope %v", res.DeployedOutOfScope, res.OutOfScope)
	}
	if !res.DriverSyncNotNeeded {
		t.Error("a category-filtered scan answers DriverSyncNotNeeded=true, as observed")
	}
}

func TestStartCategoryScan(t *testing.T) {
	g := standard(t)
	snap := g.snapshot()
	win11, office, sec, ms := g.id("Windows 11"), g.id("Office"), g.id("Security Updates"), g.id("Microsoft")
	unknown := uuid.New()
	cases := []struct {
		name               string
		req                []scan.CategoryRelationship
		preferred, inError []uuid.UUID
	}{
		{"one product", []scan.CategoryRelationship{{0, win11}}, []uuid.UUID{win11}, nil},
		{"product and classification", []scan.CategoryRelationship{{0, win11}, {0, sec}}, []uuid.UUID{win11}, nil},
		{"two groups", []scan.CategoryRelationship{{0, win11}, {1, office}}, []uuid.UUID{win11, office}, nil},
		{"unknown category drops its group", []scan.CategoryRelationship{{0, unknown}, {1, office}}, []uuid.UUID{office}, []uuid.UUID{unknown}},
		{"a company clears the list", []scan.CategoryRelationship{{0, ms}, {1, office}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pref, inErr, err := snap.StartCategoryScan(c.req)
			if err != nil || !slices.Equal(pref, c.preferred) || !slices.Equal(inErr, c.inError) {
				t.Errorf("preferred %v inError %v err %v, want %v %v", pref, inErr, err, c.preferred, c.inError)
			}
		})
	}
	if _, _, err := snap.StartCategoryScan(make([]scan.CategoryRelationship, scan.MaxRequestedCategories)); err == nil {
		t.Error("200 requested categories accepted")
	}
}

func TestEngineSeesChangesFromAnotherHandle(t *testing.T) {
	g := standard(t)
	engine := scan.NewEngine(g.store, 0)
	ctx := context.Background()
	s1, err := engine.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s2, _ := engine.Snapshot(ctx); s2 != s1 {
		t.Error("snapshot rebuilt without a change")
	}
	g.approve("Bundle", catalog.AllComputersGroupID, catalog.ActionInstall)
	s3, err := engine.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s3 == s1 || lookupAction(s3.Scope(s3.ResolveGroups(nil, nil)), g.revID("Bundle", 100)) != scan.Install {
		t.Error("approval not visible in the next snapshot")
	}
}

// TestEngineSeesAssignments: the snapshot carries every computer's assigned
// groups, rebuilt when an admin changes one and not on client bookkeeping.
func TestEngineSeesAssignments(t *testing.T) {
	g := standard(t)
	ctx := context.Background()
	pilot := uuid.New()
	if err := g.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	g.approve("Office fix", pilot, catalog.ActionOptionalInstall)
	const client = "e1da06a3-5601-43c9-bac3-52d5db701494"
	if err := g.store.RecordAuthorization(ctx, client, "pc1", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	engine := scan.NewEngine(g.store, 0)
	action := func(snap *scan.Snapshot) scan.Action {
		t.Helper()
		return lookupAction(snap.Scope(snap.ResolveGroups(nil, snap.AssignedGroups(client))), g.revID("Office fix", 100))
	}
	steps := []struct {
		name string
		do   func() error
		// rebuilt: the step must give a new snapshot.
		rebuilt bool
		want    []uuid.UUID
		action  scan.Action
	}{
		{"before any assignment", func() error { return nil }, false, nil, scan.PreDeploymentCheck},
		{"assigned to Pilot", func() error { return g.store.SetComputerGroups(ctx, client, []uuid.UUID{pilot}) }, true,
			[]uuid.UUID{pilot}, scan.OptionalInstall},
		{"client bookkeeping", func() error { return g.store.RecordSync(ctx, client, time.Time{}) }, false,
			[]uuid.UUID{pilot}, scan.OptionalInstall},
		{"assigned to Pilot again", func() error { return g.store.SetComputerGroups(ctx, client, []uuid.UUID{pilot}) }, false,
			[]uuid.UUID{pilot}, scan.OptionalInstall},
		{"removed from every group", func() error { return g.store.SetComputerGroups(ctx, client, nil) }, true,
			nil, scan.PreDeploymentCheck},
	}
	prev, err := engine.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		snap, err := engine.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rebuilt := snap != prev; rebuilt != st.rebuilt {
			t.Errorf("%s: snapshot rebuilt %v, want %v", st.name, rebuilt, st.rebuilt)
		}
		if got := snap.AssignedGroups(client); !slices.Equal(got, st.want) {
			t.Errorf("%s: AssignedGroups %v, want %v", st.name, got, st.want)
		}
		if got := snap.AssignedGroups("unknown"); got != nil {
			t.Errorf("%s: AssignedGroups of an unknown client %v, want none", st.name, got)
		}
		if got := action(snap); got != st.action {
			t.Errorf("%s: Office fix is %q, want %q", st.name, got, st.action)
		}
		prev = snap
	}
}

func (g *graph) decline(name string, declined bool) {
	g.t.Helper()
	if err := g.store.SetDeclined(context.Background(), g.id(name), declined); err != nil {
		g.t.Fatal(err)
	}
}

func TestDeclinedUpdatesLeaveScope(t *testing.T) {
	g := standard(t)
	g.approve("Bundle", catalog.AllComputersGroupID, catalog.ActionInstall)
	g.decline("Bundle", true)
	g.decline("Office fix", true)
	snap := g.snapshot()
	got := g.actions(snap.Scope(snap.ResolveGroups(nil, nil)))
	for _, name := range []string{"Bundle r100", "Office fix r100", "Member A r100", "Member B r100"} {
		if a, ok := got[name]; ok {
			t.Errorf("%s still deployed as %s after declining", name, a)
		}
	}
	cached := []int32{g.revID("Bundle", 100), g.revID("Member A", 100), g.revID("Microsoft", 100)}
	res := snap.Sync(scan.SyncRequest{Groups: snap.ResolveGroups(nil, nil), OtherCached: cached})
	if !slices.Equal(res.OutOfScope, cached[:2]) {
		t.Errorf("OutOfScope %v, want the declined bundle and its member %v", res.OutOfScope, cached[:2])
	}
	// Un-declining restores the approval WSUS kept.
	g.decline("Bundle", false)
	snap = g.snapshot()
	if a := g.actions(snap.Scope(snap.ResolveGroups(nil, nil)))["Bundle r100"]; a != scan.Install {
		t.Errorf("after un-declining: %q, want Install", a)
	}
}

// TestSupersededUpdatesStayInScope: an update superseded by one approved
// for install stays deployed as it would be without the superseder: the
// client evaluates supersedence itself and needs the older revisions for
// that (issue 10). Until then the engine dropped it from the scope, and
// GetExtendedUpdateInfo answered it out of scope. A declined update is
// never deployed, superseded or not.
func TestSupersededUpdatesStayInScope(t *testing.T) {
	type approval struct {
		name   string
		action catalog.ApprovalAction
	}
	cases := []struct {
		name      string
		approvals []approval
		declined  []string
		want      map[string]scan.Action // absent: not deployed
	}{
		{"superseder approved, superseded unapproved: detection only, its members Bundle",
			[]approval{{"Cumulative 3", catalog.ActionInstall}}, nil,
			map[string]scan.Action{"Cumulative 3 r101": scan.Install, "Cumulative 2 r100": scan.PreDeploymentCheck,
				"Old part r100": scan.Bundle, "New part r100": scan.Bundle}},
		{"both approved: the superseded one keeps its approval [I]",
			[]approval{{"Cumulative 2", catalog.ActionInstall}, {"Cumulative 3", catalog.ActionInstall}}, nil,
			map[string]scan.Action{"Cumulative 3 r101": scan.Install, "Cumulative 2 r100": scan.Install,
				"Old part r100": scan.Bundle, "New part r100": scan.Bundle}},
		{"superseded one approved optional, superseder for install",
			[]approval{{"Cumulative 2", catalog.ActionOptionalInstall}, {"Cumulative 3", catalog.ActionInstall}}, nil,
			map[string]scan.Action{"Cumulative 3 r101": scan.Install, "Cumulative 2 r100": scan.OptionalInstall,
				"Old part r100": scan.Bundle, "New part r100": scan.Bundle}},
		{"superseded one declined: never deployed, nor its members",
			[]approval{{"Cumulative 2", catalog.ActionInstall}, {"Cumulative 3", catalog.ActionInstall}}, []string{"Cumulative 2"},
			map[string]scan.Action{"Cumulative 3 r101": scan.Install, "New part r100": scan.Bundle}},
		{"superseder declined: the superseded one as if it had none",
			nil, []string{"Cumulative 3"},
			map[string]scan.Action{"Cumulative 2 r100": scan.PreDeploymentCheck, "Old part r100": scan.Bundle}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := standard(t)
			g.add(
				rev{name: "Old part", typ: catalog.TypeSoftware},
				rev{name: "New part", typ: catalog.TypeSoftware},
				rev{name: "Cumulative 2", typ: catalog.TypeSoftware, prereqs: []string{"cat:Windows 11"}, bundles: []string{"Old part"}},
				rev{name: "Cumulative 3", typ: catalog.TypeSoftware, prereqs: []string{"cat:Windows 11"}},
			)
			// Revision 101 of Cumulative 3 supersedes Cumulative 2.
			g.add(rev{name: "Cumulative 3", revision: 101, typ: catalog.TypeSoftware, prereqs: []string{"cat:Windows 11"},
				bundles: []string{"New part"}, supersedes: []string{"Cumulative 2"}})
			for _, a := range c.approvals {
				g.approve(a.name, catalog.AllComputersGroupID, a.action)
			}
			for _, n := range c.declined {
				g.decline(n, true)
			}
			snap := g.snapshot()
			got := g.actions(snap.Scope(snap.ResolveGroups(nil, nil)))
			for _, name := range []string{"Cumulative 2 r100", "Cumulative 3 r100", "Cumulative 3 r101", "Old part r100", "New part r100"} {
				a, ok := got[name]
				want, wantOK := c.want[name]
				if ok != wantOK || a != want {
					t.Errorf("%s: deployed=%v as %q, want deployed=%v as %q", name, ok, a, wantOK, want)
				}
			}
		})
	}
}

func TestOptionalInstallAndServerSideTargeting(t *testing.T) {
	g := standard(t)
	ctx := context.Background()
	pilot := uuid.New()
	if err := g.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	g.approve("Office fix", pilot, catalog.ActionOptionalInstall)
	snap := g.snapshot()
	// A computer an admin put in Pilot, asking for no group itself.
	groups := snap.ResolveGroups(nil, []uuid.UUID{pilot})
	if slices.Contains(groups, catalog.UnassignedComputersGroupID) || !slices.Contains(groups, pilot) {
		t.Fatalf("groups %v, want All Computers and Pilot", groups)
	}
	if a := g.actions(snap.Scope(groups))["Office fix r100"]; a != scan.OptionalInstall {
		t.Errorf("Office fix is %q in Pilot, want OptionalInstall", a)
	}
	if a := g.actions(snap.Scope(snap.ResolveGroups(nil, nil)))["Office fix r100"]; a != scan.PreDeploymentCheck {
		t.Errorf("Office fix is %q outside Pilot, want PreDeploymentCheck", a)
	}
}

func TestChangedUpdatesWhenApprovalRemovedOrDeclined(t *testing.T) {
	g := standard(t)
	g.approve("Office fix", catalog.AllComputersGroupID, catalog.ActionInstall)
	snap := g.snapshot()
	groups := snap.ResolveGroups(nil, nil)
	cached := []int32{g.revID("Office fix", 100)}
	anchor := snap.Sync(scan.SyncRequest{Groups: groups, OtherCached: cached}).Anchor

	time.Sleep(2 * time.Millisecond)
	g.approve("Office fix", catalog.AllComputersGroupID, catalog.ActionNotApproved)
	snap = g.snapshot()
	res := snap.Sync(scan.SyncRequest{Groups: groups, OtherCached: cached, Anchor: anchor})
	if len(res.ChangedUpdates) != 1 || res.ChangedUpdates[0].Deployment.Action != scan.PreDeploymentCheck {
		t.Fatalf("after removing the approval: ChangedUpdates %+v, want Office fix back to PreDeploymentCheck", res.ChangedUpdates)
	}
	if again := snap.Sync(scan.SyncRequest{Groups: groups, OtherCached: cached, Anchor: res.Anchor}); len(again.ChangedUpdates) != 0 {
		t.Errorf("the change is reported again after the anchor moved: %+v", again.ChangedUpdates)
	}
}

func lookupAction(sc *scan.Scope, id int32) scan.Action {
	d, _ := sc.Lookup(id)
	return d.Action
}

// TestChangedUpdatesWhenGroupsChange: an admin moves a computer into a group
// whose approval of a cached update is older than the computer's anchor.
// The update's deployment for that computer changed all the same, so the
// next round reports it changed; without the groups of the anchor (an older
// cookie) only the anchor counts.
func TestChangedUpdatesWhenGroupsChange(t *testing.T) {
	g := standard(t)
	ctx := context.Background()
	pilot := uuid.New()
	if err := g.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	a := g.approve("Office fix", pilot, catalog.ActionInstall)
	snap := g.snapshot()
	before := snap.ResolveGroups(nil, nil)
	after := snap.ResolveGroups(nil, []uuid.UUID{pilot})
	office := g.revID("Office fix", 100)
	cached := []int32{office, g.revID("Microsoft", 100)}
	first := snap.Sync(scan.SyncRequest{Groups: before, OtherCached: cached})
	if !first.Anchor.After(a.ChangedAt) && !first.Anchor.Equal(a.ChangedAt) {
		t.Fatalf("anchor %v is older than the Pilot approval %v: the test needs it newer", first.Anchor, a.ChangedAt)
	}
	tests := []struct {
		name         string
		anchorGroups []uuid.UUID
		want         []int32 // ChangedUpdates
	}{
		{"groups unchanged", after, nil},
		{"moved into Pilot", before, []int32{office}},
		{"groups of the anchor unknown", nil, nil},
	}
	for _, tc := range tests {
		res := snap.Sync(scan.SyncRequest{Groups: after, OtherCached: cached, Anchor: first.Anchor, AnchorGroups: tc.anchorGroups})
		var got []int32
		for _, u := range res.ChangedUpdates {
			got = append(got, u.RevisionID)
			if u.Deployment.ID != a.ID || u.Deployment.Action != scan.Install {
				t.Errorf("%s: changed deployment %+v, want the Pilot Install %d", tc.name, u.Deployment, a.ID)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: ChangedUpdates %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestEngineMaxAge: within maxAge the engine serves its snapshot without
// asking the store; after it, a change made meanwhile is seen.
func TestEngineMaxAge(t *testing.T) {
	g := standard(t)
	src := &seqCounter{Source: g.store}
	const maxAge = 200 * time.Millisecond
	engine := scan.NewEngine(src, maxAge)
	first, err := engine.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g.approve("Member B", catalog.AllComputersGroupID, catalog.ActionInstall)
	asked := src.n
	start := time.Now()
	again, err := engine.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < maxAge {
		if again != first || src.n != asked {
			t.Errorf("within maxAge: a new snapshot or %d store calls, want the same snapshot and none", src.n-asked)
		}
	}
	time.Sleep(maxAge)
	later, err := engine.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if later == first || later.Seq == first.Seq {
		t.Errorf("after maxAge: snapshot at sequence %d, want one past %d", later.Seq, first.Seq)
	}
}

// seqCounter counts ChangeSequence calls.
type seqCounter struct {
	scan.Source
	n int
}

func (c *seqCounter) ChangeSequence(ctx context.Context) (int64, error) {
	c.n++
	return c.Source.ChangeSequence(ctx)
}

// next is the request of a client's next round: the sync state of res, and
// the cache grown by what res delivered.
func next(req scan.SyncRequest, res scan.SyncResult) scan.SyncRequest {
	req.Anchor, req.AnchorGroups, req.Changed = res.Anchor, res.AnchorGroups, res.Changed
	for _, u := range res.NewUpdates {
		if !slices.Contains(req.OtherCached, u.RevisionID) {
			req.OtherCached = append(req.OtherCached, u.RevisionID)
		}
	}
	return req
}

// inScope returns the revision IDs of a scope.
func inScope(sc *scan.Scope) []int32 {
	var ids []int32
	for id := range sc.All() {
		ids = append(ids, id)
	}
	return ids
}

// TestChangedUpdatesPaged: after an anchor reset (a fresh cookie for a
// client that caches every revision in scope) every cached revision is
// changed; they come as ChangedUpdates in pages of PageSize (or of
// MaxPageBytes, Fit), Truncated until the last, each once, with no
// NewUpdates while the pass is unfinished. The anchor stays until the pass
// ends; the round after it is empty.
func TestChangedUpdatesPaged(t *testing.T) {
	cases := []struct {
		name     string
		pageSize int
		maxBytes int // 0: no byte limit (Fit not called)
		perPage  int
	}{
		{"by count", 3, 0, 3},
		{"by size", 100, 25, 2}, // every revision counts 10 bytes: 2 a page, the first always kept
		{"one a page by size", 100, 1, 1},
		{"everything in one page", 100, 0, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := standard(t)
			g.approve("Bundle", catalog.AllComputersGroupID, catalog.ActionInstall)
			snap := g.snapshot()
			groups := snap.ResolveGroups(nil, nil)
			all := inScope(snap.Scope(groups))
			req := scan.SyncRequest{Groups: groups, OtherCached: slices.Clone(all), PageSize: c.pageSize}
			seen := map[int32]int{}
			var res scan.SyncResult
			for round := 0; ; round++ {
				if round > len(all) {
					t.Fatalf("no end after %d rounds", round)
				}
				res = snap.Sync(req)
				if c.maxBytes > 0 {
					res.Fit(func(int32) int { return 10 }, c.maxBytes)
				}
				if len(res.NewUpdates) != 0 {
					t.Fatalf("round %d: NewUpdates %v for a client caching everything", round, res.NewUpdates)
				}
				for _, u := range res.ChangedUpdates {
					seen[u.RevisionID]++
				}
				rest := len(all) - round*c.perPage
				if want := min(rest, c.perPage); len(res.ChangedUpdates) != want || res.Truncated != (rest > c.perPage) {
					t.Fatalf("round %d: %d ChangedUpdates, Truncated %v; want %d, %v", round, len(res.ChangedUpdates), res.Truncated, want, rest > c.perPage)
				}
				if res.Truncated != (res.Changed != scan.ChangedPass{}) {
					t.Fatalf("round %d: Truncated %v with pass %+v", round, res.Truncated, res.Changed)
				}
				if res.Truncated && !res.Anchor.IsZero() {
					t.Fatalf("round %d: the anchor moved to %v before the pass ended", round, res.Anchor)
				}
				req = next(req, res)
				if !res.Truncated {
					break
				}
			}
			for _, id := range all {
				if seen[id] != 1 {
					t.Errorf("revision %d delivered %d times, want once", id, seen[id])
				}
			}
			if len(seen) != len(all) {
				t.Errorf("%d revisions delivered, want the %d in scope", len(seen), len(all))
			}
			if res.Anchor.IsZero() {
				t.Error("the anchor did not move once the pass ended")
			}
			if again := snap.Sync(req); len(again.ChangedUpdates)+len(again.NewUpdates) != 0 || again.Truncated {
				t.Errorf("after the pass: %d changed, %d new, Truncated %v", len(again.ChangedUpdates), len(again.NewUpdates), again.Truncated)
			}
		})
	}
}

// TestChangedPassAcrossChanges: a deployment that changes while a
// ChangedUpdates pass is under way comes again once the pass ended, even
// for a revision the pass already delivered; a round for other target
// groups starts the pass again; new revisions follow the changed ones in
// the room a page leaves.
func TestChangedPassAcrossChanges(t *testing.T) {
	g := standard(t)
	ctx := context.Background()
	pilot := uuid.New()
	if err := g.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	snap := g.snapshot()
	groups := snap.ResolveGroups(nil, nil)
	all := inScope(snap.Scope(groups))
	slices.Sort(all)
	first := all[0]
	// Member B has no prerequisite: deliverable as new once it is not cached.
	uncached := g.revID("Member B", 100)
	cached := slices.DeleteFunc(slices.Clone(all), func(id int32) bool { return id == uncached })
	req := scan.SyncRequest{Groups: groups, OtherCached: cached, PageSize: 2}
	res := snap.Sync(req)
	if len(res.ChangedUpdates) != 2 || res.ChangedUpdates[0].RevisionID != first || !res.Truncated {
		t.Fatalf("first page: %+v", res)
	}

	t.Run("other groups start the pass again", func(t *testing.T) {
		r := next(req, res)
		r.Groups = snap.ResolveGroups([]string{"Pilot"}, nil)
		again := snap.Sync(r)
		if len(again.ChangedUpdates) == 0 || again.ChangedUpdates[0].RevisionID != first {
			t.Errorf("after a change of groups: ChangedUpdates %+v, want the pass from %d again", again.ChangedUpdates, first)
		}
	})

	// The first revision's update is declined and un-declined: its
	// deployment changed after the pass began.
	time.Sleep(2 * time.Millisecond)
	var name string
	for _, r := range g.revs {
		if r.ID == first {
			name = r.Title
		}
	}
	g.decline(name, true)
	g.decline(name, false)
	snap = g.snapshot()
	req = next(req, res)
	var changed []int32
	for round := 0; ; round++ {
		if round > len(all) {
			t.Fatalf("no end after %d rounds", round)
		}
		res = snap.Sync(req)
		for _, u := range res.ChangedUpdates {
			changed = append(changed, u.RevisionID)
		}
		req = next(req, res)
		if !res.Truncated {
			break
		}
	}
	if slices.Contains(changed, first) {
		t.Errorf("revision %d delivered twice within one pass: %v", first, changed)
	}
	if !slices.Contains(req.OtherCached, uncached) {
		t.Errorf("the uncached revision %d was not delivered as new", uncached)
	}
	res = snap.Sync(req)
	if len(res.ChangedUpdates) != 1 || res.ChangedUpdates[0].RevisionID != first || res.Truncated {
		t.Errorf("after the pass: ChangedUpdates %+v, want %d, changed during the pass, again", res.ChangedUpdates, first)
	}
	if again := snap.Sync(next(req, res)); len(again.ChangedUpdates) != 0 {
		t.Errorf("then: ChangedUpdates %+v, want none", again.ChangedUpdates)
	}
}
