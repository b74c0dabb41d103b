package syncer

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsus/catalog"
	"wsus/catalog/sqlite"
	"wsus/sync/upstream"
)

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct {
		in     string
		perDay int
		first  time.Duration
		bad    bool
	}{
		{"", 0, 0, false},
		{"off", 0, 0, false},
		{"4", 4, 0, false},
		{"03:30/2", 2, 3*time.Hour + 30*time.Minute, false},
		{"23:59/24", 24, 23*time.Hour + 59*time.Minute, false},
		{"0", 0, 0, true},
		{"25", 0, 0, true},
		{"3:00/1", 1, 3 * time.Hour, false},
		{"24:00/1", 0, 0, true},
		{"daily", 0, 0, true},
	} {
		perDay, first, err := ParseSchedule(tc.in)
		if (err != nil) != tc.bad || perDay != tc.perDay || first != tc.first {
			t.Errorf("ParseSchedule(%q) = %d, %s, %v; want %d, %s, error %t", tc.in, perDay, first, err, tc.perDay, tc.first, tc.bad)
		}
	}
}

// TestScheduleRunsOncePerSlot runs the schedule's check against a real
// store: a slot that passed after the schedule was saved starts one run
// (here against an upstream that is down, so it fails quickly), and the
// next check finds that run and starts none.
func TestScheduleRunsOncePerSlot(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()

	// The slot comes 2 s after the schedule is saved.
	slotAt := time.Now().UTC().Add(2 * time.Second)
	midnight := time.Date(slotAt.Year(), slotAt.Month(), slotAt.Day(), 0, 0, 0, 0, time.UTC)
	settings := catalog.SyncSettings{UpstreamURL: down, SyncsPerDay: 24, FirstSync: slotAt.Sub(midnight) % time.Hour}
	if err := store.SetSyncSettings(ctx, settings); err != nil {
		t.Fatal(err)
	}
	sy, err := New(Config{Store: store, Logger: slog.New(slog.DiscardHandler),
		Upstream: upstream.Config{MaxElapsed: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{s: sy, ctx: ctx, now: time.Now}
	runs := func() []catalog.SyncRun {
		rs, err := store.SyncRuns(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if err := svc.runIfDue(); err != nil || len(runs()) != 0 {
		t.Fatalf("before the slot: err %v, runs %+v; want no run", err, runs())
	}
	time.Sleep(time.Until(slotAt) + 50*time.Millisecond)
	if err := svc.runIfDue(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("at the slot: err %v, want the failed run's", err)
	}
	rs := runs()
	if len(rs) != 1 || rs[0].Trigger != "schedule" || rs[0].State != catalog.SyncFailed {
		t.Fatalf("runs %+v, want one failed scheduled run", rs)
	}
	if err := svc.runIfDue(); err != nil || len(runs()) != 1 {
		t.Errorf("after the slot's run: err %v, %d runs; want no new run", err, len(runs()))
	}
}
