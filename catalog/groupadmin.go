package catalog

import (
	"context"

	"github.com/google/uuid"
)

// GroupAdmin is the part of Store that removes and renames what an admin
// created: target groups and computers (issue 11).
type GroupAdmin interface {
	// RenameTargetGroup renames a group; names are unique as in
	// CreateTargetGroup (taken: ErrConflict). A built-in group ("All
	// Computers", "Unassigned Computers") or an empty name: ErrInvalid;
	// unknown group: ErrNotFound. Renaming moves ChangeSequence (clients
	// target groups by name).
	RenameTargetGroup(ctx context.Context, id uuid.UUID, name string) error
	// DeleteTargetGroup deletes a group with its approvals (each update's
	// UpdateState.ChangedAt set to now, as a removed approval does) and its
	// computers' assignments to it, in one transaction. A built-in group:
	// ErrInvalid; a group with child groups: ErrConflict; unknown group:
	// ErrNotFound.
	DeleteTargetGroup(ctx context.Context, id uuid.UUID) error
	// DeleteComputers deletes the computers of the given client IDs with
	// their events, statuses, inventory and group assignments, in one
	// transaction, and returns the IDs it deleted (those that existed), in
	// the order given. Deleting assignments moves ChangeSequence.
	DeleteComputers(ctx context.Context, clientIDs []string) ([]string, error)
}
