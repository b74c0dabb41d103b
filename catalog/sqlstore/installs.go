package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wsus/catalog"
)

var _ catalog.InstallHistoryStore = (*Store)(nil)

// installEvents is the WHERE term of the install results, written as the
// partial index event_installs (migration 0106) is, so that both planners
// use it: SQLite uses a partial index only when the query names its term.
const installEvents = "event_id IN (182, 183, 184)"

// dayOf is the SQL of a stored time's UTC day, the cheapest way each
// engine has (it runs once per install result counted): SQLite stores
// TimeLayout text, whose first ten bytes are the day ("YYYY-MM-DD", text);
// PostgreSQL a timestamptz, whose UTC date less 1970-01-01 is the days
// since the Unix epoch (an integer; to_char took three times as long).
// scanDay reads either.
func (s *Store) dayOf(col string) string {
	if s.d.Name() == "postgres" {
		return "(CAST(" + col + " AT TIME ZONE 'UTC' AS date) - DATE '1970-01-01')"
	}
	return "substr(" + col + ", 1, 10)"
}

// scanDay is the day dayOf answered: "YYYY-MM-DD" text or days since the
// Unix epoch.
func scanDay(v any) (time.Time, error) {
	switch v := v.(type) {
	case string:
		return time.Parse(time.DateOnly, v)
	case []byte:
		return time.Parse(time.DateOnly, string(v))
	case int32:
		return time.Unix(int64(v)*86400, 0).UTC(), nil
	case int64:
		return time.Unix(v*86400, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unexpected %T", v)
}

// InstallsByDay counts the install results received per UTC day; see
// catalog.InstallHistoryStore. One query reads the range of the partial
// index event_installs (received, event_id) and groups it by day and
// event; the rows are filled in Go, days without results included.
func (s *Store) InstallsByDay(ctx context.Context, from time.Time, days int) ([]catalog.InstallDay, error) {
	const op = "installs by day"
	if days < 1 || days > catalog.MaxInstallDays {
		return nil, s.invalid(op, fmt.Errorf("%d days, want 1 to %d", days, catalog.MaxInstallDays))
	}
	if from.IsZero() {
		return nil, s.invalid(op, errors.New("zero start"))
	}
	first := catalog.UTCDay(from)
	end := first.AddDate(0, 0, days)
	if err := errors.Join(catalog.CheckTime("start", first), catalog.CheckTime("end", end)); err != nil {
		return nil, s.invalid(op, err)
	}
	return readOne(ctx, s, op, func(t *tx) ([]catalog.InstallDay, error) {
		out := make([]catalog.InstallDay, days)
		for i := range out {
			out[i].Day = first.AddDate(0, 0, i)
		}
		q := `SELECT ` + s.dayOf("received") + `, event_id, count(*) FROM event
			WHERE ` + installEvents + ` AND received >= $1 AND received < $2 GROUP BY 1, 2`
		err := t.query(ctx, q, []any{s.d.Time(first), s.d.Time(end)}, func(row Row) error {
			var day any
			var event, n int
			if err := row.Scan(&day, num(&event), num(&n)); err != nil {
				return err
			}
			d, err := scanDay(day)
			if err != nil {
				return fmt.Errorf("day %v: %w", day, err)
			}
			i := int(d.Sub(first) / (24 * time.Hour))
			if i < 0 || i >= days {
				return fmt.Errorf("day %s outside %s + %d days", d.Format(time.DateOnly), first.Format(time.DateOnly), days)
			}
			if event == catalog.EventInstallFailed {
				out[i].Failed += n
			} else {
				out[i].Installed += n
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("install events: %w", err)
		}
		return out, nil
	})
}
