package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// testReports checks StoreReport: the status changes of new events apply,
// those of events stored before do not, and LastStatusTime moves only when
// a change applied.
func testReports(t *testing.T, s catalog.Store) {
	c := ctx(t)
	t1 := date("2026-10-04T15:00:00Z")
	t2 := date("2026-10-04T16:00:00Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1", nil, t1))
	evs := events147()
	in := func(id uuid.UUID, state catalog.InstallState) catalog.UpdateStatus {
		return catalog.UpdateStatus{UpdateID: id, State: state, ChangedAt: t1}
	}
	report := catalog.Report{ClientID: client1, Events: evs, At: t1, Changes: []catalog.StatusChange{
		{Event: evs[0].InstanceID, Replace: true, Statuses: []catalog.UpdateStatus{
			in(idAMEngine, catalog.StateNotInstalled), in(idOOBEZDP, catalog.StateNotApplicable)}},
		{Event: evs[2].InstanceID, Statuses: []catalog.UpdateStatus{in(idRollupFix, catalog.StateInstalled)}},
	}}
	n, err := s.StoreReport(c, report)
	must(t, "StoreReport", err)
	check(t, "new events", n, 3)
	want := map[uuid.UUID]catalog.UpdateStatus{
		idAMEngine:  {ClientID: client1, UpdateID: idAMEngine, State: catalog.StateNotInstalled, ChangedAt: t1},
		idOOBEZDP:   {ClientID: client1, UpdateID: idOOBEZDP, State: catalog.StateNotApplicable, ChangedAt: t1},
		idRollupFix: {ClientID: client1, UpdateID: idRollupFix, State: catalog.StateInstalled, ChangedAt: t1},
	}
	check(t, "statuses after a report", statuses(t, s, client1), want)
	check(t, "LastReport", computer(t, s, client1).LastReport, t1)
	check(t, "LastStatusTime", computer(t, s, client1).LastStatusTime, t1)

	// The same report again (a retry) stores nothing and changes nothing,
	// even though its changes now differ.
	must(t, "SetStatuses", s.SetStatuses(c, client1, []catalog.UpdateStatus{in(idAMEngine, catalog.StateInstalled)}, false, t2))
	want[idAMEngine] = catalog.UpdateStatus{ClientID: client1, UpdateID: idAMEngine, State: catalog.StateInstalled, ChangedAt: t1}
	n, err = s.StoreReport(c, report)
	must(t, "StoreReport again", err)
	check(t, "new events of a retried report", n, 0)
	check(t, "statuses after a retried report", statuses(t, s, client1), want)
	check(t, "LastReport after a retry", computer(t, s, client1).LastReport, t1)

	// A report of an unknown computer stores nothing.
	_, err = s.StoreReport(c, catalog.Report{ClientID: client3, Events: evs[:1], At: t1})
	mustNotFound(t, "StoreReport of an unknown computer", err)
}

// testReportAtomic checks that a report refused as a whole stores none of
// its events: a client retrying it later gets its statuses derived.
func testReportAtomic(t *testing.T, s catalog.Store) {
	c := ctx(t)
	t1 := date("2026-10-04T15:00:00Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1", nil, t1))
	evs := events147()
	bad := catalog.Report{ClientID: client1, Events: evs, At: t1, Changes: []catalog.StatusChange{
		{Event: evs[0].InstanceID, Statuses: []catalog.UpdateStatus{{UpdateID: idAMEngine, State: catalog.InstallState(99)}}},
	}}
	if _, err := s.StoreReport(c, bad); err == nil {
		t.Fatal("StoreReport with an unknown state: no error")
	}
	check(t, "events stored by a refused report", len(events(t, s, client1)), 0)
	bad.Changes[0].Statuses[0].State = catalog.StateFailed
	n, err := s.StoreReport(c, bad)
	must(t, "StoreReport retried", err)
	check(t, "new events of the retried report", n, 3)
	check(t, "status derived by the retry", statuses(t, s, client1)[idAMEngine].State, catalog.StateFailed)

	// Client text PostgreSQL cannot hold is refused by every store alike.
	nul := catalog.Event{InstanceID: uuid.MustParse("3b5d7f91-2c4e-4a6b-8d0f-1e3a5c7e9b2d"), EventID: 147,
		TimeAtTarget: t1, AppName: "a\x00b"}
	if _, err := s.StoreReport(c, catalog.Report{ClientID: client1, Events: []catalog.Event{nul}, At: t1}); err == nil {
		t.Error("StoreReport of an AppName with a NUL: no error")
	}
}

// testCountEvents checks the per-computer count the event budget reads.
func testCountEvents(t *testing.T, s catalog.Store) {
	c := ctx(t)
	t1 := date("2026-10-04T15:00:00Z")
	t2 := t1.Add(25 * time.Hour)
	for _, id := range []string{client1, client2} {
		must(t, "RecordAuthorization", s.RecordAuthorization(c, id, id, nil, t1))
	}
	evs := events147()
	storeEvents(t, s, client1, evs[:2], t1)
	storeEvents(t, s, client1, evs[2:], t2)
	other := catalog.Event{InstanceID: uuid.MustParse("2a4c6e8f-0b1d-4f3a-9c5e-7d9f1b3d5a7c"), EventID: 147, TimeAtTarget: t1}
	storeEvents(t, s, client2, []catalog.Event{other}, t2)
	for _, tc := range []struct {
		client string
		since  time.Time
		want   int
	}{
		{client1, t1, 3},
		{client1, t1.Add(time.Microsecond), 1},
		{client1, t2, 1},
		{client1, t2.Add(time.Second), 0},
		{client2, t1, 1},
		{client3, t1, 0},
	} {
		n, err := s.CountEvents(c, tc.client, tc.since)
		must(t, "CountEvents", err)
		check(t, "CountEvents("+tc.client+", "+tc.since.Format(time.RFC3339Nano)+")", n, tc.want)
	}
}
