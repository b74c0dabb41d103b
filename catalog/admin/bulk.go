package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// maxBulkUpdates bounds the updates of one bulk request, listed or
// selected by a filter.
const maxBulkUpdates = 5000

// BulkRequest is the body of POST /api/v1/bulk: one operation on a list of
// updates or on the updates a filter selects (exactly one of the two).
type BulkRequest struct {
	// Operation is approve, unapprove, decline or undecline.
	Operation string `json:"operation"`
	// UpdateIDs lists the updates (GUIDs), at most 5,000.
	UpdateIDs []string `json:"update_ids,omitempty"`
	// Filter selects Software and Driver updates instead.
	Filter *BulkFilter `json:"filter,omitempty"`
	// Group, Action, Deadline and Undecline are those of ApprovalRequest,
	// for approve (unapprove takes Group only).
	Group     string   `json:"group,omitempty"`
	Action    string   `json:"action,omitempty"`
	Deadline  Deadline `json:"deadline,omitzero"`
	Undecline bool     `json:"undecline,omitempty"`
}

// BulkFilter selects Software and Driver updates; every field given must
// match, and at least one must be given.
type BulkFilter struct {
	// Type is Software or Driver.
	Type string `json:"type,omitempty"`
	// KB is a KB article number, with or without "KB".
	KB string `json:"kb,omitempty"`
	// Title is text the title of a revision contains (case-insensitive).
	Title string `json:"title,omitempty"`
	// Declined selects declined (true) or not declined (false) updates.
	Declined *bool `json:"declined,omitempty"`
}

// BulkResult is the answer of POST /api/v1/bulk: one item per update, in
// the order listed (a filter's: by update ID).
type BulkResult struct {
	Operation string     `json:"operation"`
	Succeeded int        `json:"succeeded"`
	Failed    int        `json:"failed"`
	Results   []BulkItem `json:"results"`
}

// BulkItem is the outcome for one update: Status is the HTTP status the
// single request would have answered; Error and Reason are set when it
// failed.
type BulkItem struct {
	UpdateID string `json:"update_id"`
	Status   int    `json:"status"`
	Error    string `json:"error,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// bulk serves POST /api/v1/bulk. The request is checked whole before
// anything changes (400 for an unknown operation, a bad GUID, a list and a
// filter or neither, an unknown group, a bad action or deadline); then each
// update is done on its own, and one that fails (unknown, declined, not
// approvable) is reported in its item without stopping the others.
func (h *handler) bulk(w http.ResponseWriter, r *http.Request) {
	var req BulkRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	op := strings.ToLower(strings.TrimSpace(req.Operation))
	switch op {
	case "approve", "unapprove":
	case "decline", "undecline":
		if req.Group != "" || req.Action != "" || req.Deadline.Set || req.Undecline {
			writeError(w, http.StatusBadRequest, "invalid_bulk", op+" takes no group, action, deadline or undecline")
			return
		}
	default:
		writeError(w, http.StatusBadRequest, "invalid_operation", fmt.Sprintf("operation %q is not one of approve, unapprove, decline, undecline", req.Operation))
		return
	}
	if op == "unapprove" && (req.Action != "" || req.Deadline.Set || req.Undecline) {
		writeError(w, http.StatusBadRequest, "invalid_bulk", "unapprove takes a group only")
		return
	}
	if (req.Filter == nil) == (req.UpdateIDs == nil) {
		writeError(w, http.StatusBadRequest, "invalid_bulk", "give either update_ids or filter")
		return
	}
	ctx := r.Context()
	view, ok := h.approvalView(w, r)
	if !ok {
		return
	}
	var ids []uuid.UUID
	if req.Filter != nil {
		var e *requestError
		if ids, e = selectUpdates(view, *req.Filter); e != nil {
			writeError(w, e.status, e.code, e.reason)
			return
		}
	} else {
		for i, s := range req.UpdateIDs {
			id, err := uuid.Parse(s)
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid_update_id", fmt.Sprintf("update_ids[%d] %q is not a GUID", i, s))
				return
			}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && req.Filter == nil {
		writeError(w, http.StatusBadRequest, "invalid_bulk", "update_ids is empty")
		return
	}
	if len(ids) > maxBulkUpdates {
		writeError(w, http.StatusBadRequest, "too_many_updates", fmt.Sprintf("%d updates; at most %d a request", len(ids), maxBulkUpdates))
		return
	}
	approval := ApprovalRequest{Group: req.Group, Action: req.Action, Deadline: req.Deadline, Undecline: req.Undecline}
	if op == "unapprove" {
		approval.Action = string(catalog.ActionNotApproved)
	}
	if op == "approve" || op == "unapprove" {
		// The fields shared by every item are checked once, up front.
		probe := approval
		probe.UpdateID = uuid.Nil.String()
		if _, e := parseApproval(probe); e != nil {
			writeError(w, e.status, e.code, e.reason)
			return
		}
		if _, ok := findGroup(view.groups, req.Group); !ok {
			unknownGroup(w, req.Group)
			return
		}
	}

	out := BulkResult{Operation: op, Results: make([]BulkItem, 0, len(ids))}
	for _, id := range ids {
		item := BulkItem{UpdateID: id.String()}
		var e *requestError
		var err error
		switch op {
		case "approve", "unapprove":
			approval.UpdateID = id.String()
			var stored catalog.Approval
			stored, _, e, err = h.approve(ctx, view, approval)
			item.Status = http.StatusCreated
			if stored.Action == catalog.ActionNotApproved {
				item.Status = http.StatusOK
			}
		default:
			e, err = h.decline(ctx, view, id, op == "decline")
			item.Status = http.StatusOK
		}
		if err != nil {
			h.storeFailed(w, r, e.code, err)
			return
		}
		if e != nil {
			item.Status, item.Error, item.Reason = e.status, e.code, e.reason
			out.Failed++
		} else {
			out.Succeeded++
		}
		out.Results = append(out.Results, item)
	}
	h.log.InfoContext(ctx, "admin: bulk", "operation", op, "succeeded", out.Succeeded, "failed", out.Failed)
	writeJSON(w, http.StatusOK, out)
}

// decline declines or un-declines one update for bulk, as setDeclined
// does, and keeps view current.
func (h *handler) decline(ctx context.Context, view *approvalView, id uuid.UUID, declined bool) (*requestError, error) {
	i := slices.IndexFunc(view.summaries, func(s catalog.Summary) bool { return s.UpdateID == id })
	if i < 0 {
		return &requestError{status: http.StatusNotFound, code: "unknown_update", reason: fmt.Sprintf("the catalog has no update %s", id)}, nil
	}
	if t := view.summaries[i].Type; declined && t != catalog.TypeSoftware && t != catalog.TypeDriver {
		return badRequest("not_declinable", "update %s is a %s; only Software and Driver updates can be declined", id, t), nil
	}
	err := h.store.SetDeclined(ctx, id, declined)
	if errors.Is(err, catalog.ErrNotFound) {
		return &requestError{status: http.StatusNotFound, code: "unknown_update", reason: fmt.Sprintf("the catalog has no update %s", id)}, nil
	}
	if err != nil {
		return &requestError{code: "SetDeclined"}, err
	}
	if declined {
		view.declined[id] = true
	} else {
		delete(view.declined, id)
	}
	h.log.InfoContext(ctx, "admin: decline set", "update_id", id, "declined", declined)
	return nil, nil
}

// selectUpdates returns the Software and Driver updates f selects, by
// update ID.
func selectUpdates(view *approvalView, f BulkFilter) ([]uuid.UUID, *requestError) {
	if f.Type == "" && f.KB == "" && f.Title == "" && f.Declined == nil {
		return nil, badRequest("invalid_filter", "the filter is empty; give type, kb, title or declined")
	}
	var typ catalog.UpdateType
	switch {
	case f.Type == "":
	case strings.EqualFold(f.Type, string(catalog.TypeSoftware)):
		typ = catalog.TypeSoftware
	case strings.EqualFold(f.Type, string(catalog.TypeDriver)):
		typ = catalog.TypeDriver
	default:
		return nil, badRequest("invalid_filter", "type %q is not Software or Driver", f.Type)
	}
	kb := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(f.KB)), "KB")
	title := strings.ToLower(f.Title)
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, s := range view.summaries {
		switch {
		case s.Type != catalog.TypeSoftware && s.Type != catalog.TypeDriver,
			typ != "" && s.Type != typ,
			kb != "" && s.KBArticleID != kb,
			title != "" && !strings.Contains(strings.ToLower(s.Title), title),
			f.Declined != nil && view.declined[s.UpdateID] != *f.Declined,
			seen[s.UpdateID]:
			continue
		}
		seen[s.UpdateID] = true
		out = append(out, s.UpdateID)
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}
