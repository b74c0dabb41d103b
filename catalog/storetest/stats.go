package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// statsTests cover catalog.StatsStore, which every store of this
// repository implements.
var statsTests = []test{
	{"Stats", testStats},
}

func stats(t *testing.T, s catalog.Store, since ...time.Time) catalog.Stats {
	t.Helper()
	ss, ok := s.(catalog.StatsStore)
	if !ok {
		t.Fatalf("%T does not implement catalog.StatsStore", s)
	}
	st, err := ss.Stats(ctx(t), since)
	must(t, "Stats", err)
	return st
}

// testStats checks every count of Stats on an empty store and after
// imports, approvals, a decline, computers heard from at different times and
// sync runs; a computer's last contact is the later of LastSync and
// LastReport.
func testStats(t *testing.T, s catalog.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	day, week := now.Add(-24*time.Hour), now.Add(-7*24*time.Hour)
	check(t, "Stats of an empty store", stats(t, s, day, week), catalog.Stats{
		ContactedSince: []int{0, 0}, SyncRuns: map[catalog.SyncRunState]int{}})

	revs := fixtureCatalog()
	updates := map[uuid.UUID]bool{}
	for _, r := range revs {
		updates[r.UpdateID] = true
	}
	importRevs(t, s, revs)
	// A second revision of one update: one more revision, no more updates.
	again := *revs[fxAMEngine]
	again.RevisionNumber++
	again.Title += " (revised)"
	importRevs(t, s, []*catalog.Revision{&again})

	for _, a := range []catalog.Approval{
		{UpdateID: idEngineBundle, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall},
		{UpdateID: idEngineBundle, GroupID: catalog.UnassignedComputersGroupID, Action: catalog.ActionInstall},
		{UpdateID: idAMEngine, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall},
	} {
		setApproval(t, s, a)
	}
	must(t, "SetDeclined", s.SetDeclined(ctx(t), idAMEngine, true))

	c := ctx(t)
	// client1 scanned two hours ago; client2 scanned ten days ago and
	// reported three days ago; client3 only got a cookie.
	must(t, "RecordAuthorization client1", s.RecordAuthorization(c, client1, "pc1", nil, now.Add(-30*24*time.Hour)))
	must(t, "RecordSync client1", s.RecordSync(c, client1, now.Add(-2*time.Hour)))
	must(t, "RecordAuthorization client2", s.RecordAuthorization(c, client2, "pc2", nil, now.Add(-30*24*time.Hour)))
	must(t, "RecordSync client2", s.RecordSync(c, client2, now.Add(-10*24*time.Hour)))
	_, err := s.StoreEvents(c, client2, []catalog.Event{{InstanceID: uuid.MustParse("5d0b7a3e-3c1f-4b0e-9a57-2f8e6c4d1b90"), EventID: 147}},
		now.Add(-3*24*time.Hour))
	must(t, "StoreEvents client2", err)
	must(t, "RecordAuthorization client3", s.RecordAuthorization(c, client3, "pc3", nil, now))

	done, err := s.BeginSyncRun(c, catalog.SyncRun{Trigger: "manual", Holder: "storetest"}, time.Hour)
	must(t, "BeginSyncRun", err)
	done.State = catalog.SyncSucceeded
	done, err = s.UpdateSyncRun(c, done)
	must(t, "UpdateSyncRun", err)
	_, err = s.BeginSyncRun(c, catalog.SyncRun{Trigger: "schedule", Holder: "storetest"}, time.Hour)
	must(t, "BeginSyncRun again", err)

	check(t, "Stats", stats(t, s, day, week, now.Add(-30*24*time.Hour)), catalog.Stats{
		Updates:         len(updates),
		Revisions:       len(revs) + 1,
		ApprovedUpdates: 1, // idEngineBundle, once for its two groups; idAMEngine is declined
		Computers:       3,
		ContactedSince:  []int{1, 2, 2},
		NeverContacted:  1,
		SyncRuns:        map[catalog.SyncRunState]int{catalog.SyncSucceeded: 1, catalog.SyncRunning: 1},
		LastSyncSuccess: done.Finished,
	})
	check(t, "Stats without cutoffs", stats(t, s).ContactedSince, []int{})

	ss := s.(catalog.StatsStore)
	_, err = ss.Stats(c, make([]time.Time, catalog.MaxStatsCutoffs+1))
	mustInvalid(t, "Stats with too many cutoffs", err)
	_, err = ss.Stats(c, []time.Time{{}})
	mustInvalid(t, "Stats with a zero cutoff", err)
}
