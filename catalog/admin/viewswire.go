package admin

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file holds the wire types of the update catalog views and the
// compliance reports (views.go, compliance.go); like wire.go they are the
// contract cmd/wsusctl decodes.

// Counts counts computers (for an update) or updates (for a computer) in
// each compliance class (catalog.Compliance): installed; needed (not
// installed, downloaded, or installed pending a reboot, as the WSUS
// console counts "Needed"); failed; not applicable; no status (nothing
// reported).
type Counts struct {
	Installed     int `json:"installed"`
	Needed        int `json:"needed"`
	Failed        int `json:"failed"`
	NotApplicable int `json:"not_applicable"`
	NoStatus      int `json:"no_status"`
}

// wireCounts returns c as answered.
func wireCounts(c catalog.ComplianceCounts) Counts {
	return Counts{Installed: c.Installed, Needed: c.Needed, Failed: c.Failed, NotApplicable: c.NotApplicable, NoStatus: c.NoStatus}
}

// UpdateRef names an update; Title is that of its newest revision, empty
// when the catalog has none.
type UpdateRef struct {
	UpdateID uuid.UUID `json:"update_id"`
	Title    string    `json:"title"`
}

// UpdateDetail is the answer of GET /api/v1/updates/{id}: the update as
// listed, and what only the detail shows.
type UpdateDetail struct {
	Update
	Description string `json:"description"`
	// Languages are the languages of the update's metadata; empty means
	// any.
	Languages []string `json:"languages"`
}

// StatusRow is one computer's state for one update, as GET
// /api/v1/updates/{id}/computers and GET /api/v1/computers/{id}/updates
// list them.
type StatusRow struct {
	ClientID    string    `json:"client_id"`
	DNSName     string    `json:"dns_name"`
	UpdateID    uuid.UUID `json:"update_id"`
	Title       string    `json:"title"`
	KBArticleID string    `json:"kb_article_id"`
	// State is the WSUS state name (Installed, NotInstalled, Failed, ...;
	// Unknown for no status), Compliance its class (installed, needed,
	// failed, not_applicable, no_status).
	State      string             `json:"state"`
	Compliance catalog.Compliance `json:"compliance"`
	// ErrorCode is the HRESULT of the last failed install as "0x%08X"
	// ("0x80240022"), empty unless State is Failed.
	ErrorCode string `json:"error_code"`
	// ChangedAt is when the state last changed, null for no status;
	// LastStatus the computer's last status report, null before one.
	ChangedAt  *time.Time `json:"changed_at"`
	LastStatus *time.Time `json:"last_status"`
}

// UpdateComputerList is the answer of GET /api/v1/updates/{id}/computers,
// ordered by DNS name, then client ID.
type UpdateComputerList struct {
	UpdateID  uuid.UUID   `json:"update_id"`
	Computers []StatusRow `json:"computers"`
	Total     int         `json:"total"`
	Limit     int         `json:"limit"`
	Offset    int         `json:"offset"`
}

// ComputerUpdateList is the answer of GET /api/v1/computers/{id}/updates,
// ordered by title, then UpdateID.
type ComputerUpdateList struct {
	ClientID string      `json:"client_id"`
	Updates  []StatusRow `json:"updates"`
	Total    int         `json:"total"`
	Limit    int         `json:"limit"`
	Offset   int         `json:"offset"`
}

// ComputerRow is one computer as GET /api/v1/computers lists it: its
// fields and how many of its updates are in each class (no_status is
// always 0: a computer's list holds only what it reported).
type ComputerRow struct {
	Computer
	Updates Counts `json:"updates"`
}

// GroupComputerList is the answer of GET /api/v1/groups/{id}/computers:
// the computers of a group (the group's own computers and those of the
// groups below it, as the scan places them), as the computer list.
type GroupComputerList struct {
	Group GroupRef `json:"group"`
	ComputerList
}

// GroupComplianceRow rolls up one target group's computers.
type GroupComplianceRow struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	// Computers in the group, as the scan places them.
	Computers int `json:"computers"`
	// NeedingUpdates: at least one update needed or failed; WithFailures:
	// at least one failed; UpToDate: reported, nothing needed or failed;
	// NotReported: no status report within not_reported_days (or never).
	NeedingUpdates int `json:"needing_updates"`
	WithFailures   int `json:"with_failures"`
	UpToDate       int `json:"up_to_date"`
	NotReported    int `json:"not_reported"`
	// Updates sums the group's computer-update pairs in each class.
	Updates Counts `json:"updates"`
}

// GroupComplianceList is the answer of GET /api/v1/compliance/groups,
// ordered by group name.
type GroupComplianceList struct {
	// NotReportedSince is the time "not reported" counts from.
	NotReportedSince time.Time            `json:"not_reported_since"`
	Groups           []GroupComplianceRow `json:"groups"`
}

// ComplianceSummary is the answer of GET /api/v1/compliance/summary: the
// dashboard's view of the whole server.
type ComplianceSummary struct {
	NotReportedSince time.Time `json:"not_reported_since"`
	// Computers counts every known computer; the others are as in
	// GroupComplianceRow.
	Computers      int `json:"computers"`
	NeedingUpdates int `json:"needing_updates"`
	WithFailures   int `json:"with_failures"`
	UpToDate       int `json:"up_to_date"`
	NotReported    int `json:"not_reported"`
	// Updates counts the updates GET /api/v1/updates lists by default
	// (Software and Driver, bundle members left out); NeedingApproval those
	// needed or failed somewhere and neither approved nor declined.
	Updates         int `json:"updates"`
	NeedingApproval int `json:"needing_approval"`
	Approved        int `json:"approved"`
	Declined        int `json:"declined"`
	Superseded      int `json:"superseded"`
	// Pairs sums every computer-update pair in each class.
	Pairs Counts `json:"pairs"`
}

// hresult formats a Win32HResult as WSUS shows it: "0x80240022"; "" for 0.
func hresult(code int32) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprintf("0x%08X", uint32(code))
}
