package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// installsTests cover catalog.InstallHistoryStore, which every store of
// this repository implements.
var installsTests = []test{
	{"InstallsByDay", testInstallsByDay},
}

// testInstallsByDay stores install results (182, 183, 184) and other
// events received on several UTC days, from two computers, and checks the
// counts per day: by the day received (not the computer's TimeAtTarget),
// 183 and 184 as installed, 182 as failed, other events left out, days
// without results listed with zeros, the bounds of the range exact to the
// nanosecond the engine keeps, and bad arguments refused as invalid.
func testInstallsByDay(t *testing.T, s catalog.Store) {
	is, ok := s.(catalog.InstallHistoryStore)
	if !ok {
		t.Fatalf("%T does not implement catalog.InstallHistoryStore", s)
	}
	c := ctx(t)
	day0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	must(t, "RecordAuthorization client1", s.RecordAuthorization(c, client1, "pc1", nil, day0.Add(-24*time.Hour)))
	must(t, "RecordAuthorization client2", s.RecordAuthorization(c, client2, "pc2", nil, day0.Add(-24*time.Hour)))
	n := 0
	report := func(client string, at time.Time, ids ...int) {
		t.Helper()
		var evs []catalog.Event
		for _, id := range ids {
			n++
			evs = append(evs, catalog.Event{InstanceID: uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(n), byte(n >> 8)}),
				EventID: id, SourceID: 101, UpdateID: idAMEngine, RevisionNumber: 200,
				// The computer's clock is a day behind: received counts.
				TimeAtTarget: at.Add(-24 * time.Hour)})
		}
		_, err := s.StoreEvents(c, client, evs, at)
		must(t, "StoreEvents", err)
	}
	// The day before the range: left out.
	report(client1, day0.Add(-time.Microsecond), 183, 182)
	// Day 0: two installed (183, 184), one failed, a scan event.
	report(client1, day0, 183, 147)
	report(client2, day0.Add(23*time.Hour+59*time.Minute), 184, 182)
	// Day 1: nothing. Day 2: three failed from two computers, one installed.
	report(client1, day0.Add(50*time.Hour), 182, 182, 156)
	report(client2, day0.Add(71*time.Hour), 182, 183)
	// Day 3, the day after the range: left out.
	report(client2, day0.Add(72*time.Hour), 183)

	// from is any time of the first day.
	got, err := is.InstallsByDay(c, day0.Add(13*time.Hour), 3)
	must(t, "InstallsByDay", err)
	check(t, "InstallsByDay", got, []catalog.InstallDay{
		{Day: day0, Installed: 2, Failed: 1},
		{Day: day0.AddDate(0, 0, 1)},
		{Day: day0.AddDate(0, 0, 2), Installed: 1, Failed: 3},
	})
	got, err = is.InstallsByDay(c, day0.AddDate(0, 0, -1), 1)
	must(t, "InstallsByDay of the day before", err)
	check(t, "InstallsByDay of the day before", got, []catalog.InstallDay{{Day: day0.AddDate(0, 0, -1), Installed: 1, Failed: 1}})
	got, err = is.InstallsByDay(c, day0.AddDate(0, 0, 10), 2)
	must(t, "InstallsByDay of days without events", err)
	check(t, "InstallsByDay of days without events", got, []catalog.InstallDay{{Day: day0.AddDate(0, 0, 10)}, {Day: day0.AddDate(0, 0, 11)}})
	got, err = is.InstallsByDay(c, day0, catalog.MaxInstallDays)
	must(t, "InstallsByDay of the longest range", err)
	if len(got) != catalog.MaxInstallDays || got[3].Installed != 1 || !got[len(got)-1].Day.Equal(day0.AddDate(0, 0, catalog.MaxInstallDays-1)) {
		t.Errorf("InstallsByDay of %d days: %d rows, day 3 %+v, last %+v", catalog.MaxInstallDays, len(got), got[3], got[len(got)-1])
	}

	for _, bad := range []struct {
		from time.Time
		days int
	}{{day0, 0}, {day0, catalog.MaxInstallDays + 1}, {day0, -1}, {time.Time{}, 1}} {
		if _, err := is.InstallsByDay(c, bad.from, bad.days); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("InstallsByDay(%s, %d): %v, want ErrInvalid", bad.from, bad.days, err)
		}
	}
}
