package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"wsus/catalog/admin"
)

// This file is the updates pages, the WSUS console's "All Updates" view:
// the list (GET /console/updates) with the filters and search of GET
// /api/v1/updates, sorted and paged by the API, and one update's detail
// (GET /console/updates/{id}) with its approvals, its counts and the
// computers in each state. The forms that change them are in
// updates_bulk.go.

// routeUpdates registers the updates pages (list, detail, approve, decline, bulk).
func (c *Console) routeUpdates() {
	c.get("GET /console/updates", c.updatesPage)
	c.get("GET /console/updates/{id}", c.updatePage)
	c.get("GET /console/updates/{id}/counts", c.updateCounts)
	c.post("POST /console/updates/bulk", c.bulkUpdates)
	c.post("POST /console/updates/{id}/approve", c.approveUpdate)
	c.post("POST /console/updates/{id}/decline", c.declineUpdate(true))
	c.post("POST /console/updates/{id}/undecline", c.declineUpdate(false))
}

// updatesPageSize is the list's page size when the person chose none.
const updatesPageSize = 50

// updateFilterParams are the list's filters: those of GET /api/v1/updates,
// named as the API names them, but approval (WSUS's approval filter), which
// apiUpdateQuery turns into the API's approved and declined.
var updateFilterParams = []string{"q", "type", "product", "classification", "severity", "kb", "approval",
	"superseded", "group", "released_after", "released_before", "min_needed", "min_failed"}

// updateListParams are every parameter of the list page: its filters, sort
// and paging.
var updateListParams = append(slices.Clip(updateFilterParams), "sort", "order", "limit", "offset")

// approvalFilter is one choice of the list's approval filter (WSUS's
// "Approval:" drop-down) and the API parameters it stands for.
type approvalFilter struct {
	Value, Label string
	api          url.Values
}

// approvalFilters are the approval filter's choices, in the order shown.
var approvalFilters = []approvalFilter{
	{Value: "", Label: "Any"},
	{Value: "not_declined", Label: "Any except declined", api: url.Values{"declined": {"false"}}},
	{Value: "approved", Label: "Approved", api: url.Values{"approved": {"true"}}},
	{Value: "unapproved", Label: "Unapproved", api: url.Values{"approved": {"false"}, "declined": {"false"}}},
	{Value: "declined", Label: "Declined", api: url.Values{"declined": {"true"}}},
}

// updateSortsDesc are the sorts GET /api/v1/updates orders most (newest)
// first when no order is given (admin.parseUpdateQuery); the page names
// that order so the sorted column's header says it.
var updateSortsDesc = []string{"released", "needed", "failed", "installed"}

// apiUpdateQuery returns the query of GET /api/v1/updates for the list's
// parameters l: the API's own parameters as they are (the API checks
// them), approval turned into approved and declined, and the page size
// defaulting to updatesPageSize.
func apiUpdateQuery(l listQuery) (url.Values, error) {
	out := url.Values{}
	for k, vs := range l.Values {
		if k != "approval" {
			out[k] = append([]string(nil), vs...)
		}
	}
	if a := l.Get("approval"); a != "" {
		i := slices.IndexFunc(approvalFilters, func(f approvalFilter) bool { return f.Value == a })
		if i < 0 {
			return nil, fmt.Errorf("approval %q is not one of not_declined, approved, unapproved, declined", a)
		}
		for k, vs := range approvalFilters[i].api {
			out[k] = vs
		}
	}
	if out.Get("limit") == "" {
		out.Set("limit", strconv.Itoa(updatesPageSize))
	}
	return out, nil
}

// updatesData is the list page's data.
type updatesData struct {
	Q listQuery
	// Sort is Q naming the API's default order (newest release first)
	// when Q names none, for the sort headers.
	Sort  listQuery
	Pager pager
	// Updates is nil when the API refused the query (the flash says why).
	Updates []admin.Update
	Total   int
	// Filter is the list's filters alone (no sort, no paging), encoded:
	// what the bulk form's "every update this filter selects" applies to.
	Filter string
	// The filters' choices.
	Approvals       []approvalFilter
	Types           []string
	Severities      []string
	PageSizes       []int
	Products        []admin.Category
	Classifications []admin.Category
	Groups          []admin.Group
	// MoreFilters opens the less used filters: one of them is set.
	MoreFilters bool
}

// updateDefaultSort is the order GET /api/v1/updates lists in when asked
// for none, newest first.
const updateDefaultSort = "released"

// moreUpdateFilters are the filters the form folds away unless one is set.
var moreUpdateFilters = []string{"classification", "product", "severity", "type", "released_after", "released_before",
	"min_needed", "min_failed"}

// updatesPage serves the list of updates. A query the API refuses (an
// unknown product, a bad date) shows the filters again with the API's
// reason, answered 400.
func (c *Console) updatesPage(q *request) error {
	l := newListQuery("/console/updates", q.r.URL.Query(), updateListParams...).namingOrder(updateSortsDesc...)
	d := updatesData{Q: l, Approvals: approvalFilters, Types: []string{"Software", "Driver", "Category", "Detectoid"},
		Severities: []string{"Critical", "Important", "Moderate", "Low", "none"}, PageSizes: []int{25, 50, 100, 200}}
	filter := newListQuery("", l.Values, updateFilterParams...)
	d.Filter = filter.Values.Encode()
	d.Sort = newListQuery(l.Path, l.Values, updateListParams...)
	if d.Sort.Get("sort") == "" {
		d.Sort.Values.Set("sort", updateDefaultSort)
		d.Sort.Values.Set("order", "desc")
	}
	for _, k := range moreUpdateFilters {
		d.MoreFilters = d.MoreFilters || l.Get(k) != ""
	}
	// The list and the filters' choices are read at once: each is a read
	// of the catalog, and a person waits for the slowest, not the sum.
	api, queryErr := apiUpdateQuery(l)
	var list admin.UpdateList
	var products, classes admin.CategoryList
	var groups admin.GroupList
	reads := []parallelRead{{"/api/v1/products", nil, &products}, {"/api/v1/classifications", nil, &classes},
		{"/api/v1/groups", nil, &groups}}
	if queryErr == nil {
		reads = append(reads, parallelRead{"/api/v1/updates", api, &list})
	}
	errs := q.getParallel(reads)
	for _, err := range errs[:3] {
		if err != nil {
			return err
		}
	}
	d.Products, d.Classifications, d.Groups = products.Categories, classes.Categories, groups.Groups
	err := queryErr
	if err == nil {
		err = errs[3]
	}
	var apiErr *apiError
	if err != nil && (!errors.As(err, &apiErr) || apiErr.Status == http.StatusBadRequest) {
		q.c.renderPage(q.w, q.r, q.s, http.StatusBadRequest, "updates", "Updates", "updates", d,
			flashError("The filter was refused: "+reasonOf(err)))
		return nil
	}
	if err != nil {
		return err
	}
	d.Updates, d.Total = list.Updates, list.Total
	d.Pager = pager{Q: l, Total: list.Total, Limit: list.Limit, Offset: list.Offset}
	return q.render("updates", "Updates", "updates", d)
}

// parallelRead is one read of getParallel: path with query, into out.
type parallelRead struct {
	path  string
	query url.Values
	out   any
}

// getParallel makes the reads at once and returns their errors, in the
// order given.
func (q *request) getParallel(reads []parallelRead) []error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, rd := range reads {
		wg.Go(func() { errs[i] = q.get(rd.path, rd.query, rd.out) })
	}
	wg.Wait()
	return errs
}

// updateStates are the state tabs of an update's computers: the API's
// compliance classes ("" is its default, every class but no status).
var updateStates = []struct{ Value, Label string }{
	{"", "All reporting"},
	{"installed", "Installed"},
	{"needed", "Needed"},
	{"failed", "Failed"},
	{"not_applicable", "Not applicable"},
	{"no_status", "No status"},
}

// updateComputerParams are the parameters of an update's computers: the
// state tab, the sort and the paging, named as GET
// /api/v1/updates/{id}/computers names them.
var updateComputerParams = []string{"state", "sort", "order", "limit", "offset"}

// updateComputerSortsDesc are the sorts GET /api/v1/updates/{id}/computers
// orders newest first when no order is given (admin.parseStatusQuery).
var updateComputerSortsDesc = []string{"changed", "last_status"}

// updateStateTab is one link of the computers' state tabs.
type updateStateTab struct {
	Label, Href string
	// Count is the update's count of the state, -1 for "All reporting".
	Count   int
	Current bool
}

// approveGroup is one target group of the approve form, with the
// update's approval for it, if any.
type approveGroup struct {
	ID, Name string
	Approval *admin.UpdateApproval
}

// updateData is the detail page's data.
type updateData struct {
	U admin.UpdateDetail
	// Choices are the approve form's groups; nil unless the person may
	// approve.
	Choices []approveGroup
	// CQ is the computers list's query (state, sort, paging); CSort is CQ
	// naming the API's default order (by name) when CQ names none, for
	// the sort headers.
	CQ        listQuery
	CSort     listQuery
	States    []updateStateTab
	Computers []admin.StatusRow
	Pager     pager
	// ComputersError is the API's reason for refusing CQ.
	ComputersError string
}

// updatePage serves one update's detail.
func (c *Console) updatePage(q *request) error {
	id := q.r.PathValue("id")
	path := "/api/v1/updates/" + url.PathEscape(id)
	var d updateData
	if err := q.get(path, nil, &d.U); err != nil {
		return err
	}
	if q.s.CanApprove() {
		var groups admin.GroupList
		if err := q.get("/api/v1/groups", nil, &groups); err != nil {
			return err
		}
		for _, g := range groups.Groups {
			ch := approveGroup{ID: g.ID.String(), Name: g.Name}
			for i, a := range d.U.Approvals {
				if a.GroupID == g.ID {
					ch.Approval = &d.U.Approvals[i]
				}
			}
			d.Choices = append(d.Choices, ch)
		}
	}

	d.CQ = newListQuery("/console/updates/"+url.PathEscape(id), q.r.URL.Query(), updateComputerParams...).
		namingOrder(updateComputerSortsDesc...)
	d.CSort = newListQuery(d.CQ.Path, d.CQ.Values, updateComputerParams...)
	if d.CSort.Get("sort") == "" {
		d.CSort.Values.Set("sort", "name")
	}
	counts := map[string]int{"installed": d.U.Computers.Installed, "needed": d.U.Computers.Needed,
		"failed": d.U.Computers.Failed, "not_applicable": d.U.Computers.NotApplicable, "no_status": d.U.Computers.NoStatus}
	for _, s := range updateStates {
		tab := updateStateTab{Label: s.Label, Href: d.CQ.With("state", s.Value), Count: -1,
			Current: d.CQ.Get("state") == s.Value}
		if s.Value != "" {
			tab.Count = counts[s.Value]
		}
		d.States = append(d.States, tab)
	}
	cq := url.Values{}
	for k, vs := range d.CQ.Values {
		cq[k] = vs
	}
	if cq.Get("limit") == "" {
		cq.Set("limit", strconv.Itoa(updatesPageSize))
	}
	var list admin.UpdateComputerList
	err := q.get(path+"/computers", cq, &list)
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
		d.ComputersError = reasonOf(err)
		q.c.renderPage(q.w, q.r, q.s, http.StatusBadRequest, "update", d.U.Title, "updates", d,
			flashError("The computers' filter was refused: "+d.ComputersError))
		return nil
	}
	if err != nil {
		return err
	}
	d.Computers = list.Computers
	d.Pager = pager{Q: d.CQ, Total: list.Total, Limit: list.Limit, Offset: list.Offset}
	return q.render("update", d.U.Title, "updates", d)
}

// updateCounts serves the counts of an update's detail alone, which the
// detail's script reloads (data-refresh) so that installs reported by
// clients show without a reload.
func (c *Console) updateCounts(q *request) error {
	var u admin.UpdateDetail
	if err := q.get("/api/v1/updates/"+url.PathEscape(q.r.PathValue("id")), nil, &u); err != nil {
		return err
	}
	return q.fragment("update", "counts", u.Computers)
}
