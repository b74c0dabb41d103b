package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// tokenRow is the row of table#tokens naming name (an empty selection
// when none does).
func tokenRow(doc *goquery.Document, name string) *goquery.Selection {
	return doc.Find("table#tokens tbody tr").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.TrimSuffix(strings.TrimSpace(s.Find(`td[data-label="Name"]`).Text()), " you") == name
	})
}

// TestTokensCreateRevoke creates a token through the form, finds its
// secret shown once and signing in, revokes it, and finds both changes in
// the audit log with the actor who made them.
func TestTokensCreateRevoke(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	status, doc := p.get("/console/tokens")
	if status != http.StatusOK || doc.Find("form#token-create").Length() != 1 || doc.Find("table#tokens").Length() != 1 {
		t.Fatalf("tokens page: status %d: %s", status, text(doc))
	}
	for _, role := range []string{"viewer", "approver", "admin"} {
		if doc.Find(`form#token-create select[name="role"] option[value="`+role+`"]`).Length() != 1 {
			t.Errorf("the create form offers no %s role", role)
		}
	}

	_, doc = p.post("/console/tokens", url.Values{"name": {"helpdesk"}, "role": {"viewer"}})
	ok, failed := flash(doc)
	secret := attr(doc, ".flash-ok .secret input", "value")
	if failed != "" || !strings.Contains(ok, `Token "helpdesk" (viewer) created`) || !strings.HasPrefix(secret, "wsus_") {
		t.Fatalf("create: flash %q, error %q, secret %q", ok, failed, secret)
	}
	row := tokenRow(doc, "helpdesk")
	if row.Length() != 1 {
		t.Fatalf("the new token is not listed: %s", text(doc))
	}
	if role := strings.TrimSpace(row.Find(`td[data-label="Role"]`).Text()); role != "viewer" {
		t.Errorf("the new token's role: %q", role)
	}
	if by := strings.TrimSpace(row.Find(`td[data-label="Created by"]`).Text()); by != admin.BootstrapActor {
		t.Errorf("created by %q, want %q", by, admin.BootstrapActor)
	}
	if strings.Contains(doc.Find("table#tokens").Text(), secret) {
		t.Error("the table shows the secret")
	}
	_, doc = p.get("/console/tokens")
	if doc.Find(".secret").Length() != 0 || strings.Contains(text(doc), secret) {
		t.Error("the secret is shown again on the next page")
	}

	helpdesk := h.signIn(secret)
	if _, doc := helpdesk.get("/console/"); !strings.Contains(doc.Find(".who").Text(), "helpdesk") {
		t.Errorf("signed in with the new secret, the header names %q", doc.Find(".who").Text())
	}

	_, doc = p.post("/console/tokens", url.Values{"name": {"helpdesk"}, "role": {"viewer"}})
	if _, failed := flash(doc); !strings.Contains(failed, `a token is named "helpdesk"`) {
		t.Errorf("duplicate name: error %q, want the API's reason", failed)
	}
	_, doc = p.post("/console/tokens", url.Values{"name": {"x"}, "role": {"owner"}})
	if _, failed := flash(doc); !strings.Contains(failed, `role "owner" is not one of admin, approver, viewer`) {
		t.Errorf("bad role: error %q, want the API's reason", failed)
	}

	action, _ := tokenRow(doc, "helpdesk").Find("form.revoke").Attr("action")
	if confirm := attr(doc, `form[action="`+action+`"]`, "data-confirm"); !strings.Contains(confirm, "helpdesk") {
		t.Errorf("revoke asks no confirmation naming the token: %q", confirm)
	}
	_, doc = p.post(action, url.Values{})
	if ok, failed := flash(doc); !strings.Contains(ok, `Token "helpdesk" revoked`) || failed != "" {
		t.Errorf("revoke: flash %q, error %q", ok, failed)
	}
	if tokenRow(doc, "helpdesk").Length() != 0 {
		t.Error("the revoked token is still listed")
	}
	if status, doc := h.visitor().post("/console/signin", url.Values{"token": {secret}}); status != http.StatusUnauthorized {
		t.Errorf("sign-in with the revoked secret: status %d: %s", status, text(doc))
	}
	if _, doc := helpdesk.get("/console/"); doc.Find("form.signout").Length() != 0 {
		t.Error("the revoked token's session still opens pages")
	}
	_, doc = p.post(action, url.Values{})
	if _, failed := flash(doc); !strings.Contains(failed, "no token") {
		t.Errorf("revoke twice: error %q, want the API's reason", failed)
	}

	// An admin token's own row says so.
	adminSecret := h.token(catalog.RoleAdmin)
	other := h.signIn(adminSecret)
	_, doc = other.get("/console/tokens")
	mine := doc.Find("table#tokens tbody tr").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return s.Find(".badge").Text() == "you"
	})
	if mine.Length() != 1 || !strings.HasPrefix(strings.TrimSpace(mine.Find(`td[data-label="Name"]`).Text()), "admin-") {
		t.Errorf("the signed-in token's row is not marked: %d rows", mine.Length())
	}

	// The audit log names both changes and who made them.
	status, doc = p.get("/console/audit")
	if status != http.StatusOK || doc.Find("table#audit").Length() != 1 {
		t.Fatalf("audit page: status %d: %s", status, text(doc))
	}
	var actions []string
	doc.Find("table#audit tbody tr").Each(func(_ int, s *goquery.Selection) {
		actions = append(actions, strings.TrimSpace(s.Find(".audit-action").Text())+" by "+strings.TrimSpace(s.Find(".audit-actor").Text()))
	})
	got := strings.Join(actions, "; ")
	for _, want := range []string{"token.revoke by " + admin.BootstrapActor, "token.create by " + admin.BootstrapActor} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %q: %s", want, got)
		}
	}
	if i, j := strings.Index(got, "token.revoke"), strings.LastIndex(got, "token.create"); i > j {
		t.Errorf("audit log is not newest first: %s", got)
	}

	_, doc = p.get("/console/audit?action=token.revoke")
	rows := doc.Find("table#audit tbody tr")
	if rows.Length() != 1 || strings.TrimSpace(rows.Find(".audit-action").Text()) != "token.revoke" {
		t.Fatalf("filtered by action: %d rows: %s", rows.Length(), text(doc))
	}
	if before := rows.Find("details pre.audit-before").Text(); !strings.Contains(before, `"name": "helpdesk"`) {
		t.Errorf("the revoke's before JSON: %q", before)
	}
	if v := attr(doc, "#audit-action", "value"); v != "token.revoke" {
		t.Errorf("the filter form shows action %q", v)
	}
}

// TestAuditPaging goes further back through the audit log, a page of
// one entry at a time, and checks the time filters and the API's reason
// for a bad one.
func TestAuditPaging(t *testing.T) {
	h := newHarness(t)
	for range 3 {
		h.token(catalog.RoleViewer) // three token.create entries
	}
	p := h.signIn(adminToken)
	var seen []string
	next := "/console/audit?action=token.create&limit=1"
	for next != "" && len(seen) < 10 {
		_, doc := p.get(next)
		rows := doc.Find("table#audit tbody tr[data-entry]")
		if rows.Length() > 1 {
			t.Fatalf("limit 1: %d rows", rows.Length())
		}
		rows.Each(func(_ int, s *goquery.Selection) { seen = append(seen, s.AttrOr("data-entry", "")) })
		next, _ = doc.Find(`.pager a[rel="next"]`).Attr("href")
	}
	if len(seen) != 3 || seen[0] == seen[1] || seen[1] == seen[2] {
		t.Errorf("paging one at a time saw entries %v, want 3 distinct", seen)
	}

	status, doc := p.get("/console/audit?since=2000-01-01T00:00&until=2000-01-02")
	if n := doc.Find("table#audit tbody tr[data-entry]").Length(); status != http.StatusOK || n != 0 {
		t.Errorf("entries of 2000: status %d, %d entries; want 200 and none", status, n)
	}
	if v := attr(doc, "#audit-since", "value"); v != "2000-01-01T00:00" {
		t.Errorf("the filter form shows since %q", v)
	}
	status, doc = p.get("/console/audit?since=2000-01-01T00:00")
	if n := doc.Find("table#audit tbody tr[data-entry]").Length(); status != http.StatusOK || n < 3 {
		t.Errorf("entries since 2000: status %d, %d entries; want 200 and the 3 token.create", status, n)
	}
	status, doc = p.get("/console/audit?since=yesterday")
	if status != http.StatusBadRequest || !strings.Contains(text(doc), `since "yesterday" is not an RFC 3339 time`) {
		t.Errorf("bad since: status %d, page %q; want the API's reason", status, text(doc))
	}
}

// sameAuditTime gives every audit entry in h's store the timestamp of the
// newest, as entries stored within one clock tick have: the store sets At
// itself, so it is written to the file directly.
func sameAuditTime(t *testing.T, h *harness) {
	t.Helper()
	db, err := sql.Open("sqlite", h.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "UPDATE audit_log SET at = (SELECT max(at) FROM audit_log)"); err != nil {
		t.Fatalf("same audit time: %v", err)
	}
}

// auditPages walks the audit page from start by its "Older entries" link
// and returns the entry IDs each page shows, in order.
func auditPages(t *testing.T, p *person, start string) [][]string {
	t.Helper()
	var pages [][]string
	for next := start; next != "" && len(pages) < 20; {
		_, doc := p.get(next)
		var ids []string
		doc.Find("table#audit tbody tr[data-entry]").Each(func(_ int, s *goquery.Selection) { ids = append(ids, s.AttrOr("data-entry", "")) })
		pages = append(pages, ids)
		next, _ = doc.Find(`.pager a[rel="next"]`).Attr("href")
	}
	return pages
}

// TestAuditPagingSameTimestamp pages back through entries that all share
// one timestamp, two at a time: every entry is shown exactly once, newest
// first (paging by time skipped all but the first page), and "Newest
// entries" goes back to the first page with the filters kept.
func TestAuditPagingSameTimestamp(t *testing.T) {
	h := newHarness(t)
	for range 5 {
		h.token(catalog.RoleViewer) // five token.create entries
	}
	sameAuditTime(t, h)
	entries, err := h.store.Audit(context.Background(), catalog.AuditFilter{Action: "token.create"})
	if err != nil || len(entries) != 5 || !entries[0].At.Equal(entries[4].At) {
		t.Fatalf("the entries: %+v, %v; want 5 at one time", entries, err)
	}
	var want []string
	for _, e := range entries {
		want = append(want, strconv.FormatInt(e.ID, 10))
	}
	p := h.signIn(adminToken)
	pages := auditPages(t, p, "/console/audit?action=token.create&limit=2")
	if got := slices.Concat(pages...); !slices.Equal(got, want) {
		t.Errorf("paging two at a time saw %v (pages %v), want each of %v once, newest first", got, pages, want)
	}
	for i, ids := range pages {
		if len(ids) > 2 {
			t.Errorf("page %d holds %d entries, want at most 2", i+1, len(ids))
		}
	}

	// The second page: older than the first's last entry, with a link back
	// to the newest that keeps the filters.
	_, doc := p.get(fmt.Sprintf("/console/audit?action=token.create&limit=2&before_id=%s", want[1]))
	pager := strings.Join(strings.Fields(doc.Find(".pager").Text()), " ")
	if !strings.Contains(pager, "2 entries, older than entry "+want[1]) {
		t.Errorf("the second page's pager says %q", pager)
	}
	newest := doc.Find(".pager a").FilterFunction(func(_ int, s *goquery.Selection) bool { return strings.Contains(s.Text(), "Newest entries") })
	if href, _ := newest.Attr("href"); href != "/console/audit?action=token.create&limit=2" {
		t.Errorf("the Newest entries link goes to %q", href)
	}
	_, doc = p.get("/console/audit?action=token.create&limit=2")
	if doc.Find(".pager a").FilterFunction(func(_ int, s *goquery.Selection) bool { return strings.Contains(s.Text(), "Newest") }).Length() != 0 {
		t.Error("the first page links to the newest entries")
	}

	status, doc := p.get("/console/audit?before_id=0")
	if status != http.StatusBadRequest || !strings.Contains(text(doc), `before_id "0" is not a positive integer`) {
		t.Errorf("bad before_id: status %d, page %q; want the API's reason", status, text(doc))
	}
}

// TestAccessForbidden checks that a viewer and an approver get the API's
// refusal on the tokens and audit pages, and see no link to them.
func TestAccessForbidden(t *testing.T) {
	h := newHarness(t)
	for _, role := range []catalog.Role{catalog.RoleViewer, catalog.RoleApprover} {
		p := h.signIn(h.token(role))
		for _, path := range []string{"/console/tokens", "/console/audit"} {
			status, doc := p.get(path)
			reason := strings.TrimSpace(doc.Find(".error-reason").Text())
			if status != http.StatusForbidden || !strings.Contains(reason, "needs the admin role") || !strings.Contains(reason, "is "+string(role)) {
				t.Errorf("%s %s: status %d, reason %q; want 403 and the API's reason", role, path, status, reason)
			}
			if doc.Find("main form").Length() != 0 {
				t.Errorf("%s %s: the page has a form", role, path)
			}
		}
		_, doc := p.get("/console/")
		if doc.Find(`a[href="/console/tokens"], a[href="/console/audit"]`).Length() != 0 {
			t.Errorf("%s: the navigation links to tokens or audit", role)
		}
		_, doc = p.post("/console/tokens", url.Values{"name": {"sneaky"}, "role": {"admin"}})
		if _, failed := flash(doc); !strings.Contains(failed, "needs the admin role") {
			t.Errorf("%s: create a token: error %q, want the API's reason", role, failed)
		}
	}
}
