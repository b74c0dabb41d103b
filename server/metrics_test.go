package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"wsus/clientsim"
	"wsus/server"
	"wsus/soap"
	"wsus/sync/wsusss"
)

// scrape GETs url (a /metrics) and parses the text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return mfs
}

// value returns the value of the series of family with exactly the labels
// given ("name=value" pairs; other labels of the series must match none of
// them missing), 0 when there is none: a counter never incremented is not
// exported. Histograms give their count.
func value(mfs map[string]*dto.MetricFamily, family string, labels ...string) float64 {
	mf, ok := mfs[family]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}

// postBadCookie sends a SyncUpdates whose cookie no server sealed.
func postBadCookie(t *testing.T, base string) {
	t.Helper()
	body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SyncUpdates xmlns="` + soap.NSClient + `">` +
		`<cookie><Expiration>2099-01-01T00:00:00Z</Expiration><EncryptedData>bm90IGEgY29va2ll</EncryptedData></cookie>` +
		`<parameters><ExpressQuery>false</ExpressQuery><SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates></parameters>` +
		`</SyncUpdates></s:Body></s:Envelope>`
	req, err := http.NewRequest(http.MethodPost, base+"/ClientWebService/client.asmx", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+soap.NSClient+`/SyncUpdates"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(got), "<ErrorCode>InvalidCookie</ErrorCode>") {
		t.Fatalf("bad cookie answered %d %s, want an InvalidCookie fault", resp.StatusCode, got)
	}
}

// TestMetricsMoveWithTraffic runs a real server, scrapes /metrics over
// HTTP before and after a clientsim scan (every SOAP operation of a scan,
// a payload download, reports) and a request with a bad cookie, and checks
// that the series move by what was served: SyncUpdates answered, the
// InvalidCookie fault, content bytes, scan sizes, store and blob calls, and
// the catalog's computers and their last contact.
func TestMetricsMoveWithTraffic(t *testing.T) {
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "test-token-0123456789", MetricsStatsMaxAge: time.Nanosecond}
	r := startServers(t, cfg, "All Computers", slog.New(slog.DiscardHandler))
	url := r.base + "/metrics"
	before := scrape(t, url)

	sum, err := clientsim.Scan(context.Background(), clientsim.Config{ServerURL: r.base})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	postBadCookie(t, r.base)
	// The upstream role's services are declared too (through the wrapper
	// of their answer budget).
	up := wsusss.GetAuthConfigRequest()
	req, err := http.NewRequest(http.MethodPost, r.base+"/ServerSyncWebService/ServerSyncWebService.asmx", bytes.NewReader(up.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+up.Action+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GetAuthConfig: %d", resp.StatusCode)
	}
	syncs := float64(sum.SoftwareRounds + sum.DriverRounds)
	okSync := []string{"service=ClientWebService", "operation=SyncUpdates", "outcome=ok"}
	// A request is counted once its handler returned, which may be just
	// after the client read the answer: scrape until the last request
	// (GetAuthConfig) is counted.
	var after map[string]*dto.MetricFamily
	for i := 0; ; i++ {
		after = scrape(t, url)
		if value(after, "wsus_soap_requests_total", "operation=GetAuthConfig") > value(before, "wsus_soap_requests_total", "operation=GetAuthConfig") {
			break
		}
		if i == 200 {
			t.Fatal("GetAuthConfig was never counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	delta := func(family string, labels ...string) float64 {
		return value(after, family, labels...) - value(before, family, labels...)
	}
	for _, tc := range []struct {
		what string
		got  float64
		want float64
	}{
		{"SyncUpdates answered", delta("wsus_soap_requests_total", okSync...), syncs},
		{"SyncUpdates latency observations", delta("wsus_soap_request_duration_seconds", "service=ClientWebService", "operation=SyncUpdates"), syncs + 1},
		{"GetCookie answered", delta("wsus_soap_requests_total", "operation=GetCookie", "outcome=ok"), 1},
		{"InvalidCookie faults of SyncUpdates", delta("wsus_soap_faults_total", "service=ClientWebService", "operation=SyncUpdates", "code=InvalidCookie"), 1},
		{"requests counted as other operations", delta("wsus_soap_requests_total", "operation=other"), 0},
		{"GetAuthConfig of the upstream role", delta("wsus_soap_requests_total", "service=ServerSyncWebService", "operation=GetAuthConfig", "outcome=ok"), 1},
		{"content bytes", delta("wsus_http_response_bytes_total", "kind=content"), float64(sum.BytesDownloaded)},
		{"content requests failed", delta("wsus_content_requests_total", "outcome=error") + delta("wsus_content_requests_total", "outcome=not_found"), 0},
		{"software scan pages", delta("wsus_scan_updates_returned", "pass=software"), float64(sum.SoftwareRounds)},
		{"driver scan pages", delta("wsus_scan_updates_returned", "pass=drivers"), float64(sum.DriverRounds)},
		{"computers", delta("wsus_catalog_computers"), 1},
		{"computers heard from within a day", delta("wsus_catalog_computers_by_last_contact", "age=<1d"), 1},
		{"computers never heard from", value(after, "wsus_catalog_computers_by_last_contact", "age=never"), 0},
		{"updates in the catalog (unchanged)", delta("wsus_catalog_updates"), 0},
		{"build info", value(after, "wsus_build_info", "go_version="+runtime.Version()), 1},
		{"admission slots", value(after, "wsus_soap_inflight_capacity"), soap.DefaultMaxInflight},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: moved by %v, want %v", tc.what, tc.got, tc.want)
		}
	}
	for _, tc := range []struct{ what, family, label string }{
		{"content requests (whole or ranges)", "wsus_content_requests_total", ""},
		{"reports answered", "wsus_soap_requests_total", "operation=ReportEventBatch"},
		{"store calls of SyncUpdates' LastSync", "wsus_store_operation_duration_seconds", "operation=RecordSync"},
		{"store change-sequence reads", "wsus_store_operation_duration_seconds", "operation=ChangeSequence"},
		{"blob opens of the download", "wsus_blob_operation_duration_seconds", "operation=OpenRange"},
		{"catalog updates", "wsus_catalog_updates", ""},
		{"goroutines", "go_goroutines", ""},
		{"process CPU", "process_cpu_seconds_total", ""},
	} {
		labels := []string{}
		if tc.label != "" {
			labels = append(labels, tc.label)
		}
		if value(after, tc.family, labels...) <= 0 {
			t.Errorf("%s: %s{%s} is %v, want > 0", tc.what, tc.family, tc.label, value(after, tc.family, labels...))
		}
	}
	for name := range after {
		if !strings.HasPrefix(name, "wsus_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
			t.Errorf("family %s does not start with wsus_ (nor go_, process_)", name)
		}
	}
}

// TestMetricsOnAdminListener: with an admin listener, /metrics is served
// there (and counts the admin API's requests) and answers 404 on the
// client listener.
func TestMetricsOnAdminListener(t *testing.T) {
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "test-token-0123456789", AdminListen: "127.0.0.1:0"}
	r := startServers(t, cfg, "All Computers", slog.New(slog.DiscardHandler))
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the client listener: %d, want 404", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, r.adminBase+"/api/v1/computers", nil)
	req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/computers: %d", resp.StatusCode)
	}
	for i := 0; ; i++ {
		mfs := scrape(t, r.adminBase+"/metrics")
		if got := value(mfs, "wsus_admin_requests_total", "method=GET", "code=2xx"); got == 1 {
			break
		} else if i == 200 {
			t.Fatalf("wsus_admin_requests_total{method=GET,code=2xx} = %v, want 1", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
