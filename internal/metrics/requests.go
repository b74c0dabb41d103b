package metrics

import (
	"maps"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"wsus/internal/reqinfo"
)

// other is the label value of anything outside a label's known values.
const other = "other"

// Outcomes of a SOAP request (label outcome of wsus_soap_requests_total).
const (
	outcomeOK    = "ok"    // answered without fault
	outcomeFault = "fault" // a SOAP fault other than shedding
	outcomeShed  = "shed"  // refused for overload (ServerBusy from admission control)
	outcomeError = "error" // no SOAP answer: 405 to a GET, or the handler aborted
)

// Outcomes of a content request (label outcome of wsus_content_*), by
// status.
const (
	contentOK          = "ok"           // 200
	contentPartial     = "partial"      // 206
	contentNotModified = "not_modified" // 304
	contentRedirect    = "redirect"     // 301, 302, 303, 307, 308
	contentNotFound    = "not_found"    // 404
	contentError       = "error"        // anything else, and aborted bodies
)

// Latency buckets, in seconds. SOAP: a steady-state scan takes a few ms, a
// first scan's pages up to seconds. Content: a whole payload may take
// minutes. Admin: a page of the API.
var (
	soapBuckets    = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	contentBuckets = []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900}
	adminBuckets   = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// requestMetrics are the families ObserveRequest updates.
type requestMetrics struct {
	// ops holds the known operations by service, replaced whole (copy on
	// write) by AddOperations; faultCodes the known codes, read-only after
	// New.
	ops        atomic.Pointer[map[string]map[string]bool]
	faultCodes map[string]bool

	http        *prometheus.CounterVec // kind, code
	bytes       *prometheus.CounterVec // kind
	soap        *prometheus.CounterVec // service, operation, outcome
	soapSeconds *prometheus.HistogramVec
	faults      *prometheus.CounterVec // service, operation, code
	shed        *prometheus.CounterVec // service
	content     *prometheus.CounterVec // outcome
	contentSecs *prometheus.HistogramVec
	admin       *prometheus.CounterVec // method, code
	adminSecs   *prometheus.HistogramVec
}

func newRequestMetrics(opts Options) *requestMetrics {
	m := &requestMetrics{faultCodes: map[string]bool{}}
	m.ops.Store(&map[string]map[string]bool{})
	for svc, ops := range opts.Operations {
		m.addOperations(svc, ops)
	}
	for _, c := range opts.FaultCodes {
		m.faultCodes[c] = true
	}
	m.http = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsus_http_requests_total",
		Help: "Requests answered, by kind of path (soap, content, admin, health, metrics, other) and status class (2xx...; aborted: no status was sent).",
	}, []string{"kind", "code"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsus_http_response_bytes_total",
		Help: "Body bytes written to clients, by kind of path.",
	}, []string{"kind"})
	m.soap = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsus_soap_requests_total",
		Help: "SOAP requests answered, by service, operation and outcome (ok, fault, shed, error).",
	}, []string{"service", "operation", "outcome"})
	m.soapSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wsus_soap_request_duration_seconds",
		Help:    "Time from a SOAP request's arrival to its handler's return, by service and operation.",
		Buckets: soapBuckets,
	}, []string{"service", "operation"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsus_soap_faults_total",
		Help: "SOAP faults answered, by service, operation and WSUS error code.",
	}, []string{"service", "operation", "code"})
	m.shed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsus_soap_shed_requests_total",
		Help: "SOAP requests refused for overload (ServerBusy from admission control), by service.",
	}, []string{"service"})
	m.content = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsus_content_requests_total",
		Help: "Requests for payload files (/Content/), by outcome (ok, partial, not_modified, redirect, not_found, error).",
	}, []string{"outcome"})
	m.contentSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wsus_content_request_duration_seconds",
		Help:    "Time to answer a request for a payload file, body included, by outcome.",
		Buckets: contentBuckets,
	}, []string{"outcome"})
	m.admin = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsus_admin_requests_total",
		Help: "Admin API requests (/api/v1/), by method and status class.",
	}, []string{"method", "code"})
	m.adminSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wsus_admin_request_duration_seconds",
		Help:    "Time to answer an admin API request, by method.",
		Buckets: adminBuckets,
	}, []string{"method"})
	return m
}

func (m *requestMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(m.http, m.bytes, m.soap, m.soapSeconds, m.faults, m.shed, m.content, m.contentSecs, m.admin, m.adminSecs)
}

// ObserveRequest counts one answered request (the server's router calls it
// for every request, after its handler returned).
func (m *Metrics) ObserveRequest(rec reqinfo.Record) { m.requests.observe(rec) }

func (m *requestMetrics) observe(rec reqinfo.Record) {
	kind := kindLabel(rec.Kind)
	m.http.WithLabelValues(kind, statusClass(rec.Status)).Inc()
	m.bytes.WithLabelValues(kind).Add(float64(rec.Bytes))
	secs := rec.Duration.Seconds()
	switch rec.Kind {
	case reqinfo.KindSOAP:
		svc, op := m.operation(rec.Service, rec.Operation)
		m.soap.WithLabelValues(svc, op, soapOutcome(rec)).Inc()
		m.soapSeconds.WithLabelValues(svc, op).Observe(secs)
		if rec.FaultCode != "" {
			code := rec.FaultCode
			if !m.faultCodes[code] {
				code = other
			}
			m.faults.WithLabelValues(svc, op, code).Inc()
		}
		if rec.Shed {
			m.shed.WithLabelValues(svc).Inc()
		}
	case reqinfo.KindContent:
		out := contentOutcome(rec.Status)
		m.content.WithLabelValues(out).Inc()
		m.contentSecs.WithLabelValues(out).Observe(secs)
	case reqinfo.KindAdmin:
		method := methodLabel(rec.Method)
		m.admin.WithLabelValues(method, statusClass(rec.Status)).Inc()
		m.adminSecs.WithLabelValues(method).Observe(secs)
	}
}

// AddOperations declares the operations a SOAP service serves (as
// soap.Service.Operations lists them): the label values its requests are
// counted under from then on, besides those of Options.Operations. Safe to
// call while requests are observed; the server calls it once per service
// while it is built.
func (m *Metrics) AddOperations(service string, ops []string) { m.requests.addOperations(service, ops) }

// addOperations replaces the known operations with a copy that has ops
// for service too.
func (m *requestMetrics) addOperations(service string, ops []string) {
	for {
		old := m.ops.Load()
		next := make(map[string]map[string]bool, len(*old)+1)
		for svc, known := range *old {
			next[svc] = known
		}
		known := maps.Clone(next[service])
		if known == nil {
			known = map[string]bool{}
		}
		for _, op := range ops {
			known[op] = true
		}
		next[service] = known
		if m.ops.CompareAndSwap(old, &next) {
			return
		}
	}
}

// operation returns the service and operation labels of a SOAP request:
// "other" for either when it is not a known one.
func (m *requestMetrics) operation(service, op string) (string, string) {
	ops, ok := (*m.ops.Load())[service]
	if !ok {
		return other, other
	}
	if !ops[op] {
		return service, other
	}
	return service, op
}

func soapOutcome(rec reqinfo.Record) string {
	switch {
	case rec.Shed:
		return outcomeShed
	case rec.FaultCode != "":
		return outcomeFault
	case rec.Status >= 200 && rec.Status < 300:
		return outcomeOK
	}
	return outcomeError
}

func contentOutcome(status int) string {
	switch status {
	case http.StatusOK:
		return contentOK
	case http.StatusPartialContent:
		return contentPartial
	case http.StatusNotModified:
		return contentNotModified
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return contentRedirect
	case http.StatusNotFound:
		return contentNotFound
	}
	return contentError
}

// statusClass is "2xx" for 200-299 and so on; "aborted" when no status was
// sent (0: the handler aborted before writing one).
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "aborted"
	}
	return strconv.Itoa(status/100) + "xx"
}

func kindLabel(k reqinfo.Kind) string {
	switch k {
	case reqinfo.KindSOAP, reqinfo.KindContent, reqinfo.KindAdmin, reqinfo.KindConsole, reqinfo.KindHealth, reqinfo.KindMetrics:
		return string(k)
	}
	return string(reqinfo.KindOther)
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return other
}
