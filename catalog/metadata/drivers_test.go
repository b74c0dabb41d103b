package metadata_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/metadata"
)

// driverDocs holds the synthetic driver documents (see its README: built
// from the spec text and Microsoft's reference code, not real metadata).
const driverDocs = "../../testdata/drivers"

func readDriverDoc(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(driverDocs, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseDriverMetadata(t *testing.T) {
	redHat := func(hwid string) catalog.DriverMetadata {
		return catalog.DriverMetadata{
			HardwareID: hwid, WhqlDriverID: "90000001", Manufacturer: "Red Hat, Inc.", Provider: "Red Hat, Inc.",
			Company: "Red Hat, Inc.", Class: "Net", Model: "Red Hat VirtIO Ethernet Adapter",
			DriverVerDate: day("2025-06-01"), DriverVerVersion: 100<<48 | 101<<32 | 104<<16 | 27000,
			FeatureScores: []catalog.DriverFeatureScore{{OperatingSystem: "amd64.10.0", Score: 0xFF}},
		}
	}
	chid3, chid4 := uuid.MustParse("817fca52-ae83-52f5-8642-9497f79d49d0"), uuid.MustParse("3673e5af-4b17-57f3-b9a4-7de906abf68b")
	tests := []struct {
		file string
		id   string
		want []catalog.DriverMetadata
	}{
		{"driver-synthetic-virtio-net-5a0c3f21-r100.xml", "5a0c3f21-7d4e-4b1a-9c2e-8f6d1b3a7e01", []catalog.DriverMetadata{
			redHat(`PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00`),
			redHat(`PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4`),
		}},
		{"driver-synthetic-display-chid-6b1d4e32-r100.xml", "6b1d4e32-8e5f-4c2b-8d3f-9a7e2c4b8f02", []catalog.DriverMetadata{{
			HardwareID: `ROOT\BasicDisplay`, WhqlDriverID: "90000002", Manufacturer: "Contoso", Provider: "Contoso",
			Company: "Contoso Ltd.", Class: "Display", Model: "Contoso Kiosk Display Adapter",
			DriverVerDate: day("2025-03-10"), DriverVerVersion: 1<<48 | 2<<32 | 3<<16 | 4,
			// "0xFD" and "F0": the reference parses base 16, with or without the prefix.
			FeatureScores:                   []catalog.DriverFeatureScore{{OperatingSystem: "amd64.10.0", Score: 0xFD}, {OperatingSystem: "arm64.10.0", Score: 0xF0}},
			DistributionComputerHardwareIDs: []uuid.UUID{chid4, chid3, uuid.MustParse("c0ffee00-1111-4222-8333-444455556666")},
			// Braces and upper case, as .NET's Guid.Parse takes them.
			TargetComputerHardwareIDs: []uuid.UUID{chid3, chid4},
		}}},
		{"driver-synthetic-printer-7c2e5f43-r100.xml", "7c2e5f43-9f60-4d3c-9e4a-ab8f3d5c9003", []catalog.DriverMetadata{{
			HardwareID: "microsoftmicrosoft_musd", WhqlDriverID: "90000003", Manufacturer: "Contoso", Provider: "Contoso",
			Company: "Contoso Ltd.", Class: "Printers", Model: "Contoso Universal Printer",
			DriverVerDate: day("2025-02-02"), DriverVerVersion: 10<<48 | 0<<32 | 26100<<16 | 9000,
			CompatibleProviders: []string{"Microsoft"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rev, err := metadata.Parse([]byte(readDriverDoc(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if rev.Type != catalog.TypeDriver || rev.UpdateID != uuid.MustParse(tt.id) || rev.RevisionNumber != 100 {
				t.Errorf("identity %v/%d type %s", rev.UpdateID, rev.RevisionNumber, rev.Type)
			}
			if !reflect.DeepEqual(rev.Drivers, tt.want) {
				t.Errorf("Drivers\n got %+v\nwant %+v", rev.Drivers, tt.want)
			}
			// The Core fragment carries the metadata renamed d.X, namespaces
			// stripped, as MS-WUSP 3.1.1.1 derives it.
			if !strings.Contains(rev.CoreXML, `<ApplicabilityRules><IsInstalled><d.WindowsDriverInstalled /></IsInstalled>`) ||
				!strings.Contains(rev.CoreXML, `<Metadata><d.WindowsDriverMetaData HardwareID="`) {
				t.Errorf("Core fragment lacks the d.X driver elements: %s", rev.CoreXML)
			}
		})
	}
}

// TestDriverMetadataOnlyForDrivers: WindowsDriverMetaData in a software
// update is not read (the driver table holds Driver updates only, MS-WUSP
// 3.1.1.1), and a driver update without any is accepted with none.
func TestDriverMetadataOnlyForDrivers(t *testing.T) {
	doc := readDriverDoc(t, "driver-synthetic-printer-7c2e5f43-r100.xml")
	rev, err := metadata.Parse(replaceOnce(t, doc, `UpdateType="Driver"`, `UpdateType="Software"`))
	if err != nil {
		t.Fatal(err)
	}
	if rev.Drivers != nil {
		t.Errorf("software update got Drivers %+v", rev.Drivers)
	}
	start, end := strings.Index(doc, "<upd:Metadata>"), strings.Index(doc, "</upd:Metadata>")+len("</upd:Metadata>")
	rev, err = metadata.Parse([]byte(doc[:start] + doc[end:]))
	if err != nil {
		t.Fatal(err)
	}
	if rev.Type != catalog.TypeDriver || rev.Drivers != nil {
		t.Errorf("driver without metadata: type %s Drivers %+v", rev.Type, rev.Drivers)
	}
}

func TestParseDriverMetadataErrors(t *testing.T) {
	display := readDriverDoc(t, "driver-synthetic-display-chid-6b1d4e32-r100.xml")
	tests := []struct {
		name, old, repl, want string
	}{
		{"missing HardwareID", `HardwareID="ROOT\BasicDisplay" `, "", "bad WindowsDriverMetaData[1]: missing HardwareID"},
		{"empty date", `DriverVerDate="2025-03-10"`, `DriverVerDate=""`, `ROOT\BasicDisplay: DriverVerDate: "" is not a yyyy-mm-dd date`},
		{"date with time", `DriverVerDate="2025-03-10"`, `DriverVerDate="2025-03-10T00:00:00Z"`, `DriverVerDate: "2025-03-10T00:00:00Z" is not a yyyy-mm-dd date`},
		{"three-part version", `DriverVerVersion="1.2.3.4"`, `DriverVerVersion="1.2.3"`, `DriverVerVersion: "1.2.3" is not a four-part version`},
		{"version part over 16 bits", `DriverVerVersion="1.2.3.4"`, `DriverVerVersion="1.2.3.65536"`, `DriverVerVersion: "1.2.3.65536" is not a four-part version of 16-bit numbers`},
		{"signed version part", `DriverVerVersion="1.2.3.4"`, `DriverVerVersion="1.+2.3.4"`, `"1.+2.3.4" is not a four-part version of 16-bit numbers`},
		{"feature score not hex", `FeatureScore="F0"`, `FeatureScore="G0"`, `FeatureScore arm64.10.0: "G0" is not a hexadecimal byte`},
		{"feature score over a byte", `FeatureScore="F0"`, `FeatureScore="100"`, `"100" is not a hexadecimal byte`},
		{"feature score empty", `FeatureScore="F0"`, `FeatureScore="0x"`, `"0x" is not a hexadecimal byte`},
		{"feature score without OS", `OperatingSystem="arm64.10.0" `, "", "FeatureScore without OperatingSystem"},
		{"bad target CHID", `{817FCA52-AE83-52F5-8642-9497F79D49D0}`, `not-a-guid`, `TargetComputerHardwareId "not-a-guid" is not a GUID`},
		{"bad distribution CHID", `c0ffee00-1111-4222-8333-444455556666`, ``, `DistributionComputerHardwareId "" is not a GUID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := metadata.Parse(replaceOnce(t, display, tt.old, tt.repl))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), "metadata: parse: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q and %q", err, "metadata: parse: ", tt.want)
			}
		})
	}
}

// TestDriverMetadataMissingVersioning: like the reference, a missing
// DriverVerDate or DriverVerVersion reads as the zero value (the schema
// makes both required, so real metadata has them).
func TestDriverMetadataMissingVersioning(t *testing.T) {
	doc := readDriverDoc(t, "driver-synthetic-display-chid-6b1d4e32-r100.xml")
	doc = string(replaceOnce(t, doc, `DriverVerDate="2025-03-10" `, ""))
	rev, err := metadata.Parse(replaceOnce(t, doc, `DriverVerVersion="1.2.3.4" `, ""))
	if err != nil {
		t.Fatal(err)
	}
	if d := rev.Drivers[0]; !d.DriverVerDate.IsZero() || d.DriverVerVersion != 0 || d.HardwareID != `ROOT\BasicDisplay` {
		t.Errorf("driver without versioning: %+v", d)
	}
}

func TestDriverVersionRoundTrip(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.0.26100.8036", "65535.65535.65535.65535", "100.101.104.27000"} {
		v, err := metadata.ParseDriverVersion(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got := metadata.FormatDriverVersion(v); got != s {
			t.Errorf("%s -> %d -> %s", s, v, got)
		}
	}
	// The client's installedDriver/DriverVerVersion of the capture's printer
	// drivers is 2814751477604196: 10.0.26100.8036.
	if v, _ := metadata.ParseDriverVersion("10.0.26100.8036"); v != 2814751477604196 {
		t.Errorf("10.0.26100.8036 packs to %d, want the client's 2814751477604196", v)
	}
}
