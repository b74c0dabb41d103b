package storetest

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// unknownGroupID names no target group of the tests.
var unknownGroupID = uuid.MustParse("11111111-2222-4333-8444-555555555555")

// normComputer returns c with empty lists as nil, the form the suite
// compares in (stores may return either).
func normComputer(c catalog.Computer) catalog.Computer {
	c.RequestedGroups = nilIfEmpty(c.RequestedGroups)
	c.Groups = nilIfEmpty(c.Groups)
	return c
}

// computers returns every computer, normalized, in the store's order.
func computers(t *testing.T, s catalog.Store) []catalog.Computer {
	t.Helper()
	list, err := s.Computers(ctx(t))
	must(t, "Computers", err)
	for i := range list {
		list[i] = normComputer(list[i])
	}
	return list
}

// groupsOf returns the assigned groups of every computer as Computers
// lists them, keyed by client ID; computers in no group are left out.
func groupsOf(t *testing.T, s catalog.Store) map[string][]uuid.UUID {
	t.Helper()
	m := map[string][]uuid.UUID{}
	for _, c := range computers(t, s) {
		if c.Groups != nil {
			m[c.ID] = c.Groups
		}
	}
	return m
}

// testComputerGroups assigns, replaces and clears the groups of a computer.
// Groups come back ordered by UUID string (groupServers < groupWeb <
// AllComputers < UnassignedComputers), whatever order they were given in.
func testComputerGroups(t *testing.T, s catalog.Store) {
	c := ctx(t)
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	must(t, "CreateTargetGroup Web Servers", s.CreateTargetGroup(c, groupWeb))
	at := date("2026-10-04T15:20:40.5Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1.contoso.local", nil, at))
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client2, "pc2.contoso.local", nil, at))
	check(t, "groups of a new computer", computer(t, s, client1).Groups, []uuid.UUID(nil))
	must(t, "SetComputerGroups of client2", s.SetComputerGroups(c, client2, []uuid.UUID{groupWeb.ID}))
	seq := changeSeq(t, s)

	all, unassigned, servers, web := catalog.AllComputersGroupID, catalog.UnassignedComputersGroupID, groupServers.ID, groupWeb.ID
	tests := []struct {
		name   string
		client string
		groups []uuid.UUID
		// notFound: the call fails with an error wrapping ErrNotFound.
		notFound bool
		// want is client1's groups afterwards.
		want []uuid.UUID
	}{
		{"assign two, out of order", client1, []uuid.UUID{web, servers}, false, []uuid.UUID{servers, web}},
		{"replace, with a duplicate", client1, []uuid.UUID{unassigned, web, all, web}, false, []uuid.UUID{web, all, unassigned}},
		{"replace by one", client1, []uuid.UUID{servers}, false, []uuid.UUID{servers}},
		{"the same again", client1, []uuid.UUID{servers}, false, []uuid.UUID{servers}},
		{"unknown group", client1, []uuid.UUID{web, unknownGroupID}, true, []uuid.UUID{servers}},
		{"nil group ID", client1, []uuid.UUID{uuid.Nil}, true, []uuid.UUID{servers}},
		{"unknown computer", client3, []uuid.UUID{servers}, true, []uuid.UUID{servers}},
		{"clear with an empty list", client1, []uuid.UUID{}, false, nil},
		{"assign after a clear", client1, []uuid.UUID{unassigned}, false, []uuid.UUID{unassigned}},
		{"clear with nil", client1, nil, false, nil},
		{"clear what is clear", client1, nil, false, nil},
	}
	var before []uuid.UUID // client1's groups before the step
	for _, tc := range tests {
		err := s.SetComputerGroups(c, tc.client, tc.groups)
		if tc.notFound {
			mustNotFound(t, tc.name, err)
		} else {
			must(t, tc.name, err)
		}
		check(t, tc.name+": Computer groups", computer(t, s, client1).Groups, tc.want)
		want := map[string][]uuid.UUID{client2: {web}}
		if tc.want != nil {
			want[client1] = tc.want
		}
		check(t, tc.name+": Computers groups", groupsOf(t, s), want)
		// Assignments are part of the scan snapshot: a change moves the
		// sequence; a refused call or the same assignment does not.
		now := changeSeq(t, s)
		switch changed := !slices.Equal(before, tc.want); {
		case changed && now <= seq:
			t.Errorf("%s: ChangeSequence %d did not grow past %d on a change of assignment", tc.name, now, seq)
		case !changed && now != seq:
			t.Errorf("%s: ChangeSequence moved from %d to %d, and the assignment did not change", tc.name, seq, now)
		}
		seq, before = now, tc.want
	}
	_, err := s.Computer(c, client3)
	mustNotFound(t, "Computer after SetComputerGroups of an unknown computer", err)
}

// testComputerGroupsSurvive checks that the client's own calls leave the
// groups an admin assigned alone.
func testComputerGroupsSurvive(t *testing.T, s catalog.Store) {
	c := ctx(t)
	must(t, "CreateTargetGroup Servers", s.CreateTargetGroup(c, groupServers))
	t1 := date("2026-10-04T15:20:40.5Z")
	t2 := date("2026-10-04T16:03:35.996723Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1", []string{"Laptops"}, t1))
	assigned := []uuid.UUID{groupServers.ID, catalog.UnassignedComputersGroupID}
	must(t, "SetComputerGroups", s.SetComputerGroups(c, client1, assigned))

	want := computer(t, s, client1)
	check(t, "groups as assigned", want.Groups, assigned)
	reg := registration()
	tests := []struct {
		name string
		do   func() error
		// change applies to want what the call changes.
		change func(*catalog.Computer)
	}{
		{"RecordAuthorization", func() error {
			return s.RecordAuthorization(c, client1, "pc1.contoso.local", []string{"Servers"}, t2)
		}, func(w *catalog.Computer) { w.DNSName, w.RequestedGroups = "pc1.contoso.local", []string{"Servers"} }},
		{"RegisterComputer", func() error { return s.RegisterComputer(c, reg) }, func(w *catalog.Computer) {
			first := w.FirstSeen
			*w = reg
			w.Registered, w.FirstSeen, w.RequestedGroups, w.Groups = true, first, []string{"Servers"}, assigned
		}},
		{"RecordAuthorization without groups", func() error {
			return s.RecordAuthorization(c, client1, "pc1.contoso.local", nil, t2)
		}, func(w *catalog.Computer) { w.RequestedGroups = nil }},
		{"RecordSync", func() error { return s.RecordSync(c, client1, t2) },
			func(w *catalog.Computer) { w.LastSync = t2 }},
		{"StoreEvents", func() error { _, err := s.StoreEvents(c, client1, events147(), t2); return err },
			func(w *catalog.Computer) { w.LastReport = t2 }},
		{"SetStatuses", func() error {
			return s.SetStatuses(c, client1, []catalog.UpdateStatus{{UpdateID: idAMEngine, State: catalog.StateInstalled}}, true, t2)
		}, func(w *catalog.Computer) { w.LastStatusTime = t2 }},
	}
	for _, tc := range tests {
		must(t, tc.name, tc.do())
		tc.change(&want)
		check(t, "computer after "+tc.name, computer(t, s, client1), want)
	}
	check(t, "Computers at the end", computers(t, s), []catalog.Computer{want})
}
