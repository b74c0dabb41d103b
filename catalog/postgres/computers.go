package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wsus/catalog"
)

// orNow returns at to the microsecond in UTC, or the current time when at is
// zero.
func orNow(at time.Time) time.Time {
	if at.IsZero() {
		return nowUTC()
	}
	return at.UTC().Truncate(time.Microsecond)
}

// RecordAuthorization creates the computer (not Registered, FirstSeen = at)
// or, if known, replaces its DNS name and requested groups, keeping the rest.
// A zero at means now.
func (s *Store) RecordAuthorization(ctx context.Context, clientID, dnsName string, groups []string, at time.Time) error {
	op := fmt.Sprintf("record authorization of %q", clientID)
	if clientID == "" {
		return errorf("postgres: %s: empty client ID", op)
	}
	if err := errors.Join(catalog.CheckTime("time", at), catalog.CheckText("client ID", clientID), catalog.CheckText("DNS name", dnsName)); err != nil {
		return errorf("postgres: %s: %w", op, err)
	}
	for i, g := range groups {
		if err := catalog.CheckText(fmt.Sprintf("group %d", i), g); err != nil {
			return errorf("postgres: %s: %w", op, err)
		}
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO computer (id, dns_name, requested_groups, registered,
			os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model,
			client_version, first_seen) VALUES ($1, $2, $3, false, 0, 0, 0, '', '', '', '', '', '', $4)
			ON CONFLICT (id) DO UPDATE SET dns_name = excluded.dns_name, requested_groups = excluded.requested_groups`,
			clientID, dnsName, encStrings(groups), orNow(at))
		return err
	})
}

// RegisterComputer stores the details RegisterComputer sent (DNS name, OS,
// architecture, make, model, client version) and marks the computer
// Registered, creating it if new with FirstSeen = c.FirstSeen or now. Its
// requested groups, assigned groups and timestamps are left alone.
func (s *Store) RegisterComputer(ctx context.Context, c catalog.Computer) error {
	op := fmt.Sprintf("register computer %q", c.ID)
	if c.ID == "" {
		return errorf("postgres: %s: empty client ID", op)
	}
	err := errors.Join(catalog.CheckTime("FirstSeen", c.FirstSeen), catalog.CheckText("client ID", c.ID), catalog.CheckText("DNS name", c.DNSName),
		catalog.CheckText("OS description", c.OSDescription), catalog.CheckText("OS locale", c.OSLocale),
		catalog.CheckText("architecture", c.Architecture), catalog.CheckText("manufacturer", c.Manufacturer),
		catalog.CheckText("model", c.Model), catalog.CheckText("client version", c.ClientVersion))
	if err != nil {
		return errorf("postgres: %s: %w", op, err)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO computer (id, dns_name, registered, os_major, os_minor,
			os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen)
			VALUES ($1, $2, true, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO UPDATE SET dns_name = excluded.dns_name, registered = true,
			os_major = excluded.os_major, os_minor = excluded.os_minor, os_build = excluded.os_build,
			os_description = excluded.os_description, os_locale = excluded.os_locale,
			architecture = excluded.architecture, manufacturer = excluded.manufacturer,
			model = excluded.model, client_version = excluded.client_version`,
			c.ID, c.DNSName, int32(c.OSMajor), int32(c.OSMinor), int32(c.OSBuild), c.OSDescription, c.OSLocale,
			c.Architecture, c.Manufacturer, c.Model, c.ClientVersion, orNow(c.FirstSeen))
		return err
	})
}

// SetComputerGroups assigns a known computer to existing target groups,
// replacing its previous assignment; an empty list removes it from every
// group, and a group listed twice counts once. An unknown computer or group
// is an error wrapping catalog.ErrNotFound, and changes nothing. The scan
// engine keeps every assignment in its snapshot, so a change of assignment
// bumps the change sequence in the same transaction; the assignment the
// computer already has changes nothing.
func (s *Store) SetComputerGroups(ctx context.Context, clientID string, groups []uuid.UUID) error {
	op := fmt.Sprintf("set groups of %q", clientID)
	ids := encUUIDs(groups)
	want := catalog.SortGroupIDs(groups)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		// The computer's row lock orders concurrent assignments of one
		// computer, so the comparison below sees the one committed last.
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM computer WHERE id = $1 FOR UPDATE", clientID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("computer %q: %w", clientID, catalog.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var missing *[16]byte
		err = tx.QueryRow(ctx, `SELECT g FROM unnest($1::uuid[]) WITH ORDINALITY AS l (g, n)
			WHERE NOT EXISTS (SELECT FROM target_group t WHERE t.id = l.g) ORDER BY n LIMIT 1`, ids).Scan(&missing)
		if err == nil {
			return fmt.Errorf("group %s: %w", uuid.UUID(*missing), catalog.ErrNotFound)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var old []uuid.UUID
		err = queryEach(ctx, tx, "SELECT group_id FROM computer_group WHERE computer_id = $1 ORDER BY group_id",
			[]any{clientID}, func(rows pgx.Rows) error {
				var g [16]byte
				if err := rows.Scan(&g); err != nil {
					return err
				}
				old = append(old, g)
				return nil
			})
		if err != nil {
			return err
		}
		if slices.Equal(old, want) {
			return nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM computer_group WHERE computer_id = $1", clientID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO computer_group (computer_id, group_id)
			SELECT DISTINCT $1::text, g FROM unnest($2::uuid[]) AS l (g)`, clientID, ids); err != nil {
			return err
		}
		return bumpChangeSequence(ctx, tx)
	})
}

// RecordSync sets the computer's LastSync (a zero at means now); an unknown
// computer is an error wrapping catalog.ErrNotFound.
func (s *Store) RecordSync(ctx context.Context, clientID string, at time.Time) error {
	op := fmt.Sprintf("record sync of %q", clientID)
	if err := catalog.CheckTime("time", at); err != nil {
		return errorf("postgres: %s: %w", op, err)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		return touchComputer(ctx, tx, clientID, "last_sync", orNow(at))
	})
}

// touchComputer sets one timestamp column of a computer, which must exist.
// The row lock it takes orders concurrent reports of one computer.
func touchComputer(ctx context.Context, tx pgx.Tx, clientID, column string, at time.Time) error {
	tag, err := tx.Exec(ctx, "UPDATE computer SET "+column+" = $1 WHERE id = $2", at, clientID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("computer %q: %w", clientID, catalog.ErrNotFound)
	}
	return nil
}

// computerColumns are the columns scanComputer reads; the assigned groups
// come ordered by ID.
const computerColumns = `c.id, c.dns_name, c.requested_groups, c.registered, c.os_major, c.os_minor, c.os_build,
	c.os_description, c.os_locale, c.architecture, c.manufacturer, c.model, c.client_version, c.first_seen,
	c.last_sync, c.last_report, c.last_status_time,
	ARRAY(SELECT g.group_id FROM computer_group g WHERE g.computer_id = c.id ORDER BY g.group_id)`

func scanComputer(row pgx.Row) (catalog.Computer, error) {
	var c catalog.Computer
	var osMajor, osMinor, osBuild int32
	var groups [][16]byte
	var times [3]*time.Time
	if err := row.Scan(&c.ID, &c.DNSName, &c.RequestedGroups, &c.Registered, &osMajor, &osMinor, &osBuild,
		&c.OSDescription, &c.OSLocale, &c.Architecture, &c.Manufacturer, &c.Model, &c.ClientVersion,
		&c.FirstSeen, &times[0], &times[1], &times[2], &groups); err != nil {
		return catalog.Computer{}, err
	}
	c.OSMajor, c.OSMinor, c.OSBuild = int(osMajor), int(osMinor), int(osBuild)
	c.RequestedGroups = decStrings(c.RequestedGroups)
	c.FirstSeen = c.FirstSeen.UTC()
	c.LastSync, c.LastReport, c.LastStatusTime = decTime(times[0]), decTime(times[1]), decTime(times[2])
	for _, g := range groups {
		c.Groups = append(c.Groups, g)
	}
	return c, nil
}

// Computer returns one computer by client ID (an error wrapping
// catalog.ErrNotFound if absent).
func (s *Store) Computer(ctx context.Context, clientID string) (catalog.Computer, error) {
	c, err := scanComputer(s.pool.QueryRow(ctx, "SELECT "+computerColumns+" FROM computer c WHERE c.id = $1", clientID))
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.Computer{}, errorf("postgres: computer %q: %w", clientID, catalog.ErrNotFound)
	}
	if err != nil {
		return catalog.Computer{}, errorf("postgres: computer %q: %w", clientID, err)
	}
	return c, nil
}

// Computers returns every computer, ordered by DNS name (byte order), then ID.
func (s *Store) Computers(ctx context.Context) ([]catalog.Computer, error) {
	var out []catalog.Computer
	err := queryEach(ctx, s.pool, "SELECT "+computerColumns+` FROM computer c ORDER BY c.dns_name COLLATE "C", c.id COLLATE "C"`, nil,
		func(rows pgx.Rows) error {
			c, err := scanComputer(rows)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, errorf("postgres: computers: %w", err)
	}
	return out, nil
}

// ComputerGroupAssignments returns the assigned groups of every computer in
// one query, keyed by client ID, each list ordered by group ID (as
// Computer.Groups is); computers in no group are absent.
func (s *Store) ComputerGroupAssignments(ctx context.Context) (map[string][]uuid.UUID, error) {
	out := map[string][]uuid.UUID{}
	err := queryEach(ctx, s.pool, "SELECT computer_id, group_id FROM computer_group ORDER BY computer_id, group_id", nil,
		func(rows pgx.Rows) error {
			var id string
			var g [16]byte
			if err := rows.Scan(&id, &g); err != nil {
				return err
			}
			out[id] = append(out[id], g)
			return nil
		})
	if err != nil {
		return nil, errorf("postgres: computer group assignments: %w", err)
	}
	return out, nil
}

// StoreEvents stores the events of a known computer in one transaction,
// skipping any whose InstanceID is stored already (in this batch too, or by
// another replica at the same time), sets the computer's LastReport, and
// returns how many were new. Each stored event has ClientID clientID and
// Received at; a zero at means now.
func (s *Store) StoreEvents(ctx context.Context, clientID string, events []catalog.Event, at time.Time) (int, error) {
	return s.StoreReport(ctx, catalog.Report{ClientID: clientID, Events: events, At: at})
}

// StoreReport stores a report's events and the status changes of the new
// ones in one transaction (see catalog.Store).
func (s *Store) StoreReport(ctx context.Context, r catalog.Report) (int, error) {
	op := fmt.Sprintf("store report of %q", r.ClientID)
	if err := r.Validate(); err != nil {
		return 0, errorf("postgres: %s: %w", op, err)
	}
	at := orNow(r.At)
	added := 0
	err := s.write(ctx, op, func(tx pgx.Tx) error {
		// The computer's row lock orders concurrent reports of one computer.
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
func insertEvents(ctx context.Context, tx pgx.Tx, clientID string, events []catalog.Event, at time.Time) (map[uuid.UUID]bool, error) {
	fresh := map[uuid.UUID]bool{}
	if len(events) == 0 {
		return fresh, nil
	}
	b := &pgx.Batch{}
	for _, e := range events {
		b.Queue(`INSERT INTO event (instance_id, client_id, event_id, source_id, time_at_target, update_id,
			revision_number, win32_hresult, app_name, replacement, misc_data, received)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (instance_id) DO NOTHING`,
			encUUID(e.InstanceID), clientID, int32(e.EventID), int32(e.SourceID), encTime(e.TimeAtTarget),
			encUUID(e.UpdateID), e.RevisionNumber, e.Win32HResult, e.AppName, encStrings(e.Replacement),
			encStrings(e.MiscData), at)
	}
	br := tx.SendBatch(ctx, b)
	for _, e := range events {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("event %s: %w", e.InstanceID, err)
		}
		if tag.RowsAffected() > 0 {
			fresh[e.InstanceID] = true
		}
	}
	return fresh, br.Close()
}

// CountEvents counts the events of one computer received at or after since.
func (s *Store) CountEvents(ctx context.Context, clientID string, since time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM event WHERE client_id = $1 AND received >= $2", clientID, since.UTC()).Scan(&n)
	if err != nil {
		return 0, errorf("postgres: count events of %q: %w", clientID, err)
	}
	return n, nil
}

// Events returns the stored events of one computer, oldest TimeAtTarget
// first (events without one first, ties in arrival order); none for an
// unknown computer.
func (s *Store) Events(ctx context.Context, clientID string) ([]catalog.Event, error) {
	var out []catalog.Event
	err := queryEach(ctx, s.pool, `SELECT instance_id, client_id, event_id, source_id, time_at_target, update_id,
		revision_number, win32_hresult, app_name, replacement, misc_data, received
		FROM event WHERE client_id = $1 ORDER BY time_at_target NULLS FIRST, seq`, []any{clientID},
		func(rows pgx.Rows) error {
			var e catalog.Event
			var eventID, sourceID int32
			var tat *time.Time
			if err := rows.Scan((*[16]byte)(&e.InstanceID), &e.ClientID, &eventID, &sourceID, &tat,
				(*[16]byte)(&e.UpdateID), &e.RevisionNumber, &e.Win32HResult, &e.AppName, &e.Replacement,
				&e.MiscData, &e.Received); err != nil {
				return err
			}
			e.EventID, e.SourceID = int(eventID), int(sourceID)
			e.TimeAtTarget = decTime(tat)
			e.Received = e.Received.UTC()
			e.Replacement, e.MiscData = decStrings(e.Replacement), decStrings(e.MiscData)
			out = append(out, e)
			return nil
		})
	if err != nil {
		return nil, errorf("postgres: events of %q: %w", clientID, err)
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
		return errorf("postgres: %s: %w", op, err)
	}
	at = orNow(at)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		// The computer's row lock orders concurrent reports of one computer.
		if err := touchComputer(ctx, tx, clientID, "last_status_time", at); err != nil {
			return err
		}
		return applyStatuses(ctx, tx, clientID, statuses, replace, at)
	})
}

// applyStatuses writes checked statuses (see SetStatuses) in tx.
func applyStatuses(ctx context.Context, tx pgx.Tx, clientID string, statuses []catalog.UpdateStatus, replace bool, at time.Time) error {
	// The last entry per update wins.
	listed := map[uuid.UUID]catalog.UpdateStatus{}
	for _, st := range statuses {
		listed[st.UpdateID] = st
	}
	ids := make([][16]byte, 0, len(listed))
	states := make([]int32, 0, len(listed))
	changed := make([]time.Time, 0, len(listed))
	for id, st := range listed {
		ids = append(ids, id)
		states = append(states, int32(st.State))
		ch := at
		if !st.ChangedAt.IsZero() {
			ch = st.ChangedAt.UTC().Truncate(time.Microsecond)
		}
		changed = append(changed, ch)
	}
	// Upsert the listed states; one whose state is unchanged keeps its row.
	_, err := tx.Exec(ctx, `INSERT INTO update_status (client_id, update_id, state, changed_at)
		SELECT $1, u, st, ch FROM unnest($2::uuid[], $3::integer[], $4::timestamptz[]) AS l (u, st, ch)
		ON CONFLICT (client_id, update_id) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at
		WHERE update_status.state <> excluded.state`, clientID, ids, states, changed)
	if err != nil {
		return err
	}
	if !replace {
		return nil
	}
	_, err = tx.Exec(ctx, "DELETE FROM update_status WHERE client_id = $1 AND NOT (update_id = ANY($2))", clientID, ids)
	return err
}

// Statuses returns the per-update states of one computer, ordered by
// UpdateID; none for an unknown computer.
func (s *Store) Statuses(ctx context.Context, clientID string) ([]catalog.UpdateStatus, error) {
	var out []catalog.UpdateStatus
	err := queryEach(ctx, s.pool, `SELECT update_id, state, changed_at FROM update_status WHERE client_id = $1
		ORDER BY update_id`, []any{clientID}, func(rows pgx.Rows) error {
		st := catalog.UpdateStatus{ClientID: clientID}
		var state int32
		if err := rows.Scan((*[16]byte)(&st.UpdateID), &state, &st.ChangedAt); err != nil {
			return err
		}
		st.State = catalog.InstallState(state)
		st.ChangedAt = st.ChangedAt.UTC()
		out = append(out, st)
		return nil
	})
	if err != nil {
		return nil, errorf("postgres: statuses of %q: %w", clientID, err)
	}
	return out, nil
}
