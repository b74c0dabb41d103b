package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wsus/catalog"
)

// nameKey folds a target group name for case-insensitive uniqueness, the
// way the embedded store does.
func nameKey(name string) string { return strings.ToLower(name) }

// TargetGroups returns every target group, built-in ones included, ordered
// by folded name (byte order).
func (s *Store) TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error) {
	var out []catalog.TargetGroup
	err := queryEach(ctx, s.pool, `SELECT id, name, parent_id FROM target_group ORDER BY name_key COLLATE "C", id`, nil,
		func(rows pgx.Rows) error {
			var g catalog.TargetGroup
			var parent *[16]byte
			if err := rows.Scan((*[16]byte)(&g.ID), &g.Name, &parent); err != nil {
				return err
			}
			if parent != nil {
				g.ParentID = *parent
			}
			out = append(out, g)
			return nil
		})
	if err != nil {
		return nil, errorf("postgres: target groups: %w", err)
	}
	return out, nil
}

// groupExists reports whether the target group id exists.
func groupExists(ctx context.Context, tx pgx.Tx, id uuid.UUID) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM target_group WHERE id = $1)", encUUID(id)).Scan(&ok)
	return ok, err
}

// updateExists reports whether the catalog has a revision of the update.
func updateExists(ctx context.Context, tx pgx.Tx, id uuid.UUID) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM revision WHERE update_id = $1)", encUUID(id)).Scan(&ok)
	return ok, err
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
		return errorf("postgres: %s: no ID", op)
	case strings.TrimSpace(g.Name) == "":
		return errorf("postgres: %s: empty name", op)
	case g.ParentID == uuid.Nil:
		return errorf("postgres: %s: no parent (use catalog.AllComputersGroupID for a top-level group)", op)
	}
	if err := catalog.CheckText("name", g.Name); err != nil {
		return errorf("postgres: %s: %w", op, err)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		ok, err := groupExists(ctx, tx, g.ParentID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("parent group %s: %w", g.ParentID, catalog.ErrNotFound)
		}
		var id [16]byte
		var name string
		err = tx.QueryRow(ctx, "SELECT id, name FROM target_group WHERE id = $1 OR name_key = $2 ORDER BY id = $1 DESC LIMIT 1",
			encUUID(g.ID), nameKey(g.Name)).Scan(&id, &name)
		switch {
		case err == nil && uuid.UUID(id) == g.ID:
			return fmt.Errorf("group ID %s is taken by group %q", g.ID, name)
		case err == nil:
			return fmt.Errorf("name is taken by group %q (%s)", name, uuid.UUID(id))
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO target_group (id, name, name_key, parent_id, is_builtin) VALUES ($1, $2, $3, $4, false)",
			encUUID(g.ID), g.Name, nameKey(g.Name), encUUID(g.ParentID))
		if pgCode(err) == codeUniqueViolation {
			// Another replica created it since the check above.
			return fmt.Errorf("group ID %s or name %q is taken: %w", g.ID, g.Name, err)
		}
		if err != nil {
			return err
		}
		return bumpChangeSequence(ctx, tx)
	})
}

// SetApproval creates or replaces the approval of (UpdateID, GroupID) with a
// new deployment ID, ChangedAt defaulting to now (the database server's
// clock, which all replicas share), and returns it as stored (times to the
// microsecond). ActionNotApproved removes the approval and returns a with ID
// 0; removing one that is not there changes nothing. The group and at least
// one revision of the update must exist (else the error wraps
// catalog.ErrNotFound). The update's state takes the approval's ChangedAt
// (on removal: now), creating the state if new.
func (s *Store) SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error) {
	op := fmt.Sprintf("set approval %s/%s", a.UpdateID, a.GroupID)
	switch a.Action {
	case catalog.ActionInstall, catalog.ActionOptionalInstall, catalog.ActionUninstall, catalog.ActionNotApproved:
	default:
		return catalog.Approval{}, errorf("postgres: %s: unknown action %q", op, a.Action)
	}
	if err := errors.Join(catalog.CheckTime("deadline", a.Deadline), catalog.CheckTime("ChangedAt", a.ChangedAt), catalog.CheckText("By", a.By)); err != nil {
		return catalog.Approval{}, errorf("postgres: %s: %w", op, err)
	}
	a.ID = 0
	if !a.Deadline.IsZero() {
		a.Deadline = a.Deadline.UTC().Truncate(time.Microsecond)
	}
	var id int32
	var changedAt time.Time
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		id = 0
		ok, err := groupExists(ctx, tx, a.GroupID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("group %s: %w", a.GroupID, catalog.ErrNotFound)
		}
		if ok, err = updateExists(ctx, tx, a.UpdateID); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("update %s: %w", a.UpdateID, catalog.ErrNotFound)
		}
		if a.Action == catalog.ActionNotApproved {
			tag, err := tx.Exec(ctx, "DELETE FROM approval WHERE update_id = $1 AND group_id = $2", encUUID(a.UpdateID), encUUID(a.GroupID))
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return nil // nothing to remove, nothing changed
			}
			if err := touchUpdateState(ctx, tx, a.UpdateID, nil); err != nil {
				return err
			}
			return bumpChangeSequence(ctx, tx)
		}
		// A replaced approval draws a new deployment ID too.
		err = tx.QueryRow(ctx, `INSERT INTO approval (update_id, group_id, action, deadline, changed_at, changed_by)
			VALUES ($1, $2, $3, $4, coalesce($5, now()), $6)
			ON CONFLICT (update_id, group_id) DO UPDATE SET id = nextval('approval_id_seq'), action = excluded.action,
			deadline = excluded.deadline, changed_at = excluded.changed_at, changed_by = excluded.changed_by
			RETURNING id, changed_at`, encUUID(a.UpdateID), encUUID(a.GroupID), string(a.Action), encTime(a.Deadline),
			encTime(a.ChangedAt), a.By).Scan(&id, &changedAt)
		if err != nil {
			return err
		}
		if err := touchUpdateState(ctx, tx, a.UpdateID, changedAt); err != nil {
			return err
		}
		return bumpChangeSequence(ctx, tx)
	})
	if err != nil {
		return catalog.Approval{}, err
	}
	a.ID = id
	if a.ID != 0 {
		a.ChangedAt = changedAt.UTC()
	}
	return a, nil
}

// touchUpdateState sets the ChangedAt of an update's state to at (nil: now),
// creating the state (not declined) if the update has none yet.
func touchUpdateState(ctx context.Context, tx pgx.Tx, updateID uuid.UUID, at any) error {
	_, err := tx.Exec(ctx, `INSERT INTO update_state (update_id, declined, changed_at) VALUES ($1, false, coalesce($2, now()))
		ON CONFLICT (update_id) DO UPDATE SET changed_at = excluded.changed_at`, encUUID(updateID), at)
	if err != nil {
		return fmt.Errorf("state of update %s: %w", updateID, err)
	}
	return nil
}

// Approvals returns every approval in force, ordered by deployment ID.
func (s *Store) Approvals(ctx context.Context) ([]catalog.Approval, error) {
	var out []catalog.Approval
	err := queryEach(ctx, s.pool, `SELECT id, update_id, group_id, action, deadline, changed_at, changed_by
		FROM approval ORDER BY id`, nil, func(rows pgx.Rows) error {
		var a catalog.Approval
		var action string
		var deadline *time.Time
		if err := rows.Scan(&a.ID, (*[16]byte)(&a.UpdateID), (*[16]byte)(&a.GroupID), &action, &deadline,
			&a.ChangedAt, &a.By); err != nil {
			return err
		}
		a.Action = catalog.ApprovalAction(action)
		a.Deadline = decTime(deadline)
		a.ChangedAt = a.ChangedAt.UTC()
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, errorf("postgres: approvals: %w", err)
	}
	return out, nil
}

// SetDeclined declines (declined true) or un-declines an update of the
// catalog, setting its state's ChangedAt to now (the database server's
// clock) and bumping the change sequence. Asking for the state the update is
// in already changes nothing; an update never declined counts as not
// declined. The update's approvals are kept. An update with no imported
// revision is an error wrapping catalog.ErrNotFound.
func (s *Store) SetDeclined(ctx context.Context, updateID uuid.UUID, declined bool) error {
	op := "decline update " + updateID.String()
	q := `INSERT INTO update_state (update_id, declined, changed_at) VALUES ($1, true, now())
		ON CONFLICT (update_id) DO UPDATE SET declined = true, changed_at = excluded.changed_at
		WHERE NOT update_state.declined`
	if !declined {
		op = "un-decline update " + updateID.String()
		q = "UPDATE update_state SET declined = false, changed_at = now() WHERE update_id = $1 AND declined"
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		ok, err := updateExists(ctx, tx, updateID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("update %s: %w", updateID, catalog.ErrNotFound)
		}
		tag, err := tx.Exec(ctx, q, encUUID(updateID))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // nothing changes
		}
		return bumpChangeSequence(ctx, tx)
	})
}

// UpdateStates returns the state of every update an admin ever approved,
// unapproved, declined or un-declined, ordered by UpdateID.
func (s *Store) UpdateStates(ctx context.Context) ([]catalog.UpdateState, error) {
	var out []catalog.UpdateState
	err := queryEach(ctx, s.pool, "SELECT update_id, declined, changed_at FROM update_state ORDER BY update_id", nil,
		func(rows pgx.Rows) error {
			var st catalog.UpdateState
			if err := rows.Scan((*[16]byte)(&st.UpdateID), &st.Declined, &st.ChangedAt); err != nil {
				return err
			}
			st.ChangedAt = st.ChangedAt.UTC()
			out = append(out, st)
			return nil
		})
	if err != nil {
		return nil, errorf("postgres: update states: %w", err)
	}
	return out, nil
}
