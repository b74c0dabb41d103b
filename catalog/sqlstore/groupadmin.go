package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"wsus/catalog"
)

// builtinGroup reads whether the group is built in; an unknown group is an
// error wrapping catalog.ErrNotFound.
func builtinGroup(ctx context.Context, t *tx, id uuid.UUID) (bool, error) {
	var builtin bool
	err := t.queryRow(ctx, "SELECT is_builtin FROM target_group WHERE id = $1", id).Scan(&builtin)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("group %s: %w", id, catalog.ErrNotFound)
	}
	return builtin, err
}

// RenameTargetGroup renames a group created by an admin; see
// catalog.GroupAdmin.
func (s *Store) RenameTargetGroup(ctx context.Context, id uuid.UUID, name string) error {
	return s.renameTargetGroup(ctx, id, name, nil)
}

// renameTargetGroup is RenameTargetGroup; check, when set, runs first in
// the transaction (conditional.go).
func (s *Store) renameTargetGroup(ctx context.Context, id uuid.UUID, name string, check func(t *tx) error) error {
	op := fmt.Sprintf("rename target group %s to %q", id, name)
	if strings.TrimSpace(name) == "" {
		return s.invalid(op, errors.New("empty name"))
	}
	if err := catalog.CheckText("name", name); err != nil {
		return s.invalid(op, err)
	}
	key := catalog.GroupNameKey(name)
	return s.writeIf(ctx, op, check, func(t *tx) error {
		builtin, err := builtinGroup(ctx, t, id)
		if err != nil {
			return err
		}
		if builtin {
			return catalog.MarkInvalid(errors.New("a built-in group cannot be renamed"))
		}
		var other uuid.UUID
		var otherName string
		err = t.queryRow(ctx, "SELECT id, name FROM target_group WHERE name_key = $1 AND id <> $2 LIMIT 1", key, id).Scan(&other, &otherName)
		switch {
		case err == nil:
			return catalog.MarkConflict(fmt.Errorf("name is taken by group %q (%s)", otherName, other))
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		res, err := t.exec(ctx, "UPDATE target_group SET name = $2, name_key = $3 WHERE id = $1 AND name <> $2", id, name, key)
		if err != nil {
			return fmt.Errorf("name %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // the name it has already
		}
		return bumpChangeSequence(ctx, t)
	})
}

// DeleteTargetGroup deletes a group created by an admin, with its
// approvals and assignments; see catalog.GroupAdmin.
func (s *Store) DeleteTargetGroup(ctx context.Context, id uuid.UUID) error {
	return s.deleteTargetGroup(ctx, id, nil)
}

// deleteTargetGroup is DeleteTargetGroup; check, when set, runs first in
// the transaction (conditional.go).
func (s *Store) deleteTargetGroup(ctx context.Context, id uuid.UUID, check func(t *tx) error) error {
	op := fmt.Sprintf("delete target group %s", id)
	return s.writeIf(ctx, op, check, func(t *tx) error {
		builtin, err := builtinGroup(ctx, t, id)
		if err != nil {
			return err
		}
		if builtin {
			return catalog.MarkInvalid(errors.New("a built-in group cannot be deleted"))
		}
		children, err := exists(ctx, t, "SELECT 1 FROM target_group WHERE parent_id = $1 LIMIT 1", id)
		if err != nil {
			return err
		}
		if children {
			return catalog.MarkConflict(errors.New("the group has child groups; delete them first"))
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		var updates []uuid.UUID
		err = t.query(ctx, "SELECT DISTINCT update_id FROM approval WHERE group_id = $1", []any{id}, func(rows Row) error {
			var u uuid.UUID
			if err := rows.Scan(uuidDest{&u}); err != nil {
				return err
			}
			updates = append(updates, u)
			return nil
		})
		if err != nil {
			return err
		}
		// A removed approval changes the update's deployment: clients see
		// it among their ChangedUpdates, as after SetApproval NotApproved.
		for _, u := range updates {
			if err := touchUpdateState(ctx, t, u, now); err != nil {
				return err
			}
		}
		for _, q := range []string{
			"DELETE FROM approval WHERE group_id = $1",
			"DELETE FROM computer_group WHERE group_id = $1",
			"DELETE FROM target_group WHERE id = $1",
		} {
			if _, err := t.exec(ctx, q, id); err != nil {
				return err
			}
		}
		return bumpChangeSequence(ctx, t)
	})
}

// DeleteComputers deletes computers with everything kept about them; see
// catalog.GroupAdmin. Their states leave the update counts
// (update_compliance) in the same transaction.
func (s *Store) DeleteComputers(ctx context.Context, clientIDs []string) ([]string, error) {
	op := fmt.Sprintf("delete %d computers", len(clientIDs))
	var deleted []string
	err := s.write(ctx, op, func(t *tx) error {
		deleted = nil
		assigned := false
		d := newDeltas() // the deleted computers' states leave the update counts
		seen := make(map[string]bool, len(clientIDs))
		for _, id := range clientIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			ok, err := exists(ctx, t, "SELECT 1 FROM computer WHERE id = $1", id)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			res, err := t.exec(ctx, "DELETE FROM computer_group WHERE client_id = $1", id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				assigned = true
			}
			old, err := storedStatuses(ctx, t, id, nil, true)
			if err != nil {
				return err
			}
			for u, st := range old {
				d.add(u, st.state, -1)
			}
			for _, q := range []string{
				"DELETE FROM event WHERE client_id = $1",
				"DELETE FROM update_status WHERE client_id = $1",
				"DELETE FROM computer WHERE id = $1",
			} {
				if _, err := t.exec(ctx, q, id); err != nil {
					return err
				}
			}
			deleted = append(deleted, id)
		}
		if err := applyDeltas(ctx, t, d, nil); err != nil {
			return err
		}
		if assigned {
			return bumpChangeSequence(ctx, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}
