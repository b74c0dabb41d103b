package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsus/internal/reqinfo"
	"wsus/soap/wusp"
)

func testOptions() Options {
	return Options{
		Operations: map[string][]string{"ClientWebService": {"GetConfig", "GetCookie"}},
		FaultCodes: []string{"InvalidCookie", "ServerBusy"},
	}
}

// newTestMetrics is New(testOptions()) with more operations declared as
// the server declares them.
func newTestMetrics() *Metrics {
	m := New(testOptions())
	m.AddOperations("ClientWebService", []string{"SyncUpdates"})
	m.AddOperations("SimpleAuth", []string{"GetAuthorizationCookie"})
	return m
}

// TestObserveRequest feeds synthetic Records and checks every series they
// move, labels and values, in the exposition format.
func TestObserveRequest(t *testing.T) {
	m := newTestMetrics()
	ms := time.Millisecond
	for _, rec := range []reqinfo.Record{
		{Kind: reqinfo.KindSOAP, Method: "POST", Service: "ClientWebService", Operation: "SyncUpdates", Status: 200, Bytes: 1000, Duration: 3 * ms},
		{Kind: reqinfo.KindSOAP, Method: "POST", Service: "ClientWebService", Operation: "SyncUpdates", Status: 200, Bytes: 500, Duration: 30 * ms},
		{Kind: reqinfo.KindSOAP, Method: "POST", Service: "ClientWebService", Operation: "GetCookie", Status: 500, FaultCode: "InvalidCookie", Bytes: 300, Duration: ms},
		{Kind: reqinfo.KindSOAP, Method: "POST", Service: "ClientWebService", Operation: "GetConfig", Status: 500, FaultCode: "ServerBusy", Shed: true, Bytes: 300, Duration: 2 * time.Second},
		// An operation no service registered, a code no one knows, a
		// service no one serves: bounded to "other".
		{Kind: reqinfo.KindSOAP, Method: "POST", Service: "ClientWebService", Operation: "Bogus'; DROP", Status: 500, FaultCode: "Made-Up", Bytes: 200, Duration: ms},
		{Kind: reqinfo.KindSOAP, Method: "GET", Service: "", Operation: "", Status: 405, Bytes: 40, Duration: ms},
		{Kind: reqinfo.KindContent, Method: "GET", Status: 200, Bytes: 4096, Duration: 20 * ms},
		{Kind: reqinfo.KindContent, Method: "GET", Status: 206, Range: true, Bytes: 1024, Duration: 5 * ms},
		{Kind: reqinfo.KindContent, Method: "GET", Status: 304, Duration: ms},
		{Kind: reqinfo.KindContent, Method: "GET", Status: 302, Duration: ms},
		{Kind: reqinfo.KindContent, Method: "GET", Status: 404, Bytes: 19, Duration: ms},
		{Kind: reqinfo.KindContent, Method: "GET", Status: 0, Bytes: 100, Duration: ms}, // aborted mid-body
		{Kind: reqinfo.KindAdmin, Method: "GET", Path: "/api/v1/updates/1234", Status: 200, Bytes: 50, Duration: 4 * ms},
		{Kind: reqinfo.KindAdmin, Method: "PUT", Path: "/api/v1/rules/9", Status: 412, Bytes: 10, Duration: 4 * ms},
		{Kind: reqinfo.KindAdmin, Method: "BREW", Path: "/api/v1/pot", Status: 405, Duration: ms},
		{Kind: reqinfo.KindHealth, Method: "GET", Path: "/readyz", Status: 200, Bytes: 3, Duration: ms},
		{Kind: "weird", Method: "GET", Path: "/x", Status: 404, Bytes: 19, Duration: ms},
	} {
		m.ObserveRequest(rec)
	}
	want := `
# HELP wsus_soap_requests_total SOAP requests answered, by service, operation and outcome (ok, fault, shed, error).
# TYPE wsus_soap_requests_total counter
wsus_soap_requests_total{operation="GetConfig",outcome="shed",service="ClientWebService"} 1
wsus_soap_requests_total{operation="GetCookie",outcome="fault",service="ClientWebService"} 1
wsus_soap_requests_total{operation="SyncUpdates",outcome="ok",service="ClientWebService"} 2
wsus_soap_requests_total{operation="other",outcome="error",service="other"} 1
wsus_soap_requests_total{operation="other",outcome="fault",service="ClientWebService"} 1
# HELP wsus_soap_faults_total SOAP faults answered, by service, operation and WSUS error code.
# TYPE wsus_soap_faults_total counter
wsus_soap_faults_total{code="InvalidCookie",operation="GetCookie",service="ClientWebService"} 1
wsus_soap_faults_total{code="ServerBusy",operation="GetConfig",service="ClientWebService"} 1
wsus_soap_faults_total{code="other",operation="other",service="ClientWebService"} 1
# HELP wsus_soap_shed_requests_total SOAP requests refused for overload (ServerBusy from admission control), by service.
# TYPE wsus_soap_shed_requests_total counter
wsus_soap_shed_requests_total{service="ClientWebService"} 1
# HELP wsus_content_requests_total Requests for payload files (/Content/), by outcome (ok, partial, not_modified, redirect, not_found, error).
# TYPE wsus_content_requests_total counter
wsus_content_requests_total{outcome="error"} 1
wsus_content_requests_total{outcome="not_found"} 1
wsus_content_requests_total{outcome="not_modified"} 1
wsus_content_requests_total{outcome="ok"} 1
wsus_content_requests_total{outcome="partial"} 1
wsus_content_requests_total{outcome="redirect"} 1
# HELP wsus_admin_requests_total Admin API requests (/api/v1/), by method and status class.
# TYPE wsus_admin_requests_total counter
wsus_admin_requests_total{code="2xx",method="GET"} 1
wsus_admin_requests_total{code="4xx",method="PUT"} 1
wsus_admin_requests_total{code="4xx",method="other"} 1
# HELP wsus_http_requests_total Requests answered, by kind of path (soap, content, admin, health, metrics, other) and status class (2xx...; aborted: no status was sent).
# TYPE wsus_http_requests_total counter
wsus_http_requests_total{code="2xx",kind="admin"} 1
wsus_http_requests_total{code="2xx",kind="content"} 2
wsus_http_requests_total{code="2xx",kind="health"} 1
wsus_http_requests_total{code="2xx",kind="soap"} 2
wsus_http_requests_total{code="3xx",kind="content"} 2
wsus_http_requests_total{code="4xx",kind="admin"} 2
wsus_http_requests_total{code="4xx",kind="content"} 1
wsus_http_requests_total{code="4xx",kind="other"} 1
wsus_http_requests_total{code="4xx",kind="soap"} 1
wsus_http_requests_total{code="5xx",kind="soap"} 3
wsus_http_requests_total{code="aborted",kind="content"} 1
# HELP wsus_http_response_bytes_total Body bytes written to clients, by kind of path.
# TYPE wsus_http_response_bytes_total counter
wsus_http_response_bytes_total{kind="admin"} 60
wsus_http_response_bytes_total{kind="content"} 5239
wsus_http_response_bytes_total{kind="health"} 3
wsus_http_response_bytes_total{kind="other"} 19
wsus_http_response_bytes_total{kind="soap"} 2340
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want),
		"wsus_soap_requests_total", "wsus_soap_faults_total", "wsus_soap_shed_requests_total",
		"wsus_content_requests_total", "wsus_admin_requests_total", "wsus_http_requests_total", "wsus_http_response_bytes_total"); err != nil {
		t.Fatal(err)
	}

}

// TestObserveRequestLatency checks the SOAP, content and admin latency
// histograms: each observation in its bucket, by label.
func TestObserveRequestLatency(t *testing.T) {
	m := newTestMetrics()
	ms := time.Millisecond
	m.ObserveRequest(reqinfo.Record{Kind: reqinfo.KindSOAP, Service: "ClientWebService", Operation: "SyncUpdates", Status: 200, Duration: 3 * ms})
	m.ObserveRequest(reqinfo.Record{Kind: reqinfo.KindSOAP, Service: "ClientWebService", Operation: "SyncUpdates", Status: 200, Duration: 30 * ms})
	m.ObserveRequest(reqinfo.Record{Kind: reqinfo.KindSOAP, Service: "SimpleAuth", Operation: "GetAuthorizationCookie", Status: 200, Duration: 2 * time.Second})
	m.ObserveRequest(reqinfo.Record{Kind: reqinfo.KindContent, Status: 206, Duration: 90 * time.Second})
	m.ObserveRequest(reqinfo.Record{Kind: reqinfo.KindAdmin, Method: "DELETE", Status: 204, Duration: 7 * ms})
	want := `
# HELP wsus_soap_request_duration_seconds Time from a SOAP request's arrival to its handler's return, by service and operation.
# TYPE wsus_soap_request_duration_seconds histogram
` + histogramText("wsus_soap_request_duration_seconds", `operation="SyncUpdates",service="ClientWebService"`, soapBuckets, []float64{0.003, 0.03}) +
		histogramText("wsus_soap_request_duration_seconds", `operation="GetAuthorizationCookie",service="SimpleAuth"`, soapBuckets, []float64{2}) + `
# HELP wsus_content_request_duration_seconds Time to answer a request for a payload file, body included, by outcome.
# TYPE wsus_content_request_duration_seconds histogram
` + histogramText("wsus_content_request_duration_seconds", `outcome="partial"`, contentBuckets, []float64{90}) + `
# HELP wsus_admin_request_duration_seconds Time to answer an admin API request, by method.
# TYPE wsus_admin_request_duration_seconds histogram
` + histogramText("wsus_admin_request_duration_seconds", `method="DELETE"`, adminBuckets, []float64{0.007})
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want),
		"wsus_soap_request_duration_seconds", "wsus_content_request_duration_seconds", "wsus_admin_request_duration_seconds"); err != nil {
		t.Fatal(err)
	}
}

// histogramText is the exposition of one histogram series with labels
// (without braces) that observed values, over buckets.
func histogramText(name, labels string, buckets, values []float64) string {
	var b strings.Builder
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	for _, le := range buckets {
		n := 0
		for _, v := range values {
			if v <= le {
				n++
			}
		}
		fmt.Fprintf(&b, "%s_bucket{%s,le=%q} %d\n", name, labels, strconv.FormatFloat(le, 'g', -1, 64), n)
	}
	fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} %d\n", name, labels, len(values))
	fmt.Fprintf(&b, "%s_sum{%s} %s\n", name, labels, strconv.FormatFloat(sum, 'g', -1, 64))
	fmt.Fprintf(&b, "%s_count{%s} %d\n", name, labels, len(values))
	return b.String()
}

// TestObserveScan checks the scan-size histograms and the truncation
// counter, by pass.
func TestObserveScan(t *testing.T) {
	m := New(Options{})
	m.ObserveScan(wusp.ScanSizes{Cached: 150, NewUpdates: 3, ChangedUpdates: 1, OutOfScope: 2, CoreBytes: 5000})
	m.ObserveScan(wusp.ScanSizes{Cached: 0, NewUpdates: 200, Truncated: true, CoreBytes: 3 << 20})
	m.ObserveScan(wusp.ScanSizes{Drivers: true, Cached: 4})
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"software truncated", testutil.ToFloat64(m.scans.truncated.WithLabelValues("software")), 1},
		{"drivers truncated", testutil.ToFloat64(m.scans.truncated.WithLabelValues("drivers")), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	want := `
# HELP wsus_scan_updates_returned Updates (NewUpdates and ChangedUpdates) one SyncUpdates answer carries, by pass (software, drivers).
# TYPE wsus_scan_updates_returned histogram
` + histogramText("wsus_scan_updates_returned", `pass="drivers"`, countBuckets, []float64{0}) +
		histogramText("wsus_scan_updates_returned", `pass="software"`, countBuckets, []float64{4, 200}) + `
# HELP wsus_scan_cached_revisions Revisions the client said it caches in one SyncUpdates request (installed non-leaf and other cached; cached drivers on the driver pass), by pass.
# TYPE wsus_scan_cached_revisions histogram
` + histogramText("wsus_scan_cached_revisions", `pass="drivers"`, countBuckets, []float64{4}) +
		histogramText("wsus_scan_cached_revisions", `pass="software"`, countBuckets, []float64{150, 0})
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "wsus_scan_updates_returned", "wsus_scan_cached_revisions"); err != nil {
		t.Fatal(err)
	}
}
