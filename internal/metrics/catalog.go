package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wsus/catalog"
)

// SyncRunReader reads the store's synchronization runs (catalog.SyncStore).
type SyncRunReader interface {
	SyncRuns(ctx context.Context, limit int) ([]catalog.SyncRun, error)
}

// contactAge is one bucket of wsus_catalog_computers_by_last_contact: the
// computers whose last contact is younger than within (and not younger
// than the previous bucket's).
type contactAge struct {
	label  string
	within time.Duration
}

// contactAges are the buckets; computers older than the last are ">30d",
// those never heard from "never".
var contactAges = []contactAge{
	{"<1d", 24 * time.Hour},
	{"1-7d", 7 * 24 * time.Hour},
	{"7-30d", 30 * 24 * time.Hour},
}

const (
	contactOlder = ">30d"
	contactNever = "never"
)

// syncRunStates are the states wsus_sync_runs is always exported for.
var syncRunStates = []catalog.SyncRunState{catalog.SyncRunning, catalog.SyncSucceeded, catalog.SyncFailed}

// catalogCollector exports what the store holds, read at scrape time at
// most once per maxAge (a read serves the scrapes that follow it), and
// bounded by timeout. Scrapes that find the cache stale while another
// reads wait for that read instead of starting their own.
//
// A read is one catalog.StatsStore.Stats (a pass over the computer and
// revision tables, one over approvals, sync_run grouped) and, with a
// SyncRunReader, the newest run. When a read fails, the error is counted
// and logged, and the families read from the store are left out of that
// scrape rather than shown stale.
type catalogCollector struct {
	stats   catalog.StatsStore
	runs    SyncRunReader
	maxAge  time.Duration
	timeout time.Duration
	now     func() time.Time
	opts    Options

	descs struct {
		updates, revisions, approved, computers, byContact *prometheus.Desc
		syncRuns, lastSuccess, running                     *prometheus.Desc
		runDone, runTotal, runFiles, runFilesTotal         *prometheus.Desc
		runBytes, runBytesTotal, runStarted, runHeartbeat  *prometheus.Desc
	}
	readErrors  prometheus.Counter
	readSeconds prometheus.Gauge

	mu   sync.Mutex // held while reading, so concurrent scrapes read once
	last catalogRead
}

// catalogRead is one read of the store.
type catalogRead struct {
	at    time.Time // zero before the first good read
	stats catalog.Stats
	// run is the newest run when it is running, nil otherwise.
	run *catalog.SyncRun
}

func newCatalogCollector(opts Options) *catalogCollector {
	c := &catalogCollector{stats: opts.Stats, runs: opts.SyncRuns, maxAge: opts.StatsMaxAge, timeout: opts.StatsTimeout, now: opts.Now, opts: opts}
	d := &c.descs
	d.updates = prometheus.NewDesc("wsus_catalog_updates", "Updates in the catalog (one per update ID).", nil, nil)
	d.revisions = prometheus.NewDesc("wsus_catalog_revisions", "Revisions in the catalog.", nil, nil)
	d.approved = prometheus.NewDesc("wsus_catalog_approved_updates", "Updates approved for at least one target group and not declined.", nil, nil)
	d.computers = prometheus.NewDesc("wsus_catalog_computers", "Computers the catalog knows.", nil, nil)
	d.byContact = prometheus.NewDesc("wsus_catalog_computers_by_last_contact",
		"Computers by the age of their last contact (the later of their last scan and last report): <1d, 1-7d, 7-30d, >30d, never.", []string{"age"}, nil)
	d.syncRuns = prometheus.NewDesc("wsus_sync_runs", "Synchronization runs the store records (shared by every replica), by state.", []string{"state"}, nil)
	d.lastSuccess = prometheus.NewDesc("wsus_sync_last_success_timestamp_seconds", "When the newest successful synchronization finished (Unix time); absent before one.", nil, nil)
	d.running = prometheus.NewDesc("wsus_sync_running", "1 while a synchronization runs (on any replica), else 0.", nil, nil)
	runLabels := []string{"phase"}
	d.runDone = prometheus.NewDesc("wsus_sync_run_done_items", "Work items the running synchronization has done in its phase.", runLabels, nil)
	d.runTotal = prometheus.NewDesc("wsus_sync_run_total_items", "Work items of the running synchronization's phase.", runLabels, nil)
	d.runFiles = prometheus.NewDesc("wsus_sync_run_stored_files", "Payload files the running synchronization has stored.", nil, nil)
	d.runFilesTotal = prometheus.NewDesc("wsus_sync_run_planned_files", "Payload files the running synchronization's content phase set out to store.", nil, nil)
	d.runBytes = prometheus.NewDesc("wsus_sync_run_stored_bytes", "Payload bytes the running synchronization has stored.", nil, nil)
	d.runBytesTotal = prometheus.NewDesc("wsus_sync_run_planned_bytes", "Payload bytes the running synchronization's content phase set out to store.", nil, nil)
	d.runStarted = prometheus.NewDesc("wsus_sync_run_started_timestamp_seconds", "When the running synchronization started (Unix time).", nil, nil)
	d.runHeartbeat = prometheus.NewDesc("wsus_sync_run_heartbeat_timestamp_seconds", "When the running synchronization last recorded progress (Unix time); a run whose heartbeat is older than the lease was abandoned.", nil, nil)
	c.readErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wsus_catalog_stats_errors_total",
		Help: "Reads of the catalog's statistics at scrape time that failed.",
	})
	c.readSeconds = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "wsus_catalog_stats_read_duration_seconds",
		Help: "How long the last read of the catalog's statistics took (its cost to the store).",
	})
	return c
}

// Describe implements prometheus.Collector.
func (c *catalogCollector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.descs
	for _, desc := range []*prometheus.Desc{d.updates, d.revisions, d.approved, d.computers, d.byContact,
		d.syncRuns, d.lastSuccess, d.running, d.runDone, d.runTotal, d.runFiles, d.runFilesTotal,
		d.runBytes, d.runBytesTotal, d.runStarted, d.runHeartbeat} {
		ch <- desc
	}
	c.readErrors.Describe(ch)
	c.readSeconds.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	read, ok := c.read()
	c.readErrors.Collect(ch)
	c.readSeconds.Collect(ch)
	if !ok {
		return
	}
	d := &c.descs
	st := read.stats
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	gauge(d.updates, float64(st.Updates))
	gauge(d.revisions, float64(st.Revisions))
	gauge(d.approved, float64(st.ApprovedUpdates))
	gauge(d.computers, float64(st.Computers))
	// ContactedSince is cumulative, youngest cutoff first.
	prev := 0
	for i, a := range contactAges {
		gauge(d.byContact, float64(st.ContactedSince[i]-prev), a.label)
		prev = st.ContactedSince[i]
	}
	gauge(d.byContact, float64(st.Computers-st.NeverContacted-prev), contactOlder)
	gauge(d.byContact, float64(st.NeverContacted), contactNever)
	for _, s := range syncRunStates {
		gauge(d.syncRuns, float64(st.SyncRuns[s]), string(s))
	}
	if !st.LastSyncSuccess.IsZero() {
		gauge(d.lastSuccess, unixSeconds(st.LastSyncSuccess))
	}
	if c.runs == nil {
		return
	}
	r := read.run
	if r == nil {
		gauge(d.running, 0)
		return
	}
	gauge(d.running, 1)
	gauge(d.runDone, float64(r.Done), r.Phase)
	gauge(d.runTotal, float64(r.Total), r.Phase)
	gauge(d.runFiles, float64(r.Files))
	gauge(d.runFilesTotal, float64(r.FilesTotal))
	gauge(d.runBytes, float64(r.Bytes))
	gauge(d.runBytesTotal, float64(r.BytesTotal))
	gauge(d.runStarted, unixSeconds(r.Started))
	gauge(d.runHeartbeat, unixSeconds(r.Heartbeat))
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// read returns the last read when younger than maxAge, else reads the
// store again; ok is false when that read failed.
func (c *catalogCollector) read() (catalogRead, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.last.at.IsZero() && now.Sub(c.last.at) < c.maxAge {
		return c.last, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	start := time.Now()
	r, err := c.readStore(ctx, now)
	c.readSeconds.Set(time.Since(start).Seconds())
	if err != nil {
		c.readErrors.Inc()
		c.opts.Logger.Warn("metrics: catalog statistics not read; catalog series left out of this scrape", "err", err)
		return catalogRead{}, false
	}
	c.last = r
	return r, true
}

// readStore reads the statistics and the newest run.
func (c *catalogCollector) readStore(ctx context.Context, now time.Time) (catalogRead, error) {
	since := make([]time.Time, len(contactAges))
	for i, a := range contactAges {
		since[i] = now.Add(-a.within)
	}
	st, err := c.stats.Stats(ctx, since)
	if err != nil {
		return catalogRead{}, fmt.Errorf("metrics: catalog stats: %w", err)
	}
	r := catalogRead{at: now, stats: st}
	if c.runs != nil {
		runs, err := c.runs.SyncRuns(ctx, 1)
		if err != nil {
			return catalogRead{}, fmt.Errorf("metrics: sync runs: %w", err)
		}
		if len(runs) > 0 && runs[0].State == catalog.SyncRunning {
			run := runs[0]
			r.run = &run
		}
	}
	return r, nil
}
