package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Test data: a driver update. No real driver update document is available
// (see testdata/drivers/README.md); the values follow the shapes of
// MS-WUSP 3.1.1.1's driver tables, the hardware IDs and computer hardware
// IDs are the real ones of the native driver-pass capture
// (shared/protocol/captures/wsus-rs/wsus-m0-native/scan/000009).
var idDriver = uuid.MustParse("6b1d4e32-8e5f-4c2b-8d3f-9a7e2c4b8f02")

// fixtureDriver returns a fresh driver revision whose metadata uses every
// field of catalog.DriverMetadata, and the edge values a store must keep:
// a version above 2^63 (a uint64 a signed column or a float would lose), a
// feature score of 0 and of 255, an empty Model, a date-only DriverVerDate.
func fixtureDriver() *catalog.Revision {
	chid := func(s string) uuid.UUID { return uuid.MustParse(s) }
	return &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: idDriver, RevisionNumber: 100},
		Type:             catalog.TypeDriver,
		Title:            "Contoso Kiosk Display Adapter",
		PublicationState: "Published",
		CreationDate:     date("2025-03-11T00:00:00Z"),
		CoreXML:          `<UpdateIdentity UpdateID="6b1d4e32-8e5f-4c2b-8d3f-9a7e2c4b8f02" RevisionNumber="100" /><Properties UpdateType="Driver" />`,
		SourceXML:        `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`,
		Drivers: []catalog.DriverMetadata{
			{
				HardwareID: `ROOT\BasicDisplay`, WhqlDriverID: "90000002", Manufacturer: "Contoso", Provider: "Contoso",
				Company: "Contoso Ltd.", Class: "Display", Model: "Contoso Kiosk Display Adapter",
				DriverVerDate: date("2025-03-10T00:00:00Z"), DriverVerVersion: 1<<48 | 2<<32 | 3<<16 | 4,
				FeatureScores:                   []catalog.DriverFeatureScore{{OperatingSystem: "amd64.10.0", Score: 0xFD}, {OperatingSystem: "arm64.10.0", Score: 0}},
				DistributionComputerHardwareIDs: []uuid.UUID{chid("3673e5af-4b17-57f3-b9a4-7de906abf68b"), chid("817fca52-ae83-52f5-8642-9497f79d49d0")},
				TargetComputerHardwareIDs:       []uuid.UUID{chid("817fca52-ae83-52f5-8642-9497f79d49d0")},
				CompatibleProviders:             []string{"Microsoft", "Fabrikam"},
			},
			{
				HardwareID: `PCI\VEN_1234&DEV_1111&SUBSYS_11001AF4&REV_02`, Manufacturer: "Contoso", Provider: "Contoso",
				Class: "Display", DriverVerDate: date("2025-03-10T00:00:00Z"), DriverVerVersion: 65535<<48 | 65535<<32 | 65535<<16 | 65535,
				FeatureScores: []catalog.DriverFeatureScore{{OperatingSystem: "amd64.10.0", Score: 0xFF}},
			},
		},
	}
}

// normDrivers returns ds with empty lists as nil and dates in UTC, the form
// the suite compares in.
func normDrivers(ds []catalog.DriverMetadata) []catalog.DriverMetadata {
	if len(ds) == 0 {
		return nil
	}
	out := make([]catalog.DriverMetadata, len(ds))
	for i, d := range ds {
		d.DriverVerDate = d.DriverVerDate.UTC()
		d.FeatureScores = nilIfEmpty(d.FeatureScores)
		d.DistributionComputerHardwareIDs = nilIfEmpty(d.DistributionComputerHardwareIDs)
		d.TargetComputerHardwareIDs = nilIfEmpty(d.TargetComputerHardwareIDs)
		d.CompatibleProviders = nilIfEmpty(d.CompatibleProviders)
		out[i] = d
	}
	return out
}

// testDrivers checks driver metadata: kept by Revision and Summaries, in
// order and to the last bit; a re-import with any field changed rewrites
// it under the same ID, an identical one (dates in another zone) is
// Unchanged; what cannot be kept is refused.
func testDrivers(t *testing.T, s catalog.Store) {
	// First as a catalog from before stores kept driver metadata holds it:
	// without. Importing the same revision with its metadata rewrites it.
	revs := append(fixtureCatalog(), fixtureDriver())
	driver := revs[len(revs)-1]
	driver.Drivers = nil
	importRevs(t, s, revs)
	driver = fixtureDriver()
	check(t, "import of a driver revision stored without its metadata", importRevs(t, s, []*catalog.Revision{driver}), catalog.ImportResult{})
	if driver.ID != revs[len(revs)-1].ID {
		t.Fatalf("driver rewritten under ID %d, want %d", driver.ID, revs[len(revs)-1].ID)
	}

	got, err := s.Revision(ctx(t), driver.ID)
	must(t, "Revision of the driver", err)
	check(t, "Revision of the driver", normRevision(got), normRevision(driver))
	for _, sm := range summaries(t, s) {
		want := []catalog.DriverMetadata(nil)
		if sm.ID == driver.ID {
			want = normDrivers(fixtureDriver().Drivers)
		}
		check(t, "Summary Drivers of "+sm.UpdateID.String(), normDrivers(sm.Drivers), want)
	}

	paris := time.FixedZone("CEST", 2*60*60)
	same := fixtureDriver()
	for i := range same.Drivers {
		same.Drivers[i].DriverVerDate = same.Drivers[i].DriverVerDate.In(paris)
	}
	check(t, "re-import of the same driver", importRevs(t, s, []*catalog.Revision{same}), catalog.ImportResult{Unchanged: 1})

	changes := []struct {
		field  string
		change func(d *catalog.DriverMetadata)
	}{
		{"HardwareID", func(d *catalog.DriverMetadata) { d.HardwareID = `ROOT\BasicRender` }},
		{"WhqlDriverID", func(d *catalog.DriverMetadata) { d.WhqlDriverID = "90000009" }},
		{"Manufacturer", func(d *catalog.DriverMetadata) { d.Manufacturer = "Fabrikam" }},
		{"Provider", func(d *catalog.DriverMetadata) { d.Provider = "Fabrikam" }},
		{"Company", func(d *catalog.DriverMetadata) { d.Company = "Fabrikam Inc." }},
		{"Class", func(d *catalog.DriverMetadata) { d.Class = "Printers" }},
		{"Model", func(d *catalog.DriverMetadata) { d.Model = "" }},
		{"DriverVerDate", func(d *catalog.DriverMetadata) { d.DriverVerDate = d.DriverVerDate.AddDate(0, 0, 1) }},
		{"DriverVerVersion", func(d *catalog.DriverMetadata) { d.DriverVerVersion++ }},
		{"FeatureScore score", func(d *catalog.DriverMetadata) { d.FeatureScores[0].Score = 0xFE }},
		{"FeatureScore OS", func(d *catalog.DriverMetadata) { d.FeatureScores[0].OperatingSystem = "x86.10.0" }},
		{"FeatureScores order", func(d *catalog.DriverMetadata) {
			d.FeatureScores[0], d.FeatureScores[1] = d.FeatureScores[1], d.FeatureScores[0]
		}},
		{"distribution CHIDs", func(d *catalog.DriverMetadata) { d.DistributionComputerHardwareIDs = nil }},
		{"CHIDs moved from distribution to target", func(d *catalog.DriverMetadata) {
			d.DistributionComputerHardwareIDs, d.TargetComputerHardwareIDs = d.TargetComputerHardwareIDs, d.DistributionComputerHardwareIDs
		}},
		{"CompatibleProviders", func(d *catalog.DriverMetadata) { d.CompatibleProviders = d.CompatibleProviders[:1] }},
	}
	for _, tc := range changes {
		r := fixtureDriver()
		tc.change(&r.Drivers[0])
		res := importRevs(t, s, []*catalog.Revision{r})
		if res != (catalog.ImportResult{}) || r.ID != driver.ID {
			t.Errorf("changed driver %s: import result %+v ID %d, want a rewrite of ID %d", tc.field, res, r.ID, driver.ID)
		}
		got, err := s.Revision(ctx(t), driver.ID)
		must(t, "Revision", err)
		check(t, "Revision after a changed driver "+tc.field, normRevision(got), normRevision(r))
		importRevs(t, s, []*catalog.Revision{fixtureDriver()})
	}
	dropped := fixtureDriver()
	dropped.Drivers = dropped.Drivers[1:]
	importRevs(t, s, []*catalog.Revision{dropped})
	got, err = s.Revision(ctx(t), driver.ID)
	must(t, "Revision", err)
	check(t, "Revision after a driver entry was dropped", normRevision(got), normRevision(dropped))

	seq := changeSeq(t, s)
	bad := []struct {
		name   string
		change func(d *catalog.DriverMetadata)
	}{
		{"invalid UTF-8", func(d *catalog.DriverMetadata) { d.Model = "Contoso \xff" }},
		{"invalid UTF-8 in a feature score", func(d *catalog.DriverMetadata) { d.FeatureScores[0].OperatingSystem = "\xfe" }},
		{"year 10000", func(d *catalog.DriverMetadata) { d.DriverVerDate = date("9999-12-31T23:00:00Z").Add(2 * time.Hour) }},
	}
	for _, tc := range bad {
		r := fixtureDriver()
		tc.change(&r.Drivers[0])
		if _, err := s.ImportRevisions(ctx(t), []*catalog.Revision{r}); err == nil {
			t.Errorf("ImportRevisions accepted a driver with %s", tc.name)
		}
	}
	if got := changeSeq(t, s); got != seq {
		t.Errorf("ChangeSequence moved from %d to %d on refused imports", seq, got)
	}
}
