package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"wsus/catalog"
)

// syncRun stores a run as a synchronization would: begun, then updated
// with run's progress or outcome (a state other than running finishes it).
func (h *harness) syncRun(run catalog.SyncRun) catalog.SyncRun {
	h.t.Helper()
	ctx := context.Background()
	begun, err := h.store.BeginSyncRun(ctx, catalog.SyncRun{Trigger: run.Trigger, Holder: "test:1"}, time.Hour)
	if err != nil {
		h.t.Fatalf("begin run: %v", err)
	}
	run.ID, run.Started, run.Holder = begun.ID, begun.Started, begun.Holder
	out, err := h.store.UpdateSyncRun(ctx, run)
	if err != nil {
		h.t.Fatalf("update run %d: %v", run.ID, err)
	}
	return out
}

// attr is the value of the attribute of the first element sel finds.
func attr(doc *goquery.Document, sel, name string) string {
	v, _ := doc.Find(sel).First().Attr(name)
	return v
}

// TestSyncSettingsForm saves the settings through the form, finds them
// shown again on the page and stored as the API answers them, then sends
// a value the API refuses and finds its reason, the settings unchanged.
func TestSyncSettingsForm(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	status, doc := p.get("/console/sync")
	if status != http.StatusOK {
		t.Fatalf("GET /console/sync: %d %s", status, text(doc))
	}
	for _, sel := range []string{"#sync-status", "form#sync-settings", "form#sync-now", "table#sync-runs", `#sync-live[data-refresh="/console/sync/progress"]`} {
		if doc.Find(sel).Length() != 1 {
			t.Errorf("the page has no %s", sel)
		}
	}
	if got := doc.Find("#sync-status .sync-next").Text(); !strings.Contains(got, "manual only") {
		t.Errorf("next synchronization before a schedule: %q, want manual only", got)
	}
	// A product and a classification of the demo catalog, as the form lists them.
	product := attr(doc, `form#sync-settings input[name="products"]:not([value="all"])`, "value")
	if product == "" {
		t.Fatalf("the form lists no product: %s", text(doc))
	}
	form := url.Values{
		"upstream_url": {"https://upstream.contoso.test:8531"}, "replica": {"on"},
		"products": {product}, "classifications": {"all"}, "languages": {"en, de"},
		"content": {"on-demand"}, "syncs_per_day": {"4"}, "first_sync": {"03:30"},
	}
	_, doc = p.post("/console/sync/settings", form)
	if ok, failed := flash(doc); ok != "Synchronization settings saved." || failed != "" {
		t.Fatalf("save: flash %q, error %q", ok, failed)
	}
	for _, c := range []struct{ sel, attr, want string }{
		{"#upstream_url", "value", "https://upstream.contoso.test:8531"},
		{"#replica", "checked", "checked"},
		{`input[name="products"][value="` + product + `"]`, "checked", "checked"},
		{"#classifications-all", "checked", "checked"},
		{"#languages", "value", "en, de"},
		{`#content option[value="on-demand"]`, "selected", "selected"},
		{"#syncs_per_day", "value", "4"},
		{"#first_sync", "value", "03:30"},
	} {
		v, ok := doc.Find(c.sel).Attr(c.attr)
		if c.attr == "checked" || c.attr == "selected" {
			if ok {
				v = c.attr
			}
		}
		if v != c.want {
			t.Errorf("after saving, %s[%s] = %q, want %q", c.sel, c.attr, v, c.want)
		}
	}
	if doc.Find(`#products-all[checked]`).Length() != 0 {
		t.Error("after saving one product, all products is checked")
	}
	if got := doc.Find("#sync-status .sync-next").Text(); strings.Contains(got, "manual") || !strings.Contains(got, "UTC") {
		t.Errorf("next synchronization with a schedule: %q, want a time", got)
	}
	if got := doc.Find("#sync-status").Text(); !strings.Contains(got, "4 a day from 03:30 UTC") || !strings.Contains(got, "(replica)") {
		t.Errorf("status: %q, want the schedule and replica mode", strings.Join(strings.Fields(got), " "))
	}

	stored, err := h.store.SyncSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stored.UpstreamURL != "https://upstream.contoso.test:8531" || !stored.Replica || stored.AllProducts || len(stored.Products) != 1 ||
		stored.Products[0].String() != product || !stored.AllClassifications || strings.Join(stored.Languages, ",") != "en,de" ||
		stored.Content != catalog.ContentOnDemand || stored.SyncsPerDay != 4 || stored.FirstSync != 3*time.Hour+30*time.Minute {
		t.Errorf("stored settings %+v", stored)
	}

	form.Set("first_sync", "25:00")
	_, doc = p.post("/console/sync/settings", form)
	if _, failed := flash(doc); !strings.Contains(failed, `first_sync "25:00" is not a UTC time of day`) {
		t.Errorf("bad first sync: error %q, want the API's reason", failed)
	}
	if v := attr(doc, "#first_sync", "value"); v != "03:30" {
		t.Errorf("after a refused save, first_sync shows %q, want 03:30", v)
	}
	form.Set("first_sync", "03:30")
	form.Set("syncs_per_day", "often")
	_, doc = p.post("/console/sync/settings", form)
	if _, failed := flash(doc); !strings.Contains(failed, `Synchronizations a day: "often" is not a whole number`) {
		t.Errorf("syncs a day not a number: error %q, want it named", failed)
	}
	if v := attr(doc, "#syncs_per_day", "value"); v != "4" {
		t.Errorf("after a refused save, syncs_per_day shows %q, want 4", v)
	}
	form.Set("syncs_per_day", "4")

	// Someone else saves the settings after the page was read: saving the
	// form would undo their change, so the API refuses it (If-Match).
	form.Set("first_sync", "04:00")
	form.Set("etag", attr(doc, `form#sync-settings input[name="etag"]`, "value"))
	if form.Get("etag") == "" {
		t.Fatal("the settings form carries no etag")
	}
	stored.UpstreamURL = "https://other.contoso.test"
	if err := h.store.SetSyncSettings(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	_, doc = p.post("/console/sync/settings", form)
	if _, failed := flash(doc); !strings.Contains(failed, "Someone changed this setting since you opened it") {
		t.Errorf("stale form: error %q, want the precondition failure", failed)
	}
	if v := attr(doc, "#upstream_url", "value"); v != "https://other.contoso.test" {
		t.Errorf("after a stale save, the form shows upstream %q, want the other change", v)
	}
}

// TestSyncNowUnavailable starts a synchronization in a process that runs
// none (the harness's API has no SyncStarter): the API's 503 reason shows.
func TestSyncNowUnavailable(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	p.get("/console/sync")
	_, doc := p.post("/console/sync/run", url.Values{})
	if ok, failed := flash(doc); ok != "" || !strings.Contains(failed, "this server process does not run synchronizations") {
		t.Errorf("sync now: flash %q, error %q; want the API's 503 reason", ok, failed)
	}
	if runs, err := h.store.SyncRuns(context.Background(), 10); err != nil || len(runs) != 0 {
		t.Errorf("runs after a refused start: %v, %v", runs, err)
	}
}

// TestSyncProgressAndHistory shows a running run's progress in the
// fragment the script reloads and on the page, and the finished runs in
// the history.
func TestSyncProgressAndHistory(t *testing.T) {
	h := newHarness(t)
	ok := h.syncRun(catalog.SyncRun{Trigger: "schedule", State: catalog.SyncSucceeded, Phase: "content", Done: 40, Total: 40,
		New: 30, Revised: 8, Expired: 2, Files: 12, FilesTotal: 12, Bytes: 3 << 20, BytesTotal: 3 << 20})
	failed := h.syncRun(catalog.SyncRun{Trigger: "api", State: catalog.SyncFailed, Phase: "updates", Done: 3, Total: 9,
		Error: "syncer: GetUpdateData: connection reset"})
	running := h.syncRun(catalog.SyncRun{Trigger: "api", State: catalog.SyncRunning, Phase: "updates", Done: 120, Total: 1000,
		New: 100, Files: 5, FilesTotal: 50, Bytes: 5 << 20, BytesTotal: 50 << 20})

	p := h.signIn(h.token(catalog.RoleViewer))
	status, frag := p.get("/console/sync/progress")
	if status != http.StatusOK || frag.Find("header, form, h1").Length() != 0 {
		t.Fatalf("fragment: status %d, want 200 without the layout or a form: %s", status, frag.Text())
	}
	bar := frag.Find("progress")
	if max, _ := bar.Attr("max"); max != "1000" {
		t.Errorf("progress max %q, want 1000", max)
	}
	if v, _ := bar.Attr("value"); v != "120" {
		t.Errorf("progress value %q, want 120", v)
	}
	got := strings.Join(strings.Fields(frag.Text()), " ")
	for _, want := range []string{"running", "run 3", "Phase: updates, 120 of 1,000 (12 %)", "100 new", "5 of 50 files, 5.0 MiB of 50.0 MiB",
		"Last synchronization: failed", "Error: syncer: GetUpdateData: connection reset"} {
		if !strings.Contains(got, want) {
			t.Errorf("fragment lacks %q: %s", want, got)
		}
	}

	status, doc := p.get("/console/sync")
	if status != http.StatusOK || doc.Find("#sync-live progress").Length() != 1 {
		t.Fatalf("page: status %d, want the progress shown: %s", status, text(doc))
	}
	rows := doc.Find("table#sync-runs tbody tr")
	if rows.Length() != 3 {
		t.Fatalf("history: %d rows, want 3", rows.Length())
	}
	for i, run := range []catalog.SyncRun{running, failed, ok} {
		row := rows.Eq(i)
		if id, _ := row.Attr("data-run"); id != strings.TrimSpace(row.Find(`td[data-label="Run"]`).Text()) || id != fmt.Sprint(run.ID) {
			t.Errorf("row %d is run %q, want %d (newest first)", i, id, run.ID)
		}
		cell := func(label string) string { return strings.TrimSpace(row.Find(`td[data-label="` + label + `"]`).Text()) }
		if !strings.HasPrefix(cell("State"), string(run.State)) || cell("Trigger") != run.Trigger || cell("New") != fmt.Sprint(run.New) ||
			cell("Error") != run.Error || cell("Files") != fmt.Sprint(run.Files) {
			t.Errorf("row %d: %s", i, strings.Join(strings.Fields(row.Text()), " "))
		}
	}
	if cell := strings.TrimSpace(rows.Eq(2).Find(`td[data-label="Revised"]`).Text()); cell != "8" {
		t.Errorf("revised of run %d: %q", ok.ID, cell)
	}
	if cell := strings.TrimSpace(rows.Eq(2).Find(`td[data-label="Bytes"]`).Text()); cell != "3.0 MiB" {
		t.Errorf("bytes of run %d: %q", ok.ID, cell)
	}
	if cell := strings.TrimSpace(rows.Eq(0).Find(`td[data-label="Duration"]`).Text()); cell != "–" {
		t.Errorf("duration of the running run: %q", cell)
	}
	if cell := strings.TrimSpace(rows.Eq(1).Find(`td[data-label="Duration"]`).Text()); !strings.HasSuffix(cell, "s") || cell == "–" {
		t.Errorf("duration of a finished run: %q", cell)
	}
}

// historyIDs are the run IDs the history table of doc shows, in order.
func historyIDs(doc *goquery.Document) []int64 {
	var ids []int64
	doc.Find("table#sync-runs tbody tr[data-run]").Each(func(_ int, s *goquery.Selection) {
		var id int64
		fmt.Sscan(s.AttrOr("data-run", ""), &id)
		ids = append(ids, id)
	})
	return ids
}

// historyLink is the href of the history's pager link whose text holds
// label, "" when there is none.
func historyLink(doc *goquery.Document, label string) string {
	href, _ := doc.Find("#sync-history .pager a").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), label)
	}).Attr("href")
	return href
}

// TestSyncHistoryPages pages the history 20 runs at a time with the API's
// before_id: "Older runs" goes back until the oldest, every run shown
// exactly once, newest first; "Newest runs" comes back to the first page.
func TestSyncHistoryPages(t *testing.T) {
	h := newHarness(t)
	var want []int64 // newest first
	for range 45 {
		want = append([]int64{h.syncRun(catalog.SyncRun{Trigger: "schedule", State: catalog.SyncSucceeded}).ID}, want...)
	}
	p := h.signIn(h.token(catalog.RoleViewer))
	var seen []int64
	var sizes []int
	next := "/console/sync"
	for page := 0; next != "" && page < 10; page++ {
		status, doc := p.get(next)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", next, status)
		}
		ids := historyIDs(doc)
		seen, sizes = append(seen, ids...), append(sizes, len(ids))
		caption := strings.TrimSpace(doc.Find("table#sync-runs caption").Text())
		newest := historyLink(doc, "Newest runs")
		if page == 0 {
			if caption != "The newest 20 runs, newest first." || newest != "" {
				t.Errorf("first page: caption %q, newest link %q", caption, newest)
			}
		} else {
			before := want[20*page-1]
			if wantCaption := fmt.Sprintf("%d runs older than run %d, newest first.", len(ids), before); caption != wantCaption {
				t.Errorf("page %d: caption %q, want %q", page+1, caption, wantCaption)
			}
			if newest != "/console/sync#sync-history" {
				t.Errorf("page %d: newest link %q", page+1, newest)
			}
		}
		next = historyLink(doc, "Older runs")
		if next != "" && !strings.HasPrefix(next, fmt.Sprintf("/console/sync?before_id=%d", ids[len(ids)-1])) {
			t.Errorf("page %d: older link %q, want before the last shown, %d", page+1, next, ids[len(ids)-1])
		}
	}
	if fmt.Sprint(sizes) != "[20 20 5]" || fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("paging back saw pages of %v runs, %v; want 20, 20, 5 and each of %v once", sizes, seen, want)
	}

	// Exactly a page's worth left: no link to an empty page.
	_, doc := p.get(fmt.Sprintf("/console/sync?before_id=%d", want[24]))
	if ids := historyIDs(doc); len(ids) != 20 || ids[0] != want[25] || historyLink(doc, "Older runs") != "" {
		t.Errorf("the last 20 runs: %v, older link %q", ids, historyLink(doc, "Older runs"))
	}
	_, doc = p.get("/console/sync?before_id=1")
	if ids := historyIDs(doc); len(ids) != 0 || !strings.Contains(doc.Find("table#sync-runs tbody").Text(), "No run is older than run 1.") {
		t.Errorf("before the first run: %v", ids)
	}
	status, doc := p.get("/console/sync?before_id=zero")
	if status != http.StatusBadRequest || !strings.Contains(text(doc), `before_id "zero" is not a positive integer`) {
		t.Errorf("bad before_id: status %d, page %q; want the API's reason", status, text(doc))
	}
}

// TestSyncViewer checks that a viewer reads the synchronization page with
// no form on it, and that the API's refusal shows if one posts anyway.
func TestSyncViewer(t *testing.T) {
	h := newHarness(t)
	for _, role := range []catalog.Role{catalog.RoleViewer, catalog.RoleApprover} {
		p := h.signIn(h.token(role))
		status, doc := p.get("/console/sync")
		if status != http.StatusOK || doc.Find("#sync-status").Length() != 1 || doc.Find("table#sync-runs").Length() != 1 {
			t.Fatalf("%s: status %d: %s", role, status, text(doc))
		}
		if n := doc.Find("main form, main button").Length(); n != 0 {
			t.Errorf("%s: the page has %d forms or buttons, want none", role, n)
		}
		if got := doc.Find("#sync-settings-view").Text(); !strings.Contains(got, "Products") {
			t.Errorf("%s: the settings are not shown: %q", role, got)
		}
		_, doc = p.post("/console/sync/run", url.Values{})
		if _, failed := flash(doc); !strings.Contains(failed, "needs the admin role") {
			t.Errorf("%s: sync now: error %q, want the API's 403 reason", role, failed)
		}
		_, doc = p.post("/console/sync/settings", url.Values{"upstream_url": {"http://evil.test"}})
		if _, failed := flash(doc); !strings.Contains(failed, "needs the admin role") {
			t.Errorf("%s: settings: error %q, want the API's 403 reason", role, failed)
		}
	}
	if s, err := h.store.SyncSettings(context.Background()); err != nil || s.UpstreamURL != "" {
		t.Errorf("settings after refused changes: %+v, %v", s, err)
	}
}

// TestSyncLanguagesFromUpstream offers the languages a synchronization
// learned from the upstream as checkboxes, and saves the ones checked.
func TestSyncLanguagesFromUpstream(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	state := catalog.SyncState{UpstreamURL: "https://upstream.contoso.test", Config: catalog.UpstreamConfig{ProtocolVersion: "1.20",
		Languages: []catalog.UpstreamLanguage{{ID: 1, Short: "en", Long: "English", Enabled: true}, {ID: 2, Short: "de", Long: "German"},
			{ID: 3, Short: "pt-br", Long: "Portuguese (Brazil)"}}}}
	if err := h.store.SetSyncState(ctx, state); err != nil {
		t.Fatal(err)
	}
	p := h.signIn(adminToken)
	_, doc := p.get("/console/sync")
	if doc.Find("#languages").Length() != 0 || doc.Find(`#languages-all[checked]`).Length() != 1 {
		t.Errorf("with the upstream's languages known, want checkboxes with all checked: %s", text(doc))
	}
	if got := strings.TrimSpace(doc.Find(`label[for="languages-pt-br"]`).Text()); got != "Portuguese (Brazil) (pt-br)" {
		t.Errorf("pt-br's label %q", got)
	}
	if got := strings.Join(strings.Fields(doc.Find("#sync-status").Text()), " "); !strings.Contains(got, "protocol 1.20") || !strings.Contains(got, "3 languages") {
		t.Errorf("status lacks what the upstream said: %s", got)
	}
	_, doc = p.post("/console/sync/settings", url.Values{"languages": {"en", "pt-br"}, "content": {"approved"}, "syncs_per_day": {"0"}})
	if ok, failed := flash(doc); ok == "" || failed != "" {
		t.Fatalf("save: flash %q, error %q", ok, failed)
	}
	for short, want := range map[string]bool{"all": false, "en": true, "de": false, "pt-br": true} {
		if got := doc.Find(`#languages-`+short+`[checked]`).Length() == 1; got != want {
			t.Errorf("after saving en and pt-br, %s checked %t, want %t", short, got, want)
		}
	}
	if s, err := h.store.SyncSettings(ctx); err != nil || strings.Join(s.Languages, ",") != "en,pt-br" {
		t.Errorf("stored languages %v, %v; want en, pt-br", s.Languages, err)
	}
}
