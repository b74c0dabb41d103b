package logdedup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"wsus/internal/logdedup"
	"wsus/internal/syncbuf"
)

// clock is a manual clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// line is one JSON log line.
type line struct {
	Level    string `json:"level"`
	Msg      string `json:"msg"`
	Err      string `json:"err"`
	Repeated int    `json:"repeated"`
	Key      string `json:"key"`
}

// setup returns a logger through a deduplicating handler with a manual
// clock writing JSON into a buffer.
func setup(t *testing.T, opts logdedup.Options) (*slog.Logger, *logdedup.Handler, *clock, *syncbuf.Buffer) {
	t.Helper()
	buf := &syncbuf.Buffer{}
	clk := &clock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	opts.Now = clk.Now
	h := logdedup.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}), opts)
	return slog.New(h), h, clk, buf
}

func lines(t *testing.T, buf *syncbuf.Buffer) []line {
	t.Helper()
	var out []line
	for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if s == "" {
			continue
		}
		var l line
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, l)
	}
	return out
}

var repeatedSuffix = regexp.MustCompile(`^(.*) \(repeated (\d+) times? in the last ([0-9hms.]+)\)$`)

func TestThousandIdenticalErrorsGiveTwoLines(t *testing.T) {
	log, h, clk, buf := setup(t, logdedup.Options{})
	down := errors.New("dial tcp 127.0.0.1:5432: connection refused")
	for range 1000 {
		log.Error("catalog store failed", "err", down, "path", "/api/v1/updates")
		clk.advance(10 * time.Millisecond) // 10 s in all: within the interval
	}
	got := lines(t, buf)
	if len(got) != 1 || got[0].Msg != "catalog store failed" || got[0].Err != down.Error() || got[0].Repeated != 0 {
		t.Fatalf("before the flush: %+v, want the first record alone, unchanged", got)
	}
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = lines(t, buf)
	if len(got) != 2 {
		t.Fatalf("%d lines after the flush, want 2: %+v", len(got), got)
	}
	// The second line is the last record, carrying the 998 between.
	m := repeatedSuffix.FindStringSubmatch(got[1].Msg)
	if m == nil || m[1] != "catalog store failed" || m[2] != "998" || m[3] != "10s" {
		t.Errorf("summary message %q, want \"catalog store failed (repeated 998 times in the last 10s)\"", got[1].Msg)
	}
	if got[1].Repeated != 998 || got[1].Err != down.Error() || got[1].Level != "ERROR" {
		t.Errorf("summary %+v, want level ERROR, the err and repeated=998", got[1])
	}
	// Flushing again writes nothing more.
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, buf)); n != 2 {
		t.Errorf("%d lines after a second flush, want still 2", n)
	}
}

// The first identical record after the interval carries the count; a new
// interval starts with it.
func TestNextRecordAfterIntervalCarriesCount(t *testing.T) {
	log, _, clk, buf := setup(t, logdedup.Options{Interval: time.Minute})
	for range 5 {
		log.Warn("content store unavailable", "err", "timeout")
	}
	clk.advance(61 * time.Second)
	log.Warn("content store unavailable", "err", "timeout")
	log.Warn("content store unavailable", "err", "timeout") // counted in the new interval
	got := lines(t, buf)
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2: %+v", len(got), got)
	}
	if got[1].Msg != "content store unavailable (repeated 4 times in the last 1m1s)" || got[1].Repeated != 4 {
		t.Errorf("second line %+v, want it to carry the 4 dropped records", got[1])
	}
	clk.advance(61 * time.Second)
	log.Warn("content store unavailable", "err", "timeout")
	got = lines(t, buf)
	if len(got) != 3 || got[2].Repeated != 1 {
		t.Errorf("third line %+v, want repeated=1 (the one dropped in the second interval)", got[len(got)-1])
	}
}

func TestDistinctRecordsPass(t *testing.T) {
	log, _, _, buf := setup(t, logdedup.Options{})
	for i := range 50 {
		log.Error("store failed", "err", fmt.Sprintf("error %d", i))
	}
	for i := range 50 {
		log.Error(fmt.Sprintf("message %d", i), "err", "same")
	}
	log.Warn("store failed", "err", "error 0") // another level
	log.Error("store failed")                  // no err attribute
	got := lines(t, buf)
	if len(got) != 102 {
		t.Fatalf("%d lines, want 102 (every record distinct)", len(got))
	}
	for _, l := range got {
		if l.Repeated != 0 || strings.Contains(l.Msg, "repeated") {
			t.Errorf("line %+v changed", l)
		}
	}
}

func TestInfoAndDebugAreNeverDeduplicated(t *testing.T) {
	log, _, _, buf := setup(t, logdedup.Options{})
	for range 20 {
		log.Info("client scanned", "err", "x")
		log.Debug("client scanned", "err", "x")
	}
	if n := len(lines(t, buf)); n != 40 {
		t.Errorf("%d lines, want 40", n)
	}
}

// Once the interval is over, any later record (of any level) writes the
// count of a flood that stopped.
func TestCountWrittenWhenFloodStops(t *testing.T) {
	log, _, clk, buf := setup(t, logdedup.Options{Interval: time.Minute})
	for range 3 {
		log.Error("s3 down", "err", "refused")
	}
	clk.advance(30 * time.Second)
	log.Info("tick")
	if got := lines(t, buf); len(got) != 2 {
		t.Fatalf("within the interval: %+v, want the first error and the info line", got)
	}
	clk.advance(31 * time.Second)
	log.Info("tick")
	got := lines(t, buf)
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4: %+v", len(got), got)
	}
	// The last dropped error, written late, carries the one before it.
	if got[2].Msg != "s3 down (repeated 1 time in the last 0s)" || got[2].Repeated != 1 || got[2].Err != "refused" {
		t.Errorf("summary %+v, want the last dropped error counting the other", got[2])
	}
	// The flood is forgotten: the next identical error passes unchanged.
	log.Error("s3 down", "err", "refused")
	got = lines(t, buf)
	if l := got[len(got)-1]; l.Msg != "s3 down" || l.Repeated != 0 {
		t.Errorf("last line %+v, want the error unchanged", l)
	}
}

// With MaxKeys distinct records tracked, further distinct ones pass
// uncounted instead of growing memory.
func TestMaxKeysBoundsMemory(t *testing.T) {
	log, h, _, buf := setup(t, logdedup.Options{MaxKeys: 2})
	for range 10 {
		log.Error("a", "err", "1")
		log.Error("b", "err", "2")
		log.Error("c", "err", "3") // untracked: always passes
	}
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	repeated := map[string]int{}
	for _, l := range lines(t, buf) {
		base := l.Msg
		if m := repeatedSuffix.FindStringSubmatch(l.Msg); m != nil {
			base = m[1]
		}
		count[base]++
		repeated[base] += l.Repeated
	}
	if count["a"] != 2 || repeated["a"] != 8 || count["b"] != 2 || repeated["b"] != 8 || count["c"] != 10 {
		t.Errorf("lines per message %v, repeated %v; want a and b twice carrying 8, c 10 times", count, repeated)
	}
}

// Attributes added with WithAttrs count as key attributes too, and
// configured key attributes make records distinct.
func TestKeyAttributes(t *testing.T) {
	log, _, _, buf := setup(t, logdedup.Options{KeyAttrs: []string{"err", "source"}})
	for range 5 {
		log.With("err", "bad token").Warn("auth failed", "source", "10.0.0.1")
		log.With("err", "bad token").Warn("auth failed", "source", "10.0.0.2")
		log.With("err", "other").Warn("auth failed", "source", "10.0.0.2")
		log.WithGroup("g").Warn("auth failed", "source", "10.0.0.2")
	}
	got := lines(t, buf)
	if len(got) != 4 {
		t.Errorf("%d lines, want 4 (one per distinct source and err): %+v", len(got), got)
	}
}

// Every record is accounted for, whatever the concurrency: the lines plus
// the counts they carry add up to the records logged.
func TestConcurrentRecordsAllCounted(t *testing.T) {
	log, h, clk, buf := setup(t, logdedup.Options{Interval: time.Second})
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				log.Error("flood", "err", fmt.Sprint("e", i%3))
				if g == 0 && i%50 == 0 {
					clk.advance(300 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	total := 0
	got := lines(t, buf)
	for _, l := range got {
		total += 1 + l.Repeated
	}
	if total != goroutines*each {
		t.Errorf("%d lines accounting for %d records, want %d", len(got), total, goroutines*each)
	}
	if len(got) > goroutines*each/10 {
		t.Errorf("%d lines for %d records: not deduplicated", len(got), goroutines*each)
	}
}

// The handler passes records to the wrapped handler's level.
func TestEnabledFollowsInner(t *testing.T) {
	var b bytes.Buffer
	h := logdedup.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelWarn}), logdedup.Options{})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the wrapped handler's level")
	}
}
