package soap

import (
	"strings"
	"testing"
	"time"
)

// TestAdmissionAccessors checks what metrics read: the slots taken while a
// request is answered and after, and the configured bounds.
func TestAdmissionAccessors(t *testing.T) {
	adm := NewAdmission(3, 1<<20, 50*time.Millisecond)
	if got, want := [3]int64{int64(adm.Inflight()), int64(adm.Capacity()), adm.Budget()}, [3]int64{0, 3, 1 << 20}; got != want {
		t.Fatalf("idle (Inflight, Capacity, Budget) = %v, want %v", got, want)
	}
	hold := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv := echoService(adm, hold, entered)
	defer srv.Close()
	done := make(chan string)
	go func() { done <- postEcho(t, srv.URL) }()
	select {
	case <-entered:
	case got := <-done:
		t.Fatalf("the request was not admitted: %s", got)
	}
	if got := adm.Inflight(); got != 1 {
		t.Errorf("Inflight with one request held = %d, want 1", got)
	}
	close(hold)
	if got := <-done; !strings.Contains(got, "<EchoResponse") {
		t.Fatalf("held request answered %s", got)
	}
	// The handler gives its slot back after the answer is written: wait
	// for it rather than assume the client read it late enough.
	for i := 0; adm.Inflight() != 0; i++ {
		if i == 5000 {
			t.Fatalf("Inflight after the request ended = %d, want 0", adm.Inflight())
		}
		time.Sleep(time.Millisecond)
	}
	def := NewAdmission(0, 0, 0)
	if def.Capacity() != DefaultMaxInflight || def.Budget() != DefaultMaxBufferedBytes {
		t.Errorf("defaults: Capacity %d, Budget %d; want %d, %d", def.Capacity(), def.Budget(), DefaultMaxInflight, DefaultMaxBufferedBytes)
	}
}
