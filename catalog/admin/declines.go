package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"wsus/catalog"
)

// declineUpdate serves POST /api/v1/updates/{id}/decline.
func (h *handler) declineUpdate(w http.ResponseWriter, r *http.Request) {
	h.setDeclined(w, r, true)
}

// undeclineUpdate serves POST /api/v1/updates/{id}/undecline.
func (h *handler) undeclineUpdate(w http.ResponseWriter, r *http.Request) {
	h.setDeclined(w, r, false)
}

// setDeclined declines or un-declines the update named by the path. The body
// may be left out or be {}. Both are idempotent: asking for the state the
// update is in answers 200 and changes nothing.
func (h *handler) setDeclined(w http.ResponseWriter, r *http.Request, declined bool) {
	ref := r.PathValue("id")
	id, err := uuid.Parse(ref)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_update_id", fmt.Sprintf("update ID %q is not a GUID", ref))
		return
	}
	var none struct{}
	if e := decodeOptionalBody(w, r, &none); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	ctx := r.Context()
	summaries, err := h.store.Summaries(ctx)
	if err != nil {
		h.storeFailed(w, r, "Summaries", err)
		return
	}
	i := slices.IndexFunc(summaries, func(s catalog.Summary) bool { return s.UpdateID == id })
	if i < 0 {
		writeError(w, http.StatusNotFound, "unknown_update", fmt.Sprintf("the catalog has no update %s", id))
		return
	}
	// A declined update leaves every client's scope, and with a category or
	// detectoid every update that needs it would go too: only what can be
	// approved can be declined. Un-declining is always allowed.
	if t := summaries[i].Type; declined && t != catalog.TypeSoftware && t != catalog.TypeDriver {
		writeError(w, http.StatusBadRequest, "not_declinable", fmt.Sprintf("update %s is a %s; only Software and Driver updates can be declined", id, t))
		return
	}
	err = h.store.SetDeclined(ctx, id, declined)
	if errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_update", fmt.Sprintf("the catalog has no update %s", id))
		return
	}
	if err != nil {
		h.storeFailed(w, r, "SetDeclined", err)
		return
	}
	h.log.InfoContext(ctx, "admin: decline set", "update_id", id, "declined", declined)
	writeJSON(w, http.StatusOK, DeclineState{UpdateID: id, Declined: declined})
}
