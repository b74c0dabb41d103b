package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file is catalog.RuleStore (see catalog/rules.go) on the tables of
// migration 0105_rules. Rules and rings are kept as the JSON of their
// catalog types (their JSON tags are the persisted form), with the columns
// uniqueness and order need beside them; a ring's run-time state is a
// column of its own, so that an admin's edit and a run's pause never
// overwrite each other.

var _ catalog.RuleStore = (*Store)(nil)

// ApprovalRules returns every rule, by name.
func (s *Store) ApprovalRules(ctx context.Context) ([]catalog.ApprovalRule, error) {
	return readOne(ctx, s, "approval rules", func(t *tx) ([]catalog.ApprovalRule, error) {
		var out []catalog.ApprovalRule
		err := t.query(ctx, "SELECT body, changed_at FROM approval_rule ORDER BY name_key, id", nil, func(row Row) error {
			var body string
			var r catalog.ApprovalRule
			var at time.Time
			if err := row.Scan(&body, timeDest{&at}); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				return fmt.Errorf("stored rule: %w", err)
			}
			r.ChangedAt = at
			out = append(out, r)
			return nil
		})
		return out, err
	})
}

// PutApprovalRule creates or replaces a rule (see catalog.RuleStore).
func (s *Store) PutApprovalRule(ctx context.Context, r catalog.ApprovalRule) (catalog.ApprovalRule, error) {
	return s.putApprovalRule(ctx, r, nil)
}

// putApprovalRule is PutApprovalRule; check, when set, runs first in the
// write's transaction and fails it (conditional.go).
func (s *Store) putApprovalRule(ctx context.Context, r catalog.ApprovalRule, check func(*tx) error) (catalog.ApprovalRule, error) {
	op := "put approval rule " + r.ID.String()
	if err := r.Validate(); err != nil {
		return r, s.invalid(op, err)
	}
	r.Products, r.Classifications, r.Groups = nonNilIDs(r.Products), nonNilIDs(r.Classifications), nonNilIDs(r.Groups)
	err := s.writeIf(ctx, op, check, func(t *tx) error {
		key := strings.ToLower(r.Name)
		var other uuid.UUID
		switch err := t.queryRow(ctx, "SELECT id FROM approval_rule WHERE name_key = $1", key).Scan(uuidDest{&other}); {
		case err == nil && other != r.ID:
			return catalog.MarkConflict(fmt.Errorf("name %q is taken by rule %s", r.Name, other))
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		r.ChangedAt = now
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, "UPDATE approval_rule SET name_key = $2, body = $3, changed_at = $4 WHERE id = $1",
			r.ID, key, string(body), s.d.Time(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = t.exec(ctx, "INSERT INTO approval_rule (id, name_key, body, changed_at) VALUES ($1, $2, $3, $4)",
			r.ID, key, string(body), s.d.Time(now))
		return err
	})
	return r, err
}

// DeleteApprovalRule deletes a rule and its rings.
func (s *Store) DeleteApprovalRule(ctx context.Context, id uuid.UUID) error {
	return s.deleteApprovalRule(ctx, id, nil)
}

// deleteApprovalRule is DeleteApprovalRule; check as in putApprovalRule.
func (s *Store) deleteApprovalRule(ctx context.Context, id uuid.UUID, check func(*tx) error) error {
	return s.writeIf(ctx, "delete approval rule "+id.String(), check, func(t *tx) error {
		res, err := t.exec(ctx, "DELETE FROM approval_rule WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return catalog.ErrNotFound
		}
		_, err = t.exec(ctx, "DELETE FROM ring WHERE rule_id = $1", id)
		return err
	})
}

func nonNilIDs(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}

func scanRing(row Row) (catalog.Ring, error) {
	var body, state string
	var at time.Time
	var r catalog.Ring
	if err := row.Scan(&body, &state, timeDest{&at}); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return r, fmt.Errorf("stored ring: %w", err)
	}
	r.State = catalog.RingState{}
	if err := json.Unmarshal([]byte(state), &r.State); err != nil {
		return r, fmt.Errorf("stored ring state: %w", err)
	}
	r.ChangedAt = at
	return r, nil
}

// Rings returns every ring, by rule then position.
func (s *Store) Rings(ctx context.Context) ([]catalog.Ring, error) {
	return readOne(ctx, s, "rings", func(t *tx) ([]catalog.Ring, error) {
		var out []catalog.Ring
		err := t.query(ctx, "SELECT body, state, changed_at FROM ring ORDER BY rule_id, position, id", nil, func(row Row) error {
			r, err := scanRing(row)
			out = append(out, r)
			return err
		})
		return out, err
	})
}

// PutRing creates or replaces a ring, keeping its stored state.
func (s *Store) PutRing(ctx context.Context, r catalog.Ring) (catalog.Ring, error) {
	return s.putRing(ctx, r, nil)
}

// putRing is PutRing; check as in putApprovalRule.
func (s *Store) putRing(ctx context.Context, r catalog.Ring, check func(*tx) error) (catalog.Ring, error) {
	op := "put ring " + r.ID.String()
	if err := r.Validate(); err != nil {
		return r, s.invalid(op, err)
	}
	err := s.writeIf(ctx, op, check, func(t *tx) error {
		var n int
		if err := t.queryRow(ctx, "SELECT count(*) FROM approval_rule WHERE id = $1", r.RuleID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("rule %s: %w", r.RuleID, catalog.ErrNotFound)
		}
		key := strings.ToLower(r.Name)
		var other uuid.UUID
		switch err := t.queryRow(ctx, "SELECT id FROM ring WHERE name_key = $1", key).Scan(uuidDest{&other}); {
		case err == nil && other != r.ID:
			return catalog.MarkConflict(fmt.Errorf("name %q is taken by ring %s", r.Name, other))
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		switch err := t.queryRow(ctx, "SELECT id FROM ring WHERE rule_id = $1 AND position = $2", r.RuleID, r.Position).Scan(uuidDest{&other}); {
		case err == nil && other != r.ID:
			return catalog.MarkConflict(fmt.Errorf("position %d of rule %s is taken by ring %s", r.Position, r.RuleID, other))
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		state := "{}"
		switch err := t.queryRow(ctx, "SELECT state FROM ring WHERE id = $1", r.ID).Scan(&state); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		}
		r.State = catalog.RingState{}
		if err := json.Unmarshal([]byte(state), &r.State); err != nil {
			return fmt.Errorf("stored ring state: %w", err)
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		r.ChangedAt = now
		stored := r
		stored.State = catalog.RingState{}
		body, err := json.Marshal(stored)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, "UPDATE ring SET rule_id = $2, name_key = $3, position = $4, body = $5, changed_at = $6 WHERE id = $1",
			r.ID, r.RuleID, key, r.Position, string(body), s.d.Time(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = t.exec(ctx, "INSERT INTO ring (id, rule_id, name_key, position, body, state, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			r.ID, r.RuleID, key, r.Position, string(body), state, s.d.Time(now))
		return err
	})
	return r, err
}

// DeleteRing deletes a ring.
func (s *Store) DeleteRing(ctx context.Context, id uuid.UUID) error {
	return s.deleteRing(ctx, id, nil)
}

// deleteRing is DeleteRing; check as in putApprovalRule.
func (s *Store) deleteRing(ctx context.Context, id uuid.UUID, check func(*tx) error) error {
	return s.writeIf(ctx, "delete ring "+id.String(), check, func(t *tx) error {
		res, err := t.exec(ctx, "DELETE FROM ring WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return catalog.ErrNotFound
		}
		return nil
	})
}

// ringForUpdate reads a ring in t, locking its row where the engine can.
func ringForUpdate(ctx context.Context, t *tx, id uuid.UUID) (catalog.Ring, error) {
	r, err := scanRing(t.queryRow(ctx, "SELECT body, state, changed_at FROM ring WHERE id = $1"+t.s.d.ForUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("ring %s: %w", id, catalog.ErrNotFound)
	}
	return r, err
}

func setRingState(ctx context.Context, t *tx, id uuid.UUID, st catalog.RingState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, "UPDATE ring SET state = $2 WHERE id = $1", id, string(b))
	return err
}

// PauseRing pauses a running ring (see catalog.RuleStore).
func (s *Store) PauseRing(ctx context.Context, id uuid.UUID, reason string, update uuid.UUID) (bool, error) {
	op := "pause ring " + id.String()
	if err := catalog.CheckText("reason", reason); err != nil || strings.TrimSpace(reason) == "" {
		return false, s.invalid(op, errors.Join(err, errors.New("a pause needs a reason")))
	}
	var paused bool
	err := s.write(ctx, op, func(t *tx) error {
		paused = false
		r, err := ringForUpdate(ctx, t, id)
		if err != nil || r.State.Paused != "" {
			return err
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		r.State.Paused, r.State.PausedAt, r.State.PausedUpdate = reason, now, update
		paused = true
		return setRingState(ctx, t, id, r.State)
	})
	return paused, err
}

// ResumeRing clears a ring's pause and accepts the failures that caused
// it.
func (s *Store) ResumeRing(ctx context.Context, id uuid.UUID) (catalog.Ring, error) {
	var before catalog.Ring
	err := s.write(ctx, "resume ring "+id.String(), func(t *tx) error {
		r, err := ringForUpdate(ctx, t, id)
		if err != nil {
			return err
		}
		before = r
		st := r.State
		st.Accepted = slices.Clone(st.Accepted)
		if st.PausedUpdate != uuid.Nil && !slices.Contains(st.Accepted, st.PausedUpdate) {
			st.Accepted = append(st.Accepted, st.PausedUpdate)
		}
		st.Paused, st.PausedAt, st.PausedUpdate = "", time.Time{}, uuid.Nil
		return setRingState(ctx, t, id, st)
	})
	return before, err
}

// AutoDecline returns the automatic decline settings.
func (s *Store) AutoDecline(ctx context.Context) (catalog.AutoDecline, error) {
	return readOne(ctx, s, "autodecline settings", func(t *tx) (catalog.AutoDecline, error) {
		var body string
		var at time.Time
		var out catalog.AutoDecline
		if err := t.queryRow(ctx, "SELECT autodecline, changed_at FROM rules_settings WHERE id = 1").Scan(&body, timeDest{&at}); err != nil {
			return out, err
		}
		if body != "" {
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				return out, fmt.Errorf("stored settings: %w", err)
			}
		}
		out.ChangedAt = at
		return out, nil
	})
}

// SetAutoDecline replaces the automatic decline settings.
func (s *Store) SetAutoDecline(ctx context.Context, ad catalog.AutoDecline) (catalog.AutoDecline, error) {
	return s.setAutoDecline(ctx, ad, nil)
}

// setAutoDecline is SetAutoDecline; check as in putApprovalRule.
func (s *Store) setAutoDecline(ctx context.Context, ad catalog.AutoDecline, check func(*tx) error) (catalog.AutoDecline, error) {
	const op = "set autodecline settings"
	if err := ad.Validate(); err != nil {
		return ad, s.invalid(op, err)
	}
	err := s.writeIf(ctx, op, check, func(t *tx) error {
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		ad.ChangedAt = now
		b, err := json.Marshal(ad)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE rules_settings SET autodecline = $1, changed_at = $2 WHERE id = 1", string(b), s.d.Time(now))
		return err
	})
	return ad, err
}

// RuleActions returns every recorded automatic action.
func (s *Store) RuleActions(ctx context.Context) ([]catalog.RuleAction, error) {
	return readOne(ctx, s, "rule actions", func(t *tx) ([]catalog.RuleAction, error) {
		var out []catalog.RuleAction
		err := t.query(ctx, "SELECT source, update_id, group_id, action, at FROM rule_action ORDER BY at, source, update_id, group_id", nil, func(row Row) error {
			var a catalog.RuleAction
			err := row.Scan(&a.Source, uuidDest{&a.UpdateID}, uuidDest{&a.GroupID}, &a.Action, timeDest{&a.At})
			out = append(out, a)
			return err
		})
		return out, err
	})
}

// RecordRuleActions stores actions, keeping those already recorded.
func (s *Store) RecordRuleActions(ctx context.Context, actions []catalog.RuleAction) error {
	const op = "record rule actions"
	var errs []error
	for _, a := range actions {
		errs = append(errs, catalog.CheckText("source", a.Source), catalog.CheckText("action", a.Action))
		if a.Source == "" || a.Action == "" || a.UpdateID == uuid.Nil {
			errs = append(errs, errors.New("an action needs a source, an action and an update"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return s.invalid(op, err)
	}
	if len(actions) == 0 {
		return nil
	}
	return s.write(ctx, op, func(t *tx) error {
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		for _, a := range actions {
			at := a.At
			if at.IsZero() {
				at = now
			}
			var n int
			if err := t.queryRow(ctx, "SELECT count(*) FROM rule_action WHERE source = $1 AND update_id = $2 AND group_id = $3",
				a.Source, a.UpdateID, a.GroupID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if _, err := t.exec(ctx, "INSERT INTO rule_action (source, update_id, group_id, action, at) VALUES ($1, $2, $3, $4, $5)",
				a.Source, a.UpdateID, a.GroupID, a.Action, s.d.Time(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// AcquireRulesLease takes the lease of rule runs (see catalog.RuleStore):
// the settings row is read locked where the engine has row locks (SQLite
// has one writer), so two acquirers never both see it free.
func (s *Store) AcquireRulesLease(ctx context.Context, holder string, ttl time.Duration) (bool, error) {
	const op = "acquire rules lease"
	if holder == "" || ttl <= 0 {
		return false, s.invalid(op, errors.New("a lease needs a holder and a positive duration"))
	}
	if err := catalog.CheckText("holder", holder); err != nil {
		return false, s.invalid(op, err)
	}
	var got bool
	err := s.write(ctx, op, func(t *tx) error {
		got = false
		var cur string
		var expires time.Time
		if err := t.queryRow(ctx, "SELECT lease_holder, lease_expires FROM rules_settings WHERE id = 1"+s.d.ForUpdate()).Scan(&cur, timeDest{&expires}); err != nil {
			return err
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		if cur != "" && cur != holder && now.Before(expires) {
			return nil
		}
		got = true
		_, err = t.exec(ctx, "UPDATE rules_settings SET lease_holder = $1, lease_expires = $2 WHERE id = 1", holder, s.d.Time(now.Add(ttl)))
		return err
	})
	return got, err
}

// ReleaseRulesLease frees the lease if holder holds it.
func (s *Store) ReleaseRulesLease(ctx context.Context, holder string) error {
	return s.write(ctx, "release rules lease", func(t *tx) error {
		_, err := t.exec(ctx, "UPDATE rules_settings SET lease_holder = '', lease_expires = NULL WHERE id = 1 AND lease_holder = $1", holder)
		return err
	})
}
