package console

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// This file is the Computers pages, WSUS's "Computers" view: the target
// groups as a tree beside the computers of the chosen group (filtered,
// sorted and paged by the API), one computer's detail (its facts, its
// hardware inventory and its per-update states), and the forms an admin
// uses to manage groups and move computers between them. Every change is
// an admin API call (group and computer writes need the admin role:
// catalog/admin/access.go); the pages only hide the forms from the other
// roles.

// computersPageSize is the rows of a page of computers, or of one
// computer's update states.
const computersPageSize = 50

// maxBulkMove bounds the computers one bulk move changes: one page of the
// list (each is a call of its own).
const maxBulkMove = 2 * computersPageSize

// routeComputers registers the computers pages (group tree, list, detail,
// move between groups) and their forms.
func (c *Console) routeComputers() {
	c.get("GET /console/computers", c.computersPage)
	c.get("GET /console/computers/{id}", c.computerPage)
	c.post("POST /console/computers/groups", c.createGroup)
	c.post("POST /console/computers/groups/{id}/rename", c.renameGroup)
	c.post("POST /console/computers/groups/{id}/delete", c.deleteGroup)
	c.post("POST /console/computers/move", c.moveComputers)
	c.post("POST /console/computers/{id}/groups", c.setComputerGroups)
	c.post("POST /console/computers/{id}/delete", c.deleteComputer)
}

// computerListParams are the parameters of the computer list the page
// keeps in its links; all but group are the API's own.
var computerListParams = []string{"group", "q", "needing", "failing", "not_reported_days", "sort", "order", "offset"}

// computerSortsDescending are the computer list's sorts the API orders
// newest or most first when the request gives no order (compliance.go,
// parseComputerQuery); by name it ascends.
var computerSortsDescending = []string{"last_status", "last_sync", "needed", "failed"}

// groupNode is one target group of the tree, with its children.
type groupNode struct {
	ID   uuid.UUID
	Name string
	// Href shows the group's computers, keeping the list's filters.
	Href string
	// Current marks the group whose computers are shown.
	Current bool
	// Computers is the group's computer count; Counted is false when the
	// compliance rollup did not list the group.
	Computers int
	Counted   bool
	Children  []*groupNode
}

// groupChoice is a group a computer can be assigned to (every group but
// the built-in ones), as a checkbox or an option.
type groupChoice struct {
	ID uuid.UUID
	// Path names the group with its parents below All Computers
	// ("Ring 1 › Pilot").
	Path    string
	Checked bool
}

// computersData is the computer list page's data.
type computersData struct {
	Q    listQuery
	Tree []*groupNode
	// Group is the group whose computers are listed.
	Group admin.GroupRef
	// Builtin is true for All Computers and Unassigned Computers, which
	// cannot be renamed or deleted; Childless for Unassigned Computers,
	// which cannot have child groups.
	Builtin, Childless bool
	Computers          []admin.ComputerRow
	Pager              pager
	// Filtered is true when a filter narrows the list.
	Filtered bool
	// Targets are the groups the bulk move may move computers to.
	Targets []groupChoice
}

// computersPage serves GET /console/computers: the group tree and the
// chosen group's computers (?group=, All Computers without it), filtered
// by the API's filters (q, needing, failing, not_reported_days), sorted
// and paged by the API.
func (c *Console) computersPage(q *request) error {
	lq := newListQuery("/console/computers", q.r.URL.Query(), computerListParams...).namingOrder(computerSortsDescending...)
	var groups admin.GroupList
	if err := q.get("/api/v1/groups", nil, &groups); err != nil {
		return err
	}
	var rollup admin.GroupComplianceList
	if err := q.get("/api/v1/compliance/groups", nil, &rollup); err != nil {
		return err
	}
	api := url.Values{"limit": {strconv.Itoa(computersPageSize)}}
	for _, k := range []string{"q", "needing", "failing", "not_reported_days", "sort", "order", "offset"} {
		if v := lq.Get(k); v != "" {
			api.Set(k, v)
		}
	}
	d := computersData{Q: lq}
	if ref := lq.Get("group"); ref != "" {
		var list admin.GroupComputerList
		if err := q.get("/api/v1/groups/"+url.PathEscape(ref)+"/computers", api, &list); err != nil {
			return err
		}
		d.Group, d.Computers = list.Group, list.Computers
		d.Pager = pager{Q: lq, Total: list.Total, Limit: list.Limit, Offset: list.Offset}
	} else {
		var list admin.ComputerList
		if err := q.get("/api/v1/computers", api, &list); err != nil {
			return err
		}
		d.Group = admin.GroupRef{ID: catalog.AllComputersGroupID, Name: groupName(groups.Groups, catalog.AllComputersGroupID)}
		d.Computers = list.Computers
		d.Pager = pager{Q: lq, Total: list.Total, Limit: list.Limit, Offset: list.Offset}
	}
	d.Builtin = isBuiltinGroup(d.Group.ID)
	d.Childless = d.Group.ID == catalog.UnassignedComputersGroupID
	d.Filtered = lq.Get("q") != "" || lq.Get("needing") != "" || lq.Get("failing") != "" || lq.Get("not_reported_days") != ""
	counts := make(map[uuid.UUID]int, len(rollup.Groups))
	for _, g := range rollup.Groups {
		counts[g.ID] = g.Computers
	}
	d.Tree = groupTree(groups.Groups, counts, d.Group.ID, func(id uuid.UUID) string {
		if id == catalog.AllComputersGroupID {
			return lq.With("group", "")
		}
		return lq.With("group", id.String())
	})
	d.Targets = groupChoices(groups.Groups, nil)
	return q.render("computers", "Computers", "computers", d)
}

// groupTree arranges groups by parent: the roots (All Computers) with
// their children, each level ordered as listed (the API lists groups by
// name), Unassigned Computers first among its siblings as WSUS shows it.
// A group whose parent is not listed is shown as a root, so none is lost.
func groupTree(groups []admin.Group, counts map[uuid.UUID]int, current uuid.UUID, href func(uuid.UUID) string) []*groupNode {
	nodes := make(map[uuid.UUID]*groupNode, len(groups))
	for _, g := range groups {
		n, ok := counts[g.ID]
		nodes[g.ID] = &groupNode{ID: g.ID, Name: g.Name, Href: href(g.ID), Current: g.ID == current, Computers: n, Counted: ok}
	}
	var roots []*groupNode
	for _, g := range groups {
		n := nodes[g.ID]
		if g.ParentID != nil {
			if p, ok := nodes[*g.ParentID]; ok && *g.ParentID != g.ID {
				p.Children = append(p.Children, n)
				continue
			}
		}
		roots = append(roots, n)
	}
	for _, n := range nodes {
		slices.SortStableFunc(n.Children, func(a, b *groupNode) int {
			switch {
			case a.ID == catalog.UnassignedComputersGroupID:
				return -1
			case b.ID == catalog.UnassignedComputersGroupID:
				return 1
			}
			return 0
		})
	}
	return roots
}

// groupChoices are the groups a computer can be assigned to, named by
// their path, ordered by it; those in checked are checked.
func groupChoices(groups []admin.Group, checked []admin.GroupRef) []groupChoice {
	byID := make(map[uuid.UUID]admin.Group, len(groups))
	for _, g := range groups {
		byID[g.ID] = g
	}
	var out []groupChoice
	for _, g := range groups {
		if isBuiltinGroup(g.ID) {
			continue
		}
		out = append(out, groupChoice{ID: g.ID, Path: groupPath(byID, g),
			Checked: slices.ContainsFunc(checked, func(r admin.GroupRef) bool { return r.ID == g.ID })})
	}
	slices.SortStableFunc(out, func(a, b groupChoice) int { return strings.Compare(strings.ToLower(a.Path), strings.ToLower(b.Path)) })
	return out
}

// groupPath names g with its parents, All Computers left out.
func groupPath(byID map[uuid.UUID]admin.Group, g admin.Group) string {
	parts := []string{g.Name}
	seen := map[uuid.UUID]bool{g.ID: true}
	for p := g.ParentID; p != nil && *p != catalog.AllComputersGroupID && !seen[*p]; {
		parent, ok := byID[*p]
		if !ok {
			break
		}
		seen[parent.ID] = true
		parts = append([]string{parent.Name}, parts...)
		p = parent.ParentID
	}
	return strings.Join(parts, " › ")
}

// groupName is the name of the group id among groups, "" if not listed.
func groupName(groups []admin.Group, id uuid.UUID) string {
	for _, g := range groups {
		if g.ID == id {
			return g.Name
		}
	}
	return ""
}

// isBuiltinGroup tells whether id is All Computers or Unassigned
// Computers, which the API neither renames, deletes nor assigns to.
func isBuiltinGroup(id uuid.UUID) bool {
	return id == catalog.AllComputersGroupID || id == catalog.UnassignedComputersGroupID
}

// computerData is a computer's detail page's data.
type computerData struct {
	C admin.ComputerDetail
	// Hardware is the inventory as shown; nil before a driver pass.
	Hardware *hardwareView
	// Q is the update state list's query (state, sort, offset); Sort is Q
	// naming the API's default order (by title) when Q names none, for
	// the sort headers.
	Q      listQuery
	Sort   listQuery
	States []admin.StatusRow
	Pager  pager
	// StateOptions are the classes the state filter offers.
	StateOptions []stateOption
	// Groups are the checkboxes of the groups form.
	Groups []groupChoice
}

// stateOption is one choice of the update state filter.
type stateOption struct {
	Value, Label string
}

// stateOptions are the compliance classes a computer's update list can be
// filtered by (no_status is answered per update only: compliance.go).
var stateOptions = []stateOption{
	{string(catalog.ComplianceNeeded), "Needed"},
	{string(catalog.ComplianceFailed), "Failed"},
	{string(catalog.ComplianceInstalled), "Installed"},
	{string(catalog.ComplianceNotApplicable), "Not applicable"},
}

// computerUpdateParams are the parameters of a computer's update states:
// the state filter, the sort and the paging, named as GET
// /api/v1/computers/{id}/updates names them.
var computerUpdateParams = []string{"state", "sort", "order", "offset"}

// computerUpdateSortsDesc are the sorts GET /api/v1/computers/{id}/updates
// orders newest first when no order is given (admin.parseComputerUpdateQuery).
var computerUpdateSortsDesc = []string{"changed"}

// computerPage serves GET /console/computers/{id}: a computer's facts,
// hardware inventory and per-update states (?state=, sorted and paged).
func (c *Console) computerPage(q *request) error {
	id := q.r.PathValue("id")
	path := "/api/v1/computers/" + url.PathEscape(id)
	d := computerData{StateOptions: stateOptions}
	if err := q.get(path, nil, &d.C); err != nil {
		return err
	}
	d.Hardware = newHardwareView(d.C.Hardware)
	d.Q = newListQuery("/console/computers/"+url.PathEscape(id), q.r.URL.Query(), computerUpdateParams...).
		namingOrder(computerUpdateSortsDesc...)
	d.Sort = newListQuery(d.Q.Path, d.Q.Values, computerUpdateParams...)
	if d.Sort.Get("sort") == "" {
		d.Sort.Values.Set("sort", "title")
	}
	api := url.Values{"limit": {strconv.Itoa(computersPageSize)}}
	for _, k := range computerUpdateParams {
		if v := d.Q.Get(k); v != "" {
			api.Set(k, v)
		}
	}
	var states admin.ComputerUpdateList
	if err := q.get(path+"/updates", api, &states); err != nil {
		return err
	}
	d.States = states.Updates
	d.Pager = pager{Q: d.Q, Total: states.Total, Limit: states.Limit, Offset: states.Offset}
	if q.s.IsAdmin() {
		var groups admin.GroupList
		if err := q.get("/api/v1/groups", nil, &groups); err != nil {
			return err
		}
		d.Groups = groupChoices(groups.Groups, d.C.Groups)
	}
	title := d.C.DNSName
	if title == "" {
		title = d.C.ID
	}
	return q.render("computer", title, "computers", d)
}

// hardwareView is a hardware inventory as the detail shows it.
type hardwareView struct {
	ReportedAt              time.Time
	FeatureScoreMatchingKey string
	CHIDs                   []uuid.UUID
	// DeviceCount is how many devices the client listed; Devices those
	// the server kept; WithDriver how many of them have a driver.
	DeviceCount int
	Devices     []deviceView
	WithDriver  int
}

// deviceView is one device of the inventory.
type deviceView struct {
	HardwareIDs   []string
	CompatibleIDs []string
	Driver        *driverView
}

// driverView is a device's installed driver, its version and rank
// formatted as Windows shows them.
type driverView struct {
	Provider, Manufacturer, Model, Class, MatchingID string
	// Version is "major.minor.build.revision".
	Version string
	// Date is the driver's date ("2024-05-01"), "" when not sent.
	Date string
	// Rank is the driver rank in hexadecimal ("0x00FF0000").
	Rank string
}

// newHardwareView returns h as shown, nil for nil.
func newHardwareView(h *catalog.HardwareInventory) *hardwareView {
	if h == nil {
		return nil
	}
	v := &hardwareView{ReportedAt: h.ReportedAt, FeatureScoreMatchingKey: h.FeatureScoreMatchingKey,
		CHIDs: h.ComputerHardwareIDs, DeviceCount: max(h.DeviceCount, len(h.Devices))}
	for _, dev := range h.Devices {
		dv := deviceView{HardwareIDs: dev.HardwareIDs, CompatibleIDs: dev.CompatibleIDs}
		if d := dev.InstalledDriver; d != nil {
			dv.Driver = &driverView{Provider: d.Provider, Manufacturer: d.Manufacturer, Model: d.Model, Class: d.Class,
				MatchingID: d.MatchingID, Version: driverVersion(d.DriverVerVersion), Date: driverDate(d.DriverVerDate),
				Rank: fmt.Sprintf("0x%08X", uint32(d.DriverRank))}
			v.WithDriver++
		}
		v.Devices = append(v.Devices, dv)
	}
	return v
}

// driverVersion formats a DriverVerVersion (four 16-bit parts in an
// xs:long, catalog.InventoryDriver) as "10.0.26100.1".
func driverVersion(v int64) string {
	u := uint64(v)
	return fmt.Sprintf("%d.%d.%d.%d", u>>48&0xFFFF, u>>32&0xFFFF, u>>16&0xFFFF, u&0xFFFF)
}

// driverDate formats a driver's date as Windows shows it (a date, no
// time); "" for the zero time.
func driverDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// computersBack is the list page of group id ("" or All Computers: the
// list without a group).
func computersBack(id string) string {
	if id == "" || id == catalog.AllComputersGroupID.String() {
		return "/console/computers"
	}
	return "/console/computers?group=" + url.QueryEscape(id)
}

// createGroup serves the new group form: POST /api/v1/groups with the
// name and the parent group (an ID; All Computers when empty).
func (c *Console) createGroup(q *request) (string, flash, error) {
	parent := strings.TrimSpace(q.r.PostFormValue("parent"))
	back := computersBack(parent)
	var g admin.Group
	if err := q.api(http.MethodPost, "/api/v1/groups", nil, admin.GroupRequest{Name: q.r.PostFormValue("name"), Parent: parent}, &g); err != nil {
		return back, flash{}, err
	}
	return computersBack(g.ID.String()), flashOK("Created the target group " + g.Name + "."), nil
}

// renameGroup serves the rename form: PATCH /api/v1/groups/{id}.
func (c *Console) renameGroup(q *request) (string, flash, error) {
	id := q.r.PathValue("id")
	back := computersBack(id)
	var before, g admin.Group
	if err := q.get("/api/v1/groups/"+url.PathEscape(id), nil, &before); err != nil {
		return back, flash{}, err
	}
	if err := q.api(http.MethodPatch, "/api/v1/groups/"+url.PathEscape(id), nil, admin.GroupRenameRequest{Name: q.r.PostFormValue("name")}, &g); err != nil {
		return back, flash{}, err
	}
	return back, flashOK("Renamed the target group " + before.Name + " to " + g.Name + "."), nil
}

// deleteGroup serves the delete form: DELETE /api/v1/groups/{id}; the
// person goes back to the parent group.
func (c *Console) deleteGroup(q *request) (string, flash, error) {
	id := q.r.PathValue("id")
	back := computersBack(id)
	var g admin.Group
	if err := q.get("/api/v1/groups/"+url.PathEscape(id), nil, &g); err != nil {
		return computersBack(""), flash{}, err
	}
	var gone admin.DeletedGroup
	if err := q.api(http.MethodDelete, "/api/v1/groups/"+url.PathEscape(id), nil, nil, &gone); err != nil {
		return back, flash{}, err
	}
	parent := ""
	if g.ParentID != nil {
		parent = g.ParentID.String()
	}
	return computersBack(parent), flashOK("Deleted the target group " + gone.Name + "; its computers left it and its approvals were removed."), nil
}

// setComputerGroups serves the groups form of a computer: PUT
// /api/v1/computers/{id}/groups with the checked groups (none: the
// computer goes to Unassigned Computers).
func (c *Console) setComputerGroups(q *request) (string, flash, error) {
	id := q.r.PathValue("id")
	back := "/console/computers/" + url.PathEscape(id)
	groups := append([]string{}, q.r.PostForm["group"]...)
	var out admin.Computer
	if err := q.api(http.MethodPut, "/api/v1/computers/"+url.PathEscape(id)+"/groups", nil, admin.ComputerGroupsRequest{Groups: groups}, &out); err != nil {
		return back, flash{}, err
	}
	return back, flashOK(computerLabel(out) + " is now in " + groupRefNames(out.Groups) + "."), nil
}

// moveComputers serves the list's bulk move: each checked computer is
// assigned to the one chosen group only (PUT /api/v1/computers/{id}/groups),
// or to none (Unassigned Computers) when the choice is empty. Each move is
// a call of its own; those that fail are named with the API's reason, and
// the others are done.
func (c *Console) moveComputers(q *request) (string, flash, error) {
	ids := q.r.PostForm["computer"]
	to := strings.TrimSpace(q.r.PostFormValue("to"))
	switch {
	case len(ids) == 0:
		return "", flash{}, refusal("Select the computers to move first; nothing was changed.")
	case len(ids) > maxBulkMove:
		return "", flash{}, refusal(fmt.Sprintf("At most %d computers can be moved at once; nothing was changed.", maxBulkMove))
	}
	groups := []string{}
	if to != "" {
		groups = append(groups, to)
	}
	var moved []string
	var failed []string
	where := "Unassigned Computers"
	for _, id := range ids {
		var out admin.Computer
		err := q.api(http.MethodPut, "/api/v1/computers/"+url.PathEscape(id)+"/groups", nil, admin.ComputerGroupsRequest{Groups: groups}, &out)
		if err != nil {
			if statusOf(err) == http.StatusUnauthorized {
				return "", flash{}, err
			}
			failed = append(failed, id+": "+reasonOf(err))
			continue
		}
		moved = append(moved, computerLabel(out))
		if to != "" {
			where = groupRefNames(out.Groups)
		}
	}
	if len(failed) > 0 {
		return "", flash{}, refusal(fmt.Sprintf("Moved %d of %d computers; not moved: %s", len(moved), len(ids), strings.Join(failed, "; ")))
	}
	return "", flashOK(fmt.Sprintf("Moved %d computers to %s: %s.", len(moved), where, strings.Join(moved, ", "))), nil
}

// deleteComputer serves the delete form of a computer: DELETE
// /api/v1/computers/{id}.
func (c *Console) deleteComputer(q *request) (string, flash, error) {
	id := q.r.PathValue("id")
	var gone admin.DeletedComputers
	if err := q.api(http.MethodDelete, "/api/v1/computers/"+url.PathEscape(id), nil, nil, &gone); err != nil {
		return "/console/computers/" + url.PathEscape(id), flash{}, err
	}
	names := make([]string, 0, len(gone.Computers))
	for _, c := range gone.Computers {
		names = append(names, cmp.Or(c.DNSName, c.ID))
	}
	return "/console/computers", flashOK("Deleted the computer " + strings.Join(names, ", ") + " and what it reported; if it contacts the server again it comes back as new."), nil
}

// computerLabel names a computer by DNS name, else client ID.
func computerLabel(c admin.Computer) string { return cmp.Or(c.DNSName, c.ID) }

// groupRefNames lists groups by name; "Unassigned Computers" for none.
func groupRefNames(groups []admin.GroupRef) string {
	if len(groups) == 0 {
		return "Unassigned Computers"
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	return strings.Join(names, ", ")
}

// refusal is a form's error the console itself finds before calling the
// API (nothing selected), shown to the person as it is.
type refusal string

func (r refusal) Error() string { return string(r) }
