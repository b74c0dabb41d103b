package admin_test

import (
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// The catalog the views tests add to the fixture's: an update
// classification, a bundle (a critical security update that supersedes the
// fixture's cumulative update) and its member.
var (
	securityID = uuid.MustParse("66666666-6666-4666-8666-666666666666")
	bundleID   = uuid.MustParse("77777777-7777-4777-8777-777777777777")
	memberID   = uuid.MustParse("88888888-8888-4888-8888-888888888888")
)

var (
	released = time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC)
	t3       = time.Date(2026, 4, 10, 8, 0, 0, 0, time.UTC) // alpha's report
	t4       = time.Date(2026, 4, 19, 8, 0, 0, 0, time.UTC) // beta's report
	tNow     = time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC) // the handler's clock
)

// failedCode is WU_E_NO_SERVICE as a Win32HResult.
const failedCode = int32(-2145124318) // 0x80240022

// newViewsFixture is newFixtureOn with the views' catalog and states: alpha
// (assigned to Pilot) needs the bundle, has the cumulative update installed
// and the driver not applicable; beta failed the bundle; the bundle is
// approved for Pilot. The handler's clock is tNow.
func newViewsFixture(t *testing.T, engine string) *fixture {
	t.Helper()
	f := newFixtureOn(t, engine, testToken)
	ctx := context.Background()
	class := revision(securityID, 500, catalog.TypeCategory, "Security Updates")
	class.CategoryType = "UpdateClassification"
	member := revision(memberID, 1, catalog.TypeSoftware, "Servicing stack (bundled)")
	bundle := revision(bundleID, 2, catalog.TypeSoftware, "2026-04 Security Update")
	bundle.KBArticleID = "5060001"
	bundle.CreationDate = released
	bundle.SourceXML = `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update">` +
		`<upd:Properties UpdateType="Software" MsrcSeverity="Critical"><upd:KBArticleID>5060001</upd:KBArticleID>` +
		`<upd:CveID>CVE-2026-21001</upd:CveID><upd:Language>en</upd:Language></upd:Properties></upd:Update>`
	bundle.Prerequisites = []catalog.PrerequisiteClause{
		{IsCategory: true, UpdateIDs: []uuid.UUID{categoryID}},
		{IsCategory: true, UpdateIDs: []uuid.UUID{securityID}},
	}
	bundle.BundledUpdates = []catalog.Identity{{UpdateID: memberID, RevisionNumber: 1}}
	bundle.SupersededUpdates = []uuid.UUID{softwareID}
	if _, err := f.store.ImportRevisions(ctx, []*catalog.Revision{class, member, bundle}); err != nil {
		t.Fatalf("import: %v", err)
	}
	f.rev["class"], f.rev["member"], f.rev["bundle"] = class.ID, member.ID, bundle.ID
	if err := f.store.SetComputerGroups(ctx, clientA, []uuid.UUID{pilotID}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetStatuses(ctx, clientA, []catalog.UpdateStatus{
		{ClientID: clientA, UpdateID: bundleID, State: catalog.StateNotInstalled},
	}, false, t3); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetStatuses(ctx, clientB, []catalog.UpdateStatus{
		{ClientID: clientB, UpdateID: bundleID, State: catalog.StateFailed, ErrorCode: failedCode},
	}, false, t4); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SetApproval(ctx, catalog.Approval{UpdateID: bundleID, GroupID: pilotID, Action: catalog.ActionInstall, By: "test"}); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(admin.NewWith(f.store, admin.Options{Token: testToken, FailureLimit: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(f.log, nil)), Now: func() time.Time { return tNow }}))
	t.Cleanup(f.srv.Close)
	return f
}

// eachEngine runs fn on a views fixture per engine.
func eachEngine(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { fn(t, newViewsFixture(t, engine)) })
	}
}

// counts is a "computers"/"updates" counts object.
func counts(installed, needed, failed, notApplicable, noStatus int) obj {
	return obj{"installed": installed, "needed": needed, "failed": failed, "not_applicable": notApplicable, "no_status": noStatus}
}

func uref(id uuid.UUID, title string) obj { return obj{"update_id": id.String(), "title": title} }

func cat(id uuid.UUID, title string) obj { return obj{"id": id.String(), "title": title} }

// The updates of the views fixture as GET /api/v1/updates lists them.
func (f *fixture) listedUpdates() (sw, bundle, driver obj) {
	sw = obj{
		"revision_id": f.rev["sw2"], "update_id": softwareID.String(), "revision_number": 301, "type": "Software",
		"category_type": "", "title": "2026-03 Cumulative Update", "kb_article_id": "5050001", "is_leaf": true,
		"publication_state": "Published", "products": []obj{cat(categoryID, "Windows 11")}, "classifications": []obj{},
		"msrc_severity": "", "cves": []string{}, "released": "2026-03-01T10:00:00Z", "declined": false,
		"superseded": true, "superseded_by": []obj{uref(bundleID, "2026-04 Security Update")}, "supersedes": []obj{},
		"bundled_updates": []obj{}, "approvals": []obj{}, "computers": counts(1, 0, 0, 0, 1),
	}
	bundle = obj{
		"revision_id": f.rev["bundle"], "update_id": bundleID.String(), "revision_number": 2, "type": "Software",
		"category_type": "", "title": "2026-04 Security Update", "kb_article_id": "5060001", "is_leaf": true,
		"publication_state": "Published", "products": []obj{cat(categoryID, "Windows 11")},
		"classifications": []obj{cat(securityID, "Security Updates")},
		"msrc_severity":   "Critical", "cves": []string{"CVE-2026-21001"}, "released": "2026-04-08T00:00:00Z", "declined": false,
		"superseded": false, "superseded_by": []obj{}, "supersedes": []obj{uref(softwareID, "2026-03 Cumulative Update")},
		"bundled_updates": []obj{uref(memberID, "Servicing stack (bundled)")},
		"approvals":       []obj{{"group": "Pilot", "group_id": pilotID.String(), "action": "Install", "deadline": nil}},
		"computers":       counts(0, 1, 1, 0, 0),
	}
	driver = obj{
		"revision_id": f.rev["driver"], "update_id": driverID.String(), "revision_number": 400, "type": "Driver",
		"category_type": "", "title": "Contoso Net driver", "kb_article_id": "", "is_leaf": true,
		"publication_state": "Published", "products": []obj{}, "classifications": []obj{},
		"msrc_severity": "", "cves": []string{}, "released": "2026-03-01T10:00:00Z", "declined": false,
		"superseded": false, "superseded_by": []obj{}, "supersedes": []obj{},
		"bundled_updates": []obj{}, "approvals": []obj{}, "computers": counts(0, 0, 0, 1, 1),
	}
	return sw, bundle, driver
}

func list(updates []obj, total, limit, offset int) obj {
	return obj{"updates": updates, "total": total, "limit": limit, "offset": offset}
}

func TestUpdateList(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		sw, bundle, driver := f.listedUpdates()
		tests := []struct {
			query string
			want  obj
		}{
			// One row per update: the bundle member is not a row, nor are
			// categories and detectoids unless asked for.
			{"?sort=title", list([]obj{sw, bundle, driver}, 3, 100, 0)},
			{"?sort=title&order=desc", list([]obj{driver, bundle, sw}, 3, 100, 0)},
			{"?sort=title&limit=2&offset=1", list([]obj{bundle, driver}, 3, 2, 1)},
			{"?sort=title&offset=5", list([]obj{}, 3, 100, 5)},
			{"?sort=released&limit=1", list([]obj{bundle}, 3, 1, 0)},
			{"?sort=released&order=asc&offset=2", list([]obj{bundle}, 3, 100, 2)},
			{"?sort=needed&limit=1", list([]obj{bundle}, 3, 1, 0)},
			{"?sort=installed&limit=1", list([]obj{sw}, 3, 1, 0)},
			{"?sort=severity&limit=1", list([]obj{bundle}, 3, 1, 0)},
			{"?sort=kb&order=desc&limit=1", list([]obj{bundle}, 3, 1, 0)},
			{"?q=KB5060001", list([]obj{bundle}, 1, 100, 0)},
			{"?q=5050001", list([]obj{sw}, 1, 100, 0)},
			{"?q=cve-2026-21001", list([]obj{bundle}, 1, 100, 0)},
			{"?q=contoso", list([]obj{driver}, 1, 100, 0)},
			{"?q=CUMULATIVE", list([]obj{sw}, 1, 100, 0)},
			{"?q=servicing+stack", list([]obj{}, 0, 100, 0)},
			{"?kb=KB5050001", list([]obj{sw}, 1, 100, 0)},
			{"?kb=5060001", list([]obj{bundle}, 1, 100, 0)},
			{"?type=Driver", list([]obj{driver}, 1, 100, 0)},
			{"?type=software&sort=title", list([]obj{sw, bundle}, 2, 100, 0)},
			{"?product=Windows+11&sort=title", list([]obj{sw, bundle}, 2, 100, 0)},
			{"?product=" + categoryID.String() + "&sort=title", list([]obj{sw, bundle}, 2, 100, 0)},
			{"?classification=security+updates", list([]obj{bundle}, 1, 100, 0)},
			{"?classification=all&sort=title", list([]obj{sw, bundle, driver}, 3, 100, 0)},
			{"?severity=critical", list([]obj{bundle}, 1, 100, 0)},
			{"?severity=none&sort=title", list([]obj{sw, driver}, 2, 100, 0)},
			{"?severity=Low,Critical", list([]obj{bundle}, 1, 100, 0)},
			{"?superseded=true", list([]obj{sw}, 1, 100, 0)},
			{"?superseded=false&sort=title", list([]obj{bundle, driver}, 2, 100, 0)},
			{"?approved=true", list([]obj{bundle}, 1, 100, 0)},
			{"?approved=false&sort=title", list([]obj{sw, driver}, 2, 100, 0)},
			{"?declined=true", list([]obj{}, 0, 100, 0)},
			{"?group=pilot", list([]obj{bundle}, 1, 100, 0)},
			{"?group=All+Computers", list([]obj{}, 0, 100, 0)},
			{"?released_after=2026-04-01", list([]obj{bundle}, 1, 100, 0)},
			{"?released_before=2026-04-01T00:00:00Z&sort=title", list([]obj{sw, driver}, 2, 100, 0)},
			{"?min_needed=1", list([]obj{bundle}, 1, 100, 0)},
			{"?min_failed=1", list([]obj{bundle}, 1, 100, 0)},
			{"?min_failed=2", list([]obj{}, 0, 100, 0)},
			{"?type=Software&superseded=false&approved=true&severity=Critical&q=security", list([]obj{bundle}, 1, 100, 0)},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				wantJSON(t, "updates", f.get("/api/v1/updates"+tt.query), tt.want)
			})
		}
		// Categories are listed when asked for, named by their kind.
		got := f.get("/api/v1/updates?type=Category&sort=title")
		var titles []string
		for _, u := range got["updates"].([]any) {
			u := u.(map[string]any)
			titles = append(titles, u["title"].(string)+"/"+u["category_type"].(string))
		}
		if strings.Join(titles, ",") != "Security Updates/UpdateClassification,Windows 11/Product" {
			t.Errorf("categories = %q", titles)
		}
	})
}

func TestUpdateListBadQueries(t *testing.T) {
	f := newViewsFixture(t, "sqlite")
	for _, tt := range []struct {
		query, code, reason string
	}{
		{"tipe=Software", "bad_query", `unknown query parameter "tipe"`},
		{"type=Bogus", "bad_query", `type "Bogus"`},
		{"approved=maybe", "bad_query", `approved "maybe"`},
		{"declined=perhaps", "bad_query", `declined "perhaps"`},
		{"superseded=x", "bad_query", `superseded "x"`},
		{"severity=urgent", "bad_query", `severity "urgent"`},
		{"kb=abc", "bad_query", `kb "abc"`},
		{"released_after=yesterday", "bad_query", `released_after "yesterday"`},
		{"released_before=2026-13-01", "bad_query", `released_before "2026-13-01"`},
		{"min_needed=-1", "bad_query", `min_needed "-1"`},
		{"min_failed=many", "bad_query", `min_failed "many"`},
		{"sort=size", "bad_query", `sort "size"`},
		{"order=up", "bad_query", `order "up"`},
		{"limit=0", "bad_query", `limit "0" is not a number from 1 to 1000`},
		{"limit=1001", "bad_query", `limit "1001"`},
		{"offset=-1", "bad_query", `offset "-1"`},
		{"format=xml", "bad_query", `format "xml"`},
		{"group=Nope", "bad_query", `group "Nope"`},
		{"limit=1&limit=2", "bad_query", `"limit" is given 2 times`},
		{"q=%00", "bad_query", `q "\x00" holds control characters`},
		{"product=Nope", "unknown_product", `product "Nope"`},
		{"classification=Windows+11", "unknown_classification", `classification "Windows 11"`},
	} {
		t.Run(tt.query, func(t *testing.T) {
			wantError(t, f.do(http.MethodGet, "/api/v1/updates?"+tt.query, "", nil), http.StatusBadRequest, tt.code, tt.reason)
		})
	}
}

func TestUpdateDetail(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		_, bundle, _ := f.listedUpdates()
		detail := func(u obj, computers obj) obj {
			out := obj{"description": "2026-04 Security Update.", "languages": []string{"en"}}
			for k, v := range u {
				out[k] = v
			}
			out["computers"] = computers
			return out
		}
		path := "/api/v1/updates/" + bundleID.String()
		wantJSON(t, "bundle", f.get(path), detail(bundle, counts(0, 1, 1, 0, 0)))

		// A report moves the counts at once: alpha installed it, beta now
		// needs it.
		ctx := context.Background()
		if err := f.store.SetStatuses(ctx, clientA, []catalog.UpdateStatus{{ClientID: clientA, UpdateID: bundleID, State: catalog.StateInstalled}}, false, t4); err != nil {
			t.Fatal(err)
		}
		wantJSON(t, "after alpha's report", f.get(path)["computers"], counts(1, 0, 1, 0, 0))
		if err := f.store.SetStatuses(ctx, clientB, []catalog.UpdateStatus{{ClientID: clientB, UpdateID: bundleID, State: catalog.StateInstalledPendingReboot}}, false, t4); err != nil {
			t.Fatal(err)
		}
		wantJSON(t, "after beta's report", f.get(path)["computers"], counts(1, 1, 0, 0, 0))

		// A bundle member has a detail of its own, though it is no row of
		// the list.
		member := f.get("/api/v1/updates/" + memberID.String())
		if member["title"] != "Servicing stack (bundled)" || member["update_id"] != memberID.String() {
			t.Errorf("member = %v", member)
		}
		wantError(t, f.do(http.MethodGet, "/api/v1/updates/"+unknownID.String(), "", nil), 404, "unknown_update", unknownID.String())
		wantError(t, f.do(http.MethodGet, "/api/v1/updates/KB5060001", "", nil), 400, "invalid_update_id", `"KB5060001"`)
		wantError(t, f.do(http.MethodGet, path+"?verbose=1", "", nil), 400, "bad_query", `"verbose"`)
	})
}

// statusRow is a state as the state lists answer it.
func statusRow(client, dns string, update uuid.UUID, title, kb, state, compliance, code string, changed, last any) obj {
	return obj{"client_id": client, "dns_name": dns, "update_id": update.String(), "title": title, "kb_article_id": kb,
		"state": state, "compliance": compliance, "error_code": code, "changed_at": changed, "last_status": last}
}

func TestUpdateComputers(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		const title = "2026-04 Security Update"
		alpha := statusRow(clientA, "alpha.contoso.test", bundleID, title, "5060001", "NotInstalled", "needed", "", "2026-04-10T08:00:00Z", "2026-04-10T08:00:00Z")
		beta := statusRow(clientB, "beta.contoso.test", bundleID, title, "5060001", "Failed", "failed", "0x80240022", "2026-04-19T08:00:00Z", "2026-04-19T08:00:00Z")
		betaNoStatus := statusRow(clientB, "beta.contoso.test", softwareID, "2026-03 Cumulative Update", "5050001", "Unknown", "no_status", "", nil, "2026-04-19T08:00:00Z")
		page := func(id uuid.UUID, rows []obj, total, limit, offset int) obj {
			return obj{"update_id": id.String(), "computers": rows, "total": total, "limit": limit, "offset": offset}
		}
		for _, tt := range []struct {
			path string
			want obj
		}{
			{bundleID.String() + "/computers", page(bundleID, []obj{alpha, beta}, 2, 100, 0)},
			{bundleID.String() + "/computers?state=failed", page(bundleID, []obj{beta}, 1, 100, 0)},
			{bundleID.String() + "/computers?state=needed,installed", page(bundleID, []obj{alpha}, 1, 100, 0)},
			{bundleID.String() + "/computers?state=needed&state=failed&limit=1&offset=1", page(bundleID, []obj{beta}, 2, 1, 1)},
			{bundleID.String() + "/computers?group=Pilot", page(bundleID, []obj{alpha}, 1, 100, 0)},
			{bundleID.String() + "/computers?group=Unassigned+Computers", page(bundleID, []obj{beta}, 1, 100, 0)},
			{softwareID.String() + "/computers?state=no_status", page(softwareID, []obj{betaNoStatus}, 1, 100, 0)},
			// Sorted: by name unless told, state and the times each way.
			{bundleID.String() + "/computers?sort=name&order=desc", page(bundleID, []obj{beta, alpha}, 2, 100, 0)},
			{bundleID.String() + "/computers?sort=State", page(bundleID, []obj{beta, alpha}, 2, 100, 0)},
			{bundleID.String() + "/computers?sort=state&order=desc", page(bundleID, []obj{alpha, beta}, 2, 100, 0)},
			{bundleID.String() + "/computers?sort=changed", page(bundleID, []obj{beta, alpha}, 2, 100, 0)},
			{bundleID.String() + "/computers?sort=changed&order=asc", page(bundleID, []obj{alpha, beta}, 2, 100, 0)},
			{bundleID.String() + "/computers?sort=last_status", page(bundleID, []obj{beta, alpha}, 2, 100, 0)},
			{bundleID.String() + "/computers?state=needed,failed&sort=state&limit=1&offset=1", page(bundleID, []obj{alpha}, 2, 1, 1)},
			{driverID.String() + "/computers?state=not_applicable", page(driverID, []obj{
				statusRow(clientA, "alpha.contoso.test", driverID, "Contoso Net driver", "", "NotApplicable", "not_applicable", "", "2026-03-01T10:10:00Z", "2026-04-10T08:00:00Z"),
			}, 1, 100, 0)},
		} {
			t.Run(tt.path, func(t *testing.T) {
				wantJSON(t, "computers", f.get("/api/v1/updates/"+tt.path), tt.want)
			})
		}
		for _, tt := range []struct {
			path         string
			status       int
			code, reason string
		}{
			{unknownID.String() + "/computers", 404, "unknown_update", unknownID.String()},
			{"nope/computers", 400, "invalid_update_id", `"nope"`},
			{bundleID.String() + "/computers?state=broken", 400, "bad_query", `state "broken"`},
			{bundleID.String() + "/computers?group=Nope", 400, "bad_query", `group "Nope"`},
			{bundleID.String() + "/computers?sort=title", 400, "bad_query", `sort "title" is not one of name, state, changed, last_status`},
			{bundleID.String() + "/computers?sort=state&order=up", 400, "bad_query", `order "up" is not one of asc, desc`},
			{bundleID.String() + "/computers?sort=state&sort=name", 400, "bad_query", `"sort" is given 2 times`},
		} {
			wantError(t, f.do(http.MethodGet, "/api/v1/updates/"+tt.path, "", nil), tt.status, tt.code, tt.reason)
		}
	})
}

// viewComputer is a computer of the views fixture as the list shows it.
func viewComputer(base obj, lastStatus string, groups []obj, updates obj) obj {
	out := obj{}
	for k, v := range base {
		out[k] = v
	}
	out["last_status"], out["groups"], out["updates"] = lastStatus, groups, updates
	return out
}

func TestComputerListViews(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		alpha := viewComputer(computerA, "2026-04-10T08:00:00Z", []obj{{"id": pilotID.String(), "name": "Pilot"}}, counts(1, 1, 0, 1, 0))
		beta := viewComputer(computerB, "2026-04-19T08:00:00Z", []obj{}, counts(0, 0, 1, 0, 0))
		page := func(rows []obj, total, limit, offset int) obj {
			return obj{"computers": rows, "total": total, "limit": limit, "offset": offset}
		}
		for _, tt := range []struct {
			query string
			want  obj
		}{
			{"", page([]obj{alpha, beta}, 2, 100, 0)},
			{"?order=desc", page([]obj{beta, alpha}, 2, 100, 0)},
			{"?limit=1&offset=1", page([]obj{beta}, 2, 1, 1)},
			{"?q=BETA", page([]obj{beta}, 1, 100, 0)},
			{"?q=" + clientA, page([]obj{alpha}, 1, 100, 0)},
			{"?needing=true", page([]obj{alpha, beta}, 2, 100, 0)},
			{"?failing=true", page([]obj{beta}, 1, 100, 0)},
			{"?group=Pilot", page([]obj{alpha}, 1, 100, 0)},
			{"?group=Unassigned+Computers", page([]obj{beta}, 1, 100, 0)},
			{"?not_reported_days=5", page([]obj{alpha}, 1, 100, 0)},
			{"?not_reported_days=30", page([]obj{}, 0, 100, 0)},
			{"?sort=failed&limit=1", page([]obj{beta}, 2, 1, 0)},
			{"?sort=needed&limit=1", page([]obj{alpha}, 2, 1, 0)},
			{"?sort=last_status", page([]obj{beta, alpha}, 2, 100, 0)},
			{"?sort=last_status&order=asc", page([]obj{alpha, beta}, 2, 100, 0)},
		} {
			t.Run(tt.query, func(t *testing.T) {
				wantJSON(t, "computers", f.get("/api/v1/computers"+tt.query), tt.want)
			})
		}
		group := f.get("/api/v1/groups/pilot/computers?not_reported_days=5")
		wantJSON(t, "Pilot's computers not reported for 5 days", group, obj{
			"group": obj{"id": pilotID.String(), "name": "Pilot"}, "computers": []obj{alpha}, "total": 1, "limit": 100, "offset": 0,
		})
		wantJSON(t, "All Computers' failing", f.get("/api/v1/groups/" + catalog.AllComputersGroupID.String() + "/computers?failing=1")["computers"], []obj{beta})
		for _, tt := range []struct {
			path         string
			status       int
			code, reason string
		}{
			{"/api/v1/computers?needing=maybe", 400, "bad_query", `needing "maybe"`},
			{"/api/v1/computers?sort=age", 400, "bad_query", `sort "age"`},
			{"/api/v1/computers?not_reported_days=-1", 400, "bad_query", `not_reported_days "-1"`},
			{"/api/v1/computers?limit=5000", 400, "bad_query", `limit "5000"`},
			{"/api/v1/computers?state=failed", 400, "bad_query", `unknown query parameter "state"`},
			{"/api/v1/groups/Nope/computers", 404, "unknown_group", "Nope"},
			{"/api/v1/groups/Pilot/computers?group=Pilot", 400, "bad_query", `unknown query parameter "group"`},
		} {
			wantError(t, f.do(http.MethodGet, tt.path, "", nil), tt.status, tt.code, tt.reason)
		}
	})
}

func TestComputerUpdates(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		const alphaLast = "2026-04-10T08:00:00Z"
		sw := statusRow(clientA, "alpha.contoso.test", softwareID, "2026-03 Cumulative Update", "5050001", "Installed", "installed", "", "2026-03-01T10:10:00Z", alphaLast)
		bundle := statusRow(clientA, "alpha.contoso.test", bundleID, "2026-04 Security Update", "5060001", "NotInstalled", "needed", "", "2026-04-10T08:00:00Z", alphaLast)
		driver := statusRow(clientA, "alpha.contoso.test", driverID, "Contoso Net driver", "", "NotApplicable", "not_applicable", "", "2026-03-01T10:10:00Z", alphaLast)
		page := func(client string, rows []obj, total, limit, offset int) obj {
			return obj{"client_id": client, "updates": rows, "total": total, "limit": limit, "offset": offset}
		}
		for _, tt := range []struct {
			path string
			want obj
		}{
			{clientA + "/updates", page(clientA, []obj{sw, bundle, driver}, 3, 100, 0)},
			{"alpha.contoso.test/updates?state=needed", page(clientA, []obj{bundle}, 1, 100, 0)},
			{"alpha/updates?limit=1&offset=2", page(clientA, []obj{driver}, 3, 1, 2)},
			// Sorted: by title unless told, KB, state and last change.
			{"alpha/updates?sort=title&order=desc", page(clientA, []obj{driver, bundle, sw}, 3, 100, 0)},
			{"alpha/updates?sort=kb", page(clientA, []obj{driver, sw, bundle}, 3, 100, 0)},
			{"alpha/updates?sort=kb&order=desc", page(clientA, []obj{bundle, sw, driver}, 3, 100, 0)},
			{"alpha/updates?sort=state", page(clientA, []obj{bundle, sw, driver}, 3, 100, 0)},
			{"alpha/updates?sort=changed", page(clientA, []obj{bundle, sw, driver}, 3, 100, 0)},
			{"alpha/updates?sort=changed&order=asc&limit=2", page(clientA, []obj{sw, driver}, 3, 2, 0)},
			{"alpha/updates?state=installed,not_applicable&sort=state&order=desc", page(clientA, []obj{driver, sw}, 2, 100, 0)},
			{"beta/updates?state=failed", page(clientB, []obj{
				statusRow(clientB, "beta.contoso.test", bundleID, "2026-04 Security Update", "5060001", "Failed", "failed", "0x80240022", "2026-04-19T08:00:00Z", "2026-04-19T08:00:00Z"),
			}, 1, 100, 0)},
		} {
			t.Run(tt.path, func(t *testing.T) {
				wantJSON(t, "updates", f.get("/api/v1/computers/"+tt.path), tt.want)
			})
		}
		wantError(t, f.do(http.MethodGet, "/api/v1/computers/alpha/updates?state=no_status", "", nil), 400, "bad_query", "no_status")
		wantError(t, f.do(http.MethodGet, "/api/v1/computers/alpha/updates?sort=name", "", nil), 400, "bad_query",
			`sort "name" is not one of title, kb, state, changed`)
		wantError(t, f.do(http.MethodGet, "/api/v1/computers/alpha/updates?order=sideways", "", nil), 400, "bad_query", `order "sideways"`)
		wantError(t, f.do(http.MethodGet, "/api/v1/computers/gamma/updates", "", nil), 404, "unknown_computer", "gamma")

		// The computer's detail names its updates and the error codes of
		// its failures.
		wantJSON(t, "beta's detail updates", f.get("/api/v1/computers/" + clientB)["updates"], []obj{
			{"update_id": bundleID.String(), "title": "2026-04 Security Update", "kb_article_id": "5060001", "state": "Failed",
				"error_code": "0x80240022", "changed_at": "2026-04-19T08:00:00Z"},
		})
		wantJSON(t, "alpha's detail updates", f.get("/api/v1/computers/" + clientA)["updates"], []obj{
			{"update_id": softwareID.String(), "title": "2026-03 Cumulative Update", "kb_article_id": "5050001", "state": "Installed",
				"error_code": "", "changed_at": "2026-03-01T10:10:00Z"},
			{"update_id": driverID.String(), "title": "Contoso Net driver", "kb_article_id": "", "state": "NotApplicable",
				"error_code": "", "changed_at": "2026-03-01T10:10:00Z"},
			{"update_id": bundleID.String(), "title": "2026-04 Security Update", "kb_article_id": "5060001", "state": "NotInstalled",
				"error_code": "", "changed_at": "2026-04-10T08:00:00Z"},
		})
	})
}

func TestCompliance(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		wantJSON(t, "summary", f.get("/api/v1/compliance/summary"), obj{
			"not_reported_since": "2026-03-21T00:00:00Z",
			"computers":          2, "needing_updates": 2, "with_failures": 1, "up_to_date": 0, "not_reported": 0,
			"updates": 3, "needing_approval": 0, "approved": 1, "declined": 0, "superseded": 1,
			"pairs": counts(1, 1, 1, 1, 0),
		})
		summary := f.get("/api/v1/compliance/summary?not_reported_days=5")
		if summary["not_reported"] != 1.0 || summary["not_reported_since"] != "2026-04-15T00:00:00Z" {
			t.Errorf("summary of 5 days = %v", summary)
		}
		groupRow := func(id uuid.UUID, name string, computers, needing, failing, upToDate, notReported int, updates obj) obj {
			return obj{"id": id.String(), "name": name, "computers": computers, "needing_updates": needing, "with_failures": failing,
				"up_to_date": upToDate, "not_reported": notReported, "updates": updates}
		}
		wantJSON(t, "groups", f.get("/api/v1/compliance/groups?not_reported_days=5"), obj{
			"not_reported_since": "2026-04-15T00:00:00Z",
			"groups": []obj{
				groupRow(catalog.AllComputersGroupID, "All Computers", 2, 2, 1, 0, 1, counts(1, 1, 1, 1, 0)),
				groupRow(pilotID, "Pilot", 1, 1, 0, 0, 1, counts(1, 1, 0, 1, 0)),
				groupRow(catalog.UnassignedComputersGroupID, "Unassigned Computers", 1, 1, 1, 0, 0, counts(0, 0, 1, 0, 0)),
			},
		})

		// A report moves the rollups: alpha installs the bundle and is up
		// to date; the bundle, needed nowhere, no longer needs approval.
		if err := f.store.SetStatuses(context.Background(), clientA, []catalog.UpdateStatus{{ClientID: clientA, UpdateID: bundleID, State: catalog.StateInstalled}}, false, t4); err != nil {
			t.Fatal(err)
		}
		summary = f.get("/api/v1/compliance/summary")
		wantJSON(t, "summary after alpha's install", obj{"needing": summary["needing_updates"], "up_to_date": summary["up_to_date"], "pairs": summary["pairs"]},
			obj{"needing": 1, "up_to_date": 1, "pairs": counts(2, 0, 1, 1, 0)})

		for _, path := range []string{"/api/v1/compliance/summary?not_reported_days=x", "/api/v1/compliance/groups?days=3", "/api/v1/compliance/summary?format=csv"} {
			r := f.do(http.MethodGet, path, "", nil)
			if r.status != http.StatusBadRequest {
				t.Errorf("GET %s: %d %s, want 400", path, r.status, r.body)
			}
		}
	})
}

// getCSV GETs path with the headers, requires a 200 CSV answer and parses
// it.
func (f *fixture) getCSV(path string, headers map[string]string) ([][]string, http.Header) {
	f.t.Helper()
	r := f.do(http.MethodGet, path, "", headers)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		f.t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	records, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		f.t.Fatalf("GET %s: not CSV: %v\n%s", path, err, r.body)
	}
	return records, r.header
}

func TestCSVExports(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		updateHeader := []string{"update_id", "title", "kb_article_id", "type", "products", "classifications", "msrc_severity", "cves",
			"released", "declined", "superseded", "approved_groups", "installed", "needed", "failed", "not_applicable", "no_status"}
		bundleRow := []string{bundleID.String(), "2026-04 Security Update", "5060001", "Software", "Windows 11", "Security Updates",
			"Critical", "CVE-2026-21001", "2026-04-08T00:00:00Z", "false", "false", "Pilot:Install", "0", "1", "1", "0", "0"}
		swRow := []string{softwareID.String(), "2026-03 Cumulative Update", "5050001", "Software", "Windows 11", "", "", "",
			"2026-03-01T10:00:00Z", "false", "true", "", "1", "0", "0", "0", "1"}
		driverRow := []string{driverID.String(), "Contoso Net driver", "", "Driver", "", "", "", "",
			"2026-03-01T10:00:00Z", "false", "false", "", "0", "0", "0", "1", "1"}
		statusHeader := []string{"client_id", "dns_name", "update_id", "title", "kb_article_id", "state", "compliance", "error_code", "changed_at", "last_status"}
		betaFailed := []string{clientB, "beta.contoso.test", bundleID.String(), "2026-04 Security Update", "5060001", "Failed", "failed",
			"0x80240022", "2026-04-19T08:00:00Z", "2026-04-19T08:00:00Z"}
		alphaNeeds := []string{clientA, "alpha.contoso.test", bundleID.String(), "2026-04 Security Update", "5060001", "NotInstalled", "needed",
			"", "2026-04-10T08:00:00Z", "2026-04-10T08:00:00Z"}
		computerHeader := []string{"id", "dns_name", "os_description", "os_version", "groups", "last_sync", "last_report", "last_status",
			"installed", "needed", "failed", "not_applicable"}
		for _, tt := range []struct {
			path    string
			headers map[string]string
			want    [][]string
			total   string
		}{
			{"/api/v1/updates?format=csv&sort=title", nil, [][]string{updateHeader, swRow, bundleRow, driverRow}, "3"},
			{"/api/v1/updates?sort=title", map[string]string{"Accept": "text/csv"}, [][]string{updateHeader, swRow, bundleRow, driverRow}, "3"},
			{"/api/v1/updates?sort=title&limit=1&offset=1", map[string]string{"Accept": "text/csv, application/json;q=0.5"}, [][]string{updateHeader, bundleRow}, "3"},
			{"/api/v1/updates?format=CSV&q=nothing-matches", nil, [][]string{updateHeader}, "0"},
			{"/api/v1/updates/" + bundleID.String() + "/computers?format=csv", nil, [][]string{statusHeader, alphaNeeds, betaFailed}, "2"},
			{"/api/v1/computers/beta/updates?format=csv", nil, [][]string{statusHeader, betaFailed}, "1"},
			{"/api/v1/computers?format=csv", nil, [][]string{computerHeader,
				{clientA, "alpha.contoso.test", "Windows 11 Pro", "10.0.26200", "Pilot", "2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z", "2026-04-10T08:00:00Z", "1", "1", "0", "1"},
				{clientB, "beta.contoso.test", "", "", "", "", "", "2026-04-19T08:00:00Z", "0", "0", "1", "0"},
			}, "2"},
			{"/api/v1/groups/Pilot/computers?format=csv&not_reported_days=30", nil, [][]string{computerHeader}, "0"},
			{"/api/v1/compliance/groups?format=csv&not_reported_days=5", nil, [][]string{
				{"group_id", "name", "computers", "needing_updates", "with_failures", "up_to_date", "not_reported", "installed", "needed", "failed", "not_applicable"},
				{catalog.AllComputersGroupID.String(), "All Computers", "2", "2", "1", "0", "1", "1", "1", "1", "1"},
				{pilotID.String(), "Pilot", "1", "1", "0", "0", "1", "1", "1", "0", "1"},
				{catalog.UnassignedComputersGroupID.String(), "Unassigned Computers", "1", "1", "1", "0", "0", "0", "0", "1", "0"},
			}, "3"},
		} {
			t.Run(tt.path, func(t *testing.T) {
				got, header := f.getCSV(tt.path, tt.headers)
				wantJSON(t, "CSV", jsonValue(t, got), tt.want)
				if h := header.Get("X-Total-Count"); h != tt.total {
					t.Errorf("X-Total-Count = %q, want %q", h, tt.total)
				}
			})
		}
		// A JSON Accept, or none, keeps JSON.
		if r := f.do(http.MethodGet, "/api/v1/updates", "", map[string]string{"Accept": "application/json, text/csv"}); r.header.Get("Content-Type") != "application/json" {
			t.Errorf("Accept JSON first: Content-Type %q", r.header.Get("Content-Type"))
		}
		if r := f.do(http.MethodGet, "/api/v1/updates?format=json", "", map[string]string{"Accept": "text/csv"}); r.header.Get("Content-Type") != "application/json" {
			t.Errorf("format=json: Content-Type %q", r.header.Get("Content-Type"))
		}
		wantError(t, f.do(http.MethodGet, "/api/v1/updates?format=csv&limit=0", "", nil), 400, "bad_query", `limit "0"`)

		// The audit log, newest first.
		for _, body := range []string{
			`{"update_id":"` + softwareID.String() + `","group":"Pilot"}`,
			`{"update_id":"` + driverID.String() + `"}`,
		} {
			if r := f.do(http.MethodPost, "/api/v1/approvals", body, nil); r.status != http.StatusCreated {
				t.Fatalf("approve: %d %s", r.status, r.body)
			}
		}
		audit, _ := f.getCSV("/api/v1/audit?format=csv&action=approval.set", nil)
		if len(audit) != 3 || strings.Join(audit[0], ",") != "id,at,actor,action,target,before,after,remote_addr" {
			t.Fatalf("audit CSV = %q", audit)
		}
		for i, target := range []uuid.UUID{driverID, softwareID} {
			row := audit[i+1]
			if row[2] != "bootstrap" || row[3] != "approval.set" || row[4] != target.String() || !strings.Contains(row[6], `"Install"`) || row[7] == "" {
				t.Errorf("audit row %d = %q, want bootstrap's approval of %s", i+1, row, target)
			}
		}
		limited, _ := f.getCSV("/api/v1/audit?limit=1", map[string]string{"Accept": "text/csv"})
		if len(limited) != 2 || limited[1][4] != driverID.String() {
			t.Errorf("audit CSV limit 1 = %q", limited)
		}
		wantError(t, f.do(http.MethodGet, "/api/v1/audit?format=pdf", "", nil), 400, "bad_query", `format "pdf"`)

		// More entries than one store read answers: the export walks them
		// all, each once, newest (highest ID) first, across batches.
		at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		for i := range catalog.MaxAuditLimit + 5 {
			if _, err := f.store.AppendAudit(context.Background(), catalog.AuditEntry{At: at, Actor: "bulk-test", Action: "csv.walk",
				Target: strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		walked, _ := f.getCSV("/api/v1/audit?format=csv&action=csv.walk", nil)
		if len(walked) != catalog.MaxAuditLimit+6 {
			t.Fatalf("audit CSV over %d entries: %d rows", catalog.MaxAuditLimit+5, len(walked)-1)
		}
		for i, row := range walked[1:] {
			if want := strconv.Itoa(catalog.MaxAuditLimit + 4 - i); row[4] != want {
				t.Fatalf("audit CSV row %d names entry %s, want %s (newest first, each once)", i+1, row[4], want)
			}
		}
	})
}

// A viewer token reads every view; it cannot approve.
func TestViewerReadsViews(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		r := f.do(http.MethodPost, "/api/v1/tokens", `{"name":"help desk","role":"viewer"}`, nil)
		if r.status != http.StatusCreated {
			t.Fatalf("create token: %d %s", r.status, r.body)
		}
		secret, _ := decodeObject(t, r)["token"].(string)
		viewer := map[string]string{"Authorization": "Bearer " + secret}
		for _, path := range []string{
			"/api/v1/updates?q=KB5060001",
			"/api/v1/updates/" + bundleID.String(),
			"/api/v1/updates/" + bundleID.String() + "/computers?state=failed",
			"/api/v1/computers?failing=true",
			"/api/v1/computers/beta/updates",
			"/api/v1/groups/Pilot/computers",
			"/api/v1/compliance/summary",
			"/api/v1/compliance/groups",
			"/api/v1/updates?format=csv",
		} {
			r := f.do(http.MethodGet, path, "", viewer)
			if r.status != http.StatusOK || len(r.body) < 10 {
				t.Errorf("viewer GET %s: %d %s", path, r.status, r.body)
			}
		}
		wantError(t, f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+bundleID.String()+`"}`, viewer), 403, "forbidden", "approver")
	})
}

// An import after the catalog index was built shows at once: new updates,
// categories and supersedence are named, though approvals moved the change
// sequence in between.
func TestUpdateViewsAfterImport(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		f.get("/api/v1/updates") // the index is built
		if r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+driverID.String()+`"}`, nil); r.status != http.StatusCreated {
			t.Fatalf("approve: %d %s", r.status, r.body)
		}
		f.get("/api/v1/updates?approved=true") // stale but enough
		criticalID := uuid.MustParse("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
		nextID := uuid.MustParse("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")
		critical := revision(criticalID, 1, catalog.TypeCategory, "Critical Updates")
		critical.CategoryType = "UpdateClassification"
		next := revision(nextID, 1, catalog.TypeSoftware, "2026-05 Security Update")
		next.CreationDate = tNow
		next.Prerequisites = []catalog.PrerequisiteClause{{IsCategory: true, UpdateIDs: []uuid.UUID{criticalID}}}
		next.SupersededUpdates = []uuid.UUID{bundleID}
		if _, err := f.store.ImportRevisions(context.Background(), []*catalog.Revision{critical, next}); err != nil {
			t.Fatal(err)
		}
		got := f.get("/api/v1/updates?classification=critical+updates")["updates"].([]any)
		if len(got) != 1 {
			t.Fatalf("updates of Critical Updates: %v", got)
		}
		wantJSON(t, "the new update's classifications", got[0].(map[string]any)["classifications"], []obj{cat(criticalID, "Critical Updates")})
		wantJSON(t, "the bundle's supersedence", f.get("/api/v1/updates/" + bundleID.String())["superseded_by"],
			[]obj{uref(nextID, "2026-05 Security Update")})
		if r := f.get("/api/v1/updates/" + nextID.String() + "/computers?state=no_status"); r["total"] != 2.0 {
			t.Errorf("the new update's computers: %v", r)
		}
	})
}

// A DNS name a client chose that a spreadsheet would run as a formula is
// exported as text.
func TestCSVCellsAreInert(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		const clientC, name = "0f6a2b4c-0000-4000-8000-00000000000c", "=HYPERLINK(\"http://evil.test\")"
		if err := f.store.RecordAuthorization(context.Background(), clientC, name, nil, t0); err != nil {
			t.Fatal(err)
		}
		got, _ := f.getCSV("/api/v1/computers?format=csv&q=hyperlink", nil)
		if len(got) != 2 || got[1][0] != clientC || got[1][1] != "'"+name {
			t.Errorf("CSV = %q, want the DNS name as text: '%s", got, name)
		}
		// JSON answers it as it is.
		list := f.get("/api/v1/computers?q=hyperlink")["computers"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["dns_name"] != name {
			t.Errorf("JSON = %v", list)
		}
	})
}
