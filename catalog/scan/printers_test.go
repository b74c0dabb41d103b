package scan_test

import (
	"slices"
	"testing"

	"wsus/catalog"
	"wsus/catalog/scan"
)

// printerCase is one SyncPrinterCatalog over the standard catalog plus the
// case's drivers; names as in driverCase.
type printerCase struct {
	name    string
	drivers []rev
	// approve maps driver names to their approval for All Computers; nil
	// approves every driver for Install.
	approve map[string]catalog.ApprovalAction
	// devices are the client's stored hardware (its last driver pass).
	devices           []scan.Device
	installed, cached []string
	// want are the offered drivers, in order, with their actions.
	want       []string
	actions    map[string]catalog.ApprovalAction
	outOfScope []string
	notNeeded  bool
}

// queueHW is the hardware ID of a printer the client does not have.
const queueHW = "contosocontoso_laser_5000"

func TestSyncPrinters(t *testing.T) {
	newer := func(hw string, opts ...func(*catalog.DriverMetadata)) catalog.DriverMetadata {
		return entry(hw, "2025-02-02", "10.0.26100.9000", opts...)
	}
	cases := []printerCase{
		{
			name:    "a printer driver for a printer not installed: offered as deployed",
			drivers: []rev{driver("Laser", newer(queueHW, maker("Contoso", "Contoso")))},
			want:    []string{"Laser"},
		},
		{
			name: "other drivers are not in the printer catalog",
			drivers: []rev{
				driver("Tablet", entry(tabletHW[0], "2025-06-01", "2.0.0.0")),
				driver("Laser", newer(queueHW, maker("Contoso", "Contoso"))),
			},
			devices: []scan.Device{tablet(nil)},
			want:    []string{"Laser"},
		},
		{
			name: "a class GUID or the class name Printer counts",
			drivers: []rev{
				driver("By GUID", newer(queueHW, func(d *catalog.DriverMetadata) { d.Class = "{4D36E979-E325-11CE-BFC1-08002BE10318}" })),
				driver("By name", newer(queueHW+"2", func(d *catalog.DriverMetadata) { d.Class = "printer" })),
			},
			want: []string{"By GUID", "By name"},
		},
		{
			name:      "not approved: nothing, and no sync needed",
			drivers:   []rev{driver("Laser", newer(queueHW, maker("Contoso", "Contoso")))},
			approve:   map[string]catalog.ApprovalAction{},
			notNeeded: true,
		},
		{
			name:      "approved for uninstall: not offered",
			drivers:   []rev{driver("Laser", newer(queueHW, maker("Contoso", "Contoso")))},
			approve:   map[string]catalog.ApprovalAction{"Laser": catalog.ActionUninstall},
			notNeeded: true,
		},
		{
			name:    "approved as optional: offered so",
			drivers: []rev{driver("Laser", newer(queueHW, maker("Contoso", "Contoso")))},
			approve: map[string]catalog.ApprovalAction{"Laser": catalog.ActionOptionalInstall},
			want:    []string{"Laser"},
			actions: map[string]catalog.ApprovalAction{"Laser": catalog.ActionOptionalInstall},
		},
		{
			name:    "cached: not sent again, kept",
			drivers: []rev{driver("Laser", newer(queueHW, maker("Contoso", "Contoso")))},
			cached:  []string{"Laser"},
		},
		{
			name:       "cached but no longer deployed: out of scope",
			drivers:    []rev{driver("Laser", newer(queueHW, maker("Contoso", "Contoso")))},
			cached:     []string{"Laser", "#4242"},
			outOfScope: []string{"#4242"},
		},
		{
			name:    "an installed printer of another manufacturer is not replaced",
			drivers: []rev{driver("Laser", newer("microsoftmicrosoft_musd", maker("Contoso", "Contoso", "Microsoft")))},
			devices: []scan.Device{printer("Microsoft", "Microsoft")},
		},
		{
			name:    "an installed printer of the same manufacturer and provider gets a better driver",
			drivers: []rev{driver("Laser", newer("microsoftmicrosoft_musd", maker("Contoso", "Contoso")))},
			devices: []scan.Device{printer("Contoso", "Contoso")},
			want:    []string{"Laser"},
		},
		{
			name:    "a compatible provider stands in for the provider",
			drivers: []rev{driver("Laser", newer("microsoftmicrosoft_musd", maker("Contoso", "Contoso", "Microsoft")))},
			devices: []scan.Device{printer("Contoso", "Microsoft")},
			want:    []string{"Laser"},
		},
		{
			name:    "not better than the installed driver: not offered",
			drivers: []rev{driver("Old", entry("microsoftmicrosoft_musd", "2005-01-01", "6.0.0.0", maker("Contoso", "Contoso")))},
			devices: []scan.Device{printer("Contoso", "Contoso")},
		},
		{
			name: "prerequisite not installed: not offered",
			drivers: []rev{{name: "Gated", typ: catalog.TypeDriver, prereqs: []string{"Windows 11"},
				drivers: []catalog.DriverMetadata{newer(queueHW, maker("Contoso", "Contoso"))}}},
		},
		{
			name: "prerequisite installed: offered",
			drivers: []rev{{name: "Gated", typ: catalog.TypeDriver, prereqs: []string{"Windows 11"},
				drivers: []catalog.DriverMetadata{newer(queueHW, maker("Contoso", "Contoso"))}}},
			installed: []string{"Windows 11"},
			want:      []string{"Gated"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, g := runPrinterCase(t, c, 0)
			var got []string
			for _, u := range res.NewUpdates {
				name := g.name(u.RevisionID)
				got = append(got, name)
				want := catalog.ActionInstall
				if a, ok := c.actions[name]; ok {
					want = a
				}
				if string(u.Deployment.Action) != string(want) || !u.IsLeaf || len(res.HardwareIDs[u.RevisionID]) > 0 {
					t.Errorf("%s offered as %s leaf=%v hardware IDs %v, want %s leaf without hardware IDs",
						name, u.Deployment.Action, u.IsLeaf, res.HardwareIDs[u.RevisionID], want)
				}
			}
			if !slices.Equal(got, c.want) {
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

// TestSyncPrintersPages: the printer catalog pages like the driver pass,
// by revision ID.
func TestSyncPrintersPages(t *testing.T) {
	c := printerCase{drivers: []rev{
		driver("A", entry(queueHW+"a", "2025-06-01", "2.0.0.0", maker("Contoso", "Contoso"))),
		driver("B", entry(queueHW+"b", "2025-06-01", "2.0.0.0", maker("Contoso", "Contoso"))),
		driver("C", entry(queueHW+"c", "2025-06-01", "2.0.0.0", maker("Contoso", "Contoso"))),
	}}
	res, g := runPrinterCase(t, c, 2)
	var got []string
	for _, u := range res.NewUpdates {
		got = append(got, g.name(u.RevisionID))
	}
	if !slices.Equal(got, []string{"A", "B"}) || !res.Truncated {
		t.Errorf("first page %v truncated=%v, want [A B] truncated", got, res.Truncated)
	}
	c.cached = []string{"A", "B"}
	res, g = runPrinterCase(t, c, 2)
	got = nil
	for _, u := range res.NewUpdates {
		got = append(got, g.name(u.RevisionID))
	}
	if !slices.Equal(got, []string{"C"}) || res.Truncated || len(res.OutOfScope) > 0 {
		t.Errorf("second page %v truncated=%v outOfScope=%v, want [C]", got, res.Truncated, res.OutOfScope)
	}
}

// runPrinterCase builds the standard catalog plus the case's drivers,
// approves them and runs SyncPrinters for an unassigned client.
func runPrinterCase(t *testing.T, c printerCase, pageSize int) (scan.SyncResult, *graph) {
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
	snap := g.snapshot()
	ids := func(names []string) []int32 {
		var out []int32
		for _, n := range names {
			out = append(out, g.named(n))
		}
		return out
	}
	return snap.SyncPrinters(scan.SyncRequest{
		Groups: snap.ResolveGroups(nil, nil), Devices: c.devices, ComputerHardwareIDs: chids,
		InstalledNonLeaf: ids(c.installed), CachedDrivers: ids(c.cached), PageSize: pageSize,
	}), g
}
