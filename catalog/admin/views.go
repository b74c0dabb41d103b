package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file is the update catalog views (issue 11): GET /api/v1/updates
// lists one row per update as WSUS lists them (bundle members under their
// bundle, not as rows of their own) with the columns an admin filters and
// sorts on and the computers' counts; GET /api/v1/updates/{id} is one
// update's detail; GET /api/v1/updates/{id}/computers lists which
// computers are in which state for it. The store answers the queries
// (catalog.ComplianceStore); this file reads the parameters, names what the
// store answers by ID (categories, bundle members, groups) and encodes.
//
// Category and update titles come from an index of the catalog's summaries,
// cached by the store's ChangeSequence. The sequence moves with every
// approval and group change too, which change no title; so an index whose
// sequence moved is used on for up to indexMaxAge as long as it knows every
// update a page names (an import adds updates or revisions it does not
// know, and then it is rebuilt at once), and exports and name resolution
// that fails rebuild it first. A list costs one small query more than the
// store's own, and at most one read of the summaries per indexMaxAge
// however often admins approve.

// updateParams are the query parameters of GET /api/v1/updates.
var updateParams = known([]string{"q", "type", "product", "classification", "severity", "kb", "approved", "declined",
	"superseded", "group", "released_after", "released_before", "min_needed", "min_failed", "sort", "order"},
	pageParams, formatParams)

// updateSorts are the orders of GET /api/v1/updates.
var updateSorts = []string{string(catalog.SortByReleased), string(catalog.SortByTitle), string(catalog.SortByKB),
	string(catalog.SortBySeverity), string(catalog.SortByClassification), string(catalog.SortByNeeded),
	string(catalog.SortByFailed), string(catalog.SortByInstalled)}

// severities are the MSRC severities ?severity= takes ("none": without one).
var severities = []string{"Critical", "Important", "Moderate", "Low"}

// updateInfo is what the views name an update by: its newest revision's.
type updateInfo struct {
	title, kb, categoryType string
	typ                     catalog.UpdateType
	revision                int32
	isLeaf                  bool
}

// catalogIndex names categories and updates; it does not change once
// built.
type catalogIndex struct {
	cats    catalog.Categories
	updates map[uuid.UUID]updateInfo
	// seq is the change sequence it was built at, built when.
	seq   int64
	built time.Time
	// stale: the change sequence moved since (set on the copy answered).
	stale bool
}

// indexMaxAge is how long an index whose change sequence moved is used on
// while it knows what a page names.
const indexMaxAge = time.Minute

// covers reports whether the index knows the newest revision of every
// update of views, and the updates that supersede them or that they bundle.
func (x *catalogIndex) covers(views []catalog.UpdateView) bool {
	for _, v := range views {
		if info, ok := x.updates[v.UpdateID]; !ok || info.revision != v.RevisionNumber {
			return false
		}
		for _, id := range v.SupersededBy {
			if _, ok := x.updates[id]; !ok {
				return false
			}
		}
		for _, b := range v.BundledUpdates {
			if _, ok := x.updates[b.UpdateID]; !ok {
				return false
			}
		}
	}
	return true
}

// indexCatalog builds the index of sums (every revision of the catalog).
func indexCatalog(sums []catalog.Summary) *catalogIndex {
	newest := make(map[uuid.UUID]catalog.Summary, len(sums))
	for _, s := range sums {
		if old, ok := newest[s.UpdateID]; !ok || s.RevisionNumber > old.RevisionNumber {
			newest[s.UpdateID] = s
		}
	}
	idx := &catalogIndex{cats: catalog.IndexCategories(sums), updates: make(map[uuid.UUID]updateInfo, len(newest))}
	for id, s := range newest {
		idx.updates[id] = updateInfo{title: s.Title, kb: s.KBArticleID, categoryType: s.CategoryType, typ: s.Type,
			revision: s.RevisionNumber, isLeaf: s.IsLeaf}
	}
	return idx
}

// ref names an update.
func (x *catalogIndex) ref(id uuid.UUID) UpdateRef {
	return UpdateRef{UpdateID: id, Title: x.updates[id].title}
}

// refs names updates, in the order given.
func (x *catalogIndex) refs(ids []uuid.UUID) []UpdateRef {
	out := make([]UpdateRef, 0, len(ids))
	for _, id := range ids {
		out = append(out, x.ref(id))
	}
	return out
}

// categories names category IDs, in the order given.
func (x *catalogIndex) categories(ids []uuid.UUID) []CategoryRef {
	out := make([]CategoryRef, 0, len(ids))
	for _, id := range ids {
		s, _ := x.cats.Category(id)
		out = append(out, CategoryRef{ID: id, Title: s.Title})
	}
	return out
}

// views is the state of the views: the catalog index cached by change
// sequence, and the clock of "not reported for N days".
type views struct {
	now func() time.Time

	mu       sync.Mutex
	idx      *catalogIndex // nil before the first
	building *indexBuild   // the rebuild running, nil when none
}

// indexBuild is one rebuild of the index, which concurrent requests that
// need one wait for instead of reading the summaries each.
type indexBuild struct {
	done chan struct{} // closed when idx or err is set
	idx  *catalogIndex
	err  error
}

// routeViews registers the update catalog views and the compliance
// reports.
func (h *handler) routeViews() {
	h.views = &views{now: h.limiter.now}
	h.route("/api/v1/updates/{id}", map[string]http.HandlerFunc{http.MethodGet: h.getUpdate})
	h.route("/api/v1/updates/{id}/computers", map[string]http.HandlerFunc{http.MethodGet: h.listUpdateComputers})
	h.route("/api/v1/computers/{id}/updates", map[string]http.HandlerFunc{http.MethodGet: h.listComputerUpdates})
	h.route("/api/v1/groups/{id}/computers", map[string]http.HandlerFunc{http.MethodGet: h.listGroupComputers})
	h.route("/api/v1/compliance/summary", map[string]http.HandlerFunc{http.MethodGet: h.complianceSummary})
	h.route("/api/v1/compliance/groups", map[string]http.HandlerFunc{http.MethodGet: h.groupCompliance})
}

// index returns the catalog index: the cached one while the change
// sequence has not moved, or unless fresh while it is younger than
// indexMaxAge (answered with stale set); else one rebuilt, or the one a
// concurrent request is rebuilding.
func (v *views) index(ctx context.Context, store Store, fresh bool) (*catalogIndex, error) {
	seq, err := store.ChangeSequence(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: index: %w", err)
	}
	v.mu.Lock()
	idx, running := v.idx, v.building
	if idx != nil && (idx.seq == seq || !fresh && time.Since(idx.built) < indexMaxAge) {
		v.mu.Unlock()
		answered := *idx
		answered.stale = idx.seq != seq
		return &answered, nil
	}
	if running == nil {
		running = &indexBuild{done: make(chan struct{})}
		v.building = running
		v.mu.Unlock()
		v.build(ctx, store, seq, running)
	} else {
		v.mu.Unlock()
	}
	select {
	case <-running.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("admin: index: %w", ctx.Err())
	}
	if running.err != nil {
		return nil, running.err
	}
	return running.idx, nil
}

// build reads the summaries into b and, unless a newer one is cached,
// caches the index.
func (v *views) build(ctx context.Context, store Store, seq int64, b *indexBuild) {
	defer close(b.done)
	sums, err := store.Summaries(ctx)
	var idx *catalogIndex
	if err == nil {
		idx = indexCatalog(sums)
		idx.seq, idx.built = seq, time.Now()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.building = nil
	if err != nil {
		b.err = fmt.Errorf("admin: index: %w", err)
		return
	}
	b.idx = idx
	if v.idx == nil || seq >= v.idx.seq {
		v.idx = idx
	}
}

// catalogIndex returns the index (see views.index), answering a store
// failure itself.
func (h *handler) catalogIndex(w http.ResponseWriter, r *http.Request, fresh bool) (*catalogIndex, bool) {
	idx, err := h.views.index(r.Context(), h.store, fresh)
	if err != nil {
		h.storeFailed(w, r, "Summaries", err)
		return nil, false
	}
	return idx, true
}

// indexCovering returns idx, or a fresh index when idx is stale and does
// not know what views name.
func (h *handler) indexCovering(w http.ResponseWriter, r *http.Request, idx *catalogIndex, views ...catalog.UpdateView) (*catalogIndex, bool) {
	if !idx.stale || idx.covers(views) {
		return idx, true
	}
	return h.catalogIndex(w, r, true)
}

// targetGroups reads the groups, answering a store failure itself.
func (h *handler) targetGroups(w http.ResponseWriter, r *http.Request) ([]catalog.TargetGroup, bool) {
	groups, err := h.store.TargetGroups(r.Context())
	if err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return nil, false
	}
	return groups, true
}

// groupNameMap maps group IDs to names.
func groupNameMap(groups []catalog.TargetGroup) map[uuid.UUID]string {
	names := make(map[uuid.UUID]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	return names
}

// parseUpdateType returns the update type named s, case-insensitively.
func parseUpdateType(s string) (catalog.UpdateType, bool) {
	for _, t := range []catalog.UpdateType{catalog.TypeSoftware, catalog.TypeDriver, catalog.TypeCategory, catalog.TypeDetectoid} {
		if strings.EqualFold(string(t), s) {
			return t, true
		}
	}
	return "", false
}

// parseKB reads a KB article number: digits, with or without "KB".
func parseKB(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && strings.EqualFold(s[:2], "kb") {
		s = s[2:]
	}
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		return "", false
	}
	return s, true
}

// parseUpdateQuery decides the store query GET /api/v1/updates asks for:
// a pure function of the parameters, the catalog's categories and the
// target groups. The default order is newest release first; sort by
// needed, failed or installed is most first; other sorts ascend; order
// overrides either.
func parseUpdateQuery(p *queryReader, cats catalog.Categories, groups []catalog.TargetGroup) (catalog.UpdateQuery, *requestError) {
	var q catalog.UpdateQuery
	q.Text = p.text("q")
	for _, s := range p.list("type", true) {
		t, ok := parseUpdateType(s)
		if !ok {
			p.fail("type %q is not one of Software, Driver, Category, Detectoid", s)
			break
		}
		if !slices.Contains(q.Types, t) {
			q.Types = append(q.Types, t)
		}
	}
	for _, sel := range []struct {
		param string
		kind  catalog.SelectionKind
		dst   *[]uuid.UUID
	}{{"product", catalog.SelectProducts, &q.Products}, {"classification", catalog.SelectClassifications, &q.Classifications}} {
		names := p.list(sel.param, false)
		if len(names) == 0 || p.err != nil {
			continue
		}
		all, ids, err := cats.Resolve(names, sel.kind)
		if err != nil {
			return q, selectionRefused(err)
		}
		if !all {
			*sel.dst = ids
		}
	}
	for _, s := range p.list("severity", true) {
		i := slices.IndexFunc(severities, func(v string) bool { return strings.EqualFold(v, s) })
		switch {
		case i >= 0:
			q.Severities = append(q.Severities, severities[i])
		case strings.EqualFold(s, "none"):
			q.Severities = append(q.Severities, "")
		default:
			p.fail("severity %q is not one of Critical, Important, Moderate, Low, none", s)
		}
	}
	if s := p.str("kb"); s != "" {
		kb, ok := parseKB(s)
		if !ok {
			p.fail("kb %q is not a KB article number (5031356 or KB5031356)", s)
		}
		q.KB = kb
	}
	q.Approved, q.Declined, q.Superseded = p.boolean("approved"), p.boolean("declined"), p.boolean("superseded")
	q.ApprovedFor = p.group("group", groups).ID
	q.ReleasedAfter, q.ReleasedBefore = p.date("released_after"), p.date("released_before")
	q.MinNeeded = p.integer("min_needed", 0, 1<<31-1, 0)
	q.MinFailed = p.integer("min_failed", 0, 1<<31-1, 0)
	q.Sort = catalog.UpdateSort(p.oneOf("sort", string(catalog.SortByReleased), updateSorts...))
	switch q.Sort {
	case catalog.SortByReleased, catalog.SortByNeeded, catalog.SortByFailed, catalog.SortByInstalled:
		q.Desc = p.desc(true)
	default:
		q.Desc = p.desc(false)
	}
	q.Page = p.page()
	return q, p.err
}

// wireUpdate returns v as listed.
func wireUpdate(v catalog.UpdateView, idx *catalogIndex, names map[uuid.UUID]string) Update {
	info := idx.updates[v.UpdateID]
	approvals := make([]UpdateApproval, 0, len(v.Approvals))
	for _, a := range v.Approvals {
		approvals = append(approvals, UpdateApproval{Group: names[a.GroupID], GroupID: a.GroupID, Action: a.Action, Deadline: optTime(a.Deadline)})
	}
	slices.SortFunc(approvals, func(a, b UpdateApproval) int {
		if c := cmpFold(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.GroupID.String(), b.GroupID.String())
	})
	bundled := make([]uuid.UUID, 0, len(v.BundledUpdates))
	for _, b := range v.BundledUpdates {
		if !slices.Contains(bundled, b.UpdateID) {
			bundled = append(bundled, b.UpdateID)
		}
	}
	return Update{
		RevisionID:       v.RevisionID,
		UpdateID:         v.UpdateID,
		RevisionNumber:   v.RevisionNumber,
		Type:             v.Type,
		CategoryType:     info.categoryType,
		Title:            v.Title,
		KBArticleID:      v.KBArticleID,
		IsLeaf:           info.isLeaf,
		PublicationState: v.PublicationState,
		Products:         idx.categories(v.Products),
		Classifications:  idx.categories(v.Classifications),
		MsrcSeverity:     v.MsrcSeverity,
		CVEs:             nonNil(v.CVEs),
		Released:         optTime(v.Released),
		Declined:         v.Declined,
		Superseded:       len(v.SupersededBy) > 0,
		SupersededBy:     idx.refs(v.SupersededBy),
		Supersedes:       idx.refs(v.Supersedes),
		BundledUpdates:   idx.refs(bundled),
		Approvals:        approvals,
		Computers:        wireCounts(v.Computers),
	}
}

// listUpdates serves GET /api/v1/updates.
func (h *handler) listUpdates(w http.ResponseWriter, r *http.Request) {
	cs := h.store
	p := readQuery(r.URL.Query(), updateParams, "type", "product", "classification", "severity")
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	asCSV := p.csv(r)
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	// An export names every row: it reads a fresh index at once.
	idx, ok := h.catalogIndex(w, r, asCSV)
	if !ok {
		return
	}
	groups, ok := h.targetGroups(w, r)
	if !ok {
		return
	}
	q, e := parseUpdateQuery(p, idx.cats, groups)
	if e != nil && e.code != "bad_query" && idx.stale {
		// A product or classification imported since the index was built.
		if idx, ok = h.catalogIndex(w, r, true); !ok {
			return
		}
		p.err = nil
		q, e = parseUpdateQuery(p, idx.cats, groups)
	}
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	names := groupNameMap(groups)
	if asCSV {
		h.updatesCSV(w, r, cs, q, p.str("limit") != "", idx, names)
		return
	}
	list, total, err := cs.ListUpdates(r.Context(), q)
	if err != nil {
		h.storeFailed(w, r, "ListUpdates", err)
		return
	}
	if idx, ok = h.indexCovering(w, r, idx, list...); !ok {
		return
	}
	out := UpdateList{Updates: make([]Update, 0, len(list)), Total: total, Limit: q.Page.Limit, Offset: q.Page.Offset}
	for _, v := range list {
		out.Updates = append(out.Updates, wireUpdate(v, idx, names))
	}
	writeJSON(w, http.StatusOK, out)
}

// pathUpdate reads the update ID of the path, answering 400 for one that
// is not a GUID.
func pathUpdate(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	ref := r.PathValue("id")
	id, err := uuid.Parse(ref)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_update_id", fmt.Sprintf("update ID %q is not a GUID", ref))
		return uuid.Nil, false
	}
	return id, true
}

// getUpdate serves GET /api/v1/updates/{id}: 404 unknown_update when the
// catalog has no revision of it.
func (h *handler) getUpdate(w http.ResponseWriter, r *http.Request) {
	cs := h.store
	if p := readQuery(r.URL.Query(), nil); p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	id, ok := pathUpdate(w, r)
	if !ok {
		return
	}
	v, err := cs.UpdateView(r.Context(), id)
	if errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_update", fmt.Sprintf("the catalog has no update %s", id))
		return
	}
	if err != nil {
		h.storeFailed(w, r, "UpdateView", err)
		return
	}
	idx, ok := h.catalogIndex(w, r, false)
	if !ok {
		return
	}
	if idx, ok = h.indexCovering(w, r, idx, v); !ok {
		return
	}
	groups, ok := h.targetGroups(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, UpdateDetail{
		Update:      wireUpdate(v, idx, groupNameMap(groups)),
		Description: v.Description,
		Languages:   nonNil(v.Languages),
	})
}

// statusParams are the query parameters of an update's computers.
var statusParams = known([]string{"state", "group", "sort", "order"}, pageParams, formatParams)

// updateComputerSorts are the orders of an update's computers.
var updateComputerSorts = []string{string(catalog.StatusByName), string(catalog.StatusByState), string(catalog.StatusByChanged),
	string(catalog.StatusByLastStatus)}

// parseStatusQuery decides the store query of an update's computers (the
// update is set by the caller). Sort by name (the default) or state
// (failed, needed, pending reboot, installed, not applicable, no status)
// ascends, by last change or last status report descends; order
// overrides either.
func parseStatusQuery(p *queryReader, groups []catalog.TargetGroup) catalog.StatusQuery {
	q := catalog.StatusQuery{
		Compliances: p.compliances("state"),
		Group:       p.group("group", groups).ID,
	}
	q.Sort = catalog.StatusSort(p.oneOf("sort", string(catalog.StatusByName), updateComputerSorts...))
	q.Desc = p.desc(q.Sort == catalog.StatusByChanged || q.Sort == catalog.StatusByLastStatus)
	q.Page = p.page()
	return q
}

// wireStatus returns a state as listed.
func wireStatus(s catalog.StatusRow) StatusRow {
	var changed *time.Time
	if s.State != catalog.StateUnknown {
		changed = optTime(s.ChangedAt)
	}
	return StatusRow{
		ClientID: s.ClientID, DNSName: s.DNSName, UpdateID: s.UpdateID, Title: s.Title, KBArticleID: s.KBArticleID,
		State: s.State.String(), Compliance: s.State.Compliance(), ErrorCode: hresult(s.ErrorCode),
		ChangedAt: changed, LastStatus: optTime(s.LastStatus),
	}
}

// listUpdateComputers serves GET /api/v1/updates/{id}/computers: which
// computers are in which state for an update (?state=, default every
// class but no_status; ?group=, ?sort=, ?order=).
func (h *handler) listUpdateComputers(w http.ResponseWriter, r *http.Request) {
	cs := h.store
	p := readQuery(r.URL.Query(), statusParams, "state")
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	id, ok := pathUpdate(w, r)
	if !ok {
		return
	}
	idx, ok := h.catalogIndex(w, r, false)
	if !ok {
		return
	}
	if _, known := idx.updates[id]; !known && idx.stale {
		if idx, ok = h.catalogIndex(w, r, true); !ok {
			return
		}
	}
	groups, ok := h.targetGroups(w, r)
	if !ok {
		return
	}
	q := parseStatusQuery(p, groups)
	asCSV := p.csv(r)
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	if _, known := idx.updates[id]; !known {
		writeError(w, http.StatusNotFound, "unknown_update", fmt.Sprintf("the catalog has no update %s", id))
		return
	}
	q.UpdateID = id
	h.statusList(w, r, cs, q, p, asCSV, func(rows []StatusRow, total int) any {
		return UpdateComputerList{UpdateID: id, Computers: rows, Total: total, Limit: q.Page.Limit, Offset: q.Page.Offset}
	})
}

// statusList answers a state list as JSON (wrapped by wrap) or CSV.
func (h *handler) statusList(w http.ResponseWriter, r *http.Request, cs catalog.ComplianceStore, q catalog.StatusQuery,
	p *queryReader, asCSV bool, wrap func([]StatusRow, int) any) {
	if asCSV {
		h.statusesCSV(w, r, cs, q, p.str("limit") != "")
		return
	}
	list, total, err := cs.ListStatuses(r.Context(), q)
	if err != nil {
		h.storeFailed(w, r, "ListStatuses", err)
		return
	}
	rows := make([]StatusRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, wireStatus(s))
	}
	writeJSON(w, http.StatusOK, wrap(rows, total))
}
