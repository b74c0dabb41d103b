package rules

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"wsus/catalog"
)

// views answers what a run reads of the compliance views: every Software
// and Driver update with its counts, and the counts of a group's computers.
type views interface {
	updates(ctx context.Context) ([]catalog.UpdateView, error)
	groupCounts(ctx context.Context, group uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]catalog.ComplianceCounts, error)
}

// viewsOf returns the store's compliance views when it answers them
// (catalog.ComplianceStore), else views computed from the base contract.
func viewsOf(s Store) views {
	if cs, ok := s.(catalog.ComplianceStore); ok {
		return storeViews{cs}
	}
	return &baseViews{s: s}
}

// storeViews are a catalog.ComplianceStore's.
type storeViews struct{ cs catalog.ComplianceStore }

func (v storeViews) updates(ctx context.Context) ([]catalog.UpdateView, error) {
	var out []catalog.UpdateView
	for {
		page, total, err := v.cs.ListUpdates(ctx, catalog.UpdateQuery{
			Types: []catalog.UpdateType{catalog.TypeSoftware, catalog.TypeDriver},
			Page:  catalog.Page{Limit: catalog.MaxPageSize, Offset: len(out)},
		})
		if err != nil {
			return nil, fmt.Errorf("list updates: %w", err)
		}
		out = append(out, page...)
		if len(page) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

func (v storeViews) groupCounts(ctx context.Context, group uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]catalog.ComplianceCounts, error) {
	m, err := v.cs.GroupCounts(ctx, group, ids)
	if err != nil {
		return nil, fmt.Errorf("group counts: %w", err)
	}
	return m, nil
}

// baseViews computes the views from the base Store contract (summaries,
// revisions, computers and their statuses), for a store that does not
// answer catalog.ComplianceStore. Languages are not known this way: no
// update is declined by language.
type baseViews struct {
	s Store
	// statuses caches every computer's states for one run.
	statuses map[string][]catalog.UpdateStatus
	comps    []catalog.Computer
}

func (v *baseViews) load(ctx context.Context) error {
	if v.statuses != nil {
		return nil
	}
	comps, err := v.s.Computers(ctx)
	if err != nil {
		return fmt.Errorf("computers: %w", err)
	}
	st := map[string][]catalog.UpdateStatus{}
	for _, c := range comps {
		ss, err := v.s.Statuses(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("statuses of %s: %w", c.ID, err)
		}
		st[c.ID] = ss
	}
	v.comps, v.statuses = comps, st
	return nil
}

func count(c *catalog.ComplianceCounts, s catalog.InstallState) {
	switch s.Compliance() {
	case catalog.ComplianceInstalled:
		c.Installed++
	case catalog.ComplianceNeeded:
		c.Needed++
	case catalog.ComplianceFailed:
		c.Failed++
	case catalog.ComplianceNotApplicable:
		c.NotApplicable++
	default:
		c.NoStatus++
	}
}

func (v *baseViews) updates(ctx context.Context) ([]catalog.UpdateView, error) {
	if err := v.load(ctx); err != nil {
		return nil, err
	}
	sums, err := v.s.Summaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("summaries: %w", err)
	}
	catType := map[uuid.UUID]string{}
	newest := map[uuid.UUID]catalog.Summary{}
	members := map[uuid.UUID]bool{}
	for _, s := range sums {
		if s.Type == catalog.TypeCategory {
			catType[s.UpdateID] = s.CategoryType
		}
		if s.Type != catalog.TypeSoftware && s.Type != catalog.TypeDriver {
			continue
		}
		if n, ok := newest[s.UpdateID]; !ok || s.RevisionNumber > n.RevisionNumber {
			newest[s.UpdateID] = s
		}
	}
	supersededBy := map[uuid.UUID][]uuid.UUID{}
	for _, s := range newest {
		for _, b := range s.BundledUpdates {
			members[b.UpdateID] = true
		}
		for _, id := range s.SupersededUpdates {
			supersededBy[id] = append(supersededBy[id], s.UpdateID)
		}
	}
	states, err := v.s.UpdateStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("update states: %w", err)
	}
	declined := map[uuid.UUID]bool{}
	for _, st := range states {
		declined[st.UpdateID] = st.Declined
	}
	perUpdate := map[uuid.UUID]*catalog.ComplianceCounts{}
	for _, ss := range v.statuses {
		for _, st := range ss {
			c := perUpdate[st.UpdateID]
			if c == nil {
				c = &catalog.ComplianceCounts{}
				perUpdate[st.UpdateID] = c
			}
			count(c, st.State)
		}
	}
	var out []catalog.UpdateView
	for id, s := range newest {
		if members[id] {
			continue
		}
		rev, err := v.s.Revision(ctx, s.ID)
		if err != nil {
			return nil, fmt.Errorf("revision %d: %w", s.ID, err)
		}
		u := catalog.UpdateView{UpdateID: id, RevisionID: s.ID, RevisionNumber: s.RevisionNumber, Type: s.Type,
			Title: s.Title, KBArticleID: s.KBArticleID, Released: rev.CreationDate, PublicationState: s.PublicationState,
			Declined: declined[id], Supersedes: s.SupersededUpdates, SupersededBy: supersededBy[id], BundledUpdates: s.BundledUpdates}
		for _, cl := range s.Prerequisites {
			if !cl.IsCategory {
				continue
			}
			for _, c := range cl.UpdateIDs {
				switch catType[c] {
				case catalog.CategoryProduct:
					u.Products = append(u.Products, c)
				case catalog.CategoryClassification:
					u.Classifications = append(u.Classifications, c)
				}
			}
		}
		if c := perUpdate[id]; c != nil {
			u.Computers = *c
		}
		u.Computers.NoStatus = len(v.comps) - u.Computers.Installed - u.Computers.Needed - u.Computers.Failed - u.Computers.NotApplicable
		out = append(out, u)
	}
	return out, nil
}

func (v *baseViews) groupCounts(ctx context.Context, group uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]catalog.ComplianceCounts, error) {
	if err := v.load(ctx); err != nil {
		return nil, err
	}
	groups, err := v.s.TargetGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("target groups: %w", err)
	}
	parent := map[uuid.UUID]uuid.UUID{}
	for _, g := range groups {
		parent[g.ID] = g.ParentID
	}
	under := func(g uuid.UUID) bool { // g is group or below it
		for seen := 0; g != uuid.Nil && seen <= len(parent); seen++ {
			if g == group {
				return true
			}
			g = parent[g]
		}
		return false
	}
	out := map[uuid.UUID]catalog.ComplianceCounts{}
	for _, c := range v.comps {
		in := false
		switch group {
		case catalog.AllComputersGroupID:
			in = true
		case catalog.UnassignedComputersGroupID:
			in = len(c.Groups) == 0
		default:
			in = slices.ContainsFunc(c.Groups, under)
		}
		if !in {
			continue
		}
		states := map[uuid.UUID]catalog.InstallState{}
		for _, st := range v.statuses[c.ID] {
			states[st.UpdateID] = st.State
		}
		for _, id := range ids {
			cc := out[id]
			count(&cc, states[id])
			out[id] = cc
		}
	}
	return out, nil
}
