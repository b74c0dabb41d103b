package scan

import (
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
	case Install, Uninstall:
		return 4
	case Bundle:
		return 3
	case PreDeploymentCheck:
		return 2
	default:
		return 1
	}
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

// Scope maps the revision IDs deployed to a client to their deployments.
type Scope map[int32]Deployment

// Scope returns what is deployed to a client in groups (as returned by
// ResolveGroups), computed once per snapshot and group set:
//
//   - the newest revision of every update approved for one of the groups,
//     with its approval (Install or Uninstall);
//   - every category and detectoid, as Evaluate (real WSUS delivers the
//     category chain with no approval at all, MS-WUSP.md section 5.2);
//   - every other unapproved top-level software update (one no bundle
//     names), as PreDeploymentCheck: detection only, so that the client
//     reports it as needed or installed (observed on WS2025; which
//     unapproved updates WSUS exposes is not established, [I]);
//   - the members of every bundle in scope, as Bundle;
//   - the prerequisites of everything in scope, transitively, as Evaluate.
//
// Expired revisions and drivers without an approval are never in scope.
func (s *Snapshot) Scope(groups []uuid.UUID) Scope {
	key := groupKey(groups)
	s.mu.Lock()
	sc, ok := s.scopes[key]
	s.mu.Unlock()
	if ok {
		return sc
	}
	sc = s.computeScope(groups)
	s.mu.Lock()
	s.scopes[key] = sc
	s.mu.Unlock()
	return sc
}

func groupKey(groups []uuid.UUID) string {
	var b strings.Builder
	for _, g := range groups {
		b.WriteString(g.String())
	}
	return b.String()
}

func (s *Snapshot) computeScope(groups []uuid.UUID) Scope {
	sc := Scope{}
	var work []*catalog.Summary
	add := func(r *catalog.Summary, d Deployment) {
		if cur, ok := sc[r.ID]; ok && cur.Action.strength() >= d.Action.strength() {
			return
		}
		sc[r.ID] = d
		work = append(work, r)
	}
	implicit := func(r *catalog.Summary, a Action) Deployment {
		return Deployment{ID: implicitDeploymentBase + r.ID, Action: a, ChangedAt: r.Imported}
	}
	for _, r := range s.ordered {
		if !isPublished(r) {
			continue
		}
		if a, ok := s.approvalFor(r.UpdateID, groups); ok {
			act := Install
			if a.Action == catalog.ActionUninstall {
				act = Uninstall
			}
			add(r, Deployment{ID: a.ID, Action: act, Deadline: a.Deadline, ChangedAt: a.ChangedAt})
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
			if mr, ok := s.latest[m.UpdateID]; ok && isPublished(mr) {
				add(mr, implicit(mr, Bundle))
			}
		}
		for _, clause := range r.Prerequisites {
			for _, id := range clause.UpdateIDs {
				if pr, ok := s.latest[id]; ok && isPublished(pr) {
					add(pr, implicit(pr, Evaluate))
				}
			}
		}
	}
	return sc
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

// Filter narrows a scope to what a category-filtered scan (FilterCategoryIds,
// MS-WUSP.md section 5.3) covers: the filter categories themselves, every
// revision in one of them (directly or through a subcategory), and what
// those depend on (their bundle members and prerequisites, the category
// chain above the filter categories included).
func (s *Snapshot) Filter(sc Scope, categories []uuid.UUID) Scope {
	want := map[uuid.UUID]bool{}
	for _, c := range categories {
		want[c] = true
	}
	out := Scope{}
	var work []*catalog.Summary
	keep := func(r *catalog.Summary) {
		d, ok := sc[r.ID]
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
		if _, ok := sc[r.ID]; !ok {
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
	return out
}
