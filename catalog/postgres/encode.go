package postgres

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// Codes of the PostgreSQL errors the store tells apart.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// pgCode returns the SQLSTATE of a PostgreSQL error, "" for other errors.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// nowUTC is the current time as stored: UTC, microseconds, no monotonic
// reading.
func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// encTime returns t as stored: NULL for the zero time, else t to the
// microsecond (timestamptz's precision). Callers check the range first with
// checkTime.
func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// decTime returns a stored time in UTC; NULL is the zero time.
func decTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// encUUID returns u as pgx encodes a uuid parameter.
func encUUID(u uuid.UUID) [16]byte { return u }

// encUUIDs returns ids as a uuid[] parameter.
func encUUIDs(ids []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, u := range ids {
		out[i] = u
	}
	return out
}

// encStrings returns a string list as stored: NULL when empty.
func encStrings(list []string) any {
	if len(list) == 0 {
		return nil
	}
	return list
}

// decStrings returns a stored string list, nil when NULL or empty.
func decStrings(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}
