package catalog

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Validate reports what makes a revision unfit to store, whatever the
// store: no UpdateID, an empty prerequisite clause, digests of the wrong
// length, driver text that is not UTF-8, or times outside the years 1-9999
// that stored time formats hold. Stores may check more.
func (r *Revision) Validate() error {
	if r == nil {
		return errors.New("nil revision")
	}
	if r.UpdateID == uuid.Nil {
		return errors.New("no UpdateID")
	}
	if err := CheckTime("CreationDate", r.CreationDate); err != nil {
		return err
	}
	for i, c := range r.Prerequisites {
		if len(c.UpdateIDs) == 0 {
			return fmt.Errorf("prerequisite clause %d is empty", i)
		}
	}
	for i, f := range r.Files {
		if len(f.SHA1) != 20 {
			return fmt.Errorf("file %d (%s): SHA-1 digest has %d bytes, want 20", i, f.FileName, len(f.SHA1))
		}
		if len(f.SHA256) != 0 && len(f.SHA256) != 32 {
			return fmt.Errorf("file %d (%s): SHA-256 digest has %d bytes, want 32 or none", i, f.FileName, len(f.SHA256))
		}
		if err := CheckTime(fmt.Sprintf("file %d (%s) Modified", i, f.FileName), f.Modified); err != nil {
			return err
		}
	}
	for i, d := range r.Drivers {
		for _, s := range d.Texts() {
			if !utf8.ValidString(s) {
				return fmt.Errorf("driver %d (%q): text is not valid UTF-8", i, d.HardwareID)
			}
		}
		if err := CheckTime(fmt.Sprintf("driver %d (%q) DriverVerDate", i, d.HardwareID), d.DriverVerDate); err != nil {
			return err
		}
	}
	return nil
}

// Texts returns every string field of the driver metadata.
func (d DriverMetadata) Texts() []string {
	strs := append([]string{d.HardwareID, d.WhqlDriverID, d.Manufacturer, d.Provider, d.Company, d.Class, d.Model},
		d.CompatibleProviders...)
	for _, fs := range d.FeatureScores {
		strs = append(strs, fs.OperatingSystem)
	}
	return strs
}

// CheckTime rejects a non-zero time outside the years 1-9999.
func CheckTime(what string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s %s: year out of range 1-9999", what, t)
	}
	return nil
}
