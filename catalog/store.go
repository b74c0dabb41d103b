package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrNotFound is returned (wrapped) by Store methods when the thing asked for
// does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped) by Store methods when the change would
// break a uniqueness rule: a target group name or ID already taken. The
// request fails the same way until what it conflicts with changes.
var ErrConflict = errors.New("conflict")

// ErrInvalid is returned (wrapped) by Store methods when the input itself
// cannot be stored: text that is not UTF-8 or holds a NUL, a time outside
// the years 1-9999, a missing ID, an unknown action or state. Retrying the
// same input fails the same way.
var ErrInvalid = errors.New("invalid input")

// ErrUnavailable is returned (wrapped) by Store methods when the database
// cannot be reached or is shutting down, overloaded or out of resources: the
// request may succeed later unchanged. Callers answer it as an outage
// (ServerBusy on SOAP, 503 with Retry-After elsewhere), never as a bug.
var ErrUnavailable = errors.New("catalog store unavailable")

// Fragment is one stored MS-WUSP fragment of a revision.
type Fragment struct {
	RevisionID int32
	Type       FragmentType
	// Language is set for LocalizedProperties and Eula fragments.
	Language string
	XML      string
}

// ImportResult tells what an import changed.
type ImportResult struct {
	// Added counts revisions new to the catalog.
	Added int
	// Unchanged counts revisions that were already there, byte for byte.
	Unchanged int
}

// Report is one ReportEventBatch as the store keeps it (see
// Store.StoreReport).
type Report struct {
	ClientID string
	Events   []Event
	// Changes are the status changes the events imply, in the order they
	// apply (the events' TimeAtTarget order).
	Changes []StatusChange
	// At is when the report was received; zero means now.
	At time.Time
}

// ChangesOf returns the changes that apply when the events whose
// InstanceIDs are in fresh were stored new, in order.
func (r Report) ChangesOf(fresh map[uuid.UUID]bool) []StatusChange {
	var out []StatusChange
	for _, c := range r.Changes {
		if fresh[c.Event] {
			out = append(out, c)
		}
	}
	return out
}

// StatusChange is the status change one reported event implies, as
// Store.SetStatuses takes it.
type StatusChange struct {
	// Event is the InstanceID of the event implying the change: it applies
	// only when that event is stored new, so a retried report changes
	// nothing twice.
	Event    uuid.UUID
	Statuses []UpdateStatus
	// Replace marks a full status report (event 156): the computer's
	// states not listed are removed.
	Replace bool
}

// ServerInfo is the identity and configuration stamp shared by every replica
// that uses one store.
type ServerInfo struct {
	// ID identifies this server installation; cookies carry it, and a cookie
	// minted under another ID gets ServerChanged.
	ID uuid.UUID
	// ConfigChanged is the Config LastChange clients compare in GetCookie.
	ConfigChanged time.Time
}

// Store is the catalog contract: everything the server keeps lives behind it,
// so N server processes over one store behave as one server. The embedded
// (SQLite) and PostgreSQL stores both implement it and both pass the suite in
// package catalog/storetest. Every write is durable before the method returns.
type Store interface {
	// ServerInfo returns the installation identity, creating it on first use.
	ServerInfo(ctx context.Context) (ServerInfo, error)

	// ImportRevisions adds revisions to the catalog, keyed by Identity. A new
	// revision gets the next revision ID, written back into its ID field; an
	// existing one keeps its ID (and its ID is written back too). IsLeaf of
	// every revision is recomputed in the same transaction.
	ImportRevisions(ctx context.Context, revs []*Revision) (ImportResult, error)
	// Summaries returns every revision of the catalog, ordered by ID.
	Summaries(ctx context.Context) ([]Summary, error)
	// Revision returns one whole revision by ID (ErrNotFound if absent).
	Revision(ctx context.Context, id int32) (*Revision, error)
	// Fragments returns the fragments of type typ for the given revision IDs.
	// For LocalizedProperties and Eula only the listed languages are returned
	// (languages is ignored for Core and Extended). Missing ones are skipped.
	Fragments(ctx context.Context, ids []int32, typ FragmentType, languages []string) ([]Fragment, error)
	// Files returns the files of the given revisions, keyed by revision ID.
	Files(ctx context.Context, ids []int32) (map[int32][]File, error)
	// FileBySHA1 returns the metadata of the file with that 20-byte digest.
	FileBySHA1(ctx context.Context, sha1 []byte) (File, error)
	// ChangeSequence returns a number that grows on every change to
	// revisions, approvals, declines, target groups or computer-group
	// assignments (SetComputerGroups), and on no other change to computers
	// (authorizations, registrations, syncs, reports, statuses); caches
	// compare it to know they are stale, across every process that shares
	// the store.
	ChangeSequence(ctx context.Context) (int64, error)

	// TargetGroups returns every target group, the built-in "All Computers"
	// and "Unassigned Computers" included.
	TargetGroups(ctx context.Context) ([]TargetGroup, error)
	// CreateTargetGroup adds a group; names are unique, case-insensitively.
	CreateTargetGroup(ctx context.Context, g TargetGroup) error
	// SetApproval creates or replaces the approval of (UpdateID, GroupID) and
	// returns it with its new deployment ID and ChangedAt; ActionNotApproved
	// removes it. Setting or removing an approval also sets the update's
	// UpdateState.ChangedAt to the approval's ChangedAt (removal: now).
	SetApproval(ctx context.Context, a Approval) (Approval, error)
	// Approvals returns every approval in force.
	Approvals(ctx context.Context) ([]Approval, error)
	// SetDeclined declines (or un-declines) an update, all its revisions,
	// and sets its UpdateState.ChangedAt to now. Declining keeps the
	// update's approvals (WSUS shows them again when it is un-declined) but
	// the scan engine ignores them while declined. Unknown update: ErrNotFound.
	SetDeclined(ctx context.Context, updateID uuid.UUID, declined bool) error
	// UpdateStates returns the state of every update an admin ever
	// approved, unapproved, declined or un-declined.
	UpdateStates(ctx context.Context) ([]UpdateState, error)

	// RecordAuthorization notes a client seen by GetAuthorizationCookie,
	// creating the computer if new (not yet Registered).
	RecordAuthorization(ctx context.Context, clientID, dnsName string, groups []string, at time.Time) error
	// RegisterComputer stores the details RegisterComputer sent and marks the
	// computer Registered, creating it if new.
	RegisterComputer(ctx context.Context, c Computer) error
	// SetComputerGroups assigns a computer to target groups (server-side
	// targeting), replacing its previous assignment; an empty list removes
	// it from every group. Unknown computer or group: ErrNotFound. A change
	// of assignment moves ChangeSequence in the same transaction; setting
	// the assignment the computer already has does not.
	SetComputerGroups(ctx context.Context, clientID string, groups []uuid.UUID) error
	// ComputerGroupAssignments returns every computer's assigned groups at
	// once, keyed by client ID, each list ordered as Computer.Groups is (by
	// UUID string); computers in no group are absent. The scan engine loads
	// it with each snapshot, so that a scan needs no per-client query.
	ComputerGroupAssignments(ctx context.Context) (map[string][]uuid.UUID, error)
	// RecordSync sets the computer's LastSync.
	RecordSync(ctx context.Context, clientID string, at time.Time) error
	// RecordHardware replaces the computer's Hardware (what its driver pass
	// reported); unknown computer: ErrNotFound; an inventory that fails
	// HardwareInventory.Validate: ErrInvalid.
	RecordHardware(ctx context.Context, clientID string, h HardwareInventory) error
	// Computer returns one computer by client ID (ErrNotFound if absent).
	Computer(ctx context.Context, clientID string) (Computer, error)
	// Computers returns every computer, ordered by DNS name, with Hardware
	// nil (it runs to hundreds of devices a computer; Computer has it).
	Computers(ctx context.Context) ([]Computer, error)

	// StoreEvents stores reporting events, skipping any whose InstanceID is
	// already stored, sets the computer's LastReport, and returns how many
	// were new.
	StoreEvents(ctx context.Context, clientID string, events []Event, at time.Time) (int, error)
	// StoreReport stores one report of a computer in one transaction: its
	// events (skipping any whose InstanceID is already stored), the status
	// changes of the events that were new, in order, and the computer's
	// LastReport (and LastStatusTime when a change applies). Either all of
	// it is stored or none, so a client that retries a failed report gets
	// its statuses derived. It returns how many events were new.
	StoreReport(ctx context.Context, r Report) (int, error)
	// CountEvents returns how many events of one computer were received at
	// or after since.
	CountEvents(ctx context.Context, clientID string, since time.Time) (int, error)
	// Events returns the stored events of one computer, oldest first.
	Events(ctx context.Context, clientID string) ([]Event, error)
	// SetStatuses records per-update states of one computer. With replace,
	// the computer's states not listed are removed (a full status report);
	// without, only the listed ones change. Unchanged states keep ChangedAt.
	SetStatuses(ctx context.Context, clientID string, statuses []UpdateStatus, replace bool, at time.Time) error
	// Statuses returns the per-update states of one computer.
	Statuses(ctx context.Context, clientID string) ([]UpdateStatus, error)

	// GroupAdmin renames and deletes target groups, deletes computers.
	GroupAdmin

	// ComplianceStore answers the admin views: updates, statuses,
	// computers and their counts (see compliance.go).
	ComplianceStore

	// ConditionalWrites are the writes behind If-Match (conditional.go).
	ConditionalWrites

	// SyncStore is what synchronization with an upstream server keeps
	// (settings, state, runs, file sources; see sync.go).
	SyncStore

	// AccessStore keeps API tokens and the audit log (see access.go).
	AccessStore

	// RuleStore keeps approval rules, rings and automatic declines (see
	// rules.go).
	RuleStore

	// Close releases the store.
	Close() error
}

// MarkUnavailable returns err marked as an outage: its text is err's, and
// it matches both err and ErrUnavailable with errors.Is. Stores mark the
// errors of their driver that mean the database is unreachable, shutting
// down, overloaded or out of resources.
func MarkUnavailable(err error) error { return mark(err, ErrUnavailable) }

// MarkUnavailableIf returns err marked as an outage (see MarkUnavailable)
// when isOutage says it is one, else err.
func MarkUnavailableIf(err error, isOutage func(error) bool) error {
	if err != nil && isOutage(err) {
		return MarkUnavailable(err)
	}
	return err
}

// MarkInvalid returns err marked as invalid input: its text is err's, and
// it matches both err and ErrInvalid with errors.Is.
func MarkInvalid(err error) error { return mark(err, ErrInvalid) }

// MarkConflict returns err marked as a conflict: its text is err's, and it
// matches both err and ErrConflict with errors.Is.
func MarkConflict(err error) error { return mark(err, ErrConflict) }

func mark(err, kind error) error {
	if err == nil || errors.Is(err, kind) {
		return err
	}
	return markedError{err, kind}
}

// markedError is an error with a kind (ErrUnavailable, ErrInvalid,
// ErrConflict) that leaves its text alone.
type markedError struct{ err, kind error }

func (e markedError) Error() string   { return e.err.Error() }
func (e markedError) Unwrap() []error { return []error{e.err, e.kind} }
