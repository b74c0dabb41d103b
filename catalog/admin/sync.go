package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file serves the admin side of synchronization with an upstream
// server (catalog/sync.go keeps it all in the store): the settings (WSUS's
// "Update Source", "Products and Classifications", "Update Languages",
// "Update Files", "Synchronization Schedule"), the runs ("Synchronizations")
// and starting one now.

// SyncStarter starts a synchronization in the background, as `wsusd serve`
// does when an admin asks (Options.Sync).
type SyncStarter interface {
	// Start begins a run and returns it as stored (its ID, State running)
	// without waiting for it to finish: ctx is the request's and bounds
	// only the beginning, never the run. It fails with an error wrapping
	// catalog.ErrConflict when a run is already running (answered 409),
	// catalog.ErrInvalid when the settings cannot be synchronized (400).
	Start(ctx context.Context) (catalog.SyncRun, error)
}

// Limits of GET /api/v1/sync/runs.
const (
	// DefaultRunsLimit is how many runs are listed without ?limit=.
	DefaultRunsLimit = 20
	// MaxRunsLimit is the largest ?limit= (the store lists at most as many).
	MaxRunsLimit = 1000
)

// MaxSyncsPerDay bounds SyncSettingsRequest.SyncsPerDay, as WSUS's
// "synchronizations per day" (1 to 24, or manual) does.
const MaxSyncsPerDay = 24

// Category types of the categories a subscription names
// (catalog.Summary.CategoryType), as package syncer resolves them.
const (
	categoryProduct        = "Product"
	categoryProductFamily  = "ProductFamily"
	categoryClassification = "UpdateClassification"
)

// statusRuns is how many of the newest runs GET /api/v1/sync reads to find
// the running one and the last finished one (at most one runs at a time).
const statusRuns = 10

// getSync serves GET /api/v1/sync.
func (h *handler) getSync(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	settings, ok := h.syncSettings(w, r)
	if !ok {
		return
	}
	state, err := h.store.SyncState(ctx)
	if err != nil {
		h.storeFailed(w, r, "SyncState", err)
		return
	}
	runs, err := h.store.SyncRuns(ctx, statusRuns)
	if err != nil {
		h.storeFailed(w, r, "SyncRuns", err)
		return
	}
	cats, ok := h.categories(w, r)
	if !ok {
		return
	}
	out := SyncStatus{Settings: wireSyncSettings(settings, cats), Upstream: wireUpstream(state)}
	for _, run := range runs {
		switch {
		case run.State == catalog.SyncRunning && out.Running == nil:
			wr := wireSyncRun(run)
			out.Running = &wr
		case run.State != catalog.SyncRunning && out.LastRun == nil:
			wr := wireSyncRun(run)
			out.LastRun = &wr
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getSyncSettings serves GET /api/v1/sync/settings.
func (h *handler) getSyncSettings(w http.ResponseWriter, r *http.Request) {
	settings, ok := h.syncSettings(w, r)
	if !ok {
		return
	}
	cats, ok := h.categories(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, wireSyncSettings(settings, cats))
}

// putSyncSettings serves PUT /api/v1/sync/settings: it resolves the
// request against the stored categories and the upstream's languages,
// replaces the settings and answers them as stored.
func (h *handler) putSyncSettings(w http.ResponseWriter, r *http.Request) {
	var req SyncSettingsRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	ctx := r.Context()
	cats, ok := h.categories(w, r)
	if !ok {
		return
	}
	state, err := h.store.SyncState(ctx)
	if err != nil {
		h.storeFailed(w, r, "SyncState", err)
		return
	}
	settings, e := resolveSyncSettings(req, cats, state.Config.Languages)
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if err := h.store.SetSyncSettings(ctx, settings); err != nil {
		h.storeFailed(w, r, "SetSyncSettings", err)
		return
	}
	stored, ok := h.syncSettings(w, r)
	if !ok {
		return
	}
	h.log.InfoContext(ctx, "admin: sync settings set", "upstream", stored.UpstreamURL, "replica", stored.Replica,
		"all_products", stored.AllProducts, "products", len(stored.Products),
		"all_classifications", stored.AllClassifications, "classifications", len(stored.Classifications),
		"languages", stored.Languages, "content", stored.ContentOrDefault(), "syncs_per_day", stored.SyncsPerDay)
	writeJSON(w, http.StatusOK, wireSyncSettings(stored, cats))
}

// startSyncRun serves POST /api/v1/sync/runs. The body may be left out or
// be {}.
func (h *handler) startSyncRun(w http.ResponseWriter, r *http.Request) {
	var none struct{}
	if e := decodeOptionalBody(w, r, &none); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if h.sync == nil {
		writeError(w, http.StatusServiceUnavailable, "sync_unavailable",
			"this server process does not run synchronizations; run `wsusd sync` or ask a `wsusd serve` that does")
		return
	}
	settings, ok := h.syncSettings(w, r)
	if !ok {
		return
	}
	if settings.UpstreamURL == "" {
		writeError(w, http.StatusConflict, "no_upstream",
			"no upstream server is configured: set one first (PUT /api/v1/sync/settings, wsusctl sync settings --upstream URL)")
		return
	}
	ctx := r.Context()
	run, err := h.sync.Start(ctx)
	if errors.Is(err, catalog.ErrConflict) {
		writeError(w, http.StatusConflict, "sync_running", "a synchronization is already running: "+err.Error())
		return
	}
	if err != nil {
		h.storeFailed(w, r, "SyncStarter.Start", err)
		return
	}
	h.log.InfoContext(ctx, "admin: synchronization started", "run", run.ID, "holder", run.Holder)
	w.Header().Set("Location", "/api/v1/sync/runs/"+strconv.FormatInt(run.ID, 10))
	writeJSON(w, http.StatusAccepted, wireSyncRun(run))
}

// listSyncRuns serves GET /api/v1/sync/runs?limit=N.
func (h *handler) listSyncRuns(w http.ResponseWriter, r *http.Request) {
	limit := DefaultRunsLimit
	for key, values := range r.URL.Query() {
		v := values[len(values)-1]
		if key != "limit" {
			writeError(w, http.StatusBadRequest, "bad_query", fmt.Sprintf("unknown query parameter %q; known: limit", key))
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxRunsLimit {
			writeError(w, http.StatusBadRequest, "bad_query", fmt.Sprintf("limit %q is not a number from 1 to %d", v, MaxRunsLimit))
			return
		}
		limit = n
	}
	runs, err := h.store.SyncRuns(r.Context(), limit)
	if err != nil {
		h.storeFailed(w, r, "SyncRuns", err)
		return
	}
	out := SyncRunList{Runs: make([]SyncRun, 0, min(len(runs), limit))}
	for _, run := range runs[:min(len(runs), limit)] {
		out.Runs = append(out.Runs, wireSyncRun(run))
	}
	writeJSON(w, http.StatusOK, out)
}

// getSyncRun serves GET /api/v1/sync/runs/{id}. The store lists runs newest
// first only, and IDs grow with each run: the run is among the newest
// (newest ID - id + 1), so that many are read. Runs further back than
// MaxRunsLimit are not found.
func (h *handler) getSyncRun(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("id")
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "invalid_run_id", fmt.Sprintf("run ID %q is not a positive integer", ref))
		return
	}
	ctx := r.Context()
	unknown := func() {
		writeError(w, http.StatusNotFound, "unknown_run", fmt.Sprintf("no synchronization run has the ID %d", id))
	}
	newest, err := h.store.SyncRuns(ctx, 1)
	if err != nil {
		h.storeFailed(w, r, "SyncRuns", err)
		return
	}
	if len(newest) == 0 || id > newest[0].ID || newest[0].ID-id >= MaxRunsLimit {
		unknown()
		return
	}
	// Runs that began since the first read push the run further back:
	// read again with room for them while the list still ends above id.
	limit := int(newest[0].ID-id) + 1
	for {
		runs, err := h.store.SyncRuns(ctx, limit)
		if err != nil {
			h.storeFailed(w, r, "SyncRuns", err)
			return
		}
		if i := slices.IndexFunc(runs, func(run catalog.SyncRun) bool { return run.ID == id }); i >= 0 {
			writeJSON(w, http.StatusOK, wireSyncRun(runs[i]))
			return
		}
		if len(runs) < limit || runs[len(runs)-1].ID < id || limit >= MaxRunsLimit {
			unknown()
			return
		}
		limit = min(2*limit, MaxRunsLimit)
	}
}

// listProducts serves GET /api/v1/products: the products and product
// families the upstream offers.
func (h *handler) listProducts(w http.ResponseWriter, r *http.Request) {
	h.listCategories(w, r, true)
}

// listClassifications serves GET /api/v1/classifications.
func (h *handler) listClassifications(w http.ResponseWriter, r *http.Request) {
	h.listCategories(w, r, false)
}

// listCategories answers the stored products and product families, or the
// stored classifications, with whether the settings subscribe them.
func (h *handler) listCategories(w http.ResponseWriter, r *http.Request, products bool) {
	settings, ok := h.syncSettings(w, r)
	if !ok {
		return
	}
	cats, ok := h.categories(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, cats.list(settings, products))
}

// syncSettings reads the settings, answering the store's failure itself.
func (h *handler) syncSettings(w http.ResponseWriter, r *http.Request) (catalog.SyncSettings, bool) {
	s, err := h.store.SyncSettings(r.Context())
	if err != nil {
		h.storeFailed(w, r, "SyncSettings", err)
		return catalog.SyncSettings{}, false
	}
	return s, true
}

// categories reads the stored categories a subscription names, answering
// the store's failure itself.
func (h *handler) categories(w http.ResponseWriter, r *http.Request) (categoryIndex, bool) {
	sums, err := h.store.Summaries(r.Context())
	if err != nil {
		h.storeFailed(w, r, "Summaries", err)
		return categoryIndex{}, false
	}
	return indexCategories(sums), true
}

// categoryIndex holds the newest revision of each stored product, product
// family and classification.
type categoryIndex struct {
	byID map[uuid.UUID]catalog.Summary
	// sorted are the same, ordered by title, then ID.
	sorted []catalog.Summary
}

// indexCategories picks the products, product families and classifications
// out of sums, the newest revision of each.
func indexCategories(sums []catalog.Summary) categoryIndex {
	idx := categoryIndex{byID: map[uuid.UUID]catalog.Summary{}}
	for _, s := range sums {
		if s.Type != catalog.TypeCategory {
			continue
		}
		switch s.CategoryType {
		case categoryProduct, categoryProductFamily, categoryClassification:
		default:
			continue
		}
		if old, ok := idx.byID[s.UpdateID]; !ok || s.RevisionNumber > old.RevisionNumber {
			idx.byID[s.UpdateID] = s
		}
	}
	for _, s := range idx.byID {
		idx.sorted = append(idx.sorted, s)
	}
	slices.SortFunc(idx.sorted, func(a, b catalog.Summary) int {
		if c := cmpFold(a.Title, b.Title); c != 0 {
			return c
		}
		return strings.Compare(a.UpdateID.String(), b.UpdateID.String())
	})
	return idx
}

// families returns the product families a product's prerequisites name,
// ordered by title.
func (idx categoryIndex) families(product catalog.Summary) []catalog.Summary {
	var out []catalog.Summary
	for _, cl := range product.Prerequisites {
		for _, id := range cl.UpdateIDs {
			if f, ok := idx.byID[id]; ok && f.CategoryType == categoryProductFamily &&
				!slices.ContainsFunc(out, func(s catalog.Summary) bool { return s.UpdateID == id }) {
				out = append(out, f)
			}
		}
	}
	slices.SortFunc(out, func(a, b catalog.Summary) int { return cmpFold(a.Title, b.Title) })
	return out
}

// children returns the IDs of the products whose prerequisites name the
// product family, ordered by title.
func (idx categoryIndex) children(family uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for _, s := range idx.sorted {
		if s.CategoryType != categoryProduct {
			continue
		}
		if slices.ContainsFunc(idx.families(s), func(f catalog.Summary) bool { return f.UpdateID == family }) {
			out = append(out, s.UpdateID)
		}
	}
	return out
}

// refs names ids, ordered by title (an ID no longer stored has an empty
// title and comes first).
func (idx categoryIndex) refs(ids []uuid.UUID) []CategoryRef {
	out := make([]CategoryRef, 0, len(ids))
	for _, id := range ids {
		out = append(out, CategoryRef{ID: id, Title: idx.byID[id].Title})
	}
	slices.SortFunc(out, func(a, b CategoryRef) int {
		if c := cmpFold(a.Title, b.Title); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}

// list returns the products and product families (products true) or the
// classifications, each marked selected as the settings subscribe it.
func (idx categoryIndex) list(s catalog.SyncSettings, products bool) CategoryList {
	all, chosen := s.AllClassifications, s.Classifications
	if products {
		all, chosen = s.AllProducts, s.Products
	}
	selected := func(id uuid.UUID) bool { return all || slices.Contains(chosen, id) }
	out := CategoryList{All: all, Categories: []Category{}}
	for _, c := range idx.sorted {
		item := Category{ID: c.UpdateID, Title: c.Title, Type: c.CategoryType}
		switch {
		case !products && c.CategoryType == categoryClassification:
			item.Selected = selected(c.UpdateID)
		case products && c.CategoryType == categoryProduct:
			fams := idx.families(c)
			if len(fams) > 0 {
				item.Family = &CategoryRef{ID: fams[0].UpdateID, Title: fams[0].Title}
			}
			// A family ID in the settings (as an older writer may have
			// stored it) subscribes its products.
			item.Selected = selected(c.UpdateID) ||
				slices.ContainsFunc(fams, func(f catalog.Summary) bool { return selected(f.UpdateID) })
		case products && c.CategoryType == categoryProductFamily:
			kids := idx.children(c.UpdateID)
			item.Selected = selected(c.UpdateID) ||
				(len(kids) > 0 && !slices.ContainsFunc(kids, func(id uuid.UUID) bool { return !selected(id) }))
		default:
			continue
		}
		out.Categories = append(out.Categories, item)
	}
	return out
}

// resolve turns names (GUIDs, titles, or "all") into the UpdateIDs of
// stored categories of the given types, as package syncer does: an exact
// title first, else the one title that differs in case only; a product
// family stands for its products. what ("product", "classification") names
// the entries in errors.
func (idx categoryIndex) resolve(names []string, what string, types ...string) (bool, []uuid.UUID, *requestError) {
	var all bool
	var ids []uuid.UUID
	add := func(more ...uuid.UUID) {
		for _, id := range more {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "all") {
			all = true
			continue
		}
		c, e := idx.find(name, what, types)
		if e != nil {
			return false, nil, e
		}
		if c.CategoryType != categoryProductFamily {
			add(c.UpdateID)
			continue
		}
		kids := idx.children(c.UpdateID)
		if len(kids) == 0 {
			return false, nil, badRequest("unknown_"+what, "%s %q is a product family without products here: nothing to subscribe", what, name)
		}
		add(kids...)
	}
	if all {
		return true, nil, nil
	}
	return false, ids, nil
}

// find finds the one stored category of types that name (a GUID or a
// title) names.
func (idx categoryIndex) find(name, what string, types []string) (catalog.Summary, *requestError) {
	unknown := badRequest("unknown_"+what, "%s %q: the upstream offers no %s of that GUID or title (see GET /api/v1/%ss, wsusctl %ss)",
		what, name, what, what, what)
	if name == "" {
		return catalog.Summary{}, badRequest("unknown_"+what, "an empty %s entry: give a GUID, a title or \"all\"", what)
	}
	if id, err := uuid.Parse(name); err == nil {
		if c, ok := idx.byID[id]; ok && slices.Contains(types, c.CategoryType) {
			return c, nil
		}
		return catalog.Summary{}, unknown
	}
	for _, match := range []func(string) bool{
		func(t string) bool { return t == name },
		func(t string) bool { return strings.EqualFold(t, name) },
	} {
		var found []catalog.Summary
		for _, c := range idx.sorted {
			if slices.Contains(types, c.CategoryType) && match(c.Title) {
				found = append(found, c)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		ids := make([]string, len(found))
		for i, c := range found {
			ids[i] = c.UpdateID.String()
		}
		return catalog.Summary{}, badRequest("ambiguous_"+what, "%s %q: %d categories have that title (%s); give the GUID",
			what, name, len(found), strings.Join(ids, ", "))
	}
	return catalog.Summary{}, unknown
}

// languageTag is what a short language name looks like ("en", "pt-br",
// "zh-hk", "sr-latn-rs").
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// resolveLanguages checks names against the upstream's languages (short or
// long names), or without them, that each looks like a language tag. "all"
// or no names mean all languages (nil).
func resolveLanguages(names []string, offered []catalog.UpstreamLanguage) ([]string, *requestError) {
	var out []string
	for _, name := range names {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "all") {
			return nil, nil
		}
		short := ""
		if len(offered) == 0 {
			if !languageTag.MatchString(name) {
				return nil, badRequest("unknown_language", "language %q is not a language name such as en, de or pt-br", name)
			}
			short = strings.ToLower(name)
		}
		for _, l := range offered {
			if strings.EqualFold(l.Short, name) || (l.Long != "" && strings.EqualFold(l.Long, name)) {
				short = l.Short
				break
			}
		}
		if short == "" {
			shorts := make([]string, len(offered))
			for i, l := range offered {
				shorts[i] = l.Short
			}
			return nil, badRequest("unknown_language", "language %q: the upstream offers no such language; it offers %s", name, strings.Join(shorts, ", "))
		}
		if !slices.Contains(out, short) {
			out = append(out, short)
		}
	}
	return out, nil
}

// parseUpstreamURL checks an upstream server's root URL; a trailing slash
// is dropped so that one server has one spelling (the synchronization
// anchors belong to it).
func parseUpstreamURL(raw string) (string, *requestError) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", badRequest("invalid_upstream_url", "upstream URL %q is not an http:// or https:// server root such as https://sws.update.microsoft.com or http://wsus.example:8530", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// firstSyncLayout is how FirstSync is written: "HH:MM", UTC.
var firstSyncLayout = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)

// parseFirstSync reads "HH:MM" (UTC) as the time after midnight; empty is
// midnight.
func parseFirstSync(s string) (time.Duration, *requestError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	m := firstSyncLayout.FindStringSubmatch(s)
	if m == nil {
		return 0, badRequest("invalid_first_sync", "first_sync %q is not a UTC time of day HH:MM, e.g. 03:30", s)
	}
	hours, _ := strconv.Atoi(m[1])
	minutes, _ := strconv.Atoi(m[2])
	return time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute, nil
}

// formatFirstSync writes a time after midnight as "HH:MM" (with ":SS" when
// it has seconds).
func formatFirstSync(d time.Duration) string {
	t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
	if t.Second() != 0 {
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}

// resolveSyncSettings decides the settings a request asks for: a pure
// function of the request, the stored categories and the upstream's
// languages.
func resolveSyncSettings(req SyncSettingsRequest, cats categoryIndex, offered []catalog.UpstreamLanguage) (catalog.SyncSettings, *requestError) {
	s := catalog.SyncSettings{Replica: req.Replica, SyncsPerDay: req.SyncsPerDay}
	var e *requestError
	if s.UpstreamURL, e = parseUpstreamURL(req.UpstreamURL); e != nil {
		return s, e
	}
	if s.AllProducts, s.Products, e = cats.resolve(req.Products, "product", categoryProduct, categoryProductFamily); e != nil {
		return s, e
	}
	if s.AllClassifications, s.Classifications, e = cats.resolve(req.Classifications, "classification", categoryClassification); e != nil {
		return s, e
	}
	if s.Languages, e = resolveLanguages(req.Languages, offered); e != nil {
		return s, e
	}
	s.Content = catalog.ContentMode(strings.ToLower(strings.TrimSpace(req.Content)))
	if s.Content == "" {
		s.Content = catalog.ContentApproved
	}
	if !s.Content.Valid() {
		return s, badRequest("invalid_content", "content %q is not one of approved, on-demand, never", req.Content)
	}
	if s.SyncsPerDay < 0 || s.SyncsPerDay > MaxSyncsPerDay {
		return s, badRequest("invalid_syncs_per_day", "syncs_per_day %d is not from 0 (manually only) to %d", s.SyncsPerDay, MaxSyncsPerDay)
	}
	if s.FirstSync, e = parseFirstSync(req.FirstSync); e != nil {
		return s, e
	}
	return s, nil
}

// wireSyncSettings returns s as answered, naming its categories.
func wireSyncSettings(s catalog.SyncSettings, cats categoryIndex) SyncSettings {
	return SyncSettings{
		UpstreamURL:        s.UpstreamURL,
		Replica:            s.Replica,
		AllProducts:        s.AllProducts,
		Products:           cats.refs(s.Products),
		AllClassifications: s.AllClassifications,
		Classifications:    cats.refs(s.Classifications),
		Languages:          nonNil(s.Languages),
		Content:            s.ContentOrDefault(),
		SyncsPerDay:        s.SyncsPerDay,
		FirstSync:          formatFirstSync(s.FirstSync),
		ChangedAt:          optTime(s.ChangedAt),
	}
}

// wireUpstream returns what the state says of the upstream, nil before a
// synchronization reached one.
func wireUpstream(st catalog.SyncState) *UpstreamInfo {
	c := st.Config
	if st.UpstreamURL == "" && c.ProtocolVersion == "" && len(c.Languages) == 0 {
		return nil
	}
	out := &UpstreamInfo{URL: st.UpstreamURL, ProtocolVersion: c.ProtocolVersion, CatalogOnlySync: c.CatalogOnlySync,
		Languages: make([]UpstreamLanguage, 0, len(c.Languages))}
	for _, l := range c.Languages {
		out.Languages = append(out.Languages, UpstreamLanguage{ID: l.ID, Short: l.Short, Long: l.Long, Enabled: l.Enabled})
	}
	return out
}
