package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"wsus/soap/wusp"
)

// scanMetrics are the families ObserveScan updates, by pass (software,
// drivers).
type scanMetrics struct {
	returned   *prometheus.HistogramVec
	cached     *prometheus.HistogramVec
	outOfScope *prometheus.HistogramVec
	coreBytes  *prometheus.HistogramVec
	truncated  *prometheus.CounterVec
}

// countBuckets suit counts of revisions: a page holds at most
// scan.DefaultPageSize updates unless configured otherwise, and a client
// caches up to thousands of revisions.
var countBuckets = []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

func newScanMetrics() *scanMetrics {
	return &scanMetrics{
		returned: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsus_scan_updates_returned",
			Help:    "Updates (NewUpdates and ChangedUpdates) one SyncUpdates answer carries, by pass (software, drivers).",
			Buckets: countBuckets,
		}, []string{"pass"}),
		cached: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsus_scan_cached_revisions",
			Help:    "Revisions the client said it caches in one SyncUpdates request (installed non-leaf and other cached; cached drivers on the driver pass), by pass.",
			Buckets: countBuckets,
		}, []string{"pass"}),
		outOfScope: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsus_scan_out_of_scope_revisions",
			Help:    "OutOfScopeRevisionIDs one SyncUpdates answer carries, by pass.",
			Buckets: countBuckets,
		}, []string{"pass"}),
		coreBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsus_scan_core_fragment_bytes",
			Help:    "Size of the Core fragments one SyncUpdates answer carries, before escaping, by pass.",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 10), // 1 KiB to 256 MiB
		}, []string{"pass"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsus_scan_truncated_total",
			Help: "SyncUpdates answers that ended before the client's scope did (Truncated: the client asks again), by pass.",
		}, []string{"pass"}),
	}
}

func (m *scanMetrics) register(reg prometheus.Registerer) {
	// Both passes are exported from the start, so that rates are defined
	// before the first truncated answer.
	for _, pass := range []string{"software", "drivers"} {
		m.truncated.WithLabelValues(pass)
	}
	reg.MustRegister(m.returned, m.cached, m.outOfScope, m.coreBytes, m.truncated)
}

var _ wusp.ScanObserver = (*Metrics)(nil)

// ObserveScan counts the sizes of one SyncUpdates round (wusp.Config.Scans).
func (m *Metrics) ObserveScan(s wusp.ScanSizes) {
	pass := "software"
	if s.Drivers {
		pass = "drivers"
	}
	m.scans.returned.WithLabelValues(pass).Observe(float64(s.NewUpdates + s.ChangedUpdates))
	m.scans.cached.WithLabelValues(pass).Observe(float64(s.Cached))
	m.scans.outOfScope.WithLabelValues(pass).Observe(float64(s.OutOfScope))
	m.scans.coreBytes.WithLabelValues(pass).Observe(float64(s.CoreBytes))
	if s.Truncated {
		m.scans.truncated.WithLabelValues(pass).Inc()
	}
}
