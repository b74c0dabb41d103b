package catalog_test

import (
	"testing"
	"time"

	"wsus/catalog"
)

// at parses an RFC 3339 time of a test case; "" is the zero time.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLastSlot(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perDay  int
		first   time.Duration
		now     string
		want    string
		enabled bool
	}{
		{"off", 0, 0, "2026-12-06T10:00:00Z", "", false},
		{"once a day, before the slot", 1, 3 * time.Hour, "2026-12-06T02:59:59Z", "2026-12-05T03:00:00Z", true},
		{"once a day, at the slot", 1, 3 * time.Hour, "2026-12-06T03:00:00Z", "2026-12-06T03:00:00Z", true},
		{"four a day", 4, 3 * time.Hour, "2026-12-06T10:30:00Z", "2026-12-06T09:00:00Z", true},
		{"four a day, after midnight before the first", 4, 3 * time.Hour, "2026-12-06T01:00:00Z", "2026-12-05T21:00:00Z", true},
		{"24 a day", 24, 90 * time.Minute, "2026-12-06T10:29:00Z", "2026-12-06T09:30:00Z", true},
		{"other zone is read as UTC", 2, 0, "2026-12-06T13:00:00+02:00", "2026-12-06T00:00:00Z", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := catalog.SyncSettings{SyncsPerDay: tc.perDay, FirstSync: tc.first}.LastSlot(at(t, tc.now))
			if ok != tc.enabled {
				t.Fatalf("ok %t, want %t", ok, tc.enabled)
			}
			if ok && !got.Equal(at(t, tc.want)) {
				t.Errorf("slot %s, want %s", got, tc.want)
			}
		})
	}
}

// TestNextSync checks the next synchronization the schedule makes: the
// scheduler runs one when it is not after now, the API shows it.
func TestNextSync(t *testing.T) {
	const up = "https://upstream.example"
	for _, tc := range []struct {
		name        string
		upstream    string
		perDay      int
		first       time.Duration
		changed     string
		lastStarted string
		now         string
		want        string // "" when nothing is scheduled
	}{
		{"manual only", up, 0, 0, "2026-12-01T00:00:00Z", "", "2026-12-06T10:00:00Z", ""},
		{"no upstream", "", 4, 0, "2026-12-01T00:00:00Z", "", "2026-12-06T10:00:00Z", ""},
		{"slot passed, never run: due", up, 4, 3 * time.Hour, "2026-12-01T00:00:00Z", "", "2026-12-06T10:30:00Z", "2026-12-06T09:00:00Z"},
		{"slot passed, run since: the next slot", up, 4, 3 * time.Hour, "2026-12-01T00:00:00Z", "2026-12-06T09:00:05Z", "2026-12-06T10:30:00Z", "2026-12-06T15:00:00Z"},
		{"run before the slot: due", up, 4, 3 * time.Hour, "2026-12-01T00:00:00Z", "2026-12-06T08:59:00Z", "2026-12-06T10:30:00Z", "2026-12-06T09:00:00Z"},
		{"settings changed after the slot: the next slot", up, 4, 3 * time.Hour, "2026-12-06T09:30:00Z", "", "2026-12-06T10:30:00Z", "2026-12-06T15:00:00Z"},
		{"once a day, the next is tomorrow", up, 1, 3 * time.Hour, "2026-12-01T00:00:00Z", "2026-12-06T03:00:01Z", "2026-12-06T04:00:00Z", "2026-12-07T03:00:00Z"},
		{"at the slot itself: due", up, 24, 0, "2026-12-01T00:00:00Z", "2026-12-06T09:00:00Z", "2026-12-06T10:00:00Z", "2026-12-06T10:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := catalog.SyncSettings{UpstreamURL: tc.upstream, SyncsPerDay: tc.perDay, FirstSync: tc.first, ChangedAt: at(t, tc.changed)}
			got, ok := s.NextSync(at(t, tc.lastStarted), at(t, tc.now))
			if ok != (tc.want != "") {
				t.Fatalf("ok %t, want %t", ok, tc.want != "")
			}
			if ok && !got.Equal(at(t, tc.want)) {
				t.Errorf("next %s, want %s", got, tc.want)
			}
		})
	}
}
