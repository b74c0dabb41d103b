package serversync

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
)

// index is the catalog's revisions as of one change sequence, with the
// lookups GetRevisionIdList and GetUpdateData need. It is immutable once
// built, and shared by the requests that see the same change sequence.
type index struct {
	seq  int64
	sums []catalog.Summary // ordered by revision ID, as Store.Summaries returns them
	// byIdentity maps a revision's identity to its position in sums.
	byIdentity map[catalog.Identity]int
	// latest maps an UpdateID to the position of its highest revision;
	// byUpdate to the positions of all its revisions.
	latest   map[uuid.UUID]int
	byUpdate map[uuid.UUID][]int
	// children maps a category UpdateID to the categories whose newest
	// revision names it as a prerequisite: ProductFamily → Product,
	// Company → ProductFamily (the hierarchy of MS-WSUSSS.md 4.2).
	children map[uuid.UUID][]uuid.UUID
}

// newIndex builds the index of sums, read at change sequence seq.
func newIndex(seq int64, sums []catalog.Summary) *index {
	x := &index{seq: seq, sums: sums, byIdentity: make(map[catalog.Identity]int, len(sums)),
		latest: map[uuid.UUID]int{}, byUpdate: map[uuid.UUID][]int{}, children: map[uuid.UUID][]uuid.UUID{}}
	for i, sm := range sums {
		x.byIdentity[sm.Identity] = i
		x.byUpdate[sm.UpdateID] = append(x.byUpdate[sm.UpdateID], i)
		if j, ok := x.latest[sm.UpdateID]; !ok || sums[j].RevisionNumber < sm.RevisionNumber {
			x.latest[sm.UpdateID] = i
		}
	}
	for _, i := range x.latest {
		sm := &sums[i]
		if sm.Type != catalog.TypeCategory {
			continue
		}
		for _, c := range sm.Prerequisites {
			for _, parent := range c.UpdateIDs {
				x.children[parent] = append(x.children[parent], sm.UpdateID)
			}
		}
	}
	return x
}

// snapshot returns the index of the store's current change sequence,
// rebuilding it only when the sequence moved since the last one.
func (s *Services) snapshot(ctx context.Context) (*index, error) {
	seq, err := s.store.ChangeSequence(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: change sequence: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx != nil && s.idx.seq == seq {
		return s.idx, nil
	}
	// Read after the sequence: the summaries hold every change up to seq
	// (and perhaps later ones, which the next anchor lists again).
	sums, err := s.store.Summaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: summaries: %w", err)
	}
	s.idx = newIndex(seq, sums)
	return s.idx, nil
}

// idAndDelta is one IdAndDelta of a ServerSyncFilter.
type idAndDelta struct {
	ID    uuid.UUID
	Delta bool
}

// filter is a parsed ServerSyncFilter ([MS-WSUSSS] 3.1.4.5; MS-WSUSSS.md
// 2.2). Languages are not kept: [I] a revision is one document whatever
// its languages, so the language list selects nothing here.
type filter struct {
	// Anchor is nil when the request carries none.
	Anchor          *anchor
	GetConfig       bool
	Categories      []idAndDelta
	Classifications []idAndDelta
}

// parseFilter reads the filter of a GetRevisionIdList. Whatever is wrong
// with it is InvalidParameters "filter", the fault the real WSUS answers a
// malformed Anchor with (wsusss-Fault-InvalidParameters-GetRevisionIdList.xml).
func parseFilter(req *soap.Request) (filter, error) {
	bad := soap.BadParameter("filter")
	fe := soap.Child(req.Body, "filter")
	if fe == nil {
		return filter{}, bad
	}
	var f filter
	if text := soap.Text(fe, "Anchor"); text != "" {
		a, err := parseAnchor(text)
		if err != nil {
			return filter{}, bad
		}
		f.Anchor = &a
	}
	if !soap.Has(fe, "GetConfig") {
		return filter{}, bad
	}
	var err error
	if f.GetConfig, err = soap.Bool(fe, "GetConfig", "filter"); err != nil {
		return filter{}, err
	}
	for _, list := range []struct {
		name string
		dst  *[]idAndDelta
	}{{"Categories", &f.Categories}, {"Classifications", &f.Classifications}} {
		for _, it := range soap.Children(soap.Child(fe, list.name), "IdAndDelta") {
			id, err := uuid.Parse(soap.Text(it, "Id"))
			if err != nil {
				return filter{}, bad
			}
			delta, err := soap.Bool(it, "Delta", "filter")
			if err != nil {
				return filter{}, err
			}
			*list.dst = append(*list.dst, idAndDelta{ID: id, Delta: delta})
		}
	}
	return f, nil
}

// changed reports whether a revision is new since the filter's anchor
// (every revision is when there is none).
func (f filter) changed(sm *catalog.Summary) bool {
	return f.Anchor == nil || sm.Changed > f.Anchor.seq
}

// membership maps the categories a list selects to whether all their
// updates are asked for (an entry reaching them has Delta=false) or only
// those changed since the anchor.
type membership map[uuid.UUID]bool

// expand returns the membership of a Categories or Classifications list:
// each listed category and, [I], every category below it in the hierarchy
// (a product family selects its products): SyncSettings.Products lets an
// admin subscribe a product family, and what belongs to a family is what
// belongs to its products. A category reached by several entries is asked
// for in full when one of them says Delta=false.
func (x *index) expand(list []idAndDelta) membership {
	m := membership{}
	for _, e := range list {
		seen := map[uuid.UUID]bool{}
		queue := []uuid.UUID{e.ID}
		for len(queue) > 0 {
			id := queue[0]
			queue = queue[1:]
			if seen[id] {
				continue
			}
			seen[id] = true
			m[id] = m[id] || !e.Delta
			queue = append(queue, x.children[id]...)
		}
	}
	return m
}

// match reports whether a revision belongs to a category of m, through the
// IsCategory clauses of its prerequisites (MS-WSUSSS.md 4.2: top-level
// updates name their product and classification there), and whether one
// such category is asked for in full.
func (m membership) match(sm *catalog.Summary) (hit, full bool) {
	for _, c := range sm.Prerequisites {
		if !c.IsCategory {
			continue
		}
		for _, id := range c.UpdateIDs {
			if f, ok := m[id]; ok {
				hit = true
				full = full || f
			}
		}
	}
	return hit, full
}

// selectRevisions returns the positions in x.sums of the revisions a
// GetRevisionIdList with filter f lists, ascending (the order revisions
// entered the catalog, so categories come before what names them).
//
// Every stored revision that qualifies is listed, older revisions of an
// update included, as the real WSUS does (MS-WSUSSS.md 2.2: 4,275
// identities for 4,233 UpdateIDs), although the spec says one per UpdateID.
// Expired revisions are listed too (MS-WSUSSS.md 4.2, 267 seen), and [I]
// so are the revisions of declined updates (GetDeployments reports them as
// HiddenUpdates).
//
// GetConfig=true lists the categories (companies, product families,
// products, classifications and other Category documents) and detectoids
// changed since the anchor; Categories and Classifications are ignored
// ([MS-WSUSSS] 3.1.4.5).
//
// GetConfig=false lists software and driver revisions:
//   - with both lists empty, every one changed since the anchor. The spec
//     says so; a real WSUS answered such a call with an anchor with 0
//     revisions (MS-WSUSSS.md 2.2), which this server does not copy: it
//     would lose changes for a DSS that subscribes everything;
//   - with one list empty and the other not, none: the spec requires both
//     and the real WSUS answered 0 (MS-WSUSSS.md 2.2);
//   - else those belonging to a listed category and to a listed
//     classification (see expand and match), all of them when an entry
//     they match on either side says Delta=false (a product or
//     classification new to the DSS: it has none of that combination yet),
//     else only those changed since the anchor.
//
// To what qualifies it adds the closure a downstream needs to offer it: the
// exact revisions a bundle names (BundledUpdates), and the newest revision
// of each software or driver update named by a prerequisite clause that is
// not IsCategory (leaves and hidden bundles carry no IsCategory clause of
// their own; MS-WSUSSS.md 4.2), recursively. [I] Detectoids named that way
// are not added: the DSS has them from its GetConfig=true list.
func (x *index) selectRevisions(f filter) []int {
	var picked []int
	if f.GetConfig {
		for i := range x.sums {
			sm := &x.sums[i]
			if (sm.Type == catalog.TypeCategory || sm.Type == catalog.TypeDetectoid) && f.changed(sm) {
				picked = append(picked, i)
			}
		}
		return picked
	}
	software := func(sm *catalog.Summary) bool {
		return sm.Type == catalog.TypeSoftware || sm.Type == catalog.TypeDriver
	}
	switch {
	case len(f.Categories) == 0 && len(f.Classifications) == 0:
		for i := range x.sums {
			if sm := &x.sums[i]; software(sm) && f.changed(sm) {
				picked = append(picked, i)
			}
		}
	case len(f.Categories) == 0 || len(f.Classifications) == 0:
		return nil
	default:
		cats, classes := x.expand(f.Categories), x.expand(f.Classifications)
		for i := range x.sums {
			sm := &x.sums[i]
			if !software(sm) {
				continue
			}
			inCat, fullCat := cats.match(sm)
			inClass, fullClass := classes.match(sm)
			if inCat && inClass && (fullCat || fullClass || f.changed(sm)) {
				picked = append(picked, i)
			}
		}
	}
	return x.closure(picked)
}

// closure returns picked with the bundle members and software
// prerequisites of its revisions, recursively, ascending.
func (x *index) closure(picked []int) []int {
	in := make(map[int]bool, len(picked))
	for _, i := range picked {
		in[i] = true
	}
	add := func(i int) {
		if !in[i] {
			in[i] = true
			picked = append(picked, i)
		}
	}
	for k := 0; k < len(picked); k++ {
		sm := &x.sums[picked[k]]
		for _, m := range sm.BundledUpdates {
			if j, ok := x.byIdentity[m]; ok {
				add(j)
			}
		}
		for _, c := range sm.Prerequisites {
			if c.IsCategory {
				continue
			}
			for _, id := range c.UpdateIDs {
				if j, ok := x.latest[id]; ok && (x.sums[j].Type == catalog.TypeSoftware || x.sums[j].Type == catalog.TypeDriver) {
					add(j)
				}
			}
		}
	}
	slices.Sort(picked)
	return picked
}

// getRevisionIDList answers RevisionIdList {Anchor, NewRevisions} as the
// real WSUS writes it (wsusss-GetRevisionIdListResponse-getconfig-categories.xml),
// the revisions selectRevisions picks, in one answer (the real WSUS does
// not page either; MS-WSUSSS.md 2.2), whose bytes are reserved from the
// answer budget (ServerBusy when exhausted). Anchor is this server's change
// sequence as the list was read; an Anchor ahead of it is ServerChanged
// (anchor.fromHere). [I] An empty list is written as an empty
// NewRevisions element, as the real WSUS writes its empty fileUrls.
func (s *Services) getRevisionIDList(ctx context.Context, req *soap.Request) (*soap.RawResponse, error) {
	if _, err := s.openSession(ctx, req); err != nil {
		return nil, err
	}
	f, err := parseFilter(req)
	if err != nil {
		return nil, err
	}
	x, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if err := f.Anchor.fromHere(x.seq); err != nil {
		return nil, err
	}
	picked := x.selectRevisions(f)
	// About 110 bytes per identity; a whole catalog's list takes tens of
	// MB, so it comes out of the shared answer budget too.
	size := 128 + 120*len(picked)
	if !reservationOf(ctx).grow(int64(size)) {
		return nil, soap.Errorf(soap.ServerBusy, "answer memory budget exhausted")
	}
	resp := req.NewRawResponse()
	resp.Grow(size)
	resp.Start("GetRevisionIdListResult")
	resp.Elem("Anchor", anchor{seq: x.seq, at: s.now()}.String())
	resp.Start("NewRevisions")
	for _, i := range picked {
		writeIdentity(resp, "UpdateIdentity", x.sums[i].Identity)
	}
	resp.End("NewRevisions")
	resp.End("GetRevisionIdListResult")
	return resp, nil
}
