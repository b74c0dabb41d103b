package metrics

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"wsus/catalog/sqlite"
	"wsus/internal/reqinfo"
	"wsus/soap"
	"wsus/soap/wusp"
)

// BenchmarkObserveRequest is the metrics' cost on each request's path: a
// steady-state SyncUpdates answered (counters by kind and operation, the
// latency histogram, bytes).
func BenchmarkObserveRequest(b *testing.B) {
	m := newTestMetrics()
	rec := reqinfo.Record{Kind: reqinfo.KindSOAP, Method: "POST", Service: "ClientWebService", Operation: "SyncUpdates",
		Status: 200, Bytes: 2400, Duration: 3 * time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest(rec)
		}
	})
}

// BenchmarkObserveScan is the cost of the scan-size histograms per
// SyncUpdates round.
func BenchmarkObserveScan(b *testing.B) {
	m := New(Options{})
	s := wusp.ScanSizes{Cached: 300, NewUpdates: 2, OutOfScope: 1, CoreBytes: 4000}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveScan(s)
	}
}

// BenchmarkScrape is one scrape of /metrics served from the cached catalog
// read (the store is read at most once per StatsMaxAge, see
// BenchmarkStats100k in catalog/sqlstore): gathering and encoding every
// family after some traffic.
func BenchmarkScrape(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "catalog.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	m := New(Options{Admission: soap.NewAdmission(0, 0, 0), Stats: s, SyncRuns: s, StatsMaxAge: time.Hour,
		Operations: map[string][]string{"ClientWebService": {"GetConfig", "GetCookie", "SyncUpdates", "GetExtendedUpdateInfo"}}})
	for _, op := range []string{"GetConfig", "GetCookie", "SyncUpdates", "GetExtendedUpdateInfo"} {
		m.ObserveRequest(reqinfo.Record{Kind: reqinfo.KindSOAP, Service: "ClientWebService", Operation: op, Status: 200, Duration: time.Millisecond})
	}
	m.ObserveScan(wusp.ScanSizes{Cached: 10})
	h := m.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
