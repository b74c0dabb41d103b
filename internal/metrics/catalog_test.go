package metrics

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsus/catalog"
	"wsus/catalog/sqlite"
	"wsus/catalog/storetest"
)

// countingStats counts the reads of a real store's Stats.
type countingStats struct {
	catalog.StatsStore
	reads atomic.Int64
}

func (c *countingStats) Stats(ctx context.Context, since []time.Time) (catalog.Stats, error) {
	c.reads.Add(1)
	return c.StatsStore.Stats(ctx, since)
}

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCatalogCollector fills a real embedded store and checks what a
// scrape exports of it: sizes, computers by last-contact bucket, sync runs
// and the running run's progress; that scrapes within StatsMaxAge read the
// store once; and that a failing read leaves the families out and is
// counted.
func TestCatalogCollector(t *testing.T) {
	ctx := t.Context()
	s := openSQLite(t)
	revs := storetest.Synthetic(40, "metrics")
	updates := map[uuid.UUID]bool{}
	for _, r := range revs {
		updates[r.UpdateID] = true
	}
	if _, err := s.ImportRevisions(ctx, revs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetApproval(ctx, catalog.Approval{UpdateID: revs[len(revs)-1].UpdateID, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, lastSync := range []time.Duration{time.Hour, 2 * time.Hour, 3 * 24 * time.Hour, 10 * 24 * time.Hour, 40 * 24 * time.Hour, -1} {
		id := uuid.NewString()
		if err := s.RecordAuthorization(ctx, id, "pc"+string(rune('a'+i)), nil, now.Add(-50*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if lastSync >= 0 {
			if err := s.RecordSync(ctx, id, now.Add(-lastSync)); err != nil {
				t.Fatal(err)
			}
		}
	}
	run, err := s.BeginSyncRun(ctx, catalog.SyncRun{Trigger: "api", Holder: "test"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	run.Phase, run.Done, run.Total, run.Files, run.FilesTotal, run.Bytes, run.BytesTotal = "content", 3, 10, 2, 5, 2048, 9000
	if run, err = s.UpdateSyncRun(ctx, run); err != nil {
		t.Fatal(err)
	}

	clock := now
	stats := &countingStats{StatsStore: s}
	m := New(Options{Stats: stats, SyncRuns: s, StatsMaxAge: time.Minute, Now: func() time.Time { return clock }})
	want := `
# HELP wsus_catalog_updates Updates in the catalog (one per update ID).
# TYPE wsus_catalog_updates gauge
wsus_catalog_updates ` + strconv.Itoa(len(updates)) + `
# HELP wsus_catalog_revisions Revisions in the catalog.
# TYPE wsus_catalog_revisions gauge
wsus_catalog_revisions ` + strconv.Itoa(len(revs)) + `
# HELP wsus_catalog_approved_updates Updates approved for at least one target group and not declined.
# TYPE wsus_catalog_approved_updates gauge
wsus_catalog_approved_updates 1
# HELP wsus_catalog_computers Computers the catalog knows.
# TYPE wsus_catalog_computers gauge
wsus_catalog_computers 6
# HELP wsus_catalog_computers_by_last_contact Computers by the age of their last contact (the later of their last scan and last report): <1d, 1-7d, 7-30d, >30d, never.
# TYPE wsus_catalog_computers_by_last_contact gauge
wsus_catalog_computers_by_last_contact{age="<1d"} 2
wsus_catalog_computers_by_last_contact{age="1-7d"} 1
wsus_catalog_computers_by_last_contact{age="7-30d"} 1
wsus_catalog_computers_by_last_contact{age=">30d"} 1
wsus_catalog_computers_by_last_contact{age="never"} 1
# HELP wsus_sync_runs Synchronization runs the store records (shared by every replica), by state.
# TYPE wsus_sync_runs gauge
wsus_sync_runs{state="failed"} 0
wsus_sync_runs{state="running"} 1
wsus_sync_runs{state="succeeded"} 0
# HELP wsus_sync_running 1 while a synchronization runs (on any replica), else 0.
# TYPE wsus_sync_running gauge
wsus_sync_running 1
# HELP wsus_sync_run_done_items Work items the running synchronization has done in its phase.
# TYPE wsus_sync_run_done_items gauge
wsus_sync_run_done_items{phase="content"} 3
# HELP wsus_sync_run_total_items Work items of the running synchronization's phase.
# TYPE wsus_sync_run_total_items gauge
wsus_sync_run_total_items{phase="content"} 10
# HELP wsus_sync_run_stored_bytes Payload bytes the running synchronization has stored.
# TYPE wsus_sync_run_stored_bytes gauge
wsus_sync_run_stored_bytes 2048
# HELP wsus_sync_run_planned_bytes Payload bytes the running synchronization's content phase set out to store.
# TYPE wsus_sync_run_planned_bytes gauge
wsus_sync_run_planned_bytes 9000
# HELP wsus_sync_run_stored_files Payload files the running synchronization has stored.
# TYPE wsus_sync_run_stored_files gauge
wsus_sync_run_stored_files 2
# HELP wsus_sync_run_planned_files Payload files the running synchronization's content phase set out to store.
# TYPE wsus_sync_run_planned_files gauge
wsus_sync_run_planned_files 5
# HELP wsus_catalog_stats_errors_total Reads of the catalog's statistics at scrape time that failed.
# TYPE wsus_catalog_stats_errors_total counter
wsus_catalog_stats_errors_total 0
`
	families := []string{"wsus_catalog_updates", "wsus_catalog_revisions", "wsus_catalog_approved_updates", "wsus_catalog_computers",
		"wsus_catalog_computers_by_last_contact", "wsus_sync_runs", "wsus_sync_running", "wsus_sync_run_done_items", "wsus_sync_run_total_items",
		"wsus_sync_run_stored_bytes", "wsus_sync_run_planned_bytes", "wsus_sync_run_stored_files", "wsus_sync_run_planned_files",
		"wsus_sync_last_success_timestamp_seconds", "wsus_catalog_stats_errors_total"}
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), families...); err != nil {
		t.Fatal(err)
	}
	gathered, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range gathered {
		if mf.GetName() == "wsus_sync_run_heartbeat_timestamp_seconds" {
			if got, want := mf.GetMetric()[0].GetGauge().GetValue(), float64(run.Heartbeat.UnixNano())/1e9; got != want {
				t.Errorf("heartbeat = %v, want %v", got, want)
			}
		}
	}
	if n := stats.reads.Load(); n != 1 {
		t.Errorf("two scrapes within StatsMaxAge read the store %d times, want 1", n)
	}
	clock = clock.Add(time.Minute)
	if _, err := m.Gatherer().Gather(); err != nil {
		t.Fatal(err)
	}
	if n := stats.reads.Load(); n != 2 {
		t.Errorf("a scrape StatsMaxAge after the read read the store %d times in all, want 2", n)
	}

	// The store fails: the store's families are left out, the error
	// counted.
	s.Close()
	clock = clock.Add(time.Minute)
	failed := `
# HELP wsus_catalog_stats_errors_total Reads of the catalog's statistics at scrape time that failed.
# TYPE wsus_catalog_stats_errors_total counter
wsus_catalog_stats_errors_total 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(failed), families...); err != nil {
		t.Fatal(err)
	}
}

// TestCatalogCollectorConcurrentScrapes: scrapes arriving together (several
// Prometheus servers) read the store once; the others wait for that read.
func TestCatalogCollectorConcurrentScrapes(t *testing.T) {
	s := openSQLite(t)
	stats := &countingStats{StatsStore: s}
	m := New(Options{Stats: stats, SyncRuns: s, StatsMaxAge: time.Hour})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := m.Gatherer().Gather(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := stats.reads.Load(); n != 1 {
		t.Errorf("8 concurrent scrapes read the store %d times, want 1", n)
	}
}
