package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// orNow returns at in UTC, or the current time when at is zero.
func orNow(at time.Time) time.Time {
	if at.IsZero() {
		return nowUTC()
	}
	return at.UTC()
}

// RecordAuthorization creates the computer (not Registered, FirstSeen = at)
// or, if known, replaces its DNS name and requested groups, keeping the rest.
// A zero at means now.
func (s *Store) RecordAuthorization(ctx context.Context, clientID, dnsName string, groups []string, at time.Time) error {
	op := fmt.Sprintf("record authorization of %q", clientID)
	if clientID == "" {
		return errorf("sqlite: %s: empty client ID", op)
	}
	if err := catalog.CheckTime("time", at); err != nil {
		return errorf("sqlite: %s: %w", op, err)
	}
	gs, err := encStrings(groups)
	if err != nil {
		return errorf("sqlite: %s: %w", op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO computer (id, dns_name, requested_groups, registered,
			os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model,
			client_version, first_seen) VALUES (?, ?, ?, 0, 0, 0, 0, '', '', '', '', '', '', ?)
			ON CONFLICT (id) DO UPDATE SET dns_name = excluded.dns_name, requested_groups = excluded.requested_groups`,
			clientID, dnsName, gs, encTime(orNow(at)))
		return err
	})
}

// RegisterComputer stores the details RegisterComputer sent (DNS name, OS,
// architecture, make, model, client version) and marks the computer
// Registered, creating it if new with FirstSeen = c.FirstSeen or now. Its
// requested groups and timestamps are left alone.
func (s *Store) RegisterComputer(ctx context.Context, c catalog.Computer) error {
	op := fmt.Sprintf("register computer %q", c.ID)
	if c.ID == "" {
		return errorf("sqlite: %s: empty client ID", op)
	}
	if err := catalog.CheckTime("FirstSeen", c.FirstSeen); err != nil {
		return errorf("sqlite: %s: %w", op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO computer (id, dns_name, registered, os_major, os_minor,
			os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen)
			VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET dns_name = excluded.dns_name, registered = 1,
			os_major = excluded.os_major, os_minor = excluded.os_minor, os_build = excluded.os_build,
			os_description = excluded.os_description, os_locale = excluded.os_locale,
			architecture = excluded.architecture, manufacturer = excluded.manufacturer,
			model = excluded.model, client_version = excluded.client_version`,
			c.ID, c.DNSName, c.OSMajor, c.OSMinor, c.OSBuild, c.OSDescription, c.OSLocale,
			c.Architecture, c.Manufacturer, c.Model, c.ClientVersion, encTime(orNow(c.FirstSeen)))
		return err
	})
}

// SetComputerGroups replaces the target groups an admin assigned the
// computer to (server-side targeting). A group listed twice is assigned
// once; an empty list removes the computer from every group. An unknown
// computer or group is an error wrapping catalog.ErrNotFound, and then the
// old assignment stays. The scan engine keeps every assignment in its
// snapshot, so a change of assignment bumps the change sequence in the same
// transaction; the assignment the computer already has changes nothing.
func (s *Store) SetComputerGroups(ctx context.Context, clientID string, groups []uuid.UUID) error {
	op := fmt.Sprintf("set groups of %q", clientID)
	want := catalog.SortGroupIDs(groups)
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM computer WHERE id = ?", clientID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("computer %q: %w", clientID, catalog.ErrNotFound)
		}
		// Groups are checked in the order given, so the error names the
		// first unknown one.
		seen := make(map[uuid.UUID]bool, len(groups))
		for _, g := range groups {
			if seen[g] {
				continue
			}
			seen[g] = true
			if err := requireGroup(ctx, tx, g); err != nil {
				return err
			}
		}
		old, err := computerGroups(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if slices.Equal(old[clientID], want) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM computer_group WHERE client_id = ?", clientID); err != nil {
			return err
		}
		for _, g := range want {
			if _, err := tx.ExecContext(ctx, "INSERT INTO computer_group (client_id, group_id) VALUES (?, ?)",
				clientID, g.String()); err != nil {
				return fmt.Errorf("group %s: %w", g, err)
			}
		}
		return bumpChangeSequence(ctx, tx)
	})
}

// RecordSync sets the computer's LastSync (a zero at means now); an unknown
// computer is an error wrapping catalog.ErrNotFound.
func (s *Store) RecordSync(ctx context.Context, clientID string, at time.Time) error {
	op := fmt.Sprintf("record sync of %q", clientID)
	if err := catalog.CheckTime("time", at); err != nil {
		return errorf("sqlite: %s: %w", op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		return touchComputer(ctx, tx, clientID, "last_sync", orNow(at))
	})
}

// touchComputer sets one timestamp column of a computer, which must exist.
func touchComputer(ctx context.Context, tx *sql.Tx, clientID, column string, at time.Time) error {
	res, err := tx.ExecContext(ctx, "UPDATE computer SET "+column+" = ? WHERE id = ?", encTime(at), clientID)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("computer %q: %w", clientID, catalog.ErrNotFound)
	}
	return nil
}

const computerColumns = `id, dns_name, requested_groups, registered, os_major, os_minor, os_build,
	os_description, os_locale, architecture, manufacturer, model, client_version, first_seen,
	last_sync, last_report, last_status_time`

func scanComputer(row scanner) (catalog.Computer, error) {
	var c catalog.Computer
	var groups sql.NullString
	var times [4]sql.NullString
	if err := row.Scan(&c.ID, &c.DNSName, &groups, &c.Registered, &c.OSMajor, &c.OSMinor, &c.OSBuild,
		&c.OSDescription, &c.OSLocale, &c.Architecture, &c.Manufacturer, &c.Model, &c.ClientVersion,
		&times[0], &times[1], &times[2], &times[3]); err != nil {
		return catalog.Computer{}, err
	}
	var err error
	if c.RequestedGroups, err = decStrings(groups); err != nil {
		return catalog.Computer{}, err
	}
	for i, dst := range []*time.Time{&c.FirstSeen, &c.LastSync, &c.LastReport, &c.LastStatusTime} {
		if *dst, err = decTime(times[i]); err != nil {
			return catalog.Computer{}, err
		}
	}
	return c, nil
}

// computerGroups returns the assigned groups of one computer (clientID set)
// or of every computer (clientID empty), keyed by client ID, each list
// ordered by UUID string (stored UUIDs are canonical lower-case text).
func computerGroups(ctx context.Context, tx *sql.Tx, clientID string) (map[string][]uuid.UUID, error) {
	q, args := "SELECT client_id, group_id FROM computer_group ORDER BY client_id, group_id", []any(nil)
	if clientID != "" {
		q, args = "SELECT client_id, group_id FROM computer_group WHERE client_id = ? ORDER BY group_id", []any{clientID}
	}
	out := map[string][]uuid.UUID{}
	err := query(ctx, tx, q, args, func(rows *sql.Rows) error {
		var id, gid string
		if err := rows.Scan(&id, &gid); err != nil {
			return err
		}
		g, err := decUUID(gid)
		out[id] = append(out[id], g)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("computer groups: %w", err)
	}
	return out, nil
}

// Computer returns one computer by client ID (an error wrapping
// catalog.ErrNotFound if absent), with its assigned groups.
func (s *Store) Computer(ctx context.Context, clientID string) (catalog.Computer, error) {
	var c catalog.Computer
	err := s.read(ctx, fmt.Sprintf("computer %q", clientID), func(tx *sql.Tx) error {
		var err error
		c, err = scanComputer(tx.QueryRowContext(ctx, "SELECT "+computerColumns+" FROM computer WHERE id = ?", clientID))
		if errors.Is(err, sql.ErrNoRows) {
			return catalog.ErrNotFound
		}
		if err != nil {
			return err
		}
		groups, err := computerGroups(ctx, tx, clientID)
		c.Groups = groups[clientID]
		return err
	})
	if err != nil {
		return catalog.Computer{}, err
	}
	return c, nil
}

// Computers returns every computer with its assigned groups, ordered by DNS
// name (byte order), then ID.
func (s *Store) Computers(ctx context.Context) ([]catalog.Computer, error) {
	var out []catalog.Computer
	err := s.read(ctx, "computers", func(tx *sql.Tx) error {
		out = nil
		err := query(ctx, tx, "SELECT "+computerColumns+" FROM computer ORDER BY dns_name, id", nil,
			func(rows *sql.Rows) error {
				c, err := scanComputer(rows)
				out = append(out, c)
				return err
			})
		if err != nil {
			return err
		}
		groups, err := computerGroups(ctx, tx, "")
		if err != nil {
			return err
		}
		for i := range out {
			out[i].Groups = groups[out[i].ID]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ComputerGroupAssignments returns the assigned groups of every computer in
// one query, keyed by client ID, each list ordered by UUID string; computers
// in no group are absent.
func (s *Store) ComputerGroupAssignments(ctx context.Context) (map[string][]uuid.UUID, error) {
	var out map[string][]uuid.UUID
	err := s.read(ctx, "computer group assignments", func(tx *sql.Tx) error {
		var err error
		out, err = computerGroups(ctx, tx, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

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
		return 0, errorf("sqlite: %s: %w", op, err)
	}
	at := orNow(r.At)
	added := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		if err := touchComputer(ctx, tx, r.ClientID, "last_report", at); err != nil {
			return err
		}
		fresh, err := insertEvents(ctx, tx, r.ClientID, r.Events, at)
		if err != nil {
			return err
		}
		added = len(fresh)
		changes := r.ChangesOf(fresh)
		if len(changes) == 0 {
			return nil
		}
		if err := touchComputer(ctx, tx, r.ClientID, "last_status_time", at); err != nil {
			return err
		}
		for _, c := range changes {
			if err := applyStatuses(ctx, tx, r.ClientID, c.Statuses, c.Replace, at); err != nil {
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

// insertEvents inserts the events whose InstanceID is new and returns
// those InstanceIDs.
func insertEvents(ctx context.Context, tx *sql.Tx, clientID string, events []catalog.Event, at time.Time) (map[uuid.UUID]bool, error) {
	fresh := map[uuid.UUID]bool{}
	st, err := tx.PrepareContext(ctx, `INSERT INTO event (instance_id, client_id, event_id, source_id,
		time_at_target, update_id, revision_number, win32_hresult, app_name, replacement, misc_data, received)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id) DO NOTHING`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for _, e := range events {
		repl, err := encStrings(e.Replacement)
		if err != nil {
			return nil, err
		}
		misc, err := encStrings(e.MiscData)
		if err != nil {
			return nil, err
		}
		res, err := st.ExecContext(ctx, e.InstanceID.String(), clientID, e.EventID, e.SourceID,
			encTime(e.TimeAtTarget), e.UpdateID.String(), e.RevisionNumber, e.Win32HResult, e.AppName,
			repl, misc, encTime(at))
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", e.InstanceID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		if n > 0 {
			fresh[e.InstanceID] = true
		}
	}
	return fresh, nil
}

// CountEvents counts the events of one computer received at or after since.
func (s *Store) CountEvents(ctx context.Context, clientID string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM event WHERE client_id = ? AND received >= ?",
		clientID, encTime(since)).Scan(&n)
	if err != nil {
		return 0, errorf("sqlite: count events of %q: %w", clientID, err)
	}
	return n, nil
}

// Events returns the stored events of one computer, oldest TimeAtTarget
// first (ties in arrival order); none for an unknown computer.
func (s *Store) Events(ctx context.Context, clientID string) ([]catalog.Event, error) {
	var out []catalog.Event
	err := query(ctx, s.r, `SELECT instance_id, client_id, event_id, source_id, time_at_target, update_id,
		revision_number, win32_hresult, app_name, replacement, misc_data, received
		FROM event WHERE client_id = ? ORDER BY time_at_target, seq`, []any{clientID},
		func(rows *sql.Rows) error {
			var e catalog.Event
			var inst, uid string
			var tat, received, repl, misc sql.NullString
			if err := rows.Scan(&inst, &e.ClientID, &e.EventID, &e.SourceID, &tat, &uid, &e.RevisionNumber,
				&e.Win32HResult, &e.AppName, &repl, &misc, &received); err != nil {
				return err
			}
			var err error
			if e.InstanceID, err = decUUID(inst); err != nil {
				return err
			}
			if e.UpdateID, err = decUUID(uid); err != nil {
				return err
			}
			if e.TimeAtTarget, err = decTime(tat); err != nil {
				return err
			}
			if e.Received, err = decTime(received); err != nil {
				return err
			}
			if e.Replacement, err = decStrings(repl); err != nil {
				return err
			}
			if e.MiscData, err = decStrings(misc); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	if err != nil {
		return nil, errorf("sqlite: events of %q: %w", clientID, err)
	}
	return out, nil
}

// SetStatuses records per-update states of a known computer and sets its
// LastStatusTime to at (a zero at means now). A new or changed state gets
// ChangedAt = its ChangedAt, or at when zero; an unchanged one keeps the
// stored ChangedAt. With replace, the computer's states not listed are
// removed. When an update is listed twice the last entry wins.
func (s *Store) SetStatuses(ctx context.Context, clientID string, statuses []catalog.UpdateStatus, replace bool, at time.Time) error {
	op := fmt.Sprintf("set statuses of %q", clientID)
	if err := errors.Join(catalog.CheckTime("time", at), catalog.CheckStatuses(statuses)); err != nil {
		return errorf("sqlite: %s: %w", op, err)
	}
	at = orNow(at)
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if err := touchComputer(ctx, tx, clientID, "last_status_time", at); err != nil {
			return err
		}
		return applyStatuses(ctx, tx, clientID, statuses, replace, at)
	})
}

// applyStatuses writes checked statuses (see SetStatuses) in tx.
func applyStatuses(ctx context.Context, tx *sql.Tx, clientID string, statuses []catalog.UpdateStatus, replace bool, at time.Time) error {
	// The last entry per update wins.
	listed := map[uuid.UUID]catalog.UpdateStatus{}
	for _, st := range statuses {
		listed[st.UpdateID] = st
	}
	stored := map[uuid.UUID]catalog.InstallState{}
	err := query(ctx, tx, "SELECT update_id, state FROM update_status WHERE client_id = ?", []any{clientID},
		func(rows *sql.Rows) error {
			var uid string
			var state catalog.InstallState
			if err := rows.Scan(&uid, &state); err != nil {
				return err
			}
			u, err := decUUID(uid)
			stored[u] = state
			return err
		})
	if err != nil {
		return err
	}
	for id, st := range listed {
		if old, ok := stored[id]; ok && old == st.State {
			continue
		}
		changed := st.ChangedAt
		if changed.IsZero() {
			changed = at
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO update_status (client_id, update_id, state, changed_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (client_id, update_id) DO UPDATE SET state = excluded.state,
			changed_at = excluded.changed_at`, clientID, id.String(), int(st.State), encTime(changed))
		if err != nil {
			return fmt.Errorf("status of %s: %w", id, err)
		}
	}
	if !replace {
		return nil
	}
	for id := range stored {
		if _, ok := listed[id]; ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM update_status WHERE client_id = ? AND update_id = ?",
			clientID, id.String()); err != nil {
			return fmt.Errorf("remove status of %s: %w", id, err)
		}
	}
	return nil
}

// Statuses returns the per-update states of one computer, ordered by
// UpdateID; none for an unknown computer.
func (s *Store) Statuses(ctx context.Context, clientID string) ([]catalog.UpdateStatus, error) {
	var out []catalog.UpdateStatus
	err := query(ctx, s.r, `SELECT update_id, state, changed_at FROM update_status WHERE client_id = ?
		ORDER BY update_id`, []any{clientID}, func(rows *sql.Rows) error {
		st := catalog.UpdateStatus{ClientID: clientID}
		var uid string
		var changed sql.NullString
		if err := rows.Scan(&uid, &st.State, &changed); err != nil {
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
		return nil, errorf("sqlite: statuses of %q: %w", clientID, err)
	}
	return out, nil
}
