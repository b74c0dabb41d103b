package scan

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// DefaultPageSize is how many revisions one SyncUpdates response carries
// before it sets Truncated: 200, what the spec's note says WSUS does
// (MS-WUSP.md section 5.2). WS2025 was observed paging at 30; WUA accepts
// either (and far larger pages, section 5.1), and 200 makes a first scan of
// a large catalog take a seventh of the rounds.
const DefaultPageSize = 200

// SyncRequest is one SyncUpdates call, decoded.
type SyncRequest struct {
	// Groups is the client's target group set (ResolveGroups).
	Groups []uuid.UUID
	// InstalledNonLeaf are revision IDs the client evaluated as installed
	// non-leaf revisions; OtherCached are the other revisions it caches.
	InstalledNonLeaf []int32
	OtherCached      []int32
	// Filter holds FilterCategoryIds of a category-filtered scan.
	Filter []uuid.UUID
	// NeedTwoGroupOutOfScope splits out-of-scope revisions into those no
	// longer deployed and those deployed but outside the filter.
	NeedTwoGroupOutOfScope bool
	// Anchor is the newest deployment change the client already has.
	Anchor time.Time
	// AnchorGroups is the target group set the client's deployments were
	// computed for when it got Anchor; nil when unknown (taken as Groups).
	// When the client's groups changed since (an admin moved it, it asked
	// for other groups), a cached revision whose deployment differs under
	// the new groups is a changed update, however old the approval.
	AnchorGroups []uuid.UUID
	// PageSize limits NewUpdates; zero means DefaultPageSize.
	PageSize int
	// Drivers selects the driver pass (SkipSoftwareSync=true).
	Drivers bool
	// Devices, ComputerHardwareIDs, FeatureScoreKey and CachedDrivers are
	// the driver pass's SystemSpec, ComputerSpec/HardwareIDs (most specific
	// first), FeatureScoreMatchingKey ("AMD64.10.0") and CachedDriverIDs.
	Devices             []Device
	ComputerHardwareIDs []uuid.UUID
	FeatureScoreKey     string
	CachedDrivers       []int32
}

// UpdateInfo is one revision delivered with its deployment.
type UpdateInfo struct {
	RevisionID int32
	Deployment Deployment
	IsLeaf     bool
}

// SyncResult is the answer to a SyncRequest, before fragments are attached.
type SyncResult struct {
	NewUpdates         []UpdateInfo
	ChangedUpdates     []UpdateInfo
	OutOfScope         []int32
	DeployedOutOfScope []int32
	Truncated          bool
	// Anchor is the new sync anchor for the client's cookie.
	Anchor              time.Time
	DriverSyncNotNeeded bool
	// HardwareIDs holds, for each driver the driver pass offers (by
	// revision ID), the driver hardware IDs (as its metadata spells them)
	// on which it was the best match for one of the client's devices: its
	// Deployment/HardwareIds.
	HardwareIDs map[int32][]string
}

// Sync computes a SyncUpdates answer (MS-WUSP.md section 5.2):
//
//   - NewUpdates: revisions in scope that the client does not cache and
//     whose prerequisite clauses are each satisfied by an installed
//     non-leaf revision; non-leaf revisions first, then by revision ID, at
//     most PageSize of them, Truncated when more were deliverable;
//   - OutOfScope: cached revisions no longer in scope (no longer deployed,
//     superseded by a newer revision of their update, expired);
//   - ChangedUpdates: cached revisions in scope whose deployment changed
//     after the client's anchor.
//
// The driver pass (req.Drivers) delivers instead, for every device, the
// best matching driver deployed to the client for install when it beats
// the installed one ([MS-WUSP] 3.1.5.7, see drivers.go), and purges cached
// drivers no longer deployed. [I] It ignores FilterCategoryIds: 3.1.5.7
// computes the driver pass from the devices alone, and the native client
// sends its category filter on the driver pass too (capture scan/000009).
func (s *Snapshot) Sync(req SyncRequest) SyncResult {
	full := s.Scope(req.Groups)
	if req.Drivers {
		return s.syncDrivers(req, full)
	}
	filtered := len(req.Filter) > 0
	scope := full
	if filtered {
		scope = s.Filter(req.Groups, req.Filter)
	}
	res := SyncResult{Anchor: req.Anchor, DriverSyncNotNeeded: filtered}

	installed := s.installedUpdates(req.InstalledNonLeaf)
	cached := make([]int32, 0, len(req.InstalledNonLeaf)+len(req.OtherCached))
	cached = append(append(cached, req.InstalledNonLeaf...), req.OtherCached...)
	slices.Sort(cached)
	cached = slices.Compact(cached)

	// changed reports a cached revision in scope as changed for the client.
	changed := func(e scopeEntry) bool { return e.d.ChangedAt.After(req.Anchor) }
	if req.AnchorGroups != nil && !slices.Equal(req.AnchorGroups, req.Groups) {
		before := s.Scope(req.AnchorGroups)
		changed = func(e scopeEntry) bool {
			old, ok := before.Lookup(e.id)
			return e.d.ChangedAt.After(req.Anchor) || !ok || !old.Equal(e.d)
		}
	}

	// One merge walk of the scope and the cache, both in revision ID order.
	var nonLeaves, leaves []UpdateInfo
	entries := scope.entries
	i, j := 0, 0
	for i < len(entries) || j < len(cached) {
		switch {
		case j == len(cached) || (i < len(entries) && entries[i].id < cached[j]):
			e := entries[i]
			i++
			r := s.revs[e.id]
			if r.Type == catalog.TypeDriver || !satisfied(r, installed) {
				continue
			}
			if r.IsLeaf {
				leaves = append(leaves, UpdateInfo{RevisionID: e.id, Deployment: e.d, IsLeaf: true})
			} else {
				nonLeaves = append(nonLeaves, UpdateInfo{RevisionID: e.id, Deployment: e.d})
			}
		case i == len(entries) || cached[j] < entries[i].id:
			id := cached[j]
			j++
			_, deployed := full.Lookup(id)
			switch {
			case filtered && deployed && req.NeedTwoGroupOutOfScope:
				res.DeployedOutOfScope = append(res.DeployedOutOfScope, id)
			case filtered && deployed:
				// Deployed but outside this filtered scan: the client keeps it.
			default:
				res.OutOfScope = append(res.OutOfScope, id)
			}
		default:
			e := entries[i]
			i, j = i+1, j+1
			if changed(e) {
				res.ChangedUpdates = append(res.ChangedUpdates, s.info(e.id, e.d))
			}
		}
	}

	deliverable := append(nonLeaves, leaves...)
	page := req.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	if len(deliverable) > page {
		deliverable, res.Truncated = deliverable[:page], true
	}
	res.NewUpdates = deliverable
	// Revisions of later pages arrive as NewUpdates with their current
	// deployment, so the anchor can move past them already.
	if scope.newest.After(res.Anchor) {
		res.Anchor = scope.newest
	}
	return res
}

// installedUpdates returns the UpdateIDs of the installed non-leaf
// revisions a client listed.
func (s *Snapshot) installedUpdates(ids []int32) map[uuid.UUID]bool {
	installed := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if r, ok := s.revs[id]; ok {
			installed[r.UpdateID] = true
		}
	}
	return installed
}

func (s *Snapshot) info(id int32, d Deployment) UpdateInfo {
	return UpdateInfo{RevisionID: id, Deployment: d, IsLeaf: s.revs[id].IsLeaf}
}

// satisfied reports whether every prerequisite clause of r names at least
// one installed update. A prerequisite names an UpdateID, meaning any
// revision of it (MS-WUSP.md section 5.2).
func satisfied(r *catalog.Summary, installed map[uuid.UUID]bool) bool {
	for _, clause := range r.Prerequisites {
		ok := false
		for _, id := range clause.UpdateIDs {
			if installed[id] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
