package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// getComputer serves GET /api/v1/computers/{id}.
func (h *handler) getComputer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, ok := h.computerOf(w, r)
	if !ok {
		return
	}
	id := c.ID
	statuses, err := h.store.Statuses(ctx, id)
	if err != nil {
		h.storeFailed(w, r, "Statuses", err)
		return
	}
	events, err := h.store.Events(ctx, id)
	if err != nil {
		h.storeFailed(w, r, "Events", err)
		return
	}
	names, ok := h.groupNames(w, r)
	if !ok {
		return
	}
	updates, ok := h.computerUpdates(w, r, id, statuses)
	if !ok {
		return
	}
	out := ComputerDetail{
		Computer: wireComputer(c, names),
		Hardware: c.Hardware,
		Updates:  updates,
		Events:   len(events),
	}
	writeJSON(w, http.StatusOK, out)
}

// wireGroup is a target group as the API answers it.
func wireGroup(g catalog.TargetGroup) Group {
	wg := Group{ID: g.ID, Name: g.Name}
	if g.ParentID != uuid.Nil {
		parent := g.ParentID
		wg.ParentID = &parent
	}
	return wg
}

// listGroups serves GET /api/v1/groups.
func (h *handler) listGroups(w http.ResponseWriter, r *http.Request) {
	groups, err := h.store.TargetGroups(r.Context())
	if err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return
	}
	out := GroupList{Groups: make([]Group, 0, len(groups))}
	for _, g := range groups {
		out.Groups = append(out.Groups, wireGroup(g))
	}
	slices.SortFunc(out.Groups, func(a, b Group) int {
		return cmpFold(a.Name, b.Name)
	})
	writeJSON(w, http.StatusOK, out)
}

// cmpFold orders strings case-insensitively, then exactly.
func cmpFold(a, b string) int {
	if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
