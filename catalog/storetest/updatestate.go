package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// updateStates returns the update states keyed by UpdateID: the contract
// fixes no order.
func updateStates(t *testing.T, s catalog.Store) map[uuid.UUID]catalog.UpdateState {
	t.Helper()
	list, err := s.UpdateStates(ctx(t))
	must(t, "UpdateStates", err)
	m := map[uuid.UUID]catalog.UpdateState{}
	for _, st := range list {
		if _, dup := m[st.UpdateID]; dup {
			t.Errorf("UpdateStates lists %s twice", st.UpdateID)
		}
		m[st.UpdateID] = st
	}
	return m
}

// checkStoreNow checks a ChangedAt the store set to "now": a UTC time after
// every fixed time of the test (latest) and not before the state's previous
// ChangedAt. The suite never compares it with the test's own clock, which
// need not be the store's (a PostgreSQL server's now()).
func checkStoreNow(t *testing.T, what string, got, latest, previous time.Time) {
	t.Helper()
	if got.Location() != time.UTC || !got.After(latest) || got.Before(previous) {
		t.Errorf("%s: ChangedAt %v, want the store's current UTC time, after %v and not before %v", what, got, latest, previous)
	}
}

// checkOnlyChanged checks that the states other than id are as before.
func checkOnlyChanged(t *testing.T, what string, id uuid.UUID, before, after map[uuid.UUID]catalog.UpdateState) {
	t.Helper()
	b, a := map[uuid.UUID]catalog.UpdateState{}, map[uuid.UUID]catalog.UpdateState{}
	for k, v := range before {
		if k != id {
			b[k] = v
		}
	}
	for k, v := range after {
		if k != id {
			a[k] = v
		}
	}
	check(t, what+": the states of other updates", a, b)
}

// testApprovalActions round-trips every action an approval can hold.
func testApprovalActions(t *testing.T, s catalog.Store) {
	importRevs(t, s, fixtureCatalog())
	key := [2]uuid.UUID{idEngineBundle, catalog.AllComputersGroupID}
	tests := []struct {
		action   catalog.ApprovalAction
		deadline time.Time
	}{
		{catalog.ActionInstall, date("2026-10-10T03:00:00.654321Z")},
		{catalog.ActionOptionalInstall, time.Time{}},
		{catalog.ActionUninstall, time.Time{}},
		{catalog.ActionOptionalInstall, date("2026-10-12T00:00:00Z")},
	}
	for i, tc := range tests {
		in := catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID, Action: tc.action,
			Deadline: tc.deadline, ChangedAt: date("2026-10-04T15:20:47.000001Z").Add(time.Duration(i) * time.Hour), By: "admin"}
		got := setApproval(t, s, in)
		want := in
		want.ID = got.ID
		check(t, "SetApproval "+string(tc.action), got, want)
		check(t, "Approvals after SetApproval "+string(tc.action), approvals(t, s), map[[2]uuid.UUID]catalog.Approval{key: want})
	}
}

// testApprovalsSetUpdateState follows one update's state through approvals
// set and removed. The contract has ChangedAt be the approval's own
// ChangedAt, so a back-dated approval moves it back: the suite pins that
// reading. It also pins that removing an approval that is not there, like
// every no-op, changes nothing.
func testApprovalsSetUpdateState(t *testing.T, s catalog.Store) {
	importRevs(t, s, fixtureCatalog())
	check(t, "UpdateStates of a new catalog", updateStates(t, s), map[uuid.UUID]catalog.UpdateState{})
	latest := date("2026-10-03T09:30:00.123456Z") // the latest fixed time below
	approve := func(id, group uuid.UUID, action catalog.ApprovalAction, at string) catalog.Approval {
		a := catalog.Approval{UpdateID: id, GroupID: group, Action: action, By: "admin"}
		if at != "" {
			a.ChangedAt = date(at)
		}
		return a
	}
	all, unassigned := catalog.AllComputersGroupID, catalog.UnassignedComputersGroupID
	tests := []struct {
		name string
		a    catalog.Approval
		noop bool
	}{
		{"first approval", approve(idEngineBundle, all, catalog.ActionInstall, "2026-10-02T08:00:00.123456Z"), false},
		{"approval for a second group", approve(idEngineBundle, unassigned, catalog.ActionOptionalInstall, "2026-10-03T09:30:00.123456Z"), false},
		{"back-dated replacement", approve(idEngineBundle, all, catalog.ActionUninstall, "2026-10-01T12:00:00Z"), false},
		{"removal", approve(idEngineBundle, all, catalog.ActionNotApproved, ""), false},
		{"removal of what is not there", approve(idEngineBundle, all, catalog.ActionNotApproved, ""), true},
		{"removal for an update never approved", approve(idRollupFix, all, catalog.ActionNotApproved, ""), true},
		{"approval of another update, ChangedAt by the store", approve(idAMEngine, all, catalog.ActionInstall, ""), false},
		{"last removal of an update", approve(idEngineBundle, unassigned, catalog.ActionNotApproved, ""), false},
	}
	for _, tc := range tests {
		before, seq := updateStates(t, s), changeSeq(t, s)
		got := setApproval(t, s, tc.a)
		after := updateStates(t, s)
		if tc.noop {
			check(t, tc.name+": UpdateStates", after, before)
			if now := changeSeq(t, s); now != seq {
				t.Errorf("%s: ChangeSequence moved from %d to %d", tc.name, seq, now)
			}
			continue
		}
		if now := changeSeq(t, s); now <= seq {
			t.Errorf("%s: ChangeSequence %d did not grow past %d", tc.name, now, seq)
		}
		checkOnlyChanged(t, tc.name, tc.a.UpdateID, before, after)
		st, ok := after[tc.a.UpdateID]
		if !ok {
			t.Errorf("%s: UpdateStates has no state for %s", tc.name, tc.a.UpdateID)
			continue
		}
		if st.Declined {
			t.Errorf("%s: the update is declined", tc.name)
		}
		switch {
		case tc.a.Action == catalog.ActionNotApproved:
			checkStoreNow(t, tc.name, st.ChangedAt, latest, before[tc.a.UpdateID].ChangedAt)
		case tc.a.ChangedAt.IsZero():
			check(t, tc.name+": ChangedAt (the approval's)", st.ChangedAt, got.ChangedAt)
		default:
			check(t, tc.name+": ChangedAt (the approval's)", st.ChangedAt, tc.a.ChangedAt)
		}
	}
	if _, ok := updateStates(t, s)[idRollupFix]; ok {
		t.Errorf("a removal that removed nothing created a state for %s", idRollupFix)
	}
}

// testDeclines declines and un-declines updates. The suite pins two
// readings: asking for the state an update is in already changes nothing
// (no ChangedAt, no ChangeSequence, no new state), and declining keeps the
// update's approvals (as the contract says) untouched.
func testDeclines(t *testing.T, s catalog.Store) {
	importRevs(t, s, fixtureCatalog())
	approved := date("2026-10-02T08:00:00.123456Z")
	a := setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID,
		Action: catalog.ActionInstall, ChangedAt: approved, By: "admin"})
	wantApprovals := map[[2]uuid.UUID]catalog.Approval{{idEngineBundle, catalog.AllComputersGroupID}: a}

	tests := []struct {
		name     string
		id       uuid.UUID
		declined bool
		changes  bool
	}{
		{"decline an approved update", idEngineBundle, true, true},
		{"decline it again", idEngineBundle, true, false},
		{"un-decline it", idEngineBundle, false, true},
		{"un-decline it again", idEngineBundle, false, false},
		{"decline an update never approved", idRollupFix, true, true},
		{"un-decline an update never declined", idAMEngine, false, false},
		{"decline the approved update again", idEngineBundle, true, true},
		{"un-decline the other", idRollupFix, false, true},
	}
	for _, tc := range tests {
		before, seq := updateStates(t, s), changeSeq(t, s)
		must(t, tc.name, s.SetDeclined(ctx(t), tc.id, tc.declined))
		after := updateStates(t, s)
		check(t, tc.name+": Approvals", approvals(t, s), wantApprovals)
		if !tc.changes {
			check(t, tc.name+": UpdateStates", after, before)
			if now := changeSeq(t, s); now != seq {
				t.Errorf("%s: ChangeSequence moved from %d to %d", tc.name, seq, now)
			}
			continue
		}
		if now := changeSeq(t, s); now <= seq {
			t.Errorf("%s: ChangeSequence %d did not grow past %d", tc.name, now, seq)
		}
		checkOnlyChanged(t, tc.name, tc.id, before, after)
		st, ok := after[tc.id]
		if !ok {
			t.Errorf("%s: UpdateStates has no state for %s", tc.name, tc.id)
			continue
		}
		if st.Declined != tc.declined {
			t.Errorf("%s: Declined = %t, want %t", tc.name, st.Declined, tc.declined)
		}
		checkStoreNow(t, tc.name, st.ChangedAt, approved, before[tc.id].ChangedAt)
	}
	if _, ok := updateStates(t, s)[idAMEngine]; ok {
		t.Errorf("an un-decline of an update never declined created a state for %s", idAMEngine)
	}

	// Approving or unapproving a declined update moves ChangedAt, and
	// leaves it declined (the contract does not say otherwise).
	a2 := setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: catalog.UnassignedComputersGroupID,
		Action: catalog.ActionOptionalInstall, ChangedAt: date("2026-10-05T10:00:00.5Z"), By: "admin"})
	check(t, "state after approving a declined update", updateStates(t, s)[idEngineBundle],
		catalog.UpdateState{UpdateID: idEngineBundle, Declined: true, ChangedAt: a2.ChangedAt})
}

// testDeclineErrors: an update with no imported revision cannot be
// declined, and a refused decline changes nothing.
func testDeclineErrors(t *testing.T, s catalog.Store) {
	importRevs(t, s, fixtureCatalog())
	must(t, "SetDeclined", s.SetDeclined(ctx(t), idRollupFix, true))
	before, seq := updateStates(t, s), changeSeq(t, s)
	tests := []struct {
		name     string
		id       uuid.UUID
		declined bool
	}{
		{"decline of an update not imported", idWindows11, true},
		{"un-decline of an update not imported", idWindows11, false},
		{"decline of a bundled update not imported", idAMEngineSibling, true},
		{"decline of the nil UUID", uuid.Nil, true},
	}
	for _, tc := range tests {
		mustNotFound(t, tc.name, s.SetDeclined(ctx(t), tc.id, tc.declined))
	}
	check(t, "UpdateStates after refused declines", updateStates(t, s), before)
	if now := changeSeq(t, s); now != seq {
		t.Errorf("ChangeSequence moved from %d to %d on refused declines", seq, now)
	}
}
