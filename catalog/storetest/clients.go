package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Client IDs of the tests; the first is the SusClientId of the real capture
// examples/wsusrs-flow-000016-ReportEventBatch-request-events-147-148.xml.
const (
	client1 = "e1da06a3-5601-43c9-bac3-52d5db701494"
	client2 = "4c0e2b7a-8f3d-4e61-9a52-7d1b3c5e9f20"
	client3 = "a7f3c9e1-2b4d-4f6a-8c0e-1d3f5b7a9c2e"
)

// computer returns one computer, normalized (see normComputer).
func computer(t *testing.T, s catalog.Store, id string) catalog.Computer {
	t.Helper()
	c, err := s.Computer(ctx(t), id)
	must(t, "Computer "+id, err)
	return normComputer(c)
}

// registration is what RegisterComputer of client1 sends (the ComputerInfo
// fields of MS-WUSP 2.2.2.2.3; values test data).
func registration() catalog.Computer {
	return catalog.Computer{
		ID: client1, DNSName: "pc1.contoso.local",
		OSMajor: 10, OSMinor: 0, OSBuild: 26200, OSDescription: "Windows 11 Pro", OSLocale: "en-US",
		Architecture: "AMD64", Manufacturer: "Contoso", Model: "Virtual Machine", ClientVersion: "1507.2601.30012.0",
	}
}

func testComputerLifecycle(t *testing.T, s catalog.Store) {
	c := ctx(t)
	t1 := date("2026-10-04T15:20:40.5Z")
	t2 := date("2026-10-04T16:03:35.996723Z")
	t3 := date("2026-10-04T17:00:00Z")

	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1", []string{"Servers"}, t1))
	check(t, "computer after its first authorization", computer(t, s, client1), catalog.Computer{
		ID: client1, DNSName: "pc1", RequestedGroups: []string{"Servers"}, FirstSeen: t1})

	must(t, "RecordAuthorization again", s.RecordAuthorization(c, client1, "pc1.contoso.local", []string{"Servers", "Web Servers"}, t2))
	check(t, "computer after a second authorization", computer(t, s, client1), catalog.Computer{
		ID: client1, DNSName: "pc1.contoso.local", RequestedGroups: []string{"Servers", "Web Servers"}, FirstSeen: t1})

	reg := registration()
	must(t, "RegisterComputer", s.RegisterComputer(c, reg))
	want := reg
	want.RequestedGroups = []string{"Servers", "Web Servers"}
	want.Registered = true
	want.FirstSeen = t1
	check(t, "computer after RegisterComputer", computer(t, s, client1), want)

	// A later authorization keeps the registration and its details.
	must(t, "RecordAuthorization after registration", s.RecordAuthorization(c, client1, "pc1.contoso.local", nil, t3))
	want.RequestedGroups = nil
	check(t, "computer after an authorization without groups", computer(t, s, client1), want)

	must(t, "RecordSync", s.RecordSync(c, client1, t2))
	want.LastSync = t2
	check(t, "computer after RecordSync", computer(t, s, client1), want)

	_, err := s.StoreEvents(c, client1, []catalog.Event{{InstanceID: uuid.MustParse("fab199c1-6123-44f2-b01c-a5a92201b011"), EventID: 147}}, t3)
	must(t, "StoreEvents", err)
	want.LastReport = t3
	must(t, "SetStatuses", s.SetStatuses(c, client1, nil, false, t2))
	want.LastStatusTime = t2
	check(t, "computer after reports", computer(t, s, client1), want)

	// RegisterComputer of a computer never authorized creates it.
	reg2 := registration()
	reg2.ID, reg2.DNSName, reg2.FirstSeen = client2, "pc2.contoso.local", t1
	must(t, "RegisterComputer of a new computer", s.RegisterComputer(c, reg2))
	want2 := reg2
	want2.Registered = true
	check(t, "computer created by RegisterComputer", computer(t, s, client2), want2)
}

func testComputersOrder(t *testing.T, s catalog.Store) {
	at := date("2026-10-04T15:20:40Z")
	for _, c := range []struct{ id, dns string }{
		{client1, "c.contoso.local"}, {client2, "a.contoso.local"}, {client3, "b.contoso.local"},
	} {
		must(t, "RecordAuthorization", s.RecordAuthorization(ctx(t), c.id, c.dns, nil, at))
	}
	list, err := s.Computers(ctx(t))
	must(t, "Computers", err)
	var got []string
	for _, c := range list {
		got = append(got, c.DNSName)
	}
	check(t, "Computers order", got, []string{"a.contoso.local", "b.contoso.local", "c.contoso.local"})
}

// events147 are reporting events shaped like the real capture
// examples/wsusrs-flow-000016-ReportEventBatch-request-events-147-148.xml
// (first one copied; the rest test data).
func events147() []catalog.Event {
	return []catalog.Event{
		{
			InstanceID: uuid.MustParse("fab199c1-6123-44f2-b01c-a5a92201b011"), ClientID: client1,
			EventID: 147, SourceID: 101, TimeAtTarget: date("2026-10-04T15:20:47.397Z"),
			AppName: "OOBE ZDP", Replacement: []string{"0"},
			MiscData: []string{"B=3", "C=3", "G=1507.2601.30012.0", "J=775", "K=unknown", "L=2022-02-02T00:00:00", "AppName=OOBE ZDP"},
		},
		{
			InstanceID: uuid.MustParse("0d6c2a51-7b2e-4d0b-9d7e-5f3e2c1b0a98"), ClientID: client1,
			EventID: 148, SourceID: 101, TimeAtTarget: date("2026-10-04T15:20:48.001Z"),
			UpdateID: idAMEngine, RevisionNumber: 200, Win32HResult: -2145124329, AppName: "AutomaticUpdates",
		},
		{
			InstanceID: uuid.MustParse("8e2f4a6c-1b3d-4e5f-a7c9-0b2d4f6a8c1e"), ClientID: client1,
			EventID: 183, SourceID: 101, TimeAtTarget: date("2026-10-04T15:20:47.5Z"),
			UpdateID: idRollupFix, RevisionNumber: 200, AppName: "AutomaticUpdates", Replacement: []string{"KB5026368", "x"},
		},
	}
}

func events(t *testing.T, s catalog.Store, client string) []catalog.Event {
	t.Helper()
	list, err := s.Events(ctx(t), client)
	must(t, "Events", err)
	return list
}

func storeEvents(t *testing.T, s catalog.Store, client string, evs []catalog.Event, at time.Time) int {
	t.Helper()
	n, err := s.StoreEvents(ctx(t), client, evs, at)
	must(t, "StoreEvents", err)
	return n
}

func testEventsDedupe(t *testing.T, s catalog.Store) {
	at := date("2026-10-04T15:21:00Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(ctx(t), client1, "pc1", nil, at))
	evs := events147()
	check(t, "new events of a batch", storeEvents(t, s, client1, evs, at), 3)
	check(t, "new events of the same batch again", storeEvents(t, s, client1, evs, at.Add(time.Minute)), 0)
	fourth := catalog.Event{InstanceID: uuid.MustParse("1f3e5d7c-9b0a-4c2e-8d4f-6a8c0e2b4d6f"), ClientID: client1,
		EventID: 161, SourceID: 101, TimeAtTarget: date("2026-10-04T15:22:00Z")}
	check(t, "new events of a batch with one new and a duplicate inside",
		storeEvents(t, s, client1, []catalog.Event{evs[0], fourth, fourth}, at), 1)
	if n := len(events(t, s, client1)); n != 4 {
		t.Errorf("got %d stored events, want 4", n)
	}
}

func testEventsOrder(t *testing.T, s catalog.Store) {
	at := date("2026-10-04T15:21:00.25Z")
	for _, c := range []string{client1, client2} {
		must(t, "RecordAuthorization", s.RecordAuthorization(ctx(t), c, c, nil, at))
	}
	evs := events147()
	storeEvents(t, s, client1, evs, at)
	other := catalog.Event{InstanceID: uuid.MustParse("2a4c6e8f-0b1d-4f3a-9c5e-7d9f1b3d5a7c"), EventID: 147,
		SourceID: 101, TimeAtTarget: date("2026-10-04T15:00:00Z")}
	storeEvents(t, s, client2, []catalog.Event{other}, at)

	// Oldest TimeAtTarget first (the suite's reading of "oldest"), Received
	// and ClientID set by the store.
	want := []catalog.Event{evs[0], evs[2], evs[1]}
	for i := range want {
		want[i].Received = at
	}
	check(t, "Events of client1", events(t, s, client1), want)
	other.ClientID, other.Received = client2, at
	check(t, "Events of client2", events(t, s, client2), []catalog.Event{other})
	check(t, "LastReport", computer(t, s, client1).LastReport, at)
	check(t, "Events of an unknown computer", len(events(t, s, client3)), 0)
}

func statuses(t *testing.T, s catalog.Store, client string) map[uuid.UUID]catalog.UpdateStatus {
	t.Helper()
	list, err := s.Statuses(ctx(t), client)
	must(t, "Statuses", err)
	m := map[uuid.UUID]catalog.UpdateStatus{}
	for _, st := range list {
		m[st.UpdateID] = st
	}
	return m
}

func testStatuses(t *testing.T, s catalog.Store) {
	c := ctx(t)
	t1 := date("2026-10-04T15:00:00Z")
	t2 := date("2026-10-04T16:00:00.5Z")
	t3 := date("2026-10-04T17:00:00Z")
	t4 := date("2026-10-04T18:00:00Z")
	for _, id := range []string{client1, client2} {
		must(t, "RecordAuthorization", s.RecordAuthorization(c, id, id, nil, t1))
	}
	st := func(id uuid.UUID, state catalog.InstallState, changed time.Time) catalog.UpdateStatus {
		return catalog.UpdateStatus{ClientID: client1, UpdateID: id, State: state, ChangedAt: changed}
	}
	in := func(id uuid.UUID, state catalog.InstallState) catalog.UpdateStatus {
		return catalog.UpdateStatus{UpdateID: id, State: state}
	}
	a, b, cc, d := idAMEngine, idRollupFix, idEngineBundle, idOOBEZDP

	must(t, "SetStatuses", s.SetStatuses(c, client1, []catalog.UpdateStatus{in(a, catalog.StateNotInstalled), in(b, catalog.StateInstalled)}, false, t1))
	must(t, "SetStatuses of client2", s.SetStatuses(c, client2, []catalog.UpdateStatus{in(a, catalog.StateFailed)}, true, t1))
	check(t, "statuses after the first report", statuses(t, s, client1), map[uuid.UUID]catalog.UpdateStatus{
		a: st(a, catalog.StateNotInstalled, t1), b: st(b, catalog.StateInstalled, t1)})

	// Merge: A changes, C is new, B is left alone.
	must(t, "SetStatuses merge", s.SetStatuses(c, client1, []catalog.UpdateStatus{in(a, catalog.StateDownloaded), in(cc, catalog.StateNotApplicable)}, false, t2))
	check(t, "statuses after a merge", statuses(t, s, client1), map[uuid.UUID]catalog.UpdateStatus{
		a: st(a, catalog.StateDownloaded, t2), b: st(b, catalog.StateInstalled, t1), cc: st(cc, catalog.StateNotApplicable, t2)})

	// The same states again keep their ChangedAt.
	must(t, "SetStatuses unchanged", s.SetStatuses(c, client1, []catalog.UpdateStatus{in(a, catalog.StateDownloaded), in(b, catalog.StateInstalled)}, false, t3))
	check(t, "statuses after an unchanged report", statuses(t, s, client1), map[uuid.UUID]catalog.UpdateStatus{
		a: st(a, catalog.StateDownloaded, t2), b: st(b, catalog.StateInstalled, t1), cc: st(cc, catalog.StateNotApplicable, t2)})

	// Replace: only B (unchanged) and D (new, with its own ChangedAt) remain.
	dChanged := date("2026-10-04T17:59:59.999999Z")
	must(t, "SetStatuses replace", s.SetStatuses(c, client1, []catalog.UpdateStatus{
		in(b, catalog.StateInstalled), {UpdateID: d, State: catalog.StateInstalledPendingReboot, ChangedAt: dChanged}}, true, t4))
	check(t, "statuses after a full report", statuses(t, s, client1), map[uuid.UUID]catalog.UpdateStatus{
		b: st(b, catalog.StateInstalled, t1), d: st(d, catalog.StateInstalledPendingReboot, dChanged)})
	check(t, "LastStatusTime", computer(t, s, client1).LastStatusTime, t4)

	// The other computer is untouched.
	check(t, "statuses of client2", statuses(t, s, client2), map[uuid.UUID]catalog.UpdateStatus{
		a: {ClientID: client2, UpdateID: a, State: catalog.StateFailed, ChangedAt: t1}})
}

// testUnknownComputer pins a choice the contract leaves open: updating a
// computer never authorized nor registered is an error wrapping
// catalog.ErrNotFound, and nothing is stored.
func testUnknownComputer(t *testing.T, s catalog.Store) {
	c := ctx(t)
	at := date("2026-10-04T15:00:00Z")
	_, err := s.Computer(c, client3)
	mustNotFound(t, "Computer", err)
	mustNotFound(t, "RecordSync", s.RecordSync(c, client3, at))
	_, err = s.StoreEvents(c, client3, events147(), at)
	mustNotFound(t, "StoreEvents", err)
	mustNotFound(t, "SetStatuses", s.SetStatuses(c, client3, []catalog.UpdateStatus{{UpdateID: idAMEngine, State: catalog.StateInstalled}}, true, at))
	check(t, "events stored for an unknown computer", len(events(t, s, client3)), 0)
	check(t, "statuses stored for an unknown computer", len(statuses(t, s, client3)), 0)
	list, err := s.Computers(c)
	must(t, "Computers", err)
	check(t, "computers", len(list), 0)
}

func testServerInfo(t *testing.T, s catalog.Store) {
	first, err := s.ServerInfo(ctx(t))
	must(t, "ServerInfo", err)
	if first.ID == uuid.Nil {
		t.Errorf("ServerInfo ID is nil")
	}
	if first.ConfigChanged.IsZero() || first.ConfigChanged.Location() != time.UTC ||
		!first.ConfigChanged.Equal(first.ConfigChanged.Truncate(time.Millisecond)) {
		t.Errorf("ConfigChanged %v: want a UTC time in whole milliseconds", first.ConfigChanged)
	}
	again, err := s.ServerInfo(ctx(t))
	must(t, "ServerInfo again", err)
	check(t, "ServerInfo on a second call", again, first)
}
