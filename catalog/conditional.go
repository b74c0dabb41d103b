package catalog

import (
	"context"
	"errors"
)

// ErrPreconditionFailed is returned (wrapped) by the conditional writes of
// ConditionalWrites when what is stored is no longer what the caller read:
// someone else changed it in between. Nothing was written; the caller
// reads again and decides again.
var ErrPreconditionFailed = errors.New("precondition failed")

// ConditionalWrites is the part of Store behind the admin API's If-Match
// (issue 11): each write happens only if the resource is, inside the
// write's own transaction, still what the caller read and showed its
// client (compare-and-swap on the stored values; no version column). Two
// callers that read the same state and both write conditionally, on one
// replica or on two, see exactly one succeed and the other fail with
// ErrPreconditionFailed. The other errors are those of the unconditional
// method each one names.
type ConditionalWrites interface {
	// RenameTargetGroupIf is RenameTargetGroup(want.ID, name) if the group
	// is still named want.Name (a group's ID and parent never change).
	RenameTargetGroupIf(ctx context.Context, want TargetGroup, name string) error
	// DeleteTargetGroupIf is DeleteTargetGroup(want.ID) if the group is
	// still named want.Name.
	DeleteTargetGroupIf(ctx context.Context, want TargetGroup) error
	// SetSyncSettingsIf is SetSyncSettings(s) if the stored settings are
	// still want, as SyncSettings returned them (ChangedAt included, so a
	// write of the same values in between fails it too).
	SetSyncSettingsIf(ctx context.Context, want, s SyncSettings) error
	// PutApprovalRuleIf is PutApprovalRule(r) if the stored rule of
	// want.ID was last changed at want.ChangedAt (an admin's edit changes
	// it; a rule's representation shows nothing else it keeps).
	PutApprovalRuleIf(ctx context.Context, want, r ApprovalRule) (ApprovalRule, error)
	// DeleteApprovalRuleIf is DeleteApprovalRule(want.ID) under the same
	// condition.
	DeleteApprovalRuleIf(ctx context.Context, want ApprovalRule) error
	// PutRingIf is PutRing(r) if the stored ring of want.ID was last
	// changed at want.ChangedAt. A ring's State (paused, accepted
	// failures) is not compared: PutRing keeps it as stored.
	PutRingIf(ctx context.Context, want, r Ring) (Ring, error)
	// DeleteRingIf is DeleteRing(want.ID) under the same condition.
	DeleteRingIf(ctx context.Context, want Ring) error
	// SetAutoDeclineIf is SetAutoDecline(s) if the stored settings were
	// last changed at want.ChangedAt.
	SetAutoDeclineIf(ctx context.Context, want, s AutoDecline) (AutoDecline, error)
}
