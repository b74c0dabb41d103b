package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// TargetGroups returns every target group, built-in ones included, ordered
// by name key (catalog.GroupNameKey, byte order), then ID.
func (s *Store) TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error) {
	type keyed struct {
		g   catalog.TargetGroup
		key string
	}
	list, err := readOne(ctx, s, "target groups", func(t *tx) ([]keyed, error) {
		var out []keyed
		err := t.query(ctx, "SELECT id, name, name_key, parent_id FROM target_group", nil, func(rows Row) error {
			var k keyed
			var parent uuid.NullUUID
			if err := rows.Scan(uuidDest{&k.g.ID}, &k.g.Name, &k.key, &parent); err != nil {
				return err
			}
			k.g.ParentID = parent.UUID
			out = append(out, k)
			return nil
		})
		return out, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b keyed) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.g.ID.String(), b.g.ID.String()))
	})
	out := make([]catalog.TargetGroup, len(list))
	for i, k := range list {
		out[i] = k.g
	}
	return out, nil
}

// exists reports whether q (a SELECT of one row) finds a row.
func exists(ctx context.Context, t *tx, q string, args ...any) (bool, error) {
	var one int
	err := t.queryRow(ctx, q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// requireGroup fails with an error wrapping catalog.ErrNotFound unless the
// target group exists; what names it in the error ("group", "parent group").
func requireGroup(ctx context.Context, t *tx, what string, id uuid.UUID) error {
	ok, err := exists(ctx, t, "SELECT 1 FROM target_group WHERE id = $1", id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s %s: %w", what, id, catalog.ErrNotFound)
	}
	return nil
}

// requireUpdate fails with an error wrapping catalog.ErrNotFound unless at
// least one revision of the update is imported.
func requireUpdate(ctx context.Context, t *tx, updateID uuid.UUID) error {
	ok, err := exists(ctx, t, "SELECT 1 FROM revision WHERE update_id = $1 LIMIT 1", updateID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("update %s: %w", updateID, catalog.ErrNotFound)
	}
	return nil
}

// CreateTargetGroup adds a group under an existing parent. The caller picks
// the ID; a top-level group has catalog.AllComputersGroupID as parent (only
// "All Computers" itself has none). Names are unique by
// catalog.GroupNameKey; a duplicate name or ID is an error wrapping
// catalog.ErrConflict, an unknown parent one wrapping catalog.ErrNotFound.
func (s *Store) CreateTargetGroup(ctx context.Context, g catalog.TargetGroup) error {
	op := fmt.Sprintf("create target group %q", g.Name)
	switch {
	case g.ID == uuid.Nil:
		return s.invalid(op, errors.New("no ID"))
	case strings.TrimSpace(g.Name) == "":
		return s.invalid(op, errors.New("empty name"))
	case g.ParentID == uuid.Nil:
		return s.invalid(op, errors.New("no parent (use catalog.AllComputersGroupID for a top-level group)"))
	}
	if err := catalog.CheckText("name", g.Name); err != nil {
		return s.invalid(op, err)
	}
	key := catalog.GroupNameKey(g.Name)
	return s.write(ctx, op, func(t *tx) error {
		if err := requireGroup(ctx, t, "parent group", g.ParentID); err != nil {
			return err
		}
		var id uuid.UUID
		var name string
		err := t.queryRow(ctx, "SELECT id, name FROM target_group WHERE id = $1 OR name_key = $2 ORDER BY id = $1 DESC LIMIT 1",
			g.ID, key).Scan(&id, &name)
		switch {
		case err == nil && id == g.ID:
			return catalog.MarkConflict(fmt.Errorf("group ID %s is taken by group %q", g.ID, name))
		case err == nil:
			return catalog.MarkConflict(fmt.Errorf("name is taken by group %q (%s)", name, id))
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		// A unique violation here means another process created it since
		// the check above; errorf marks it catalog.ErrConflict.
		_, err = t.exec(ctx, "INSERT INTO target_group (id, name, name_key, parent_id, is_builtin) VALUES ($1, $2, $3, $4, FALSE)",
			g.ID, g.Name, key, g.ParentID)
		if err != nil {
			return fmt.Errorf("group ID %s or name %q: %w", g.ID, g.Name, err)
		}
		return bumpChangeSequence(ctx, t)
	})
}

// SetApproval creates or replaces the approval of (UpdateID, GroupID) with a
// new deployment ID, ChangedAt defaulting to now (the shared clock), and
// returns it as stored (times to the engine's precision). ActionNotApproved
// removes the approval and returns a with ID 0; removing one that is not
// there changes nothing. The group and at least one revision of the update
// must exist (else the error wraps catalog.ErrNotFound). The update's state
// takes the approval's ChangedAt (on removal: now), creating the state if
// new.
func (s *Store) SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error) {
	op := fmt.Sprintf("set approval %s/%s", a.UpdateID, a.GroupID)
	switch a.Action {
	case catalog.ActionInstall, catalog.ActionOptionalInstall, catalog.ActionUninstall, catalog.ActionNotApproved:
	default:
		return catalog.Approval{}, s.invalid(op, fmt.Errorf("unknown action %q", a.Action))
	}
	if err := errors.Join(catalog.CheckTime("deadline", a.Deadline), catalog.CheckTime("ChangedAt", a.ChangedAt), catalog.CheckText("By", a.By)); err != nil {
		return catalog.Approval{}, s.invalid(op, err)
	}
	in := a
	in.Deadline, in.ChangedAt = s.truncate(a.Deadline), s.truncate(a.ChangedAt)
	err := s.write(ctx, op, func(t *tx) error {
		a = in
		a.ID = 0
		if err := requireGroup(ctx, t, "group", a.GroupID); err != nil {
			return err
		}
		if err := requireUpdate(ctx, t, a.UpdateID); err != nil {
			return err
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, "DELETE FROM approval WHERE update_id = $1 AND group_id = $2", a.UpdateID, a.GroupID)
		if err != nil {
			return err
		}
		if a.Action == catalog.ActionNotApproved {
			if gone, err := res.RowsAffected(); err != nil || gone == 0 {
				return err // nothing to remove, nothing changed
			}
			if err := touchUpdateState(ctx, t, a.UpdateID, now); err != nil {
				return err
			}
			return bumpChangeSequence(ctx, t)
		}
		if a.ChangedAt.IsZero() {
			a.ChangedAt = now
		}
		// A replaced approval is a new row: it draws a new deployment ID.
		var id int64
		err = t.queryRow(ctx, `INSERT INTO approval (update_id, group_id, action, deadline, changed_at, changed_by)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, a.UpdateID, a.GroupID, string(a.Action),
			s.d.Time(a.Deadline), s.d.Time(a.ChangedAt), a.By).Scan(&id)
		if err != nil {
			return err
		}
		if id <= 0 || id > math.MaxInt32 {
			return fmt.Errorf("deployment ID %d outside the int32 range", id)
		}
		a.ID = int32(id)
		if err := touchUpdateState(ctx, t, a.UpdateID, a.ChangedAt); err != nil {
			return err
		}
		return bumpChangeSequence(ctx, t)
	})
	if err != nil {
		return catalog.Approval{}, err
	}
	return a, nil
}

// touchUpdateState sets the ChangedAt of an update's state, creating the
// state (not declined) if the update has none yet.
func touchUpdateState(ctx context.Context, t *tx, updateID uuid.UUID, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO update_state (update_id, declined, changed_at) VALUES ($1, FALSE, $2)
		ON CONFLICT (update_id) DO UPDATE SET changed_at = excluded.changed_at`, updateID, t.s.d.Time(at))
	if err != nil {
		return fmt.Errorf("state of update %s: %w", updateID, err)
	}
	return nil
}

// Approvals returns every approval in force, ordered by deployment ID.
func (s *Store) Approvals(ctx context.Context) ([]catalog.Approval, error) {
	return readOne(ctx, s, "approvals", func(t *tx) ([]catalog.Approval, error) {
		var out []catalog.Approval
		err := t.query(ctx, `SELECT id, update_id, group_id, action, deadline, changed_at, changed_by
			FROM approval ORDER BY id`, nil, func(rows Row) error {
			var a catalog.Approval
			var action string
			if err := rows.Scan(num(&a.ID), uuidDest{&a.UpdateID}, uuidDest{&a.GroupID}, &action, timeDest{&a.Deadline},
				timeDest{&a.ChangedAt}, &a.By); err != nil {
				return err
			}
			a.Action = catalog.ApprovalAction(action)
			out = append(out, a)
			return nil
		})
		return out, err
	})
}

// SetDeclined declines (declined true) or un-declines an update of the
// catalog, setting its state's ChangedAt to now (the shared clock) and
// bumping the change sequence. Asking for the state the update is in
// already changes nothing; an update never declined counts as not declined.
// The update's approvals are kept. An update with no imported revision is
// an error wrapping catalog.ErrNotFound.
func (s *Store) SetDeclined(ctx context.Context, updateID uuid.UUID, declined bool) error {
	op := "decline update " + updateID.String()
	q := `INSERT INTO update_state (update_id, declined, changed_at) VALUES ($1, TRUE, $2)
		ON CONFLICT (update_id) DO UPDATE SET declined = TRUE, changed_at = excluded.changed_at
		WHERE update_state.declined = FALSE`
	if !declined {
		op = "un-decline update " + updateID.String()
		q = "UPDATE update_state SET declined = FALSE, changed_at = $2 WHERE update_id = $1 AND declined = TRUE"
	}
	return s.write(ctx, op, func(t *tx) error {
		if err := requireUpdate(ctx, t, updateID); err != nil {
			return err
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, q, updateID, s.d.Time(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // nothing changes
		}
		return bumpChangeSequence(ctx, t)
	})
}

// UpdateStates returns the state of every update an admin ever approved,
// unapproved, declined or un-declined, ordered by UpdateID.
func (s *Store) UpdateStates(ctx context.Context) ([]catalog.UpdateState, error) {
	return readOne(ctx, s, "update states", func(t *tx) ([]catalog.UpdateState, error) {
		var out []catalog.UpdateState
		err := t.query(ctx, "SELECT update_id, declined, changed_at FROM update_state ORDER BY update_id", nil,
			func(rows Row) error {
				var st catalog.UpdateState
				if err := rows.Scan(uuidDest{&st.UpdateID}, &st.Declined, timeDest{&st.ChangedAt}); err != nil {
					return err
				}
				out = append(out, st)
				return nil
			})
		return out, err
	})
}
