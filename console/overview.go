package console

import (
	"strconv"

	"wsus/catalog/admin"
)

// routeOverview registers the overview, the console's home page.
func (c *Console) routeOverview() {
	c.get("GET /console/{$}", c.overview)
}

// overviewData is the overview page's data.
type overviewData struct {
	Summary admin.ComplianceSummary
	// NotReportedDays is the N of "computers not reporting for N days".
	NotReportedDays int
}

// overview serves the overview: what needs the administrator's attention.
func (c *Console) overview(q *request) error {
	days := admin.DefaultNotReportedDays
	if n, err := strconv.Atoi(q.r.URL.Query().Get("not_reported_days")); err == nil && n > 0 {
		days = n
	}
	var d overviewData
	d.NotReportedDays = days
	if err := q.get("/api/v1/compliance/summary", map[string][]string{"not_reported_days": {strconv.Itoa(days)}}, &d.Summary); err != nil {
		return err
	}
	return q.render("overview", "Overview", "overview", d)
}
