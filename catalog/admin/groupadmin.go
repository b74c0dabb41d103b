package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// routeGroupAdmin registers the routes that rename and delete groups and
// delete computers (issue 11).
func (h *handler) routeGroupAdmin() {
	h.route("/api/v1/groups/{id}", map[string]http.HandlerFunc{
		http.MethodGet:    h.getGroup,
		http.MethodPatch:  h.renameGroup,
		http.MethodDelete: h.deleteGroup,
	})
	h.route("/api/v1/cleanup/computers", map[string]http.HandlerFunc{http.MethodPost: h.cleanupComputers})
	h.route("/api/v1/bulk", map[string]http.HandlerFunc{http.MethodPost: h.bulk})
}

// builtinGroup answers 409 builtin_group when g is built in.
func builtinGroup(w http.ResponseWriter, g catalog.TargetGroup, verb string) bool {
	if g.ID != catalog.AllComputersGroupID && g.ID != catalog.UnassignedComputersGroupID {
		return false
	}
	writeError(w, http.StatusConflict, "builtin_group", fmt.Sprintf("%s is a built-in group; it cannot be %s", g.Name, verb))
	return true
}

// getGroup serves GET /api/v1/groups/{id}: the group its ID or name
// names, with its ETag (etag.go).
func (h *handler) getGroup(w http.ResponseWriter, r *http.Request) {
	groups, err := h.store.TargetGroups(r.Context())
	if err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return
	}
	ref := r.PathValue("id")
	g, ok := findGroup(groups, ref)
	if !ok || strings.TrimSpace(ref) == "" {
		unknownGroup(w, ref)
		return
	}
	writeTagged(w, http.StatusOK, wireGroup(g))
}

// renameGroup serves PATCH /api/v1/groups/{id} {"name": NEW}; {id} is the
// group's ID or name. With If-Match the group is renamed only if it is
// still as tagged (etag.go).
func (h *handler) renameGroup(w http.ResponseWriter, r *http.Request) {
	var req GroupRenameRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	name, e := parseGroupName(req.Name)
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	ctx := r.Context()
	groups, g, ok := h.pathGroup(w, r, "renamed")
	if !ok {
		return
	}
	conditional, ok := checkIfMatch(w, r, wireGroup(g))
	if !ok {
		return
	}
	ref := r.PathValue("id")
	if other, ok := groupNamed(groups, name); ok && other.ID != g.ID {
		writeError(w, http.StatusConflict, "group_exists", fmt.Sprintf("a target group is already named %q (%s)", other.Name, other.ID))
		return
	}
	var err error
	if conditional {
		err = h.store.RenameTargetGroupIf(ctx, g, name)
	} else {
		err = h.store.RenameTargetGroup(ctx, g.ID, name)
	}
	switch {
	case errors.Is(err, catalog.ErrConflict):
		writeError(w, http.StatusConflict, "group_exists", fmt.Sprintf("a target group is already named %q", name))
		return
	case errors.Is(err, catalog.ErrNotFound):
		unknownGroup(w, ref)
		return
	case err != nil:
		h.storeFailed(w, r, "RenameTargetGroup", err)
		return
	}
	h.log.InfoContext(ctx, "admin: target group renamed", "id", g.ID, "from", g.Name, "to", name)
	g.Name = name
	writeTagged(w, http.StatusOK, wireGroup(g))
}

// deleteGroup serves DELETE /api/v1/groups/{id}; {id} is the group's ID or
// name. The group's approvals and its computers' assignments to it go
// with it; a group with child groups is refused (409 group_has_children).
// With If-Match the group is deleted only if it is still as tagged.
func (h *handler) deleteGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, g, ok := h.pathGroup(w, r, "deleted")
	if !ok {
		return
	}
	conditional, ok := checkIfMatch(w, r, wireGroup(g))
	if !ok {
		return
	}
	ref := r.PathValue("id")
	var err error
	if conditional {
		err = h.store.DeleteTargetGroupIf(ctx, g)
	} else {
		err = h.store.DeleteTargetGroup(ctx, g.ID)
	}
	switch {
	case errors.Is(err, catalog.ErrConflict):
		writeError(w, http.StatusConflict, "group_has_children", fmt.Sprintf("target group %q has child groups; delete them first", g.Name))
		return
	case errors.Is(err, catalog.ErrNotFound):
		unknownGroup(w, ref)
		return
	case err != nil:
		h.storeFailed(w, r, "DeleteTargetGroup", err)
		return
	}
	h.log.InfoContext(ctx, "admin: target group deleted", "id", g.ID, "name", g.Name)
	writeJSON(w, http.StatusOK, DeletedGroup{ID: g.ID, Name: g.Name, Deleted: true})
}

// resolveComputer finds the computer ref names: its client ID, else its
// DNS name (case-insensitively), else its host name (the DNS name's first
// label). A name more than one computer has is refused with 409
// ambiguous_computer listing them; none is 404 unknown_computer. A store
// failure is returned as the error, with the operation as the code.
func (h *handler) resolveComputer(ctx context.Context, ref string) (catalog.Computer, *requestError, error) {
	c, err := h.store.Computer(ctx, ref)
	if err == nil {
		return c, nil, nil
	}
	if !errors.Is(err, catalog.ErrNotFound) {
		return c, &requestError{code: "Computer"}, err
	}
	all, err := h.store.Computers(ctx)
	if err != nil {
		return c, &requestError{code: "Computers"}, err
	}
	name := strings.TrimSuffix(strings.TrimSpace(ref), ".")
	var matches []catalog.Computer
	for _, pass := range []func(catalog.Computer) bool{
		func(c catalog.Computer) bool { return strings.EqualFold(c.DNSName, name) },
		func(c catalog.Computer) bool {
			host, _, _ := strings.Cut(c.DNSName, ".")
			return strings.EqualFold(host, name)
		},
	} {
		if name == "" {
			break
		}
		for _, c := range all {
			if pass(c) {
				matches = append(matches, c)
			}
		}
		if len(matches) > 0 {
			break
		}
	}
	switch len(matches) {
	case 0:
		return c, &requestError{status: http.StatusNotFound, code: "unknown_computer",
			reason: fmt.Sprintf("no computer has the client ID or DNS name %q", ref)}, nil
	case 1:
		// Read it again: the list leaves Hardware out.
		c, err := h.store.Computer(ctx, matches[0].ID)
		if errors.Is(err, catalog.ErrNotFound) {
			return c, &requestError{status: http.StatusNotFound, code: "unknown_computer",
				reason: fmt.Sprintf("no computer has the client ID or DNS name %q", ref)}, nil
		}
		if err != nil {
			return c, &requestError{code: "Computer"}, err
		}
		return c, nil, nil
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = m.ID + " (" + m.DNSName + ")"
	}
	return c, &requestError{status: http.StatusConflict, code: "ambiguous_computer",
		reason: fmt.Sprintf("%d computers are named %q; give a client ID: %s", len(matches), ref, strings.Join(names, ", "))}, nil
}

// computerOf resolves the path's {id} as resolveComputer does; it has
// answered and returns false when it names no single computer.
func (h *handler) computerOf(w http.ResponseWriter, r *http.Request) (catalog.Computer, bool) {
	c, e, err := h.resolveComputer(r.Context(), r.PathValue("id"))
	if err != nil {
		h.storeFailed(w, r, e.code, err)
		return c, false
	}
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return c, false
	}
	return c, true
}

// deleteComputer serves DELETE /api/v1/computers/{id}; {id} is a client ID
// or a DNS name (see resolveComputer). A computer that contacts the server
// again comes back as new.
func (h *handler) deleteComputer(w http.ResponseWriter, r *http.Request) {
	c, ok := h.computerOf(w, r)
	if !ok {
		return
	}
	deleted, err := h.store.DeleteComputers(r.Context(), []string{c.ID})
	if err != nil {
		h.storeFailed(w, r, "DeleteComputers", err)
		return
	}
	if len(deleted) == 0 {
		writeError(w, http.StatusNotFound, "unknown_computer", fmt.Sprintf("no computer has the client ID %q", c.ID))
		return
	}
	h.log.InfoContext(r.Context(), "admin: computer deleted", "client_id", c.ID, "dns_name", c.DNSName)
	writeJSON(w, http.StatusOK, DeletedComputers{Computers: []DeletedComputer{wireDeleted(c)}})
}

// lastContact is when the computer last called the server: its last sync
// or report, else when it was first seen.
func lastContact(c catalog.Computer) time.Time {
	t := c.FirstSeen
	for _, x := range []time.Time{c.LastSync, c.LastReport, c.LastStatusTime} {
		if x.After(t) {
			t = x
		}
	}
	return t
}

func wireDeleted(c catalog.Computer) DeletedComputer {
	return DeletedComputer{ID: c.ID, DNSName: c.DNSName, LastContact: optTime(lastContact(c))}
}

// maxCleanupDays bounds not_contacted_days (about 100 years).
const maxCleanupDays = 36500

// cleanupComputers serves POST /api/v1/cleanup/computers
// {"not_contacted_days": N, "dry_run": B}: WSUS's "clean up obsolete
// computers", the computers that have not contacted the server (synced,
// reported, or first been seen) for N days or more. A dry run lists them
// and deletes nothing.
func (h *handler) cleanupComputers(w http.ResponseWriter, r *http.Request) {
	var req CleanupRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if req.NotContactedDays == nil || *req.NotContactedDays < 1 || *req.NotContactedDays > maxCleanupDays {
		writeError(w, http.StatusBadRequest, "invalid_days", fmt.Sprintf("not_contacted_days is required, from 1 to %d", maxCleanupDays))
		return
	}
	ctx := r.Context()
	all, err := h.store.Computers(ctx)
	if err != nil {
		h.storeFailed(w, r, "Computers", err)
		return
	}
	cutoff := time.Now().Add(-time.Duration(*req.NotContactedDays) * 24 * time.Hour)
	out := DeletedComputers{DryRun: req.DryRun, Computers: []DeletedComputer{}}
	var ids []string
	byID := map[string]catalog.Computer{}
	for _, c := range all {
		if lastContact(c).Before(cutoff) {
			ids = append(ids, c.ID)
			byID[c.ID] = c
		}
	}
	if !req.DryRun && len(ids) > 0 {
		if ids, err = h.store.DeleteComputers(ctx, ids); err != nil {
			h.storeFailed(w, r, "DeleteComputers", err)
			return
		}
		h.log.InfoContext(ctx, "admin: obsolete computers deleted", "count", len(ids), "not_contacted_days", *req.NotContactedDays)
	}
	for _, id := range ids {
		out.Computers = append(out.Computers, wireDeleted(byID[id]))
	}
	slices.SortFunc(out.Computers, func(a, b DeletedComputer) int { return strings.Compare(a.DNSName+"\x00"+a.ID, b.DNSName+"\x00"+b.ID) })
	writeJSON(w, http.StatusOK, out)
}

// GroupRenameRequest is the body of PATCH /api/v1/groups/{id}.
type GroupRenameRequest struct {
	// Name is the new name, with the rules of GroupRequest.Name.
	Name string `json:"name"`
}

// DeletedGroup is the answer of DELETE /api/v1/groups/{id}.
type DeletedGroup struct {
	ID      uuid.UUID `json:"id"`
	Name    string    `json:"name"`
	Deleted bool      `json:"deleted"`
}

// CleanupRequest is the body of POST /api/v1/cleanup/computers.
type CleanupRequest struct {
	// NotContactedDays selects the computers whose last contact (sync,
	// report, or first contact) is at least this many days old; required,
	// 1 to 36500.
	NotContactedDays *int `json:"not_contacted_days"`
	// DryRun lists them without deleting.
	DryRun bool `json:"dry_run,omitempty"`
}

// DeletedComputers is the answer of DELETE /api/v1/computers/{id} and of
// POST /api/v1/cleanup/computers: the computers deleted (or, on a dry
// run, that would be), by DNS name.
type DeletedComputers struct {
	DryRun    bool              `json:"dry_run"`
	Computers []DeletedComputer `json:"computers"`
}

// DeletedComputer is one computer of DeletedComputers.
type DeletedComputer struct {
	ID      string `json:"id"`
	DNSName string `json:"dns_name"`
	// LastContact is the latest of its first contact, last sync and last
	// report.
	LastContact *time.Time `json:"last_contact"`
}

// pathGroup reads the target groups and finds the one the path's {id}
// names (an ID or a name), answering 404 unknown_group, or 409 for a
// built-in group (verb says what was refused), when it cannot be changed.
func (h *handler) pathGroup(w http.ResponseWriter, r *http.Request, verb string) ([]catalog.TargetGroup, catalog.TargetGroup, bool) {
	groups, err := h.store.TargetGroups(r.Context())
	if err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return nil, catalog.TargetGroup{}, false
	}
	ref := r.PathValue("id")
	g, ok := findGroup(groups, ref)
	if !ok || strings.TrimSpace(ref) == "" {
		unknownGroup(w, ref)
		return nil, catalog.TargetGroup{}, false
	}
	if builtinGroup(w, g, verb) {
		return nil, catalog.TargetGroup{}, false
	}
	return groups, g, true
}
