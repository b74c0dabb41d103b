package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// requireUpdate fails with an error wrapping catalog.ErrNotFound unless at
// least one revision of the update is imported.
func requireUpdate(ctx context.Context, tx *sql.Tx, updateID uuid.UUID) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM revision WHERE update_id = ? LIMIT 1)",
		updateID.String()).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("update %s: %w", updateID, catalog.ErrNotFound)
	}
	return nil
}

// touchUpdateState sets the ChangedAt of an update's state, creating the
// state (not declined) if the update has none yet.
func touchUpdateState(ctx context.Context, tx *sql.Tx, updateID uuid.UUID, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO update_state (update_id, declined, changed_at) VALUES (?, 0, ?)
		ON CONFLICT (update_id) DO UPDATE SET changed_at = excluded.changed_at`, updateID.String(), encTime(at))
	if err != nil {
		return fmt.Errorf("state of update %s: %w", updateID, err)
	}
	return nil
}

// SetDeclined declines (declined true) or un-declines an update of the
// catalog, setting its state's ChangedAt to now and bumping the change
// sequence. Asking for the state the update is in already changes nothing;
// an update never declined counts as not declined. The update's approvals
// are kept. An update with no imported revision is an error wrapping
// catalog.ErrNotFound.
func (s *Store) SetDeclined(ctx context.Context, updateID uuid.UUID, declined bool) error {
	op := "decline update " + updateID.String()
	if !declined {
		op = "un-decline update " + updateID.String()
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if err := requireUpdate(ctx, tx, updateID); err != nil {
			return err
		}
		var was bool
		err := tx.QueryRowContext(ctx, "SELECT declined FROM update_state WHERE update_id = ?", updateID.String()).Scan(&was)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if was == declined {
			return nil // nothing changes
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO update_state (update_id, declined, changed_at) VALUES (?, ?, ?)
			ON CONFLICT (update_id) DO UPDATE SET declined = excluded.declined, changed_at = excluded.changed_at`,
			updateID.String(), boolInt(declined), encTime(nowUTC()))
		if err != nil {
			return err
		}
		return bumpChangeSequence(ctx, tx)
	})
}

// UpdateStates returns the state of every update an admin ever approved,
// unapproved, declined or un-declined, ordered by UpdateID.
func (s *Store) UpdateStates(ctx context.Context) ([]catalog.UpdateState, error) {
	var out []catalog.UpdateState
	err := query(ctx, s.r, "SELECT update_id, declined, changed_at FROM update_state ORDER BY update_id", nil,
		func(rows *sql.Rows) error {
			var st catalog.UpdateState
			var uid string
			var changed sql.NullString
			if err := rows.Scan(&uid, &st.Declined, &changed); err != nil {
				return err
			}
			var err error
			if st.UpdateID, err = decUUID(uid); err != nil {
				return err
			}
			if st.ChangedAt, err = decTime(changed); err != nil {
				return err
			}
			out = append(out, st)
			return nil
		})
	if err != nil {
		return nil, errorf("sqlite: update states: %w", err)
	}
	return out, nil
}
