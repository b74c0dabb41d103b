package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// timeLayout is how times are stored: UTC, nanoseconds, fixed width, so that
// text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// encTime returns t as stored: NULL for the zero time, else UTC text.
// Callers check the range first with checkTime.
func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// decTime parses a stored time; NULL is the zero time.
func decTime(v sql.NullString) (time.Time, error) {
	if !v.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, v.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", v.String, err)
	}
	return t.UTC(), nil
}

// decUUID parses a stored UUID.
func decUUID(s string) (uuid.UUID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("stored uuid %q: %w", s, err)
	}
	return u, nil
}

// encStrings returns a string list as stored: NULL when empty, else a JSON
// array.
func encStrings(list []string) (any, error) {
	if len(list) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decStrings parses a stored string list; NULL is nil.
func decStrings(v sql.NullString) ([]string, error) {
	if !v.Valid {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(v.String), &list); err != nil {
		return nil, fmt.Errorf("stored string list: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// jsonInts returns ids as a JSON array, the single parameter that
// "IN (SELECT value FROM json_each(?))" expands.
func jsonInts(ids []int32) string {
	b, _ := json.Marshal(ids) // []int32 always marshals
	return string(b)
}

// boolInt returns b as stored.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
