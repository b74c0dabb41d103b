package storetest

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Target groups of the tests.
var (
	groupServers = catalog.TargetGroup{ID: uuid.MustParse("5f7c4f0e-9c55-4c1b-a3a4-0b4dbf1e2d10"),
		Name: "Servers", ParentID: catalog.AllComputersGroupID}
	groupWeb = catalog.TargetGroup{ID: uuid.MustParse("9d0b6c3a-2f1e-4d8b-8c7a-6e5f4d3c2b1a"),
		Name: "Web Servers", ParentID: groupServers.ID}
	builtinGroups = []catalog.TargetGroup{
		{ID: catalog.AllComputersGroupID, Name: "All Computers"},
		{ID: catalog.UnassignedComputersGroupID, Name: "Unassigned Computers", ParentID: catalog.AllComputersGroupID},
	}
)

// sortedGroups returns groups ordered by ID: the contract fixes no order.
func sortedGroups(gs []catalog.TargetGroup) []catalog.TargetGroup {
	out := append([]catalog.TargetGroup(nil), gs...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	return out
}

func targetGroups(t *testing.T, s catalog.Store) []catalog.TargetGroup {
	t.Helper()
	gs, err := s.TargetGroups(ctx(t))
	must(t, "TargetGroups", err)
	return sortedGroups(gs)
}

func testTargetGroupsSeeded(t *testing.T, s catalog.Store) {
	check(t, "TargetGroups of a new store", targetGroups(t, s), sortedGroups(builtinGroups))
}

func testCreateTargetGroup(t *testing.T, s catalog.Store) {
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(ctx(t), groupServers))
	must(t, "CreateTargetGroup Web Servers", s.CreateTargetGroup(ctx(t), groupWeb))
	want := sortedGroups(append([]catalog.TargetGroup{groupServers, groupWeb}, builtinGroups...))
	check(t, "TargetGroups", targetGroups(t, s), want)

	// Names compare by Unicode case folding (catalog.GroupNameKey): final
	// and medial sigma are one letter, as are upper and lower case.
	greek := catalog.TargetGroup{ID: uuid.MustParse("d4c3b2a1-0f9e-4d8c-9b7a-6f5e4d3c2b1a"), Name: "Σας", ParentID: catalog.AllComputersGroupID}
	must(t, "CreateTargetGroup Σας", s.CreateTargetGroup(ctx(t), greek))
	want = sortedGroups(append(want, greek))
	seq := changeSeq(t, s)

	fresh := uuid.MustParse("c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f")
	bad := []struct {
		name string
		g    catalog.TargetGroup
		kind error // the error it must match
	}{
		{"same name", catalog.TargetGroup{ID: fresh, Name: "Servers", ParentID: catalog.AllComputersGroupID}, catalog.ErrConflict},
		{"name in other case", catalog.TargetGroup{ID: fresh, Name: "web SERVERS", ParentID: groupServers.ID}, catalog.ErrConflict},
		{"name of a built-in group", catalog.TargetGroup{ID: fresh, Name: "unassigned computers", ParentID: catalog.AllComputersGroupID}, catalog.ErrConflict},
		{"name folding to a taken one", catalog.TargetGroup{ID: fresh, Name: "ΣΑΣ", ParentID: catalog.AllComputersGroupID}, catalog.ErrConflict},
		{"name with medial for final sigma", catalog.TargetGroup{ID: fresh, Name: "σασ", ParentID: catalog.AllComputersGroupID}, catalog.ErrConflict},
		{"ID taken", catalog.TargetGroup{ID: groupServers.ID, Name: "Laptops", ParentID: catalog.AllComputersGroupID}, catalog.ErrConflict},
		{"empty name", catalog.TargetGroup{ID: fresh, Name: "", ParentID: catalog.AllComputersGroupID}, catalog.ErrInvalid},
		{"NUL in the name", catalog.TargetGroup{ID: fresh, Name: "Lap\x00tops", ParentID: catalog.AllComputersGroupID}, catalog.ErrInvalid},
		{"name not UTF-8", catalog.TargetGroup{ID: fresh, Name: "Lap\xfftops", ParentID: catalog.AllComputersGroupID}, catalog.ErrInvalid},
		{"no ID", catalog.TargetGroup{Name: "Laptops", ParentID: catalog.AllComputersGroupID}, catalog.ErrInvalid},
		{"unknown parent", catalog.TargetGroup{ID: fresh, Name: "Laptops", ParentID: uuid.MustParse("11111111-2222-4333-8444-555555555555")}, catalog.ErrNotFound},
	}
	for _, tc := range bad {
		err := s.CreateTargetGroup(ctx(t), tc.g)
		if !errors.Is(err, tc.kind) {
			t.Errorf("CreateTargetGroup with %s: got %v, want an error matching %v", tc.name, err, tc.kind)
		}
	}
	check(t, "TargetGroups after rejected creates", targetGroups(t, s), want)
	if got := changeSeq(t, s); got != seq {
		t.Errorf("ChangeSequence moved from %d to %d on rejected creates", seq, got)
	}
}

// approvals returns the approvals in force keyed by (update, group).
func approvals(t *testing.T, s catalog.Store) map[[2]uuid.UUID]catalog.Approval {
	t.Helper()
	list, err := s.Approvals(ctx(t))
	must(t, "Approvals", err)
	m := map[[2]uuid.UUID]catalog.Approval{}
	for _, a := range list {
		key := [2]uuid.UUID{a.UpdateID, a.GroupID}
		if _, dup := m[key]; dup {
			t.Errorf("Approvals lists (%s, %s) twice", a.UpdateID, a.GroupID)
		}
		m[key] = a
	}
	return m
}

func setApproval(t *testing.T, s catalog.Store, a catalog.Approval) catalog.Approval {
	t.Helper()
	got, err := s.SetApproval(ctx(t), a)
	must(t, "SetApproval", err)
	return got
}

func testApprovals(t *testing.T, s catalog.Store) {
	importRevs(t, s, fixtureCatalog())
	allKey := [2]uuid.UUID{idEngineBundle, catalog.AllComputersGroupID}
	unassignedKey := [2]uuid.UUID{idEngineBundle, catalog.UnassignedComputersGroupID}

	// ChangedAt zero: the store sets it.
	a1 := setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID,
		Action: catalog.ActionInstall, By: `CONTOSO\admin`})
	if a1.ID <= 0 {
		t.Errorf("SetApproval returned deployment ID %d, want a positive one", a1.ID)
	}
	if a1.ChangedAt.IsZero() || a1.ChangedAt.Location() != time.UTC {
		t.Errorf("SetApproval returned ChangedAt %v, want the current UTC time", a1.ChangedAt)
	}
	check(t, "SetApproval result", a1, catalog.Approval{ID: a1.ID, UpdateID: idEngineBundle,
		GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall, ChangedAt: a1.ChangedAt, By: `CONTOSO\admin`})
	check(t, "Approvals after the first", approvals(t, s), map[[2]uuid.UUID]catalog.Approval{allKey: a1})

	// Explicit deadline and ChangedAt are kept (microsecond precision).
	a2 := setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.UnassignedComputersGroupID,
		Action: catalog.ActionInstall, Deadline: date("2026-10-10T03:00:00.123456Z"),
		ChangedAt: date("2026-10-04T15:20:47.397Z"), By: "admin2"})
	check(t, "SetApproval with deadline", a2, catalog.Approval{ID: a2.ID, UpdateID: idEngineBundle,
		GroupID: catalog.UnassignedComputersGroupID, Action: catalog.ActionInstall,
		Deadline: date("2026-10-10T03:00:00.123456Z"), ChangedAt: date("2026-10-04T15:20:47.397Z"), By: "admin2"})
	if a2.ID <= a1.ID {
		t.Errorf("second approval got deployment ID %d, want more than %d", a2.ID, a1.ID)
	}

	// Replacing gives a new deployment ID.
	a3 := setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID,
		Action: catalog.ActionUninstall, ChangedAt: date("2026-10-05T08:00:00Z"), By: `CONTOSO\admin`})
	if a3.ID <= a2.ID {
		t.Errorf("replaced approval got deployment ID %d, want a new one above %d", a3.ID, a2.ID)
	}
	check(t, "Approvals after a replace", approvals(t, s), map[[2]uuid.UUID]catalog.Approval{allKey: a3, unassignedKey: a2})

	// NotApproved removes.
	setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID,
		Action: catalog.ActionNotApproved})
	check(t, "Approvals after NotApproved", approvals(t, s), map[[2]uuid.UUID]catalog.Approval{unassignedKey: a2})
	// Removing what is not there is no error.
	setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID,
		Action: catalog.ActionNotApproved})

	// Approving again never reuses an ID.
	a4 := setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID,
		Action: catalog.ActionInstall, ChangedAt: date("2026-10-06T08:00:00Z")})
	if a4.ID <= a3.ID {
		t.Errorf("re-approval got deployment ID %d, want a new one above %d", a4.ID, a3.ID)
	}
	check(t, "Approvals at the end", approvals(t, s), map[[2]uuid.UUID]catalog.Approval{allKey: a4, unassignedKey: a2})
}

func testApprovalErrors(t *testing.T, s catalog.Store) {
	importRevs(t, s, fixtureCatalog())
	seq := changeSeq(t, s)
	tests := []struct {
		name     string
		a        catalog.Approval
		notFound bool
	}{
		{"unknown group", catalog.Approval{UpdateID: idEngineBundle, GroupID: groupServers.ID, Action: catalog.ActionInstall}, true},
		{"unknown update", catalog.Approval{UpdateID: idWindows11, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall}, true},
		{"unknown action", catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID, Action: "Block"}, false},
	}
	for _, tc := range tests {
		_, err := s.SetApproval(ctx(t), tc.a)
		if err == nil {
			t.Errorf("SetApproval accepted an approval with %s", tc.name)
			continue
		}
		if tc.notFound {
			mustNotFound(t, "SetApproval with "+tc.name, err)
		}
	}
	check(t, "Approvals after rejected ones", approvals(t, s), map[[2]uuid.UUID]catalog.Approval{})
	if got := changeSeq(t, s); got != seq {
		t.Errorf("ChangeSequence moved from %d to %d on rejected approvals", seq, got)
	}
}
