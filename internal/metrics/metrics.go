// Package metrics is the server's Prometheus instrumentation: one registry
// per server (never the process-wide default), the collectors that fill it,
// and the handler that serves it at /metrics.
//
// What callers may rely on:
//
//   - Every family is named wsus_* (the Go runtime's go_* and the process's
//     process_* excepted) and follows Prometheus naming: units in the name
//     (_seconds, _bytes), counters ending in _total.
//   - Label values are bounded: a SOAP service or operation not named in
//     Options.Operations is counted as "other", a fault code not in
//     Options.FaultCodes as "other", an HTTP method outside the standard
//     ones as "other"; admin requests are counted by method and status
//     class, never by path.
//   - ObserveRequest (the server's per-request hook) and ObserveScan (the
//     SOAP services' per-scan hook) only update in-memory collectors: they
//     never block on I/O.
//   - What is read from the stores (catalog size, computers by last
//     contact, sync runs) is read when /metrics is scraped, at most once
//     per Options.StatsMaxAge and bounded by Options.StatsTimeout; scrapes
//     in between are served from that read, so any number of scrapers (a
//     Prometheus per replica, every 15 s) cost the store one read per
//     StatsMaxAge per replica.
//   - Store and blob-store latency is measured by decorators (Catalog,
//     Blobs) that change nothing else about the stores they wrap.
//
// The families, their labels and the dashboard that shows them
// (deploy/grafana/wsus-dashboard.json) are listed in the README, section
// Metrics.
package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wsus/catalog"
	"wsus/internal/version"
)

// Defaults of Options.
const (
	// DefaultStatsMaxAge is how long one read of the store's statistics
	// serves scrapes: at a scrape every 15 s, one scrape in two reads.
	DefaultStatsMaxAge = 30 * time.Second
	// DefaultStatsTimeout bounds one read of the store's statistics.
	DefaultStatsTimeout = 5 * time.Second
)

// Admission is what the in-flight gauges read of the SOAP services'
// admission control (soap.Admission).
type Admission interface {
	Inflight() int
	Capacity() int
	Reserved() int64
	Budget() int64
}

// Options configures a Metrics. The zero value is usable: requests are
// then counted with every SOAP service and operation as "other", and no
// store is read.
type Options struct {
	// Operations lists, by SOAP service name ("ClientWebService"), the
	// operations it serves ("SyncUpdates"): the only label values SOAP
	// requests are counted under.
	Operations map[string][]string
	// FaultCodes lists the WSUS error codes ("InvalidCookie") faults are
	// counted under.
	FaultCodes []string
	// Admission, when set, is read at scrape time for the in-flight
	// gauges.
	Admission Admission
	// Stats, when set, is read at scrape time for the catalog's size, its
	// computers by last contact and its sync runs.
	Stats catalog.StatsStore
	// SyncRuns, when set, is read with Stats for the progress of the
	// synchronization running now (the store's run records, shared by
	// every replica).
	SyncRuns SyncRunReader
	// StatsMaxAge is how long one read of Stats serves scrapes; zero means
	// DefaultStatsMaxAge.
	StatsMaxAge time.Duration
	// StatsTimeout bounds one read of Stats; zero means
	// DefaultStatsTimeout.
	StatsTimeout time.Duration
	// Logger receives a warning when reading Stats fails; nil logs
	// nothing.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Metrics is one server's registry and collectors. It is safe for
// concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *requestMetrics
	scans    *scanMetrics
	store    *opMetrics
	blobs    *opMetrics
}

// New returns the metrics of one server, with the Go runtime and process
// collectors and wsus_build_info registered.
func New(opts Options) *Metrics {
	if opts.StatsMaxAge <= 0 {
		opts.StatsMaxAge = DefaultStatsMaxAge
	}
	if opts.StatsTimeout <= 0 {
		opts.StatsTimeout = DefaultStatsTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg:      reg,
		requests: newRequestMetrics(opts),
		scans:    newScanMetrics(),
		store: newOpMetrics("store", "catalog store",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}),
		blobs: newOpMetrics("blob", "blob store (payload files)",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}),
	}
	bi := version.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "wsus_build_info",
		Help:        "The running build: always 1, its version, commit and Go version as labels.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": bi.Commit, "go_version": bi.GoVersion},
	})
	build.Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	)
	m.requests.register(reg)
	m.scans.register(reg)
	m.store.register(reg)
	m.blobs.register(reg)
	if opts.Admission != nil {
		registerAdmission(reg, opts.Admission)
	}
	if opts.Stats != nil {
		reg.MustRegister(newCatalogCollector(opts))
	}
	return m
}

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format. Errors while collecting are answered in the exposition as far as
// possible (promhttp.ContinueOnError): one failing collector does not hide
// the others.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: m.reg})
}

// Gatherer returns the registry, for tests and for serving it elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// registerAdmission registers the gauges read from the admission control.
func registerAdmission(reg *prometheus.Registry, a Admission) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wsus_soap_inflight_requests",
			Help: "SOAP requests being parsed or answered now (admission slots taken).",
		}, func() float64 { return float64(a.Inflight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wsus_soap_inflight_capacity",
			Help: "Admission slots: the SOAP requests that may be parsed or answered at once (--max-inflight).",
		}, func() float64 { return float64(a.Capacity()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wsus_soap_buffered_bytes",
			Help: "Memory reserved now for SOAP request bodies and their parsed trees (estimate).",
		}, func() float64 { return float64(a.Reserved()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wsus_soap_buffered_capacity_bytes",
			Help: "Memory SOAP requests may reserve at once (--max-buffered-bytes).",
		}, func() float64 { return float64(a.Budget()) }),
	)
}
