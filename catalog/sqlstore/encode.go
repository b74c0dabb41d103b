package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"wsus/catalog"
)

// TimeLayout is how SQLite stores times: UTC, nanoseconds, fixed width, so
// that text order is time order. PostgreSQL stores timestamptz.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// timeDest scans a stored time, whichever way the engine returns it
// (time.Time, or text in TimeLayout), into a UTC time; NULL is the zero time.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = v.UTC()
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("stored time: unexpected %T", v)
	}
	return nil
}

func (d timeDest) parse(s string) error {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", s, err)
	}
	*d.t = t.UTC()
	return nil
}

// truncate returns t as the store keeps it: UTC, to the engine's precision.
func (s *Store) truncate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(s.d.TimePrecision())
}

// orNow returns at as the store keeps it, or now when at is zero.
func (s *Store) orNow(at time.Time) time.Time {
	if at.IsZero() {
		return time.Now().UTC().Truncate(s.d.TimePrecision())
	}
	return s.truncate(at)
}

// jsonList returns a list as the single parameter Dialect.InList reads.
func jsonList[T any](list []T) string {
	if len(list) == 0 {
		return "[]"
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: list of %T does not marshal: %v", list, err)) // ints, strings and UUIDs always do
	}
	return string(b)
}

// encStrings returns a string list as stored: NULL when empty, else a JSON
// array of strings.
func encStrings(list []string) any {
	if len(list) == 0 {
		return nil
	}
	return jsonList(list)
}

// jsonListDest scans a list stored as a JSON array (string lists, driver
// metadata); NULL and [] are nil. what names the list in errors.
type jsonListDest[T any] struct {
	list *[]T
	what string
}

// stringsDest scans a stored string list.
func stringsDest(list *[]string) jsonListDest[string] {
	return jsonListDest[string]{list, "string list"}
}

// driversDest scans stored driver metadata.
func driversDest(ds *[]catalog.DriverMetadata) jsonListDest[catalog.DriverMetadata] {
	return jsonListDest[catalog.DriverMetadata]{ds, "drivers"}
}

// Scan implements sql.Scanner.
func (d jsonListDest[T]) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	*d.list = nil
	if !s.Valid {
		return nil
	}
	if err := json.Unmarshal([]byte(s.String), d.list); err != nil {
		return fmt.Errorf("stored %s: %w", d.what, err)
	}
	if len(*d.list) == 0 {
		*d.list = nil
	}
	return nil
}

// encDrivers returns driver metadata as stored: NULL when there is none,
// else a JSON array, dates in UTC.
func encDrivers(ds []catalog.DriverMetadata) (any, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	utc := make([]catalog.DriverMetadata, len(ds))
	for i, d := range ds {
		d.DriverVerDate = d.DriverVerDate.UTC()
		utc[i] = d
	}
	b, err := json.Marshal(utc)
	if err != nil {
		return nil, fmt.Errorf("encode drivers: %w", err)
	}
	return string(b), nil
}

// nullBytes returns b as stored: NULL when empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// integer is the integer types the store scans.
type integer interface {
	~int | ~int32 | ~int64
}

// intDest scans a stored integer into a Go integer of any width.
// database/sql converts an int64 into anything but an int64 through its
// decimal text; this takes it as it comes (a third of the time of reading
// the catalog's summaries went there).
type intDest[T integer] struct{ p *T }

// num returns a scan destination for an integer column.
func num[T integer](p *T) intDest[T] { return intDest[T]{p} }

// Scan implements sql.Scanner.
func (d intDest[T]) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("stored integer: unexpected %T", v)
	}
	return d.set(n)
}

// set stores n, refusing one the destination cannot hold.
func (d intDest[T]) set(n int64) error {
	if int64(T(n)) != n {
		return fmt.Errorf("stored integer %d out of range", n)
	}
	*d.p = T(n)
	return nil
}
