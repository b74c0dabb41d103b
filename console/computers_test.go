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
)

// computersTreeLink is the tree's link to the group named name.
func computersTreeLink(doc *goquery.Document, name string) *goquery.Selection {
	return doc.Find("nav.tree a").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.TrimSpace(s.Text()) == name
	})
}

// computersGroups are the names of the groups the API says a computer is
// assigned to.
func computersGroups(h *harness, id string) []string {
	h.t.Helper()
	var c admin.ComputerDetail
	h.api(http.MethodGet, "/api/v1/computers/"+id, "", http.StatusOK, &c)
	var names []string
	for _, g := range c.Groups {
		names = append(names, g.Name)
	}
	return names
}

// TestComputersTree checks the group tree: All Computers at the root,
// Unassigned Computers, Ring 1 and Ring 2 below it, the chosen group
// marked, and the computer counts of the compliance rollup.
func TestComputersTree(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	status, doc := p.get("/console/computers")
	if status != http.StatusOK {
		t.Fatalf("GET /console/computers: %d %s", status, text(doc))
	}
	root := doc.Find(`nav.tree[aria-label="Target groups"] > ul > li`)
	if root.Length() != 1 || strings.TrimSpace(root.ChildrenFiltered("a").Text()) != "All Computers" {
		t.Fatalf("tree roots: %d, first %q; want All Computers alone", root.Length(), root.ChildrenFiltered("a").Text())
	}
	var children []string
	root.ChildrenFiltered("ul").ChildrenFiltered("li").ChildrenFiltered("a").Each(func(_ int, s *goquery.Selection) { children = append(children, strings.TrimSpace(s.Text())) })
	if want := []string{"Unassigned Computers", ring1, ring2}; !slices.Equal(children, want) {
		t.Errorf("All Computers' children = %q, want %q", children, want)
	}
	if cur, _ := root.ChildrenFiltered("a").Attr("aria-current"); cur != "true" {
		t.Error("without ?group, All Computers is not marked current")
	}
	if c := strings.Join(strings.Fields(computersTreeLink(doc, ring1).Parent().Find(".count").First().Text()), " "); c != "(3 computers)" {
		t.Errorf("Ring 1's count = %q, want (3 computers)", c)
	}

	href, _ := computersTreeLink(doc, ring2).Attr("href")
	if want := "/console/computers?group=" + h.groups[ring2].String(); href != want {
		t.Errorf("Ring 2's link = %q, want %q", href, want)
	}
	_, doc = p.get(href)
	if cur, _ := computersTreeLink(doc, ring2).Attr("aria-current"); cur != "true" {
		t.Error("Ring 2 chosen, but not marked current")
	}
	if n := doc.Find(`nav.tree a[aria-current]`).Length(); n != 1 {
		t.Errorf("%d groups marked current, want 1", n)
	}
	if h2 := doc.Find("#group-h").Text(); h2 != ring2 {
		t.Errorf("list heading %q, want %q", h2, ring2)
	}
}

// TestComputersList checks the list of a group and the API's filters,
// as the overview's tiles link to them.
func TestComputersList(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	r1, r2 := h.groups[ring1].String(), h.groups[ring2].String()
	for _, tc := range []struct {
		name, query string
		want        []string // client IDs, in order (by name)
	}{
		{"all computers", "", []string{pcFailed, pcNeeds, pcOK}},
		{"ring 1", "group=" + r1, []string{pcFailed, pcNeeds, pcOK}},
		{"ring 1 by name", "group=" + url.QueryEscape(ring1), []string{pcFailed, pcNeeds, pcOK}},
		{"ring 2", "group=" + r2, nil},
		{"failing in ring 1", "group=" + r1 + "&failing=true", []string{pcFailed}},
		{"overview: failing", "failing=true", []string{pcFailed}},
		{"overview: needing", "needing=true", []string{pcFailed, pcNeeds}},
		{"overview: not reported", "not_reported_days=7", nil},
		{"search", "q=ws-ok", []string{pcOK}},
		{"sorted by failed, ties by client ID", "sort=failed", []string{pcFailed, pcOK, pcNeeds}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, doc := p.get("/console/computers?" + tc.query)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, text(doc))
			}
			if got := rowIDs(doc, "table#computers", "data-client-id"); !slices.Equal(got, tc.want) {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
			if len(tc.want) == 0 && !strings.Contains(doc.Find("table#computers tbody").Text(), "No computer") {
				t.Error("an empty list does not say so")
			}
		})
	}

	// A row: the name links to the detail; the counts and groups are shown.
	_, doc := p.get("/console/computers?group=" + r1 + "&failing=true")
	row := doc.Find(`tr[data-client-id="` + pcFailed + `"]`)
	if href, _ := row.Find("a.computer-name").Attr("href"); href != "/console/computers/"+pcFailed || row.Find("a.computer-name").Text() != "ws-failed.corp.example" {
		t.Errorf("name link %q %q", href, row.Find("a.computer-name").Text())
	}
	for state, want := range map[string]string{"failed": "1", "needed": "0", "installed": "0"} {
		if got := row.Find(`td[data-state="` + state + `"]`).Text(); got != want {
			t.Errorf("%s count %q, want %q", state, got, want)
		}
	}
	if !strings.Contains(row.Text(), "Windows 11 Enterprise") || !strings.Contains(row.Text(), ring1) {
		t.Errorf("row lacks the OS or the group: %q", strings.Join(strings.Fields(row.Text()), " "))
	}
	// The filter form shows the filters in force and keeps the group.
	if v, _ := doc.Find(`form.filters input[name="group"]`).Attr("value"); v != r1 {
		t.Errorf("filter form's group = %q, want %q", v, r1)
	}
	if doc.Find(`form.filters input[name="failing"][checked]`).Length() != 1 {
		t.Error("the failing filter is not shown checked")
	}
	_, doc = p.get("/console/computers?not_reported_days=7")
	if v, _ := doc.Find(`input[name="not_reported_days"]`).Attr("value"); v != "7" {
		t.Errorf("not_reported_days field = %q, want 7", v)
	}

	// A filter the API refuses shows its reason.
	status, doc := p.get("/console/computers?needing=perhaps")
	if status != http.StatusBadRequest || !strings.Contains(text(doc), `needing "perhaps" is not true or false`) {
		t.Errorf("bad filter: status %d, page %q; want 400 with the API's reason", status, text(doc))
	}
}

// TestComputersSortPaging checks that the list pages by 50 on the server
// and that the sort and paging links keep the group and the filters.
func TestComputersSortPaging(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	r2 := h.groups[ring2]
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 55 {
		id := fmt.Sprintf("d0000000-0000-4000-8000-%012d", i)
		c := catalog.Computer{ID: id, DNSName: fmt.Sprintf("pc-%02d.corp.example", i), Registered: true, OSMajor: 10,
			OSDescription: "Windows 11 Pro", LastSync: now, LastReport: now}
		if err := h.store.RegisterComputer(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := h.store.SetComputerGroups(ctx, id, []uuid.UUID{r2}); err != nil {
			t.Fatal(err)
		}
	}
	p := h.signIn(adminToken)
	_, doc := p.get("/console/computers?group=" + r2.String() + "&q=pc-")
	rows := rowIDs(doc, "table#computers", "data-client-id")
	if len(rows) != 50 || rows[0] != "d0000000-0000-4000-8000-000000000000" {
		t.Fatalf("first page: %d rows starting %v, want 50 from pc-00", len(rows), rows[:min(1, len(rows))])
	}
	if pg := strings.Join(strings.Fields(doc.Find("nav.pager span").Text()), " "); pg != "1–50 of 55" {
		t.Errorf("pager says %q", pg)
	}
	next, ok := doc.Find(`nav.pager a[rel="next"]`).Attr("href")
	if !ok {
		t.Fatal("no next page link")
	}
	u, _ := url.Parse(next)
	if u.Query().Get("group") != r2.String() || u.Query().Get("q") != "pc-" || u.Query().Get("offset") != "50" {
		t.Errorf("next link %q lost the group or the filter", next)
	}
	_, doc = p.get(next)
	if rows := rowIDs(doc, "table#computers", "data-client-id"); len(rows) != 5 || rows[4] != "d0000000-0000-4000-8000-000000000054" {
		t.Errorf("second page: %v, want pc-50..pc-54", rows)
	}

	// Sorting by name descending: the header link keeps the group and the
	// filter, starts at the first page, and the API sorts.
	sortHref, _ := doc.Find(`table#computers th[aria-sort="none"] a`).First().Attr("href")
	_, doc = p.get("/console/computers?group=" + r2.String() + "&q=pc-&sort=name")
	if s, _ := doc.Find(`table#computers th[aria-sort="ascending"] a`).Attr("href"); !strings.Contains(s, "order=desc") {
		t.Errorf("name header when sorted ascending links to %q, want order=desc", s)
	}
	desc, _ := doc.Find(`table#computers th[aria-sort="ascending"] a`).Attr("href")
	u, _ = url.Parse(desc)
	if u.Query().Get("group") != r2.String() || u.Query().Get("q") != "pc-" || u.Query().Has("offset") {
		t.Errorf("sort link %q lost the group or the filter, or kept the offset", desc)
	}
	_, doc = p.get(desc)
	if rows := rowIDs(doc, "table#computers", "data-client-id"); len(rows) != 50 || rows[0] != "d0000000-0000-4000-8000-000000000054" {
		t.Errorf("by name descending: %d rows starting %v, want pc-54 first", len(rows), rows[:min(1, len(rows))])
	}
	if sortHref == "" || !strings.Contains(sortHref, "group="+r2.String()) {
		t.Errorf("a sort header's link %q lost the group", sortHref)
	}
	// A sort the API orders descending by default is shown so.
	_, doc = p.get("/console/computers?group=" + r2.String() + "&sort=needed")
	if doc.Find(`th[aria-sort="descending"]`).Length() != 1 {
		t.Error("sort=needed is not shown descending, as the API orders it")
	}
}

// TestComputerDetail checks a computer's facts, its update states with
// the error code in hexadecimal, and the hardware inventory.
func TestComputerDetail(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	status, doc := p.get("/console/computers/" + pcFailed)
	if status != http.StatusOK {
		t.Fatalf("detail: %d %s", status, text(doc))
	}
	if h1 := doc.Find("h1").Text(); h1 != "ws-failed.corp.example" {
		t.Errorf("title %q", h1)
	}
	facts := strings.Join(strings.Fields(doc.Find("#facts").Text()), " ")
	for _, want := range []string{pcFailed, "Windows 11 Enterprise", "AMD64", "Contoso Desk 9", "1209.2506.24062.0", ring1} {
		if !strings.Contains(facts, want) {
			t.Errorf("facts lack %q: %s", want, facts)
		}
	}
	row := doc.Find(`table#computer-updates tr[data-update-id="` + demoUpdate.String() + `"]`)
	if code := row.Find("td.error-code").Text(); code != "0x80070643" {
		t.Errorf("error code %q, want 0x80070643", code)
	}
	if href, _ := row.Find("a").Attr("href"); href != "/console/updates/"+demoUpdate.String() {
		t.Errorf("update link %q", href)
	}
	if !strings.Contains(doc.Find("section#inventory").Text(), "No hardware inventory yet") {
		t.Error("the inventory section does not say there is none")
	}
	// The state filter goes to the API.
	_, doc = p.get("/console/computers/" + pcFailed + "?state=installed")
	if n := doc.Find("table#computer-updates tr[data-update-id]").Length(); n != 0 {
		t.Errorf("state=installed: %d rows, want 0", n)
	}
	if doc.Find(`select[name="state"] option[value="installed"][selected]`).Length() != 1 {
		t.Error("the state filter is not shown")
	}
	_, doc = p.get("/console/computers/" + pcFailed + "?state=failed")
	if n := doc.Find("table#computer-updates tr[data-update-id]").Length(); n != 1 {
		t.Errorf("state=failed: %d rows, want 1", n)
	}

	chid := uuid.MustParse("f0e1d2c3-b4a5-4697-8899-aabbccddeeff")
	inv := catalog.HardwareInventory{
		ReportedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), ComputerHardwareIDs: []uuid.UUID{chid},
		FeatureScoreMatchingKey: "AMD64.10.0", DeviceCount: 2,
		Devices: []catalog.InventoryDevice{
			{HardwareIDs: []string{`PCI\VEN_8086&DEV_15F3&SUBSYS_00008086`, `PCI\VEN_8086&DEV_15F3`},
				InstalledDriver: &catalog.InventoryDriver{MatchingID: `PCI\VEN_8086&DEV_15F3`, Provider: "Intel", Class: "Net",
					Model: "Intel(R) Ethernet Controller I225-V", DriverVerDate: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
					DriverVerVersion: 1<<48 | 2<<32 | 3<<16 | 4, DriverRank: 0xFF0000}},
			{HardwareIDs: []string{`USB\VID_046D&PID_C52B`}},
		},
	}
	if err := h.store.RecordHardware(context.Background(), pcFailed, inv); err != nil {
		t.Fatal(err)
	}
	_, doc = p.get("/console/computers/" + pcFailed)
	sec := doc.Find("section#inventory")
	all := strings.Join(strings.Fields(sec.Text()), " ")
	for _, want := range []string{chid.String(), `PCI\VEN_8086&DEV_15F3&SUBSYS_00008086`, `USB\VID_046D&PID_C52B`,
		"Intel", "Intel(R) Ethernet Controller I225-V", "1.2.3.4", "2024-05-01", "0x00FF0000", "AMD64.10.0", "2026-03-01 12:00 UTC",
		"2 reported; 1 with an installed driver"} {
		if !strings.Contains(all, want) {
			t.Errorf("inventory lacks %q: %s", want, all)
		}
	}
	if n := sec.Find("table#devices tbody tr").Length(); n != 2 {
		t.Errorf("%d device rows, want 2", n)
	}
	if sec.Find("details table#devices").Length() != 1 {
		t.Error("the device list is not in a <details>")
	}

	// An unknown computer shows the API's reason.
	status, doc = p.get("/console/computers/no-such-computer")
	if status != http.StatusNotFound || !strings.Contains(text(doc), `no computer has the client ID or DNS name "no-such-computer"`) {
		t.Errorf("unknown computer: %d %q", status, text(doc))
	}
}

// TestComputersMove checks moving a computer between groups with its
// groups form and with the list's bulk move, and deleting it; the API
// shows each change.
func TestComputersMove(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	_, doc := p.get("/console/computers/" + pcOK)
	form := doc.Find("form#groups")
	action, _ := form.Attr("action")
	if action != "/console/computers/"+pcOK+"/groups" {
		t.Fatalf("form#groups action %q", action)
	}
	boxes := map[string]bool{}
	form.Find(`input[type="checkbox"][name="group"]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		_, checked := s.Attr("checked")
		boxes[v] = checked
	})
	if len(boxes) != 2 || !boxes[h.groups[ring1].String()] || boxes[h.groups[ring2].String()] {
		t.Fatalf("group checkboxes %v, want Ring 1 checked and Ring 2 not", boxes)
	}
	status, doc := p.post(action, url.Values{"group": {h.groups[ring2].String()}})
	if ok, failed := flash(doc); status != http.StatusOK || ok != "ws-ok.corp.example is now in Ring 2." {
		t.Fatalf("move: %d, flash %q / %q", status, ok, failed)
	}
	if got := computersGroups(h, pcOK); !slices.Equal(got, []string{ring2}) {
		t.Errorf("API: pcOK's groups %q, want Ring 2", got)
	}
	if v, _ := doc.Find(`form#groups input[name="group"][checked]`).Attr("value"); v != h.groups[ring2].String() {
		t.Errorf("after the move the form checks %q, want Ring 2", v)
	}
	_, doc = p.get("/console/computers?group=" + h.groups[ring2].String())
	if got := rowIDs(doc, "table#computers", "data-client-id"); !slices.Equal(got, []string{pcOK}) {
		t.Errorf("Ring 2's list %q, want pcOK", got)
	}

	// Bulk: move the two others from Ring 1's list to Ring 2, then one to
	// Unassigned Computers.
	_, doc = p.get("/console/computers?group=" + h.groups[ring1].String())
	if doc.Find(`form#bulk-move input[name="computer"]`).Length() != 2 {
		t.Fatal("the bulk form lacks the computers' checkboxes")
	}
	if doc.Find(`form#bulk-move select[name="to"] option[value="`+h.groups[ring2].String()+`"]`).Length() != 1 {
		t.Fatal("the bulk form does not offer Ring 2")
	}
	_, doc = p.post("/console/computers/move", url.Values{"computer": {pcNeeds, pcFailed}, "to": {h.groups[ring2].String()}})
	if ok, failed := flash(doc); !strings.HasPrefix(ok, "Moved 2 computers to Ring 2") {
		t.Errorf("bulk move: flash %q / %q", ok, failed)
	}
	for _, id := range []string{pcNeeds, pcFailed} {
		if got := computersGroups(h, id); !slices.Equal(got, []string{ring2}) {
			t.Errorf("API: %s groups %q, want Ring 2", id, got)
		}
	}
	_, doc = p.post("/console/computers/move", url.Values{"computer": {pcNeeds}, "to": {""}})
	if ok, _ := flash(doc); !strings.HasPrefix(ok, "Moved 1 computers to Unassigned Computers") {
		t.Errorf("move to unassigned: flash %q", ok)
	}
	if got := computersGroups(h, pcNeeds); len(got) != 0 {
		t.Errorf("API: pcNeeds groups %q, want none", got)
	}
	_, doc = p.get("/console/computers?group=" + catalog.UnassignedComputersGroupID.String())
	if got := rowIDs(doc, "table#computers", "data-client-id"); !slices.Equal(got, []string{pcNeeds}) {
		t.Errorf("Unassigned Computers' list %q, want pcNeeds", got)
	}
	_, doc = p.post("/console/computers/move", url.Values{"to": {h.groups[ring1].String()}})
	if _, failed := flash(doc); !strings.Contains(failed, "Select the computers to move") {
		t.Errorf("bulk move of nothing: error %q", failed)
	}
	_, doc = p.post("/console/computers/move", url.Values{"computer": {pcOK}, "to": {"No Such Group"}})
	if _, failed := flash(doc); !strings.Contains(failed, "not moved") || !strings.Contains(failed, "No Such Group") {
		t.Errorf("bulk move to an unknown group: error %q, want the API's reason", failed)
	}

	// Delete a computer.
	_, doc = p.get("/console/computers/" + pcNeeds)
	del := doc.Find("form#delete-computer")
	if _, ok := del.Attr("data-confirm"); !ok {
		t.Error("the delete form does not ask to confirm")
	}
	action, _ = del.Attr("action")
	_, doc = p.post(action, url.Values{})
	if ok, failed := flash(doc); !strings.HasPrefix(ok, "Deleted the computer ws-needs.corp.example") {
		t.Errorf("delete: flash %q / %q", ok, failed)
	}
	if slices.Contains(rowIDs(doc, "table#computers", "data-client-id"), pcNeeds) {
		t.Error("the deleted computer is still listed")
	}
	if status, _ := p.get("/console/computers/" + pcNeeds); status != http.StatusNotFound {
		t.Errorf("deleted computer's page: %d, want 404", status)
	}
}

// TestComputersGroupAdmin checks creating, renaming and deleting a group
// as admin, and that a refusal shows the API's reason.
func TestComputersGroupAdmin(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	r1 := h.groups[ring1].String()
	_, doc := p.get("/console/computers?group=" + r1)
	if v, _ := doc.Find(`form#new-group input[name="parent"]`).Attr("value"); v != r1 {
		t.Fatalf("new group form's parent %q, want Ring 1", v)
	}
	_, doc = p.post("/console/computers/groups", url.Values{"name": {"Pilot"}, "parent": {r1}})
	if ok, failed := flash(doc); ok != "Created the target group Pilot." {
		t.Fatalf("create: flash %q / %q", ok, failed)
	}
	pilot := computersTreeLink(doc, "Pilot")
	if cur, _ := pilot.Attr("aria-current"); cur != "true" {
		t.Error("the new group is not the current one")
	}
	if parent := strings.TrimSpace(pilot.ParentsFiltered("li").Eq(1).ChildrenFiltered("a").Text()); parent != ring1 {
		t.Errorf("Pilot is under %q, want Ring 1", parent)
	}
	if opt := doc.Find(`select[name="to"] option`).FilterFunction(func(_ int, s *goquery.Selection) bool { return s.Text() == "Ring 1 › Pilot" }); opt.Length() != 0 {
		// The list of Pilot is empty: no bulk form; the detail offers it.
		t.Error("an empty list shows the bulk move")
	}
	var g admin.Group
	h.api(http.MethodGet, "/api/v1/groups/Pilot", "", http.StatusOK, &g)
	if g.ParentID == nil || *g.ParentID != h.groups[ring1] {
		t.Errorf("API: Pilot's parent %v, want Ring 1", g.ParentID)
	}
	_, doc = p.get("/console/computers/" + pcOK)
	if doc.Find(`form#groups label`).FilterFunction(func(_ int, s *goquery.Selection) bool { return strings.TrimSpace(s.Text()) == "Ring 1 › Pilot" }).Length() != 1 {
		t.Error("the groups form does not offer Ring 1 › Pilot")
	}

	_, doc = p.get("/console/computers?group=" + g.ID.String())
	action, _ := doc.Find("form#rename-group").Attr("action")
	_, doc = p.post(action, url.Values{"name": {"Pilot ring"}})
	if ok, failed := flash(doc); ok != "Renamed the target group Pilot to Pilot ring." {
		t.Errorf("rename: flash %q / %q", ok, failed)
	}
	if computersTreeLink(doc, "Pilot ring").Length() != 1 {
		t.Error("the tree does not show the new name")
	}
	h.api(http.MethodGet, "/api/v1/groups/"+g.ID.String(), "", http.StatusOK, &g)
	if g.Name != "Pilot ring" {
		t.Errorf("API: name %q", g.Name)
	}

	_, doc = p.post("/console/computers/groups", url.Values{"name": {"ring 2"}, "parent": {r1}})
	if _, failed := flash(doc); !strings.Contains(failed, `a target group is already named "Ring 2"`) {
		t.Errorf("duplicate name: error %q, want the API's reason", failed)
	}

	// The person is back on Ring 1, which has a child group: the API
	// refuses to delete it, and says why.
	action, _ = doc.Find("form#delete-group").Attr("action")
	_, doc = p.post(action, url.Values{})
	if _, failed := flash(doc); action != "/console/computers/groups/"+r1+"/delete" || !strings.Contains(failed, "has child groups; delete them first") {
		t.Errorf("delete Ring 1 (%s): error %q, want the API's refusal", action, failed)
	}

	_, doc = p.get("/console/computers?group=" + g.ID.String())
	del := doc.Find("form#delete-group")
	if _, ok := del.Attr("data-confirm"); !ok {
		t.Error("the delete group form does not ask to confirm")
	}
	action, _ = del.Attr("action")
	_, doc = p.post(action, url.Values{})
	if ok, failed := flash(doc); !strings.HasPrefix(ok, "Deleted the target group Pilot ring") {
		t.Errorf("delete: flash %q / %q", ok, failed)
	}
	if computersTreeLink(doc, "Pilot ring").Length() != 0 {
		t.Error("the deleted group is still in the tree")
	}
	if cur, _ := computersTreeLink(doc, ring1).Attr("aria-current"); cur != "true" {
		t.Error("after the delete the person is not back at the parent group")
	}

	// Built-in groups offer no rename or delete.
	_, doc = p.get("/console/computers")
	if doc.Find("form#rename-group, form#delete-group").Length() != 0 {
		t.Error("All Computers offers rename or delete")
	}
	_, doc = p.get("/console/computers?group=" + catalog.UnassignedComputersGroupID.String())
	if doc.Find("form#new-group, form#rename-group, form#delete-group").Length() != 0 {
		t.Error("Unassigned Computers offers group forms")
	}
}

// TestComputersReadOnlyRoles checks that a viewer and an approver see no
// form that changes anything, and that a forged change is refused with
// the API's reason and changes nothing.
func TestComputersReadOnlyRoles(t *testing.T) {
	h := newHarness(t)
	for _, role := range []catalog.Role{catalog.RoleViewer, catalog.RoleApprover} {
		t.Run(string(role), func(t *testing.T) {
			p := h.signIn(h.token(role))
			for _, path := range []string{"/console/computers", "/console/computers?group=" + h.groups[ring1].String(), "/console/computers/" + pcOK} {
				status, doc := p.get(path)
				if status != http.StatusOK {
					t.Fatalf("%s: %d %s", path, status, text(doc))
				}
				if n := doc.Find(`main form[method="post"]`).Length(); n != 0 {
					t.Errorf("%s: %d forms that post", path, n)
				}
				if n := doc.Find(`main input[type="checkbox"][name="computer"], main input[name="group"][type="checkbox"]`).Length(); n != 0 {
					t.Errorf("%s: %d selection checkboxes", path, n)
				}
			}
			_, doc := p.get("/console/computers/" + pcOK)
			if !strings.Contains(doc.Find("#assigned-groups").Text(), ring1) {
				t.Error("the groups are not shown read-only")
			}
			for _, forged := range []struct {
				path string
				form url.Values
			}{
				{"/console/computers/" + pcOK + "/groups", url.Values{"group": {h.groups[ring2].String()}}},
				{"/console/computers/groups", url.Values{"name": {"Forged"}}},
				{"/console/computers/groups/" + h.groups[ring1].String() + "/delete", url.Values{}},
			} {
				status, doc := p.post(forged.path, forged.form)
				if _, failed := flash(doc); status != http.StatusOK || !strings.Contains(failed, "needs the admin role") {
					t.Errorf("forged POST %s: %d, error %q; want the API's refusal", forged.path, status, failed)
				}
			}
			if got := computersGroups(h, pcOK); !slices.Equal(got, []string{ring1}) {
				t.Errorf("API: after a forged move pcOK's groups %q, want Ring 1", got)
			}
			var groups admin.GroupList
			h.api(http.MethodGet, "/api/v1/groups", "", http.StatusOK, &groups)
			if len(groups.Groups) != 4 {
				t.Errorf("API: %d groups after forged changes, want 4", len(groups.Groups))
			}
		})
	}
}

// TestComputersAccessible checks the computers pages' markup for what a
// screen reader and a phone need: every field has a label, every header
// cell a scope, every data cell of a stacking table a data-label, and the
// tables scroll in a .table-wrap.
func TestComputersAccessible(t *testing.T) {
	h := newHarness(t)
	if err := h.store.RecordHardware(context.Background(), pcOK, catalog.HardwareInventory{ReportedAt: time.Now().UTC(), DeviceCount: 1,
		Devices: []catalog.InventoryDevice{{HardwareIDs: []string{`ACPI\PNP0A08`}}}}); err != nil {
		t.Fatal(err)
	}
	p := h.signIn(adminToken)
	for _, path := range []string{"/console/computers", "/console/computers?group=" + h.groups[ring1].String(), "/console/computers/" + pcOK} {
		_, doc := p.get(path)
		doc.Find(`main input:not([type="hidden"]), main select`).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("id")
			_, aria := s.Attr("aria-label")
			wrapped := s.ParentsFiltered("label").Length() > 0
			if !aria && !wrapped && (id == "" || doc.Find(`label[for="`+id+`"]`).Length() == 0) {
				html, _ := goquery.OuterHtml(s)
				t.Errorf("%s: a field without a label: %s", path, html)
			}
		})
		doc.Find("main th").Each(func(_ int, s *goquery.Selection) {
			if scope, _ := s.Attr("scope"); scope != "col" {
				t.Errorf("%s: a header cell without scope=col: %q", path, s.Text())
			}
		})
		doc.Find("main table.stack").Each(func(_ int, tbl *goquery.Selection) {
			if tbl.ParentsFiltered(".table-wrap").Length() == 0 {
				t.Errorf("%s: a table outside .table-wrap", path)
			}
			tbl.Find("tbody tr").Each(func(_ int, tr *goquery.Selection) {
				if tr.Find("td").Length() == 1 {
					return // a message row ("No computer ...")
				}
				tr.Find("td").Each(func(_ int, td *goquery.Selection) {
					if _, ok := td.Attr("data-label"); !ok && td.Find(`input[type="checkbox"]`).Length() == 0 {
						t.Errorf("%s: a cell without data-label: %q", path, td.Text())
					}
				})
			})
		})
	}
}

// TestComputerUpdatesSort checks the sortable headers of a computer's
// update states: by title unless told, the State header sorting by what
// needs attention first and then the other way, the last change newest
// first, and the state filter and the sort kept by each other. A viewer
// sorts too.
func TestComputerUpdatesSort(t *testing.T) {
	h := newHarness(t)
	// ws-failed also installed the Defender bundle (an hour from now: its
	// last change) and reported its member not applicable. By title:
	// "AM Engine ..." (the member), "HIDDEN: ..." (the bundle), "wsus demo
	// update ...".
	now := time.Now().UTC().Truncate(time.Second)
	later := now.Add(time.Hour)
	demo, bundle, member := demoUpdate.String(), defenderBundle, amEngineMember
	if err := h.store.SetStatuses(t.Context(), pcFailed, []catalog.UpdateStatus{
		{ClientID: pcFailed, UpdateID: uuid.MustParse(member), State: catalog.StateNotApplicable, ChangedAt: now},
	}, false, now); err != nil {
		t.Fatal(err)
	}
	if err := h.store.SetStatuses(t.Context(), pcFailed, []catalog.UpdateStatus{
		{ClientID: pcFailed, UpdateID: uuid.MustParse(bundle), State: catalog.StateInstalled, ChangedAt: later},
	}, false, later); err != nil {
		t.Fatal(err)
	}
	p := h.signIn(adminToken)
	path := "/console/computers/" + pcFailed
	tb := sortedTable{t: t, path: path, table: "table#computer-updates", attr: "data-update-id"}

	_, doc := p.get(path)
	tb.check("default", doc, member, bundle, demo)
	if s := tb.header(doc, "Update").AttrOr("aria-sort", ""); s != "ascending" {
		t.Errorf("default: Update header aria-sort %q, want ascending", s)
	}
	if tb.header(doc, "Error code").Find("a").Length() != 0 {
		t.Error("the Error code column sorts: the API cannot")
	}
	if strings.Contains(doc.Find("table#computer-updates caption").Text(), "by title") {
		t.Error("the caption still says the list is by title")
	}

	// State: failed, installed, not applicable; again: the other way.
	_, doc = p.get(tb.header(doc, "State").Find("a").AttrOr("href", ""))
	tb.check("by state", doc, demo, bundle, member)
	th := tb.header(doc, "State")
	if th.AttrOr("aria-sort", "") != "ascending" {
		t.Errorf("by state: aria-sort %q", th.AttrOr("aria-sort", ""))
	}
	_, doc = p.get(th.Find("a").AttrOr("href", ""))
	tb.check("by state, descending", doc, member, bundle, demo)

	// The last change is newest first unless told (ties by title).
	_, doc = p.get(path + "?sort=changed")
	tb.check("by last change", doc, bundle, member, demo)
	if th := tb.header(doc, "Changed"); th.AttrOr("aria-sort", "") != "descending" ||
		tb.query(th.Find("a").AttrOr("href", "")).Get("order") != "asc" {
		t.Errorf("by last change: header aria-sort %q href %q, want descending toggling to asc", th.AttrOr("aria-sort", ""),
			th.Find("a").AttrOr("href", ""))
	}
	_, doc = p.get(path + "?sort=title&order=desc")
	tb.check("by title, descending", doc, demo, bundle, member)

	// The state filter keeps the sort (hidden fields of its form), and the
	// headers keep the state.
	_, doc = p.get(path + "?sort=state&order=desc&state=installed")
	tb.check("installed, by state", doc, bundle)
	form := doc.Find(`form.filters`)
	if form.Find(`input[type="hidden"][name="sort"][value="state"]`).Length() != 1 ||
		form.Find(`input[type="hidden"][name="order"][value="desc"]`).Length() != 1 {
		t.Error("the state filter's form does not keep the sort")
	}
	href := tb.header(doc, "KB").Find("a").AttrOr("href", "")
	if q := tb.query(href); q.Get("state") != "installed" || q.Get("sort") != "kb" {
		t.Errorf("KB header %q: want the state kept and sort=kb", href)
	}
	_, doc = p.get(form.AttrOr("action", "") + "?" + url.Values{"state": {""}, "sort": {"state"}, "order": {"desc"}}.Encode())
	tb.check("the filter form, every state", doc, member, bundle, demo)

	// An order the API refuses shows its reason.
	status, doc := p.get(path + "?sort=name")
	if status != http.StatusBadRequest || !strings.Contains(text(doc), `sort "name" is not one of title, kb, state, changed`) {
		t.Errorf("sort=name: status %d, page %q; want 400 with the API's reason", status, text(doc))
	}

	// A viewer sorts too, and sees no form that changes anything.
	v := h.signIn(h.token(catalog.RoleViewer))
	_, doc = v.get(path + "?sort=state")
	tb.check("viewer, by state", doc, demo, bundle, member)
	if n := doc.Find(`main form[method="post"]`).Length(); n != 0 {
		t.Errorf("the viewer sees %d forms that post", n)
	}
}
