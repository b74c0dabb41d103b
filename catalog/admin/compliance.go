package admin

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file is the compliance reports (issue 11): computers with their
// counts (GET /api/v1/computers, and a group's, GET
// /api/v1/groups/{id}/computers), one computer's per-update states (GET
// /api/v1/computers/{id}/updates and the detail's updates), the rollup per
// target group (GET /api/v1/compliance/groups) and the server's summary
// for dashboards (GET /api/v1/compliance/summary). Counts are the store's,
// exact as of the last committed report.

// DefaultNotReportedDays is the not_reported_days of the compliance
// reports when the request gives none: WSUS's console shows computers that
// have not reported for 30 days.
const DefaultNotReportedDays = 30

// computerParams are the query parameters of the computer lists.
var computerParams = known([]string{"q", "needing", "failing", "not_reported_days", "sort", "order"}, pageParams, formatParams)

// computerSorts are the orders of the computer lists.
var computerSorts = []string{string(catalog.SortByName), string(catalog.SortByLastStatus), string(catalog.SortByLastSync),
	string(catalog.SortByNeededMost), string(catalog.SortByFailedMost)}

// parseComputerQuery decides the store query of a computer list (the
// group is set by the caller). Sort by name ascends, the others (last
// status, last sync, needed, failed) descend; order overrides either.
// not_reported_days N selects the computers without a status report for N
// days; without it, no computer is left out for that.
func parseComputerQuery(p *queryReader, now func() time.Time) catalog.ComputerQuery {
	q := catalog.ComputerQuery{Text: p.text("q")}
	if b := p.boolean("needing"); b != nil {
		q.Needing = *b
	}
	if b := p.boolean("failing"); b != nil {
		q.Failing = *b
	}
	if p.str("not_reported_days") != "" {
		q.NotReportedSince = p.notReportedSince(now(), 0)
	}
	q.Sort = catalog.ComputerSort(p.oneOf("sort", string(catalog.SortByName), computerSorts...))
	q.Desc = p.desc(q.Sort != catalog.SortByName)
	q.Page = p.page()
	return q
}

// listComputers serves GET /api/v1/computers (?group= a group's).
func (h *handler) listComputers(w http.ResponseWriter, r *http.Request) {
	p := readQuery(r.URL.Query(), known(computerParams, []string{"group"}))
	h.computerList(w, r, p, nil)
}

// listGroupComputers serves GET /api/v1/groups/{id}/computers: the
// computers of a group (by name or ID), e.g. those that have not reported
// for N days with ?not_reported_days=N.
func (h *handler) listGroupComputers(w http.ResponseWriter, r *http.Request) {
	p := readQuery(r.URL.Query(), computerParams)
	groups, ok := h.targetGroups(w, r)
	if !ok {
		return
	}
	ref := r.PathValue("id")
	g, found := findGroup(groups, ref)
	if !found || strings.TrimSpace(ref) == "" {
		unknownGroup(w, ref)
		return
	}
	h.computerList(w, r, p, &g)
}

// computerList answers a computer list: of group when it is not nil, else
// of the group ?group= names (all computers without it).
func (h *handler) computerList(w http.ResponseWriter, r *http.Request, p *queryReader, group *catalog.TargetGroup) {
	cs := h.store
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	groups, ok := h.targetGroups(w, r)
	if !ok {
		return
	}
	q := parseComputerQuery(p, h.views.now)
	if group != nil {
		q.Group = group.ID
	} else {
		q.Group = p.group("group", groups).ID
	}
	asCSV := p.csv(r)
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	names := groupNameMap(groups)
	if asCSV {
		h.computersCSV(w, r, cs, q, p.str("limit") != "", names)
		return
	}
	list, total, err := cs.ListComputers(r.Context(), q)
	if err != nil {
		h.storeFailed(w, r, "ListComputers", err)
		return
	}
	out := ComputerList{Computers: make([]ComputerRow, 0, len(list)), Total: total, Limit: q.Page.Limit, Offset: q.Page.Offset}
	for _, c := range list {
		out.Computers = append(out.Computers, ComputerRow{Computer: wireComputer(c.Computer, names), Updates: wireCounts(c.Updates)})
	}
	if group != nil {
		writeJSON(w, http.StatusOK, GroupComputerList{Group: GroupRef{ID: group.ID, Name: group.Name}, ComputerList: out})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// computerUpdateParams are the query parameters of a computer's updates.
var computerUpdateParams = known([]string{"state", "sort", "order"}, pageParams, formatParams)

// computerUpdateSorts are the orders of a computer's updates.
var computerUpdateSorts = []string{string(catalog.StatusByTitle), string(catalog.StatusByKB), string(catalog.StatusByState),
	string(catalog.StatusByChanged)}

// parseComputerUpdateQuery decides the store query of a computer's updates
// (the computer is set by the caller). Sort by title (the default), KB
// article or state (failed, needed, pending reboot, installed, not
// applicable) ascends, by last change descends; order overrides either.
func parseComputerUpdateQuery(p *queryReader) catalog.StatusQuery {
	q := catalog.StatusQuery{Compliances: p.compliances("state")}
	q.Sort = catalog.StatusSort(p.oneOf("sort", string(catalog.StatusByTitle), computerUpdateSorts...))
	q.Desc = p.desc(q.Sort == catalog.StatusByChanged)
	q.Page = p.page()
	return q
}

// listComputerUpdates serves GET /api/v1/computers/{id}/updates: one
// computer's per-update states (?state=, default every class but
// no_status, which a computer's list cannot answer; ?sort=, ?order=).
func (h *handler) listComputerUpdates(w http.ResponseWriter, r *http.Request) {
	cs := h.store
	p := readQuery(r.URL.Query(), computerUpdateParams, "state")
	q := parseComputerUpdateQuery(p)
	asCSV := p.csv(r)
	if p.err == nil && slices.Contains(q.Compliances, catalog.ComplianceNoStatus) {
		p.fail("state no_status is answered per update only (GET /api/v1/updates/{id}/computers): a computer's list holds what it reported")
	}
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	c, ok := h.computerOf(w, r)
	if !ok {
		return
	}
	q.ClientID = c.ID
	h.statusList(w, r, cs, q, p, asCSV, func(rows []StatusRow, total int) any {
		return ComputerUpdateList{ClientID: c.ID, Updates: rows, Total: total, Limit: q.Page.Limit, Offset: q.Page.Offset}
	})
}

// maxDetailRows bounds the states whose titles, KB articles and error
// codes a computer's detail reads (catalog.MaxPageSize at a time); a state
// beyond it is shown without them.
const maxDetailRows = 20 * catalog.MaxPageSize

// computerUpdates returns the detail's per-update states of one computer,
// ordered by UpdateID, with the titles and KB articles the state list
// answers and the error codes of failures.
func (h *handler) computerUpdates(w http.ResponseWriter, r *http.Request, clientID string, statuses []catalog.UpdateStatus) ([]ComputerUpdate, bool) {
	named := make(map[uuid.UUID]catalog.StatusRow, len(statuses))
	q := catalog.StatusQuery{ClientID: clientID, Page: catalog.Page{Limit: catalog.MaxPageSize}}
	for len(statuses) > 0 && q.Page.Offset < maxDetailRows {
		rows, total, err := h.store.ListStatuses(r.Context(), q)
		if err != nil {
			h.storeFailed(w, r, "ListStatuses", err)
			return nil, false
		}
		for _, s := range rows {
			named[s.UpdateID] = s
		}
		q.Page.Offset += len(rows)
		if len(rows) == 0 || q.Page.Offset >= total {
			break
		}
	}
	out := make([]ComputerUpdate, 0, len(statuses))
	for _, s := range statuses {
		row := named[s.UpdateID]
		u := ComputerUpdate{UpdateID: s.UpdateID, Title: row.Title, KBArticleID: row.KBArticleID, State: s.State.String(), ChangedAt: s.ChangedAt.UTC()}
		if s.State == catalog.StateFailed {
			u.ErrorCode = hresult(s.ErrorCode)
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b ComputerUpdate) int { return strings.Compare(a.UpdateID.String(), b.UpdateID.String()) })
	return out, true
}

// complianceParams are the query parameters of the rollups.
var complianceParams = []string{"not_reported_days"}

// complianceSummary serves GET /api/v1/compliance/summary
// (?not_reported_days=N, default DefaultNotReportedDays).
func (h *handler) complianceSummary(w http.ResponseWriter, r *http.Request) {
	cs := h.store
	p := readQuery(r.URL.Query(), complianceParams)
	since := p.notReportedSince(h.views.now(), DefaultNotReportedDays)
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	s, err := cs.ComplianceSummary(r.Context(), since)
	if err != nil {
		h.storeFailed(w, r, "ComplianceSummary", err)
		return
	}
	writeJSON(w, http.StatusOK, ComplianceSummary{
		NotReportedSince: since,
		Computers:        s.Computers, NeedingUpdates: s.NeedingUpdates, WithFailures: s.WithFailures,
		UpToDate: s.UpToDate, NotReported: s.NotReported,
		Updates: s.Updates, NeedingApproval: s.NeedingApproval, Approved: s.Approved, Declined: s.Declined,
		Superseded: s.Superseded, Pairs: wireCounts(s.Pairs),
	})
}

// groupCompliance serves GET /api/v1/compliance/groups
// (?not_reported_days=N, default DefaultNotReportedDays; ?format=csv).
func (h *handler) groupCompliance(w http.ResponseWriter, r *http.Request) {
	cs := h.store
	p := readQuery(r.URL.Query(), known(complianceParams, formatParams))
	since := p.notReportedSince(h.views.now(), DefaultNotReportedDays)
	asCSV := p.csv(r)
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	list, err := cs.GroupCompliance(r.Context(), since)
	if err != nil {
		h.storeFailed(w, r, "GroupCompliance", err)
		return
	}
	out := GroupComplianceList{NotReportedSince: since, Groups: make([]GroupComplianceRow, 0, len(list))}
	for _, g := range list {
		out.Groups = append(out.Groups, GroupComplianceRow{
			ID: g.GroupID, Name: g.Name, Computers: g.Computers,
			NeedingUpdates: g.NeedingUpdates, WithFailures: g.WithFailures, UpToDate: g.UpToDate, NotReported: g.NotReported,
			Updates: wireCounts(g.Updates),
		})
	}
	slices.SortFunc(out.Groups, func(a, b GroupComplianceRow) int {
		if c := cmpFold(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	if asCSV {
		writeGroupsCSV(w, out.Groups)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
