package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console's browser tests (issue 13): the real wsusd, wsusctl and
// clientsim, and the web console driven in a real headless Chromium
// through the DevTools protocol (chromedp), as a person clicks it.

// consoleUpdate is the update of testdata/console: a local update with a
// KB article ID and a payload clientsim downloads and installs.
const (
	consoleUpdate = "c013e2e0-7b1d-4c2e-9f3a-13c0a5e13013"
	consoleKB     = "9130013"
	// consolePC is the simulated computer, in the Pilot group by
	// client-side targeting.
	consolePC    = "e2e00000-0000-4000-8000-0000000000c1"
	consolePCDNS = "console-pc.example"
	pilot        = "Pilot"
)

// consoleServer builds the binaries, imports the demo catalog and
// testdata/console into a fresh data directory (or, with dir set, serves
// that one as it is) and starts wsusd serve; it returns the module root,
// the binaries' directory and the server's base URL.
func consoleServer(t *testing.T, dir string) (root, bin, base string) {
	t.Helper()
	root = moduleRoot(t)
	bin = buildBinaries(t, root)
	tmp := t.TempDir()
	tokenFile := filepath.Join(tmp, "token")
	if err := os.WriteFile(tokenFile, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = filepath.Join(tmp, "data")
		env := []string{"WSUS_DATABASE_URL=", "WSUS_IMPORT_APPROVE=", "WSUS_ADMIN_TOKEN_FILE=", "WSUS_DATA="}
		runTool(t, bin, "wsusd", env, "import", "--data", dir, filepath.Join(root, "testdata", "catalog", "microsoft"),
			filepath.Join(root, "testdata", "catalog", "local"), filepath.Join(root, "testdata", "console"))
	}
	return root, bin, serve(t, bin, dir, tokenFile)
}

// The acceptance of issue 13 in a real browser: a bad token is refused
// with the server's reason; an admin finds an update by its KB number,
// approves it for a group with a deadline; a simulated client (clientsim)
// in that group picks it up, then installs it and reports, and the
// update's detail and the overview follow within 60 s; a viewer sees no
// form that changes anything and a forged POST gets the API's refusal.
// With -update-screenshots it also writes docs/console/*.png.
func TestConsoleBrowser(t *testing.T) {
	browser := newBrowser(t)
	root, bin, base := consoleServer(t, "")
	ctl := []string{"WSUS_SERVER=" + base, "WSUS_ADMIN_TOKEN=" + adminToken}
	runTool(t, bin, "wsusctl", ctl, "create-group", pilot)
	pilotID := groupID(t, base, pilot)
	// The computer reports once before any approval: it is in Pilot and up
	// to date.
	scan := []string{"scan", "--server", base, "--target-group", pilot, "--client-id", consolePC, "--dns-name", consolePCDNS}
	runTool(t, bin, "clientsim", nil, scan...)
	var viewer struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(runTool(t, bin, "wsusctl", ctl, "--json", "tokens", "create", "console-viewer", "--role", "viewer")), &viewer); err != nil || viewer.Token == "" {
		t.Fatalf("wsusctl tokens create: %v", err)
	}

	admin := newTab(t, browser, base)

	// 1. A bad token is refused with the server's reason, and nobody is
	// signed in.
	admin.open("/console/signin")
	admin.screenshot(root, "signin", 1280)
	const badToken = "wsus_not-a-token-of-this-server"
	_, apiReason := apiCall(t, base, badToken, http.MethodGet, "/api/v1/whoami", nil, nil)
	if status := admin.signIn(badToken); status != http.StatusUnauthorized {
		t.Errorf("sign-in with a bad token: HTTP %d, want 401", status)
	}
	refusal := admin.flash("error")
	mustContain(t, "the bad token's refusal", refusal, "refused", apiReason)
	if n := admin.count("form.signout") + admin.count(`nav[aria-label="Main"]`); n != 0 {
		t.Errorf("after a bad token the page shows a signed-in header (%d elements)", n)
	}

	// 2. Sign in as admin (by keyboard): the overview, then the update
	// found by its KB number, approved for Pilot with a deadline.
	if status := admin.signInByKeyboard(adminToken); status != http.StatusOK {
		t.Errorf("sign-in: HTTP %d", status)
	}
	if p := admin.path(); p != "/console/" {
		t.Errorf("signed in at %s, want /console/", p)
	}
	mustContain(t, "sign-in flash", admin.flash("ok"), "Signed in")
	admin.tabTo("a.skip", 1) // the first Tab offers to skip the navigation
	mustContain(t, "header", admin.text("form.signout"), "admin")
	before := overviewMetrics(admin)
	if before["needing_updates"] != "0" {
		t.Errorf("overview before the approval: %v computers needing updates, want 0", before["needing_updates"])
	}

	admin.open("/console/updates")
	if admin.count("#bulk") == 0 {
		t.Errorf("updates list: an admin sees no #bulk form")
	}
	admin.screenshot(root, "updates", 1280)
	admin.typeIn("input#q", consoleKB)
	admin.click("#search-submit")
	if n := admin.count("table#updates a.update-title"); n != 1 {
		t.Fatalf("search %s: %d updates listed, want 1: %s", consoleKB, n, admin.text("table#updates"))
	}
	mustContain(t, "search result", admin.text("table#updates tbody"), "KB"+consoleKB)
	admin.click("table#updates a.update-title")
	detail := "/console/updates/" + consoleUpdate
	if p := admin.path(); !strings.EqualFold(p, detail) {
		t.Errorf("the title leads to %s, want %s", p, detail)
	}
	box := admin.groupCheckbox(pilotID, pilot)
	admin.check(box)
	deadline := time.Now().UTC().Add(7 * 24 * time.Hour).Truncate(time.Hour)
	admin.setValue("#deadline", deadline.Format("2006-01-02T15:04"))
	// From the deadline to the approve button by keyboard, and Enter.
	admin.do(chromedp.Focus(chromedp.CSS("#deadline")))
	admin.tabTo("#approve-submit", 10) // the date field's parts take a Tab each
	if status := admin.pressEnter(); status != http.StatusOK {
		t.Errorf("approve: HTTP %d", status)
	}
	mustContain(t, "approve flash", admin.flash("ok"), pilot)
	if e := admin.flash("error"); e != "" {
		t.Fatalf("approve: %s", e)
	}
	approval := admin.approvalItem(pilotID, pilot)
	mustContain(t, "approvals section", admin.text(approval), pilot, deadline.Format("2006-01-02 15:04"))
	var upd struct {
		Approvals []struct {
			GroupID  string `json:"group_id"`
			Action   string `json:"action"`
			Deadline string `json:"deadline"`
		} `json:"approvals"`
	}
	apiCall(t, base, adminToken, http.MethodGet, "/api/v1/updates/"+consoleUpdate, nil, &upd)
	approved := false
	for _, a := range upd.Approvals {
		if strings.EqualFold(a.GroupID, pilotID) && a.Action == "Install" && strings.HasPrefix(a.Deadline, deadline.Format("2006-01-02T15:04")) {
			approved = true
		}
	}
	if !approved {
		t.Errorf("the API shows no Install approval for %s with deadline %s: %+v", pilot, deadline.Format(time.RFC3339), upd.Approvals)
	}

	// 3. The computer picks the approval up: needed.
	out := runTool(t, bin, "clientsim", nil, scan...)
	mustContain(t, "clientsim scan", out, "updates offered:  1\n")
	admin.eventually(detail, "the update needed by 1 computer", func() bool {
		return admin.text(`section#counts div[data-state="needed"] dd`) == "1"
	})
	admin.eventually("/console/", "the overview counting 1 computer needing updates", func() bool {
		return overviewMetrics(admin)["needing_updates"] == "1"
	})
	admin.screenshot(root, "overview", 1280)
	admin.screenshot(root, "overview-phone", 390)

	// 4. It installs and reports; the detail and the overview follow.
	out = runTool(t, bin, "clientsim", nil, append(scan, "--install")...)
	mustContain(t, "clientsim scan --install", out, "installs:         1 installed, 0 failed, 0 restart required\n")
	admin.eventually(detail, "the update installed on 1 computer", func() bool {
		return admin.text(`section#counts div[data-state="installed"] dd`) == "1" &&
			admin.text(`section#counts div[data-state="needed"] dd`) == "0"
	})
	admin.screenshot(root, "update", 1280)
	admin.eventually("/console/", "the overview back to 0 computers needing updates", func() bool {
		return overviewMetrics(admin)["needing_updates"] == "0"
	})

	// The other pages an admin opens, each shown.
	admin.open("/console/computers")
	mustContain(t, "computers page", admin.text("main"), consolePCDNS)
	admin.screenshot(root, "computers", 1280)
	admin.open("/console/computers/" + consolePC)
	mustContain(t, "computer detail", admin.text("main"), consolePCDNS, "KB"+consoleKB)
	if admin.count("form#groups") == 0 {
		t.Errorf("computer detail: an admin sees no form#groups")
	}
	admin.screenshot(root, "computer", 1280)
	// A rule with two rings, so the rules page shows a ring's gate and why
	// it waits.
	runTool(t, bin, "wsusctl", ctl, "create-group", "Broad")
	runTool(t, bin, "wsusctl", ctl, "rules", "create", "Monthly", "--deadline-days", "14")
	runTool(t, bin, "wsusctl", ctl, "rings", "create", "Pilot", "--rule", "Monthly", "--group", pilot, "--position", "1")
	runTool(t, bin, "wsusctl", ctl, "rings", "create", "Broad", "--rule", "Monthly", "--group", "Broad", "--position", "2",
		"--delay-days", "7", "--after-previous", "--min-installed-percent", "90", "--min-installs", "5", "--max-failed-percent", "5")
	admin.open("/console/rules")
	mustContain(t, "rules page", admin.text("main"), "Monthly", "Broad")
	if n := admin.count("li.ring .ring-status"); n != 2 {
		t.Errorf("rules page: %d ring statuses, want 2", n)
	}
	admin.screenshot(root, "rules", 1280)
	admin.open("/console/sync")
	if admin.count("form#sync-now") == 0 {
		t.Errorf("sync page: an admin sees no form#sync-now")
	}
	admin.screenshot(root, "sync", 1280)
	admin.open("/console/tokens")
	mustContain(t, "tokens page", admin.text("main"), "console-viewer")
	admin.screenshot(root, "tokens", 1280)
	admin.open("/console/audit")
	mustContain(t, "audit log", admin.text("main"), "console-viewer")
	admin.screenshot(root, "audit", 1280)

	// Every page works at a phone's 360 px: nothing sticks out sideways.
	for _, p := range []string{"/console/", "/console/updates", detail, "/console/computers", "/console/computers/" + consolePC,
		"/console/rules", "/console/sync", "/console/tokens", "/console/audit"} {
		admin.open(p)
		if px, what := admin.overflowsAt(360); px > 0 {
			t.Errorf("%s at 360 px wide: the page is %d px wider than the screen; sticking out: %s", p, px, strings.Join(what, ", "))
		}
	}

	// 5. A viewer, in a browser context of their own: no form that changes
	// anything, and a forged POST gets the API's refusal.
	decline := admin.formAction(detail, "form#decline")
	v := newTab(t, browser, base)
	v.signIn(viewer.Token)
	mustContain(t, "viewer's sign-in", v.flash("ok"), "Signed in", "viewer")
	for _, p := range []struct {
		path   string
		absent []string
	}{
		{"/console/", nil},
		{"/console/updates", []string{"#bulk", "form#approve", "form#decline"}},
		{detail, []string{"form#approve", "form#decline", "#bulk", "#approve-submit"}},
		{"/console/computers", []string{"form#groups", "form#bulk-move"}},
		{"/console/computers/" + consolePC, []string{"form#groups"}},
		{"/console/rules", nil},
		{"/console/sync", []string{"form#sync-now"}},
	} {
		v.open(p.path)
		for _, sel := range p.absent {
			if n := v.count(sel); n != 0 {
				t.Errorf("viewer at %s: %d × %s", p.path, n, sel)
			}
		}
		if forms := v.formsThatChange(); len(forms) != 0 {
			t.Errorf("viewer at %s: forms that change something: %v", p.path, forms)
		}
	}
	for _, p := range []string{"/console/tokens", "/console/audit"} {
		if n := v.count(`nav[aria-label="Main"] a[href="` + p + `"]`); n != 0 {
			t.Errorf("viewer: the navigation links to %s", p)
		}
	}
	v.open(detail)
	_, want403 := apiCall(t, base, viewer.Token, http.MethodPost, "/api/v1/updates/"+consoleUpdate+"/decline", nil, nil)
	if want403 == "" {
		t.Fatal("the API gave the viewer's decline no reason")
	}
	forged := v.forgedPost(decline)
	mustContain(t, "the forged decline's answer", forged, want403)
	var after struct {
		Declined bool `json:"declined"`
	}
	apiCall(t, base, adminToken, http.MethodGet, "/api/v1/updates/"+consoleUpdate, nil, &after)
	if after.Declined {
		t.Error("the viewer's forged POST declined the update")
	}

	// 6. Time to first render, over this small catalog (at scale:
	// TestConsoleRenderTiming with scripts/bench-console.sh).
	logRenderTiming(t, admin, 3)
}

// Time to first render of the overview and the updates page, measured in
// the browser, over a seeded data directory given with -console.data (see
// scripts/bench-console.sh: 50,000 updates and 100,000 computers). make
// test measures the same over the demo catalog at the end of
// TestConsoleBrowser; without -console.data this test skips.
func TestConsoleRenderTiming(t *testing.T) {
	if *consoleData == "" {
		t.Skip("no -console.data: scripts/bench-console.sh seeds a data directory and runs this test over it")
	}
	browser := newBrowser(t)
	_, _, base := consoleServer(t, *consoleData)
	b := newTab(t, browser, base)
	b.signIn(adminToken)
	logRenderTiming(t, b, max(*consoleReps, 1))
}

// logRenderTiming loads the overview and the updates page reps times each
// (after one warm-up load) in b, signed in, and logs the medians of what
// the browser measured: Navigation Timing (first byte,
// DOMContentLoaded) and Paint Timing (first contentful paint), in ms from
// the navigation's start.
func logRenderTiming(t *testing.T, b *tab, reps int) {
	t.Helper()
	var sum struct {
		Computers int `json:"computers"`
		Updates   int `json:"updates"`
	}
	apiCall(t, b.base, adminToken, http.MethodGet, "/api/v1/compliance/summary", nil, &sum)
	t.Logf("render timing over %d updates listed and %d computers", sum.Updates, sum.Computers)
	for _, p := range []struct{ name, path string }{{"overview", "/console/"}, {"updates", "/console/updates"}} {
		b.timing(p.path) // warm-up: the first load also fills the server's caches
		var fcp, dcl, ttfb []float64
		var bytes int64
		for range reps {
			m := b.timing(p.path)
			if m.FirstContentfulPaint < 0 {
				t.Errorf("%s: no first-contentful-paint entry", p.name)
			}
			fcp, dcl, ttfb = append(fcp, m.FirstContentfulPaint), append(dcl, m.DOMContentLoaded), append(ttfb, m.FirstByte)
			bytes = m.Bytes
		}
		t.Logf("%-8s %-16s first byte %s, DOMContentLoaded %s, first contentful paint %s (median of %d; FCP samples %s ms; %d bytes)",
			p.name, p.path, ms(median(ttfb)), ms(median(dcl)), ms(median(fcp)), reps, samples(fcp), bytes)
	}
}

// samples lists timings for the log.
func samples(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, " ")
}

// groupID returns the ID of the target group named name (GET
// /api/v1/groups).
func groupID(t *testing.T, base, name string) string {
	t.Helper()
	var raw json.RawMessage
	apiCall(t, base, adminToken, http.MethodGet, "/api/v1/groups", nil, &raw)
	var groups []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &groups); err != nil {
		var wrapped struct {
			Groups []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			t.Fatalf("GET /api/v1/groups: %v\n%s", err, raw)
		}
		for _, g := range wrapped.Groups {
			groups = append(groups, struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}(g))
		}
	}
	for _, g := range groups {
		if g.Name == name {
			return g.ID
		}
	}
	t.Fatalf("no target group %q: %s", name, raw)
	return ""
}

// overviewMetrics reads the overview's summary tiles: data-metric → the
// tile's value as shown.
func overviewMetrics(b *tab) map[string]string {
	return eval[map[string]string](b, `Object.fromEntries(Array.from(document.querySelectorAll("#summary [data-metric]"))
		.map((e) => [e.dataset.metric, (e.querySelector(".value") || e).textContent.trim()]))`)
}

// eventually reloads path until ok holds, up to the acceptance bound of
// issue 13 (60 s); it fails the test with what the page said otherwise.
func (b *tab) eventually(path, what string, ok func() bool) {
	b.t.Helper()
	start := time.Now()
	for {
		b.open(path)
		if ok() {
			b.t.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > complianceBound {
			b.t.Fatalf("%s: not within %v; %s says: %s", what, complianceBound, path, b.text("main"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// groupCheckbox returns a selector of the approve form's checkbox named
// "group" for the target group id (its value the ID or the name, or its
// label the name).
func (b *tab) groupCheckbox(id, name string) string {
	b.t.Helper()
	sel := eval[string](b, `(() => {
		const boxes = Array.from(document.querySelectorAll('form#approve input[type="checkbox"][name="group"]'));
		const want = [`+js(strings.ToLower(id))+`, `+js(name)+`];
		const i = boxes.findIndex((e) => want.includes(e.value.toLowerCase()) || want.includes(e.value)
			|| (e.labels && Array.from(e.labels).some((l) => l.textContent.trim() === `+js(name)+`)));
		if (i < 0) return "";
		const e = boxes[i];
		return e.id ? "#" + CSS.escape(e.id) : 'form#approve input[type="checkbox"][name="group"][value="' + CSS.escape(e.value) + '"]';
	})()`)
	if sel == "" {
		b.t.Fatalf("at %s: form#approve has no group checkbox for %s (%s); the form says: %s", b.path(), name, id, b.text("form#approve"))
	}
	return sel
}

// approvalItem returns a selector of the approvals section's entry for the
// target group id (its data-group the ID or the name).
func (b *tab) approvalItem(id, name string) string {
	b.t.Helper()
	for _, v := range []string{id, strings.ToLower(id), strings.ToUpper(id), name} {
		sel := `section#approvals li[data-group="` + v + `"]`
		if b.count(sel) > 0 {
			return sel
		}
	}
	b.t.Fatalf("at %s: section#approvals has no li[data-group] for %s (%s): %s", b.path(), name, id, b.text("section#approvals"))
	return ""
}

// formAction opens path and returns the action of the form sel there.
func (b *tab) formAction(path, sel string) string {
	b.t.Helper()
	b.open(path)
	a := b.attr(sel, "action")
	if a == "" {
		b.t.Fatalf("at %s: no %s with an action", path, sel)
	}
	return a
}

// forgedPost posts to action from the page's script with the page's own
// CSRF token (what a person could do from the developer tools), and
// returns the error flash of the page the answer lands on.
func (b *tab) forgedPost(action string) string {
	b.t.Helper()
	return eval[string](b, `(async () => {
		const csrf = document.querySelector('input[name="csrf"]').value;
		const r = await fetch(`+js(action)+`, {method: "POST", credentials: "same-origin",
			body: new URLSearchParams({csrf: csrf})});
		const doc = new DOMParser().parseFromString(await r.text(), "text/html");
		const e = doc.querySelector(".flash-error");
		return e ? e.textContent.replace(/\s+/g, " ").trim() : "HTTP " + r.status + ": " + doc.body.textContent.replace(/\s+/g, " ").trim().slice(0, 300);
	})()`)
}
