package syncer

import (
	"testing"
	"time"

	"wsus/catalog"
)

func TestLastSlot(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
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
			got, ok := LastSlot(catalog.SyncSettings{SyncsPerDay: tc.perDay, FirstSync: tc.first}, at(tc.now))
			if ok != tc.enabled {
				t.Fatalf("ok %t, want %t", ok, tc.enabled)
			}
			if ok && !got.Equal(at(tc.want)) {
				t.Errorf("slot %s, want %s", got, tc.want)
			}
		})
	}
}

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
