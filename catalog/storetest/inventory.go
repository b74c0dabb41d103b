package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// captureInfo is the computerInfo of the real RegisterComputer of capture
// scan/000004 (Windows 11 25H2 on QEMU; the DNS name test data).
func captureInfo() *catalog.ComputerInfo {
	return &catalog.ComputerInfo{
		DnsName: "pc1.contoso.local", OSMajorVersion: 10, OSBuildNumber: 26200, OSLocale: "en-US",
		ComputerManufacturer: "QEMU", ComputerModel: "Standard PC (Q35 + ICH9, 2009)",
		BiosVersion: "unknown", BiosName: "unknown", BiosReleaseDate: date("2022-02-02T00:00:00Z"),
		ProcessorArchitecture: "AMD64", SuiteMask: 256, OldProductType: 1, NewProductType: 48,
		ClientVersionMajorNumber: 1507, ClientVersionMinorNumber: 2601, ClientVersionBuildNumber: 30012,
		OSDescription: "Windows 10 Pro", OEM: "QEMU", DeviceType: "Standard PC (Q35 + ICH9, 2009)",
		FirmwareVersion: "unknown", MobileOperator: "Not Present",
	}
}

// captureHardware is part of the driver pass of capture scan/000009: its
// ComputerSpec, FeatureScoreMatchingKey and two of its devices.
func captureHardware() catalog.HardwareInventory {
	return catalog.HardwareInventory{
		ReportedAt: date("2026-10-04T15:21:02.25Z"),
		ComputerHardwareIDs: []uuid.UUID{
			uuid.MustParse("458ab48b-acb9-5863-b5a8-d2c32f0d3e6f"), uuid.MustParse("de134db0-4b4a-51d6-98c5-f62916e550a7"),
		},
		FeatureScoreMatchingKey: "AMD64.10.0",
		DeviceCount:             72,
		Devices: []catalog.InventoryDevice{
			{HardwareIDs: []string{"{6d170653-5280-44c2-ba44-2c04bc9d46da}"}, InstalledDriver: &catalog.InventoryDriver{
				MatchingID: "{6d170653-5280-44c2-ba44-2c04bc9d46da}", DriverVerDate: date("2006-06-21T00:00:00Z"),
				DriverVerVersion: 2814751477604196, Class: "Printer", Manufacturer: "Microsoft", Provider: "Microsoft",
				Model: "Universal Print Class Driver", DriverRank: -1,
			}},
			{HardwareIDs: []string{`PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00`, `PCI\VEN_1AF4&DEV_1000`},
				CompatibleIDs: []string{`PCI\VEN_1AF4&CC_020000`, `PCI\CC_0200`}},
		},
	}
}

// testComputerInventory: the whole computerInfo and the driver pass's
// hardware inventory are kept, each replaced by the next one the client
// sends and left alone by the other calls.
func testComputerInventory(t *testing.T, s catalog.Store) {
	c := ctx(t)
	at := date("2026-10-04T15:20:40Z")
	must(t, "RecordAuthorization", s.RecordAuthorization(c, client1, "pc1", nil, at))
	if got := computer(t, s, client1); got.Info != nil || got.Hardware != nil {
		t.Errorf("computer before RegisterComputer: Info %+v, Hardware %+v, want nil", got.Info, got.Hardware)
	}

	reg := registration()
	reg.Info = captureInfo()
	must(t, "RegisterComputer", s.RegisterComputer(c, reg))
	check(t, "Info after RegisterComputer", computer(t, s, client1).Info, captureInfo())

	hw := captureHardware()
	must(t, "RecordHardware", s.RecordHardware(c, client1, hw))
	got := computer(t, s, client1)
	check(t, "Hardware after RecordHardware", got.Hardware, &hw)
	check(t, "Info after RecordHardware", got.Info, captureInfo())
	list := computers(t, s)
	if len(list) != 1 || list[0].Hardware != nil || !reflect.DeepEqual(list[0].Info, captureInfo()) {
		t.Errorf("Computers: got %+v, want the computer with its Info, without Hardware", list)
	}

	// A new registration replaces the info and keeps the hardware; a new
	// driver pass replaces the hardware.
	reg.Info.OSBuildNumber, reg.Info.BiosVersion = 26300, "1.2.3"
	must(t, "RegisterComputer again", s.RegisterComputer(c, reg))
	must(t, "RecordAuthorization again", s.RecordAuthorization(c, client1, "pc1", nil, at))
	must(t, "RecordSync", s.RecordSync(c, client1, at))
	got = computer(t, s, client1)
	check(t, "Info after a second RegisterComputer", got.Info, reg.Info)
	check(t, "Hardware after a second RegisterComputer", got.Hardware, &hw)
	hw2 := catalog.HardwareInventory{ReportedAt: date("2026-10-05T00:00:00Z"), FeatureScoreMatchingKey: "ARM64.10.0"}
	must(t, "RecordHardware again", s.RecordHardware(c, client1, hw2))
	check(t, "Hardware after a second RecordHardware", computer(t, s, client1).Hardware, &hw2)

	mustNotFound(t, "RecordHardware of an unknown computer", s.RecordHardware(c, client2, hw))
	mustNotFound(t, "RecordHardware of an impossible client ID", s.RecordHardware(c, "", hw))
	for _, bad := range []struct {
		name string
		edit func(h *catalog.HardwareInventory)
	}{
		{"NUL in a hardware ID", func(h *catalog.HardwareInventory) { h.Devices[0].HardwareIDs[0] = "PCI\\\x00" }},
		{"invalid UTF-8 in a provider", func(h *catalog.HardwareInventory) { h.Devices[0].InstalledDriver.Provider = "\xff" }},
		{"too many devices", func(h *catalog.HardwareInventory) {
			h.Devices = make([]catalog.InventoryDevice, catalog.MaxInventoryDevices+1)
			h.DeviceCount = len(h.Devices)
		}},
		{"fewer devices than kept", func(h *catalog.HardwareInventory) { h.DeviceCount = 1 }},
	} {
		h := captureHardware()
		bad.edit(&h)
		mustInvalid(t, "RecordHardware with "+bad.name, s.RecordHardware(c, client1, h))
	}
	check(t, "Hardware after refused inventories", computer(t, s, client1).Hardware, &hw2)

	reg.Info.OEM = strings.Repeat("x", 10) + "\x00"
	mustInvalid(t, "RegisterComputer with a NUL in OEM", s.RegisterComputer(c, reg))
}
