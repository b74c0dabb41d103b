package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	// The status is polled (the console's live progress, every 2 s): the
	// cached index names the categories, even if up to indexMaxAge old.
	idx, ok := h.catalogIndex(w, r, false)
	if !ok {
		return
	}
	out := SyncStatus{Settings: wireSyncSettings(settings, idx.cats), Upstream: wireUpstream(state)}
	var lastStarted time.Time
	if len(runs) > 0 {
		lastStarted = runs[0].Started // newest first
	}
	if next, ok := settings.NextSync(lastStarted, h.views.now()); ok {
		out.NextSync = &next
	}
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
	writeTagged(w, http.StatusOK, wireSyncSettings(settings, cats))
}

// putSyncSettings serves PUT /api/v1/sync/settings: it resolves the
// request against the stored categories and the upstream's languages,
// replaces the settings and answers them as stored. With If-Match they
// are replaced only if they are still as tagged (etag.go); a tag read
// before a synchronization renamed a product or classification they name
// is stale too.
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
	var current catalog.SyncSettings
	if parseIfMatch(r).conditional {
		if current, ok = h.syncSettings(w, r); !ok {
			return
		}
	}
	conditional, ok := checkIfMatch(w, r, wireSyncSettings(current, cats))
	if !ok {
		return
	}
	if conditional {
		err = h.store.SetSyncSettingsIf(ctx, current, settings)
	} else {
		err = h.store.SetSyncSettings(ctx, settings)
	}
	if err != nil {
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
	writeTagged(w, http.StatusOK, wireSyncSettings(stored, cats))
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

// syncRunsParams are the query parameters GET /api/v1/sync/runs knows.
var syncRunsParams = []string{"limit", "before_id"}

// syncRunsQuery is what GET /api/v1/sync/runs asks for: up to Limit runs
// with an ID below BeforeID (zero: the newest).
type syncRunsQuery struct {
	Limit    int
	BeforeID int64
}

// parseSyncRunsQuery reads the parameters of GET /api/v1/sync/runs.
func parseSyncRunsQuery(q url.Values) (syncRunsQuery, *requestError) {
	out := syncRunsQuery{Limit: DefaultRunsLimit}
	for key, values := range q {
		if !slices.Contains(syncRunsParams, key) {
			return out, badRequest("bad_query", "unknown query parameter %q; known: %s", key, strings.Join(syncRunsParams, ", "))
		}
		v := values[len(values)-1]
		switch key {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxRunsLimit {
				return out, badRequest("bad_query", "limit %q is not a number from 1 to %d", v, MaxRunsLimit)
			}
			out.Limit = n
		case "before_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return out, badRequest("bad_query", "before_id %q is not a positive integer", v)
			}
			out.BeforeID = n
		}
	}
	return out, nil
}

// listSyncRuns serves GET /api/v1/sync/runs?limit=N&before_id=ID: a page of
// the history, newest first; the last run's ID is the next page's before_id.
func (h *handler) listSyncRuns(w http.ResponseWriter, r *http.Request) {
	p, e := parseSyncRunsQuery(r.URL.Query())
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	runs, err := h.store.SyncRunsBefore(r.Context(), p.Limit, p.BeforeID)
	if err != nil {
		h.storeFailed(w, r, "SyncRunsBefore", err)
		return
	}
	out := SyncRunList{Runs: make([]SyncRun, 0, min(len(runs), p.Limit))}
	for _, run := range runs[:min(len(runs), p.Limit)] {
		out.Runs = append(out.Runs, wireSyncRun(run))
	}
	writeJSON(w, http.StatusOK, out)
}

// getSyncRun serves GET /api/v1/sync/runs/{id}: the newest run below id+1,
// if it is the one.
func (h *handler) getSyncRun(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("id")
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id < 1 || id == math.MaxInt64 {
		writeError(w, http.StatusBadRequest, "invalid_run_id", fmt.Sprintf("run ID %q is not a positive integer", ref))
		return
	}
	runs, err := h.store.SyncRunsBefore(r.Context(), 1, id+1)
	if err != nil {
		h.storeFailed(w, r, "SyncRunsBefore", err)
		return
	}
	if len(runs) == 0 || runs[0].ID != id {
		writeError(w, http.StatusNotFound, "unknown_run", fmt.Sprintf("no synchronization run has the ID %d", id))
		return
	}
	writeJSON(w, http.StatusOK, wireSyncRun(runs[0]))
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
	// The views' cached catalog index (views.go), not a pass over every
	// summary: the console lists the choices on every updates page. It may
	// lag a synchronization by up to indexMaxAge.
	idx, ok := h.catalogIndex(w, r, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, categoryList(idx.cats, settings, products))
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

// categories returns the stored categories a subscription names, as of
// now: from the views' catalog index (views.go), rebuilt first when the
// catalog changed since it was built. It answers the store's failure
// itself.
func (h *handler) categories(w http.ResponseWriter, r *http.Request) (catalog.Categories, bool) {
	idx, ok := h.catalogIndex(w, r, true)
	if !ok {
		return catalog.Categories{}, false
	}
	return idx.cats, true
}

// categoryRefs names ids, ordered by title (an ID no longer stored has an
// empty title and comes first).
func categoryRefs(cats catalog.Categories, ids []uuid.UUID) []CategoryRef {
	out := make([]CategoryRef, 0, len(ids))
	for _, id := range ids {
		c, _ := cats.Category(id)
		out = append(out, CategoryRef{ID: id, Title: c.Title})
	}
	slices.SortFunc(out, func(a, b CategoryRef) int {
		if c := cmpFold(a.Title, b.Title); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}

// categoryList returns the products and product families (products true)
// or the classifications, each marked selected as the settings subscribe
// it.
func categoryList(cats catalog.Categories, s catalog.SyncSettings, products bool) CategoryList {
	all, chosen := s.AllClassifications, s.Classifications
	if products {
		all, chosen = s.AllProducts, s.Products
	}
	selected := func(id uuid.UUID) bool { return all || slices.Contains(chosen, id) }
	out := CategoryList{All: all, Categories: []Category{}}
	for _, c := range cats.List() {
		item := Category{ID: c.UpdateID, Title: c.Title, Type: c.CategoryType}
		switch {
		case !products && c.CategoryType == catalog.CategoryClassification:
			item.Selected = selected(c.UpdateID)
		case products && c.CategoryType == catalog.CategoryProduct:
			fams := cats.Families(c.UpdateID)
			if len(fams) > 0 {
				item.Family = &CategoryRef{ID: fams[0].UpdateID, Title: fams[0].Title}
			}
			// A family ID in the settings (as an older writer may have
			// stored it) subscribes its products.
			item.Selected = selected(c.UpdateID) ||
				slices.ContainsFunc(fams, func(f catalog.Summary) bool { return selected(f.UpdateID) })
		case products && c.CategoryType == catalog.CategoryProductFamily:
			kids := cats.Children(c.UpdateID)
			item.Selected = selected(c.UpdateID) ||
				(len(kids) > 0 && !slices.ContainsFunc(kids, func(id uuid.UUID) bool { return !selected(id) }))
		default:
			continue
		}
		out.Categories = append(out.Categories, item)
	}
	return out
}

// selectionRefused answers a name of the request that catalog could not
// resolve (a *catalog.SelectionError) with its code and message.
func selectionRefused(err error) *requestError {
	var se *catalog.SelectionError
	if errors.As(err, &se) {
		return badRequest(se.Code, "%s", se.Message)
	}
	// Not reached: catalog's resolvers fail with a SelectionError only.
	return badRequest("invalid_selection", "%s", err)
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
func resolveSyncSettings(req SyncSettingsRequest, cats catalog.Categories, offered []catalog.UpstreamLanguage) (catalog.SyncSettings, *requestError) {
	s := catalog.SyncSettings{Replica: req.Replica, SyncsPerDay: req.SyncsPerDay}
	var e *requestError
	if s.UpstreamURL, e = parseUpstreamURL(req.UpstreamURL); e != nil {
		return s, e
	}
	var err error
	if s.AllProducts, s.Products, err = cats.Resolve(req.Products, catalog.SelectProducts); err != nil {
		return s, selectionRefused(err)
	}
	if s.AllClassifications, s.Classifications, err = cats.Resolve(req.Classifications, catalog.SelectClassifications); err != nil {
		return s, selectionRefused(err)
	}
	if s.Languages, err = catalog.ResolveLanguages(req.Languages, offered); err != nil {
		return s, selectionRefused(err)
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
func wireSyncSettings(s catalog.SyncSettings, cats catalog.Categories) SyncSettings {
	return SyncSettings{
		UpstreamURL:        s.UpstreamURL,
		Replica:            s.Replica,
		AllProducts:        s.AllProducts,
		Products:           categoryRefs(cats, s.Products),
		AllClassifications: s.AllClassifications,
		Classifications:    categoryRefs(cats, s.Classifications),
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
