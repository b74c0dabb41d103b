package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"wsus/catalog/admin"
)

// The synchronization page: WSUS's "Synchronizations" node and its
// "Options" (Update Source, Products and Classifications, Update
// Languages, Update Files, Synchronization Schedule). It reads GET
// /api/v1/sync (status, settings, next scheduled run), /api/v1/products,
// /api/v1/classifications and /api/v1/sync/runs; its forms write PUT
// /api/v1/sync/settings and POST /api/v1/sync/runs. Only an admin sees
// the forms (the API refuses the others anyway).

// routeSync registers the synchronization page (settings, start now,
// history, live progress).
func (c *Console) routeSync() {
	c.get("GET /console/sync", c.syncPage)
	c.get("GET /console/sync/progress", c.syncProgress)
	c.post("POST /console/sync/settings", c.saveSyncSettings)
	c.post("POST /console/sync/run", c.startSync)
}

// syncRunsPage is how many runs a page of the history shows. "Older runs"
// asks the API for the runs with an ID below the oldest shown
// (before_id), "Newest runs" for the first page again.
const syncRunsPage = admin.DefaultRunsLimit

// syncData is the synchronization page's data.
type syncData struct {
	Status admin.SyncStatus
	// Products and Classifications are the settings form's checkbox
	// lists (an admin's only).
	Products, Classifications categoryBox
	// Runs are a page of the history, newest first: the newest runs, or
	// those with an ID below BeforeID (0: the first page). Older is the
	// URL of the page after, "" when these are the oldest; Newest that
	// of the first page, "" on it.
	Runs          []admin.SyncRun
	BeforeID      string
	Older, Newest string
	// Settings are the settings the form shows, ETag their tag: the form
	// carries it, so that saving over someone else's change since is
	// refused (If-Match) rather than undoing it.
	Settings admin.SyncSettings
	ETag     string
	// Languages is the settings' languages as the form's text field shows
	// them; LanguageBoxes the upstream's languages as checkboxes instead,
	// when a synchronization has learned them (AllLanguages: none chosen).
	Languages     string
	LanguageBoxes []languageBox
	AllLanguages  bool
	// Contents are the content modes the form offers.
	Contents []string
}

// categoryBox is a checkbox list of the settings form (the template
// "sync-categories"): the form field Name, the categories the API listed
// with whether the settings subscribe each, and the plural noun Label.
type categoryBox struct {
	Name, Label string
	List        admin.CategoryList
}

// languageBox is one language the upstream offers, as a checkbox of the
// settings form.
type languageBox struct {
	Short, Long string
	Checked     bool
}

// syncPage serves GET /console/sync.
func (c *Console) syncPage(q *request) error {
	var d syncData
	if err := q.get("/api/v1/sync", nil, &d.Status); err != nil {
		return err
	}
	if err := d.historyPage(q, q.r.URL.Query().Get("before_id")); err != nil {
		return err
	}
	d.Settings = d.Status.Settings
	if q.s.IsAdmin() {
		etag, err := q.tagged(http.MethodGet, "/api/v1/sync/settings", "", nil, &d.Settings)
		if err != nil {
			return err
		}
		d.ETag = etag
		d.Products = categoryBox{Name: "products", Label: "products"}
		if err := q.get("/api/v1/products", nil, &d.Products.List); err != nil {
			return err
		}
		d.Classifications = categoryBox{Name: "classifications", Label: "classifications"}
		if err := q.get("/api/v1/classifications", nil, &d.Classifications.List); err != nil {
			return err
		}
	}
	d.Languages = strings.Join(d.Settings.Languages, ", ")
	d.AllLanguages = len(d.Settings.Languages) == 0
	if up := d.Status.Upstream; up != nil {
		for _, l := range up.Languages {
			d.LanguageBoxes = append(d.LanguageBoxes, languageBox{Short: l.Short, Long: l.Long,
				Checked: d.AllLanguages || slices.Contains(d.Settings.Languages, l.Short)})
		}
	}
	d.Contents = []string{"approved", "on-demand", "never"}
	return q.render("sync", "Synchronization", "sync", d)
}

// historyPage reads the page of the history before beforeID (the newest
// when ""): one run more than it shows tells whether there are older
// ones. A bad beforeID goes to the API, which says what is wrong with it.
func (d *syncData) historyPage(q *request, beforeID string) error {
	query := url.Values{"limit": {strconv.Itoa(syncRunsPage + 1)}}
	if beforeID != "" {
		query.Set("before_id", beforeID)
		d.BeforeID, d.Newest = beforeID, "/console/sync#sync-history"
	}
	var runs admin.SyncRunList
	if err := q.get("/api/v1/sync/runs", query, &runs); err != nil {
		return err
	}
	d.Runs = runs.Runs
	if len(d.Runs) > syncRunsPage {
		d.Runs = d.Runs[:syncRunsPage]
		d.Older = "/console/sync?before_id=" + strconv.FormatInt(d.Runs[syncRunsPage-1].ID, 10) + "#sync-history"
	}
	return nil
}

// syncProgress serves GET /console/sync/progress: the sync-progress
// fragment alone, which console.js reloads every few seconds on the
// synchronization page and the overview.
func (c *Console) syncProgress(q *request) error {
	var st admin.SyncStatus
	if err := q.get("/api/v1/sync", nil, &st); err != nil {
		return err
	}
	return q.fragment("sync", "sync-progress", st)
}

// saveSyncSettings serves the settings form: it replaces the settings
// with what the form says (PUT /api/v1/sync/settings replaces them all),
// if they are still as the form showed them (If-Match with the form's
// etag; q.tagged and changedMeanwhile are the rules pages').
func (c *Console) saveSyncSettings(q *request) (string, flash, error) {
	back := "/console/sync"
	req, err := syncSettingsRequest(q.r.PostForm)
	if err != nil {
		return back, flash{}, err
	}
	var saved admin.SyncSettings
	if _, err := q.tagged(http.MethodPut, "/api/v1/sync/settings", q.r.PostForm.Get("etag"), req, &saved); err != nil {
		return back, flash{}, changedMeanwhile(err, "setting")
	}
	return back, flashOK("Synchronization settings saved."), nil
}

// syncSettingsRequest reads the settings form into the API's request. The
// form's values go to the API as they are (it validates them); only the
// form's own shapes are read here: checkboxes, the languages (checkboxes,
// or a comma-separated list: splitList) and the number of synchronizations a day
// (optionalInt).
func syncSettingsRequest(form url.Values) (admin.SyncSettingsRequest, error) {
	req := admin.SyncSettingsRequest{
		UpstreamURL:     form.Get("upstream_url"),
		Replica:         form.Get("replica") == "on",
		Products:        syncSelection(form["products"]),
		Classifications: syncSelection(form["classifications"]),
		Languages:       syncSelection(splitList(strings.Join(form["languages"], ","), ",")),
		Content:         form.Get("content"),
		FirstSync:       form.Get("first_sync"),
	}
	n, err := optionalInt(form, "syncs_per_day", "Synchronizations a day")
	if n != nil {
		req.SyncsPerDay = *n
	}
	return req, err
}

// syncSelection is the categories a checkbox list chose: just "all" when its
// "all" box is checked, so that categories the upstream adds later are
// subscribed too; never nil (none chosen subscribes none).
func syncSelection(values []string) []string {
	for _, v := range values {
		if v == "all" {
			return []string{"all"}
		}
	}
	return append([]string{}, values...)
}

// startSync serves the "Synchronize now" form: POST /api/v1/sync/runs.
// The API answers 503 when this process runs no synchronizations, 409
// when one is running or no upstream is set: its reason is shown.
func (c *Console) startSync(q *request) (string, flash, error) {
	var run admin.SyncRun
	if err := q.api(http.MethodPost, "/api/v1/sync/runs", nil, struct{}{}, &run); err != nil {
		return "/console/sync", flash{}, err
	}
	return "/console/sync", flashOK(fmt.Sprintf("Synchronization run %d started; its progress shows below.", run.ID)), nil
}
