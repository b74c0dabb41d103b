package admin

import (
	"context"
	"net/http"
	"time"

	"wsus/catalog"
)

// This file is what the console's overview draws beside the compliance
// reports: the installs over time (GET /api/v1/compliance/installs), from
// the install results the computers reported (catalog.InstallHistoryStore),
// and the content store's use (GET /api/v1/storage), as the serving
// process last measured it (StorageMeter). Both are the viewer's.

// Routes of this file.
const (
	InstallsPath = "/api/v1/compliance/installs"
	StoragePath  = "/api/v1/storage"
)

// DefaultInstallDays is the days of GET /api/v1/compliance/installs
// without ?days=: a month, as the console's chart shows.
const DefaultInstallDays = 30

// installsParams are the query parameters of the installs over time.
var installsParams = []string{"days"}

// InstallDay counts the install results the computers reported in one
// UTC day (by when the server received the report, not the computer's
// clock).
type InstallDay struct {
	// Day is the UTC day, "YYYY-MM-DD".
	Day string `json:"day"`
	// Installed counts the installs that succeeded (events 183, and 184:
	// installed, a restart pending); Failed those that failed (182).
	Installed int `json:"installed"`
	Failed    int `json:"failed"`
}

// InstallHistory is the answer of GET /api/v1/compliance/installs: one row
// per UTC day, oldest first, the last one today (so far).
type InstallHistory struct {
	// From and To are the first and the last day, "YYYY-MM-DD".
	From string       `json:"from"`
	To   string       `json:"to"`
	Days []InstallDay `json:"days"`
	// Installed and Failed sum the days'.
	Installed int `json:"installed"`
	Failed    int `json:"failed"`
}

// StorageUsage is the answer of GET /api/v1/storage: the content store's
// use as the serving process last measured it. Counting the objects of an
// S3 bucket is a full listing, so the server measures in the background at
// most every few minutes and never while a request waits.
type StorageUsage struct {
	// Store is the content store: "s3" or "filesystem" (as GET
	// /api/v1/server says).
	Store string `json:"store"`
	// Objects and Bytes are the stored objects (payload files) and their
	// total size, as of MeasuredAt; zero before the first measurement.
	Objects int64 `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// MeasuredAt is when the last measurement finished; null before the
	// first did.
	MeasuredAt *time.Time `json:"measured_at"`
	// Measuring is true while a measurement runs.
	Measuring bool `json:"measuring"`
	// Error is why the last measurement failed ("" when it succeeded);
	// Objects, Bytes and MeasuredAt are then the last good one's.
	Error string `json:"error,omitempty"`
}

// StorageMeter tells the content store's use (Options.Storage). Usage
// must answer at once from what was measured before: it may start a
// measurement in the background, never wait for one.
type StorageMeter interface {
	Usage(ctx context.Context) StorageUsage
}

// routeInsights registers the installs over time and the storage use;
// meter nil answers GET /api/v1/storage 503.
func (h *handler) routeInsights(meter StorageMeter) {
	h.route(InstallsPath, map[string]http.HandlerFunc{http.MethodGet: h.installs})
	h.route(StoragePath, map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		if p := readQuery(r.URL.Query(), nil); p.err != nil {
			writeError(w, p.err.status, p.err.code, p.err.reason)
			return
		}
		if meter == nil {
			writeError(w, http.StatusServiceUnavailable, "storage_unknown",
				"this process does not measure the content store's use")
			return
		}
		u := meter.Usage(r.Context())
		if u.MeasuredAt != nil {
			at := u.MeasuredAt.UTC()
			u.MeasuredAt = &at
		}
		writeJSON(w, http.StatusOK, u)
	}})
}

// installs serves GET /api/v1/compliance/installs (?days=N, 1 to
// catalog.MaxInstallDays, default DefaultInstallDays): the last N UTC
// days, today included.
func (h *handler) installs(w http.ResponseWriter, r *http.Request) {
	p := readQuery(r.URL.Query(), installsParams)
	days := p.integer("days", 1, catalog.MaxInstallDays, DefaultInstallDays)
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return
	}
	is, ok := h.store.(catalog.InstallHistoryStore)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "installs_unknown",
			"this catalog store does not count install results")
		return
	}
	from := catalog.UTCDay(h.views.now()).AddDate(0, 0, 1-days)
	list, err := is.InstallsByDay(r.Context(), from, days)
	if err != nil {
		h.storeFailed(w, r, "InstallsByDay", err)
		return
	}
	out := InstallHistory{From: from.Format(time.DateOnly), To: from.AddDate(0, 0, days-1).Format(time.DateOnly),
		Days: make([]InstallDay, 0, len(list))}
	for _, d := range list {
		out.Days = append(out.Days, InstallDay{Day: d.Day.Format(time.DateOnly), Installed: d.Installed, Failed: d.Failed})
		out.Installed += d.Installed
		out.Failed += d.Failed
	}
	writeJSON(w, http.StatusOK, out)
}
