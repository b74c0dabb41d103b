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

// applyStatuses writes checked statuses (see SetStatuses) in t and keeps
// the compliance counts (update_compliance, the computer's *_count
// columns) in step: it reads the computer's stored states first, writes
// only what changes, and applies the difference to the counts
// (applyDeltas).
func applyStatuses(ctx context.Context, t *tx, clientID string, statuses []catalog.UpdateStatus, replace bool, at time.Time) error {
	// The last entry per update wins.
	last := make(map[uuid.UUID]int, len(statuses))
	for i, st := range statuses {
		last[st.UpdateID] = i
	}
	listed := make([]uuid.UUID, 0, len(last))
	for i, st := range statuses {
		if last[st.UpdateID] == i {
			listed = append(listed, st.UpdateID)
		}
	}
	old, err := storedStatuses(ctx, t, clientID, listed, replace)
	if err != nil {
		return err
	}
	d := newDeltas()
	var rows [][]any
	for _, u := range listed {
		st := statuses[last[u]]
		code := int32(0)
		prev, had := old[u]
		if st.State == catalog.StateFailed {
			code = st.ErrorCode
			if code == 0 && had && prev.state == catalog.StateFailed {
				code = prev.code // a status report listing it failed keeps the failure's code
			}
		}
		if had && prev.state == st.State && prev.code == code {
			continue // unchanged: keeps its row, and so its ChangedAt
		}
		changed := at
		if !st.ChangedAt.IsZero() {
			changed = t.s.truncate(st.ChangedAt)
		}
		rows = append(rows, []any{clientID, u, int(st.State), code, t.s.d.Time(changed)})
		if had {
			d.add(u, prev.state, -1)
		}
		d.add(u, st.State, 1)
	}
	// A state whose code alone changed keeps its ChangedAt.
	err = insertRows(ctx, t, "update_status", []string{"client_id", "update_id", "state", "error_code", "changed_at"}, rows,
		` ON CONFLICT (client_id, update_id) DO UPDATE SET state = excluded.state, error_code = excluded.error_code,
		changed_at = CASE WHEN update_status.state <> excluded.state THEN excluded.changed_at ELSE update_status.changed_at END`, nil)
	if err != nil {
		return err
	}
	if replace {
		var removed []uuid.UUID
		for u, prev := range old {
			if _, ok := last[u]; !ok {
				removed = append(removed, u)
				d.add(u, prev.state, -1)
			}
		}
		if len(removed) > 0 {
			if _, err := t.exec(ctx, "DELETE FROM update_status WHERE client_id = $1 AND update_id "+t.s.d.InList("$2", "uuid"),
				clientID, jsonList(removed)); err != nil {
				return fmt.Errorf("remove unlisted statuses: %w", err)
			}
		}
	}
	return applyDeltas(ctx, t, d, map[string]catalog.ComplianceCounts{clientID: d.computer})
}

// storedStatus is a computer's stored state of one update.
type storedStatus struct {
	state catalog.InstallState
	code  int32
}

// storedStatuses reads the computer's stored states: all of them when all
// is set, else those of the listed updates.
func storedStatuses(ctx context.Context, t *tx, clientID string, listed []uuid.UUID, all bool) (map[uuid.UUID]storedStatus, error) {
	q, args := "SELECT update_id, state, error_code FROM update_status WHERE client_id = $1", []any{clientID}
	if !all {
		if len(listed) == 0 {
			return nil, nil
		}
		q, args = q+" AND update_id "+t.s.d.InList("$2", "uuid"), append(args, jsonList(listed))
	}
	out := map[uuid.UUID]storedStatus{}
	err := t.query(ctx, q, args, func(rows Row) error {
		var u uuid.UUID
		var st storedStatus
		if err := rows.Scan(uuidDest{&u}, num(&st.state), num(&st.code)); err != nil {
			return err
		}
		out[u] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stored statuses: %w", err)
	}
	return out, nil
}

// Statuses returns the per-update states of one computer, ordered by
// UpdateID; none for an unknown computer.
func (s *Store) Statuses(ctx context.Context, clientID string) ([]catalog.UpdateStatus, error) {
	if !catalog.ValidClientID(clientID) {
		return nil, nil
	}
	return readOne(ctx, s, fmt.Sprintf("statuses of %q", clientID), func(t *tx) ([]catalog.UpdateStatus, error) {
		var out []catalog.UpdateStatus
		err := t.query(ctx, `SELECT update_id, state, error_code, changed_at FROM update_status WHERE client_id = $1
			ORDER BY update_id`, []any{clientID}, func(rows Row) error {
			st := catalog.UpdateStatus{ClientID: clientID}
			if err := rows.Scan(uuidDest{&st.UpdateID}, num(&st.State), num(&st.ErrorCode), timeDest{&st.ChangedAt}); err != nil {
				return err
			}
			out = append(out, st)
			return nil
		})
		return out, err
	})
}
