package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// The demo catalog's bundle (testdata/catalog/microsoft) and one of its
// members, which the list shows under it, not as a row of its own.
const (
	defenderBundle = "1f9bd9bb-7390-4aa3-bbdb-ded99fac2583"
	amEngineMember = "ff36f0b5-dded-4780-8664-cd78af8b62c1"
)

// demoTitle is the demo update's title.
const demoTitle = "wsus demo update (download only)"

// updateRow is the list's row of update id.
func updateRow(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`table#updates tr[data-update-id="` + id + `"]`)
}

// TestUpdatesList checks the list: a search by a title word finds the
// demo update with a link to its detail, bundle members are listed under
// their bundle, and the filters are shown as they were asked.
func TestUpdatesList(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)

	status, doc := p.get("/console/updates?q=demo")
	if status != http.StatusOK || doc.Find(`form#update-filters input#q[name="q"][type="search"]`).AttrOr("value", "") != "demo" ||
		doc.Find("form#update-filters #search-submit").Length() != 1 {
		t.Fatalf("search demo: status %d; want the filter form keeping q=demo; page: %s", status, text(doc))
	}
	row := updateRow(doc, demoUpdate.String())
	if href := row.Find("a.update-title").AttrOr("href", ""); href != "/console/updates/"+demoUpdate.String() ||
		strings.TrimSpace(row.Find("a.update-title").Text()) != demoTitle {
		t.Errorf("demo row's title link = %q %q", href, row.Find("a.update-title").Text())
	}
	if row.Find("td.kb").Length() != 1 {
		t.Error("the demo row has no td.kb")
	}
	for sel, want := range map[string]string{"td.needed": "1", "td.failed": "1", "td.installed": "1", "td.approval": "Not approved"} {
		if got := strings.TrimSpace(row.Find(sel).Text()); got != want {
			t.Errorf("demo row %s = %q, want %q", sel, got, want)
		}
	}
	if n := doc.Find("table#updates tr[data-update-id]").Length(); n != 1 {
		t.Errorf("search demo lists %d updates, want 1", n)
	}

	_, doc = p.get("/console/updates?q=Defender")
	if updateRow(doc, defenderBundle).Length() != 1 {
		t.Fatalf("search Defender: no bundle row; page: %s", text(doc))
	}
	member := doc.Find(`table#updates tr.member[data-member-id="` + amEngineMember + `"]`)
	if member.Length() != 1 || member.Find(`a[href="/console/updates/`+amEngineMember+`"]`).Length() != 1 ||
		!strings.Contains(member.Text(), "AM Engine") {
		t.Errorf("the bundle's member AM Engine is not listed under it: %q", member.Text())
	}
	if prev := member.PrevAllFiltered("tr[data-update-id]").First().AttrOr("data-update-id", ""); prev != defenderBundle {
		t.Errorf("the member row follows update %q, want its bundle %s", prev, defenderBundle)
	}
	if updateRow(doc, amEngineMember).Length() != 0 {
		t.Error("a bundle member is listed as an update row of its own")
	}

	_, doc = p.get("/console/updates?q=nothing-matches-this")
	if doc.Find("table#updates").Length() != 0 || !strings.Contains(text(doc), "No update matches") {
		t.Errorf("no match: want no table and a sentence; page: %s", text(doc))
	}
}

// TestUpdatesSortAndPaging checks that the list is sorted and paged by the
// server and that the sort headers and page links keep the filters.
func TestUpdatesSortAndPaging(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)

	// "e" is in both updates' titles; by title the bundle ("HIDDEN: ...")
	// comes before the demo update ("wsus ...").
	_, doc := p.get("/console/updates?q=e&limit=1&sort=title")
	if updateRow(doc, defenderBundle).Length() != 1 || doc.Find("table#updates tr[data-update-id]").Length() != 1 {
		t.Fatalf("page 1 by title: want the bundle alone; page: %s", text(doc))
	}
	th := doc.Find(`table#updates th[aria-sort="ascending"] a`)
	if !strings.Contains(th.Text(), "Title") {
		t.Errorf("sorted column header = %q, want Title ascending", th.Text())
	}
	next := doc.Find(`.pager a[rel="next"]`).First().AttrOr("href", "")
	u, err := url.Parse(next)
	if err != nil || u.Path != "/console/updates" {
		t.Fatalf("next link %q", next)
	}
	for k, want := range map[string]string{"q": "e", "limit": "1", "sort": "title", "offset": "1"} {
		if got := u.Query().Get(k); got != want {
			t.Errorf("next link %q: %s = %q, want %q", next, k, got, want)
		}
	}
	_, doc = p.get(next)
	if updateRow(doc, demoUpdate.String()).Length() != 1 || doc.Find(`.pager a[rel="prev"]`).Length() == 0 {
		t.Errorf("page 2: want the demo update and a previous link; page: %s", text(doc))
	}

	// The title header now sorts descending, keeping q and limit, from the first page.
	href := doc.Find(`table#updates th[aria-sort="ascending"] a`).AttrOr("href", "")
	u, _ = url.Parse(href)
	for k, want := range map[string]string{"q": "e", "limit": "1", "sort": "title", "order": "desc", "offset": ""} {
		if got := u.Query().Get(k); got != want {
			t.Errorf("title header %q: %s = %q, want %q", href, k, got, want)
		}
	}
	_, doc = p.get(href)
	if updateRow(doc, demoUpdate.String()).Length() != 1 {
		t.Errorf("by title descending, page 1: want the demo update; page: %s", text(doc))
	}
	// Without a sort, the list is newest first, and the header says so.
	_, doc = p.get("/console/updates")
	if th := doc.Find(`table#updates th[aria-sort="descending"]`); !strings.Contains(th.Text(), "Released") ||
		!strings.Contains(th.Find("a").AttrOr("href", ""), "order=asc") {
		t.Errorf("default order: descending header %q %q, want Released toggling to asc", th.Text(), th.Find("a").AttrOr("href", ""))
	}
	if doc.Find("details.more-filters[open]").Length() != 0 {
		t.Error("the less used filters are open while none is set")
	}
	_, doc = p.get("/console/updates?severity=Critical")
	if doc.Find(`details.more-filters[open] input[name="severity"][value="Critical"][checked]`).Length() != 1 {
		t.Error("severity=Critical: the more filters are not open with Critical checked")
	}
	// A sort the API orders most first by default is named so.
	_, doc = p.get("/console/updates?sort=needed")
	if th := doc.Find(`table#updates th[aria-sort="descending"]`).Text(); !strings.Contains(th, "Needed") {
		t.Errorf("sort=needed: descending header = %q, want Needed", th)
	}
	if first := doc.Find("table#updates tr[data-update-id]").First().AttrOr("data-update-id", ""); first != demoUpdate.String() {
		t.Errorf("sort=needed: first row %s, want the demo update (needed by 1)", first)
	}
	// The filter form keeps the sort.
	if doc.Find(`form#update-filters input[type="hidden"][name="sort"][value="needed"]`).Length() != 1 {
		t.Error("the filter form does not keep the sort")
	}
}

// TestUpdatesBadFilter checks that a filter the API refuses shows the
// filters again with the API's reason.
func TestUpdatesBadFilter(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	for _, tc := range []struct {
		query, reason string
	}{
		{"product=No+Such+Product", `product "No Such Product": the upstream offers no product`},
		{"severity=Bogus", `severity "Bogus" is not one of Critical, Important, Moderate, Low, none`},
		{"released_after=yesterday", `released_after "yesterday" is not an RFC 3339 time or a date`},
		{"approval=maybe", `approval "maybe" is not one of`},
		{"sort=colour", `sort "colour" is not one of`},
	} {
		status, doc := p.get("/console/updates?" + tc.query)
		_, failed := flash(doc)
		if status != http.StatusBadRequest || !strings.Contains(failed, tc.reason) {
			t.Errorf("%s: status %d, error %q; want 400 with %q", tc.query, status, failed, tc.reason)
		}
		if doc.Find("form#update-filters").Length() != 1 || doc.Find("table#updates").Length() != 0 {
			t.Errorf("%s: want the filter form and no table", tc.query)
		}
	}
}

// TestUpdateDetail checks the detail: the facts, the seeded counts (1
// installed, 1 needed, 1 failed) and the computers in each state.
func TestUpdateDetail(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	path := "/console/updates/" + demoUpdate.String()

	status, doc := p.get(path)
	if status != http.StatusOK || strings.TrimSpace(doc.Find("h1").Text()) != demoTitle {
		t.Fatalf("detail: status %d, h1 %q", status, doc.Find("h1").Text())
	}
	if !strings.Contains(doc.Find("section#facts").Text(), "locally published update") {
		t.Error("the facts lack the description")
	}
	for state, want := range map[string]string{"installed": "1", "needed": "1", "failed": "1", "not_applicable": "0", "no_status": "0"} {
		if got := strings.TrimSpace(doc.Find(`section#counts div[data-state="` + state + `"] dd`).Text()); got != want {
			t.Errorf("count %s = %q, want %q", state, got, want)
		}
	}
	if n := doc.Find("table#update-computers tbody tr").Length(); n != 3 {
		t.Errorf("every reporting computer: %d rows, want 3", n)
	}

	for _, tc := range []struct {
		state, label, client, name, text string
	}{
		{"installed", "Installed", pcOK, "ws-ok.corp.example", "Installed"},
		{"needed", "Needed", pcNeeds, "ws-needs.corp.example", "NotInstalled"},
		{"failed", "Failed", pcFailed, "ws-failed.corp.example", "0x80070643"},
	} {
		tab := doc.Find(`nav.state-tabs a[href="` + path + `?state=` + tc.state + `"]`)
		if !strings.Contains(tab.Text(), "(1)") {
			t.Errorf("state tab %s = %q, want its count (1)", tc.state, tab.Text())
		}
		_, sd := p.get(tab.AttrOr("href", path))
		rows := sd.Find("table#update-computers tbody tr")
		link := rows.Find(`a[href="/console/computers/` + tc.client + `"]`)
		if rows.Length() != 1 || strings.TrimSpace(link.Text()) != tc.name || !strings.Contains(rows.Text(), tc.text) {
			t.Errorf("state %s: %d rows %q; want %s alone with %q", tc.state, rows.Length(), rows.Text(), tc.name, tc.text)
		}
		if cur := sd.Find(`nav.state-tabs a[aria-current="page"]`).Text(); cur != tc.label+" (1)" {
			t.Errorf("state %s: current tab %q", tc.state, cur)
		}
	}

	// The counts' fragment, which the page reloads, follows the clients'
	// reports.
	if src := doc.Find(`section#counts [data-refresh]`).AttrOr("data-refresh", ""); src != path+"/counts" {
		t.Errorf("counts refresh from %q, want %s/counts", src, path)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := h.store.SetStatuses(t.Context(), pcNeeds, []catalog.UpdateStatus{{ClientID: pcNeeds, UpdateID: demoUpdate,
		State: catalog.StateInstalled, ChangedAt: now}}, true, now); err != nil {
		t.Fatal(err)
	}
	_, frag := p.get(path + "/counts")
	for state, want := range map[string]string{"installed": "2", "needed": "0", "failed": "1"} {
		if got := strings.TrimSpace(frag.Find(`div[data-state="` + state + `"] dd`).Text()); got != want {
			t.Errorf("counts fragment after an install: %s = %q, want %q", state, got, want)
		}
	}
	if frag.Find("main, form").Length() != 0 {
		t.Error("the counts fragment carries the layout or a form")
	}

	_, doc = p.get(path + "?state=no_status")
	if doc.Find("table#update-computers").Length() != 0 || !strings.Contains(text(doc), "No computer is in this state") {
		t.Errorf("no_status: want no table and a sentence; page: %s", text(doc))
	}
	status, doc = p.get(path + "?state=sleeping")
	if _, failed := flash(doc); status != http.StatusBadRequest || !strings.Contains(failed, `state "sleeping" is not one of`) {
		t.Errorf("state=sleeping: status %d, error %q; want 400 with the API's reason", status, failed)
	}
	status, doc = p.get("/console/updates/00000000-0000-0000-0000-00000000beef")
	if status != http.StatusNotFound || !strings.Contains(text(doc), "the catalog has no update") {
		t.Errorf("unknown update: status %d, page %q", status, text(doc))
	}
}

// approvalsOf reads the approvals of the demo update from the API.
func approvalsOf(h *harness) []admin.Approval {
	var list admin.ApprovalList
	h.api(http.MethodGet, "/api/v1/approvals", "", http.StatusOK, &list)
	var out []admin.Approval
	for _, a := range list.Approvals {
		if a.UpdateID == demoUpdate {
			out = append(out, a)
		}
	}
	return out
}

// TestUpdateApprove checks approving the demo update for a group with a
// deadline through the detail's form, and removing the approval.
func TestUpdateApprove(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	path := "/console/updates/" + demoUpdate.String()
	ring1ID := h.groups[ring1].String()

	_, doc := p.get(path)
	box := doc.Find(`form#approve input[type="checkbox"][name="group"][value="` + ring1ID + `"]`)
	if box.Length() != 1 || strings.TrimSpace(doc.Find(`form#approve label[for="`+box.AttrOr("id", "")+`"]`).Text()) != ring1 {
		t.Fatalf("the approve form has no labelled checkbox for %s", ring1)
	}
	if strings.TrimSpace(doc.Find(`label[for="deadline"]`).Text()) != "Deadline (UTC, optional)" ||
		doc.Find(`form#approve input#deadline[name="deadline"][type="datetime-local"]`).Length() != 1 ||
		doc.Find("form#approve button#approve-submit").Length() != 1 {
		t.Fatal("the approve form lacks the labelled deadline or its button")
	}

	status, doc := p.updatesSubmit(t, doc, "form#approve", url.Values{"group": {ring1ID}, "action": {"Install"}, "deadline": {"2026-12-24T18:00"}})
	ok, failed := flash(doc)
	if want := "Approved " + demoTitle + " for " + ring1 + ", deadline 2026-12-24 18:00 UTC."; status != http.StatusOK || ok != want || failed != "" {
		t.Errorf("approve: status %d, flash %q / %q; want %q", status, ok, failed, want)
	}
	li := doc.Find(`section#approvals li[data-group="` + ring1 + `"]`)
	if !strings.Contains(li.Text(), "Install") || !strings.Contains(li.Text(), "2026-12-24 18:00 UTC") {
		t.Errorf("approvals after approve: %q, want Install with the deadline", li.Text())
	}
	got := approvalsOf(h)
	want := time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)
	if len(got) != 1 || got[0].GroupID != h.groups[ring1] || got[0].Action != catalog.ActionInstall ||
		got[0].Deadline == nil || !got[0].Deadline.Equal(want) {
		t.Fatalf("API approvals after approve: %+v; want one for %s with deadline %s", got, ring1, want)
	}
	_, list := p.get("/console/updates?q=demo")
	if cell := updateRow(list, demoUpdate.String()).Find("td.approval").Text(); !strings.Contains(cell, ring1) {
		t.Errorf("list approval cell %q, want %s", cell, ring1)
	}

	// No group checked: nothing is sent, and the person is told.
	_, doc = p.updatesSubmit(t, doc, "form#approve", url.Values{"action": {"Install"}})
	if _, failed := flash(doc); !strings.Contains(failed, "Choose at least one group") {
		t.Errorf("approve without a group: error %q", failed)
	}
	// A deadline that is no time.
	_, doc = p.updatesSubmit(t, doc, "form#approve", url.Values{"group": {ring1ID}, "deadline": {"soon"}})
	if _, failed := flash(doc); !strings.Contains(failed, `The deadline "soon" is not a date and time`) {
		t.Errorf("approve with deadline soon: error %q", failed)
	}
	// The API's refusal: a deadline with NotApproved.
	_, doc = p.updatesSubmit(t, doc, "form#approve", url.Values{"group": {ring1ID}, "action": {"NotApproved"}, "deadline": {"2026-12-24T18:00"}})
	if _, failed := flash(doc); !strings.Contains(failed, "a deadline makes no sense with action NotApproved") {
		t.Errorf("remove with a deadline: error %q, want the API's reason", failed)
	}

	_, doc = p.updatesSubmit(t, doc, "form#approve", url.Values{"group": {ring1ID}, "action": {"NotApproved"}})
	if ok, _ := flash(doc); ok != "Removed the approval of "+demoTitle+" for "+ring1+"." {
		t.Errorf("remove: flash %q", ok)
	}
	if doc.Find(`section#approvals li[data-group="`+ring1+`"]`).Length() != 0 || len(approvalsOf(h)) != 0 {
		t.Errorf("after removing, approvals remain: %+v", approvalsOf(h))
	}
}

// TestUpdateDecline checks declining and undeclining from the detail.
func TestUpdateDecline(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	path := "/console/updates/" + demoUpdate.String()

	_, doc := p.get(path)
	if b := strings.TrimSpace(doc.Find("form#decline button").Text()); b != "Decline" || doc.Find("form#undecline").Length() != 0 {
		t.Fatalf("detail of a live update: decline button %q; want Decline and no undecline form", b)
	}
	_, doc = p.updatesSubmit(t, doc, "form#decline", url.Values{})
	if ok, _ := flash(doc); ok != "Declined "+demoTitle+"." {
		t.Errorf("decline: flash %q", ok)
	}
	if doc.Find("form#undecline").Length() != 1 || doc.Find("form#decline").Length() != 0 {
		t.Error("after decline: want the undecline form only")
	}
	_, list := p.get("/console/updates?approval=declined")
	if updateRow(list, demoUpdate.String()).Length() != 1 || updateRow(list, defenderBundle).Length() != 0 {
		t.Errorf("approval=declined lists: %s", text(list))
	}
	// Approving a declined update is refused by the API, with its reason.
	_, doc = p.updatesSubmit(t, doc, "form#approve", url.Values{"group": {h.groups[ring2].String()}})
	if _, failed := flash(doc); !strings.Contains(failed, "declined") || len(approvalsOf(h)) != 0 {
		t.Errorf("approve a declined update: error %q, approvals %+v", failed, approvalsOf(h))
	}

	_, doc = p.updatesSubmit(t, doc, "form#undecline", url.Values{})
	if ok, _ := flash(doc); ok != "Undeclined "+demoTitle+"." || doc.Find("form#decline").Length() != 1 {
		t.Errorf("undecline: flash %q", ok)
	}
	var u admin.UpdateDetail
	h.api(http.MethodGet, "/api/v1/updates/"+demoUpdate.String(), "", http.StatusOK, &u)
	if u.Declined {
		t.Error("the API still says declined after undecline")
	}
}

// TestUpdatesBulk checks the list's bulk form: approve the checked
// updates for two groups, decline every update a filter selects, and
// the refusals.
func TestUpdatesBulk(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)

	_, doc := p.get("/console/updates?q=demo")
	if doc.Find(`form#bulk input[type="checkbox"][name="update"][value="`+demoUpdate.String()+`"]`).Length() != 1 {
		t.Fatalf("no bulk checkbox for the demo update; page: %s", text(doc))
	}
	_, doc = p.updatesSubmit(t, doc, "form#bulk", url.Values{"operation": {"approve"}, "update": {demoUpdate.String()},
		"group": {h.groups[ring1].String(), h.groups[ring2].String()}, "deadline": {"2027-01-05T09:30"}, "scope": {"selected"}})
	ok, failed := flash(doc)
	if want := "Approved 1 update for Ring 1; approved 1 update for Ring 2 (deadline 2027-01-05 09:30 UTC)."; ok != want || failed != "" {
		t.Errorf("bulk approve: flash %q / %q, want %q", ok, failed, want)
	}
	if got := approvalsOf(h); len(got) != 2 || got[0].Deadline == nil || got[0].Deadline.Format(time.RFC3339) != "2027-01-05T09:30:00Z" {
		t.Errorf("API approvals after bulk approve: %+v", got)
	}

	// Every update the filter "q=demo" selects: the demo update only.
	_, doc = p.get("/console/updates?q=demo")
	if f := doc.Find(`form#bulk input[name="filter"]`).AttrOr("value", ""); f != "q=demo" {
		t.Errorf("bulk form's filter = %q, want q=demo", f)
	}
	_, doc = p.updatesSubmit(t, doc, "form#bulk", url.Values{"operation": {"decline"}, "scope": {"filter"}})
	if ok, _ := flash(doc); ok != "Declined 1 update." {
		t.Errorf("bulk decline by filter: flash %q", ok)
	}
	var u admin.UpdateDetail
	h.api(http.MethodGet, "/api/v1/updates/"+demoUpdate.String(), "", http.StatusOK, &u)
	var bundle admin.UpdateDetail
	h.api(http.MethodGet, "/api/v1/updates/"+defenderBundle, "", http.StatusOK, &bundle)
	if !u.Declined || bundle.Declined {
		t.Errorf("after bulk decline of q=demo: demo declined %v, bundle declined %v", u.Declined, bundle.Declined)
	}

	_, doc = p.get("/console/updates?approval=declined")
	_, doc = p.updatesSubmit(t, doc, "form#bulk", url.Values{"operation": {"undecline"}, "update": {demoUpdate.String(), defenderBundle}})
	if ok, _ := flash(doc); ok != "Undeclined 2 updates." {
		t.Errorf("bulk undecline: flash %q", ok)
	}
	h.api(http.MethodGet, "/api/v1/updates/"+demoUpdate.String(), "", http.StatusOK, &u)
	if u.Declined {
		t.Error("still declined after bulk undecline")
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		reason string
	}{
		{"nothing checked", url.Values{"operation": {"decline"}}, "Check at least one update"},
		{"no group", url.Values{"operation": {"approve"}, "update": {demoUpdate.String()}}, "Choose at least one group"},
		{"unknown operation", url.Values{"operation": {"explode"}, "update": {demoUpdate.String()}}, `operation "explode" is not one of`},
		{"bad GUID", url.Values{"operation": {"decline"}, "update": {"not-a-guid"}}, `update_ids[0] "not-a-guid" is not a GUID`},
		{"empty selection", url.Values{"operation": {"decline"}, "scope": {"filter"}, "filter": {"q=nothing-matches"}}, "No update matches this filter"},
	} {
		_, doc = p.get("/console/updates")
		_, doc = p.updatesSubmit(t, doc, "form#bulk", tc.form)
		if _, failed := flash(doc); !strings.Contains(failed, tc.reason) {
			t.Errorf("%s: error %q, want %q", tc.name, failed, tc.reason)
		}
	}
	// An item the API refuses is counted and its reason given.
	_, doc = p.get("/console/updates")
	_, doc = p.updatesSubmit(t, doc, "form#bulk", url.Values{"operation": {"decline"},
		"update": {demoUpdate.String(), "00000000-0000-0000-0000-00000000beef"}})
	if _, failed := flash(doc); !strings.Contains(failed, "Declined 1 update; 1 update refused (first: the catalog has no update") {
		t.Errorf("partly refused bulk: error %q", failed)
	}
}

// TestUpdatesViewer checks that a viewer sees no form that changes
// anything, and that a forged POST is refused with the API's reason and
// changes nothing.
func TestUpdatesViewer(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(h.token(catalog.RoleViewer))
	path := "/console/updates/" + demoUpdate.String()

	_, doc := p.get("/console/updates?q=demo")
	if updateRow(doc, demoUpdate.String()).Length() != 1 {
		t.Fatalf("the viewer does not see the list; page: %s", text(doc))
	}
	if doc.Find(`#bulk, input[name="update"], main form[method="post"]`).Length() != 0 {
		t.Error("the viewer's list has bulk controls or a POST form")
	}
	_, doc = p.get(path)
	if doc.Find(`form#approve, form#decline, form#undecline, main form[method="post"], main button`).Length() != 0 {
		t.Error("the viewer's detail has a form or a button that changes something")
	}
	if doc.Find("section#counts").Length() != 1 || doc.Find("table#update-computers tbody tr").Length() != 3 {
		t.Error("the viewer's detail lacks the counts or the computers")
	}

	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{path + "/approve", url.Values{"group": {h.groups[ring1].String()}, "action": {"Install"}}},
		{path + "/decline", url.Values{}},
		{"/console/updates/bulk", url.Values{"operation": {"decline"}, "update": {demoUpdate.String()}}},
		{"/console/updates/bulk", url.Values{"operation": {"approve"}, "update": {demoUpdate.String()}, "group": {h.groups[ring1].String()}}},
	} {
		_, doc := p.post(tc.path, tc.form)
		if _, failed := flash(doc); !strings.Contains(failed, "needs the approver role") {
			t.Errorf("viewer POST %s: error %q, want the API's 403 reason", tc.path, failed)
		}
	}
	var u admin.UpdateDetail
	h.api(http.MethodGet, "/api/v1/updates/"+demoUpdate.String(), "", http.StatusOK, &u)
	if u.Declined || len(u.Approvals) != 0 || len(approvalsOf(h)) != 0 {
		t.Errorf("a viewer's POSTs changed the update: declined %v, approvals %+v", u.Declined, u.Approvals)
	}
}

// TestUpdateApproveDeadlines checks how the approve form reads its
// deadline: what a datetime-local input sends, with or without seconds, is
// UTC; an RFC 3339 time keeps its offset; empty means none.
func TestUpdateApproveDeadlines(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	path := "/console/updates/" + demoUpdate.String()
	for _, tc := range []struct {
		deadline, want, flash string
	}{
		{"2026-12-24T18:00", "2026-12-24T18:00:00Z", "deadline 2026-12-24 18:00 UTC"},
		{"2026-12-24T18:00:30", "2026-12-24T18:00:30Z", "deadline 2026-12-24 18:00 UTC"},
		{"2026-12-24T20:00:00+02:00", "2026-12-24T18:00:00Z", "deadline 2026-12-24 18:00 UTC"},
		{"", "", "no deadline"},
	} {
		_, doc := p.get(path)
		_, doc = p.updatesSubmit(t, doc, "form#approve", url.Values{"group": {h.groups[ring2].String()}, "deadline": {tc.deadline}})
		if ok, failed := flash(doc); !strings.HasSuffix(ok, ", "+tc.flash+".") {
			t.Errorf("deadline %q: flash %q / %q, want it to end with %q", tc.deadline, ok, failed, tc.flash)
		}
		got := approvalsOf(h)
		if len(got) != 1 {
			t.Fatalf("deadline %q: approvals %+v", tc.deadline, got)
		}
		var d string
		if got[0].Deadline != nil {
			d = got[0].Deadline.Format(time.RFC3339)
		}
		if d != tc.want {
			t.Errorf("deadline %q: the API keeps %q, want %q", tc.deadline, d, tc.want)
		}
	}
}

// TestUpdateComputersSort checks the sortable headers of an update's
// computers: by name unless told, the State header sorting by what needs
// attention first and then the other way, the last change newest first,
// and the state tab, paging and sort kept by each other's links. A viewer
// sorts too.
func TestUpdateComputersSort(t *testing.T) {
	h := newHarness(t)
	// ws-needs downloaded the update an hour from now: its last change.
	later := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	if err := h.store.SetStatuses(t.Context(), pcNeeds, []catalog.UpdateStatus{{ClientID: pcNeeds, UpdateID: demoUpdate,
		State: catalog.StateDownloaded, ChangedAt: later}}, true, later); err != nil {
		t.Fatal(err)
	}
	p := h.signIn(adminToken)
	path := "/console/updates/" + demoUpdate.String()
	tb := sortedTable{t: t, path: path, table: "table#update-computers", attr: "data-client-id"}

	_, doc := p.get(path)
	tb.check("default", doc, pcFailed, pcNeeds, pcOK)
	if s := tb.header(doc, "Computer").AttrOr("aria-sort", ""); s != "ascending" {
		t.Errorf("default: Computer header aria-sort %q, want ascending", s)
	}
	if tb.header(doc, "Error").Find("a").Length() != 0 {
		t.Error("the Error column sorts: the API cannot")
	}

	// State: failed, needed, installed; again: the other way.
	_, doc = p.get(tb.header(doc, "State").Find("a").AttrOr("href", ""))
	tb.check("by state", doc, pcFailed, pcNeeds, pcOK)
	th := tb.header(doc, "State")
	if th.AttrOr("aria-sort", "") != "ascending" || !strings.Contains(th.Text(), "▲") {
		t.Errorf("by state: header %q aria-sort %q", th.Text(), th.AttrOr("aria-sort", ""))
	}
	_, doc = p.get(th.Find("a").AttrOr("href", ""))
	tb.check("by state, descending", doc, pcOK, pcNeeds, pcFailed)
	if s := tb.header(doc, "State").AttrOr("aria-sort", ""); s != "descending" {
		t.Errorf("by state, descending: aria-sort %q", s)
	}

	// The last change is newest first unless told, and the header says so.
	_, doc = p.get(path + "?sort=changed")
	tb.check("by last change", doc, pcNeeds, pcFailed, pcOK)
	if th := tb.header(doc, "State changed"); th.AttrOr("aria-sort", "") != "descending" ||
		tb.query(th.Find("a").AttrOr("href", "")).Get("order") != "asc" {
		t.Errorf("by last change: header aria-sort %q href %q, want descending toggling to asc", th.AttrOr("aria-sort", ""),
			th.Find("a").AttrOr("href", ""))
	}

	// Paging keeps the sort; the state tabs keep it and start again; the
	// headers keep the state.
	_, doc = p.get(path + "?sort=state&order=desc&limit=1")
	tb.check("by state, descending, page 1", doc, pcOK)
	next := doc.Find(`#computers .pager a[rel="next"]`).AttrOr("href", "")
	for k, want := range map[string]string{"sort": "state", "order": "desc", "limit": "1", "offset": "1"} {
		if got := tb.query(next).Get(k); got != want {
			t.Errorf("next link %q: %s = %q, want %q", next, k, got, want)
		}
	}
	_, doc = p.get(next)
	tb.check("by state, descending, page 2", doc, pcNeeds)
	tab := doc.Find(`nav.state-tabs a`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.HasPrefix(s.Text(), "Installed")
	}).AttrOr("href", "")
	for k, want := range map[string]string{"state": "installed", "sort": "state", "order": "desc", "offset": ""} {
		if got := tb.query(tab).Get(k); got != want {
			t.Errorf("Installed tab %q: %s = %q, want %q", tab, k, got, want)
		}
	}
	_, doc = p.get(path + "?state=needed,failed&sort=state")
	tb.check("needed or failed, by state", doc, pcFailed, pcNeeds)
	href := tb.header(doc, "Last status report").Find("a").AttrOr("href", "")
	if q := tb.query(href); q.Get("state") != "needed,failed" || q.Get("sort") != "last_status" {
		t.Errorf("Last status header %q: want the state kept and sort=last_status", href)
	}

	// An order the API refuses shows its reason.
	status, doc := p.get(path + "?sort=title")
	if _, failed := flash(doc); status != http.StatusBadRequest || !strings.Contains(failed, `sort "title" is not one of name, state, changed, last_status`) {
		t.Errorf("sort=title: status %d, error %q; want 400 with the API's reason", status, failed)
	}

	// A viewer sorts too, and sees no form that changes anything.
	v := h.signIn(h.token(catalog.RoleViewer))
	_, doc = v.get(path + "?sort=state&order=desc")
	tb.check("viewer, by state, descending", doc, pcOK, pcNeeds, pcFailed)
	if n := doc.Find(`main form[method="post"]`).Length(); n != 0 {
		t.Errorf("the viewer sees %d forms that post", n)
	}
}
