package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// nameKey folds a target group name for case-insensitive uniqueness.
func nameKey(name string) string { return strings.ToLower(name) }

// TargetGroups returns every target group, built-in ones included, ordered
// by name (case-insensitively).
func (s *Store) TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error) {
	var out []catalog.TargetGroup
	err := query(ctx, s.r, "SELECT id, name, parent_id FROM target_group ORDER BY name_key, id", nil,
		func(rows *sql.Rows) error {
			var id, name string
			var parent sql.NullString
			if err := rows.Scan(&id, &name, &parent); err != nil {
				return err
			}
			g := catalog.TargetGroup{Name: name}
			var err error
			if g.ID, err = decUUID(id); err != nil {
				return err
			}
			if parent.Valid {
				if g.ParentID, err = decUUID(parent.String); err != nil {
					return err
				}
			}
			out = append(out, g)
			return nil
		})
	if err != nil {
		return nil, errorf("sqlite: target groups: %w", err)
	}
	return out, nil
}

// requireGroup fails with an error wrapping catalog.ErrNotFound unless the
// target group exists.
func requireGroup(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM target_group WHERE id = ?", id.String()).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("group %s: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// CreateTargetGroup adds a group under an existing parent. The caller picks
// the ID; a top-level group has catalog.AllComputersGroupID as parent (only
// "All Computers" itself has none). Names are unique case-insensitively; a
// duplicate name or ID is an error, an unknown parent one wrapping
// catalog.ErrNotFound.
func (s *Store) CreateTargetGroup(ctx context.Context, g catalog.TargetGroup) error {
	op := fmt.Sprintf("create target group %q", g.Name)
	switch {
	case g.ID == uuid.Nil:
		return errorf("sqlite: %s: no ID", op)
	case strings.TrimSpace(g.Name) == "":
		return errorf("sqlite: %s: empty name", op)
	case g.ParentID == uuid.Nil:
		return errorf("sqlite: %s: no parent (use catalog.AllComputersGroupID for a top-level group)", op)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM target_group WHERE id = ?", g.ParentID.String()).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("parent group %s: %w", g.ParentID, catalog.ErrNotFound)
		}
		var id, name string
		err = tx.QueryRowContext(ctx, "SELECT id, name FROM target_group WHERE id = ? OR name_key = ?",
			g.ID.String(), nameKey(g.Name)).Scan(&id, &name)
		switch {
		case err == nil && id == g.ID.String():
			return fmt.Errorf("group ID %s is taken by group %q", g.ID, name)
		case err == nil:
			return fmt.Errorf("name is taken by group %q (%s)", name, id)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO target_group (id, name, name_key, parent_id, is_builtin) VALUES (?, ?, ?, ?, 0)",
			g.ID.String(), g.Name, nameKey(g.Name), g.ParentID.String())
		if err != nil {
			return err
		}
		return bumpChangeSequence(ctx, tx)
	})
}

// SetApproval creates or replaces the approval of (UpdateID, GroupID) with a
// new deployment ID, ChangedAt defaulting to now, and returns it as stored.
// ActionNotApproved removes the approval and returns a with ID 0. The group
// and at least one revision of the update must exist (else the error wraps
// catalog.ErrNotFound). In the same transaction the update's state gets
// ChangedAt = the approval's ChangedAt, or now for a removal; removing an
// approval that is not there changes nothing.
func (s *Store) SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error) {
	op := fmt.Sprintf("set approval %s/%s", a.UpdateID, a.GroupID)
	switch a.Action {
	case catalog.ActionInstall, catalog.ActionOptionalInstall, catalog.ActionUninstall, catalog.ActionNotApproved:
	default:
		return catalog.Approval{}, errorf("sqlite: %s: unknown action %q", op, a.Action)
	}
	if err := errors.Join(catalog.CheckTime("deadline", a.Deadline), catalog.CheckTime("ChangedAt", a.ChangedAt)); err != nil {
		return catalog.Approval{}, errorf("sqlite: %s: %w", op, err)
	}
	a.ID = 0
	a.Deadline = a.Deadline.UTC()
	if a.ChangedAt.IsZero() {
		a.ChangedAt = nowUTC()
	}
	a.ChangedAt = a.ChangedAt.UTC()
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		if err := requireGroup(ctx, tx, a.GroupID); err != nil {
			return err
		}
		if err := requireUpdate(ctx, tx, a.UpdateID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM approval WHERE update_id = ? AND group_id = ?", a.UpdateID.String(), a.GroupID.String())
		if err != nil {
			return err
		}
		if a.Action == catalog.ActionNotApproved {
			if gone, err := res.RowsAffected(); err != nil || gone == 0 {
				return err // nothing to remove, nothing changed
			}
			if err := touchUpdateState(ctx, tx, a.UpdateID, nowUTC()); err != nil {
				return err
			}
			return bumpChangeSequence(ctx, tx)
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO approval (update_id, group_id, action, deadline, changed_at, changed_by)
			VALUES (?, ?, ?, ?, ?, ?)`, a.UpdateID.String(), a.GroupID.String(), string(a.Action),
			encTime(a.Deadline), encTime(a.ChangedAt), a.By)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if id <= 0 || id > math.MaxInt32 {
			return fmt.Errorf("deployment ID %d outside the int32 range", id)
		}
		a.ID = int32(id)
		if err := touchUpdateState(ctx, tx, a.UpdateID, a.ChangedAt); err != nil {
			return err
		}
		return bumpChangeSequence(ctx, tx)
	})
	if err != nil {
		return catalog.Approval{}, err
	}
	return a, nil
}

// Approvals returns every approval in force, ordered by deployment ID.
func (s *Store) Approvals(ctx context.Context) ([]catalog.Approval, error) {
	var out []catalog.Approval
	err := query(ctx, s.r, `SELECT id, update_id, group_id, action, deadline, changed_at, changed_by
		FROM approval ORDER BY id`, nil, func(rows *sql.Rows) error {
		var a catalog.Approval
		var uid, gid, action string
		var deadline, changed sql.NullString
		if err := rows.Scan(&a.ID, &uid, &gid, &action, &deadline, &changed, &a.By); err != nil {
			return err
		}
		a.Action = catalog.ApprovalAction(action)
		var err error
		if a.UpdateID, err = decUUID(uid); err != nil {
			return err
		}
		if a.GroupID, err = decUUID(gid); err != nil {
			return err
		}
		if a.Deadline, err = decTime(deadline); err != nil {
			return err
		}
		if a.ChangedAt, err = decTime(changed); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, errorf("sqlite: approvals: %w", err)
	}
	return out, nil
}
