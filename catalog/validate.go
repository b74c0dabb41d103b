package catalog

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/cases"
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
			if err := CheckText(fmt.Sprintf("driver %d (%q) text", i, d.HardwareID), s); err != nil {
				return err
			}
		}
		if err := CheckTime(fmt.Sprintf("driver %d (%q) DriverVerDate", i, d.HardwareID), d.DriverVerDate); err != nil {
			return err
		}
	}
	return r.checkTexts()
}

// checkTexts applies CheckText to every text field of the revision.
func (r *Revision) checkTexts() error {
	for i, f := range r.Files {
		if err := CheckText(fmt.Sprintf("file %d name", i), f.FileName); err != nil {
			return err
		}
	}
	texts := []struct{ what, s string }{
		{"Type", string(r.Type)}, {"CategoryType", r.CategoryType}, {"Title", r.Title},
		{"Description", r.Description}, {"KBArticleID", r.KBArticleID}, {"PublicationState", r.PublicationState},
		{"CoreXML", r.CoreXML}, {"ExtendedXML", r.ExtendedXML}, {"SourceXML", r.SourceXML},
	}
	for _, m := range []struct {
		what string
		m    map[string]string
	}{{"LocalizedProperties", r.Localized}, {"Eula", r.Eulas}} {
		for lang, xml := range m.m {
			texts = append(texts, struct{ what, s string }{m.what + " language", lang},
				struct{ what, s string }{fmt.Sprintf("%s %q", m.what, lang), xml})
		}
	}
	for _, t := range texts {
		if err := CheckText(t.what, t.s); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports what makes the details RegisterComputer sent unfit to
// store, whatever the store: no client ID, client text that is not UTF-8 or
// holds a NUL, a FirstSeen outside the years 1-9999.
func (c Computer) Validate() error {
	if c.ID == "" {
		return errors.New("empty client ID")
	}
	return errors.Join(CheckTime("FirstSeen", c.FirstSeen), CheckText("client ID", c.ID),
		CheckInt32("OSMajor", c.OSMajor), CheckInt32("OSMinor", c.OSMinor), CheckInt32("OSBuild", c.OSBuild),
		CheckText("DNS name", c.DNSName), CheckText("OS description", c.OSDescription),
		CheckText("OS locale", c.OSLocale), CheckText("architecture", c.Architecture),
		CheckText("manufacturer", c.Manufacturer), CheckText("model", c.Model),
		CheckText("client version", c.ClientVersion), c.Info.validate())
}

// validate reports text that is not UTF-8 or holds a NUL, or a
// BiosReleaseDate outside the years 1-9999; a nil info is valid.
func (i *ComputerInfo) validate() error {
	if i == nil {
		return nil
	}
	err := CheckTime("BiosReleaseDate", i.BiosReleaseDate)
	for _, t := range []struct{ what, s string }{
		{"DnsName", i.DnsName}, {"OSLocale", i.OSLocale}, {"ComputerManufacturer", i.ComputerManufacturer},
		{"ComputerModel", i.ComputerModel}, {"BiosVersion", i.BiosVersion}, {"BiosName", i.BiosName},
		{"ProcessorArchitecture", i.ProcessorArchitecture}, {"OSDescription", i.OSDescription}, {"OEM", i.OEM},
		{"DeviceType", i.DeviceType}, {"FirmwareVersion", i.FirmwareVersion}, {"MobileOperator", i.MobileOperator},
	} {
		err = errors.Join(err, CheckText(t.what, t.s))
	}
	return err
}

// Validate reports what makes a hardware inventory unfit to store: text
// that is not UTF-8 or holds a NUL, a time outside the years 1-9999, more
// than MaxInventoryDevices devices or fewer than DeviceCount says.
func (h HardwareInventory) Validate() error {
	err := errors.Join(CheckTime("ReportedAt", h.ReportedAt), CheckText("FeatureScoreMatchingKey", h.FeatureScoreMatchingKey))
	if len(h.Devices) > MaxInventoryDevices || h.DeviceCount < len(h.Devices) {
		err = errors.Join(err, fmt.Errorf("%d devices kept of %d (at most %d)", len(h.Devices), h.DeviceCount, MaxInventoryDevices))
	}
	for i, d := range h.Devices {
		texts := append(slices.Clip(d.HardwareIDs), d.CompatibleIDs...)
		if inst := d.InstalledDriver; inst != nil {
			texts = append(texts, inst.MatchingID, inst.Class, inst.Manufacturer, inst.Provider, inst.Model)
			err = errors.Join(err, CheckTime(fmt.Sprintf("device %d DriverVerDate", i), inst.DriverVerDate))
		}
		for _, s := range texts {
			err = errors.Join(err, CheckText(fmt.Sprintf("device %d", i), s))
		}
	}
	return err
}

// CheckAuthorization reports what makes a GetAuthorizationCookie record
// unfit to store: no client ID, text that is not UTF-8 or holds a NUL, a
// time outside the years 1-9999.
func CheckAuthorization(clientID, dnsName string, groups []string, at time.Time) error {
	if clientID == "" {
		return errors.New("empty client ID")
	}
	err := errors.Join(CheckTime("time", at), CheckText("client ID", clientID), CheckText("DNS name", dnsName))
	for i, g := range groups {
		err = errors.Join(err, CheckText(fmt.Sprintf("group %d", i), g))
	}
	return err
}

// GroupNameKey is a target group name as compared for uniqueness: Unicode
// case folding (golang.org/x/text/cases), so that names that differ only in
// case, in every script, are one name ("Σας", "σασ" and "ΣΑΣ" included).
// Every store compares the keys, never the names.
func GroupNameKey(name string) string {
	return cases.Fold().String(name)
}

// SameGroupName reports whether two target group names are one name (see
// GroupNameKey).
func SameGroupName(a, b string) bool { return GroupNameKey(a) == GroupNameKey(b) }

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
		err := errors.Join(CheckTime("TimeAtTarget", e.TimeAtTarget), CheckText("AppName", e.AppName),
			CheckInt32("EventID", e.EventID), CheckInt32("SourceID", e.SourceID))
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

// CheckInt32 reports a number outside the 32 bits every store keeps (and
// the protocol sends); what names the field.
func CheckInt32(what string, n int) error {
	if n < math.MinInt32 || n > math.MaxInt32 {
		return fmt.Errorf("%s %d is outside the 32-bit range", what, n)
	}
	return nil
}

// ValidClientID reports whether id can name a computer: a non-empty
// client ID that passes CheckText. Stores answer an ID that cannot as they
// answer an unknown computer.
func ValidClientID(id string) bool { return id != "" && CheckText("client ID", id) == nil }

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
