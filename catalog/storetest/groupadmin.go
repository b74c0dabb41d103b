package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// wantKind fails unless err wraps kind.
func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: err = %v, want one wrapping %v", what, err, kind)
	}
}

func groupNames(t *testing.T, s catalog.Store) map[uuid.UUID]string {
	t.Helper()
	list, err := s.TargetGroups(ctx(t))
	must(t, "TargetGroups", err)
	out := make(map[uuid.UUID]string, len(list))
	for _, g := range list {
		out[g.ID] = g.Name
	}
	return out
}

func testRenameTargetGroup(t *testing.T, s catalog.Store) {
	c := ctx(t)
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	must(t, "CreateTargetGroup Web Servers", s.CreateTargetGroup(c, groupWeb))
	seq := changeSeq(t, s)
	must(t, "RenameTargetGroup", s.RenameTargetGroup(c, groupServers.ID, "Datacenter"))
	if got := groupNames(t, s)[groupServers.ID]; got != "Datacenter" {
		t.Errorf("name after rename = %q", got)
	}
	if next := changeSeq(t, s); next <= seq {
		t.Errorf("ChangeSequence %d after a rename, want more than %d", next, seq)
	}
	seq = changeSeq(t, s)
	must(t, "RenameTargetGroup to its own name", s.RenameTargetGroup(c, groupServers.ID, "Datacenter"))
	if next := changeSeq(t, s); next != seq {
		t.Errorf("ChangeSequence moved (%d → %d) on a rename to the same name", seq, next)
	}
	// Another case of its own name is a rename, not a conflict.
	must(t, "RenameTargetGroup to another case", s.RenameTargetGroup(c, groupServers.ID, "DATACENTER"))
	wantKind(t, "rename to a taken name", s.RenameTargetGroup(c, groupServers.ID, "web servers"), catalog.ErrConflict)
	wantKind(t, "rename to a built-in group's name", s.RenameTargetGroup(c, groupServers.ID, "All Computers"), catalog.ErrConflict)
	wantKind(t, "rename All Computers", s.RenameTargetGroup(c, catalog.AllComputersGroupID, "Everyone"), catalog.ErrInvalid)
	wantKind(t, "rename Unassigned Computers", s.RenameTargetGroup(c, catalog.UnassignedComputersGroupID, "New"), catalog.ErrInvalid)
	wantKind(t, "rename to an empty name", s.RenameTargetGroup(c, groupServers.ID, " "), catalog.ErrInvalid)
	wantKind(t, "rename to a name with a NUL", s.RenameTargetGroup(c, groupServers.ID, "a\x00b"), catalog.ErrInvalid)
	mustNotFound(t, "rename an unknown group", s.RenameTargetGroup(c, uuid.MustParse("0d2c1a2e-0000-4000-8000-000000000001"), "X"))
	names := groupNames(t, s)
	check(t, "names after the refusals", []string{names[groupServers.ID], names[groupWeb.ID], names[catalog.AllComputersGroupID]},
		[]string{"DATACENTER", "Web Servers", "All Computers"})
}

func testDeleteTargetGroup(t *testing.T, s catalog.Store) {
	c := ctx(t)
	importRevs(t, s, fixtureCatalog())
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	must(t, "CreateTargetGroup Web Servers", s.CreateTargetGroup(c, groupWeb))
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1.contoso.local", nil, date("2026-10-04T15:20:40Z")))
	must(t, "SetComputerGroups", s.SetComputerGroups(c, client1, []uuid.UUID{groupWeb.ID, groupServers.ID}))
	setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: groupWeb.ID, Action: catalog.ActionInstall,
		ChangedAt: date("2026-10-01T00:00:00Z"), By: "admin"})
	kept := setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: groupServers.ID, Action: catalog.ActionInstall,
		ChangedAt: date("2026-10-01T00:00:00Z"), By: "admin"})

	wantKind(t, "delete a group with a child", s.DeleteTargetGroup(c, groupServers.ID), catalog.ErrConflict)
	wantKind(t, "delete All Computers", s.DeleteTargetGroup(c, catalog.AllComputersGroupID), catalog.ErrInvalid)
	wantKind(t, "delete Unassigned Computers", s.DeleteTargetGroup(c, catalog.UnassignedComputersGroupID), catalog.ErrInvalid)
	mustNotFound(t, "delete an unknown group", s.DeleteTargetGroup(c, uuid.MustParse("0d2c1a2e-0000-4000-8000-000000000001")))
	if got := len(groupNames(t, s)); got != 4 {
		t.Fatalf("%d groups after the refusals, want 4", got)
	}

	seq := changeSeq(t, s)
	before := time.Now().Add(-time.Minute)
	must(t, "DeleteTargetGroup Web Servers", s.DeleteTargetGroup(c, groupWeb.ID))
	if _, ok := groupNames(t, s)[groupWeb.ID]; ok {
		t.Errorf("the deleted group is still listed")
	}
	check(t, "approvals after the delete", approvals(t, s), map[[2]uuid.UUID]catalog.Approval{{idEngineBundle, groupServers.ID}: kept})
	check(t, "groups of client1 after the delete", computer(t, s, client1).Groups, []uuid.UUID{groupServers.ID})
	if st := updateStates(t, s)[idEngineBundle]; st.ChangedAt.Before(before) {
		t.Errorf("the update's state ChangedAt %v, want now: its approval for the deleted group went", st.ChangedAt)
	}
	if next := changeSeq(t, s); next <= seq {
		t.Errorf("ChangeSequence %d after a delete, want more than %d", next, seq)
	}
	// The parent has no child left; it goes too, and its name is free.
	must(t, "DeleteTargetGroup Servers", s.DeleteTargetGroup(c, groupServers.ID))
	check(t, "approvals after both deletes", approvals(t, s), map[[2]uuid.UUID]catalog.Approval{})
	check(t, "groups of client1 after both deletes", computer(t, s, client1).Groups, []uuid.UUID(nil))
	must(t, "CreateTargetGroup Servers again", s.CreateTargetGroup(c, groupServers))
}

func testDeleteComputers(t *testing.T, s catalog.Store) {
	c := ctx(t)
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	at := date("2026-10-04T15:20:40Z")
	for _, id := range []string{client1, client2, client3} {
		must(t, "RecordAuthorization", s.RecordAuthorization(c, id, id+".contoso.local", nil, at))
	}
	must(t, "SetComputerGroups", s.SetComputerGroups(c, client1, []uuid.UUID{groupServers.ID}))
	ev := catalog.Event{InstanceID: uuid.MustParse("e0000000-0000-4000-8000-0000000000d1"), ClientID: client1,
		EventID: 147, SourceID: 1, TimeAtTarget: at}
	if _, err := s.StoreEvents(c, client1, []catalog.Event{ev}, at); err != nil {
		t.Fatalf("StoreEvents: %v", err)
	}
	must(t, "SetStatuses", s.SetStatuses(c, client1, []catalog.UpdateStatus{{ClientID: client1, UpdateID: idEngineBundle, State: catalog.StateInstalled}}, true, at))

	seq := changeSeq(t, s)
	got, err := s.DeleteComputers(c, []string{client1, "unknown-client", client1, client2})
	must(t, "DeleteComputers", err)
	check(t, "DeleteComputers result", got, []string{client1, client2})
	if next := changeSeq(t, s); next <= seq {
		t.Errorf("ChangeSequence %d after deleting an assigned computer, want more than %d", next, seq)
	}
	left := computers(t, s)
	if len(left) != 1 || left[0].ID != client3 {
		t.Errorf("computers after the delete = %+v, want client3 only", left)
	}
	_, err = s.Computer(c, client1)
	mustNotFound(t, "Computer of a deleted computer", err)
	if evs, err := s.Events(c, client1); err != nil || len(evs) != 0 {
		t.Errorf("events of a deleted computer = %v, %v", evs, err)
	}
	if sts, err := s.Statuses(c, client1); err != nil || len(sts) != 0 {
		t.Errorf("statuses of a deleted computer = %v, %v", sts, err)
	}
	if a, err := s.ComputerGroupAssignments(c); err != nil || len(a) != 0 {
		t.Errorf("assignments after the delete = %v, %v", a, err)
	}
	// A computer deleted comes back as new when it contacts the server.
	must(t, "RecordAuthorization after delete", s.RecordAuthorization(c, client1, "pc1.contoso.local", nil, at))
	if n, err := s.StoreEvents(c, client1, []catalog.Event{ev}, at); err != nil || n != 1 {
		t.Errorf("StoreEvents of the event again = %d, %v; want it stored new", n, err)
	}
	seq = changeSeq(t, s)
	got, err = s.DeleteComputers(c, []string{client2, client3})
	must(t, "DeleteComputers without assignments", err)
	check(t, "DeleteComputers of a gone and a present one", got, []string{client3})
	if next := changeSeq(t, s); next != seq {
		t.Errorf("ChangeSequence moved (%d → %d) deleting a computer in no group", seq, next)
	}
}
