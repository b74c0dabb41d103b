package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Error is the body of every error answer.
type Error struct {
	// Code is a short machine-readable code, e.g. "unknown_update".
	Code string `json:"error"`
	// Reason is a human sentence saying what was wrong.
	Reason string `json:"reason"`
}

// Principal is the answer of GET /api/v1/whoami: who the request's token
// is and what its role allows.
type Principal struct {
	// Name is the token's name; "bootstrap" for the admin token of the
	// configuration (BootstrapActor).
	Name string `json:"name"`
	// Role is admin, approver or viewer.
	Role catalog.Role `json:"role"`
}

// ApprovalRequest is the body of POST /api/v1/approvals.
type ApprovalRequest struct {
	// UpdateID is the update's GUID (required).
	UpdateID string `json:"update_id"`
	// Group is a target group name (case-insensitive) or ID; empty means
	// "All Computers".
	Group string `json:"group,omitempty"`
	// Action is Install, OptionalInstall, Uninstall or NotApproved (any
	// case); empty means Install. OptionalInstall offers the update without
	// installing it automatically.
	Action string `json:"action,omitempty"`
	// Deadline is an optional RFC 3339 install deadline; a past deadline
	// means "install now", as in WSUS. Absent, a re-approval keeps the
	// deadline the approval has; null (or "") removes it; a time sets it.
	Deadline Deadline `json:"deadline,omitzero"`
	// Undecline approves a declined update by un-declining it first;
	// without it, approving a declined update is refused with 409
	// update_declined (a declined update is offered to nobody).
	Undecline bool `json:"undecline,omitempty"`
}

// Deadline is the deadline field of a request, which tells "absent" (the
// zero value: keep what is stored) from null or "" (Set with an empty
// Value: remove it) and a time (Set with the RFC 3339 text).
type Deadline struct {
	Set   bool
	Value string
}

// SetDeadline returns a Deadline that sets the RFC 3339 time v, or removes
// the deadline when v is empty.
func SetDeadline(v string) Deadline { return Deadline{Set: true, Value: v} }

// UnmarshalJSON is called only for a key present in the body.
func (d *Deadline) UnmarshalJSON(b []byte) error {
	d.Set, d.Value = true, ""
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &d.Value)
}

// MarshalJSON writes null for a removal; omitzero leaves an absent one out.
func (d Deadline) MarshalJSON() ([]byte, error) {
	if d.Value == "" {
		return []byte("null"), nil
	}
	return json.Marshal(d.Value)
}

// Approval is an approval in force, as POST (201) and GET /api/v1/approvals
// answer it. A NotApproved POST answers 200 with only UpdateID, GroupID,
// Group and Action set (see [Unapproval]).
type Approval struct {
	// ID is the deployment ID clients see.
	ID       int32     `json:"id"`
	UpdateID uuid.UUID `json:"update_id"`
	GroupID  uuid.UUID `json:"group_id"`
	// Group is the target group's name, empty if the group is unknown.
	Group  string                 `json:"group"`
	Action catalog.ApprovalAction `json:"action"`
	// Deadline is null when the approval has none.
	Deadline  *time.Time `json:"deadline"`
	ChangedAt time.Time  `json:"changed_at"`
	By        string     `json:"by"`
	// InForce is false while the update is declined: the approval is kept
	// (un-declining brings it back) but nothing is offered under it.
	InForce bool `json:"in_force"`
}

// Unapproval is the 200 answer of a NotApproved POST: the approval of
// UpdateID for GroupID is gone (or was never there).
type Unapproval struct {
	UpdateID uuid.UUID              `json:"update_id"`
	GroupID  uuid.UUID              `json:"group_id"`
	Group    string                 `json:"group"`
	Action   catalog.ApprovalAction `json:"action"`
}

// ApprovalList is the answer of GET /api/v1/approvals, ordered by ID.
type ApprovalList struct {
	Approvals []Approval `json:"approvals"`
}

// Computer is one computer, as GET /api/v1/computers lists it. Times are
// UTC, null when the event never happened.
type Computer struct {
	ID            string `json:"id"`
	DNSName       string `json:"dns_name"`
	Registered    bool   `json:"registered"`
	OSDescription string `json:"os_description"`
	// OSVersion is "major.minor.build", e.g. "10.0.26200"; empty before the
	// computer registered.
	OSVersion       string   `json:"os_version"`
	Architecture    string   `json:"architecture"`
	Manufacturer    string   `json:"manufacturer"`
	Model           string   `json:"model"`
	ClientVersion   string   `json:"client_version"`
	RequestedGroups []string `json:"requested_groups"`
	// Groups are the target groups an admin assigned the computer to
	// (server-side targeting), ordered by name.
	Groups     []GroupRef `json:"groups"`
	FirstSeen  *time.Time `json:"first_seen"`
	LastSync   *time.Time `json:"last_sync"`
	LastReport *time.Time `json:"last_report"`
	LastStatus *time.Time `json:"last_status"`
	// ComputerInfo is everything the last RegisterComputer sent, under the
	// WSDL's element names in snake case; null before the computer
	// registered (or registered before the server kept it whole).
	ComputerInfo *catalog.ComputerInfo `json:"computer_info"`
}

// ComputerList is the answer of GET /api/v1/computers: one page of the
// computers the query selects (by default ordered by DNS name), with their
// counts, and how many it selects in all.
type ComputerList struct {
	Computers []ComputerRow `json:"computers"`
	Total     int           `json:"total"`
	Limit     int           `json:"limit"`
	Offset    int           `json:"offset"`
}

// ComputerDetail is the answer of GET /api/v1/computers/{id}: the computer's
// fields, its per-update states and how many reporting events it sent.
type ComputerDetail struct {
	Computer
	// Updates is ordered by UpdateID.
	Updates []ComputerUpdate `json:"updates"`
	Events  int              `json:"events"`
	// Hardware is what the computer's last driver pass reported (computer
	// hardware IDs, devices and their installed drivers); null before one.
	// Only here: it runs to hundreds of devices.
	Hardware *catalog.HardwareInventory `json:"hardware"`
}

// ComputerUpdate is one computer's state for one update.
type ComputerUpdate struct {
	UpdateID uuid.UUID `json:"update_id"`
	// Title and KBArticleID are the update's newest revision's, empty when
	// the catalog has none.
	Title       string `json:"title"`
	KBArticleID string `json:"kb_article_id"`
	// State is the WSUS state name: Installed, NotInstalled, Failed, ...
	State string `json:"state"`
	// ErrorCode is the HRESULT of the last failed install ("0x80240022"),
	// empty unless State is Failed.
	ErrorCode string    `json:"error_code"`
	ChangedAt time.Time `json:"changed_at"`
}

// Update is one update as GET /api/v1/updates lists it (one row per
// update, as WSUS lists them: its newest revision; bundle members appear
// under their bundle, not as rows of their own).
type Update struct {
	// RevisionID and RevisionNumber are the newest revision's.
	RevisionID     int32              `json:"revision_id"`
	UpdateID       uuid.UUID          `json:"update_id"`
	RevisionNumber int32              `json:"revision_number"`
	Type           catalog.UpdateType `json:"type"`
	// CategoryType is a category's kind (Product, ProductFamily,
	// UpdateClassification, ...), empty for other updates.
	CategoryType string `json:"category_type"`
	Title        string `json:"title"`
	KBArticleID  string `json:"kb_article_id"`
	// IsLeaf is true when no other update needs the newest revision.
	IsLeaf           bool   `json:"is_leaf"`
	PublicationState string `json:"publication_state"`
	// Products and Classifications are the categories the update belongs
	// to, titles from the catalog (empty for a category not stored).
	Products        []CategoryRef `json:"products"`
	Classifications []CategoryRef `json:"classifications"`
	// MsrcSeverity is Critical, Important, Moderate, Low or "" (none).
	MsrcSeverity string   `json:"msrc_severity"`
	CVEs         []string `json:"cves"`
	// Released is the newest revision's creation date (WSUS's release
	// date), null if unknown.
	Released *time.Time `json:"released"`
	// Declined is true while the update is declined: clients are not
	// offered it, and its approvals, still listed, are not in force.
	Declined bool `json:"declined"`
	// Superseded is true when an update of the catalog supersedes it
	// (SupersededBy lists them); Supersedes lists the updates it replaces.
	Superseded   bool        `json:"superseded"`
	SupersededBy []UpdateRef `json:"superseded_by"`
	Supersedes   []UpdateRef `json:"supersedes"`
	// BundledUpdates are the bundle members of the newest revision.
	BundledUpdates []UpdateRef `json:"bundled_updates"`
	// Approvals are those of the update, ordered by group name.
	Approvals []UpdateApproval `json:"approvals"`
	// Computers counts every known computer by its state for the update.
	Computers Counts `json:"computers"`
}

// UpdateApproval is one approval as listed under an [Update].
type UpdateApproval struct {
	Group    string                 `json:"group"`
	GroupID  uuid.UUID              `json:"group_id"`
	Action   catalog.ApprovalAction `json:"action"`
	Deadline *time.Time             `json:"deadline"`
}

// UpdateList is the answer of GET /api/v1/updates: one page of the
// updates the query selects, in its order, and how many it selects in all.
type UpdateList struct {
	Updates []Update `json:"updates"`
	Total   int      `json:"total"`
	Limit   int      `json:"limit"`
	Offset  int      `json:"offset"`
}

// Group is one target group, as GET /api/v1/groups lists it and POST
// /api/v1/groups answers it. ParentID is null for "All Computers".
type Group struct {
	ID       uuid.UUID  `json:"id"`
	Name     string     `json:"name"`
	ParentID *uuid.UUID `json:"parent_id"`
}

// GroupRequest is the body of POST /api/v1/groups.
type GroupRequest struct {
	// Name is the new group's name (required, at most 256 characters,
	// unique case-insensitively); surrounding white space is dropped.
	Name string `json:"name"`
	// Parent is the parent group's name (case-insensitive) or ID; empty
	// means "All Computers".
	Parent string `json:"parent,omitempty"`
}

// GroupRef names a target group a computer is assigned to.
type GroupRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// ComputerGroupsRequest is the body of PUT /api/v1/computers/{id}/groups.
type ComputerGroupsRequest struct {
	// Groups are target group names (case-insensitive) or IDs; they replace
	// the computer's assignment, and an empty list (not null) removes it
	// from every group. The field is required.
	Groups []string `json:"groups"`
}

// DeclineState is the answer of POST /api/v1/updates/{id}/decline and
// /undecline: whether the update is declined now.
type DeclineState struct {
	UpdateID uuid.UUID `json:"update_id"`
	Declined bool      `json:"declined"`
}

// GroupList is the answer of GET /api/v1/groups, ordered by name.
type GroupList struct {
	Groups []Group `json:"groups"`
}

// optTime returns t in UTC, or nil when t is zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// nonNil returns s, or an empty slice so that it encodes as [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func wireApproval(a catalog.Approval, groupName string) Approval {
	return Approval{
		ID:        a.ID,
		UpdateID:  a.UpdateID,
		GroupID:   a.GroupID,
		Group:     groupName,
		Action:    a.Action,
		Deadline:  optTime(a.Deadline),
		ChangedAt: a.ChangedAt.UTC(),
		By:        a.By,
		InForce:   true,
	}
}

// wireComputer returns c as listed; names maps group IDs to names.
func wireComputer(c catalog.Computer, names map[uuid.UUID]string) Computer {
	var version string
	if c.OSMajor != 0 || c.OSMinor != 0 || c.OSBuild != 0 {
		version = fmt.Sprintf("%d.%d.%d", c.OSMajor, c.OSMinor, c.OSBuild)
	}
	return Computer{
		ID:              c.ID,
		DNSName:         c.DNSName,
		Registered:      c.Registered,
		OSDescription:   c.OSDescription,
		OSVersion:       version,
		Architecture:    c.Architecture,
		Manufacturer:    c.Manufacturer,
		Model:           c.Model,
		ClientVersion:   c.ClientVersion,
		RequestedGroups: nonNil(c.RequestedGroups),
		Groups:          groupRefs(c.Groups, names),
		FirstSeen:       optTime(c.FirstSeen),
		LastSync:        optTime(c.LastSync),
		LastReport:      optTime(c.LastReport),
		LastStatus:      optTime(c.LastStatusTime),
		ComputerInfo:    c.Info,
	}
}

// groupRefs names the groups ids, ordered by name, then ID; a group missing
// from names gets an empty name.
func groupRefs(ids []uuid.UUID, names map[uuid.UUID]string) []GroupRef {
	out := make([]GroupRef, 0, len(ids))
	for _, id := range ids {
		out = append(out, GroupRef{ID: id, Name: names[id]})
	}
	slices.SortFunc(out, func(a, b GroupRef) int {
		if c := cmpFold(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own wire types are encoded; they always marshal.
		status, body = http.StatusInternalServerError, []byte(`{"error":"encode_error","reason":"the answer could not be encoded"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeError answers status with an [Error].
func writeError(w http.ResponseWriter, status int, code, reason string) {
	writeJSON(w, status, Error{Code: code, Reason: reason})
}

// SyncStatus is the answer of GET /api/v1/sync: the settings, what the
// upstream said of itself at the last synchronization, the running run if
// any and the last finished run.
type SyncStatus struct {
	Settings SyncSettings `json:"settings"`
	// Upstream is null before a synchronization reached an upstream.
	Upstream *UpstreamInfo `json:"upstream"`
	// Running is null when no run is running. A running run whose
	// heartbeat stopped (its process died) stays running until the next
	// run begins and marks it failed.
	Running *SyncRun `json:"running"`
	// LastRun is the newest finished run, null before any finished.
	LastRun *SyncRun `json:"last_run"`
	// NextSync is when the schedule synchronizes next
	// (catalog.SyncSettings.NextSync, which the scheduler of a serving
	// process follows): at or before now when a slot passed and its run is
	// due within the scheduler's check; null when synchronizing manually
	// only or with no upstream set.
	NextSync *time.Time `json:"next_sync"`
}

// SyncSettings are the synchronization settings as GET /api/v1/sync and
// PUT /api/v1/sync/settings answer them: WSUS's "Update Source", "Products
// and Classifications", "Update Languages", "Update Files" and
// "Synchronization Schedule".
type SyncSettings struct {
	// UpstreamURL is the upstream server's root, empty when none is set.
	UpstreamURL string `json:"upstream_url"`
	// Replica mirrors the upstream's target groups, approvals and declines.
	Replica bool `json:"replica"`
	// AllProducts is true when every product is subscribed; Products are
	// the subscribed products otherwise (empty when AllProducts), ordered
	// by title. A title is empty when the category is no longer stored.
	AllProducts bool          `json:"all_products"`
	Products    []CategoryRef `json:"products"`
	// AllClassifications and Classifications are the same for update
	// classifications.
	AllClassifications bool          `json:"all_classifications"`
	Classifications    []CategoryRef `json:"classifications"`
	// Languages are the synchronized languages' short names; empty means
	// all.
	Languages []string `json:"languages"`
	// Content is when payload files are fetched: approved, on-demand or
	// never.
	Content catalog.ContentMode `json:"content"`
	// SyncsPerDay is how many times a day the server synchronizes on its
	// own; 0 means manually only.
	SyncsPerDay int `json:"syncs_per_day"`
	// FirstSync is the UTC time of day ("HH:MM") of the first scheduled
	// synchronization; the others follow every 24h/SyncsPerDay.
	FirstSync string `json:"first_sync"`
	// ChangedAt is when the settings were last saved, null before ever.
	ChangedAt *time.Time `json:"changed_at"`
}

// SyncSettingsRequest is the body of PUT /api/v1/sync/settings. It
// replaces every setting: a field left out takes its zero value.
type SyncSettingsRequest struct {
	// UpstreamURL is an http or https URL ("https://sws.update.microsoft.com",
	// "http://wsus.example:8530"); empty removes the upstream.
	UpstreamURL string `json:"upstream_url"`
	Replica     bool   `json:"replica"`
	// Products and Classifications name stored categories (see GET
	// /api/v1/products and /api/v1/classifications): each a GUID, an exact
	// title (a title differing in case only is accepted when it is the
	// only one), or "all". A product family stands for its products.
	Products        []string `json:"products"`
	Classifications []string `json:"classifications"`
	// Languages are short names ("en", "de", "pt-br"), or with the
	// upstream's languages known, long names too; "all" or none means all.
	Languages []string `json:"languages"`
	// Content is approved, on-demand or never; empty means approved.
	Content string `json:"content"`
	// SyncsPerDay is 0 (manually only) to MaxSyncsPerDay.
	SyncsPerDay int `json:"syncs_per_day"`
	// FirstSync is "HH:MM", UTC; empty means 00:00.
	FirstSync string `json:"first_sync"`
}

// CategoryRef names a category.
type CategoryRef struct {
	ID    uuid.UUID `json:"id"`
	Title string    `json:"title"`
}

// UpstreamInfo is what the upstream said of itself (its
// ServerSyncConfigData) at the last synchronization.
type UpstreamInfo struct {
	// URL is the upstream the rest belongs to: it differs from the
	// settings' upstream_url when that was changed since.
	URL             string `json:"url"`
	ProtocolVersion string `json:"protocol_version"`
	// CatalogOnlySync is true when the upstream serves no files (clients
	// fetch them from Microsoft Update): Microsoft Update itself.
	CatalogOnlySync bool `json:"catalog_only_sync"`
	// Languages are the languages the upstream offers.
	Languages []UpstreamLanguage `json:"languages"`
}

// UpstreamLanguage is one language an upstream offers.
type UpstreamLanguage struct {
	ID    int32  `json:"id"`
	Short string `json:"short"`
	Long  string `json:"long"`
	// Enabled is true when the upstream itself synchronizes it.
	Enabled bool `json:"enabled"`
}

// SyncRun is one synchronization run, running or finished, as GET
// /api/v1/sync/runs lists it. A running run's progress is what its process
// stored last (it does so every few seconds).
type SyncRun struct {
	ID int64 `json:"id"`
	// Trigger is who started it: manual (wsusd sync), schedule or api.
	Trigger string `json:"trigger"`
	// Holder names the process that runs it ("host:pid").
	Holder string               `json:"holder"`
	State  catalog.SyncRunState `json:"state"`
	// Started is when it began, Heartbeat when its process last stored its
	// progress, Finished when it ended (null while it runs).
	Started   time.Time  `json:"started"`
	Heartbeat *time.Time `json:"heartbeat"`
	Finished  *time.Time `json:"finished"`
	// DurationSeconds is Finished - Started, null while it runs.
	DurationSeconds *float64 `json:"duration_seconds"`
	// Phase is what the run does or did last (categories, updates,
	// content, ...); Done of Total count its work items.
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
	// New, Revised and Expired count the updates added, the new revisions
	// of known updates and the updates the upstream expired.
	New     int `json:"new"`
	Revised int `json:"revised"`
	Expired int `json:"expired"`
	// Files and Bytes count the payload files stored, FilesTotal and
	// BytesTotal what the content phase set out to store.
	Files      int   `json:"files"`
	FilesTotal int   `json:"files_total"`
	Bytes      int64 `json:"bytes"`
	BytesTotal int64 `json:"bytes_total"`
	// Error is why a failed run failed.
	Error string `json:"error"`
}

// SyncRunList is the answer of GET /api/v1/sync/runs, newest first.
type SyncRunList struct {
	Runs []SyncRun `json:"runs"`
}

// Category is one product, product family or classification the upstream
// offers, as GET /api/v1/products and /api/v1/classifications list them.
type Category struct {
	ID    uuid.UUID `json:"id"`
	Title string    `json:"title"`
	// Type is Product, ProductFamily or UpdateClassification.
	Type string `json:"type"`
	// Family is a product's product family, null for other categories and
	// products that name none.
	Family *CategoryRef `json:"family,omitempty"`
	// Selected is true when the settings subscribe it: listed, or "all".
	// A product family is selected when all of its products are.
	Selected bool `json:"selected"`
}

// CategoryList is the answer of GET /api/v1/products and
// /api/v1/classifications, ordered by title.
type CategoryList struct {
	// All is true when the settings subscribe every product (or
	// classification).
	All        bool       `json:"all"`
	Categories []Category `json:"categories"`
}

// wireSyncRun returns r as listed.
func wireSyncRun(r catalog.SyncRun) SyncRun {
	out := SyncRun{
		ID: r.ID, Trigger: r.Trigger, Holder: r.Holder, State: r.State,
		Started: r.Started.UTC(), Heartbeat: optTime(r.Heartbeat), Finished: optTime(r.Finished),
		Phase: r.Phase, Done: r.Done, Total: r.Total,
		New: r.New, Revised: r.Revised, Expired: r.Expired,
		Files: r.Files, FilesTotal: r.FilesTotal, Bytes: r.Bytes, BytesTotal: r.BytesTotal,
		Error: r.Error,
	}
	if r.State != catalog.SyncRunning && !r.Finished.IsZero() && !r.Started.IsZero() {
		d := r.Finished.Sub(r.Started).Round(time.Millisecond).Seconds()
		out.DurationSeconds = &d
	}
	return out
}
