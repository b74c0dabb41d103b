package sqlstore

import (
	"cmp"
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

// RecordAuthorization creates the computer (not Registered, FirstSeen = at)
// or, if known, replaces its DNS name and requested groups, keeping the rest.
// A zero at means now.
func (s *Store) RecordAuthorization(ctx context.Context, clientID, dnsName string, groups []string, at time.Time) error {
	op := fmt.Sprintf("record authorization of %q", clientID)
	if err := catalog.CheckAuthorization(clientID, dnsName, groups, at); err != nil {
		return s.invalid(op, err)
	}
	at = s.orNow(at)
	return s.write(ctx, op, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO computer (id, dns_name, requested_groups, registered,
			os_major, os_minor, os_build, os_description, os_locale, architecture, manufacturer, model,
			client_version, first_seen) VALUES ($1, $2, $3, FALSE, 0, 0, 0, '', '', '', '', '', '', $4)
			ON CONFLICT (id) DO UPDATE SET dns_name = excluded.dns_name, requested_groups = excluded.requested_groups`,
			clientID, dnsName, encStrings(groups), s.d.Time(at))
		return err
	})
}

// RegisterComputer stores the details RegisterComputer sent (DNS name, OS,
// architecture, make, model, client version, and the whole computerInfo as
// c.Info) and marks the computer Registered, creating it if new with
// FirstSeen = c.FirstSeen or now (c.Info's BiosReleaseDate kept in UTC).
// Its requested groups, assigned groups, hardware inventory and timestamps
// are left alone.
func (s *Store) RegisterComputer(ctx context.Context, c catalog.Computer) error {
	op := fmt.Sprintf("register computer %q", c.ID)
	if err := c.Validate(); err != nil {
		return s.invalid(op, err)
	}
	if c.Info != nil {
		in := *c.Info
		in.BiosReleaseDate = in.BiosReleaseDate.UTC()
		c.Info = &in
	}
	info, err := jsonOrNull(c.Info)
	if err != nil {
		return s.invalid(op, err)
	}
	return s.write(ctx, op, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO computer (id, dns_name, registered, os_major, os_minor,
			os_build, os_description, os_locale, architecture, manufacturer, model, client_version, first_seen,
			computer_info)
			VALUES ($1, $2, TRUE, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (id) DO UPDATE SET dns_name = excluded.dns_name, registered = TRUE,
			os_major = excluded.os_major, os_minor = excluded.os_minor, os_build = excluded.os_build,
			os_description = excluded.os_description, os_locale = excluded.os_locale,
			architecture = excluded.architecture, manufacturer = excluded.manufacturer,
			model = excluded.model, client_version = excluded.client_version,
			computer_info = excluded.computer_info`,
			c.ID, c.DNSName, c.OSMajor, c.OSMinor, c.OSBuild, c.OSDescription, c.OSLocale,
			c.Architecture, c.Manufacturer, c.Model, c.ClientVersion, s.d.Time(s.orNow(c.FirstSeen)), info)
		return err
	})
}

// RecordHardware replaces the computer's hardware inventory with h, a zero
// h.ReportedAt meaning now; its times are kept in UTC. An unknown computer is an error wrapping
// catalog.ErrNotFound, an invalid inventory one wrapping catalog.ErrInvalid.
func (s *Store) RecordHardware(ctx context.Context, clientID string, h catalog.HardwareInventory) error {
	op := fmt.Sprintf("record hardware of %q", clientID)
	if err := h.Validate(); err != nil {
		return s.invalid(op, err)
	}
	if !catalog.ValidClientID(clientID) {
		return s.unknownComputer(op, clientID)
	}
	h.ReportedAt = s.orNow(h.ReportedAt).UTC()
	h.Devices = slices.Clone(h.Devices)
	for i, d := range h.Devices {
		if d.InstalledDriver != nil {
			inst := *d.InstalledDriver
			inst.DriverVerDate = inst.DriverVerDate.UTC()
			h.Devices[i].InstalledDriver = &inst
		}
	}
	b, err := json.Marshal(h)
	if err != nil {
		return s.invalid(op, err)
	}
	return s.write(ctx, op, func(t *tx) error {
		res, err := t.exec(ctx, "UPDATE computer SET hardware = $1 WHERE id = $2", string(b), clientID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, fmt.Errorf("computer %q: %w", clientID, catalog.ErrNotFound))
		}
		return nil
	})
}

// jsonOrNull is the JSON of v, or NULL (a nil any) when v is a nil pointer.
func jsonOrNull[T any](v *T) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonDest scans a nullable JSON text column into *dst: nil when NULL.
type jsonDest[T any] struct{ dst **T }

func (d jsonDest[T]) Scan(src any) error {
	var s sql.NullString
	if err := s.Scan(src); err != nil {
		return err
	}
	if !s.Valid {
		*d.dst = nil
		return nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(s.String), v); err != nil {
		return fmt.Errorf("stored JSON: %w", err)
	}
	*d.dst = v
	return nil
}

// unknownComputer is the error of an operation on a computer that does
// not exist, also for a client ID no computer can have (see
// catalog.ValidClientID).
func (s *Store) unknownComputer(op, clientID string) error {
	return s.errorf("%s: computer %q: %w", op, clientID, catalog.ErrNotFound)
}

// lockComputer takes the computer's row lock where the engine has row locks
// (it orders concurrent writes about one computer) and fails with an error
// wrapping catalog.ErrNotFound unless the computer exists.
func lockComputer(ctx context.Context, t *tx, clientID string) error {
	ok, err := exists(ctx, t, "SELECT 1 FROM computer WHERE id = $1"+t.s.d.ForUpdate(), clientID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("computer %q: %w", clientID, catalog.ErrNotFound)
	}
	return nil
}

// SetComputerGroups assigns a known computer to existing target groups,
// replacing its previous assignment; an empty list removes it from every
// group, and a group listed twice counts once. An unknown computer or group
// is an error wrapping catalog.ErrNotFound (naming the first unknown group
// listed), and changes nothing. The scan engine keeps every assignment in
// its snapshot, so a change of assignment bumps the change sequence in the
// same transaction; the assignment the computer already has changes
// nothing.
func (s *Store) SetComputerGroups(ctx context.Context, clientID string, groups []uuid.UUID) error {
	op := fmt.Sprintf("set groups of %q", clientID)
	if !catalog.ValidClientID(clientID) {
		return s.unknownComputer(op, clientID)
	}
	want := catalog.SortGroupIDs(groups)
	return s.write(ctx, op, func(t *tx) error {
		if err := lockComputer(ctx, t, clientID); err != nil {
			return err
		}
		known := map[uuid.UUID]bool{}
		err := t.query(ctx, "SELECT id FROM target_group WHERE id "+s.d.InList("$1", "uuid"), []any{jsonList(want)},
			func(rows Row) error {
				var id uuid.UUID
				err := rows.Scan(&id)
				known[id] = true
				return err
			})
		if err != nil {
			return err
		}
		for _, g := range groups {
			if !known[g] {
				return fmt.Errorf("group %s: %w", g, catalog.ErrNotFound)
			}
		}
		old, err := computerGroups(ctx, t, clientID)
		if err != nil {
			return err
		}
		if slices.Equal(old[clientID], want) {
			return nil
		}
		if _, err := t.exec(ctx, "DELETE FROM computer_group WHERE client_id = $1", clientID); err != nil {
			return err
		}
		rows := make([][]any, len(want))
		for i, g := range want {
			rows[i] = []any{clientID, g}
		}
		if err := insertRows(ctx, t, "computer_group", []string{"client_id", "group_id"}, rows, "", nil); err != nil {
			return err
		}
		return bumpChangeSequence(ctx, t)
	})
}

// RecordSync sets the computer's LastSync (a zero at means now); an unknown
// computer is an error wrapping catalog.ErrNotFound.
func (s *Store) RecordSync(ctx context.Context, clientID string, at time.Time) error {
	op := fmt.Sprintf("record sync of %q", clientID)
	if err := catalog.CheckTime("time", at); err != nil {
		return s.invalid(op, err)
	}
	if !catalog.ValidClientID(clientID) {
		return s.unknownComputer(op, clientID)
	}
	at = s.orNow(at)
	return s.write(ctx, op, func(t *tx) error {
		return touchComputer(ctx, t, clientID, "last_sync", at)
	})
}

// touchComputer sets one timestamp column of a computer, which must exist.
// Where the engine has row locks, the lock it takes orders concurrent
// reports of one computer.
func touchComputer(ctx context.Context, t *tx, clientID, column string, at time.Time) error {
	res, err := t.exec(ctx, "UPDATE computer SET "+column+" = $1 WHERE id = $2", t.s.d.Time(at), clientID)
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

// computerListColumns are the columns Computers reads; computerColumns
// adds the hardware inventory, which only Computer reads (hundreds of
// devices a computer).
const (
	computerListColumns = `id, dns_name, requested_groups, registered, os_major, os_minor, os_build,
	os_description, os_locale, architecture, manufacturer, model, client_version, first_seen,
	last_sync, last_report, last_status_time, computer_info`
	computerColumns = computerListColumns + ", hardware"
)

// scanComputer reads a row of computerColumns, or of computerListColumns
// when withHardware is false.
func scanComputer(row interface{ Scan(...any) error }, withHardware bool) (catalog.Computer, error) {
	var c catalog.Computer
	dest := []any{&c.ID, &c.DNSName, stringsDest(&c.RequestedGroups), &c.Registered, num(&c.OSMajor), num(&c.OSMinor),
		num(&c.OSBuild), &c.OSDescription, &c.OSLocale, &c.Architecture, &c.Manufacturer, &c.Model, &c.ClientVersion,
		timeDest{&c.FirstSeen}, timeDest{&c.LastSync}, timeDest{&c.LastReport}, timeDest{&c.LastStatusTime},
		jsonDest[catalog.ComputerInfo]{&c.Info}}
	if withHardware {
		dest = append(dest, jsonDest[catalog.HardwareInventory]{&c.Hardware})
	}
	err := row.Scan(dest...)
	return c, err
}

// computerGroups returns the assigned groups of one computer (clientID set)
// or of every computer (clientID empty), keyed by client ID, each list
// ordered by UUID (byte order, as catalog.SortGroupIDs).
func computerGroups(ctx context.Context, t *tx, clientID string) (map[string][]uuid.UUID, error) {
	q, args := "SELECT client_id, group_id FROM computer_group", []any(nil)
	if clientID != "" {
		q, args = q+" WHERE client_id = $1", []any{clientID}
	}
	out := map[string][]uuid.UUID{}
	err := t.query(ctx, q+" ORDER BY group_id", args, func(rows Row) error {
		var id string
		var g uuid.UUID
		if err := rows.Scan(&id, uuidDest{&g}); err != nil {
			return err
		}
		out[id] = append(out[id], g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("computer groups: %w", err)
	}
	return out, nil
}

// Computer returns one computer by client ID (an error wrapping
// catalog.ErrNotFound if absent), with its assigned groups.
func (s *Store) Computer(ctx context.Context, clientID string) (catalog.Computer, error) {
	if !catalog.ValidClientID(clientID) {
		return catalog.Computer{}, s.errorf("computer %q: %w", clientID, catalog.ErrNotFound)
	}
	return readOne(ctx, s, fmt.Sprintf("computer %q", clientID), func(t *tx) (catalog.Computer, error) {
		c, err := scanComputer(t.queryRow(ctx, "SELECT "+computerColumns+" FROM computer WHERE id = $1", clientID), true)
		if errors.Is(err, sql.ErrNoRows) {
			return c, catalog.ErrNotFound
		}
		if err != nil {
			return c, err
		}
		groups, err := computerGroups(ctx, t, clientID)
		c.Groups = groups[clientID]
		return c, err
	})
}

// Computers returns every computer with its assigned groups, ordered by DNS
// name (byte order), then ID, without their hardware inventory.
func (s *Store) Computers(ctx context.Context) ([]catalog.Computer, error) {
	out, err := readOne(ctx, s, "computers", func(t *tx) ([]catalog.Computer, error) {
		var out []catalog.Computer
		err := t.query(ctx, "SELECT "+computerListColumns+" FROM computer", nil, func(rows Row) error {
			c, err := scanComputer(rows, false)
			out = append(out, c)
			return err
		})
		if err != nil {
			return nil, err
		}
		groups, err := computerGroups(ctx, t, "")
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].Groups = groups[out[i].ID]
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b catalog.Computer) int {
		return cmp.Or(strings.Compare(a.DNSName, b.DNSName), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// ComputerGroupAssignments returns the assigned groups of every computer in
// one query, keyed by client ID, each list ordered by UUID; computers in no
// group are absent.
func (s *Store) ComputerGroupAssignments(ctx context.Context) (map[string][]uuid.UUID, error) {
	return readOne(ctx, s, "computer group assignments", func(t *tx) (map[string][]uuid.UUID, error) {
		return computerGroups(ctx, t, "")
	})
}
