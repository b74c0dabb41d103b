package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// This file is the contract of the admin views over the catalog (issue 11):
// updates listed one row per update as WSUS lists them, with the columns an
// admin filters and sorts on, and the compliance of computers: which state
// each computer reported for each update, counted per update, per computer,
// per group and for the whole server. Every store implements it (package
// catalog/sqlstore for both engines) and passes catalog/storetest.
//
// Counts are exact as of the last committed report: a store keeps them up to
// date in the transaction that changes a state (StoreReport, SetStatuses,
// DeleteComputers), so a report is visible to the next read.

// Compliance is the class of an InstallState that reports count: what an
// admin asks of an update on a computer.
type Compliance string

// The compliance classes, and the install states each counts.
const (
	// ComplianceInstalled: StateInstalled.
	ComplianceInstalled Compliance = "installed"
	// ComplianceNeeded: StateNotInstalled, StateDownloaded and
	// StateInstalledPendingReboot (installed, not yet in effect), as the
	// WSUS console counts "Needed".
	ComplianceNeeded Compliance = "needed"
	// ComplianceFailed: StateFailed.
	ComplianceFailed Compliance = "failed"
	// ComplianceNotApplicable: StateNotApplicable.
	ComplianceNotApplicable Compliance = "not_applicable"
	// ComplianceNoStatus: no state reported (StateUnknown, or no row).
	ComplianceNoStatus Compliance = "no_status"
)

// Compliances lists every class, in the order reports show them.
var Compliances = []Compliance{ComplianceInstalled, ComplianceNeeded, ComplianceFailed, ComplianceNotApplicable, ComplianceNoStatus}

// Compliance returns the class s counts in.
func (s InstallState) Compliance() Compliance {
	switch s {
	case StateInstalled:
		return ComplianceInstalled
	case StateNotInstalled, StateDownloaded, StateInstalledPendingReboot:
		return ComplianceNeeded
	case StateFailed:
		return ComplianceFailed
	case StateNotApplicable:
		return ComplianceNotApplicable
	default:
		return ComplianceNoStatus
	}
}

// ComplianceCounts counts computers (for an update) or updates (for a
// computer) in each class.
type ComplianceCounts struct {
	Installed     int
	Needed        int
	Failed        int
	NotApplicable int
	NoStatus      int
}

// Applicable is how many need the update, installed it or failed to.
func (c ComplianceCounts) Applicable() int { return c.Installed + c.Needed + c.Failed }

// MaxPageSize bounds Page.Limit: no list answers more rows at once.
const MaxPageSize = 1000

// DefaultPageSize is the page size when Page.Limit is zero.
const DefaultPageSize = 100

// Page selects a window of an ordered list.
type Page struct {
	// Limit is the most rows answered: 1..MaxPageSize, zero meaning
	// DefaultPageSize.
	Limit int
	// Offset skips that many rows first.
	Offset int
}

// UpdateSort names the order of an update list.
type UpdateSort string

// The orders of an update list; ties are broken by UpdateID.
const (
	SortByTitle          UpdateSort = "title"
	SortByKB             UpdateSort = "kb"
	SortByReleased       UpdateSort = "released"
	SortBySeverity       UpdateSort = "severity" // Critical, Important, Moderate, Low, then none
	SortByClassification UpdateSort = "classification"
	SortByNeeded         UpdateSort = "needed"
	SortByFailed         UpdateSort = "failed"
	SortByInstalled      UpdateSort = "installed"
)

// UpdateQuery selects updates for ListUpdates. Zero fields select
// everything; set fields are ANDed; a list matches any of its values.
type UpdateQuery struct {
	// Text matches, case-insensitively, a substring of the title, the KB
	// article ("KB5031356" or "5031356") or a CVE ID ("CVE-2023-36033").
	Text string
	// Types are the update types listed; empty means Software and Driver
	// (categories and detectoids are listed only when asked for).
	Types []UpdateType
	// Products and Classifications are category UpdateIDs the update's
	// prerequisites name.
	Products        []uuid.UUID
	Classifications []uuid.UUID
	// Severities are MSRC severities ("Critical", "Important", "Moderate",
	// "Low"; "" for updates without one).
	Severities []string
	// KB is an exact KB article number, without "KB".
	KB string
	// Approved: approved (for any group, in force) or not; Declined;
	// Superseded: some update of the catalog supersedes it.
	Approved   *bool
	Declined   *bool
	Superseded *bool
	// ApprovedFor selects updates approved for this group (in force).
	ApprovedFor uuid.UUID
	// ReleasedAfter and ReleasedBefore bound the release (creation) date:
	// at or after, before.
	ReleasedAfter  time.Time
	ReleasedBefore time.Time
	// MinNeeded and MinFailed select updates needed by (failed on) at least
	// that many computers; zero does not filter.
	MinNeeded int
	MinFailed int
	// Sort and Desc order the list; empty Sort means SortByReleased, newest
	// first when Desc.
	Sort UpdateSort
	Desc bool
	Page Page
}

// UpdateView is one update as the admin views list it: its newest revision
// with what the metadata carries, what admins decided and the computers'
// counts.
type UpdateView struct {
	UpdateID       uuid.UUID
	RevisionID     int32 // the newest revision
	RevisionNumber int32
	Type           UpdateType
	Title          string
	Description    string
	KBArticleID    string
	// Products and Classifications are the category UpdateIDs the
	// prerequisites name, in document order.
	Products        []uuid.UUID
	Classifications []uuid.UUID
	// MsrcSeverity is the Properties' MsrcSeverity attribute, "" if none.
	MsrcSeverity string
	// CVEs are the Properties' CveID elements.
	CVEs []string
	// Languages are the Properties' Language elements (empty: any).
	Languages []string
	// Released is the revision's CreationDate, as WSUS's "release date".
	Released         time.Time
	PublicationState string
	Declined         bool
	// Supersedes lists the UpdateIDs this update supersedes; SupersededBy
	// the updates of the catalog whose newest revision supersedes it.
	Supersedes   []uuid.UUID
	SupersededBy []uuid.UUID
	// BundledUpdates are the bundle members of the newest revision; they
	// are not listed as updates of their own.
	BundledUpdates []Identity
	// Approvals are the update's approvals (in force unless Declined).
	Approvals []Approval
	// Computers counts every known computer in one class: NoStatus is the
	// computers that reported no state for the update.
	Computers ComplianceCounts
}

// StatusQuery selects computer-update states for ListStatuses.
type StatusQuery struct {
	// UpdateID selects one update's computers (zero: every update).
	UpdateID uuid.UUID
	// ClientID selects one computer's updates (empty: every computer).
	ClientID string
	// Group selects the computers of a target group (zero: all), as the
	// scan places them: All Computers is every computer, Unassigned
	// Computers those assigned to none, another group those assigned to it
	// or to a group below it.
	Group uuid.UUID
	// Compliances select classes (empty: all but ComplianceNoStatus).
	// ComplianceNoStatus is answered only with UpdateID set: the computers
	// without a state for it.
	Compliances []Compliance
	// Sort and Desc order the list; empty Sort means StatusByName.
	Sort StatusSort
	Desc bool
	Page Page
}

// StatusSort names the order of a state list. Every order ends with the
// default one (DNS name, client ID, title, UpdateID, ascending) to break
// ties; Desc reverses the named key only.
type StatusSort string

// The orders of a state list.
const (
	// StatusByName orders by DNS name then client ID (the default).
	StatusByName StatusSort = "name"
	// StatusByTitle orders by the update's title then UpdateID.
	StatusByTitle StatusSort = "title"
	// StatusByKB orders by KB article ID ("" first).
	StatusByKB StatusSort = "kb"
	// StatusByState orders by what needs attention first: failed, needed
	// (not installed, downloaded), installed pending reboot, installed,
	// not applicable, then no status (StateUnknown).
	StatusByState StatusSort = "state"
	// StatusByChanged orders by the state's last change, a row without
	// one (no status) as the oldest.
	StatusByChanged StatusSort = "changed"
	// StatusByLastStatus orders by the computer's last status report, a
	// computer that never sent one as the oldest.
	StatusByLastStatus StatusSort = "last_status"
)

// Valid reports whether s names an order of a state list (or is empty,
// the default: by name).
func (s StatusSort) Valid() bool {
	switch s {
	case "", StatusByName, StatusByTitle, StatusByKB, StatusByState, StatusByChanged, StatusByLastStatus:
		return true
	}
	return false
}

// StatusRow is one computer's state for one update, with what a report
// shows next to it.
type StatusRow struct {
	ClientID    string
	DNSName     string
	UpdateID    uuid.UUID
	Title       string // of the update's newest revision, "" if unknown
	KBArticleID string
	State       InstallState
	// ErrorCode is the Win32HResult of the last install failure the
	// computer reported for the update, 0 unless State is StateFailed.
	ErrorCode int32
	ChangedAt time.Time
	// LastStatus is the computer's last status report (LastStatusTime).
	LastStatus time.Time
}

// ComputerSort names the order of a computer list; ties by client ID.
type ComputerSort string

// The orders of a computer list.
const (
	SortByName       ComputerSort = "name"
	SortByLastStatus ComputerSort = "last_status"
	SortByLastSync   ComputerSort = "last_sync"
	SortByNeededMost ComputerSort = "needed"
	SortByFailedMost ComputerSort = "failed"
)

// ComputerQuery selects computers for ListComputers.
type ComputerQuery struct {
	// Text matches a substring of the DNS name or the client ID,
	// case-insensitively.
	Text string
	// Group selects a group's computers, placed as in StatusQuery.Group.
	Group uuid.UUID
	// Needing selects computers with at least one needed or failed update;
	// Failing those with at least one failed.
	Needing bool
	Failing bool
	// NotReportedSince selects computers whose last status report is
	// older than this time, or that never sent one.
	NotReportedSince time.Time
	Sort             ComputerSort
	Desc             bool
	Page             Page
}

// ComputerView is a computer with its counts, as the admin lists show it.
type ComputerView struct {
	Computer
	// Updates counts the computer's updates in each class; NoStatus is 0
	// (a computer's list holds only what it reported).
	Updates ComplianceCounts
}

// GroupCompliance rolls up one target group's computers.
type GroupCompliance struct {
	GroupID uuid.UUID
	Name    string
	// Computers in the group (placed as in StatusQuery.Group).
	Computers int
	// NeedingUpdates: at least one needed or failed; WithFailures: at least
	// one failed; UpToDate: reported, nothing needed or failed; NotReported:
	// no status report since the query's time (or never).
	NeedingUpdates int
	WithFailures   int
	UpToDate       int
	NotReported    int
	// Updates sums the group's computer-update pairs in each class
	// (NoStatus 0).
	Updates ComplianceCounts
}

// ComplianceSummary is the dashboard's view of the whole server.
type ComplianceSummary struct {
	// Computers counts every known computer; the others are as in
	// GroupCompliance.
	Computers      int
	NeedingUpdates int
	WithFailures   int
	UpToDate       int
	NotReported    int
	// Updates counts updates as ListUpdates lists them by default
	// (Software and Driver, bundle members left out); NeedingApproval are
	// those needed or failed on at least one computer, neither approved
	// nor declined; Approved, Declined and Superseded as in UpdateQuery.
	Updates         int
	NeedingApproval int
	Approved        int
	Declined        int
	Superseded      int
	// Pairs sums every computer-update pair in each class (NoStatus 0).
	Pairs ComplianceCounts
}

// ComplianceStore is the part of Store that answers the admin views.
// Queries that fail validation (a page limit out of range, an unknown sort)
// return ErrInvalid.
type ComplianceStore interface {
	// ListUpdates returns one page of the updates q selects, in q's order,
	// and how many it selects in all.
	ListUpdates(ctx context.Context, q UpdateQuery) ([]UpdateView, int, error)
	// UpdateView returns one update (ErrNotFound if the catalog has no
	// revision of it; a bundle member is found too).
	UpdateView(ctx context.Context, updateID uuid.UUID) (UpdateView, error)
	// ListStatuses returns one page of computer-update states, in q's
	// order (by default DNS name then client ID then title then UpdateID),
	// and how many q selects in all.
	ListStatuses(ctx context.Context, q StatusQuery) ([]StatusRow, int, error)
	// ListComputers returns one page of computers with their counts (with
	// Hardware nil) and how many q selects in all.
	ListComputers(ctx context.Context, q ComputerQuery) ([]ComputerView, int, error)
	// GroupCounts counts, for each listed update, the computers of group
	// (placed as in StatusQuery.Group) in each class; NoStatus counts the
	// group's computers without a state. Updates without any are answered
	// with zero counts but NoStatus.
	GroupCounts(ctx context.Context, group uuid.UUID, updateIDs []uuid.UUID) (map[uuid.UUID]ComplianceCounts, error)
	// GroupCompliance rolls up every target group; NotReported counts
	// computers without a status report at or after notReportedSince.
	GroupCompliance(ctx context.Context, notReportedSince time.Time) ([]GroupCompliance, error)
	// ComplianceSummary rolls up the server, with NotReported as in
	// GroupCompliance.
	ComplianceSummary(ctx context.Context, notReportedSince time.Time) (ComplianceSummary, error)
}

// Resolve returns the page's limit, DefaultPageSize when Limit is zero, and
// its offset; a limit outside 0..MaxPageSize or a negative offset is an
// error wrapping ErrInvalid.
func (p Page) Resolve() (limit, offset int, err error) {
	switch {
	case p.Limit < 0 || p.Limit > MaxPageSize:
		return 0, 0, MarkInvalid(fmt.Errorf("page limit %d is outside 1..%d", p.Limit, MaxPageSize))
	case p.Offset < 0:
		return 0, 0, MarkInvalid(fmt.Errorf("page offset %d is negative", p.Offset))
	case p.Limit == 0:
		return DefaultPageSize, p.Offset, nil
	}
	return p.Limit, p.Offset, nil
}

// Valid reports whether s names an order of an update list (or is empty,
// the default).
func (s UpdateSort) Valid() bool {
	switch s {
	case "", SortByTitle, SortByKB, SortByReleased, SortBySeverity, SortByClassification, SortByNeeded, SortByFailed, SortByInstalled:
		return true
	}
	return false
}

// Valid reports whether s names an order of a computer list (or is empty,
// the default: by name).
func (s ComputerSort) Valid() bool {
	switch s {
	case "", SortByName, SortByLastStatus, SortByLastSync, SortByNeededMost, SortByFailedMost:
		return true
	}
	return false
}

// Valid reports whether c is one of Compliances.
func (c Compliance) Valid() bool {
	switch c {
	case ComplianceInstalled, ComplianceNeeded, ComplianceFailed, ComplianceNotApplicable, ComplianceNoStatus:
		return true
	}
	return false
}

// States returns the install states c counts, StateUnknown for
// ComplianceNoStatus.
func (c Compliance) States() []InstallState {
	switch c {
	case ComplianceInstalled:
		return []InstallState{StateInstalled}
	case ComplianceNeeded:
		return []InstallState{StateNotInstalled, StateDownloaded, StateInstalledPendingReboot}
	case ComplianceFailed:
		return []InstallState{StateFailed}
	case ComplianceNotApplicable:
		return []InstallState{StateNotApplicable}
	case ComplianceNoStatus:
		return []InstallState{StateUnknown}
	}
	return nil
}

// Add adds n pairs of state s to the counts, in the class s counts in.
func (c *ComplianceCounts) Add(s InstallState, n int) {
	switch s.Compliance() {
	case ComplianceInstalled:
		c.Installed += n
	case ComplianceNeeded:
		c.Needed += n
	case ComplianceFailed:
		c.Failed += n
	case ComplianceNotApplicable:
		c.NotApplicable += n
	default:
		c.NoStatus += n
	}
}
