package scan

import (
	"hash/fnv"
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
	// Changed is the ChangedUpdates pass an earlier round left unfinished
	// (SyncResult.Changed, kept in the cookie); zero when none.
	Changed ChangedPass
	// PageSize limits the UpdateInfos of one answer, ChangedUpdates and
	// NewUpdates together; zero means DefaultPageSize.
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

// ChangedPass is a ChangedUpdates pass that did not fit one answer: the
// revisions up to After are delivered, the others follow in the next
// rounds. Until is where the sync anchor moves once the pass ends; Key
// names the target groups and category filter the pass was computed for
// (a round with others starts the pass again). The zero value is no pass.
type ChangedPass struct {
	After int32
	Until time.Time
	Key   uint64
}

// SyncResult is the answer to a SyncRequest, before fragments are attached.
type SyncResult struct {
	NewUpdates         []UpdateInfo
	ChangedUpdates     []UpdateInfo
	OutOfScope         []int32
	DeployedOutOfScope []int32
	Truncated          bool
	// Anchor, AnchorGroups and Changed are the client's sync state for its
	// next cookie: while a ChangedUpdates pass is unfinished, Anchor and
	// AnchorGroups stay those of the request and Changed says where the
	// pass goes on.
	Anchor              time.Time
	AnchorGroups        []uuid.UUID
	Changed             ChangedPass
	DriverSyncNotNeeded bool
	// HardwareIDs holds, for each driver the driver pass offers (by
	// revision ID), the driver hardware IDs (as its metadata spells them)
	// on which it was the best match for one of the client's devices: its
	// Deployment/HardwareIds.
	HardwareIDs map[int32][]string

	// unfinished is the state to keep when Fit cuts ChangedUpdates short.
	unfinished unfinishedPass
}

// unfinishedPass is the sync state of a round whose ChangedUpdates pass
// does not end with it: the request's anchor and anchor groups, and the
// pass's Until and Key.
type unfinishedPass struct {
	anchor time.Time
	groups []uuid.UUID
	until  time.Time
	key    uint64
}

// cut keeps the first n ChangedUpdates of res and no NewUpdates: the pass
// goes on after the last one kept.
func (res *SyncResult) cut(n int) {
	u := res.unfinished
	res.ChangedUpdates, res.NewUpdates, res.Truncated = res.ChangedUpdates[:n], nil, true
	res.Anchor, res.AnchorGroups = u.anchor, u.groups
	res.Changed = ChangedPass{After: res.ChangedUpdates[n-1].RevisionID, Until: u.until, Key: u.key}
}

// Fit ends the page early once the sizes of its updates (size gives that
// of a revision's Core fragment) pass maxBytes, counting ChangedUpdates
// first, then NewUpdates, as Sync fills a page; a page always keeps its
// first update. Cut inside ChangedUpdates, the page carries no NewUpdates
// and the ChangedUpdates pass goes on in the next round.
func (res *SyncResult) Fit(size func(id int32) int, maxBytes int) {
	total, i := 0, 0
	for j, u := range res.ChangedUpdates {
		total += size(u.RevisionID)
		if i > 0 && total > maxBytes {
			res.cut(j)
			return
		}
		i++
	}
	for j, u := range res.NewUpdates {
		total += size(u.RevisionID)
		if i > 0 && total > maxBytes {
			res.NewUpdates, res.Truncated = res.NewUpdates[:j], true
			return
		}
		i++
	}
}

// Sync computes a SyncUpdates answer (MS-WUSP.md section 5.2):
//
//   - NewUpdates: revisions in scope that the client does not cache and
//     whose prerequisite clauses are each satisfied by an installed
//     non-leaf revision; non-leaf revisions first, then by revision ID;
//   - OutOfScope: cached revisions no longer in scope (no longer deployed,
//     superseded by a newer revision of their update, expired);
//   - ChangedUpdates: cached revisions in scope whose deployment changed
//     after the client's anchor, by revision ID.
//
// One answer carries at most PageSize UpdateInfos, ChangedUpdates first and
// NewUpdates in the room left, and Truncated says that more follow: the
// spec's Truncated speaks of new revisions, but a client whose anchor was
// reset (a fresh cookie: another WSUS before, a lost cookie key) caches
// revisions that are all changed for it, hundreds of MB of Core fragments
// on a real catalog, so ChangedUpdates are paged the same way (issue 10).
// ChangedUpdates go first so that the NewUpdates of the pages before do not
// come back as changed. [I] WSUS's own paging of ChangedUpdates was never
// observed (no capture has any).
//
// A pass over the changed revisions that does not fit one answer goes on in
// the next rounds (Changed, kept in the cookie): the anchor stays the
// request's until the pass ends, then moves to the newest change in scope
// when the pass began, so that a change made meanwhile to a revision
// already delivered comes again. A round for other target groups or
// another category filter than the pass's starts the pass again.
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
	res := SyncResult{DriverSyncNotNeeded: filtered}

	installed := s.installedUpdates(req.InstalledNonLeaf)
	cached := make([]int32, 0, len(req.InstalledNonLeaf)+len(req.OtherCached))
	cached = append(append(cached, req.InstalledNonLeaf...), req.OtherCached...)
	slices.Sort(cached)
	cached = slices.Compact(cached)

	// The pass this round continues, if any: the key is computed only
	// when there is a pass to check or one may start.
	pass := req.Changed
	var key uint64
	if pass.After != 0 {
		if key = passKey(req.Groups, req.Filter); key != pass.Key {
			pass = ChangedPass{}
		}
	}

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
			if e.id > pass.After && changed(e) {
				res.ChangedUpdates = append(res.ChangedUpdates, s.info(e.id, e.d))
			}
		}
	}

	// Where the anchor moves once the changed revisions are all delivered:
	// revisions of later NewUpdates pages arrive with their current
	// deployment, so it can move past them already.
	until := pass.Until
	if pass.After == 0 {
		until = req.Anchor
		if scope.newest.After(until) {
			until = scope.newest
		}
	}
	res.Anchor, res.AnchorGroups = until, req.Groups
	if len(res.ChangedUpdates) > 0 {
		if key == 0 {
			key = passKey(req.Groups, req.Filter)
		}
		anchorGroups := req.AnchorGroups
		if anchorGroups == nil {
			anchorGroups = req.Groups
		}
		res.unfinished = unfinishedPass{anchor: req.Anchor, groups: anchorGroups, until: until, key: key}
	}

	page := req.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	if len(res.ChangedUpdates) > page {
		res.cut(page)
		return res
	}
	deliverable := append(nonLeaves, leaves...)
	if room := page - len(res.ChangedUpdates); len(deliverable) > room {
		deliverable, res.Truncated = deliverable[:room], true
	}
	if len(deliverable) > 0 {
		res.NewUpdates = deliverable
	}
	return res
}

// passKey names the target groups and category filter of a ChangedUpdates
// pass (FNV-1a over their GUIDs, stable across processes). Never zero.
func passKey(groups, filter []uuid.UUID) uint64 {
	h := fnv.New64a()
	for _, id := range groups {
		h.Write(id[:])
	}
	h.Write([]byte{'|'})
	for _, id := range filter {
		h.Write(id[:])
	}
	return max(h.Sum64(), 1)
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
