package storetest

import (
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// testComputerGroupAssignments checks that ComputerGroupAssignments lists
// every computer's assigned groups at once, exactly as Computer and
// Computers list them (the scan engine reads it instead of one Computer per
// request), and that each change of assignment moves the change sequence a
// cache keyed by it compares.
func testComputerGroupAssignments(t *testing.T, s catalog.Store) {
	c := ctx(t)
	got, err := s.ComputerGroupAssignments(c)
	must(t, "ComputerGroupAssignments of an empty store", err)
	if len(got) != 0 {
		t.Errorf("ComputerGroupAssignments of an empty store: %v, want none", got)
	}
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	must(t, "CreateTargetGroup Web Servers", s.CreateTargetGroup(c, groupWeb))
	at := date("2026-10-04T15:20:40.5Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1.contoso.local", nil, at))
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client2, "pc2.contoso.local", []string{"Servers"}, at))
	must(t, "RegisterComputer", s.RegisterComputer(c, registration()))

	servers, web, unassigned := groupServers.ID, groupWeb.ID, catalog.UnassignedComputersGroupID
	tests := []struct {
		name   string
		client string
		groups []uuid.UUID
		// notFound: the call fails with an error wrapping ErrNotFound.
		notFound bool
		// want is every assignment afterwards; changed, whether it differs
		// from the one before (the change sequence must grow).
		want    map[string][]uuid.UUID
		changed bool
	}{
		{"nobody assigned yet", client1, nil, false, map[string][]uuid.UUID{}, false},
		{"one computer, two groups out of order", client1, []uuid.UUID{web, servers}, false,
			map[string][]uuid.UUID{client1: {servers, web}}, true},
		{"a second computer", client2, []uuid.UUID{unassigned, web, web}, false,
			map[string][]uuid.UUID{client1: {servers, web}, client2: {web, unassigned}}, true},
		{"the same groups in another order", client1, []uuid.UUID{web, servers, web}, false,
			map[string][]uuid.UUID{client1: {servers, web}, client2: {web, unassigned}}, false},
		{"an unknown group", client1, []uuid.UUID{unknownGroupID}, true,
			map[string][]uuid.UUID{client1: {servers, web}, client2: {web, unassigned}}, false},
		{"an unknown computer", client3, []uuid.UUID{servers}, true,
			map[string][]uuid.UUID{client1: {servers, web}, client2: {web, unassigned}}, false},
		{"replace by one", client1, []uuid.UUID{web}, false,
			map[string][]uuid.UUID{client1: {web}, client2: {web, unassigned}}, true},
		{"clear one computer", client2, []uuid.UUID{}, false,
			map[string][]uuid.UUID{client1: {web}}, true},
		{"clear the other", client1, nil, false, map[string][]uuid.UUID{}, true},
	}
	seq := changeSeq(t, s)
	for _, tc := range tests {
		err := s.SetComputerGroups(c, tc.client, tc.groups)
		if tc.notFound {
			mustNotFound(t, tc.name, err)
		} else {
			must(t, tc.name, err)
		}
		got, err := s.ComputerGroupAssignments(c)
		must(t, tc.name+": ComputerGroupAssignments", err)
		check(t, tc.name+": ComputerGroupAssignments", normAssignments(got), tc.want)
		check(t, tc.name+": Computers groups", groupsOf(t, s), tc.want)
		now := changeSeq(t, s)
		switch {
		case tc.changed && now <= seq:
			t.Errorf("%s: ChangeSequence %d did not grow past %d", tc.name, now, seq)
		case !tc.changed && now != seq:
			t.Errorf("%s: ChangeSequence moved from %d to %d, and no assignment changed", tc.name, seq, now)
		}
		seq = now
	}
}

// normAssignments returns m with empty lists left out (stores may list a
// computer in no group either way) and never nil.
func normAssignments(m map[string][]uuid.UUID) map[string][]uuid.UUID {
	out := map[string][]uuid.UUID{}
	for id, gs := range m {
		if len(gs) > 0 {
			out[id] = gs
		}
	}
	return out
}
