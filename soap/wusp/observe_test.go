package wusp_test

import (
	"sync"
	"testing"

	"wsus/soap/wusp"
)

// scanRecorder keeps the ScanSizes it is told.
type scanRecorder struct {
	mu    sync.Mutex
	sizes []wusp.ScanSizes
}

func (r *scanRecorder) ObserveScan(s wusp.ScanSizes) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sizes = append(r.sizes, s)
}

// TestScanObserver pages a client's scan one update at a time (as
// testPaging) and checks what the observer is told of each round: the
// revisions the client caches, the updates returned, the out-of-scope IDs,
// truncation, and the Core bytes of the updates sent.
func TestScanObserver(t *testing.T) {
	rec := &scanRecorder{}
	e := newEnv(t, envOptions{pageSize: 1, scans: rec})
	_, ck := e.login("")
	m, w := e.ids[idMicrosoft], e.ids[idWindows]
	other := []int32{987654}
	for range 4 {
		status, el := e.syncUpdates(ck, []int32{m, w}, other)
		if status != 200 {
			t.Fatalf("HTTP %d %s", status, faultCode(el))
		}
		for _, u := range newUpdates(t, el) {
			other = append(other, u.id) // cached from now on, as WUA does
		}
		ck = newCookie(t, el)
	}
	// A fault is no round: the observer is not told.
	if status, _ := e.syncUpdates("<cookie><Expiration>2026-01-01T00:00:00Z</Expiration><EncryptedData>AAAA</EncryptedData></cookie>", nil, nil); status == 200 {
		t.Fatal("a bad cookie was accepted")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.sizes) != 4 {
		t.Fatalf("observer told of %d rounds, want 4: %+v", len(rec.sizes), rec.sizes)
	}
	// The pages of testPaging: Microsoft and Windows changed, then two
	// new updates, one a page; every page but the last truncated.
	// new updates, one a page; every page but the last truncated. The
	// client caches the two categories, the unknown ID and what it got.
	want := []struct{ cached, changed, added int }{{3, 1, 0}, {3, 1, 0}, {3, 0, 1}, {4, 0, 1}}
	for i, got := range rec.sizes {
		if got.Drivers || got.Cached != want[i].cached || got.OutOfScope != 1 || got.ChangedUpdates != want[i].changed ||
			got.NewUpdates != want[i].added || got.Truncated != (i < 3) || got.CoreBytes <= 0 {
			t.Errorf("round %d: %+v, want software pass, %d cached, 1 out of scope, %d changed, %d new, truncated %v, Core bytes > 0",
				i, got, want[i].cached, want[i].changed, want[i].added, i < 3)
		}
	}
}
