// Package scan is the scan engine: from an in-memory snapshot of the catalog
// graph (revisions, prerequisites, bundles, approvals, target groups and the
// computers assigned to them) it
// computes which revisions are deployed to a client and with which
// Deployment, and which of them a SyncUpdates round delivers
// (MS-WUSP.md section 5).
package scan

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"

	"wsus/catalog"
)

// Source is the part of the catalog store the engine reads.
type Source interface {
	Summaries(ctx context.Context) ([]catalog.Summary, error)
	Approvals(ctx context.Context) ([]catalog.Approval, error)
	TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error)
	UpdateStates(ctx context.Context) ([]catalog.UpdateState, error)
	ComputerGroupAssignments(ctx context.Context) (map[string][]uuid.UUID, error)
	ChangeSequence(ctx context.Context) (int64, error)
}

// Engine hands out catalog snapshots, rebuilding one only when the store's
// change sequence has moved, so every replica sharing a store sees an
// approval or a computer-group assignment made on any of them. It reads the
// change sequence at most once per maxAge: within that time a Snapshot call
// makes no store call at all, and a change made on any replica reaches
// scans within maxAge.
type Engine struct {
	src    Source
	maxAge time.Duration

	mu      sync.Mutex
	snap    *Snapshot
	checked time.Time // when snap was last found current
}

// NewEngine returns an engine over src whose snapshots are at most maxAge
// older than the store; zero checks the change sequence on every call.
func NewEngine(src Source, maxAge time.Duration) *Engine {
	return &Engine{src: src, maxAge: max(maxAge, 0)}
}

// Snapshot returns a snapshot that was current at most maxAge ago.
func (e *Engine) Snapshot(ctx context.Context) (*Snapshot, error) {
	e.mu.Lock()
	if e.snap != nil && e.maxAge > 0 && time.Since(e.checked) < e.maxAge {
		snap := e.snap
		e.mu.Unlock()
		return snap, nil
	}
	e.mu.Unlock()
	asked := time.Now()
	seq, err := e.src.ChangeSequence(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: change sequence: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap != nil && e.snap.Seq == seq {
		if asked.After(e.checked) {
			e.checked = asked
		}
		return e.snap, nil
	}
	snap, err := load(ctx, e.src, seq)
	if err != nil {
		return nil, err
	}
	e.snap, e.checked = snap, asked
	return snap, nil
}

// maxCachedScopes bounds the memoized scopes of one snapshot.
const maxCachedScopes = 512

// Snapshot is an immutable view of the catalog graph. Its methods are safe
// for concurrent use.
type Snapshot struct {
	// Seq is the store change sequence the snapshot was built at.
	Seq int64

	revs       map[int32]*catalog.Summary
	byIdentity map[catalog.Identity]*catalog.Summary
	// latest is the newest revision of each update (highest RevisionNumber).
	latest map[uuid.UUID]*catalog.Summary
	// ordered lists the latest revisions by revision ID.
	ordered []*catalog.Summary
	// bundledBy maps a member UpdateID to the UpdateIDs of bundles naming it.
	bundledBy map[uuid.UUID][]uuid.UUID
	approvals map[uuid.UUID][]catalog.Approval
	// groups finds target groups and places clients in them.
	groups *catalog.GroupIndex
	// states holds declines and the last deployment change per update.
	states map[uuid.UUID]catalog.UpdateState
	// assigned holds the groups an admin assigned each computer to
	// (server-side targeting), by client ID.
	assigned map[string][]uuid.UUID
	// driverIndex maps lower-cased driver hardware IDs to the entries of
	// the newest driver revisions naming them.
	driverIndex map[string][]driverRef

	// scopes memoizes computed scopes by group set (and filter); bounded,
	// since every distinct combination of target groups gets its own.
	scopes *lru.Cache[string, *Scope]
}

func load(ctx context.Context, src Source, seq int64) (*Snapshot, error) {
	sums, err := src.Summaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: load revisions: %w", err)
	}
	apps, err := src.Approvals(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: load approvals: %w", err)
	}
	groups, err := src.TargetGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: load target groups: %w", err)
	}
	states, err := src.UpdateStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: load update states: %w", err)
	}
	assigned, err := src.ComputerGroupAssignments(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: load computer group assignments: %w", err)
	}
	s := &Snapshot{
		Seq:        seq,
		revs:       make(map[int32]*catalog.Summary, len(sums)),
		byIdentity: make(map[catalog.Identity]*catalog.Summary, len(sums)),
		latest:     make(map[uuid.UUID]*catalog.Summary, len(sums)),
		bundledBy:  map[uuid.UUID][]uuid.UUID{},
		approvals:  map[uuid.UUID][]catalog.Approval{},
		groups:     catalog.NewGroupIndex(groups),
		states:     make(map[uuid.UUID]catalog.UpdateState, len(states)),
		assigned:   assigned,
	}
	if s.scopes, err = lru.New[string, *Scope](maxCachedScopes); err != nil {
		return nil, fmt.Errorf("scan: scope cache: %w", err)
	}
	for _, st := range states {
		s.states[st.UpdateID] = st
	}
	for i := range sums {
		r := &sums[i]
		s.revs[r.ID] = r
		s.byIdentity[r.Identity] = r
		if cur, ok := s.latest[r.UpdateID]; !ok || r.RevisionNumber > cur.RevisionNumber {
			s.latest[r.UpdateID] = r
		}
	}
	for _, r := range s.latest {
		s.ordered = append(s.ordered, r)
		for _, m := range r.BundledUpdates {
			s.bundledBy[m.UpdateID] = append(s.bundledBy[m.UpdateID], r.UpdateID)
		}
	}
	sort.Slice(s.ordered, func(i, j int) bool { return s.ordered[i].ID < s.ordered[j].ID })
	s.driverIndex = indexDrivers(s.ordered)
	for _, a := range apps {
		s.approvals[a.UpdateID] = append(s.approvals[a.UpdateID], a)
	}
	return s, nil
}

// Revision returns the revision with that ID.
func (s *Snapshot) Revision(id int32) (*catalog.Summary, bool) {
	r, ok := s.revs[id]
	return r, ok
}

// ByIdentity returns the revision with that identity.
func (s *Snapshot) ByIdentity(id catalog.Identity) (*catalog.Summary, bool) {
	r, ok := s.byIdentity[id]
	return r, ok
}

// Latest returns the newest revision of an update.
func (s *Snapshot) Latest(updateID uuid.UUID) (*catalog.Summary, bool) {
	r, ok := s.latest[updateID]
	return r, ok
}

// Group returns a target group by ID.
func (s *Snapshot) Group(id uuid.UUID) (catalog.TargetGroup, bool) {
	return s.groups.Group(id)
}

// Len returns the number of revisions in the snapshot.
func (s *Snapshot) Len() int { return len(s.revs) }

// AssignedGroups returns the target groups an admin assigned a computer to
// (server-side targeting) as of the snapshot, ordered as Computer.Groups;
// none for a computer in no group or unknown. The slice is the caller's.
func (s *Snapshot) AssignedGroups(clientID string) []uuid.UUID {
	return slices.Clone(s.assigned[clientID])
}

// ResolveGroups returns the target groups a client belongs to, placed by
// catalog.GroupIndex.Place, sorted so that the result can key caches.
func (s *Snapshot) ResolveGroups(names []string, assigned []uuid.UUID) []uuid.UUID {
	set, _ := s.groups.Place(names, assigned)
	out := make([]uuid.UUID, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// offerable reports whether a revision may be deployed at all: not expired,
// and its update not declined.
func (s *Snapshot) offerable(r *catalog.Summary) bool {
	return !strings.EqualFold(r.PublicationState, "Expired") && !s.states[r.UpdateID].Declined
}

// approvalFor picks the approval of an update that applies to a client in
// groups: an install (Install, then OptionalInstall) anywhere wins over
// Uninstall ([I]: WSUS honours an explicit install), then the newest change.
func (s *Snapshot) approvalFor(updateID uuid.UUID, groups []uuid.UUID) (catalog.Approval, bool) {
	var best catalog.Approval
	found := false
	for _, a := range s.approvals[updateID] {
		if !slices.Contains(groups, a.GroupID) {
			continue
		}
		if !found || rank(a) > rank(best) || (rank(a) == rank(best) && a.ChangedAt.After(best.ChangedAt)) {
			best, found = a, true
		}
	}
	return best, found
}

func rank(a catalog.Approval) int {
	switch a.Action {
	case catalog.ActionInstall:
		return 3
	case catalog.ActionOptionalInstall:
		return 2
	}
	return 1
}

// changedAt is when the deployment of r last changed, at least since
// notBefore: an admin change to its update, or else its import.
func (s *Snapshot) changedAt(r *catalog.Summary, notBefore time.Time) time.Time {
	t := notBefore
	if c := s.states[r.UpdateID].ChangedAt; c.After(t) {
		t = c
	}
	return t
}

// implicitDeploymentBase offsets the deployment IDs of implicit deployments
// (Evaluate, Bundle, PreDeploymentCheck), which have no approval row, from
// approval IDs: implicit ID = base + revision ID. [I] Real WSUS keeps a row
// per implicit deployment; the client only needs the IDs to be stable.
const implicitDeploymentBase = 1 << 30
