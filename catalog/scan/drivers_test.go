package scan_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/metadata"
	"wsus/catalog/scan"
)

// The client's computer hardware IDs, most specific first: the
// ComputerSpec of the native driver-pass capture (scan/000009).
var chids = []uuid.UUID{
	uuid.MustParse("458ab48b-acb9-5863-b5a8-d2c32f0d3e6f"),
	uuid.MustParse("de134db0-4b4a-51d6-98c5-f62916e550a7"),
	uuid.MustParse("0005a67e-b5cb-59d5-b9fd-be410637d24e"),
	uuid.MustParse("817fca52-ae83-52f5-8642-9497f79d49d0"),
	uuid.MustParse("3673e5af-4b17-57f3-b9a4-7de906abf68b"),
	uuid.MustParse("3486fece-d7a3-58e0-a818-dd3796662b51"),
}

// otherComputer is a computer hardware ID the client does not have.
var otherComputer = uuid.MustParse("c0ffee00-1111-4222-8333-444455556666")

// The device IDs of the capture's USB tablet (device 32 of scan/000009).
var (
	tabletHW     = []string{`USB\VID_0627&PID_0001&REV_0000`, `USB\VID_0627&PID_0001`}
	tabletCompat = []string{`USB\COMPAT_VID_0627&Class_03&SubClass_00&Prot_00`, `USB\Class_03&SubClass_00`, `USB\Class_03`}
)

func ver(s string) uint64 {
	v, err := metadata.ParseDriverVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func driverDay(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// entry is a driver entry on hwid, dated and versioned, with options.
func entry(hwid, date, version string, opts ...func(*catalog.DriverMetadata)) catalog.DriverMetadata {
	d := catalog.DriverMetadata{HardwareID: hwid, Class: "HIDClass", Manufacturer: "Contoso", Provider: "Contoso",
		DriverVerDate: driverDay(date), DriverVerVersion: ver(version)}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func score(os string, v uint8) func(*catalog.DriverMetadata) {
	return func(d *catalog.DriverMetadata) {
		d.FeatureScores = append(d.FeatureScores, catalog.DriverFeatureScore{OperatingSystem: os, Score: v})
	}
}

func target(ids ...uuid.UUID) func(*catalog.DriverMetadata) {
	return func(d *catalog.DriverMetadata) { d.TargetComputerHardwareIDs = ids }
}

func distribution(ids ...uuid.UUID) func(*catalog.DriverMetadata) {
	return func(d *catalog.DriverMetadata) { d.DistributionComputerHardwareIDs = ids }
}

func maker(manufacturer, provider string, compatible ...string) func(*catalog.DriverMetadata) {
	return func(d *catalog.DriverMetadata) {
		d.Class, d.Manufacturer, d.Provider, d.CompatibleProviders = "Printers", manufacturer, provider, compatible
	}
}

func driver(name string, entries ...catalog.DriverMetadata) rev {
	return rev{name: name, typ: catalog.TypeDriver, drivers: entries}
}

// tablet is the capture's tablet with an installed driver (or none).
func tablet(inst *scan.InstalledDriver) scan.Device {
	return scan.Device{HardwareIDs: tabletHW, CompatibleIDs: tabletCompat, Installed: inst}
}

// installed is an installed driver matched on id, ranked like the
// capture's generic drivers (feature score 0xFF).
func installed(id, date, version string) *scan.InstalledDriver {
	return &scan.InstalledDriver{MatchingID: id, DriverVerDate: driverDay(date), DriverVerVersion: ver(version),
		Class: "{745A17A0-74D3-11D0-B6FE-00A0C90F57DA}", DriverRank: 0x00FF3205}
}

// printer is a non-PnP printer queue device with a Microsoft driver, as the
// capture's devices 1-5.
func printer(manufacturer, provider string) scan.Device {
	return scan.Device{HardwareIDs: []string{"microsoftmicrosoft_musd"}, Installed: &scan.InstalledDriver{
		MatchingID: "microsoftmicrosoft_musd", DriverVerDate: driverDay("2006-06-21"), DriverVerVersion: ver("10.0.26100.8036"),
		Class: "Printer", Manufacturer: manufacturer, Provider: provider, Model: "Microsoft enhanced Point and Print compatibility driver",
		DriverRank: -1,
	}}
}

type driverCase struct {
	name    string
	drivers []rev
	// approve maps driver names to their approval for All Computers; nil
	// approves every driver for Install.
	approve map[string]catalog.ApprovalAction
	// setup changes the catalog further (declines, other revisions).
	setup   func(g *graph)
	devices []scan.Device
	// installed names installed non-leaf revisions; cached names
	// CachedDriverIDs (a name "#N" is the unknown revision ID N).
	installed, cached []string
	key               string
	// want maps the offered drivers to their HardwareIds.
	want       map[string][]string
	outOfScope []string
	notNeeded  bool
}

func TestDriverPass(t *testing.T) {
	const key = "AMD64.10.0"
	cases := []driverCase{
		// [MS-WUSP] 3.1.5.7 rule 1: the more specific computer hardware ID.
		{
			name: "earlier computer hardware ID beats a later one, newer date and all",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0", target(chids[2]))),
				driver("B", entry(tabletHW[0], "2024-01-01", "1.0.0.0", target(chids[0]))),
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"B": {tabletHW[0]}},
		},
		{
			name: "targeted at one of the client's computer hardware IDs beats untargeted",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0", score("amd64.10.0", 0))),
				driver("B", entry(tabletCompat[2], "2020-01-01", "1.0.0.0", target(chids[5]))),
			},
			devices: []scan.Device{tablet(nil)},
			key:     key,
			want:    map[string][]string{"B": {tabletCompat[2]}},
		},
		{
			name:    "targeted only at other computers: offered to none",
			drivers: []rev{driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0", target(otherComputer), distribution(otherComputer)))},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{},
		},
		{
			name: "distribution computer hardware IDs alone target too",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0")),
				driver("B", entry(tabletHW[0], "2024-01-01", "1.0.0.0", distribution(otherComputer, chids[4]))),
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"B": {tabletHW[0]}},
		},
		{
			// A targets chids[0] and [1] but is distributed to [1] only: it
			// ranks at [1], behind B's [0], its better feature score unused.
			name: "target and distribution IDs both: their intersection counts",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0", target(chids[0], chids[1]), distribution(chids[1]), score("amd64.10.0", 0))),
				driver("B", entry(tabletHW[0], "2024-01-01", "1.0.0.0", target(chids[0]))),
			},
			devices: []scan.Device{tablet(nil)},
			key:     key,
			want:    map[string][]string{"B": {tabletHW[0]}},
		},
		{
			name:    "target and distribution IDs with no client's ID in common: offered to none",
			drivers: []rev{driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0", target(chids[0]), distribution(chids[1])))},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{},
		},
		// Rule 2: the lower feature score for the client's key.
		{
			name: "lower feature score for the client's key, matched ignoring case",
			drivers: []rev{
				driver("A", entry(tabletHW[1], "2020-01-01", "1.0.0.0", score("amd64.10.0", 0xFD))),
				driver("B", entry(tabletHW[0], "2025-06-01", "2.0.0.0", score("arm64.10.0", 0x00))),
			},
			devices: []scan.Device{tablet(nil)},
			key:     key,
			want:    map[string][]string{"A": {tabletHW[1]}},
		},
		{
			name: "no key from the client: feature scores do not count",
			drivers: []rev{
				driver("A", entry(tabletHW[1], "2020-01-01", "1.0.0.0", score("amd64.10.0", 0x00))),
				driver("B", entry(tabletHW[0], "2019-06-01", "0.1.0.0")),
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"B": {tabletHW[0]}},
		},
		// Rule 3: the earlier matched device ID.
		{
			name: "earlier device hardware ID beats a compatible ID",
			drivers: []rev{
				driver("A", entry(tabletCompat[0], "2025-06-01", "9.0.0.0")),
				driver("B", entry(tabletHW[1], "2020-01-01", "1.0.0.0")),
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"B": {tabletHW[1]}},
		},
		{
			name:    "device IDs match ignoring case; the metadata's spelling is reported",
			drivers: []rev{driver("A", entry(`usb\vid_0627&pid_0001`, "2025-06-01", "1.0.0.0"))},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"A": {`usb\vid_0627&pid_0001`}},
		},
		{
			name:    "the best entry of a revision is the one reported",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2025-06-01", "1.0.0.0"), entry(tabletHW[1], "2025-06-01", "1.0.0.0"))},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"A": {tabletHW[1]}},
		},
		// Rules 4 and 5: the newer date, then the higher version.
		{
			name: "newer DriverVerDate beats a higher version",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2024-01-01", "9.0.0.0")),
				driver("B", entry(tabletHW[0], "2024-01-02", "1.0.0.0")),
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"B": {tabletHW[0]}},
		},
		{
			name: "same date: higher DriverVerVersion",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2024-01-01", "1.0.0.10")),
				driver("B", entry(tabletHW[0], "2024-01-01", "1.0.0.9")),
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"A": {tabletHW[0]}},
		},
		{
			name: "equal in every rule: the lower revision ID",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2024-01-01", "1.0.0.0")),
				driver("B", entry(tabletHW[0], "2024-01-01", "1.0.0.0")),
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"A": {tabletHW[0]}},
		},
		// The installed driver.
		{
			name:    "newer than the installed driver: offered",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2025-06-01", "1.0.0.0"))},
			devices: []scan.Device{tablet(installed(tabletCompat[2], "2006-06-21", "10.0.26100.7920"))},
			want:    map[string][]string{"A": {tabletCompat[2]}},
		},
		{
			name:    "older than the installed driver: not offered",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2006-06-20", "99.0.0.0"))},
			devices: []scan.Device{tablet(installed(tabletCompat[2], "2006-06-21", "10.0.26100.7920"))},
			want:    map[string][]string{},
		},
		{
			name:    "same date, higher version than installed: offered",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2006-06-21", "10.0.26100.7921"))},
			devices: []scan.Device{tablet(installed(tabletCompat[2], "2006-06-21", "10.0.26100.7920"))},
			want:    map[string][]string{"A": {tabletCompat[2]}},
		},
		{
			// Only the day of the installed DriverVerDate (an xs:dateTime) counts.
			name:    "the installed driver itself (equal is not better): not offered",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2006-06-21", "10.0.26100.7920"))},
			devices: []scan.Device{tablet(func() *scan.InstalledDriver {
				d := installed(tabletCompat[2], "2006-06-21", "10.0.26100.7920")
				d.DriverVerDate = d.DriverVerDate.Add(13*time.Hour + 45*time.Minute)
				return d
			}())},
			want: map[string][]string{},
		},
		{
			name:    "same date, lower version than installed: not offered",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2006-06-21", "10.0.26100.7919"))},
			devices: []scan.Device{tablet(installed(tabletCompat[2], "2006-06-21", "10.0.26100.7920"))},
			want:    map[string][]string{},
		},
		{
			name:    "installed on a compatible ID, older driver on a hardware ID: offered",
			drivers: []rev{driver("A", entry(tabletHW[1], "2001-01-01", "1.0.0.0"))},
			devices: []scan.Device{tablet(installed(tabletCompat[2], "2006-06-21", "10.0.26100.7920"))},
			want:    map[string][]string{"A": {tabletHW[1]}},
		},
		{
			name:    "installed driver targeted at a computer hardware ID beats an untargeted newer one",
			drivers: []rev{driver("A", entry(tabletHW[0], "2025-06-01", "99.0.0.0"))},
			devices: []scan.Device{tablet(func() *scan.InstalledDriver {
				d := installed(tabletHW[0], "2006-06-21", "1.0.0.0")
				d.MatchingComputerHWID = chids[3]
				return d
			}())},
			want: map[string][]string{},
		},
		{
			name:    "a more specific computer hardware ID than the installed driver's: offered",
			drivers: []rev{driver("A", entry(tabletHW[0], "2001-01-01", "1.0.0.0", target(chids[1])))},
			devices: []scan.Device{tablet(func() *scan.InstalledDriver {
				d := installed(tabletHW[0], "2006-06-21", "1.0.0.0")
				d.MatchingComputerHWID = chids[3]
				return d
			}())},
			want: map[string][]string{"A": {tabletHW[0]}},
		},
		{
			// DriverRank 0x00FB0000: feature score 0xFB, as the capture's
			// basic display driver.
			name:    "installed feature score (from DriverRank) beats a driver without one",
			drivers: []rev{driver("A", entry(tabletHW[0], "2025-06-01", "99.0.0.0"))},
			devices: []scan.Device{tablet(func() *scan.InstalledDriver {
				d := installed(tabletHW[0], "2006-06-21", "1.0.0.0")
				d.DriverRank = 0x00FB0000
				return d
			}())},
			key:  key,
			want: map[string][]string{},
		},
		{
			name:    "a lower feature score than the installed driver's: offered",
			drivers: []rev{driver("A", entry(tabletHW[0], "2001-01-01", "1.0.0.0", score("amd64.10.0", 0xFA)))},
			devices: []scan.Device{tablet(func() *scan.InstalledDriver {
				d := installed(tabletHW[0], "2006-06-21", "1.0.0.0")
				d.DriverRank = 0x00FB0000
				return d
			}())},
			key:  key,
			want: map[string][]string{"A": {tabletHW[0]}},
		},
		{
			// As the capture's VIOSerialPort: no MatchingID, date 0001-01-01.
			name:    "installed driver without MatchingID: any match beats it",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2001-01-01", "1.0.0.0"))},
			devices: []scan.Device{tablet(&scan.InstalledDriver{DriverRank: -1})},
			want:    map[string][]string{"A": {tabletCompat[2]}},
		},
		// Printers.
		{
			name:    "printer: same manufacturer and provider: offered",
			drivers: []rev{driver("P", entry("microsoftmicrosoft_musd", "2025-02-02", "10.0.26100.9000", maker("microsoft", "Microsoft")))},
			devices: []scan.Device{printer("Microsoft", "Microsoft")},
			want:    map[string][]string{"P": {"microsoftmicrosoft_musd"}},
		},
		{
			name:    "printer: another manufacturer: not offered",
			drivers: []rev{driver("P", entry("microsoftmicrosoft_musd", "2025-02-02", "10.0.26100.9000", maker("Contoso", "Microsoft")))},
			devices: []scan.Device{printer("Microsoft", "Microsoft")},
			want:    map[string][]string{},
		},
		{
			name:    "printer: another provider: not offered",
			drivers: []rev{driver("P", entry("microsoftmicrosoft_musd", "2025-02-02", "10.0.26100.9000", maker("Microsoft", "Contoso")))},
			devices: []scan.Device{printer("Microsoft", "Microsoft")},
			want:    map[string][]string{},
		},
		{
			name:    "printer: the installed provider is a compatible provider: offered",
			drivers: []rev{driver("P", entry("microsoftmicrosoft_musd", "2025-02-02", "10.0.26100.9000", maker("Microsoft", "Contoso", "Fabrikam", "Microsoft")))},
			devices: []scan.Device{printer("Microsoft", "Microsoft")},
			want:    map[string][]string{"P": {"microsoftmicrosoft_musd"}},
		},
		{
			name: "printer: another entry of the revision matches maker and provider: offered",
			drivers: []rev{driver("P",
				entry("microsoftmicrosoft_musd", "2025-02-02", "10.0.26100.9000", maker("Contoso", "Contoso")),
				entry(`{084f01fa-e634-4d77-83ee-074817c03581}`, "2025-02-02", "10.0.26100.9000", maker("Microsoft", "Microsoft")))},
			devices: []scan.Device{printer("Microsoft", "Microsoft")},
			want:    map[string][]string{"P": {"microsoftmicrosoft_musd"}},
		},
		{
			name:    "not a printer: maker and provider do not matter",
			drivers: []rev{driver("A", entry(tabletCompat[2], "2025-06-01", "1.0.0.0", maker("Fabrikam", "Fabrikam")))},
			devices: []scan.Device{tablet(installed(tabletCompat[2], "2006-06-21", "10.0.26100.7920"))},
			want:    map[string][]string{"A": {tabletCompat[2]}},
		},
		// Several devices, cached and out-of-scope drivers.
		{
			name: "one driver, best for two devices: each matched hardware ID once, in device order",
			drivers: []rev{driver("A",
				entry(`ACPI\PNP0A06`, "2025-06-01", "1.0.0.0"),
				entry(tabletHW[0], "2025-06-01", "1.0.0.0"))},
			devices: []scan.Device{
				tablet(nil),
				{HardwareIDs: []string{`ACPI\VEN_PNP&DEV_0A06`, `ACPI\PNP0A06`, `*PNP0A06`}},
				{HardwareIDs: []string{`ACPI\VEN_PNP&DEV_0A06`, `ACPI\PNP0A06`, `*PNP0A06`}},
			},
			want: map[string][]string{"A": {tabletHW[0], `ACPI\PNP0A06`}},
		},
		{
			name: "cached best driver: not sent again, and the second best not instead",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0")),
				driver("B", entry(tabletHW[0], "2024-01-01", "1.0.0.0")),
			},
			devices: []scan.Device{tablet(nil)},
			cached:  []string{"A"},
			want:    map[string][]string{},
		},
		{
			name: "cached drivers no longer deployed are out of scope; deployed ones stay",
			drivers: []rev{
				driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0")),
				driver("Unapproved", entry(tabletHW[0], "2026-01-01", "3.0.0.0")),
				driver("Declined", entry(tabletHW[0], "2026-01-01", "3.0.0.0")),
			},
			approve: map[string]catalog.ApprovalAction{"A": catalog.ActionInstall, "Declined": catalog.ActionInstall},
			setup: func(g *graph) {
				if err := g.store.SetDeclined(context.Background(), g.id("Declined"), true); err != nil {
					g.t.Fatal(err)
				}
			},
			devices:    []scan.Device{tablet(nil)},
			cached:     []string{"A", "Unapproved", "Declined", "#999999", "A"},
			want:       map[string][]string{},
			outOfScope: []string{"Unapproved", "Declined", "#999999"},
		},
		// Deployment.
		{
			name:      "no driver approved: DriverSyncNotNeeded",
			drivers:   []rev{driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0"))},
			approve:   map[string]catalog.ApprovalAction{},
			devices:   []scan.Device{tablet(nil)},
			want:      map[string][]string{},
			notNeeded: true,
		},
		{
			name:      "approved for Uninstall only: nothing deployed for install",
			drivers:   []rev{driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0"))},
			approve:   map[string]catalog.ApprovalAction{"A": catalog.ActionUninstall},
			devices:   []scan.Device{tablet(nil)},
			want:      map[string][]string{},
			notNeeded: true,
		},
		{
			name:    "approved but matching no device: DriverSyncNotNeeded false",
			drivers: []rev{driver("A", entry(`PCI\VEN_DEAD&DEV_BEEF`, "2025-06-01", "2.0.0.0"))},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{},
		},
		{
			name: "declined and expired drivers are not deployed",
			drivers: []rev{
				driver("Declined", entry(tabletHW[0], "2025-06-01", "2.0.0.0")),
				{name: "Expired", typ: catalog.TypeDriver, expired: true, drivers: []catalog.DriverMetadata{entry(tabletHW[0], "2025-06-01", "2.0.0.0")}},
			},
			setup: func(g *graph) {
				if err := g.store.SetDeclined(context.Background(), g.id("Declined"), true); err != nil {
					g.t.Fatal(err)
				}
			},
			devices:   []scan.Device{tablet(nil)},
			want:      map[string][]string{},
			notNeeded: true,
		},
		{
			name:    "OptionalInstall approval: offered",
			drivers: []rev{driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0"))},
			approve: map[string]catalog.ApprovalAction{"A": catalog.ActionOptionalInstall},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{"A": {tabletHW[0]}},
		},
		{
			name: "prerequisite not installed: not offered",
			drivers: []rev{
				{name: "Gated", typ: catalog.TypeDriver, prereqs: []string{"Windows 11"}, drivers: []catalog.DriverMetadata{entry(tabletHW[0], "2025-06-01", "2.0.0.0")}},
			},
			devices: []scan.Device{tablet(nil)},
			want:    map[string][]string{},
		},
		{
			name: "prerequisite installed: offered",
			drivers: []rev{
				{name: "Gated", typ: catalog.TypeDriver, prereqs: []string{"Windows 11"}, drivers: []catalog.DriverMetadata{entry(tabletHW[0], "2025-06-01", "2.0.0.0")}},
			},
			devices:   []scan.Device{tablet(nil)},
			installed: []string{"Windows 11"},
			want:      map[string][]string{"Gated": {tabletHW[0]}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, g := runDriverCase(t, c, 0)
			got := map[string][]string{}
			for _, u := range res.NewUpdates {
				name := g.name(u.RevisionID)
				got[name] = res.HardwareIDs[u.RevisionID]
				want := catalog.ActionInstall
				if a, ok := c.approve[name]; ok {
					want = a
				}
				if string(u.Deployment.Action) != string(want) || !u.IsLeaf {
					t.Errorf("%s offered as %s leaf=%v, want %s leaf", name, u.Deployment.Action, u.IsLeaf, want)
				}
			}
			if !maps.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("offered %v, want %v", got, c.want)
			}
			var oos []string
			for _, id := range res.OutOfScope {
				oos = append(oos, g.name(id))
			}
			if !slices.Equal(oos, c.outOfScope) {
				t.Errorf("OutOfScope %v, want %v", oos, c.outOfScope)
			}
			if res.DriverSyncNotNeeded != c.notNeeded || res.Truncated || len(res.ChangedUpdates) > 0 || len(res.DeployedOutOfScope) > 0 {
				t.Errorf("DriverSyncNotNeeded=%v (want %v) Truncated=%v ChangedUpdates=%v DeployedOutOfScope=%v",
					res.DriverSyncNotNeeded, c.notNeeded, res.Truncated, res.ChangedUpdates, res.DeployedOutOfScope)
			}
		})
	}
}

// runDriverCase builds the standard catalog plus the case's drivers,
// approves them and runs the driver pass for an unassigned client.
func runDriverCase(t *testing.T, c driverCase, pageSize int) (scan.SyncResult, *graph) {
	t.Helper()
	g := standard(t)
	g.add(c.drivers...)
	for _, d := range c.drivers {
		action, ok := catalog.ActionInstall, c.approve == nil
		if !ok {
			action, ok = c.approve[d.name]
		}
		if ok {
			g.approve(d.name, catalog.AllComputersGroupID, action)
		}
	}
	if c.setup != nil {
		c.setup(g)
	}
	snap := g.snapshot()
	ids := func(names []string) []int32 {
		var out []int32
		for _, n := range names {
			out = append(out, g.named(n))
		}
		return out
	}
	req := scan.SyncRequest{
		Groups: snap.ResolveGroups(nil, nil), Drivers: true, Devices: c.devices, ComputerHardwareIDs: chids,
		FeatureScoreKey: c.key, InstalledNonLeaf: ids(c.installed), CachedDrivers: ids(c.cached), PageSize: pageSize,
		// The native client sends its category filter on the driver pass
		// too; the driver pass ignores it.
		Filter: []uuid.UUID{g.id("Office")}, NeedTwoGroupOutOfScope: true,
	}
	return snap.Sync(req), g
}

// named returns the revision ID of name at revision 100, or N for "#N".
func (g *graph) named(name string) int32 {
	if n, ok := strings.CutPrefix(name, "#"); ok {
		v, err := strconv.Atoi(n)
		if err != nil {
			g.t.Fatal(err)
		}
		return int32(v)
	}
	return g.revID(name, 100)
}

// name returns the title of revision id, or "#id" when unknown.
func (g *graph) name(id int32) string {
	for _, r := range g.revs {
		if r.ID == id {
			return r.Title
		}
	}
	return "#" + strconv.Itoa(int(id))
}

// TestDriverPassPages: the driver pass pages like the software pass.
func TestDriverPassPages(t *testing.T) {
	c := driverCase{
		drivers: []rev{
			driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0")),
			driver("B", entry(`ACPI\PNP0A06`, "2025-06-01", "2.0.0.0")),
			driver("C", entry(`ROOT\BasicDisplay`, "2025-06-01", "2.0.0.0")),
		},
		devices: []scan.Device{
			{HardwareIDs: []string{`ROOT\BasicDisplay`}},
			{HardwareIDs: []string{`ACPI\VEN_PNP&DEV_0A06`, `ACPI\PNP0A06`}},
			tablet(nil),
		},
	}
	res, g := runDriverCase(t, c, 2)
	var got []string
	for _, u := range res.NewUpdates {
		got = append(got, g.name(u.RevisionID))
	}
	if !slices.Equal(got, []string{"A", "B"}) || !res.Truncated {
		t.Errorf("first page %v truncated=%v, want [A B] (revision ID order) truncated", got, res.Truncated)
	}
	c.cached = []string{"A", "B"}
	res, g = runDriverCase(t, c, 2)
	got = nil
	for _, u := range res.NewUpdates {
		got = append(got, g.name(u.RevisionID))
	}
	if !slices.Equal(got, []string{"C"}) || res.Truncated || len(res.OutOfScope) > 0 {
		t.Errorf("second page %v truncated=%v outOfScope=%v, want [C]", got, res.Truncated, res.OutOfScope)
	}
}

// TestSoftwarePassSkipsDrivers: an approved driver is never a software
// update, and the software pass keeps its observed DriverSyncNotNeeded.
func TestSoftwarePassSkipsDrivers(t *testing.T) {
	g := standard(t)
	g.add(driver("A", entry(tabletHW[0], "2025-06-01", "2.0.0.0")))
	g.approve("A", catalog.AllComputersGroupID, catalog.ActionInstall)
	snap := g.snapshot()
	res := snap.Sync(scan.SyncRequest{Groups: snap.ResolveGroups(nil, nil), InstalledNonLeaf: []int32{g.revID("Microsoft", 100)}})
	for _, u := range res.NewUpdates {
		if g.name(u.RevisionID) == "A" {
			t.Errorf("software pass delivered the driver")
		}
	}
	if res.DriverSyncNotNeeded || res.HardwareIDs != nil {
		t.Errorf("software pass: DriverSyncNotNeeded=%v HardwareIDs=%v", res.DriverSyncNotNeeded, res.HardwareIDs)
	}
}
