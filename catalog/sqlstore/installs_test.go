package sqlstore_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// TestInstallsByDayDifferential compares InstallsByDay, grouped by the
// database, with the same counts made in Go from every stored event
// (Store.Events): random events of five computers received over twelve
// days, many at a day's first and last instants, on every engine.
func TestInstallsByDayDifferential(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			s := e.openFresh(t)
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(13, 5))
			start := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)
			ids := []int{182, 183, 184, 147, 156, 161, 148}
			var clients []string
			for i := range 5 {
				c := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i)}).String()
				clients = append(clients, c)
				if err := s.RecordAuthorization(ctx, c, "pc", nil, start.AddDate(0, 0, -1)); err != nil {
					t.Fatal(err)
				}
			}
			for range 120 {
				day := start.AddDate(0, 0, rng.IntN(12))
				var at time.Time
				switch rng.IntN(3) {
				case 0:
					at = day
				case 1:
					at = day.Add(24*time.Hour - time.Microsecond)
				default:
					at = day.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
				}
				at = at.Truncate(time.Microsecond)
				var evs []catalog.Event
				for range 1 + rng.IntN(4) {
					evs = append(evs, catalog.Event{InstanceID: uuid.New(), EventID: ids[rng.IntN(len(ids))], SourceID: 101})
				}
				if _, err := s.StoreEvents(ctx, clients[rng.IntN(len(clients))], evs, at); err != nil {
					t.Fatal(err)
				}
			}
			from, days := start.AddDate(0, 0, 2), 8
			want := make([]catalog.InstallDay, days)
			for i := range want {
				want[i].Day = from.AddDate(0, 0, i)
			}
			for _, c := range clients {
				evs, err := s.Events(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					i := int(catalog.UTCDay(ev.Received).Sub(from) / (24 * time.Hour))
					if i < 0 || i >= days {
						continue
					}
					switch ev.EventID {
					case catalog.EventInstallFailed:
						want[i].Failed++
					case catalog.EventInstallSucceeded, catalog.EventInstallRebootPending:
						want[i].Installed++
					}
				}
			}
			got, err := s.InstallsByDay(ctx, from.Add(5*time.Hour), days)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for i := range want {
				total += want[i].Installed + want[i].Failed
				if !got[i].Day.Equal(want[i].Day) || got[i].Installed != want[i].Installed || got[i].Failed != want[i].Failed {
					t.Errorf("day %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
			if total == 0 || len(got) != days {
				t.Fatalf("%d rows, %d install results counted: the test counts nothing", len(got), total)
			}
		})
	}
}
