package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"wsus/catalog"
)

// This file is catalog.ConditionalWrites: the admin API's If-Match made
// atomic. Each write first takes the row's lock with an UPDATE that
// changes nothing, then compares the row with what the caller read, in the
// same transaction as the write. On PostgreSQL (READ COMMITTED) the UPDATE
// waits for a concurrent writer of the row to commit, and the statements
// after it see that writer's result; on SQLite the write transaction holds
// the file's one write lock from its start. Either way a second writer
// that read the same state finds it changed and fails with
// catalog.ErrPreconditionFailed, on one replica or on several.

var _ catalog.ConditionalWrites = (*Store)(nil)

// writeIf is write with the conditional writes' one prologue: check, when
// set, runs first in the transaction, and its error fails it before fn
// changes anything.
func (s *Store) writeIf(ctx context.Context, op string, check func(*tx) error, fn func(*tx) error) error {
	return s.write(ctx, op, func(t *tx) error {
		if check != nil {
			if err := check(t); err != nil {
				return err
			}
		}
		return fn(t)
	})
}

// groupIs locks the row of want's group and fails unless it is still named
// want.Name: catalog.ErrNotFound when the group is gone,
// catalog.ErrPreconditionFailed when it was renamed.
func groupIs(ctx context.Context, t *tx, want catalog.TargetGroup) error {
	res, err := t.exec(ctx, "UPDATE target_group SET name = name WHERE id = $1", want.ID)
	if err != nil {
		return fmt.Errorf("lock group %s: %w", want.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("lock group %s: %w", want.ID, err)
	} else if n == 0 {
		return fmt.Errorf("group %s: %w", want.ID, catalog.ErrNotFound)
	}
	var name string
	if err := t.queryRow(ctx, "SELECT name FROM target_group WHERE id = $1", want.ID).Scan(&name); err != nil {
		return fmt.Errorf("group %s: %w", want.ID, err)
	}
	if name != want.Name {
		return fmt.Errorf("group %s is named %q now, not %q: %w", want.ID, name, want.Name, catalog.ErrPreconditionFailed)
	}
	return nil
}

// RenameTargetGroupIf renames a group still named want.Name; see
// catalog.ConditionalWrites.
func (s *Store) RenameTargetGroupIf(ctx context.Context, want catalog.TargetGroup, name string) error {
	return s.renameTargetGroup(ctx, want.ID, name, func(t *tx) error { return groupIs(ctx, t, want) })
}

// DeleteTargetGroupIf deletes a group still named want.Name; see
// catalog.ConditionalWrites.
func (s *Store) DeleteTargetGroupIf(ctx context.Context, want catalog.TargetGroup) error {
	return s.deleteTargetGroup(ctx, want.ID, func(t *tx) error { return groupIs(ctx, t, want) })
}

// SetSyncSettingsIf replaces the settings if they are still want; see
// catalog.ConditionalWrites.
func (s *Store) SetSyncSettingsIf(ctx context.Context, want, st catalog.SyncSettings) error {
	const op = "set sync settings if unchanged"
	if err := checkSyncSettings(st); err != nil {
		return s.invalid(op, err)
	}
	st.ChangedAt = time.Time{} // the changed_at column keeps it
	b, err := json.Marshal(st)
	if err != nil {
		return s.invalid(op, err)
	}
	wantAt := want.ChangedAt
	want.ChangedAt = time.Time{}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		return s.invalid(op, err)
	}
	return s.write(ctx, op, func(t *tx) error {
		if _, err := t.exec(ctx, "UPDATE sync_settings SET id = id WHERE id = 1"); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var js sql.NullString
		var changed time.Time
		if err := t.queryRow(ctx, "SELECT settings, changed_at FROM sync_settings WHERE id = 1").Scan(&js, timeDest{&changed}); err != nil {
			return err
		}
		var cur catalog.SyncSettings
		if js.Valid {
			if err := json.Unmarshal([]byte(js.String), &cur); err != nil {
				return fmt.Errorf("stored settings: %w", err)
			}
		}
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		if !changed.Equal(wantAt) || !bytes.Equal(curJSON, wantJSON) {
			return fmt.Errorf("the settings changed at %s: %w", changed.Format(time.RFC3339Nano), catalog.ErrPreconditionFailed)
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE sync_settings SET settings = $1, changed_at = $2 WHERE id = 1", string(b), s.d.Time(now))
		return err
	})
}

// changedAtIs locks the row id of table (approval_rule, ring, or
// rules_settings with id 1) and fails
// unless it was last changed at want: catalog.ErrNotFound when it is gone,
// catalog.ErrPreconditionFailed when it changed since.
func changedAtIs(ctx context.Context, t *tx, table string, id any, want time.Time) error {
	res, err := t.exec(ctx, "UPDATE "+table+" SET changed_at = changed_at WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("lock %s %v: %w", table, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("lock %s %v: %w", table, id, err)
	} else if n == 0 {
		return fmt.Errorf("%s %v: %w", table, id, catalog.ErrNotFound)
	}
	var at time.Time
	if err := t.queryRow(ctx, "SELECT changed_at FROM "+table+" WHERE id = $1", id).Scan(timeDest{&at}); err != nil {
		return fmt.Errorf("%s %v: %w", table, id, err)
	}
	if !at.Equal(t.s.truncate(want)) {
		return fmt.Errorf("%s %v changed at %s, after the %s read: %w", table, id,
			at.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano), catalog.ErrPreconditionFailed)
	}
	return nil
}

// PutApprovalRuleIf replaces a rule still as want; see
// catalog.ConditionalWrites.
func (s *Store) PutApprovalRuleIf(ctx context.Context, want, r catalog.ApprovalRule) (catalog.ApprovalRule, error) {
	return s.putApprovalRule(ctx, r, func(t *tx) error { return changedAtIs(ctx, t, "approval_rule", want.ID, want.ChangedAt) })
}

// DeleteApprovalRuleIf deletes a rule still as want; see
// catalog.ConditionalWrites.
func (s *Store) DeleteApprovalRuleIf(ctx context.Context, want catalog.ApprovalRule) error {
	return s.deleteApprovalRule(ctx, want.ID, func(t *tx) error { return changedAtIs(ctx, t, "approval_rule", want.ID, want.ChangedAt) })
}

// PutRingIf replaces a ring still as want; see catalog.ConditionalWrites.
func (s *Store) PutRingIf(ctx context.Context, want, r catalog.Ring) (catalog.Ring, error) {
	return s.putRing(ctx, r, func(t *tx) error { return changedAtIs(ctx, t, "ring", want.ID, want.ChangedAt) })
}

// DeleteRingIf deletes a ring still as want; see catalog.ConditionalWrites.
func (s *Store) DeleteRingIf(ctx context.Context, want catalog.Ring) error {
	return s.deleteRing(ctx, want.ID, func(t *tx) error { return changedAtIs(ctx, t, "ring", want.ID, want.ChangedAt) })
}

// SetAutoDeclineIf replaces the automatic decline settings if they are
// still want; see catalog.ConditionalWrites.
func (s *Store) SetAutoDeclineIf(ctx context.Context, want, ad catalog.AutoDecline) (catalog.AutoDecline, error) {
	return s.setAutoDecline(ctx, ad, func(t *tx) error { return changedAtIs(ctx, t, "rules_settings", 1, want.ChangedAt) })
}
