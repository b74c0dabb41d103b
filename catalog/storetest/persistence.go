package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// testConcurrentWriters runs importers, approvers, event writers, group
// creators and readers at once: none may fail (no SQLITE_BUSY, no
// serialization error leaking out), and every write must land.
func testConcurrentWriters(t *testing.T, s catalog.Store) {
	const workers, rounds, batch = 4, 6, 5
	importRevs(t, s, fixtureCatalog())
	approvable := []uuid.UUID{idEngineBundle, idAMEngine, idRollupFix, idDefender}
	clients := make([]string, workers)
	for w := range clients {
		clients[w] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("concurrency-client-%d", w))).String()
		must(t, "RecordAuthorization", s.RecordAuthorization(ctx(t), clients[w], fmt.Sprintf("pc%d", w), nil, date("2026-10-04T15:00:00Z")))
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*8)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx(t)
			for r := 0; r < rounds; r++ {
				if _, err := s.ImportRevisions(c, Synthetic(batch, fmt.Sprintf("concurrency-%d-%d", w, r))); err != nil {
					errs <- fmt.Errorf("worker %d round %d: import: %w", w, r, err)
				}
				a := catalog.Approval{UpdateID: approvable[(w+r)%len(approvable)], GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall}
				if _, err := s.SetApproval(c, a); err != nil {
					errs <- fmt.Errorf("worker %d round %d: approve: %w", w, r, err)
				}
				if err := s.SetDeclined(c, approvable[(w+r+1)%len(approvable)], r%2 == 0); err != nil {
					errs <- fmt.Errorf("worker %d round %d: decline: %w", w, r, err)
				}
				ev := catalog.Event{InstanceID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("concurrency-event-%d-%d", w, r))),
					EventID: 147, SourceID: 101, TimeAtTarget: date("2026-10-04T15:00:00Z")}
				if _, err := s.StoreEvents(c, clients[w], []catalog.Event{ev}, date("2026-10-04T15:00:01Z")); err != nil {
					errs <- fmt.Errorf("worker %d round %d: events: %w", w, r, err)
				}
				g := catalog.TargetGroup{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("concurrency-group-%d-%d", w, r))),
					Name: fmt.Sprintf("Group %d-%d", w, r), ParentID: catalog.AllComputersGroupID}
				if err := s.CreateTargetGroup(c, g); err != nil {
					errs <- fmt.Errorf("worker %d round %d: group: %w", w, r, err)
				}
				if err := s.SetComputerGroups(c, clients[w], []uuid.UUID{g.ID, catalog.AllComputersGroupID}); err != nil {
					errs <- fmt.Errorf("worker %d round %d: computer groups: %w", w, r, err)
				}
				if _, err := s.Summaries(c); err != nil {
					errs <- fmt.Errorf("worker %d round %d: summaries: %w", w, r, err)
				}
				if _, err := s.ServerInfo(c); err != nil {
					errs <- fmt.Errorf("worker %d round %d: server info: %w", w, r, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	sums := summaries(t, s)
	if want := fxCount + workers*rounds*batch; len(sums) != want {
		t.Errorf("got %d revisions, want %d", len(sums), want)
	}
	seen := map[int32]bool{}
	for _, sm := range sums {
		if seen[sm.ID] {
			t.Errorf("revision ID %d handed out twice", sm.ID)
		}
		seen[sm.ID] = true
	}
	for _, c := range clients {
		if n := len(events(t, s, c)); n != rounds {
			t.Errorf("client %s has %d events, want %d", c, n, rounds)
		}
	}
	if n := len(targetGroups(t, s)); n != len(builtinGroups)+workers*rounds {
		t.Errorf("got %d target groups, want %d", n, len(builtinGroups)+workers*rounds)
	}
	if n := len(approvals(t, s)); n != len(approvable) {
		t.Errorf("got %d approvals, want %d", n, len(approvable))
	}
	// Every approvable update was approved; the declines raced, so only
	// the set of states is known.
	states := updateStates(t, s)
	for _, id := range approvable {
		if _, ok := states[id]; !ok {
			t.Errorf("update %s has no state", id)
		}
	}
	// Each computer ends in its last round's group.
	for w, id := range clients {
		last := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("concurrency-group-%d-%d", w, rounds-1)))
		want := []uuid.UUID{last, catalog.AllComputersGroupID}
		if last.String() > catalog.AllComputersGroupID.String() {
			want = []uuid.UUID{catalog.AllComputersGroupID, last}
		}
		check(t, "groups of "+id, computer(t, s, id).Groups, want)
	}
}

// snapshot is everything the Store reads back, for comparing across a reopen.
type snapshot struct {
	Info      catalog.ServerInfo
	Seq       int64
	Summaries []catalog.Summary
	Revisions []*catalog.Revision
	Groups    []catalog.TargetGroup
	Approvals map[[2]uuid.UUID]catalog.Approval
	Computers []catalog.Computer
	// Computer1 is client1 as Computer reads it (with its Hardware).
	Computer1 catalog.Computer
	States    map[uuid.UUID]catalog.UpdateState
	Events    []catalog.Event
	Statuses  map[uuid.UUID]catalog.UpdateStatus
}

func takeSnapshot(t *testing.T, s catalog.Store) snapshot {
	t.Helper()
	info, err := s.ServerInfo(ctx(t))
	must(t, "ServerInfo", err)
	sn := snapshot{Info: info, Seq: changeSeq(t, s), Summaries: summaries(t, s), Groups: targetGroups(t, s),
		Approvals: approvals(t, s), Computers: computers(t, s), States: updateStates(t, s),
		Events: events(t, s, client1), Statuses: statuses(t, s, client1)}
	if c, err := s.Computer(ctx(t), client1); err == nil {
		sn.Computer1 = normComputer(c)
	}
	for _, sm := range sn.Summaries {
		r, err := s.Revision(ctx(t), sm.ID)
		must(t, "Revision", err)
		sn.Revisions = append(sn.Revisions, normRevision(r))
	}
	return sn
}

func testReopen(t *testing.T, s catalog.Store, reopen func(catalog.Store) catalog.Store) {
	c := ctx(t)
	revs := fixtureCatalog()
	importRevs(t, s, revs)
	must(t, "CreateTargetGroup", s.CreateTargetGroup(c, groupServers))
	setApproval(t, s, catalog.Approval{UpdateID: idEngineBundle, GroupID: groupServers.ID, Action: catalog.ActionInstall,
		Deadline: date("2026-10-10T03:00:00Z"), By: "admin"})
	// An approval replaced then removed: its IDs must not come back.
	setApproval(t, s, catalog.Approval{UpdateID: idAMEngine, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall})
	last := setApproval(t, s, catalog.Approval{UpdateID: idAMEngine, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionUninstall})
	setApproval(t, s, catalog.Approval{UpdateID: idAMEngine, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved})
	setApproval(t, s, catalog.Approval{UpdateID: idRollupFix, GroupID: catalog.UnassignedComputersGroupID,
		Action: catalog.ActionOptionalInstall, ChangedAt: date("2026-10-03T11:00:00.000001Z"), By: "admin"})
	must(t, "SetDeclined", s.SetDeclined(c, idRollupFix, true))
	must(t, "SetDeclined", s.SetDeclined(c, idOOBEZDP, true))
	must(t, "SetDeclined false", s.SetDeclined(c, idOOBEZDP, false))
	at := date("2026-10-04T15:20:47.397Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1.contoso.local", []string{"Servers"}, at))
	reg := registration()
	reg.Info = captureInfo()
	must(t, "RegisterComputer", s.RegisterComputer(c, reg))
	must(t, "RecordHardware", s.RecordHardware(c, client1, captureHardware()))
	must(t, "RecordSync", s.RecordSync(c, client1, at))
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client2, "pc2.contoso.local", nil, at))
	must(t, "SetComputerGroups", s.SetComputerGroups(c, client1, []uuid.UUID{catalog.UnassignedComputersGroupID, groupServers.ID}))
	storeEvents(t, s, client1, events147(), at)
	must(t, "SetStatuses", s.SetStatuses(c, client1, []catalog.UpdateStatus{{UpdateID: idAMEngine, State: catalog.StateInstalled}}, true, at))

	before := takeSnapshot(t, s)
	// The snapshot must hold what the test stored, or comparing it proves
	// nothing.
	if st := before.States[idRollupFix]; !st.Declined || len(before.States) != 4 {
		t.Errorf("update states before the reopen: %+v, want 4 with %s declined", before.States, idRollupFix)
	}
	if len(before.Computers) != 2 || len(before.Computers[0].Groups) != 2 || before.Computers[0].Info == nil ||
		before.Computer1.Hardware == nil {
		t.Errorf("computers before the reopen: %+v, want pc1.contoso.local in 2 groups with its inventory and pc2", before.Computers)
	}
	s = reopen(s)
	check(t, "state after reopen", takeSnapshot(t, s), before)

	// IDs continue after the reopen, never reusing one.
	more := Synthetic(2, "after-reopen")
	importRevs(t, s, more)
	if more[0].ID <= revs[fxCount-1].ID {
		t.Errorf("revision imported after reopen got ID %d, want more than %d", more[0].ID, revs[fxCount-1].ID)
	}
	a := setApproval(t, s, catalog.Approval{UpdateID: idAMEngine, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall})
	if a.ID <= last.ID {
		t.Errorf("approval set after reopen got deployment ID %d, want more than %d", a.ID, last.ID)
	}
	// Re-importing the old catalog after the reopen changes nothing.
	res := importRevs(t, s, fixtureCatalog())
	check(t, "re-import after reopen", res, catalog.ImportResult{Unchanged: fxCount})
}
