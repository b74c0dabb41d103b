package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"wsus/internal/reqinfo"
)

// TestAccessLogRateLimit: with a clock the test moves, successful content
// lines pass while the bucket holds tokens (accessLogBurst at first, then
// accessLogRate a second), errors always pass, and the count of the lines
// skipped is written at the first request once accessLogSummaryEvery has
// passed since the first skipped, then again only after new skips.
func TestAccessLogRateLimit(t *testing.T) {
	var buf bytes.Buffer
	a, err := newAccessLog(AccessLogOn, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	a.filled = now
	ok := &reqinfo.Record{Kind: reqinfo.KindContent, Method: "GET", Path: "/Content/x", Status: 206, Range: true}
	missing := &reqinfo.Record{Kind: reqinfo.KindContent, Method: "GET", Path: "/Content/y", Status: 404}
	count := func() (lines, notLogged int) {
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if l == "" || json.Unmarshal([]byte(l), &m) != nil {
				continue
			}
			switch m["msg"] {
			case AccessLogMessage:
				lines++
			case AccessLogSkippedMessage:
				n, _ := m["not_logged"].(float64)
				notLogged += int(n)
			}
		}
		buf.Reset()
		return lines, notLogged
	}
	steps := []struct {
		name               string
		advance            time.Duration
		ok, missing        int
		lines, notLoggedNo int
	}{
		{"burst", 0, accessLogBurst + 20, 0, accessLogBurst, 0},
		{"errors always", 0, 0, 5, 5, 0},
		{"one second refills the rate", time.Second, accessLogRate + 3, 0, accessLogRate, 0},
		{"the summary after its period", accessLogSummaryEvery, 0, 1, 1, 20 + 3},
		{"no summary without new skips", accessLogSummaryEvery, 0, 1, 1, 0},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		for range s.ok {
			a.request(context.Background(), ok, false)
		}
		for range s.missing {
			a.request(context.Background(), missing, false)
		}
		if lines, notLogged := count(); lines != s.lines || notLogged != s.notLoggedNo {
			t.Errorf("%s: %d lines, %d not logged; want %d, %d", s.name, lines, notLogged, s.lines, s.notLoggedNo)
		}
	}
	a.request(context.Background(), ok, false) // the bucket is full again
	if lines, _ := count(); lines != 1 {
		t.Errorf("after a long pause: %d lines, want 1", lines)
	}
}

// TestCutPath: a long path is cut at a character boundary and marked.
func TestCutPath(t *testing.T) {
	long := "/Content/" + strings.Repeat("é", maxLoggedPath)
	got := cutPath(long)
	if len(got) > maxLoggedPath+3 || !strings.HasSuffix(got, "...") || !strings.HasPrefix(long, strings.TrimSuffix(got, "...")) {
		t.Errorf("cutPath = %q (%d bytes)", got, len(got))
	}
	if s := strings.TrimSuffix(got, "..."); !strings.HasSuffix(s, "é") {
		t.Errorf("cut inside a character: %q", s[len(s)-4:])
	}
	if cutPath("/healthz") != "/healthz" {
		t.Error("a short path changed")
	}
}
