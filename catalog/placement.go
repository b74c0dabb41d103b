package catalog

import (
	"bytes"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// GroupIndex finds target groups by ID and by name, and places a computer
// in the groups it belongs to. The scan engine (which groups' approvals a
// client gets) and the stores' compliance views (which computers a group
// counts) place computers with it, so they always agree.
type GroupIndex struct {
	byID map[uuid.UUID]TargetGroup
	// byName and byKey find groups by their names as spelled and by
	// GroupNameKey of them.
	byName, byKey map[string][]uuid.UUID
}

// NewGroupIndex indexes groups.
func NewGroupIndex(groups []TargetGroup) *GroupIndex {
	x := &GroupIndex{
		byID:   make(map[uuid.UUID]TargetGroup, len(groups)),
		byName: make(map[string][]uuid.UUID, len(groups)),
		byKey:  make(map[string][]uuid.UUID, len(groups)),
	}
	for _, g := range groups {
		x.byID[g.ID] = g
		key := GroupNameKey(g.Name)
		x.byKey[key] = append(x.byKey[key], g.ID)
		x.byName[g.Name] = append(x.byName[g.Name], g.ID)
	}
	return x
}

// Group returns a group by ID.
func (x *GroupIndex) Group(id uuid.UUID) (TargetGroup, bool) {
	g, ok := x.byID[id]
	return g, ok
}

// Groups returns every indexed group, keyed by ID; callers must not
// change the map.
func (x *GroupIndex) Groups() map[uuid.UUID]TargetGroup { return x.byID }

// Place returns the groups a computer belongs to: "All Computers"; the
// groups an admin assigned it to (server-side targeting); every existing
// group it asked for by name (client-side targeting, names compared as the
// store compares them, the exact spelling first); the ancestors of all of
// these; and "Unassigned Computers" when it is in no group of its own,
// which member reports.
func (x *GroupIndex) Place(requested []string, assigned []uuid.UUID) (groups map[uuid.UUID]bool, member bool) {
	set := map[uuid.UUID]bool{AllComputersGroupID: true}
	join := func(id uuid.UUID) {
		if _, ok := x.byID[id]; !ok || id == AllComputersGroupID {
			return
		}
		member = true
		for ; id != uuid.Nil && !set[id]; id = x.byID[id].ParentID {
			set[id] = true
		}
	}
	for _, id := range assigned {
		join(id)
	}
	for _, n := range requested {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		ids, ok := x.byName[n]
		if !ok {
			ids = x.byKey[GroupNameKey(n)]
		}
		for _, id := range ids {
			join(id)
		}
	}
	if !member {
		set[UnassignedComputersGroupID] = true
	}
	return set, member
}

// Below returns group and the groups below it, ordered by UUID bytes.
func (x *GroupIndex) Below(group uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for id := range x.byID {
		for a, n := id, 0; a != uuid.Nil && n <= len(x.byID); a, n = x.byID[a].ParentID, n+1 {
			if a == group {
				out = append(out, id)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return out
}
