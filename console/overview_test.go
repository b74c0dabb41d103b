package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// TestOverview reads the overview as the admin: the tiles show the seeded
// computers as the API counts them (3 computers, 2 needing updates of which
// 1 failed, 1 up to date), the synchronization's live part, the storage
// part showing the API's reason (the harness's API measures no storage:
// one part failing leaves the rest of the page), and both charts: a bar
// per group with Ring 1's three states, and a column per day.
func TestOverview(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(adminToken)
	status, doc := p.get("/console/")
	if status != http.StatusOK {
		t.Fatalf("overview: %d\n%s", status, text(doc))
	}
	for metric, want := range map[string]string{"needing_updates": "2", "with_failures": "1", "not_reported": "0"} {
		if got := strings.TrimSpace(doc.Find(`#summary [data-metric="` + metric + `"] .value`).Text()); got != want {
			t.Errorf("tile %s: %q, want %q", metric, got, want)
		}
	}
	for metric, href := range map[string]string{"needing_updates": "/console/computers?needing=true", "with_failures": "/console/computers?failing=true",
		"not_reported": "/console/computers?not_reported_days=30", "needing_approval": "/console/updates?approval=unapproved"} {
		if got, _ := doc.Find(`#summary a[data-metric="` + metric + `"]`).Attr("href"); got != href {
			t.Errorf("tile %s links to %q, want %q", metric, got, href)
		}
	}
	if got := strings.Join(strings.Fields(doc.Find("#computers-total").Text()), " "); !strings.HasPrefix(got, "3 computers, 1 up to date (33 %)") {
		t.Errorf("computers: %q", got)
	}
	live := doc.Find("#overview-sync")
	if r, _ := live.Attr("data-refresh"); r != "/console/sync/progress" || live.AttrOr("aria-live", "") != "polite" ||
		!strings.Contains(live.Text(), "Never synchronized") {
		t.Errorf("sync part: refresh %q, text %q", r, strings.TrimSpace(live.Text()))
	}
	if got := strings.TrimSpace(doc.Find("#storage .part-error[role=alert]").Text()); !strings.Contains(got, "does not measure the content store's use") {
		t.Errorf("storage part: %q, want the API's reason", got)
	}

	svg := doc.Find("svg#chart-compliance")
	if svg.AttrOr("role", "") != "img" || svg.Find("title").First().Text() == "" || !strings.Contains(svg.Find("desc").Text(), "Ring 1: 3 computers, 1 up to date, 1 needing updates, 1 with failed installs.") {
		t.Fatalf("compliance chart: role %q, desc %q", svg.AttrOr("role", ""), svg.Find("desc").Text())
	}
	ring1 := svg.Find(`g.bar[data-group="Ring 1"]`)
	got := map[string]string{}
	ring1.Find("rect[data-series]").Each(func(_ int, r *goquery.Selection) { got[r.AttrOr("data-series", "")] = r.AttrOr("data-value", "") })
	if len(got) != 3 || got["up_to_date"] != "1" || got["needing"] != "1" || got["failed"] != "1" {
		t.Errorf("Ring 1's bar: %v", got)
	}
	if svg.Find(`g.bar[data-group="Ring 2"]`).Length() != 1 || svg.Find(`g.bar[data-group="Ring 2"] rect[data-series]`).Length() != 0 {
		t.Errorf("Ring 2 (no computers) should have a bar and no segment")
	}
	if n := doc.Find("ul.legend li").Length(); n != 6 {
		t.Errorf("%d legend entries, want 4 + 2", n)
	}
	row := doc.Find("#compliance-table tbody tr").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.TrimSpace(s.Find("td").First().Text()) == ring1Name
	})
	if cells := cellTexts(row); strings.Join(cells, "|") != "Ring 1|3|1|2|1|0" {
		t.Errorf("Ring 1's row: %q", cells)
	}

	cols := doc.Find("svg#chart-installs g.day")
	if cols.Length() != 30 || doc.Find("svg#chart-installs").AttrOr("role", "") != "img" || doc.Find("#installs-table tbody tr").Length() != 30 {
		t.Errorf("installs chart: %d columns, %d table rows", cols.Length(), doc.Find("#installs-table tbody tr").Length())
	}
	if doc.Find("main form").Length() != 0 {
		t.Errorf("the overview holds %d forms", doc.Find("main form").Length())
	}
}

// ring1Name is the seeded group's name as the table shows it.
const ring1Name = ring1

// cellTexts are the trimmed texts of a row's cells.
func cellTexts(row *goquery.Selection) []string {
	var out []string
	row.Find("td").Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
	return out
}

// TestOverviewInstallsChart: install results a computer reports show in
// today's column, its description and the table (one installed, one
// failed; the scan event is no install result).
func TestOverviewInstallsChart(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	now := time.Now().UTC()
	evs := []catalog.Event{
		{InstanceID: uuid.New(), EventID: catalog.EventInstallSucceeded, SourceID: 101, UpdateID: demoUpdate, RevisionNumber: 1, TimeAtTarget: now},
		{InstanceID: uuid.New(), EventID: catalog.EventInstallFailed, SourceID: 101, UpdateID: demoUpdate, RevisionNumber: 1, TimeAtTarget: now, Win32HResult: failedHResult},
		{InstanceID: uuid.New(), EventID: 147, SourceID: 101, TimeAtTarget: now},
	}
	if _, err := h.store.StoreEvents(ctx, pcNeeds, evs, now); err != nil {
		t.Fatal(err)
	}
	p := h.signIn(adminToken)
	_, doc := p.get("/console/")
	today := now.Format(time.DateOnly)
	col := doc.Find(`svg#chart-installs g.day[data-day="` + today + `"]`)
	if col.AttrOr("data-installed", "") != "1" || col.AttrOr("data-failed", "") != "1" || col.Find("rect").Length() != 2 {
		t.Errorf("today's column: installed %q, failed %q, %d rectangles", col.AttrOr("data-installed", ""), col.AttrOr("data-failed", ""), col.Find("rect").Length())
	}
	last := doc.Find("#installs-table tbody tr").Last()
	if cells := cellTexts(last); strings.Join(cells, "|") != today+"|1|1" {
		t.Errorf("today's row: %q", cells)
	}
	if !strings.Contains(doc.Find("svg#chart-installs desc").Text(), "1 installed and 1 failed in 30 days") {
		t.Errorf("installs desc: %q", doc.Find("svg#chart-installs desc").Text())
	}
}

// TestOverviewViewer: a viewer sees the whole overview, with no form but
// signing out.
func TestOverviewViewer(t *testing.T) {
	h := newHarness(t)
	p := h.signIn(h.token(catalog.RoleViewer))
	status, doc := p.get("/console/")
	if status != http.StatusOK {
		t.Fatalf("overview: %d", status)
	}
	if doc.Find("#summary .tile").Length() != 4 || doc.Find("svg#chart-compliance").Length() != 1 || doc.Find("svg#chart-installs").Length() != 1 {
		t.Errorf("the viewer's overview lacks parts:\n%s", text(doc))
	}
	if n := doc.Find("form").Length(); n != 1 || doc.Find("form.signout").Length() != 1 {
		t.Errorf("the viewer's overview holds %d forms, want only sign-out", n)
	}
	if n := doc.Find("main button, main input:not([type=hidden]), main select, main textarea").Length(); n != 0 {
		t.Errorf("the viewer's overview holds %d controls", n)
	}
}

// TestOverviewStorage: the storage part as the API answers it: measured
// (bytes, files, when), not measured yet while the first measurement
// runs, and a failed measurement's reason beside the last good counts.
func TestOverviewStorage(t *testing.T) {
	base := newHarness(t)
	for _, c := range []struct {
		name  string
		usage admin.StorageUsage
		want  []string
		alert string
	}{
		{"measured", admin.StorageUsage{Store: admin.ContentFilesystem, Objects: 12345, Bytes: 3 << 30, MeasuredAt: &measuredAt},
			[]string{"3.0 GiB in 12,345 files in the content directory, measured 2026-11-12 09:57 UTC"}, ""},
		{"first measurement running", admin.StorageUsage{Store: admin.ContentS3, Measuring: true},
			[]string{"Not measured yet: the server is counting the files of the content store now"}, ""},
		{"failed", admin.StorageUsage{Store: admin.ContentS3, Objects: 2, Bytes: 2048, MeasuredAt: &measuredAt, Error: "the content store could not be listed: access denied"},
			[]string{"2.0 KiB in 2 files in the S3 bucket"}, "The last measurement failed: the content store could not be listed: access denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := base.withStorage(t, fixedMeter{c.usage})
			_, doc := h.signIn(adminToken).get("/console/")
			got := strings.Join(strings.Fields(doc.Find("#storage").Text()), " ")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("storage: %q, want %q", got, w)
				}
			}
			if alert := strings.TrimSpace(doc.Find("#storage [role=alert]").Text()); alert != c.alert {
				t.Errorf("storage alert %q, want %q", alert, c.alert)
			}
			if doc.Find("svg#chart-compliance").Length() != 1 {
				t.Errorf("the rest of the page is missing")
			}
		})
	}
}
