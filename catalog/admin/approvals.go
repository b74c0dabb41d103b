package admin

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// requestError is a 4xx answer found while reading a request.
type requestError struct {
	status int
	code   string
	reason string
}

func (e *requestError) Error() string { return e.reason }

func badRequest(code, format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, code: code, reason: fmt.Sprintf(format, args...)}
}

// decodeBody decodes the JSON body of r into v: application/json only, at
// most maxBodyBytes, no unknown fields, exactly one value.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *requestError {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return &requestError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			reason: fmt.Sprintf("the body must be application/json, not %q", r.Header.Get("Content-Type"))}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	var tooBig *http.MaxBytesError
	err = dec.Decode(v)
	if err == nil {
		// Anything but whitespace after the value is a second value.
		if _, tokErr := dec.Token(); tokErr != io.EOF {
			err = errors.New("data after the JSON object")
			if errors.As(tokErr, &tooBig) {
				err = tokErr
			}
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &requestError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
			reason: fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	case errors.Is(err, io.EOF):
		return badRequest("bad_json", "the body is empty; expected a JSON object")
	default:
		return badRequest("bad_json", "the body is not a valid request: %v", err)
	}
}

// decodeOptionalBody is decodeBody for requests whose body may be left
// out: an empty or all-white-space body, whatever its Content-Type, leaves v
// as it is.
func decodeOptionalBody(w http.ResponseWriter, r *http.Request, v any) *requestError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &requestError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
			reason: fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	case err != nil:
		return badRequest("bad_json", "the body could not be read: %v", err)
	case len(bytes.TrimSpace(body)) == 0:
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decodeBody(w, r, v)
}

// setApproval serves POST /api/v1/approvals.
func (h *handler) setApproval(w http.ResponseWriter, r *http.Request) {
	var req ApprovalRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	ctx := r.Context()
	view, ok := h.approvalView(w, r)
	if !ok {
		return
	}
	stored, group, e, err := h.approve(ctx, view, req)
	if err != nil {
		h.storeFailed(w, r, e.code, err)
		return
	}
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if stored.Action == catalog.ActionNotApproved {
		writeJSON(w, http.StatusOK, Unapproval{UpdateID: stored.UpdateID, GroupID: group.ID, Group: group.Name, Action: catalog.ActionNotApproved})
		return
	}
	writeJSON(w, http.StatusCreated, wireApproval(stored, group.Name))
}

// approvalView is what deciding an approval reads: the groups, the
// catalog's updates, the declined ones and the approvals in place.
type approvalView struct {
	groups    []catalog.TargetGroup
	summaries []catalog.Summary
	declined  map[uuid.UUID]bool
	approvals []catalog.Approval
}

// approvalView reads the view; on a store failure it has answered 500 and
// returns false.
func (h *handler) approvalView(w http.ResponseWriter, r *http.Request) (*approvalView, bool) {
	ctx := r.Context()
	var v approvalView
	var err error
	if v.groups, err = h.store.TargetGroups(ctx); err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return nil, false
	}
	if v.summaries, err = h.store.Summaries(ctx); err != nil {
		h.storeFailed(w, r, "Summaries", err)
		return nil, false
	}
	states, err := h.store.UpdateStates(ctx)
	if err != nil {
		h.storeFailed(w, r, "UpdateStates", err)
		return nil, false
	}
	v.declined = make(map[uuid.UUID]bool)
	for _, st := range states {
		if st.Declined {
			v.declined[st.UpdateID] = true
		}
	}
	if v.approvals, err = h.store.Approvals(ctx); err != nil {
		h.storeFailed(w, r, "Approvals", err)
		return nil, false
	}
	return &v, true
}

// approve decides and stores one approval request against view, and keeps
// view current. A refused request returns a requestError and changes
// nothing; a store failure returns the error with the failed operation's
// name as the requestError's code.
//
// The rules: a declined update is refused (409 update_declined) unless the
// request says undecline, which un-declines it first; a request without a
// deadline keeps the deadline of the approval it replaces, one with
// "deadline": null (or "") removes it.
func (h *handler) approve(ctx context.Context, view *approvalView, req ApprovalRequest) (catalog.Approval, catalog.TargetGroup, *requestError, error) {
	a, e := parseApproval(req)
	if e != nil {
		return a, catalog.TargetGroup{}, e, nil
	}
	// WSUS shows who approved: the name of the token that did.
	if who := principalOf(ctx).name; who != "" {
		a.By = who
	}
	group, ok := findGroup(view.groups, req.Group)
	if !ok {
		return a, group, &requestError{status: http.StatusNotFound, code: "unknown_group",
			reason: fmt.Sprintf("no target group is named or has the ID %q", req.Group)}, nil
	}
	a.GroupID = group.ID
	i := slices.IndexFunc(view.summaries, func(s catalog.Summary) bool { return s.UpdateID == a.UpdateID })
	if i < 0 {
		return a, group, &requestError{status: http.StatusNotFound, code: "unknown_update",
			reason: fmt.Sprintf("the catalog has no update %s", a.UpdateID)}, nil
	}
	// Categories and detectoids are evaluated by clients, never deployed.
	// Removing an approval is always allowed.
	if t := view.summaries[i].Type; a.Action != catalog.ActionNotApproved && t != catalog.TypeSoftware && t != catalog.TypeDriver {
		return a, group, badRequest("not_approvable", "update %s is a %s; only Software and Driver updates can be approved", a.UpdateID, t), nil
	}
	j := slices.IndexFunc(view.approvals, func(x catalog.Approval) bool { return x.UpdateID == a.UpdateID && x.GroupID == a.GroupID })
	undeclined := false
	if a.Action != catalog.ActionNotApproved {
		if view.declined[a.UpdateID] {
			if !req.Undecline {
				return a, group, &requestError{status: http.StatusConflict, code: "update_declined",
					reason: fmt.Sprintf("update %s is declined and is offered to nobody; un-decline it first, or send \"undecline\": true to un-decline and approve it", a.UpdateID)}, nil
			}
			if err := h.store.SetDeclined(ctx, a.UpdateID, false); err != nil {
				if errors.Is(err, catalog.ErrNotFound) {
					return a, group, &requestError{status: http.StatusNotFound, code: "unknown_update",
						reason: fmt.Sprintf("the catalog has no update %s", a.UpdateID)}, nil
				}
				return a, group, &requestError{code: "SetDeclined"}, err
			}
			delete(view.declined, a.UpdateID)
			undeclined = true
			h.log.InfoContext(ctx, "admin: decline set", "update_id", a.UpdateID, "declined", false)
		}
		if !req.Deadline.Set && j >= 0 {
			a.Deadline = view.approvals[j].Deadline
		}
	}
	stored, err := h.store.SetApproval(ctx, a)
	if err != nil && undeclined {
		// The two writes are not one transaction: a refused approval
		// declines the update again, so that a failed request leaves it as
		// it found it (short of a second failure, which is logged).
		if derr := h.store.SetDeclined(context.WithoutCancel(ctx), a.UpdateID, true); derr != nil {
			h.log.ErrorContext(ctx, "admin: approval failed after un-declining; the update stays un-declined", "update_id", a.UpdateID, "err", derr)
		} else {
			view.declined[a.UpdateID] = true
		}
	}
	if errors.Is(err, catalog.ErrNotFound) {
		return a, group, &requestError{status: http.StatusNotFound, code: "unknown_update",
			reason: fmt.Sprintf("the catalog has no update %s or no target group %s", a.UpdateID, a.GroupID)}, nil
	}
	if err != nil {
		return a, group, &requestError{code: "SetApproval"}, err
	}
	if j >= 0 {
		view.approvals = slices.Delete(view.approvals, j, j+1)
	}
	if stored.Action != catalog.ActionNotApproved {
		view.approvals = append(view.approvals, stored)
	}
	h.log.InfoContext(ctx, "admin: approval set", "update_id", a.UpdateID, "group", group.Name, "action", a.Action, "deadline", stored.Deadline)
	return stored, group, nil, nil
}

// parseApproval validates every field of req but the group.
func parseApproval(req ApprovalRequest) (catalog.Approval, *requestError) {
	a := catalog.Approval{By: ApprovedBy}
	if req.UpdateID == "" {
		return a, badRequest("invalid_update_id", "update_id is required")
	}
	id, err := uuid.Parse(req.UpdateID)
	if err != nil {
		return a, badRequest("invalid_update_id", "update_id %q is not a GUID", req.UpdateID)
	}
	a.UpdateID = id
	// The action is matched case-insensitively and answered canonically.
	switch {
	case req.Action == "" || strings.EqualFold(req.Action, string(catalog.ActionInstall)):
		a.Action = catalog.ActionInstall
	case strings.EqualFold(req.Action, string(catalog.ActionOptionalInstall)):
		a.Action = catalog.ActionOptionalInstall
	case strings.EqualFold(req.Action, string(catalog.ActionUninstall)):
		a.Action = catalog.ActionUninstall
	case strings.EqualFold(req.Action, string(catalog.ActionNotApproved)):
		a.Action = catalog.ActionNotApproved
	default:
		return a, badRequest("invalid_action", "action %q is not one of Install, OptionalInstall, Uninstall, NotApproved", req.Action)
	}
	if req.Deadline.Value != "" {
		if a.Action == catalog.ActionNotApproved {
			return a, badRequest("invalid_deadline", "a deadline makes no sense with action NotApproved")
		}
		// A past deadline is allowed: in WSUS it means "install now".
		d, err := time.Parse(time.RFC3339, req.Deadline.Value)
		if err != nil {
			return a, badRequest("invalid_deadline", "deadline %q is not an RFC 3339 time such as 2026-05-01T18:00:00Z", req.Deadline.Value)
		}
		// The stores keep the years 1-9999, and the zero time means "no
		// deadline".
		if d.IsZero() || catalog.CheckTime("deadline", d) != nil {
			return a, badRequest("invalid_deadline", "deadline %q is outside the years 1 to 9999", req.Deadline.Value)
		}
		a.Deadline = d.UTC()
	}
	return a, nil
}

// unknownGroup answers 404 for a group reference findGroup did not resolve.
func unknownGroup(w http.ResponseWriter, ref string) {
	writeError(w, http.StatusNotFound, "unknown_group", fmt.Sprintf("no target group is named or has the ID %q", ref))
}

// findGroup finds a target group by ID or by name (see groupNamed); an
// empty ref means "All Computers".
func findGroup(groups []catalog.TargetGroup, ref string) (catalog.TargetGroup, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		ref = catalog.AllComputersGroupID.String()
	}
	if id, err := uuid.Parse(ref); err == nil {
		for _, g := range groups {
			if g.ID == id {
				return g, true
			}
		}
	}
	return groupNamed(groups, ref)
}

// groupNamed finds the group called name: the one spelled exactly so, else
// the first one the store counts as the same name (catalog.SameGroupName).
// Catalogs upgraded from before names were case-folded may hold two groups
// of one folded name ("Straße" and "STRASSE"); the exact spelling reaches
// each.
func groupNamed(groups []catalog.TargetGroup, name string) (catalog.TargetGroup, bool) {
	for _, g := range groups {
		if g.Name == name {
			return g, true
		}
	}
	for _, g := range groups {
		if catalog.SameGroupName(g.Name, name) {
			return g, true
		}
	}
	return catalog.TargetGroup{}, false
}

// listApprovals serves GET /api/v1/approvals.
func (h *handler) listApprovals(w http.ResponseWriter, r *http.Request) {
	approvals, err := h.store.Approvals(r.Context())
	if err != nil {
		h.storeFailed(w, r, "Approvals", err)
		return
	}
	names, ok := h.groupNames(w, r)
	if !ok {
		return
	}
	states, err := h.store.UpdateStates(r.Context())
	if err != nil {
		h.storeFailed(w, r, "UpdateStates", err)
		return
	}
	declined := make(map[uuid.UUID]bool)
	for _, st := range states {
		declined[st.UpdateID] = st.Declined
	}
	out := ApprovalList{Approvals: make([]Approval, 0, len(approvals))}
	for _, a := range approvals {
		wa := wireApproval(a, names[a.GroupID])
		wa.InForce = !declined[a.UpdateID]
		out.Approvals = append(out.Approvals, wa)
	}
	slices.SortFunc(out.Approvals, func(a, b Approval) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, out)
}

// groupNames maps target group IDs to names; on a store failure it has
// answered 500 and returns false.
func (h *handler) groupNames(w http.ResponseWriter, r *http.Request) (map[uuid.UUID]string, bool) {
	groups, err := h.store.TargetGroups(r.Context())
	if err != nil {
		h.storeFailed(w, r, "TargetGroups", err)
		return nil, false
	}
	names := make(map[uuid.UUID]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	return names, true
}
