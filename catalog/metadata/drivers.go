package metadata

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
)

// Driver metadata (MS-WUSP 3.1.1.1, driver tables; the WindowsDriver schema
// of MS-WUSP section 6; ../../shared/protocol/MS-WSUSSS.md section 4.2).
//
// No real driver update document is available to this project. The element
// and attribute names, the namespace and the value formats below come from
// the spec text and from Microsoft's reference implementation
// (github.com/microsoft/update-server-server-sync,
// src/library/Metadata/DriverMetadata.cs, DriverVersion.cs,
// DriverFeatureScore.cs). Where they leave something open the choice is
// marked [I]:
//
//   - The spec's XPath is /Update/ApplicabilityRules/Metadata/WindowsDriverMetaData;
//     the reference takes WindowsDriverMetaData anywhere in the document.
//     Parse reads the spec's path (every Metadata child of ApplicabilityRules).
//   - FeatureScore, DistributionComputerHardwareId and TargetComputerHardwareId
//     are not in the spec's WindowsDriver schema (it lists only
//     CompatibleProvider); the spec's driver tables and the reference read
//     them as children of WindowsDriverMetaData, in the WindowsDriver
//     namespace. Parse reads direct children in that namespace.
//   - @FeatureScore is a hexadecimal byte: the reference converts it with
//     base 16, which also accepts a "0x" prefix ("FF", "0xfd").
//   - @DriverVerDate is an xs:date; the reference accepts "yyyy-MM-dd" only,
//     and so does Parse.
//   - @DriverVerVersion is four dot-separated 16-bit numbers ("a.b.c.d"),
//     packed a<<48|b<<32|c<<16|d like the reference does and as the client
//     sends installedDriver/DriverVerVersion.
//   - The schema makes every attribute required. Like the reference, Parse
//     takes a missing DriverVerDate or DriverVerVersion as the zero value
//     (the oldest date, version 0.0.0.0) and a missing string attribute as
//     empty; a malformed value, or a missing HardwareID (which the driver
//     table is keyed by), is an error.
//   - A Driver update without any WindowsDriverMetaData is accepted, with no
//     driver entries (it can then match no device). [I]

// parseDrivers reads the WindowsDriverMetaData elements of a driver update.
func parseDrivers(root *etree.Element) ([]catalog.DriverMetadata, error) {
	rules := updChild(root, "ApplicabilityRules")
	if rules == nil {
		return nil, nil
	}
	var out []catalog.DriverMetadata
	for _, md := range updChildren(rules, "Metadata") {
		for _, e := range md.ChildElements() {
			if e.Tag != "WindowsDriverMetaData" || e.Space != nsWindowsDriver {
				continue
			}
			d, err := parseDriver(e)
			if err != nil {
				return nil, fmt.Errorf("bad WindowsDriverMetaData[%d]: %w", len(out)+1, err)
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// parseDriver reads one WindowsDriverMetaData element.
func parseDriver(e *etree.Element) (catalog.DriverMetadata, error) {
	d := catalog.DriverMetadata{
		HardwareID:   e.SelectAttrValue("HardwareID", ""),
		WhqlDriverID: e.SelectAttrValue("WhqlDriverID", ""),
		Manufacturer: e.SelectAttrValue("Manufacturer", ""),
		Provider:     e.SelectAttrValue("Provider", ""),
		Company:      e.SelectAttrValue("Company", ""),
		Class:        e.SelectAttrValue("Class", ""),
		Model:        e.SelectAttrValue("Model", ""),
	}
	if d.HardwareID == "" {
		return d, errors.New("missing HardwareID")
	}
	var err error
	if a := e.SelectAttr("DriverVerDate"); a != nil {
		if d.DriverVerDate, err = parseDriverDate(a.Value); err != nil {
			return d, fmt.Errorf("%s: DriverVerDate: %w", d.HardwareID, err)
		}
	}
	if a := e.SelectAttr("DriverVerVersion"); a != nil {
		if d.DriverVerVersion, err = ParseDriverVersion(a.Value); err != nil {
			return d, fmt.Errorf("%s: DriverVerVersion: %w", d.HardwareID, err)
		}
	}
	for _, c := range e.ChildElements() {
		if c.Space != nsWindowsDriver {
			continue
		}
		switch c.Tag {
		case "FeatureScore":
			fs := catalog.DriverFeatureScore{OperatingSystem: c.SelectAttrValue("OperatingSystem", "")}
			if fs.OperatingSystem == "" {
				return d, fmt.Errorf("%s: FeatureScore without OperatingSystem", d.HardwareID)
			}
			if fs.Score, err = parseFeatureScore(c.SelectAttrValue("FeatureScore", "")); err != nil {
				return d, fmt.Errorf("%s: FeatureScore %s: %w", d.HardwareID, fs.OperatingSystem, err)
			}
			d.FeatureScores = append(d.FeatureScores, fs)
		case "DistributionComputerHardwareId", "TargetComputerHardwareId":
			s := strings.TrimSpace(innerText(c))
			id, err := uuid.Parse(s)
			if err != nil {
				return d, fmt.Errorf("%s: %s %q is not a GUID", d.HardwareID, c.Tag, s)
			}
			if c.Tag == "TargetComputerHardwareId" {
				d.TargetComputerHardwareIDs = append(d.TargetComputerHardwareIDs, id)
			} else {
				d.DistributionComputerHardwareIDs = append(d.DistributionComputerHardwareIDs, id)
			}
		case "CompatibleProvider":
			if p := strings.TrimSpace(innerText(c)); p != "" {
				d.CompatibleProviders = append(d.CompatibleProviders, p)
			}
		}
	}
	return d, nil
}

// parseDriverDate parses a WindowsDriverMetaData/@DriverVerDate
// ("2025-06-01") as midnight UTC of that day.
func parseDriverDate(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a yyyy-mm-dd date", s)
	}
	return inStoredYears(s, t)
}

// ParseDriverVersion parses a four-part driver version "a.b.c.d" (each part
// 0-65535) into the 64-bit integer a<<48 | b<<32 | c<<16 | d.
func ParseDriverVersion(s string) (uint64, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, fmt.Errorf("%q is not a four-part version a.b.c.d", s)
	}
	var v uint64
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a four-part version of 16-bit numbers", s)
		}
		v = v<<16 | n
	}
	return v, nil
}

// FormatDriverVersion writes a packed driver version as "a.b.c.d".
func FormatDriverVersion(v uint64) string {
	return fmt.Sprintf("%d.%d.%d.%d", v>>48, v>>32&0xFFFF, v>>16&0xFFFF, v&0xFFFF)
}

// parseFeatureScore parses a hexadecimal byte, with or without "0x".
func parseFeatureScore(s string) (uint8, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if h == "" {
		return 0, fmt.Errorf("%q is not a hexadecimal byte", s)
	}
	n, err := strconv.ParseUint(h, 16, 8)
	if err != nil {
		return 0, fmt.Errorf("%q is not a hexadecimal byte", s)
	}
	return uint8(n), nil
}
