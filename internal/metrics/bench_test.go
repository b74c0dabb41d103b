package metrics

import (
	"testing"
	"time"

	"wsus/internal/reqinfo"
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
