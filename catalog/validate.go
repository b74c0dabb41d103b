package catalog

import (
	"errors"
	"fmt"
	"strings"
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

// Validate reports what makes a report unfit to store, whatever the store:
// an event without InstanceID, times outside the years 1-9999, client text
// that is not UTF-8 or holds a NUL (PostgreSQL refuses both), a status
// without UpdateID or with an unknown state.
func (r Report) Validate() error {
	if err := CheckTime("time", r.At); err != nil {
		return err
	}
	for i, e := range r.Events {
		if e.InstanceID == uuid.Nil {
			return fmt.Errorf("event %d: no instance ID", i)
		}
		err := errors.Join(CheckTime("TimeAtTarget", e.TimeAtTarget), CheckText("AppName", e.AppName))
		for j, v := range e.Replacement {
			err = errors.Join(err, CheckText(fmt.Sprintf("Replacement %d", j), v))
		}
		for j, v := range e.MiscData {
			err = errors.Join(err, CheckText(fmt.Sprintf("MiscData %d", j), v))
		}
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	for i, c := range r.Changes {
		if err := CheckStatuses(c.Statuses); err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
	}
	return nil
}

// CheckStatuses reports a status without UpdateID, with an unknown state or
// a ChangedAt outside the years 1-9999.
func CheckStatuses(statuses []UpdateStatus) error {
	for i, st := range statuses {
		if st.UpdateID == uuid.Nil {
			return fmt.Errorf("status %d: no UpdateID", i)
		}
		if st.State < StateUnknown || st.State > StateInstalledPendingReboot {
			return fmt.Errorf("status %d: unknown state %d", i, st.State)
		}
		if err := CheckTime("ChangedAt", st.ChangedAt); err != nil {
			return fmt.Errorf("status %d: %w", i, err)
		}
	}
	return nil
}

// CheckText reports client-supplied text that is not valid UTF-8 or holds a
// NUL character; what names the field.
func CheckText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL character", what)
	}
	return nil
}
