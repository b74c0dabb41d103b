// Package acceptance tests rules and rings end to end (issue 11's
// acceptance): a whole server on a real listener, simulated clients
// (clientsim) that scan, install and report what they installed, and a
// rules runner over the server's store (another replica, as far as the
// store can tell) whose clock the test moves: a ring promoted by the
// installs the clients report, a ring paused by their failures, and a
// superseded update declined once its successor is approved and installed
// where needed.
package acceptance

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/rules"
	"wsus/clientsim"
	"wsus/internal/testpg"
	"wsus/internal/testserver"
	"wsus/sync/importer"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// demoUpdate is the local update of the demo catalog (testdata/catalog),
// with a real payload the simulated clients download and "install".
var demoUpdate = uuid.MustParse("7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7")

var (
	pilotID = uuid.MustParse("55555555-5555-4555-8555-555555555555")
	broadID = uuid.MustParse("66666666-6666-4666-8666-666666666666")
)

// env is a serving server, its store and a runner with a moved clock.
type env struct {
	t      *testing.T
	base   string
	store  catalog.Store
	runner *rules.Runner
	now    time.Time
}

// eachEngine runs fn against a server on the embedded store and one on
// PostgreSQL.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			url := ""
			if engine == "postgres" {
				url = testpg.URL(t)
			}
			cfg, stores := testserver.Open(t, url)
			ctx := context.Background()
			root := filepath.Join("..", "..", "..", "testdata", "catalog")
			for _, dir := range []string{"microsoft", "local"} {
				if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, dir)}, importer.Options{}); err != nil {
					t.Fatal(err)
				}
			}
			for id, name := range map[uuid.UUID]string{pilotID: "Pilot", broadID: "Broad"} {
				if err := stores.Catalog.CreateTargetGroup(ctx, catalog.TargetGroup{ID: id, Name: name, ParentID: catalog.AllComputersGroupID}); err != nil {
					t.Fatal(err)
				}
			}
			runner, err := rules.New(rules.Config{Store: stores.Catalog, Holder: "acceptance"})
			if err != nil {
				t.Fatal(err)
			}
			view, err := stores.Catalog.UpdateView(ctx, demoUpdate)
			if err != nil {
				t.Fatal(err)
			}
			// The clock starts a day after the demo update's release.
			e := &env{t: t, base: testserver.Serve(t, cfg, stores), store: stores.Catalog, runner: runner, now: view.Released.Add(rules.Day)}
			fn(t, e)
		})
	}
}

// agent is a simulated computer, registered and placed in group.
func (e *env) agent(group uuid.UUID, plan clientsim.InstallPlan) *clientsim.Agent {
	e.t.Helper()
	a, err := clientsim.NewAgent(clientsim.Config{ServerURL: e.base, Install: plan})
	if err != nil {
		e.t.Fatal(err)
	}
	// The first scan registers the computer; nothing is approved yet.
	if _, err := a.Scan(context.Background(), clientsim.ScanOptions{Report: true}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.SetComputerGroups(context.Background(), a.ClientID(), []uuid.UUID{group}); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// install has a runs a scan that installs what is approved for it and
// reports the outcome.
func (e *env) install(a *clientsim.Agent) clientsim.ScanResult {
	e.t.Helper()
	res, err := a.Scan(context.Background(), clientsim.ScanOptions{Install: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) run(days int) rules.Report {
	e.t.Helper()
	e.now = e.now.Add(time.Duration(days) * rules.Day)
	rep, err := e.runner.Run(context.Background(), e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(rep.Errors) > 0 || rep.Skipped != "" {
		e.t.Fatalf("run: %+v", rep)
	}
	return rep
}

func (e *env) approved(update, group uuid.UUID) (catalog.Approval, bool) {
	e.t.Helper()
	all, err := e.store.Approvals(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range all {
		if a.UpdateID == update && a.GroupID == group {
			return a, true
		}
	}
	return catalog.Approval{}, false
}

func (e *env) audit(actor, action string) []catalog.AuditEntry {
	e.t.Helper()
	entries, err := e.store.Audit(context.Background(), catalog.AuditFilter{Actor: actor, Action: action})
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

func (e *env) state(a *clientsim.Agent, update uuid.UUID) catalog.InstallState {
	e.t.Helper()
	sts, err := e.store.Statuses(context.Background(), a.ClientID())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, st := range sts {
		if st.UpdateID == update {
			return st.State
		}
	}
	return catalog.StateUnknown
}

// pipeline stores a rule for every update with a pilot ring (at once) and
// a broad ring two days after the pilot, gated on 100% installed, two
// installs and no failures.
func (e *env) pipeline() {
	e.t.Helper()
	ctx := context.Background()
	rule := catalog.ApprovalRule{ID: uuid.New(), Name: "Everything", Enabled: true}
	if _, err := e.store.PutApprovalRule(ctx, rule); err != nil {
		e.t.Fatal(err)
	}
	zero := 0.0
	for _, r := range []catalog.Ring{
		{ID: uuid.New(), RuleID: rule.ID, Name: "Pilot", Position: 1, Group: pilotID},
		{ID: uuid.New(), RuleID: rule.ID, Name: "Broad", Position: 2, Group: broadID, DelayDays: 2, DelayFrom: catalog.DelayFromPrevious,
			Gate: &catalog.RingGate{MinInstalledPercent: 100, MinInstalls: 2, MaxFailedPercent: &zero}},
	} {
		if _, err := e.store.PutRing(ctx, r); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestRingPromotedByReportedInstalls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.pipeline()
		p1, p2 := e.agent(pilotID, clientsim.InstallPlan{}), e.agent(pilotID, clientsim.InstallPlan{})
		b1 := e.agent(broadID, clientsim.InstallPlan{})

		e.run(0)
		if a, ok := e.approved(demoUpdate, pilotID); !ok || a.By != "ring:Pilot" {
			t.Fatalf("the pilot ring did not approve the demo update: %+v", a)
		}
		if _, ok := e.approved(demoUpdate, broadID); ok {
			t.Fatal("the broad ring approved at once")
		}
		// The broad computer is offered nothing; the pilots install.
		if res := e.install(b1); res.Installed != 0 {
			t.Fatalf("the broad computer installed %d before its ring approved", res.Installed)
		}
		if res := e.install(p1); res.Installed != 1 {
			t.Fatalf("pilot 1 installed %d updates, want 1", res.Installed)
		}
		// Two days on, one pilot installed of two that need it: the gate
		// (100%, 2 installs) holds the broad ring.
		rep := e.run(2)
		if _, ok := e.approved(demoUpdate, broadID); ok {
			t.Fatalf("broad approved with one install of two: %+v", rep)
		}
		waits := false
		for _, w := range rep.Waiting {
			waits = waits || (w.Source == "ring:Broad" && w.UpdateID == demoUpdate && strings.Contains(w.Reason, "1 of 2 required installs"))
		}
		if !waits {
			t.Errorf("no broad wait on installs in %+v", rep.Waiting)
		}
		if res := e.install(p2); res.Installed != 1 {
			t.Fatalf("pilot 2 installed %d updates, want 1", res.Installed)
		}
		if got := e.state(p2, demoUpdate); got != catalog.StateInstalled {
			t.Fatalf("pilot 2's reported state %v", got)
		}
		// Both pilots reported the install: the broad ring approves, and
		// the broad computer installs.
		e.run(0)
		a, ok := e.approved(demoUpdate, broadID)
		if !ok || a.By != "ring:Broad" || a.Action != catalog.ActionInstall {
			t.Fatalf("broad approval after the installs: %+v", a)
		}
		if res := e.install(b1); res.Installed != 1 {
			t.Fatalf("the broad computer installed %d, want 1", res.Installed)
		}
		entries := e.audit("ring:Broad", "approval.set")
		if len(entries) != 1 || entries[0].Target != demoUpdate.String() || !strings.Contains(string(entries[0].After), "gate held: 2 of 2 installed") {
			t.Fatalf("the broad ring's audit entries: %+v", entries)
		}
		if n := len(e.audit("ring:Pilot", "approval.set")); n == 0 {
			t.Error("no audit entry of the pilot ring")
		}
	})
}

func TestRingPausedByReportedFailures(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.pipeline()
		p1 := e.agent(pilotID, clientsim.InstallPlan{})
		p2 := e.agent(pilotID, clientsim.InstallPlan{Fail: map[string]clientsim.HResult{demoUpdate.String(): 0}})
		e.run(0)
		e.install(p1)
		if res := e.install(p2); res.InstallsFailed != 1 {
			t.Fatalf("pilot 2's install failed %d times, want 1", res.InstallsFailed)
		}
		rep := e.run(2)
		if len(rep.Paused) != 1 || !strings.HasPrefix(rep.Paused[0].Reason, "paused: 1 of 2 computers (50%) failed ") ||
			!strings.HasSuffix(rep.Paused[0].Reason, " in ring Pilot, above 0%") {
			t.Fatalf("paused %+v", rep.Paused)
		}
		if _, ok := e.approved(demoUpdate, broadID); ok {
			t.Fatal("the broad ring approved despite the failure")
		}
		rings, err := e.store.Rings(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rings {
			if r.Name == "Broad" && (r.State.Paused != rep.Paused[0].Reason || r.State.PausedUpdate != demoUpdate) {
				t.Errorf("stored broad ring %+v", r)
			}
		}
		if entries := e.audit("ring:Broad", "ring.pause"); len(entries) != 1 {
			t.Errorf("audit of the pause: %+v", entries)
		}
		// Paused it stays, however long, until an admin resumes it.
		if rep := e.run(30); len(rep.Approved)+len(rep.Paused) != 0 {
			t.Fatalf("a run while paused did %+v", rep)
		}
	})
}

func TestSupersededAutoDecline(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// The demo update approved by hand for everyone; two computers, one
		// installs it, the other only reports it needed.
		if _, err := e.store.SetApproval(ctx, catalog.Approval{UpdateID: demoUpdate, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall, By: "admin"}); err != nil {
			t.Fatal(err)
		}
		p1, p2 := e.agent(pilotID, clientsim.InstallPlan{}), e.agent(pilotID, clientsim.InstallPlan{})
		e.install(p1)
		if _, err := p2.Scan(ctx, clientsim.ScanOptions{Download: true, Report: true}); err != nil {
			t.Fatal(err)
		}
		if got := e.state(p2, demoUpdate); got != catalog.StateNotInstalled {
			t.Fatalf("computer 2 reports %v, want NotInstalled", got)
		}
		// A newer update supersedes it, approved at once.
		newer := uuid.New()
		rev := &catalog.Revision{Identity: catalog.Identity{UpdateID: newer, RevisionNumber: 100}, Type: catalog.TypeSoftware,
			Title: "Demo update, second edition", KBArticleID: "9990002", PublicationState: "Published", CreationDate: e.now,
			SupersededUpdates: []uuid.UUID{demoUpdate},
			CoreXML:           `<UpdateIdentity UpdateID="` + newer.String() + `" RevisionNumber="100" />`,
			SourceXML:         `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`}
		if _, err := e.store.ImportRevisions(ctx, []*catalog.Revision{rev}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.SetAutoDecline(ctx, catalog.AutoDecline{Superseded: true, SupersededGraceDays: 7}); err != nil {
			t.Fatal(err)
		}
		approvedAt := e.now
		if _, err := e.store.SetApproval(ctx, catalog.Approval{UpdateID: newer, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall, By: "admin", ChangedAt: approvedAt}); err != nil {
			t.Fatal(err)
		}
		a, _ := e.approved(newer, catalog.AllComputersGroupID)
		e.now = a.ChangedAt // the store's clock set the approval's time
		// Computer 2 still needs the old update: never declined, whatever
		// the grace.
		rep := e.run(30)
		if len(rep.Declined) != 0 {
			t.Fatalf("declined an update a computer needs: %+v", rep.Declined)
		}
		// Computer 2 installs it; seven days after the successor's approval
		// the old update is declined, not a second before.
		e.install(p2)
		e.now = a.ChangedAt.Add(7*rules.Day - time.Second)
		if rep := e.run(0); len(rep.Declined) != 0 {
			t.Fatalf("declined within the grace: %+v", rep.Declined)
		}
		rep = e.run(0)
		e.now = e.now.Add(time.Second)
		rep = e.run(0)
		if len(rep.Declined) != 1 || rep.Declined[0].UpdateID != demoUpdate {
			t.Fatalf("declined %+v, want the demo update", rep.Declined)
		}
		states, err := e.store.UpdateStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		declined := false
		for _, st := range states {
			declined = declined || (st.UpdateID == demoUpdate && st.Declined)
		}
		if !declined {
			t.Fatal("the store does not hold the decline")
		}
		entries := e.audit(rules.AutoDeclineActor, "update.decline")
		if len(entries) != 1 || entries[0].Target != demoUpdate.String() || !strings.Contains(string(entries[0].Before), `"declined":false`) ||
			!strings.Contains(string(entries[0].After), "superseded by KB9990002") {
			t.Fatalf("audit of the decline: %+v", entries)
		}
		// An admin un-declines it: the next run leaves it alone.
		if err := e.store.SetDeclined(ctx, demoUpdate, false); err != nil {
			t.Fatal(err)
		}
		if rep := e.run(1); len(rep.Declined) != 0 {
			t.Fatalf("declined again after an admin un-declined it: %+v", rep.Declined)
		}
	})
}

// TestServerRunsRulesOnDemand: the server wires its runner into the admin
// API: POST /api/v1/rules/run runs the rules there and answers what it did.
func TestServerRunsRulesOnDemand(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.store.PutApprovalRule(ctx, catalog.ApprovalRule{ID: uuid.New(), Name: "Everything", Enabled: true,
			Groups: []uuid.UUID{pilotID}}); err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, e.base+"/api/v1/rules/run", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer test-token") // testserver's admin token
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep rules.Report
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v1/rules/run: %d, %v", resp.StatusCode, err)
		}
		if a, ok := e.approved(demoUpdate, pilotID); !ok || a.By != "rule:Everything" || len(rep.Approved) == 0 {
			t.Fatalf("after the run: approval %+v, report %+v", a, rep)
		}
		if entries := e.audit("bootstrap", "rules.run"); len(entries) != 1 {
			t.Errorf("audit of the run: %+v", entries)
		}
	})
}
