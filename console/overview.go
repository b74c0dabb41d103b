package console

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	"wsus/catalog/admin"
)

// routeOverview registers the overview, the console's home page.
func (c *Console) routeOverview() {
	c.get("GET /console/{$}", c.overview)
}

// overviewData is the overview page's data. Each part is read from its
// own API call; a part whose call failed has its error's reason set
// (…Err) and is shown as that reason, the rest of the page as usual.
type overviewData struct {
	Summary    admin.ComplianceSummary
	SummaryErr string
	// NotReportedDays is the N of "computers not reporting for N days".
	NotReportedDays int
	// Sync is GET /api/v1/sync: last and next synchronization, the
	// running one's progress (the sync-progress partial).
	Sync    admin.SyncStatus
	SyncErr string
	// Storage is GET /api/v1/storage: the content store's use.
	Storage    admin.StorageUsage
	StorageErr string
	// Groups is GET /api/v1/compliance/groups: the compliance chart.
	Groups    admin.GroupComplianceList
	GroupsErr string
	// Installs is GET /api/v1/compliance/installs: the installs chart.
	Installs    admin.InstallHistory
	InstallsErr string
}

// overviewPart is one API read of the overview: path with query into out,
// its failure's reason into reason.
type overviewPart struct {
	path   string
	query  map[string][]string
	out    any
	reason *string
}

// overview serves the overview: what needs the administrator's attention.
// Its parts are independent API reads, made concurrently so that the page
// takes as long as the slowest one, not their sum; a part that fails shows
// its reason in its place. A refusal of the person's token (401) ends the
// session as on any page.
func (c *Console) overview(q *request) error {
	days := admin.DefaultNotReportedDays
	if n, err := strconv.Atoi(q.r.URL.Query().Get("not_reported_days")); err == nil && n > 0 {
		days = n
	}
	d := overviewData{NotReportedDays: days}
	notReported := map[string][]string{"not_reported_days": {strconv.Itoa(days)}}
	parts := []overviewPart{
		{"/api/v1/compliance/summary", notReported, &d.Summary, &d.SummaryErr},
		{"/api/v1/sync", nil, &d.Sync, &d.SyncErr},
		{admin.StoragePath, nil, &d.Storage, &d.StorageErr},
		{"/api/v1/compliance/groups", notReported, &d.Groups, &d.GroupsErr},
		{admin.InstallsPath, map[string][]string{"days": {strconv.Itoa(admin.DefaultInstallDays)}}, &d.Installs, &d.InstallsErr},
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { errs[i] = q.get(p.path, p.query, p.out) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		if statusOf(err) == http.StatusUnauthorized {
			return err
		}
		var apiErr *apiError
		if !errors.As(err, &apiErr) {
			q.c.log.ErrorContext(q.r.Context(), "console: overview part failed", "path", parts[i].path, "err", err)
		}
		*parts[i].reason = reasonOf(err)
	}
	return q.render("overview", "Overview", "overview", d)
}
