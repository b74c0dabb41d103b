package scan

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Action is a DeploymentAction of MS-WUSP.
type Action string

// The deployment actions the server sends.
const (
	Install            Action = "Install"
	OptionalInstall    Action = "OptionalInstall"
	Uninstall          Action = "Uninstall"
	PreDeploymentCheck Action = "PreDeploymentCheck"
	Evaluate           Action = "Evaluate"
	Bundle             Action = "Bundle"
)

// strength orders actions when a revision is reached several ways: an
// explicit approval beats being bundled, which beats a detection-only
// deployment, which beats being a mere dependency.
func (a Action) strength() int {
	switch a {
	case Install, OptionalInstall, Uninstall:
		return 4
	case Bundle:
		return 3
	case PreDeploymentCheck:
		return 2
	default:
		return 1
	}
}

// approvalActions maps approval actions to the deployment actions sent.
var approvalActions = map[catalog.ApprovalAction]Action{
	catalog.ActionInstall:         Install,
	catalog.ActionOptionalInstall: OptionalInstall,
	catalog.ActionUninstall:       Uninstall,
}

// Deployment is how one revision is deployed to a client.
type Deployment struct {
	// ID is the deployment ID: the approval's ID for explicit approvals, a
	// stable per-revision ID for implicit deployments.
	ID       int32
	Action   Action
	Deadline time.Time
	// ChangedAt is when the deployment last changed: the approval time, or
	// for implicit deployments the time the revision was imported.
	ChangedAt time.Time
}

// Equal reports whether two deployments are the same one.
func (d Deployment) Equal(o Deployment) bool {
	return d.ID == o.ID && d.Action == o.Action && d.Deadline.Equal(o.Deadline) && d.ChangedAt.Equal(o.ChangedAt)
}

// Scope is what is deployed to one client: revision IDs and their
// deployments, also kept in revision ID order so that a SyncUpdates round
// is one merge walk of the scope and the client's sorted cache. A Scope is
// immutable and shared by every client with the same target groups.
type Scope struct {
	byID    map[int32]Deployment
	entries []scopeEntry
	// newest is the latest ChangedAt of any deployment in the scope.
	newest time.Time
}

type scopeEntry struct {
	id int32
	d  Deployment
}

func newScope(m map[int32]Deployment) *Scope {
	sc := &Scope{byID: m, entries: make([]scopeEntry, 0, len(m))}
	for id, d := range m {
		sc.entries = append(sc.entries, scopeEntry{id, d})
		if d.ChangedAt.After(sc.newest) {
			sc.newest = d.ChangedAt
		}
	}
	slices.SortFunc(sc.entries, func(a, b scopeEntry) int { return cmp.Compare(a.id, b.id) })
	return sc
}

// Lookup returns the deployment of a revision, if it is deployed.
func (sc *Scope) Lookup(id int32) (Deployment, bool) {
	d, ok := sc.byID[id]
	return d, ok
}

// Len is the number of deployed revisions.
func (sc *Scope) Len() int { return len(sc.entries) }

// All yields the deployed revisions in revision ID order.
func (sc *Scope) All() iter.Seq2[int32, Deployment] {
	return func(yield func(int32, Deployment) bool) {
		for _, e := range sc.entries {
			if !yield(e.id, e.d) {
				return
			}
		}
	}
}

// Scope returns what is deployed to a client in groups (as returned by
// ResolveGroups), computed once per snapshot and group set:
//
//   - the newest revision of every update approved for one of the groups,
//     with its approval (Install, OptionalInstall or Uninstall);
//   - every category and detectoid, as Evaluate (real WSUS delivers the
//     category chain with no approval at all, MS-WUSP.md section 5.2);
//   - every other unapproved top-level software update (one no bundle
//     names), as PreDeploymentCheck: detection only, so that the client
//     reports it as needed or installed (observed on WS2025; which
//     unapproved updates WSUS exposes is not established, [I]);
//   - the members of every bundle in scope, as Bundle;
//   - the prerequisites of everything in scope, transitively, as Evaluate.
//
// Supersedence does not narrow the scope: an update superseded by one
// approved for install stays deployed as it would be otherwise (unapproved,
// PreDeploymentCheck, its bundle members Bundle), because the client
// evaluates supersedence itself from the SupersededUpdates of the Core
// fragments it caches, and needs the superseded revisions for that (issue
// 10). [I] An explicit approval of the superseded update stands: WSUS keeps
// approvals when a superseding update arrives (its cleanup declines
// superseded updates, it does not unapprove them); no capture shows a
// superseded revision's deployment.
//
// Expired revisions, declined updates and drivers without an approval are
// never in scope. A deployment's ChangedAt is its approval time, or for
// implicit deployments the import time; an admin change to the update
// (an approval removed, a decline lifted) moves it later.
func (s *Snapshot) Scope(groups []uuid.UUID) *Scope {
	return s.cached(idsKey(groups), func() *Scope { return s.computeScope(groups) })
}

// cached returns the scope memoized under key, computing it once.
func (s *Snapshot) cached(key string, compute func() *Scope) *Scope {
	if sc, ok := s.scopes.Get(key); ok {
		return sc
	}
	// Two requests may compute the same scope at once; both results are
	// equal, and the cache keeps one.
	sc := compute()
	s.scopes.Add(key, sc)
	return sc
}

func idsKey(ids []uuid.UUID) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id.String())
	}
	return b.String()
}

func (s *Snapshot) computeScope(groups []uuid.UUID) *Scope {
	sc := map[int32]Deployment{}
	var work []*catalog.Summary
	add := func(r *catalog.Summary, d Deployment) {
		if cur, ok := sc[r.ID]; ok && cur.Action.strength() >= d.Action.strength() {
			return
		}
		sc[r.ID] = d
		work = append(work, r)
	}
	implicit := func(r *catalog.Summary, a Action) Deployment {
		return Deployment{ID: implicitDeploymentBase + r.ID, Action: a, ChangedAt: s.changedAt(r, r.Imported)}
	}
	for _, r := range s.ordered {
		if !s.offerable(r) {
			continue
		}
		if a, ok := s.approvalFor(r.UpdateID, groups); ok {
			add(r, Deployment{ID: a.ID, Action: approvalActions[a.Action], Deadline: a.Deadline, ChangedAt: s.changedAt(r, a.ChangedAt)})
			continue
		}
		switch {
		case r.Type == catalog.TypeCategory || r.Type == catalog.TypeDetectoid:
			add(r, implicit(r, Evaluate))
		case r.Type == catalog.TypeSoftware && len(s.bundledBy[r.UpdateID]) == 0:
			add(r, implicit(r, PreDeploymentCheck))
		}
	}
	// Close over bundle members and prerequisites. A revision re-enters the
	// work list only when its action got stronger, so this terminates.
	for len(work) > 0 {
		r := work[len(work)-1]
		work = work[:len(work)-1]
		for _, m := range r.BundledUpdates {
			if mr, ok := s.latest[m.UpdateID]; ok && s.offerable(mr) {
				add(mr, implicit(mr, Bundle))
			}
		}
		for _, clause := range r.Prerequisites {
			for _, id := range clause.UpdateIDs {
				if pr, ok := s.latest[id]; ok && s.offerable(pr) {
					add(pr, implicit(pr, Evaluate))
				}
			}
		}
	}
	return newScope(sc)
}

// categoriesOf returns the category UpdateIDs r belongs to: those its
// IsCategory prerequisite clauses name, and their parents, transitively.
func (s *Snapshot) categoriesOf(r *catalog.Summary) map[uuid.UUID]bool {
	out := map[uuid.UUID]bool{}
	var walk func(r *catalog.Summary)
	walk = func(r *catalog.Summary) {
		for _, clause := range r.Prerequisites {
			if !clause.IsCategory {
				continue
			}
			for _, id := range clause.UpdateIDs {
				if out[id] {
					continue
				}
				out[id] = true
				if parent, ok := s.latest[id]; ok {
					walk(parent)
				}
			}
		}
	}
	walk(r)
	return out
}

// Filter returns the part of the scope of groups that a category-filtered
// scan (FilterCategoryIds, MS-WUSP.md section 5.3) covers: the filter
// categories themselves, every revision in one of them (directly or through
// a subcategory), and what those depend on (their bundle members and
// prerequisites, the category chain above the filter categories included).
// Filtered scopes are memoized per group set and filter.
func (s *Snapshot) Filter(groups, categories []uuid.UUID) *Scope {
	key := idsKey(groups) + "|" + idsKey(categories)
	return s.cached(key, func() *Scope { return s.filter(s.Scope(groups), categories) })
}

func (s *Snapshot) filter(sc *Scope, categories []uuid.UUID) *Scope {
	want := map[uuid.UUID]bool{}
	for _, c := range categories {
		want[c] = true
	}
	out := map[int32]Deployment{}
	var work []*catalog.Summary
	keep := func(r *catalog.Summary) {
		d, ok := sc.Lookup(r.ID)
		if !ok {
			return
		}
		if _, done := out[r.ID]; done {
			return
		}
		out[r.ID] = d
		work = append(work, r)
	}
	for _, r := range s.ordered {
		if _, ok := sc.Lookup(r.ID); !ok {
			continue
		}
		if want[r.UpdateID] {
			keep(r)
			continue
		}
		for c := range s.categoriesOf(r) {
			if want[c] {
				keep(r)
				break
			}
		}
	}
	for len(work) > 0 {
		r := work[len(work)-1]
		work = work[:len(work)-1]
		for _, m := range r.BundledUpdates {
			if mr, ok := s.latest[m.UpdateID]; ok {
				keep(mr)
			}
		}
		for _, clause := range r.Prerequisites {
			for _, id := range clause.UpdateIDs {
				if pr, ok := s.latest[id]; ok {
					keep(pr)
				}
			}
		}
	}
	return newScope(out)
}
