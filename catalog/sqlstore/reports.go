package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// StoreEvents stores the events of a known computer in one transaction,
// skipping any whose InstanceID is stored already (in this batch too), sets
// the computer's LastReport, and returns how many were new. Each stored event
// has ClientID clientID and Received at; a zero at means now.
func (s *Store) StoreEvents(ctx context.Context, clientID string, events []catalog.Event, at time.Time) (int, error) {
	return s.StoreReport(ctx, catalog.Report{ClientID: clientID, Events: events, At: at})
}

// StoreReport stores a report's events and the status changes of the new
// ones in one transaction (see catalog.Store).
func (s *Store) StoreReport(ctx context.Context, r catalog.Report) (int, error) {
	op := fmt.Sprintf("store report of %q", r.ClientID)
	if err := r.Validate(); err != nil {
		return 0, s.invalid(op, err)
	}
	if !catalog.ValidClientID(r.ClientID) {
		return 0, s.unknownComputer(op, r.ClientID)
	}
	at := s.orNow(r.At)
	added := 0
	err := s.write(ctx, op, func(t *tx) error {
		if err := touchComputer(ctx, t, r.ClientID, "last_report", at); err != nil {
			return err
		}
		fresh, err := insertEvents(ctx, t, r.ClientID, r.Events, at)
		if err != nil {
			return err
		}
		added = len(fresh)
		changes := r.ChangesOf(fresh)
		if len(changes) == 0 {
			return nil
		}
		if err := touchComputer(ctx, t, r.ClientID, "last_status_time", at); err != nil {
			return err
		}
		for _, c := range changes {
			if err := applyStatuses(ctx, t, r.ClientID, c.Statuses, c.Replace, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// eventColumns are the columns of a stored event, in the order insertEvents
// writes them and Events reads them.
var eventColumns = []string{"instance_id", "client_id", "event_id", "source_id", "time_at_target", "update_id",
	"revision_number", "win32_hresult", "app_name", "replacement", "misc_data", "received"}

// insertEvents inserts the events whose InstanceID is new and returns
// those InstanceIDs.
func insertEvents(ctx context.Context, t *tx, clientID string, events []catalog.Event, at time.Time) (map[uuid.UUID]bool, error) {
	fresh := map[uuid.UUID]bool{}
	// One statement inserts each InstanceID once: a batch that lists one
	// twice keeps the first.
	var rows [][]any
	seen := map[uuid.UUID]bool{}
	for _, e := range events {
		if seen[e.InstanceID] {
			continue
		}
		seen[e.InstanceID] = true
		rows = append(rows, []any{e.InstanceID, clientID, e.EventID, e.SourceID, t.s.d.Time(e.TimeAtTarget),
			e.UpdateID, e.RevisionNumber, e.Win32HResult, e.AppName, encStrings(e.Replacement),
			encStrings(e.MiscData), t.s.d.Time(at)})
	}
	err := insertRows(ctx, t, "event", eventColumns, rows, " ON CONFLICT (instance_id) DO NOTHING RETURNING instance_id",
		func(row Row) error {
			var id uuid.UUID
			err := row.Scan(uuidDest{&id})
			fresh[id] = true
			return err
		})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// CountEvents counts the events of one computer received at or after since.
func (s *Store) CountEvents(ctx context.Context, clientID string, since time.Time) (int, error) {
	if !catalog.ValidClientID(clientID) {
		return 0, nil
	}
	if since.IsZero() {
		since = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) // the first time stored times can hold
	}
	var n int
	row, err := s.queryRow(ctx, "SELECT count(*) FROM event WHERE client_id = $1 AND received >= $2",
		clientID, s.d.Time(s.truncate(since)))
	if err == nil {
		err = row.Scan(&n)
	}
	if err != nil {
		return 0, s.errorf("count events of %q: %w", clientID, err)
	}
	return n, nil
}

// Events returns the stored events of one computer, oldest TimeAtTarget
// first (events without one first, ties in arrival order); none for an
// unknown computer.
func (s *Store) Events(ctx context.Context, clientID string) ([]catalog.Event, error) {
	if !catalog.ValidClientID(clientID) {
		return nil, nil
	}
	return readOne(ctx, s, fmt.Sprintf("events of %q", clientID), func(t *tx) ([]catalog.Event, error) {
		var out []catalog.Event
		err := t.query(ctx, `SELECT instance_id, client_id, event_id, source_id, time_at_target, update_id,
			revision_number, win32_hresult, app_name, replacement, misc_data, received
			FROM event WHERE client_id = $1 ORDER BY time_at_target NULLS FIRST, seq`, []any{clientID},
			func(rows Row) error {
				var e catalog.Event
				if err := rows.Scan(uuidDest{&e.InstanceID}, &e.ClientID, num(&e.EventID), num(&e.SourceID), timeDest{&e.TimeAtTarget},
					uuidDest{&e.UpdateID}, num(&e.RevisionNumber), num(&e.Win32HResult), &e.AppName, stringsDest(&e.Replacement),
					stringsDest(&e.MiscData), timeDest{&e.Received}); err != nil {
					return err
				}
				out = append(out, e)
				return nil
			})
		return out, err
	})
}

// SetStatuses records per-update states of a known computer and sets its
// LastStatusTime to at (a zero at means now). A new or changed state gets
// ChangedAt = its ChangedAt, or at when zero; an unchanged one keeps the
// stored ChangedAt. With replace, the computer's states not listed are
// removed. When an update is listed twice the last entry wins.
func (s *Store) SetStatuses(ctx context.Context, clientID string, statuses []catalog.UpdateStatus, replace bool, at time.Time) error {
	op := fmt.Sprintf("set statuses of %q", clientID)
	if err := errors.Join(catalog.CheckTime("time", at), catalog.CheckStatuses(statuses)); err != nil {
		return s.invalid(op, err)
	}
	if !catalog.ValidClientID(clientID) {
		return s.unknownComputer(op, clientID)
	}
	at = s.orNow(at)
	return s.write(ctx, op, func(t *tx) error {
		if err := touchComputer(ctx, t, clientID, "last_status_time", at); err != nil {
			return err
		}
		return applyStatuses(ctx, t, clientID, statuses, replace, at)
	})
}

// applyStatuses writes checked statuses (see SetStatuses) in t.
func applyStatuses(ctx context.Context, t *tx, clientID string, statuses []catalog.UpdateStatus, replace bool, at time.Time) error {
	// The last entry per update wins; one statement upserts each once.
	last := map[uuid.UUID]int{}
	for i, st := range statuses {
		last[st.UpdateID] = i
	}
	var rows [][]any
	listed := make([]uuid.UUID, 0, len(last))
	for i, st := range statuses {
		if last[st.UpdateID] != i {
			continue
		}
		changed := at
		if !st.ChangedAt.IsZero() {
			changed = t.s.truncate(st.ChangedAt)
		}
		rows = append(rows, []any{clientID, st.UpdateID, int(st.State), t.s.d.Time(changed)})
		listed = append(listed, st.UpdateID)
	}
	// A state listed unchanged keeps its row, and so its ChangedAt.
	err := insertRows(ctx, t, "update_status", []string{"client_id", "update_id", "state", "changed_at"}, rows,
		` ON CONFLICT (client_id, update_id) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at
		WHERE update_status.state <> excluded.state`, nil)
	if err != nil {
		return err
	}
	if !replace {
		return nil
	}
	if _, err := t.exec(ctx, "DELETE FROM update_status WHERE client_id = $1 AND NOT (update_id "+t.s.d.InList("$2", "uuid")+")",
		clientID, jsonList(listed)); err != nil {
		return fmt.Errorf("remove unlisted statuses: %w", err)
	}
	return nil
}

// Statuses returns the per-update states of one computer, ordered by
// UpdateID; none for an unknown computer.
func (s *Store) Statuses(ctx context.Context, clientID string) ([]catalog.UpdateStatus, error) {
	if !catalog.ValidClientID(clientID) {
		return nil, nil
	}
	return readOne(ctx, s, fmt.Sprintf("statuses of %q", clientID), func(t *tx) ([]catalog.UpdateStatus, error) {
		var out []catalog.UpdateStatus
		err := t.query(ctx, `SELECT update_id, state, changed_at FROM update_status WHERE client_id = $1
			ORDER BY update_id`, []any{clientID}, func(rows Row) error {
			st := catalog.UpdateStatus{ClientID: clientID}
			if err := rows.Scan(uuidDest{&st.UpdateID}, num(&st.State), timeDest{&st.ChangedAt}); err != nil {
				return err
			}
			out = append(out, st)
			return nil
		})
		return out, err
	})
}
