package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// listComputers serves GET /api/v1/computers.
func (h *handler) listComputers(w http.ResponseWriter, r *http.Request) {
	computers, err := h.store.Computers(r.Context())
	if err != nil {
		h.storeFailed(w, r, "Computers", err)
		return
	}
	names, ok := h.groupNames(w, r)
	if !ok {
		return
	}
	out := ComputerList{Computers: make([]Computer, 0, len(computers))}
	for _, c := range computers {
		out.Computers = append(out.Computers, wireComputer(c, names))
	}
	writeJSON(w, http.StatusOK, out)
}

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
	out := ComputerDetail{
		Computer: wireComputer(c, names),
		Hardware: c.Hardware,
		Updates:  make([]ComputerUpdate, 0, len(statuses)),
		Events:   len(events),
	}
	for _, s := range statuses {
		out.Updates = append(out.Updates, ComputerUpdate{UpdateID: s.UpdateID, State: s.State.String(), ChangedAt: s.ChangedAt.UTC()})
	}
	slices.SortFunc(out.Updates, func(a, b ComputerUpdate) int { return strings.Compare(a.UpdateID.String(), b.UpdateID.String()) })
	writeJSON(w, http.StatusOK, out)
}

// updateFilter is the query of GET /api/v1/updates.
type updateFilter struct {
	typ      catalog.UpdateType // "" for any
	approved *bool              // nil for any
	declined *bool              // nil for any
}

// parseUpdateFilter reads ?type=, ?approved= and ?declined=; any other
// parameter is an error, so that a typo does not silently list everything.
func parseUpdateFilter(r *http.Request) (updateFilter, *requestError) {
	var f updateFilter
	for key, values := range r.URL.Query() {
		v := values[len(values)-1]
		switch key {
		case "type":
			t, ok := parseUpdateType(v)
			if !ok {
				return f, badRequest("bad_query", "type %q is not one of Software, Driver, Category, Detectoid", v)
			}
			f.typ = t
		case "approved":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return f, badRequest("bad_query", "approved %q is not true or false", v)
			}
			f.approved = &b
		case "declined":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return f, badRequest("bad_query", "declined %q is not true or false", v)
			}
			f.declined = &b
		default:
			return f, badRequest("bad_query", "unknown query parameter %q; known: type, approved, declined", key)
		}
	}
	return f, nil
}

// parseUpdateType returns the update type named s, case-insensitively.
func parseUpdateType(s string) (catalog.UpdateType, bool) {
	for _, t := range []catalog.UpdateType{catalog.TypeSoftware, catalog.TypeDriver, catalog.TypeCategory, catalog.TypeDetectoid} {
		if strings.EqualFold(string(t), s) {
			return t, true
		}
	}
	return "", false
}

// listUpdates serves GET /api/v1/updates.
func (h *handler) listUpdates(w http.ResponseWriter, r *http.Request) {
	filter, e := parseUpdateFilter(r)
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	ctx := r.Context()
	summaries, err := h.store.Summaries(ctx)
	if err != nil {
		h.storeFailed(w, r, "Summaries", err)
		return
	}
	approvals, err := h.store.Approvals(ctx)
	if err != nil {
		h.storeFailed(w, r, "Approvals", err)
		return
	}
	states, err := h.store.UpdateStates(ctx)
	if err != nil {
		h.storeFailed(w, r, "UpdateStates", err)
		return
	}
	declined := make(map[uuid.UUID]bool, len(states))
	for _, st := range states {
		declined[st.UpdateID] = st.Declined
	}
	names, ok := h.groupNames(w, r)
	if !ok {
		return
	}
	byUpdate := make(map[uuid.UUID][]UpdateApproval)
	for _, a := range approvals {
		byUpdate[a.UpdateID] = append(byUpdate[a.UpdateID], UpdateApproval{
			Group: names[a.GroupID], GroupID: a.GroupID, Action: a.Action, Deadline: optTime(a.Deadline),
		})
	}
	for _, list := range byUpdate {
		slices.SortFunc(list, func(a, b UpdateApproval) int { return strings.Compare(a.Group, b.Group) })
	}

	out := UpdateList{Updates: []Update{}}
	for _, s := range summaries {
		list := byUpdate[s.UpdateID]
		if filter.typ != "" && s.Type != filter.typ {
			continue
		}
		if filter.approved != nil && *filter.approved != (len(list) > 0) {
			continue
		}
		if filter.declined != nil && *filter.declined != declined[s.UpdateID] {
			continue
		}
		out.Updates = append(out.Updates, Update{
			RevisionID:       s.ID,
			UpdateID:         s.UpdateID,
			RevisionNumber:   s.RevisionNumber,
			Type:             s.Type,
			CategoryType:     s.CategoryType,
			Title:            s.Title,
			KBArticleID:      s.KBArticleID,
			IsLeaf:           s.IsLeaf,
			PublicationState: s.PublicationState,
			Declined:         declined[s.UpdateID],
			Approvals:        nonNil(list),
		})
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
