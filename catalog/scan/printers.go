package scan

import (
	"slices"
	"strings"

	"wsus/catalog"
)

// SyncPrinterCatalog ([MS-WUSP] 3.1.5.12): the Add Printer Wizard's sync of
// the printer drivers deployed to the client. Its request carries no
// devices, only the installed non-leaf revisions and the printer driver
// revisions the client caches (printerUpdateIDs, [MS-WUSP] 2.2.2.2.9); it
// was never observed (MS-WUSP.md section 2.1).

// printerClassGUID is the device setup class of printers
// (GUID_DEVCLASS_PRINTER), which driver metadata may name instead of the
// class name.
const printerClassGUID = "{4d36e979-e325-11ce-bfc1-08002be10318}"

// isPrinterClass reports whether a driver class names printers. The spec
// says DriverClass = Printer; the client's installed printer drivers say
// "Printer" (capture scan/000009). [I] Driver metadata may also say
// "Printers" (the INF class description) or the class GUID; all three
// count, ignoring case.
func isPrinterClass(class string) bool {
	return strings.EqualFold(class, "Printer") || strings.EqualFold(class, "Printers") ||
		strings.EqualFold(class, printerClassGUID)
}

// isPrinterDriver reports whether a driver revision has a printer entry.
func isPrinterDriver(r *catalog.Summary) bool {
	for _, d := range r.Drivers {
		if isPrinterClass(d.Class) {
			return true
		}
	}
	return false
}

// beatsInstalledPrinters applies 3.1.5.12's rule for a device that already
// has a driver: the revision must match it better than the installed
// driver does (the 3.1.5.7 comparison) and have an entry of the installed
// driver's Provider and Manufacturer (printerAllowed). It is checked on
// every printer of devices whose IDs one of the revision's entries names;
// a revision that names no installed printer is a driver for a printer the
// client does not have yet, what the wizard asks the catalog for. [I] The
// request carries no devices: devices are what the client's last driver
// pass listed (the stored hardware inventory), none when it made none.
func (s *Snapshot) beatsInstalledPrinters(r *catalog.Summary, devices []Device, m matcher) bool {
	for _, dev := range devices {
		inst := dev.Installed
		if inst == nil || !isPrinterClass(inst.Class) {
			continue
		}
		ids := append(slices.Clip(dev.HardwareIDs), dev.CompatibleIDs...)
		var best driverRank
		found := false
		for pos, id := range ids {
			for i := range r.Drivers {
				d := &r.Drivers[i]
				if !strings.EqualFold(d.HardwareID, id) {
					continue
				}
				rank, ok := m.rankEntry(d, pos)
				if ok && (!found || rank.better(best)) {
					best, found = rank, true
				}
			}
		}
		if found && (!best.better(m.rankInstalled(inst, ids)) || !printerAllowed(inst, r)) {
			return false
		}
	}
	return true
}

// SyncPrinters answers SyncPrinterCatalog ([MS-WUSP] 3.1.5.12): of the
// revisions deployed to the client for install (Install or
// OptionalInstall, as the driver pass), the driver updates with a printer
// entry (isPrinterClass) whose prerequisites the installed non-leaf
// revisions satisfy, that beat the installed printer drivers they match
// (beatsInstalledPrinters, over req.Devices), and that the client does
// not cache (req.CachedDrivers holds printerUpdateIDs); by revision ID,
// PageSize at most with Truncated, as the driver pass pages.
//
// As on the driver pass ([I] the same reasons): cached printer drivers
// leave the client's cache (OutOfScope) only once they are no longer
// deployed to it; the sync anchor and an unfinished ChangedUpdates pass
// are carried as they came, no ChangedUpdates are sent; DriverSyncNotNeeded
// is true when no printer driver is deployed to the client. Deployments
// carry no HardwareIds: no device was matched. Filter and
// NeedTwoGroupOutOfScope are ignored (the request has neither).
func (s *Snapshot) SyncPrinters(req SyncRequest) SyncResult {
	scope := s.Scope(req.Groups)
	res := SyncResult{Anchor: req.Anchor, AnchorGroups: req.AnchorGroups, Changed: req.Changed}
	if res.AnchorGroups == nil {
		res.AnchorGroups = req.Groups
	}
	installed := s.installedUpdates(req.InstalledNonLeaf)
	cached := make(map[int32]bool, len(req.CachedDrivers))
	for _, id := range req.CachedDrivers {
		cached[id] = true
	}
	m := newMatcher(req)
	deployed := map[int32]bool{}
	var offered []UpdateInfo
	for _, e := range scope.entries {
		r := s.revs[e.id]
		if r.Type != catalog.TypeDriver || (e.d.Action != Install && e.d.Action != OptionalInstall) || !isPrinterDriver(r) {
			continue
		}
		deployed[e.id] = true
		if cached[e.id] || !satisfied(r, installed) || !s.beatsInstalledPrinters(r, req.Devices, m) {
			continue
		}
		offered = append(offered, UpdateInfo{RevisionID: e.id, Deployment: e.d, IsLeaf: r.IsLeaf})
	}
	res.DriverSyncNotNeeded = len(deployed) == 0
	page := req.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	if len(offered) > page {
		offered, res.Truncated = offered[:page], true
	}
	if len(offered) > 0 {
		res.NewUpdates = offered
	}
	outOfScope := slices.Clone(req.CachedDrivers)
	slices.Sort(outOfScope)
	for _, id := range slices.Compact(outOfScope) {
		if !deployed[id] {
			res.OutOfScope = append(res.OutOfScope, id)
		}
	}
	return res
}
