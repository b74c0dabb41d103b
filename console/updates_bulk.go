package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// This file is the forms of the updates pages: approve one update for
// groups (one POST /api/v1/approvals a group), decline and undecline it,
// and the bulk actions of the list (POST /api/v1/bulk). Each makes its
// change through the API and says what changed; the API decides what is
// valid and who may, and its reason is shown as it is.

// errNoApprovalGroup is the refusal of an approval form with no group checked.
const errNoApprovalGroup = updateFormError("Choose at least one group; nothing was changed.")

// deadlineLayouts are what an <input type="datetime-local"> sends (with
// or without seconds), and RFC 3339 for a hand-made request.
var deadlineLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339}

// approvalDeadline reads the deadline field, a time in UTC as the form labels
// it, into the RFC 3339 text the API takes; "" when it is empty.
func approvalDeadline(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	for _, layout := range deadlineLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
	}
	return "", updateFormError(fmt.Sprintf("The deadline %q is not a date and time such as 2026-12-24T18:00 (UTC); nothing was changed.", v))
}

// approvalDeadlineText is how a flash names a deadline (RFC 3339 or "").
func approvalDeadlineText(rfc string) string {
	t, err := time.Parse(time.RFC3339, rfc)
	if rfc == "" || err != nil {
		return "no deadline"
	}
	return "deadline " + when(t)
}

// updateBack is the detail page of update id.
func updateBack(id string) string { return "/console/updates/" + url.PathEscape(id) }

// approveUpdate serves the approve form of an update's detail: each group
// checked gets the action (Install, or NotApproved to remove the
// approval) with the deadline, an empty deadline removing the one an
// approval had. Groups are approved one by one; when one is refused after
// others were approved, the flash says both.
func (c *Console) approveUpdate(q *request) (string, flash, error) {
	id := q.r.PathValue("id")
	back := updateBack(id)
	// Each group once, whatever the form repeats.
	groups := slices.Compact(slices.Sorted(slices.Values(q.r.PostForm["group"])))
	if len(groups) == 0 {
		return back, flash{}, errNoApprovalGroup
	}
	deadline, err := approvalDeadline(q.r.PostFormValue("deadline"))
	if err != nil {
		return back, flash{}, err
	}
	var u admin.UpdateDetail
	if err := q.get("/api/v1/updates/"+url.PathEscape(id), nil, &u); err != nil {
		return back, flash{}, err
	}
	action := q.r.PostFormValue("action")
	remove := strings.EqualFold(action, string(catalog.ActionNotApproved))
	var done []string
	for _, g := range groups {
		req := admin.ApprovalRequest{UpdateID: id, Group: g, Action: action, Undecline: q.r.PostFormValue("undecline") != ""}
		if !remove || deadline != "" {
			req.Deadline = admin.SetDeadline(deadline)
		}
		var out admin.Approval
		if err := q.api(http.MethodPost, "/api/v1/approvals", nil, req, &out); err != nil {
			if len(done) == 0 {
				return back, flash{}, err
			}
			return back, flashError(fmt.Sprintf("%s for %s; then refused for group %s: %s",
				approvedText(u.Title, remove), strings.Join(done, ", "), g, reasonOf(err))), nil
		}
		done = append(done, out.Group)
	}
	text := approvedText(u.Title, remove) + " for " + strings.Join(done, ", ")
	if !remove {
		text += ", " + approvalDeadlineText(deadline)
	}
	return back, flashOK(text + "."), nil
}

// approvedText begins the flash of an approval.
func approvedText(title string, remove bool) string {
	if remove {
		return "Removed the approval of " + title
	}
	return "Approved " + title
}

// declineUpdate returns the handler of the decline (declined) or
// undecline form of an update's detail.
func (c *Console) declineUpdate(declined bool) postAction {
	verb, op := "Declined", "decline"
	if !declined {
		verb, op = "Undeclined", "undecline"
	}
	return func(q *request) (string, flash, error) {
		id := q.r.PathValue("id")
		back := updateBack(id)
		var u admin.UpdateDetail
		if err := q.get("/api/v1/updates/"+url.PathEscape(id), nil, &u); err != nil {
			return back, flash{}, err
		}
		var out admin.DeclineState
		if err := q.api(http.MethodPost, "/api/v1/updates/"+url.PathEscape(id)+"/"+op, nil, nil, &out); err != nil {
			return back, flash{}, err
		}
		return back, flashOK(verb + " " + u.Title + "."), nil
	}
}

// bulkSelectionCap is how many updates "every update this filter selects"
// reads from the list at most. The bulk API takes 5,000 a request; one
// more is read so that a larger selection is refused by the API, with its
// reason, rather than cut short.
const bulkSelectionCap = 5001

// bulkUpdates serves the list's bulk form: the operation (approve,
// unapprove, decline, undecline) on the updates checked, or on every
// update the list's filter selects (scope "filter"), one POST
// /api/v1/bulk a group for approve and unapprove. The flash counts what
// the API says changed and gives its reason for what it refused.
func (c *Console) bulkUpdates(q *request) (string, flash, error) {
	f := q.r.PostForm
	op := strings.ToLower(strings.TrimSpace(f.Get("operation")))
	var ids []string
	if f.Get("scope") == "filter" {
		var err error
		if ids, err = q.updateFilterSelection(f.Get("filter")); err != nil {
			return "", flash{}, err
		}
	} else if ids = f["update"]; len(ids) == 0 {
		return "", flash{}, updateFormError("Check at least one update, or choose every update the filter selects; nothing was changed.")
	}
	if len(ids) == 0 {
		return "", flash{}, updateFormError("No update matches this filter; nothing was changed.")
	}
	base := admin.BulkRequest{Operation: op, UpdateIDs: ids}
	if op != "approve" && op != "unapprove" {
		res, err := q.postBulk(base)
		if err != nil {
			return "", flash{}, err
		}
		return "", bulkFlash([]string{bulkText(op, res, "")}, res.Failed), nil
	}

	groups := f["group"]
	if len(groups) == 0 {
		return "", flash{}, errNoApprovalGroup
	}
	deadline := ""
	if op == "approve" {
		var err error
		if deadline, err = approvalDeadline(f.Get("deadline")); err != nil {
			return "", flash{}, err
		}
		base.Deadline = admin.SetDeadline(deadline)
		base.Undecline = f.Get("undecline") != ""
	}
	var list admin.GroupList
	if err := q.get("/api/v1/groups", nil, &list); err != nil {
		return "", flash{}, err
	}
	names := map[string]string{}
	for _, g := range list.Groups {
		names[g.ID.String()] = g.Name
	}
	var lines []string
	failed := 0
	for _, g := range groups {
		req := base
		req.Group = g
		name := names[g]
		if name == "" {
			name = g
		}
		res, err := q.postBulk(req)
		if err != nil && len(lines) == 0 {
			return "", flash{}, err
		}
		if err != nil {
			lines = append(lines, "refused for "+name+": "+reasonOf(err))
			failed++
			break
		}
		lines = append(lines, bulkText(op, res, name))
		failed += res.Failed
	}
	if op == "approve" {
		lines[len(lines)-1] += " (" + approvalDeadlineText(deadline) + ")"
	}
	return "", bulkFlash(lines, failed), nil
}

// bulk makes one POST /api/v1/bulk.
func (q *request) postBulk(req admin.BulkRequest) (admin.BulkResult, error) {
	var res admin.BulkResult
	err := q.api(http.MethodPost, "/api/v1/bulk", nil, req, &res)
	return res, err
}

// updateFilterSelection returns the update IDs of every update the list's
// filter (encoded, as updatesData.Filter) selects, as the list shows them
// (bundle members are not rows of their own), read from GET
// /api/v1/updates a page of catalog.MaxPageSize at a time, at most
// bulkSelectionCap. The bulk API's own filter (admin.BulkFilter) knows
// only type, KB, title and declined, so the console resolves the list's
// filter itself through the list.
func (q *request) updateFilterSelection(encoded string) ([]string, error) {
	vals, err := url.ParseQuery(encoded)
	if err != nil {
		return nil, fmt.Errorf("console: bulk filter %q: %w", encoded, err)
	}
	api, err := apiUpdateQuery(newListQuery("", vals, updateFilterParams...))
	if err != nil {
		return nil, err
	}
	var ids []string
	for offset := 0; len(ids) < bulkSelectionCap; {
		api.Set("limit", strconv.Itoa(catalog.MaxPageSize))
		api.Set("offset", strconv.Itoa(offset))
		var list admin.UpdateList
		if err := q.get("/api/v1/updates", api, &list); err != nil {
			return nil, err
		}
		for _, u := range list.Updates {
			ids = append(ids, u.UpdateID.String())
		}
		offset += len(list.Updates)
		if len(list.Updates) == 0 || offset >= list.Total {
			break
		}
	}
	return ids[:min(len(ids), bulkSelectionCap)], nil
}

// bulkVerbs name the bulk operations in a flash.
var bulkVerbs = map[string]string{"approve": "Approved", "unapprove": "Removed the approval of",
	"decline": "Declined", "undecline": "Undeclined"}

// bulkText says what one bulk request did: how many updates changed, for
// which group, and why the first refused one was.
func bulkText(op string, res admin.BulkResult, group string) string {
	verb := bulkVerbs[op]
	if verb == "" {
		verb = op
	}
	s := verb + " " + nUpdates(res.Succeeded)
	if group != "" {
		s += " for " + group
	}
	if res.Failed > 0 {
		for _, it := range res.Results {
			if it.Reason != "" {
				s += fmt.Sprintf("; %s refused (first: %s)", nUpdates(res.Failed), it.Reason)
				break
			}
		}
	}
	return s
}

// bulkFlash joins the lines of a bulk action: an error when anything was
// refused, so that it is seen.
func bulkFlash(lines []string, failed int) flash {
	for i := 1; i < len(lines); i++ {
		if l := lines[i]; l != "" {
			lines[i] = strings.ToLower(l[:1]) + l[1:]
		}
	}
	text := strings.Join(lines, "; ") + "."
	if failed > 0 {
		return flashError(text)
	}
	return flashOK(text)
}

// nUpdates is "1 update" or "N updates".
func nUpdates(n int) string {
	if n == 1 {
		return "1 update"
	}
	return num(n) + " updates"
}

// updateFormError is a form the console could not send to the API (no
// group checked, a deadline that is no time): its text is what the person
// reads.
type updateFormError string

func (e updateFormError) Error() string { return string(e) }
