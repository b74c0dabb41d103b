package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"wsus/catalog"
)

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

// decDrivers parses stored driver metadata; NULL is nil.
func decDrivers(v sql.NullString) ([]catalog.DriverMetadata, error) {
	if !v.Valid {
		return nil, nil
	}
	var ds []catalog.DriverMetadata
	if err := json.Unmarshal([]byte(v.String), &ds); err != nil {
		return nil, fmt.Errorf("stored drivers: %w", err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	return ds, nil
}
