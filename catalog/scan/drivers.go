package scan

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// The driver pass of SyncUpdates (SkipSoftwareSync=true): matching the
// approved driver updates against the devices the client lists in
// SystemSpec, by the rules of [MS-WUSP] 3.1.5.7 (MS-WUSP.md section 5.4).
// Driver offers were never observed from a real WSUS (MS-WUSP.md section
// 10); where the spec, Microsoft's reference server
// (github.com/microsoft/update-server-server-sync,
// src/microsoft-update-endpoints/ClientSync/ClientSync_Drivers.cs and
// src/library/Storage/Metadata/CompressedMetadataStore-DriversIndex.cs) and
// this code part ways, it says so below.

// Device is one Device of a driver pass's SystemSpec.
type Device struct {
	// HardwareIDs and CompatibleIDs are the device's IDs, most specific
	// first; matching walks HardwareIDs, then CompatibleIDs.
	HardwareIDs   []string
	CompatibleIDs []string
	// Installed is the driver installed on the device, nil when the client
	// sent no installedDriver.
	Installed *InstalledDriver
}

// InstalledDriver is a Device's installedDriver.
type InstalledDriver struct {
	// MatchingID is the hardware or compatible ID the driver was installed
	// on; empty when the client sent none.
	MatchingID string
	// DriverVerDate is the driver's date (only the day counts).
	DriverVerDate time.Time
	// DriverVerVersion is the driver's version, packed like
	// catalog.DriverMetadata.DriverVerVersion (the client sends it as an
	// xs:long).
	DriverVerVersion uint64
	Class            string
	Manufacturer     string
	Provider         string
	Model            string
	// MatchingComputerHWID is the computer hardware ID the driver was
	// targeted at, uuid.Nil when none (the client sends xsi:nil).
	MatchingComputerHWID uuid.UUID
	// DriverRank is Windows' rank of the driver for the device,
	// 0xSSGGTHHH; -1 when unknown.
	DriverRank int32
}

// noFeatureScore is the feature score of a driver that declares none for
// the client's FeatureScoreMatchingKey: 0xFF, what Windows assigns a driver
// without a FeatureScore directive (learn.microsoft.com, "Feature Score
// (Windows Vista and later)"), the worst score.
const noFeatureScore = 0xFF

// noComputerMatch ranks a driver that targets no computer hardware ID
// after every driver that targets one of the client's.
const noComputerMatch = math.MaxInt32

// driverRank is how well one driver entry matches one device: the fields
// of the [MS-WUSP] 3.1.5.7 comparison, in its order.
type driverRank struct {
	// computer is the position in the client's ComputerSpec/HardwareIDs of
	// the most specific computer hardware ID the driver targets (lower is
	// better), noComputerMatch when it targets none.
	computer int
	// score is the feature score for the client's FeatureScoreMatchingKey
	// (lower is better).
	score int
	// position is the position of the matched ID in the device's
	// HardwareIDs then CompatibleIDs (lower is better).
	position int
	// date is the driver date, a day (later is better).
	date time.Time
	// version is the packed driver version (higher is better).
	version uint64
}

// better reports whether a is a better match than b: the first of the
// rules that tells them apart decides ([MS-WUSP] 3.1.5.7).
func (a driverRank) better(b driverRank) bool {
	switch {
	case a.computer != b.computer:
		return a.computer < b.computer
	case a.score != b.score:
		return a.score < b.score
	case a.position != b.position:
		return a.position < b.position
	case !a.date.Equal(b.date):
		return a.date.After(b.date)
	default:
		return a.version > b.version
	}
}

// driverRef names one driver entry of a revision.
type driverRef struct {
	rev   *catalog.Summary
	entry int
}

// indexDrivers maps each lower-cased driver hardware ID to the entries of
// the newest driver revisions naming it, in revision ID order.
func indexDrivers(ordered []*catalog.Summary) map[string][]driverRef {
	idx := map[string][]driverRef{}
	for _, r := range ordered {
		if r.Type != catalog.TypeDriver {
			continue
		}
		for i, d := range r.Drivers {
			k := strings.ToLower(d.HardwareID)
			idx[k] = append(idx[k], driverRef{rev: r, entry: i})
		}
	}
	return idx
}

// matcher ranks drivers for one client.
type matcher struct {
	// computers maps the client's computer hardware IDs to their position.
	computers map[uuid.UUID]int
	key       string
}

func newMatcher(req SyncRequest) matcher {
	m := matcher{computers: make(map[uuid.UUID]int, len(req.ComputerHardwareIDs)), key: req.FeatureScoreKey}
	for i, id := range req.ComputerHardwareIDs {
		if _, dup := m.computers[id]; !dup {
			m.computers[id] = i
		}
	}
	return m
}

// computerTargets are the computer hardware IDs a driver entry is limited
// to: both lists when it has both (their intersection, as the reference
// indexes them), else whichever it has. An entry with none targets every
// computer. [I] The spec names only "Computer HardwareId" targeting; the
// reference treats Target and Distribution IDs alike.
func computerTargets(d *catalog.DriverMetadata) []uuid.UUID {
	switch {
	case len(d.TargetComputerHardwareIDs) > 0 && len(d.DistributionComputerHardwareIDs) > 0:
		var both []uuid.UUID
		for _, id := range d.TargetComputerHardwareIDs {
			if slices.Contains(d.DistributionComputerHardwareIDs, id) {
				both = append(both, id)
			}
		}
		return both
	case len(d.TargetComputerHardwareIDs) > 0:
		return d.TargetComputerHardwareIDs
	default:
		return d.DistributionComputerHardwareIDs
	}
}

// rankEntry ranks driver entry d matched at position pos of a device. ok
// is false when d targets computers and none of them is the client's: such
// a driver is offered to no other computer (as the reference does).
func (m matcher) rankEntry(d *catalog.DriverMetadata, pos int) (r driverRank, ok bool) {
	r = driverRank{computer: noComputerMatch, score: noFeatureScore, position: pos, date: day(d.DriverVerDate), version: d.DriverVerVersion}
	if len(d.TargetComputerHardwareIDs)+len(d.DistributionComputerHardwareIDs) > 0 {
		for _, id := range computerTargets(d) {
			if i, found := m.computers[id]; found && i < r.computer {
				r.computer = i
			}
		}
		if r.computer == noComputerMatch {
			return r, false
		}
	}
	// [I] The spec says the key selects the feature score; the reference
	// ignores the key and takes the lowest score of any operating system.
	// A driver without a score for the key (or a client that sends no key)
	// counts as 0xFF.
	if m.key != "" {
		for _, fs := range d.FeatureScores {
			if strings.EqualFold(fs.OperatingSystem, m.key) {
				r.score = int(fs.Score)
				break
			}
		}
	}
	return r, true
}

// rankInstalled ranks the driver installed on a device by the same rules:
// its computer hardware ID, the feature score byte of its DriverRank
// (0x00GG0000 of 0xSSGGTHHH; the reference means to read the same byte but
// shifts it out), the position of its MatchingID among the device's IDs
// (after all of them when absent), its date and version.
func (m matcher) rankInstalled(inst *InstalledDriver, ids []string) driverRank {
	r := driverRank{computer: noComputerMatch, position: len(ids), date: day(inst.DriverVerDate), version: inst.DriverVerVersion}
	if inst.MatchingComputerHWID != uuid.Nil {
		if i, found := m.computers[inst.MatchingComputerHWID]; found {
			r.computer = i
		}
	}
	r.score = int(uint32(inst.DriverRank) >> 16 & 0xFF)
	if inst.MatchingID != "" {
		for i, id := range ids {
			if strings.EqualFold(id, inst.MatchingID) {
				r.position = i
				break
			}
		}
	}
	return r
}

// day is the UTC day t falls on.
func day(t time.Time) time.Time {
	y, mo, d := t.UTC().Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// match is the best driver found for one device.
type match struct {
	ref  driverRef
	rank driverRank
}

// best returns the best driver entry for a device among the eligible
// revisions ([MS-WUSP] 3.1.5.7: the one no other entry beats). Of entries
// that rank equal, the revision with the lowest ID wins ([I]: the spec's
// pair-wise elimination leaves ties open).
func (s *Snapshot) best(ids []string, eligible map[int32]bool, m matcher) (match, bool) {
	var b match
	found := false
	for pos, id := range ids {
		for _, ref := range s.driverIndex[strings.ToLower(id)] {
			if !eligible[ref.rev.ID] {
				continue
			}
			r, ok := m.rankEntry(&ref.rev.Drivers[ref.entry], pos)
			if !ok {
				continue
			}
			if !found || r.better(b.rank) {
				b, found = match{ref: ref, rank: r}, true
			}
		}
	}
	return b, found
}

// printerAllowed applies the printer rule of [MS-WUSP] 3.1.5.7: a driver
// replaces an installed printer driver (Class "Printer", see
// isPrinterClass) only if the
// revision has an entry of the installed driver's Manufacturer and
// Provider. The WindowsDriver schema (MS-WUSP section 6) also lets the
// entry's CompatibleProvider list stand in for Provider; 3.1.5.7 does not
// mention it. [I] Names compare ignoring case, and any entry of the
// revision counts, as the spec words it (not only the matched one).
func printerAllowed(inst *InstalledDriver, r *catalog.Summary) bool {
	if !isPrinterClass(inst.Class) {
		return true
	}
	for _, d := range r.Drivers {
		if !strings.EqualFold(d.Manufacturer, inst.Manufacturer) {
			continue
		}
		if strings.EqualFold(d.Provider, inst.Provider) {
			return true
		}
		for _, p := range d.CompatibleProviders {
			if strings.EqualFold(p, inst.Provider) {
				return true
			}
		}
	}
	return false
}

// syncDrivers answers a driver pass (see Sync).
func (s *Snapshot) syncDrivers(req SyncRequest, scope *Scope) SyncResult {
	// The driver pass does not move the sync anchor and reports no
	// ChangedUpdates: the client caches drivers apart (CachedDriverIDs),
	// and the one anchor its cookie carries already passed every
	// deployment in scope on the software pass. A changed driver
	// deployment is therefore not re-sent. [I] It leaves an unfinished
	// ChangedUpdates pass to the next software round.
	res := SyncResult{Anchor: req.Anchor, AnchorGroups: req.AnchorGroups, Changed: req.Changed}
	if res.AnchorGroups == nil {
		res.AnchorGroups = req.Groups
	}
	installed := s.installedUpdates(req.InstalledNonLeaf)
	deployed := map[int32]Deployment{}
	eligible := map[int32]bool{}
	for _, e := range scope.entries {
		r := s.revs[e.id]
		if r.Type != catalog.TypeDriver || (e.d.Action != Install && e.d.Action != OptionalInstall) {
			continue
		}
		deployed[e.id] = e.d
		if satisfied(r, installed) {
			eligible[e.id] = true
		}
	}
	// Observed: WSUS without driver approvals answers true (MS-WUSP.md
	// section 5.4). [I] With drivers deployed to the client it is false,
	// whether or not one matched this time.
	res.DriverSyncNotNeeded = len(deployed) == 0

	cached := map[int32]bool{}
	for _, id := range req.CachedDrivers {
		cached[id] = true
	}
	m := newMatcher(req)
	hwids := map[int32][]string{}
	for _, dev := range req.Devices {
		ids := append(slices.Clip(dev.HardwareIDs), dev.CompatibleIDs...)
		b, ok := s.best(ids, eligible, m)
		if !ok || cached[b.ref.rev.ID] {
			continue
		}
		if inst := dev.Installed; inst != nil {
			if !b.rank.better(m.rankInstalled(inst, ids)) || !printerAllowed(inst, b.ref.rev) {
				continue
			}
		}
		hw := b.ref.rev.Drivers[b.ref.entry].HardwareID
		if !slices.Contains(hwids[b.ref.rev.ID], hw) {
			hwids[b.ref.rev.ID] = append(hwids[b.ref.rev.ID], hw)
		}
	}

	ids := make([]int32, 0, len(hwids))
	for id := range hwids {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	page := req.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	if len(ids) > page {
		ids, res.Truncated = ids[:page], true
	}
	if len(ids) > 0 {
		res.HardwareIDs = make(map[int32][]string, len(ids))
	}
	for _, id := range ids {
		res.NewUpdates = append(res.NewUpdates, UpdateInfo{RevisionID: id, Deployment: deployed[id], IsLeaf: s.revs[id].IsLeaf})
		res.HardwareIDs[id] = hwids[id]
	}

	// [I] Cached drivers leave the client's cache only once they are no
	// longer deployed to it. The spec's OutOfScope = Cached - Needed would
	// also purge a deployed driver that is installed (no longer "better"
	// than the installed one), and with it its install state.
	outOfScope := slices.Clone(req.CachedDrivers)
	slices.Sort(outOfScope)
	for _, id := range slices.Compact(outOfScope) {
		if _, ok := deployed[id]; !ok {
			res.OutOfScope = append(res.OutOfScope, id)
		}
	}
	return res
}
