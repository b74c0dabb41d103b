package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"wsus/catalog"
)

// validateDrivers rejects driver metadata the drivers column (JSON) cannot
// hold faithfully: invalid UTF-8 (JSON would replace it) and dates outside
// the years 1-9999.
func validateDrivers(ds []catalog.DriverMetadata) error {
	for i, d := range ds {
		strs := append([]string{d.HardwareID, d.WhqlDriverID, d.Manufacturer, d.Provider, d.Company, d.Class, d.Model},
			d.CompatibleProviders...)
		for _, fs := range d.FeatureScores {
			strs = append(strs, fs.OperatingSystem)
		}
		for _, s := range strs {
			if !utf8.ValidString(s) {
				return fmt.Errorf("driver %d (%q): text is not valid UTF-8", i, d.HardwareID)
			}
		}
		if err := checkTime(fmt.Sprintf("driver %d (%q) DriverVerDate", i, d.HardwareID), d.DriverVerDate); err != nil {
			return err
		}
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
