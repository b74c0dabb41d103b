package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"wsus/catalog"
)

// maxGroupName is the longest target group name, in characters (WSUS keeps
// names in an nvarchar(256)).
const maxGroupName = 256

// createGroup serves POST /api/v1/groups.
func (h *handler) createGroup(w http.ResponseWriter, r *http.Request) {
	var req GroupRequest
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
	groups, err := h.store.TargetGroups(ctx)
	if err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return
	}
	parent, ok := findGroup(groups, req.Parent)
	if !ok {
		unknownGroup(w, req.Parent)
		return
	}
	// "Unassigned Computers" holds exactly the computers in no other group,
	// so a group under it could never have a member.
	if parent.ID == catalog.UnassignedComputersGroupID {
		writeError(w, http.StatusBadRequest, "invalid_parent", "Unassigned Computers cannot have child groups")
		return
	}
	if g, ok := groupNamed(groups, name); ok {
		writeError(w, http.StatusConflict, "group_exists", fmt.Sprintf("a target group is already named %q (%s)", g.Name, g.ID))
		return
	}

	g := catalog.TargetGroup{ID: uuid.New(), Name: name, ParentID: parent.ID}
	if err := h.store.CreateTargetGroup(ctx, g); err != nil {
		// Another request may have created the name since the check above.
		if errors.Is(err, catalog.ErrConflict) {
			writeError(w, http.StatusConflict, "group_exists", fmt.Sprintf("a target group is already named %q", name))
			return
		}
		if errors.Is(err, catalog.ErrNotFound) {
			writeError(w, http.StatusNotFound, "unknown_group", fmt.Sprintf("the parent target group %s is gone", parent.ID))
			return
		}
		h.storeFailed(w, r, "CreateTargetGroup", err)
		return
	}
	h.log.InfoContext(ctx, "admin: target group created", "id", g.ID, "name", g.Name, "parent", parent.Name)
	parentID := parent.ID
	writeJSON(w, http.StatusCreated, Group{ID: g.ID, Name: g.Name, ParentID: &parentID})
}

// parseGroupName returns the name of a new group without surrounding white
// space, or why it cannot be one.
func parseGroupName(raw string) (string, *requestError) {
	name := strings.TrimSpace(raw)
	switch {
	case name == "":
		return "", badRequest("invalid_name", "name is required")
	case utf8.RuneCountInString(name) > maxGroupName:
		return "", badRequest("invalid_name", "name is %d characters long; at most %d are allowed", utf8.RuneCountInString(name), maxGroupName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", badRequest("invalid_name", "name %q contains a control character", name)
	}
	// Groups are named by name or ID everywhere; a name that is a GUID
	// would be read as an ID.
	if _, err := uuid.Parse(name); err == nil {
		return "", badRequest("invalid_name", "name %q is a GUID; group names must not look like IDs", name)
	}
	return name, nil
}

// groupsBody is ComputerGroupsRequest as decoded: a nil Groups means the
// field was missing or null, which is refused rather than read as "clear".
type groupsBody struct {
	Groups *[]string `json:"groups"`
}

// setComputerGroups serves PUT /api/v1/computers/{id}/groups.
func (h *handler) setComputerGroups(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req groupsBody
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if req.Groups == nil {
		writeError(w, http.StatusBadRequest, "invalid_groups", `groups is required; send "groups":[] to remove the computer from every group`)
		return
	}
	refs := *req.Groups
	for i, ref := range refs {
		if strings.TrimSpace(ref) == "" {
			writeError(w, http.StatusBadRequest, "invalid_groups", fmt.Sprintf("groups[%d] is empty; name a target group or give its ID", i))
			return
		}
	}
	ctx := r.Context()
	unknownComputer := func() {
		writeError(w, http.StatusNotFound, "unknown_computer", fmt.Sprintf("no computer has the client ID %q", id))
	}
	// The path names the computer by client ID or DNS name.
	c, ok := h.computerOf(w, r)
	if !ok {
		return
	}
	id = c.ID

	groups, err := h.store.TargetGroups(ctx)
	if err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return
	}
	ids := make([]uuid.UUID, 0, len(refs))
	for _, ref := range refs {
		g, ok := findGroup(groups, ref)
		if !ok {
			unknownGroup(w, ref)
			return
		}
		switch g.ID {
		case catalog.AllComputersGroupID:
			writeError(w, http.StatusBadRequest, "not_assignable", "every computer is in All Computers; it cannot be assigned")
			return
		case catalog.UnassignedComputersGroupID:
			writeError(w, http.StatusBadRequest, "not_assignable", `Unassigned Computers holds the computers in no other group; send "groups":[] instead`)
			return
		}
		ids = append(ids, g.ID)
	}

	err = h.store.SetComputerGroups(ctx, id, ids)
	if errors.Is(err, catalog.ErrNotFound) {
		// The computer or a group went since the checks above.
		unknownComputer()
		return
	}
	if err != nil {
		h.storeFailed(w, r, "SetComputerGroups", err)
		return
	}
	c, err = h.store.Computer(ctx, id)
	if err != nil {
		h.storeFailed(w, r, "Computer", err)
		return
	}
	names := make(map[uuid.UUID]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	h.log.InfoContext(ctx, "admin: computer groups set", "client_id", id, "groups", ids)
	writeJSON(w, http.StatusOK, wireComputer(c, names))
}
