// Package rulestest tests the admin API's approval rules, rings and
// automatic declines through a real listener on both engines (the embedded
// store and PostgreSQL), with a rules runner whose clock the test moves.
package rulestest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/postgres"
	"wsus/catalog/rules"
	"wsus/catalog/sqlite"
	"wsus/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

const bootstrapToken = "bootstrap-admin-token"

var (
	productID = uuid.MustParse("a0000000-0000-4000-8000-0000000000a1")
	classID   = uuid.MustParse("a0000000-0000-4000-8000-0000000000c1")
	upd1      = uuid.MustParse("11111111-1111-4111-8111-111111111111") // KB5031356
	upd2      = uuid.MustParse("22222222-2222-4222-8222-222222222222") // KB5031357, a day later
	pilotID   = uuid.MustParse("55555555-5555-4555-8555-555555555555")
	broadID   = uuid.MustParse("66666666-6666-4666-8666-666666666666")
	t0        = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
)

// pilots are in Pilot, broad1 in Broad.
var pilots = []string{"0f6a2b4c-0000-4000-8000-0000000000a1", "0f6a2b4c-0000-4000-8000-0000000000a2", "0f6a2b4c-0000-4000-8000-0000000000a3"}

const broad1 = "0f6a2b4c-0000-4000-8000-0000000000b1"

// clock is the runner's time, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) get() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clockRunner runs the rules at the test's time, whatever time the
// handler passes.
type clockRunner struct {
	r *rules.Runner
	c *clock
}

func (cr clockRunner) Run(ctx context.Context, _ time.Time) (rules.Report, error) {
	return cr.r.Run(ctx, cr.c.get())
}

func (cr clockRunner) Plan(ctx context.Context, _ time.Time) (rules.Report, error) {
	return cr.r.Plan(ctx, cr.c.get())
}

type server struct {
	t     *testing.T
	store catalog.Store
	srv   *httptest.Server
	clock *clock
}

func revision(id uuid.UUID, rev int32, typ catalog.UpdateType, title string, created time.Time) *catalog.Revision {
	return &catalog.Revision{
		Identity: catalog.Identity{UpdateID: id, RevisionNumber: rev}, Type: typ, Title: title,
		PublicationState: "Published", CreationDate: created,
		CoreXML:   `<UpdateIdentity UpdateID="` + id.String() + `" />`,
		SourceXML: `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`,
		Localized: map[string]string{"en": "<LocalizedProperties><Language>en</Language><Title>" + title + "</Title></LocalizedProperties>"},
	}
}

// eachEngine runs fn on a fresh server per engine.
func eachEngine(t *testing.T, fn func(t *testing.T, s *server)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var store catalog.Store
			var err error
			if engine == "sqlite" {
				store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
			} else {
				store, err = postgres.Open(ctx, testpg.URL(t))
			}
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			t.Cleanup(func() { store.Close() })
			populate(t, store)
			c := &clock{now: t0}
			runner, err := rules.New(rules.Config{Store: store, Holder: "test"})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(admin.NewWith(store, admin.Options{Token: bootstrapToken, FailureLimit: 1 << 20, Rules: clockRunner{runner, c}}))
			t.Cleanup(srv.Close)
			fn(t, &server{t: t, store: store, srv: srv, clock: c})
		})
	}
}

func populate(t *testing.T, store catalog.Store) {
	ctx := context.Background()
	prod := revision(productID, 100, catalog.TypeCategory, "Windows 11", t0)
	prod.CategoryType = catalog.CategoryProduct
	class := revision(classID, 101, catalog.TypeCategory, "Security Updates", t0)
	class.CategoryType = catalog.CategoryClassification
	cats := []catalog.PrerequisiteClause{{IsCategory: true, UpdateIDs: []uuid.UUID{productID}}, {IsCategory: true, UpdateIDs: []uuid.UUID{classID}}}
	u1 := revision(upd1, 200, catalog.TypeSoftware, "2026-03 Cumulative Update for Windows 11 for x64-based Systems", t0)
	u1.KBArticleID, u1.Prerequisites = "5031356", cats
	u2 := revision(upd2, 201, catalog.TypeSoftware, "2026-03 Security Update for Windows 11 for x64-based Systems", t0.Add(24*time.Hour))
	u2.KBArticleID, u2.Prerequisites = "5031357", cats
	if _, err := store.ImportRevisions(ctx, []*catalog.Revision{prod, class, u1, u2}); err != nil {
		t.Fatalf("import: %v", err)
	}
	for id, name := range map[uuid.UUID]string{pilotID: "Pilot", broadID: "Broad"} {
		if err := store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: id, Name: name, ParentID: catalog.AllComputersGroupID}); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range append(append([]string{}, pilots...), broad1) {
		if err := store.RecordAuthorization(ctx, id, fmt.Sprintf("pc%d.contoso.test", i), nil, t0); err != nil {
			t.Fatal(err)
		}
		group := pilotID
		if id == broad1 {
			group = broadID
		}
		if err := store.SetComputerGroups(ctx, id, []uuid.UUID{group}); err != nil {
			t.Fatal(err)
		}
	}
}

type answer struct {
	status int
	body   []byte
}

func (s *server) do(token, method, path, body string) answer {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return answer{resp.StatusCode, b}
}

// want fails unless a has status and, for an error, the code with a
// reason; it decodes a 2xx body into v when v is not nil.
func (s *server) want(what string, a answer, status int, code string, v any) {
	s.t.Helper()
	if a.status != status {
		s.t.Fatalf("%s: status %d, want %d: %s", what, a.status, status, a.body)
	}
	if code != "" {
		var e struct{ Error, Reason string }
		if err := json.Unmarshal(a.body, &e); err != nil || e.Error != code || e.Reason == "" {
			s.t.Errorf("%s: answer %s, want error %q with a reason", what, a.body, code)
		}
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			s.t.Fatalf("%s: %v: %s", what, err, a.body)
		}
	}
}

func (s *server) token(name string, role catalog.Role) string {
	s.t.Helper()
	var tok admin.NewToken
	s.want("create token "+name, s.do(bootstrapToken, http.MethodPost, "/api/v1/tokens", fmt.Sprintf(`{"name":%q,"role":%q}`, name, role)), http.StatusCreated, "", &tok)
	return tok.Secret
}

func (s *server) audit(query string) []admin.AuditEntry {
	s.t.Helper()
	var list admin.AuditList
	s.want("audit", s.do(bootstrapToken, http.MethodGet, "/api/v1/audit"+query, ""), http.StatusOK, "", &list)
	return list.Entries
}

func (s *server) setState(client string, update uuid.UUID, st catalog.InstallState) {
	s.t.Helper()
	if err := s.store.SetStatuses(context.Background(), client, []catalog.UpdateStatus{{ClientID: client, UpdateID: update, State: st}}, false, t0); err != nil {
		s.t.Fatal(err)
	}
}

func (s *server) approvalsOf(update uuid.UUID) map[uuid.UUID]catalog.Approval {
	s.t.Helper()
	all, err := s.store.Approvals(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[uuid.UUID]catalog.Approval{}
	for _, a := range all {
		if a.UpdateID == update {
			out[a.GroupID] = a
		}
	}
	return out
}

const monthlyRule = `{"name":"Monthly","products":["Windows 11"],"classifications":["Security Updates"],"groups":[]}`

func pilotRing(rule string) string {
	return `{"name":"Pilot","rule":"` + rule + `","position":1,"group":"Pilot","delay_days":1}`
}

const broadRing = `{"name":"Broad","rule":"Monthly","position":2,"group":"Broad","delay_days":3,"delay_from":"previous",
	"gate":{"min_installed_percent":50,"min_installs":2,"max_failed_percent":25}}`

func TestRulesCRUD(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		viewer := s.token("helpdesk", catalog.RoleViewer)
		alice := s.token("alice", catalog.RoleApprover)

		s.want("viewer creates a rule", s.do(viewer, http.MethodPost, "/api/v1/rules", monthlyRule), http.StatusForbidden, "forbidden", nil)
		var rule admin.Rule
		s.want("approver creates a rule", s.do(alice, http.MethodPost, "/api/v1/rules", monthlyRule), http.StatusCreated, "", &rule)
		if rule.Name != "Monthly" || !rule.Enabled || rule.Action != "Install" || len(rule.Products) != 1 || rule.Products[0].ID != productID ||
			len(rule.Classifications) != 1 || rule.Classifications[0].Title != "Security Updates" {
			t.Errorf("created rule %+v", rule)
		}
		for _, c := range []struct{ what, body, code string }{
			{"unknown product", `{"name":"x","products":["Windows 95"]}`, "unknown_product"},
			{"unknown classification", `{"name":"x","classifications":["Bugs"]}`, "unknown_classification"},
			{"unknown group", `{"name":"x","groups":["Nowhere"]}`, "unknown_group"},
			{"bad action", `{"name":"x","action":"Uninstall"}`, "invalid_action"},
			{"negative deadline", `{"name":"x","deadline_days":-1}`, "invalid_rule"},
			{"no name", `{"name":" "}`, "invalid_name"},
			{"malformed JSON", `{"name":`, "bad_json"},
			{"unknown field", `{"name":"x","colour":"red"}`, "bad_json"},
		} {
			s.want(c.what, s.do(alice, http.MethodPost, "/api/v1/rules", c.body), http.StatusBadRequest, c.code, nil)
		}
		s.want("a taken name", s.do(alice, http.MethodPost, "/api/v1/rules", `{"name":"monthly"}`), http.StatusConflict, "conflict", nil)
		var list admin.RuleList
		s.want("viewer lists rules", s.do(viewer, http.MethodGet, "/api/v1/rules", ""), http.StatusOK, "", &list)
		if len(list.Rules) != 1 {
			t.Fatalf("refused requests stored rules: %+v", list.Rules)
		}

		var pilot, broad admin.Ring
		s.want("create ring Pilot", s.do(alice, http.MethodPost, "/api/v1/rings", pilotRing("Monthly")), http.StatusCreated, "", &pilot)
		s.want("create ring Broad", s.do(alice, http.MethodPost, "/api/v1/rings", broadRing), http.StatusCreated, "", &broad)
		if broad.GroupID != broadID || broad.RuleID != rule.ID || broad.DelayFrom != "previous" || broad.Gate == nil || *broad.Gate.MaxFailedPercent != 25 {
			t.Errorf("created ring %+v", broad)
		}
		for _, c := range []struct{ what, body, code string }{
			{"unknown rule", `{"name":"X","rule":"Weekly","position":3,"group":"Pilot"}`, "unknown_rule"},
			{"gate above 100%", `{"name":"X","rule":"Monthly","position":3,"group":"Pilot","gate":{"max_failed_percent":150}}`, "invalid_ring"},
			{"bad delay_from", `{"name":"X","rule":"Monthly","position":3,"group":"Pilot","delay_from":"tuesday"}`, "invalid_ring"},
			{"no group", `{"name":"X","rule":"Monthly","position":3}`, "unknown_group"},
		} {
			s.want(c.what, s.do(alice, http.MethodPost, "/api/v1/rings", c.body), http.StatusBadRequest, c.code, nil)
		}
		s.want("a taken position", s.do(alice, http.MethodPost, "/api/v1/rings", `{"name":"X","rule":"Monthly","position":2,"group":"Pilot"}`), http.StatusConflict, "conflict", nil)
		var rings admin.RingList
		s.want("list rings", s.do(viewer, http.MethodGet, "/api/v1/rings", ""), http.StatusOK, "", &rings)
		if len(rings.Rings) != 2 {
			t.Fatalf("refused requests stored rings: %+v", rings.Rings)
		}
		s.want("viewer changes a ring", s.do(viewer, http.MethodPut, "/api/v1/rings/Broad", broadRing), http.StatusForbidden, "forbidden", nil)
		s.want("an unknown ring", s.do(viewer, http.MethodGet, "/api/v1/rings/Nowhere", ""), http.StatusNotFound, "not_found", nil)
		s.want("an unknown rule", s.do(alice, http.MethodDelete, "/api/v1/rules/"+uuid.NewString(), ""), http.StatusNotFound, "not_found", nil)
		s.want("resume a running ring", s.do(alice, http.MethodPost, "/api/v1/rings/Broad/resume", ""), http.StatusConflict, "not_paused", nil)

		edited := strings.Replace(broadRing, `"delay_days":3`, `"delay_days":5`, 1)
		var got admin.Ring
		s.want("approver edits a ring", s.do(alice, http.MethodPut, "/api/v1/rings/"+broad.ID.String(), edited), http.StatusOK, "", &got)
		if got.DelayDays != 5 || got.ID != broad.ID {
			t.Errorf("edited ring %+v", got)
		}
		s.want("get rule by name", s.do(viewer, http.MethodGet, "/api/v1/rules/monthly", ""), http.StatusOK, "", &rule)
		if len(rule.Rings) != 2 || rule.Rings[0].Name != "Pilot" || rule.Rings[1].DelayDays != 5 {
			t.Errorf("rule's rings %+v", rule.Rings)
		}

		var ad admin.AutoDecline
		s.want("viewer sets autodecline", s.do(viewer, http.MethodPut, "/api/v1/autodecline", `{"superseded":true}`), http.StatusForbidden, "forbidden", nil)
		s.want("set autodecline", s.do(alice, http.MethodPut, "/api/v1/autodecline",
			`{"superseded":true,"superseded_grace_days":7,"architectures":["ARM64"],"languages":["JA"],"editions":["Itanium"]}`), http.StatusOK, "", &ad)
		if !ad.Superseded || ad.SupersededGraceDays != 7 || ad.Architectures[0] != "arm64" || ad.Languages[0] != "ja" {
			t.Errorf("autodecline %+v", ad)
		}
		s.want("bad architecture", s.do(alice, http.MethodPut, "/api/v1/autodecline", `{"architectures":["sparc"]}`), http.StatusBadRequest, "invalid_autodecline", nil)
		s.want("negative grace", s.do(alice, http.MethodPut, "/api/v1/autodecline", `{"superseded_grace_days":-2}`), http.StatusBadRequest, "invalid_autodecline", nil)
		s.want("viewer reads autodecline", s.do(viewer, http.MethodGet, "/api/v1/autodecline", ""), http.StatusOK, "", &ad)
		if ad.Architectures[0] != "arm64" {
			t.Errorf("a refused PUT changed the settings: %+v", ad)
		}

		s.want("delete ring", s.do(alice, http.MethodDelete, "/api/v1/rings/Pilot", ""), http.StatusOK, "", nil)
		s.want("delete rule", s.do(alice, http.MethodDelete, "/api/v1/rules/Monthly", ""), http.StatusOK, "", nil)
		s.want("rings of the deleted rule", s.do(viewer, http.MethodGet, "/api/v1/rings/Broad", ""), http.StatusNotFound, "not_found", nil)

		want := map[string]bool{"rule.create": false, "ring.create": false, "ring.update": false, "autodecline.set": false, "ring.delete": false, "rule.delete": false}
		for _, e := range s.audit("?actor=alice") {
			if _, ok := want[e.Action]; ok {
				want[e.Action] = true
				if e.Action == "ring.update" && (len(e.Before) == 0 || !strings.Contains(string(e.After), `"delay_days":5`)) {
					t.Errorf("ring.update entry %+v", e)
				}
			}
		}
		for action, seen := range want {
			if !seen {
				t.Errorf("no audit entry %s by alice", action)
			}
		}
	})
}

func TestRingPromotionAndPauseThroughTheAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		viewer := s.token("helpdesk", catalog.RoleViewer)
		alice := s.token("alice", catalog.RoleApprover)
		s.want("rule", s.do(alice, http.MethodPost, "/api/v1/rules", monthlyRule), http.StatusCreated, "", nil)
		s.want("pilot", s.do(alice, http.MethodPost, "/api/v1/rings", pilotRing("Monthly")), http.StatusCreated, "", nil)
		var broad admin.Ring
		s.want("broad", s.do(alice, http.MethodPost, "/api/v1/rings", broadRing), http.StatusCreated, "", &broad)
		run := func(what string) rules.Report {
			var rep rules.Report
			s.want(what, s.do(alice, http.MethodPost, "/api/v1/rules/run", ""), http.StatusOK, "", &rep)
			return rep
		}
		s.want("viewer runs the rules", s.do(viewer, http.MethodPost, "/api/v1/rules/run", ""), http.StatusForbidden, "forbidden", nil)

		// Day 0: the pilot's delay (1 day) has not passed.
		if rep := run("run at release"); len(rep.Approved) != 0 {
			t.Fatalf("approved before the pilot's delay: %+v", rep.Approved)
		}
		// Day 1: the pilot approves the first update (the second was
		// released a day later).
		s.clock.add(24 * time.Hour)
		rep := run("run on day 1")
		if len(rep.Approved) != 1 || rep.Approved[0].UpdateID != upd1 || rep.Approved[0].Actor != "ring:Pilot" {
			t.Fatalf("day 1 approved %+v", rep.Approved)
		}
		if a, ok := s.approvalsOf(upd1)[pilotID]; !ok || a.By != "ring:Pilot" || a.Action != catalog.ActionInstall {
			t.Fatalf("pilot approval of update 1: %+v", s.approvalsOf(upd1))
		}
		entries := s.audit("?actor=ring:Pilot&action=approval.set")
		if len(entries) != 1 || entries[0].Target != upd1.String() || !strings.Contains(string(entries[0].Before), `"approvals":[]`) ||
			!strings.Contains(string(entries[0].After), pilotID.String()) {
			t.Fatalf("audit of the ring's approval: %+v", entries)
		}
		if rep := run("run again on day 1"); len(rep.Approved) != 0 {
			t.Fatalf("a second run approved again: %+v", rep.Approved)
		}
		if n := len(s.audit("?action=approval.set")); n != 1 {
			t.Errorf("%d approval.set entries after a repeated run, want 1", n)
		}
		// The broad ring waits 3 days after the pilot's approval.
		var st admin.RingStatus
		s.want("broad status", s.do(viewer, http.MethodGet, "/api/v1/rings/Broad/status", ""), http.StatusOK, "", &st)
		if len(st.Waiting) == 0 || !strings.Contains(st.Waiting[0].Reason, "waiting for ring Pilot") && !strings.Contains(st.Waiting[0].Reason, "delay") {
			t.Errorf("broad status %+v", st)
		}

		// Day 4: update 1's delay passed; the gate needs 2 installs.
		s.clock.add(3 * 24 * time.Hour)
		rep = run("run on day 4")
		for _, a := range rep.Approved {
			if a.Actor == "ring:Broad" {
				t.Fatalf("broad approved without installs: %+v", rep.Approved)
			}
		}
		// Installs on two of the three pilots, one still needs it: 67%.
		s.setState(pilots[0], upd1, catalog.StateInstalled)
		s.setState(pilots[1], upd1, catalog.StateInstalled)
		s.setState(pilots[2], upd1, catalog.StateNotInstalled)
		// Update 2 failed on two of three pilots: 67% > 25%.
		s.setState(pilots[0], upd2, catalog.StateFailed)
		s.setState(pilots[1], upd2, catalog.StateFailed)
		s.setState(pilots[2], upd2, catalog.StateInstalled)
		s.clock.add(24 * time.Hour) // update 2's delay after the pilot passed too
		rep = run("run on day 5")
		if _, ok := s.approvalsOf(upd1)[broadID]; !ok {
			t.Fatalf("broad did not approve update 1 after the gate held: %+v", rep)
		}
		if len(rep.Paused) != 1 || rep.Paused[0].Reason != "paused: 2 of 3 computers (66.66666666666667%) failed KB5031357 in ring Pilot, above 25%" {
			t.Fatalf("paused %+v", rep.Paused)
		}
		s.want("get broad", s.do(viewer, http.MethodGet, "/api/v1/rings/Broad", ""), http.StatusOK, "", &broad)
		if !strings.HasPrefix(broad.Paused, "paused: 2 of 3") || broad.PausedUpdate == nil || *broad.PausedUpdate != upd2 {
			t.Fatalf("broad after the pause %+v", broad)
		}
		if _, ok := s.approvalsOf(upd2)[broadID]; ok {
			t.Fatal("a paused ring approved")
		}
		if e := s.audit("?actor=ring:Broad&action=ring.pause"); len(e) != 1 {
			t.Errorf("audit of the pause: %+v", e)
		}
		// Paused: nothing more, however often it runs.
		if rep := run("run while paused"); len(rep.Approved)+len(rep.Paused) != 0 {
			t.Fatalf("a run while paused did %+v", rep)
		}
		s.want("viewer resumes", s.do(viewer, http.MethodPost, "/api/v1/rings/Broad/resume", ""), http.StatusForbidden, "forbidden", nil)
		s.want("approver resumes", s.do(alice, http.MethodPost, "/api/v1/rings/Broad/resume", ""), http.StatusOK, "", &broad)
		if broad.Paused != "" || len(broad.Accepted) != 1 || broad.Accepted[0] != upd2 {
			t.Fatalf("broad after resume %+v", broad)
		}
		// The failures are accepted; once update 2's delay passed (3 days
		// after the pilot approved it on day 4), the install gate still
		// holds it (1 of 3).
		s.clock.add(2 * 24 * time.Hour)
		rep = run("run after resume")
		if len(rep.Paused) != 0 || len(rep.Approved) != 0 {
			t.Fatalf("after resume %+v", rep)
		}
		s.want("broad status", s.do(viewer, http.MethodGet, "/api/v1/rings/Broad/status", ""), http.StatusOK, "", &st)
		if len(st.Waiting) != 1 || !strings.Contains(st.Waiting[0].Reason, "1 of 2 required installs") {
			t.Errorf("broad status after resume %+v", st.Waiting)
		}
		if e := s.audit("?actor=alice&action=ring.resume"); len(e) != 1 || !strings.Contains(string(e[0].Before), "paused: 2 of 3") {
			t.Errorf("audit of the resume: %+v", e)
		}
		if e := s.audit("?actor=alice&action=rules.run"); len(e) == 0 {
			t.Error("no audit entry of the runs alice asked for")
		}
	})
}

func TestOneRunAtATime(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		ctx := context.Background()
		days := 2
		if _, err := s.store.PutApprovalRule(ctx, catalog.ApprovalRule{ID: uuid.New(), Name: "All", Enabled: true,
			Groups: []uuid.UUID{pilotID, broadID}, DeadlineDays: &days}); err != nil {
			t.Fatal(err)
		}
		// Another replica holds the lease: this run does nothing.
		if ok, err := s.store.AcquireRulesLease(ctx, "other replica", time.Hour); err != nil || !ok {
			t.Fatalf("lease: %v %v", ok, err)
		}
		r, err := rules.New(rules.Config{Store: s.store, Holder: "this replica"})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Run(ctx, t0)
		if err != nil || rep.Skipped == "" || len(rep.Approved) != 0 {
			t.Fatalf("run while the lease is held: %+v, %v", rep, err)
		}
		if err := s.store.ReleaseRulesLease(ctx, "other replica"); err != nil {
			t.Fatal(err)
		}
		// Two replicas at once: every approval is set once.
		var wg sync.WaitGroup
		for i := range 2 {
			r, err := rules.New(rules.Config{Store: s.store, Holder: fmt.Sprintf("replica %d", i)})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				if _, err := r.Run(ctx, t0); err != nil {
					t.Errorf("run %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		// A third run after both: nothing left to do.
		if rep, err := r.Run(ctx, t0); err != nil || len(rep.Approved) != 0 {
			t.Fatalf("a run after both: %+v, %v", rep, err)
		}
		if n := len(s.audit("?actor=rule:All&action=approval.set")); n != 4 {
			t.Errorf("%d approvals recorded, want 4 (2 updates x 2 groups), each once", n)
		}
		for _, u := range []uuid.UUID{upd1, upd2} {
			as := s.approvalsOf(u)
			if len(as) != 2 || !as[pilotID].Deadline.Equal(t0.Add(48*time.Hour)) {
				t.Errorf("approvals of %s: %+v", u, as)
			}
		}
	})
}
