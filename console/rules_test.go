package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/rules"
)

// ruleByName reads the stored rule named name; ok false when there is none.
func (h *harness) ruleByName(name string) (catalog.ApprovalRule, bool) {
	h.t.Helper()
	list, err := h.store.ApprovalRules(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range list {
		if r.Name == name {
			return r, true
		}
	}
	return catalog.ApprovalRule{}, false
}

// ringByName reads the stored ring named name.
func (h *harness) ringByName(name string) (catalog.Ring, bool) {
	h.t.Helper()
	list, err := h.store.Rings(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range list {
		if r.Name == name {
			return r, true
		}
	}
	return catalog.Ring{}, false
}

// squash is s with its runs of white space made one space.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// mustFlash fails the test unless the page's success flash contains want
// and it shows no error.
func mustFlash(t *testing.T, what string, doc *goquery.Document, want string) {
	t.Helper()
	ok, failed := flash(doc)
	if failed != "" || !strings.Contains(ok, want) {
		t.Fatalf("%s: flash ok %q, error %q; want %q. Page: %s", what, ok, failed, want, text(doc))
	}
}

// mustFail fails the test unless the page's error flash contains every
// one of want.
func mustFail(t *testing.T, what string, doc *goquery.Document, want ...string) {
	t.Helper()
	_, failed := flash(doc)
	for _, w := range want {
		if !strings.Contains(failed, w) {
			t.Fatalf("%s: error flash %q, want it to say %q. Page: %s", what, failed, w, text(doc))
		}
	}
}

// TestRulesCreateEditDelete creates a rule through the form, sees it
// listed with the API's values, edits it, is refused a stale edit and a
// bad value with the API's reasons, and deletes it.
func TestRulesCreateEditDelete(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)

	_, doc := p.get("/console/rules/new")
	form := doc.Find("form#rule")
	if form.Length() != 1 {
		t.Fatalf("new rule: no form#rule; page: %s", text(doc))
	}
	product, _ := form.Find(`input[name="products"]`).First().Attr("value")
	productTitle := squash(form.Find(`input[name="products"]`).First().Parent().Text())
	if product == "" {
		t.Fatalf("new rule: the form offers no product: %s", text(doc))
	}
	for _, field := range []string{`input[name="name"]`, `input[name="enabled"]`, `select[name="action"]`, `input[name="deadline_days"]`,
		`input[name="groups"][value="` + h.groups[ring1].String() + `"]`} {
		if form.Find(field).Length() != 1 {
			t.Errorf("new rule: the form has no %s", field)
		}
	}

	_, doc = p.post("/console/rules", url.Values{"name": {"Pilot"}, "enabled": {"1"}, "products": {product},
		"groups": {h.groups[ring1].String()}, "action": {"Install"}, "deadline_days": {"3"}})
	mustFlash(t, "create", doc, "Created approval rule Pilot.")
	stored, ok := h.ruleByName("Pilot")
	if !ok || !stored.Enabled || len(stored.Products) != 1 || stored.Products[0].String() != product ||
		len(stored.Groups) != 1 || stored.Groups[0] != h.groups[ring1] || stored.DeadlineDays == nil || *stored.DeadlineDays != 3 {
		t.Fatalf("create: stored %+v (found %v)", stored, ok)
	}

	var wire admin.Rule
	h.api(http.MethodGet, "/api/v1/rules/"+stored.ID.String(), "", http.StatusOK, &wire)
	_, doc = p.get("/console/rules")
	art := doc.Find(`section#rules article.rule[data-rule-id="` + stored.ID.String() + `"]`)
	if art.Length() != 1 {
		t.Fatalf("rules: no article for the rule; page: %s", text(doc))
	}
	for sel, want := range map[string]string{
		".rule-products":        wire.Products[0].Title,
		".rule-classifications": "any",
		".rule-groups":          ring1,
		".rule-action":          "Install",
		".rule-deadline":        "3 days after approval",
	} {
		if got := squash(art.Find(sel).Text()); got != want {
			t.Errorf("rules: %s = %q, want the API's %q", sel, got, want)
		}
	}
	if !strings.Contains(productTitle, wire.Products[0].Title) {
		t.Errorf("the form's product %q is not the API's %q", productTitle, wire.Products[0].Title)
	}

	_, doc = p.get("/console/rules/" + stored.ID.String())
	form = doc.Find("form#rule")
	etag, _ := form.Find(`input[name="etag"]`).Attr("value")
	if v, _ := form.Find(`input[name="name"]`).Attr("value"); v != "Pilot" || etag == "" {
		t.Fatalf("rule page: name %q, etag %q", v, etag)
	}
	if form.Find(`input[name="products"][value="`+product+`"][checked]`).Length() != 1 ||
		form.Find(`input[name="groups"][value="`+h.groups[ring1].String()+`"][checked]`).Length() != 1 {
		t.Error("rule page: the rule's product and group are not checked")
	}
	edit := url.Values{"etag": {etag}, "name": {"Pilot wave"}, "enabled": {"1"}, "groups": {h.groups[ring2].String()},
		"action": {"OptionalInstall"}, "deadline_days": {""}}
	_, doc = p.post("/console/rules/"+stored.ID.String(), edit)
	mustFlash(t, "edit", doc, "Saved approval rule Pilot wave.")
	edited, _ := h.ruleByName("Pilot wave")
	if edited.ID != stored.ID || edited.Action != catalog.ActionOptionalInstall || edited.DeadlineDays != nil ||
		len(edited.Products) != 0 || len(edited.Groups) != 1 || edited.Groups[0] != h.groups[ring2] {
		t.Fatalf("edit: stored %+v", edited)
	}
	if got := squash(doc.Find(`form#rule input[name="name"]`).AttrOr("value", "")); got != "Pilot wave" {
		t.Errorf("after the edit the form shows %q", got)
	}

	// The same form again: its ETag is the one before the edit.
	edit.Set("name", "Stale")
	_, doc = p.post("/console/rules/"+stored.ID.String(), edit)
	mustFail(t, "stale edit", doc, "Someone changed this rule", "does not match the current ETag")
	if _, ok := h.ruleByName("Stale"); ok {
		t.Error("a stale edit was stored")
	}

	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"negative deadline", url.Values{"name": {"Bad"}, "deadline_days": {"-1"}}, "deadline_days -1 is not 0 to 3650"},
		{"unknown product", url.Values{"name": {"Bad"}, "products": {"No Such Product"}}, `"No Such Product"`},
		{"no name", url.Values{"name": {" "}}, "a rule needs a name"},
		{"taken name", url.Values{"name": {"pilot WAVE"}}, "is named \"Pilot wave\" already"},
		{"not a number", url.Values{"name": {"Bad"}, "deadline_days": {"soon"}}, `Deadline (days): "soon" is not a whole number`},
	}
	for _, c := range cases {
		_, doc = p.post("/console/rules", c.form)
		mustFail(t, c.name, doc, c.want)
	}
	if _, ok := h.ruleByName("Bad"); ok {
		t.Error("a refused rule was stored")
	}

	_, doc = p.get("/console/rules/" + stored.ID.String())
	etag = doc.Find(`form.delete-rule input[name="etag"]`).AttrOr("value", "")
	_, doc = p.post("/console/rules/"+stored.ID.String()+"/delete", url.Values{"etag": {etag}})
	mustFlash(t, "delete", doc, "Deleted approval rule Pilot wave")
	if _, ok := h.ruleByName("Pilot wave"); ok {
		t.Error("delete: the rule is still stored")
	}
	if doc.Find("article.rule").Length() != 0 {
		t.Errorf("delete: the rules page still lists a rule: %s", text(doc))
	}
}

// TestRulesRings adds rings to a rule through the forms, sees each ring's
// gate and the API's reasons it waits, plans and runs the rules, sees the
// ring the run paused and resumes it, edits a ring, and deletes one.
func TestRulesRings(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	p.get("/console/rules/new")
	_, doc := p.post("/console/rules", url.Values{"name": {"Everything"}, "enabled": {"1"}, "action": {"Install"}})
	mustFlash(t, "create rule", doc, "Created approval rule Everything.")
	rule, _ := h.ruleByName("Everything")
	if doc.Find(`a[href="/console/rules/`+rule.ID.String()+`/rings/new"]`).Length() != 1 {
		t.Fatalf("rule page: no link to add a ring: %s", text(doc))
	}

	_, doc = p.get("/console/rules/" + rule.ID.String() + "/rings/new")
	form := doc.Find("form#ring")
	if pos := form.Find(`input[name="position"]`).AttrOr("value", ""); pos != "1" {
		t.Errorf("new ring: position %q, want 1", pos)
	}
	_, doc = p.post("/console/rules/"+rule.ID.String()+"/rings", url.Values{"name": {"Pilot ring"}, "position": {"1"},
		"group": {h.groups[ring1].String()}, "delay_days": {"0"}, "delay_from": {"release"}})
	mustFlash(t, "create ring 1", doc, "Created ring Pilot ring of rule Everything for group Ring 1.")
	_, doc = p.get("/console/rules/" + rule.ID.String() + "/rings/new")
	if pos := doc.Find(`form#ring input[name="position"]`).AttrOr("value", ""); pos != "2" {
		t.Errorf("second new ring: position %q, want 2", pos)
	}
	_, doc = p.post("/console/rules/"+rule.ID.String()+"/rings", url.Values{"name": {"Broad ring"}, "position": {"2"},
		"group": {h.groups[ring2].String()}, "delay_days": {"0"}, "delay_from": {"previous"},
		"min_installed_percent": {"90"}, "min_installs": {""}, "max_failed_percent": {"20"}})
	mustFlash(t, "create ring 2", doc, "Created ring Broad ring")
	pilot, _ := h.ringByName("Pilot ring")
	broad, ok := h.ringByName("Broad ring")
	if !ok || broad.Gate == nil || broad.Gate.MinInstalledPercent != 90 || broad.Gate.MaxFailedPercent == nil ||
		*broad.Gate.MaxFailedPercent != 20 || broad.DelayFrom != catalog.DelayFromPrevious || broad.Position != 2 {
		t.Fatalf("create ring 2: stored %+v", broad)
	}
	_, doc = p.post("/console/rules/"+rule.ID.String()+"/rings", url.Values{"name": {"Clash"}, "position": {"2"},
		"group": {h.groups[ring2].String()}})
	mustFail(t, "taken position", doc, "position 2 of rule Everything is ring Broad ring's")
	_, doc = p.post("/console/rules/"+rule.ID.String()+"/rings", url.Values{"name": {"Bad gate"}, "position": {"3"},
		"group": {h.groups[ring2].String()}, "min_installed_percent": {"150"}})
	mustFail(t, "bad gate", doc, "gate min_installed_percent 150 is not 0 to 100")

	// The rules page shows each ring, in order, with its gate and the
	// API's status: what it would approve now, and why it waits.
	var pilotStatus, broadStatus admin.RingStatus
	h.api(http.MethodGet, "/api/v1/rings/"+pilot.ID.String()+"/status", "", http.StatusOK, &pilotStatus)
	h.api(http.MethodGet, "/api/v1/rings/"+broad.ID.String()+"/status", "", http.StatusOK, &broadStatus)
	if len(pilotStatus.Approves) == 0 || len(broadStatus.Waiting) == 0 {
		t.Fatalf("the seed does not exercise the status: pilot %+v, broad %+v", pilotStatus, broadStatus)
	}
	_, doc = p.get("/console/rules")
	rings := doc.Find(`article.rule[data-rule-id="` + rule.ID.String() + `"] li.ring`)
	if rings.Length() != 2 || rings.First().AttrOr("data-ring-id", "") != pilot.ID.String() ||
		rings.Last().AttrOr("data-ring-id", "") != broad.ID.String() {
		t.Fatalf("rules page: rings %d, want Pilot ring then Broad ring: %s", rings.Length(), text(doc))
	}
	pilotText := squash(rings.First().Find(".ring-status").Text())
	for _, d := range pilotStatus.Approves {
		if !strings.Contains(pilotText, squash(d.Update+" for "+d.Group+": "+d.Reason)) {
			t.Errorf("pilot ring status %q does not say it approves %s: %s", pilotText, d.Update, d.Reason)
		}
	}
	broadText := squash(rings.Last().Find(".ring-status").Text())
	for _, w := range broadStatus.Waiting {
		if !strings.Contains(broadText, squash(w.Update+": "+w.Reason)) {
			t.Errorf("broad ring status %q does not give the API's reason %q", broadText, w.Reason)
		}
	}
	if got := squash(rings.Last().Text()); !strings.Contains(got, "at least 90% of the previous ring installed it") ||
		!strings.Contains(got, "pauses itself above 20% failed") || !strings.Contains(got, "after the previous ring's approval") {
		t.Errorf("broad ring: %q does not show its gate and delay", got)
	}

	// A dry run shows the API's plan and changes nothing.
	var plan rules.Report
	h.api(http.MethodPost, "/api/v1/rules/run", `{"dry_run":true}`, http.StatusOK, &plan)
	status, doc := p.post("/console/rules/run", url.Values{"dry_run": {"1"}})
	report := doc.Find("section#run-report")
	if status != http.StatusOK || report.Length() != 1 || !strings.Contains(report.Find("h2").Text(), "dry run") {
		t.Fatalf("dry run: status %d, page: %s", status, text(doc))
	}
	mustFlash(t, "dry run", doc, "Dry run, nothing changed")
	if rows := report.Find("table.report-done tbody tr"); rows.Length() != len(plan.Approved)+len(plan.Declined)+len(plan.Paused) {
		t.Errorf("dry run: %d rows, the API plans %d approvals: %s", rows.Length(), len(plan.Approved), text(doc))
	}
	reportText := squash(report.Text())
	for _, d := range plan.Approved {
		if !strings.Contains(reportText, squash(d.Reason)) || !strings.Contains(reportText, d.Update) {
			t.Errorf("dry run: the report does not show %s: %s", d.Update, d.Reason)
		}
	}
	approvals, err := h.store.Approvals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(approvals) != 0 {
		t.Fatalf("a dry run approved: %+v", approvals)
	}

	_, doc = p.post("/console/rules/run", url.Values{"run": {"1"}})
	mustFlash(t, "run", doc, "Ran the rules: made")
	if h := doc.Find("section#run-report h2").Text(); h != "What the run did" {
		t.Errorf("run: report title %q", h)
	}
	if approvals, _ = h.store.Approvals(context.Background()); !approvedFor(approvals, demoUpdate, h.groups[ring1]) {
		t.Errorf("run: the demo update is not approved for Ring 1: %+v", approvals)
	}

	// The run paused the broad ring (a third of the pilot failed, above
	// its 20%): the page says why, and an approver resumes it.
	if broad, _ = h.ringByName("Broad ring"); broad.State.Paused == "" {
		t.Fatalf("run: the broad ring did not pause itself: %+v", broad.State)
	}
	if rows := doc.Find("section#run-report table.report-done tbody tr"); !strings.Contains(squash(rows.Text()), broad.State.Paused) {
		t.Errorf("run: the report does not show the pause %q: %s", broad.State.Paused, squash(rows.Text()))
	}
	_, doc = p.get("/console/rules")
	li := doc.Find(`li.ring[data-ring-id="` + broad.ID.String() + `"]`)
	if got := squash(li.Find(".ring-status").Text()); !strings.Contains(got, "Paused "+broad.State.Paused) {
		t.Errorf("paused ring's status: %q, want %q", got, broad.State.Paused)
	}
	if li.Find(`form[action="/console/rings/`+broad.ID.String()+`/resume"] button`).Length() != 1 {
		t.Fatal("paused ring: no Resume button")
	}
	_, doc = p.post("/console/rings/"+broad.ID.String()+"/resume", url.Values{})
	mustFlash(t, "resume", doc, "Resumed ring Broad ring; the failures of 1 update(s) are accepted.")
	if broad, _ = h.ringByName("Broad ring"); broad.State.Paused != "" {
		t.Errorf("resume: still paused: %+v", broad.State)
	}
	_, doc = p.post("/console/rings/"+broad.ID.String()+"/resume", url.Values{})
	mustFail(t, "resume a running ring", doc, "ring Broad ring is not paused")

	// Edit a ring: its form carries its ETag.
	_, doc = p.get("/console/rings/" + broad.ID.String())
	form = doc.Find("form#ring")
	if got := form.Find(`input[name="min_installed_percent"]`).AttrOr("value", ""); got != "90" {
		t.Errorf("ring page: min_installed_percent %q, want 90", got)
	}
	if form.Find(`select[name="delay_from"] option[value="previous"][selected]`).Length() != 1 {
		t.Error("ring page: the delay does not count from the previous ring")
	}
	ringEdit := url.Values{"etag": {form.Find(`input[name="etag"]`).AttrOr("value", "")}, "rule": {rule.ID.String()},
		"name": {"Broad ring"}, "position": {"5"}, "group": {h.groups[ring2].String()}, "delay_days": {"7"}, "delay_from": {"release"}}
	_, doc = p.post("/console/rings/"+broad.ID.String(), ringEdit)
	mustFlash(t, "edit ring", doc, "Saved ring Broad ring.")
	if broad, _ = h.ringByName("Broad ring"); broad.Position != 5 || broad.DelayDays != 7 || broad.Gate != nil {
		t.Errorf("edit ring: stored %+v", broad)
	}
	_, doc = p.post("/console/rings/"+broad.ID.String(), ringEdit)
	mustFail(t, "stale ring edit", doc, "Someone changed this ring")

	_, doc = p.get("/console/rings/" + pilot.ID.String())
	_, doc = p.post("/console/rings/"+pilot.ID.String()+"/delete", url.Values{"etag": {doc.Find(`form.delete-ring input[name="etag"]`).AttrOr("value", "")}})
	mustFlash(t, "delete ring", doc, "Deleted ring Pilot ring.")
	if _, ok := h.ringByName("Pilot ring"); ok || doc.Find(`li.ring[data-ring-id="`+pilot.ID.String()+`"]`).Length() != 0 {
		t.Error("delete ring: the ring is still there")
	}
}

// approvedFor tells whether approvals approve update for group.
func approvedFor(approvals []catalog.Approval, update, group uuid.UUID) bool {
	for _, a := range approvals {
		if a.UpdateID == update && a.GroupID == group {
			return true
		}
	}
	return false
}

// TestRulesAutoDecline edits the automatic decline settings through the
// form, sees the API's reason for a bad value and for a stale form.
func TestRulesAutoDecline(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	_, doc := p.get("/console/rules")
	form := doc.Find("form#autodecline-form")
	etag := form.Find(`input[name="etag"]`).AttrOr("value", "")
	if form.Length() != 1 || etag == "" {
		t.Fatalf("rules page: no auto-decline form with an ETag: %s", text(doc))
	}
	_, doc = p.post("/console/autodecline", url.Values{"etag": {etag}, "superseded": {"1"}, "superseded_grace_days": {"14"},
		"architectures": {"ia64, ARM64"}, "languages": {"ja,pt-BR"}, "editions": {"Itanium\r\nWindows Server 2008\r\n"}})
	mustFlash(t, "save", doc, "Saved the automatic decline settings.")
	s, err := h.store.AutoDecline(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Superseded || s.SupersededGraceDays != 14 || strings.Join(s.Architectures, ",") != "ia64,arm64" ||
		strings.Join(s.Languages, ",") != "ja,pt-br" || strings.Join(s.Editions, "|") != "Itanium|Windows Server 2008" {
		t.Fatalf("save: stored %+v", s)
	}
	for sel, want := range map[string]string{
		".ad-superseded":    "declined 14 days after their superseding update was approved",
		".ad-architectures": "ia64, arm64",
		".ad-languages":     "ja, pt-br",
		".ad-editions":      "Itanium; Windows Server 2008",
	} {
		if got := squash(doc.Find(sel).Text()); got != want {
			t.Errorf("after saving, %s = %q, want %q", sel, got, want)
		}
	}

	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"unknown architecture", url.Values{"architectures": {"sparc"}}, `architecture "sparc" is not x86, x64, arm64 or ia64`},
		{"negative grace", url.Values{"superseded_grace_days": {"-2"}}, "superseded_grace_days -2 is not 0 to 3650"},
		{"stale form", url.Values{"etag": {etag}}, "Someone changed this setting"},
	}
	for _, c := range cases {
		_, doc = p.post("/console/autodecline", c.form)
		mustFail(t, c.name, doc, c.want)
	}
	if s, _ = h.store.AutoDecline(context.Background()); s.SupersededGraceDays != 14 {
		t.Errorf("a refused change was stored: %+v", s)
	}
}

// TestRulesViewer checks that a viewer reads the rules, rings and their
// status but sees no form, and that the server refuses a forged change.
func TestRulesViewer(t *testing.T) {
	h := newHarness(t)
	var rule admin.Rule
	h.api(http.MethodPost, "/api/v1/rules", `{"name":"Pilot","groups":["`+ring1+`"]}`, http.StatusCreated, &rule)
	var ring admin.Ring
	h.api(http.MethodPost, "/api/v1/rings", `{"name":"Wave","rule":"Pilot","position":1,"group":"`+ring2+`","delay_days":30}`, http.StatusCreated, &ring)

	p := h.signIn(h.token(catalog.RoleViewer))
	for _, path := range []string{"/console/rules", "/console/rules/" + rule.ID.String(), "/console/rules/new",
		"/console/rings/" + ring.ID.String(), "/console/rules/" + rule.ID.String() + "/rings/new"} {
		status, doc := p.get(path)
		if status != http.StatusOK {
			t.Errorf("viewer, %s: status %d: %s", path, status, text(doc))
		}
		if n := doc.Find("main form").Length(); n != 0 {
			t.Errorf("viewer, %s: %d forms", path, n)
		}
		if n := doc.Find("main button, main a.button").Length(); n != 0 {
			t.Errorf("viewer, %s: %d buttons", path, n)
		}
	}
	_, doc := p.get("/console/rules")
	li := doc.Find(`article.rule[data-rule-id="` + rule.ID.String() + `"] li.ring[data-ring-id="` + ring.ID.String() + `"]`)
	if st := squash(li.Find(".ring-status").Text()); !strings.Contains(st, "waits on") && !strings.Contains(st, "Waits on") {
		t.Errorf("viewer: the ring's status %q does not say why it waits", st)
	}

	forged := []struct{ path string }{
		{"/console/rules"}, {"/console/rules/" + rule.ID.String()}, {"/console/rules/" + rule.ID.String() + "/delete"},
		{"/console/rules/" + rule.ID.String() + "/rings"}, {"/console/rings/" + ring.ID.String() + "/delete"},
		{"/console/rules/run"}, {"/console/autodecline"},
	}
	for _, f := range forged {
		p.get("/console/rules")
		_, doc := p.post(f.path, url.Values{"name": {"Forged"}, "group": {ring1}, "position": {"9"}, "dry_run": {""}})
		mustFail(t, "viewer "+f.path, doc, "needs the approver role")
		if f.path == "/console/rules/run" && doc.Find("section#rules").Length() != 1 {
			t.Errorf("a refused run does not go back to the rules page: %s", text(doc))
		}
	}
	if _, ok := h.ruleByName("Forged"); ok {
		t.Error("a viewer's forged POST created a rule")
	}
	if _, ok := h.ringByName("Wave"); !ok {
		t.Error("a viewer's forged POST deleted a ring")
	}
	status, doc := p.post("/console/rules/"+rule.ID.String()+"/delete", url.Values{"csrf": {"forged"}})
	if status != http.StatusForbidden || !strings.Contains(text(doc), "forgery") {
		t.Errorf("a POST without the CSRF token: status %d: %s", status, text(doc))
	}
}

// TestRulesPagePlansOnce checks that the rules page and a rule's page
// cost one plan of the rules whatever the number of rings (the API's
// GET /api/v1/rings/status), where they cost one per ring before.
func TestRulesPagePlansOnce(t *testing.T) {
	h := newHarness(t)
	const rulesN, ringsPerRule = 3, 4
	var first admin.Rule
	for i := range rulesN {
		var rule admin.Rule
		h.api(http.MethodPost, "/api/v1/rules", fmt.Sprintf(`{"name":"Rule %d"}`, i), http.StatusCreated, &rule)
		if i == 0 {
			first = rule
		}
		for j := range ringsPerRule {
			h.api(http.MethodPost, "/api/v1/rings", fmt.Sprintf(`{"name":"Ring %d.%d","rule":%q,"position":%d,"group":%q,"delay_days":%d}`,
				i, j, rule.ID, j+1, ring2, 30*(j+1)), http.StatusCreated, nil)
		}
	}
	plans := h.countPlans()
	p := h.signIn(adminToken)
	for _, c := range []struct {
		path  string
		rings int
	}{{"/console/rules", rulesN * ringsPerRule}, {"/console/rules/" + first.ID.String(), ringsPerRule}} {
		before, start := plans.plans.Load(), time.Now()
		status, doc := p.get(c.path)
		n := plans.plans.Load() - before
		t.Logf("%s: %d rings, %d plans, %v", c.path, c.rings, n, time.Since(start))
		if status != http.StatusOK || doc.Find("li.ring").Length() != c.rings {
			t.Fatalf("%s: status %d, %d rings shown, want %d: %s", c.path, status, doc.Find("li.ring").Length(), c.rings, text(doc))
		}
		if n != 1 {
			t.Errorf("%s: %d plans for %d rings, want 1", c.path, n, c.rings)
		}
		if got := doc.Find("li.ring .ring-status").FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.Contains(s.Text(), "Waits on") || strings.Contains(s.Text(), "waits on")
		}).Length(); got != c.rings {
			t.Errorf("%s: %d rings say why they wait, want %d", c.path, got, c.rings)
		}
	}
}

// TestRulesFormsKeepWhatWasTyped posts rule, ring and auto-decline forms
// the API refuses and checks that each answers its page again, with the
// API's status and reason, the CSRF token, and every field as the person
// filled it; nothing is stored; the corrected form then saves.
func TestRulesFormsKeepWhatWasTyped(t *testing.T) {
	h := newHarness(t)
	var pilot admin.Rule
	h.api(http.MethodPost, "/api/v1/rules", `{"name":"Pilot"}`, http.StatusCreated, &pilot)
	var wave admin.Ring
	h.api(http.MethodPost, "/api/v1/rings", `{"name":"Wave","rule":"Pilot","position":1,"group":"`+ring1+`"}`, http.StatusCreated, &wave)
	p := h.signIn(adminToken)
	_, doc := p.get("/console/rules/new")
	product := doc.Find(`form#rule input[name="products"]`).First().AttrOr("value", "")
	class := doc.Find(`form#rule input[name="classifications"]`).First().AttrOr("value", "")
	_, doc = p.get("/console/rules/" + pilot.ID.String())
	ruleETag := doc.Find(`form#rule input[name="etag"]`).AttrOr("value", "")
	_, doc = p.get("/console/rings/" + wave.ID.String())
	ringETag := doc.Find(`form#ring input[name="etag"]`).AttrOr("value", "")
	_, doc = p.get("/console/rules")
	adETag := doc.Find(`form#autodecline-form input[name="etag"]`).AttrOr("value", "")
	// Someone else changes the rule, the ring and the settings meanwhile:
	// the forms read before are stale.
	changeMeanwhile := func() {
		h.api(http.MethodPut, "/api/v1/rules/Pilot", `{"name":"Pilot","deadline_days":1}`, http.StatusOK, nil)
		h.api(http.MethodPut, "/api/v1/rings/Wave", `{"name":"Wave","rule":"Pilot","position":1,"group":"`+ring1+`","delay_days":2}`, http.StatusOK, nil)
		h.api(http.MethodPut, "/api/v1/autodecline", `{"superseded":true}`, http.StatusOK, nil)
	}

	typedRule := url.Values{"name": {"PILOT"}, "products": {product}, "groups": {h.groups[ring2].String()},
		"action": {"OptionalInstall"}, "deadline_days": {"5"}}
	with := func(v url.Values, key, value string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = slices.Clone(vs)
		}
		out.Set(key, value)
		return out
	}
	typedRing := url.Values{"rule": {pilot.ID.String()}, "name": {"Broad"}, "position": {"1"}, "group": {h.groups[ring2].String()},
		"delay_days": {"9"}, "delay_from": {"previous"}, "min_installed_percent": {"80"}, "min_installs": {"3"}, "max_failed_percent": {"5"}}
	typedAD := url.Values{"etag": {adETag}, "superseded_grace_days": {"21"}, "architectures": {"sparc, x64"}, "languages": {"ja"},
		"editions": {"Itanium\r\nEmbedded"}}
	ruleFields := map[string]string{`input[name="name"]`: "PILOT", `input[name="deadline_days"]`: "5"}
	ruleChecked := []string{`input[name="products"][value="` + product + `"]`,
		`input[name="groups"][value="` + h.groups[ring2].String() + `"]`, `select[name="action"] option[value="OptionalInstall"]`}
	if class != "" { // the demo catalog has none
		typedRule.Set("classifications", class)
		ruleChecked = append(ruleChecked, `input[name="classifications"][value="`+class+`"]`)
	}
	ringFields := map[string]string{`input[name="name"]`: "Broad", `input[name="position"]`: "1", `input[name="delay_days"]`: "9",
		`input[name="min_installed_percent"]`: "80", `input[name="min_installs"]`: "3", `input[name="max_failed_percent"]`: "5"}
	ringChecked := []string{`select[name="group"] option[value="` + h.groups[ring2].String() + `"]`, `select[name="delay_from"] option[value="previous"]`}

	cases := []struct {
		name, path string
		form       url.Values
		status     int
		reason     string
		// sel is the form; fields its inputs' values; checked what must
		// be checked or selected; unchecked what must not.
		sel       string
		fields    map[string]string
		checked   []string
		unchecked []string
		stale     bool
	}{
		{name: "new rule, taken name", path: "/console/rules", form: typedRule, status: http.StatusConflict, reason: `is named "Pilot" already`,
			sel: "form#rule", fields: ruleFields, checked: ruleChecked,
			unchecked: []string{`input[name="enabled"]`, `input[name="groups"][value="` + h.groups[ring1].String() + `"]`}},
		{name: "new rule, bad deadline", path: "/console/rules", form: with(with(typedRule, "name", "Fresh"), "deadline_days", "-1"), status: http.StatusBadRequest,
			reason: "deadline_days -1 is not 0 to 3650", sel: "form#rule", fields: map[string]string{`input[name="name"]`: "Fresh",
				`input[name="deadline_days"]`: "-1"}, checked: ruleChecked},
		{name: "new rule, not a number", path: "/console/rules", form: with(with(typedRule, "name", "Fresh"), "deadline_days", "soon"), status: http.StatusBadRequest,
			reason: `Deadline (days): "soon" is not a whole number`, sel: "form#rule", fields: map[string]string{`input[name="deadline_days"]`: "soon"},
			checked: ruleChecked},
		{name: "new ring, taken position", path: "/console/rules/" + pilot.ID.String() + "/rings", form: typedRing, status: http.StatusConflict,
			reason: "position 1 of rule Pilot is ring Wave's", sel: "form#ring", fields: ringFields, checked: ringChecked},
		{name: "ring edit, bad gate", path: "/console/rings/" + wave.ID.String(), form: with(with(typedRing, "min_installed_percent", "150"), "etag", ringETag),
			status: http.StatusBadRequest, reason: "gate min_installed_percent 150 is not 0 to 100", sel: "form#ring",
			fields: map[string]string{`input[name="min_installed_percent"]`: "150", `input[name="delay_days"]`: "9"}, checked: ringChecked},
		{name: "auto-decline, unknown architecture", path: "/console/autodecline", form: typedAD, status: http.StatusBadRequest,
			reason: `architecture "sparc" is not x86, x64, arm64 or ia64`, sel: "form#autodecline-form",
			fields: map[string]string{`input[name="superseded_grace_days"]`: "21", `input[name="architectures"]`: "sparc, x64",
				`input[name="languages"]`: "ja", `input[name="etag"]`: adETag}, unchecked: []string{`input[name="superseded"]`}},
		{name: "stale rule edit", path: "/console/rules/" + pilot.ID.String(), form: with(with(typedRule, "name", "Pilot 2"), "etag", ruleETag),
			status: http.StatusPreconditionFailed, reason: "Someone changed this rule", sel: "form#rule",
			fields: map[string]string{`input[name="name"]`: "Pilot 2", `input[name="etag"]`: ruleETag}, checked: ruleChecked, stale: true},
		{name: "stale ring edit", path: "/console/rings/" + wave.ID.String(), form: with(typedRing, "etag", ringETag),
			status: http.StatusPreconditionFailed, reason: "Someone changed this ring", sel: "form#ring", fields: ringFields, checked: ringChecked, stale: true},
		{name: "stale auto-decline", path: "/console/autodecline", form: with(typedAD, "architectures", "x64"), status: http.StatusPreconditionFailed,
			reason: "Someone changed this setting", sel: "form#autodecline-form", fields: map[string]string{`input[name="architectures"]`: "x64"}, stale: true},
	}
	changed := false
	for _, c := range cases {
		if c.stale && !changed {
			changeMeanwhile()
			changed = true
		}
		csrf := p.csrf
		status, doc := p.post(c.path, c.form)
		if status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, status, c.status, text(doc))
		}
		mustFail(t, c.name, doc, c.reason)
		form := doc.Find(c.sel)
		if form.Length() != 1 {
			t.Fatalf("%s: no %s on the page again: %s", c.name, c.sel, text(doc))
		}
		if got := form.Find(`input[name="csrf"]`).AttrOr("value", ""); got != csrf {
			t.Errorf("%s: the form's CSRF token %q, want the session's %q", c.name, got, csrf)
		}
		for sel, want := range c.fields {
			if got := form.Find(sel).AttrOr("value", "<none>"); got != want {
				t.Errorf("%s: %s = %q, want what was typed, %q", c.name, sel, got, want)
			}
		}
		for _, sel := range c.checked {
			if s := form.Find(sel); s.Length() != 1 || (s.AttrOr("checked", "-") == "-" && s.AttrOr("selected", "-") == "-") {
				t.Errorf("%s: %s is not checked again", c.name, sel)
			}
		}
		for _, sel := range c.unchecked {
			if _, ok := form.Find(sel).Attr("checked"); ok {
				t.Errorf("%s: %s is checked, but was not", c.name, sel)
			}
		}
		if c.sel == "form#autodecline-form" {
			if got := form.Find(`textarea[name="editions"]`).Text(); got != "Itanium\nEmbedded" && got != "Itanium\r\nEmbedded" {
				t.Errorf("%s: editions %q, want what was typed", c.name, got)
			}
		}
		if got := doc.Find(`main p.hint a`).FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.Contains(s.Text(), "as it is now") || strings.Contains(s.Text(), "as they are now")
		}).Length(); (got == 1) != c.stale {
			t.Errorf("%s: %d links to what it is now, want one only when stale", c.name, got)
		}
	}

	// Nothing refused was stored.
	if r, _ := h.ruleByName("Pilot"); r.DeadlineDays == nil || *r.DeadlineDays != 1 || len(r.Products) != 0 {
		t.Errorf("a refused rule form changed the rule: %+v", r)
	}
	if _, ok := h.ringByName("Broad"); ok {
		t.Error("a refused ring form was stored")
	}
	if s, _ := h.store.AutoDecline(context.Background()); len(s.Architectures) != 0 {
		t.Errorf("a refused auto-decline form was stored: %+v", s)
	}

	// The same form corrected saves.
	_, doc = p.post("/console/rules", with(typedRule, "name", "Pilot 2"))
	mustFlash(t, "corrected rule", doc, "Created approval rule Pilot 2.")
	if r, ok := h.ruleByName("Pilot 2"); !ok || r.Action != catalog.ActionOptionalInstall || len(r.Products) != 1 || r.Enabled {
		t.Errorf("corrected rule stored %+v", r)
	}
}
