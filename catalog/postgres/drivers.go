package postgres

import (
	"encoding/json"
	"fmt"
	"time"

	"wsus/catalog"
)

// validateDrivers rejects driver metadata the drivers column (jsonb) cannot
// hold faithfully: text PostgreSQL refuses (invalid UTF-8, NUL, which jsonb
// refuses even escaped) and dates outside the years 1-9999.
func validateDrivers(ds []catalog.DriverMetadata) error {
	for i, d := range ds {
		what := fmt.Sprintf("driver %d (%q)", i, d.HardwareID)
		strs := append([]string{d.HardwareID, d.WhqlDriverID, d.Manufacturer, d.Provider, d.Company, d.Class, d.Model},
			d.CompatibleProviders...)
		for _, fs := range d.FeatureScores {
			strs = append(strs, fs.OperatingSystem)
		}
		for _, s := range strs {
			if err := checkText(what+" text", s); err != nil {
				return err
			}
		}
		if err := checkTime(what+" DriverVerDate", d.DriverVerDate); err != nil {
			return err
		}
	}
	return nil
}

// encDrivers returns driver metadata as stored: NULL when there is none,
// else a JSON array, dates in UTC to the microsecond.
func encDrivers(ds []catalog.DriverMetadata) (any, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	utc := make([]catalog.DriverMetadata, len(ds))
	for i, d := range ds {
		d.DriverVerDate = d.DriverVerDate.UTC().Truncate(time.Microsecond)
		utc[i] = d
	}
	b, err := json.Marshal(utc)
	if err != nil {
		return nil, fmt.Errorf("encode drivers: %w", err)
	}
	return string(b), nil
}

// decDrivers parses stored driver metadata; NULL is nil.
func decDrivers(b []byte) ([]catalog.DriverMetadata, error) {
	if b == nil {
		return nil, nil
	}
	var ds []catalog.DriverMetadata
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("stored drivers: %w", err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	return ds, nil
}
