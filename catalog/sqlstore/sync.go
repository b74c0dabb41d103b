package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"wsus/catalog"
)

// This file is catalog.SyncStore (see catalog/sync.go) on the tables of
// migration 0101_sync. Settings and state are one row each, holding the
// JSON of their catalog struct; runs and file sources have typed columns.

// MaxSyncRuns bounds the runs SyncRuns returns: a limit of zero or less,
// or above MaxSyncRuns, returns up to MaxSyncRuns.
const MaxSyncRuns = 1000

// abandonedError is the Error of a running run that BeginSyncRun found past
// its lease and marked failed.
const abandonedError = "abandoned: no heartbeat within the lease"

// fileSourceChunk bounds the digests of one FileSources query (one
// placeholder each).
const fileSourceChunk = 500

// SyncSettings returns the admin's synchronization choices, the zero value
// before any were saved.
func (s *Store) SyncSettings(ctx context.Context) (catalog.SyncSettings, error) {
	var out catalog.SyncSettings
	var js sql.NullString
	var changed time.Time
	row, err := s.queryRow(ctx, "SELECT settings, changed_at FROM sync_settings WHERE id = 1")
	if err == nil {
		err = row.Scan(&js, timeDest{&changed})
	}
	if err != nil {
		return catalog.SyncSettings{}, s.errorf("sync settings: %w", err)
	}
	if js.Valid {
		if err := json.Unmarshal([]byte(js.String), &out); err != nil {
			return catalog.SyncSettings{}, s.errorf("sync settings: stored settings: %w", err)
		}
	}
	out.ChangedAt = changed
	return out, nil
}

// checkSyncSettings reports what makes settings unfit to store: an unknown
// content mode, a negative SyncsPerDay, a FirstSync outside [0, 24h), text
// that is not UTF-8 or holds a NUL.
func checkSyncSettings(st catalog.SyncSettings) error {
	var errs []error
	if st.Content != "" && !st.Content.Valid() {
		errs = append(errs, fmt.Errorf("unknown content mode %q", st.Content))
	}
	if st.SyncsPerDay < 0 {
		errs = append(errs, fmt.Errorf("negative SyncsPerDay %d", st.SyncsPerDay))
	}
	if st.FirstSync < 0 || st.FirstSync >= 24*time.Hour {
		errs = append(errs, fmt.Errorf("FirstSync %s is outside [0, 24h)", st.FirstSync))
	}
	errs = append(errs, catalog.CheckText("UpstreamURL", st.UpstreamURL))
	for i, l := range st.Languages {
		errs = append(errs, catalog.CheckText(fmt.Sprintf("language %d", i), l))
	}
	return errors.Join(errs...)
}

// SetSyncSettings replaces the settings; ChangedAt is set to now by the
// store's shared clock (the given one is ignored).
func (s *Store) SetSyncSettings(ctx context.Context, st catalog.SyncSettings) error {
	const op = "set sync settings"
	if err := checkSyncSettings(st); err != nil {
		return s.invalid(op, err)
	}
	st.ChangedAt = time.Time{} // the changed_at column keeps it
	b, err := json.Marshal(st)
	if err != nil {
		return s.invalid(op, err)
	}
	return s.write(ctx, op, func(t *tx) error {
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, "UPDATE sync_settings SET settings = $1, changed_at = $2 WHERE id = 1", string(b), s.d.Time(now))
		return err
	})
}

// SyncState returns what the last synchronization left, the zero value
// before any was saved.
func (s *Store) SyncState(ctx context.Context) (catalog.SyncState, error) {
	var out catalog.SyncState
	var js sql.NullString
	row, err := s.queryRow(ctx, "SELECT state FROM sync_state WHERE id = 1")
	if err == nil {
		err = row.Scan(&js)
	}
	if err != nil {
		return catalog.SyncState{}, s.errorf("sync state: %w", err)
	}
	if js.Valid {
		if err := json.Unmarshal([]byte(js.String), &out); err != nil {
			return catalog.SyncState{}, s.errorf("sync state: stored state: %w", err)
		}
	}
	return out, nil
}

// checkSyncState reports text of the state that is not UTF-8 or holds a
// NUL.
func checkSyncState(st catalog.SyncState) error {
	errs := []error{
		catalog.CheckText("UpstreamURL", st.UpstreamURL),
		catalog.CheckText("ConfigAnchor", st.ConfigAnchor),
		catalog.CheckText("CategoryAnchor", st.CategoryAnchor),
		catalog.CheckText("UpdateAnchor", st.UpdateAnchor),
		catalog.CheckText("DeploymentAnchor", st.DeploymentAnchor),
		catalog.CheckText("ProtocolVersion", st.Config.ProtocolVersion),
	}
	for i, l := range st.AnchoredLanguages {
		errs = append(errs, catalog.CheckText(fmt.Sprintf("anchored language %d", i), l))
	}
	for i, l := range st.Config.Languages {
		errs = append(errs, catalog.CheckText(fmt.Sprintf("upstream language %d short name", i), l.Short),
			catalog.CheckText(fmt.Sprintf("upstream language %d long name", i), l.Long))
	}
	return errors.Join(errs...)
}

// SetSyncState replaces the synchronization state.
func (s *Store) SetSyncState(ctx context.Context, st catalog.SyncState) error {
	const op = "set sync state"
	if err := checkSyncState(st); err != nil {
		return s.invalid(op, err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return s.invalid(op, err)
	}
	return s.write(ctx, op, func(t *tx) error {
		_, err := t.exec(ctx, "UPDATE sync_state SET state = $1 WHERE id = 1", string(b))
		return err
	})
}

// checkSyncRun reports what makes a run unfit to store: text that is not
// UTF-8 or holds a NUL, a negative count, a count outside 32 bits.
func checkSyncRun(r catalog.SyncRun) error {
	errs := []error{
		catalog.CheckText("Trigger", r.Trigger),
		catalog.CheckText("Holder", r.Holder),
		catalog.CheckText("Phase", r.Phase),
		catalog.CheckText("Error", r.Error),
	}
	for _, c := range []struct {
		what string
		n    int
	}{{"Done", r.Done}, {"Total", r.Total}, {"New", r.New}, {"Revised", r.Revised}, {"Expired", r.Expired},
		{"Files", r.Files}, {"FilesTotal", r.FilesTotal}} {
		if c.n < 0 {
			errs = append(errs, fmt.Errorf("negative %s %d", c.what, c.n))
		}
		errs = append(errs, catalog.CheckInt32(c.what, c.n))
	}
	if r.Bytes < 0 || r.BytesTotal < 0 {
		errs = append(errs, fmt.Errorf("negative Bytes %d or BytesTotal %d", r.Bytes, r.BytesTotal))
	}
	return errors.Join(errs...)
}

// syncRunColumns are the columns scanSyncRun reads, in its order.
const syncRunColumns = `id, trigger, holder, state, started, heartbeat, finished, phase, done, total,
	new, revised, expired, files, files_total, bytes, bytes_total, error`

func scanSyncRun(row Row) (catalog.SyncRun, error) {
	var r catalog.SyncRun
	var state string
	err := row.Scan(num(&r.ID), &r.Trigger, &r.Holder, &state, timeDest{&r.Started}, timeDest{&r.Heartbeat},
		timeDest{&r.Finished}, &r.Phase, num(&r.Done), num(&r.Total), num(&r.New), num(&r.Revised), num(&r.Expired),
		num(&r.Files), num(&r.FilesTotal), num(&r.Bytes), num(&r.BytesTotal), &r.Error)
	if err != nil {
		return catalog.SyncRun{}, err
	}
	r.State = catalog.SyncRunState(state)
	return r, nil
}

// BeginSyncRun starts r as the one running synchronization (see
// catalog.SyncStore). Trigger, Holder, Phase, the counts and Error are
// stored as given; ID, State, Started, Heartbeat and Finished are the
// store's. A running run whose Heartbeat is lease or more before now is
// marked failed with Error "abandoned: ..." and Finished now; a younger one
// makes the call fail with an error wrapping catalog.ErrConflict. lease must
// be positive (else catalog.ErrInvalid). Runs begin one at a time across
// every process sharing the store: the transaction first locks the one
// sync_state row (PostgreSQL: SELECT ... FOR UPDATE; SQLite has one writer),
// and a partial unique index admits one running row at most.
func (s *Store) BeginSyncRun(ctx context.Context, r catalog.SyncRun, lease time.Duration) (catalog.SyncRun, error) {
	const op = "begin sync run"
	if lease <= 0 {
		return catalog.SyncRun{}, s.invalid(op, fmt.Errorf("lease %s is not positive", lease))
	}
	if err := checkSyncRun(r); err != nil {
		return catalog.SyncRun{}, s.invalid(op, err)
	}
	var out catalog.SyncRun
	err := s.write(ctx, op, func(t *tx) error {
		var one int
		if err := t.queryRow(ctx, "SELECT id FROM sync_state WHERE id = 1"+s.d.ForUpdate()).Scan(&one); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		type running struct {
			id        int64
			holder    string
			heartbeat time.Time
		}
		var runs []running
		err = t.query(ctx, "SELECT id, holder, heartbeat FROM sync_run WHERE state = 'running'", nil, func(row Row) error {
			var ru running
			if err := row.Scan(num(&ru.id), &ru.holder, timeDest{&ru.heartbeat}); err != nil {
				return err
			}
			runs = append(runs, ru)
			return nil
		})
		if err != nil {
			return fmt.Errorf("running runs: %w", err)
		}
		for _, ru := range runs {
			if now.Sub(ru.heartbeat) < lease {
				return catalog.MarkConflict(fmt.Errorf("run %d of %q is running (heartbeat %s, lease %s)",
					ru.id, ru.holder, ru.heartbeat.Format(time.RFC3339Nano), lease))
			}
			if _, err := t.exec(ctx, "UPDATE sync_run SET state = 'failed', finished = $1, error = $2 WHERE id = $3",
				s.d.Time(now), abandonedError, ru.id); err != nil {
				return fmt.Errorf("mark run %d abandoned: %w", ru.id, err)
			}
		}
		out, err = scanSyncRun(t.queryRow(ctx, `INSERT INTO sync_run (trigger, holder, state, started, heartbeat, phase,
			done, total, new, revised, expired, files, files_total, bytes, bytes_total, error)
			VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			RETURNING `+syncRunColumns,
			r.Trigger, r.Holder, s.d.Time(now), s.d.Time(now), r.Phase, r.Done, r.Total, r.New, r.Revised, r.Expired,
			r.Files, r.FilesTotal, r.Bytes, r.BytesTotal, r.Error))
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return nil
	})
	if err != nil {
		return catalog.SyncRun{}, err
	}
	return out, nil
}

// UpdateSyncRun stores the progress or outcome of the running run r.ID (see
// catalog.SyncStore): State, Phase, the counts and Error as given; Trigger,
// Holder and Started stay as stored; Heartbeat is now, and Finished too
// when State is succeeded or failed. It returns the run as stored. An
// unknown State or an ID of zero or less is catalog.ErrInvalid. The check
// that the run is still running and the write are one conditional UPDATE,
// so a run marked abandoned meanwhile is never overwritten.
func (s *Store) UpdateSyncRun(ctx context.Context, r catalog.SyncRun) (catalog.SyncRun, error) {
	op := fmt.Sprintf("update sync run %d", r.ID)
	switch {
	case r.ID <= 0:
		return catalog.SyncRun{}, s.invalid(op, errors.New("no run ID"))
	case r.State != catalog.SyncRunning && r.State != catalog.SyncSucceeded && r.State != catalog.SyncFailed:
		return catalog.SyncRun{}, s.invalid(op, fmt.Errorf("unknown state %q", r.State))
	}
	if err := checkSyncRun(r); err != nil {
		return catalog.SyncRun{}, s.invalid(op, err)
	}
	var out catalog.SyncRun
	err := s.write(ctx, op, func(t *tx) error {
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		var finished any
		if r.State != catalog.SyncRunning {
			finished = s.d.Time(now)
		}
		out, err = scanSyncRun(t.queryRow(ctx, `UPDATE sync_run SET state = $1, heartbeat = $2, finished = $3,
			phase = $4, done = $5, total = $6, new = $7, revised = $8, expired = $9, files = $10, files_total = $11,
			bytes = $12, bytes_total = $13, error = $14
			WHERE id = $15 AND state = 'running' RETURNING `+syncRunColumns,
			string(r.State), s.d.Time(now), finished, r.Phase, r.Done, r.Total, r.New, r.Revised, r.Expired,
			r.Files, r.FilesTotal, r.Bytes, r.BytesTotal, r.Error, r.ID))
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var state string
		err = t.queryRow(ctx, "SELECT state FROM sync_run WHERE id = $1", r.ID).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return catalog.ErrNotFound
		case err != nil:
			return err
		}
		return catalog.MarkConflict(fmt.Errorf("the run is %s, no longer running", state))
	})
	if err != nil {
		return catalog.SyncRun{}, err
	}
	return out, nil
}

// SyncRuns returns up to limit runs, newest (highest ID) first; a limit of
// zero or less, or above MaxSyncRuns, returns up to MaxSyncRuns.
func (s *Store) SyncRuns(ctx context.Context, limit int) ([]catalog.SyncRun, error) {
	return s.SyncRunsBefore(ctx, limit, 0)
}

// SyncRunsBefore returns up to limit runs with an ID below beforeID (all
// when beforeID is zero or less), newest (highest ID) first; limit is
// bounded as in SyncRuns.
func (s *Store) SyncRunsBefore(ctx context.Context, limit int, beforeID int64) ([]catalog.SyncRun, error) {
	if limit <= 0 || limit > MaxSyncRuns {
		limit = MaxSyncRuns
	}
	q, args := "SELECT "+syncRunColumns+" FROM sync_run ORDER BY id DESC LIMIT $1", []any{limit}
	if beforeID > 0 {
		q, args = "SELECT "+syncRunColumns+" FROM sync_run WHERE id < $1 ORDER BY id DESC LIMIT $2", []any{beforeID, limit}
	}
	return readOne(ctx, s, "sync runs", func(t *tx) ([]catalog.SyncRun, error) {
		var out []catalog.SyncRun
		err := t.query(ctx, q, args,
			func(row Row) error {
				r, err := scanSyncRun(row)
				if err != nil {
					return err
				}
				out = append(out, r)
				return nil
			})
		return out, err
	})
}

// SetFileSources stores where files come from, in one transaction. An
// empty MUURL or DecryptionKey (nil or empty) keeps the stored value of a
// known file; a source with neither is skipped (nothing is known of it).
// A digest listed twice counts as if the later entry were stored after the
// earlier one. A digest that is not 20 bytes, or an MUURL that is not
// UTF-8 or holds a NUL, is catalog.ErrInvalid and nothing is stored.
func (s *Store) SetFileSources(ctx context.Context, sources []catalog.FileSource) error {
	const op = "set file sources"
	merged := map[[20]byte]int{} // digest → index in rows
	var rows [][]any
	for i, src := range sources {
		if len(src.SHA1) != 20 {
			return s.invalid(op, fmt.Errorf("source %d: digest has %d bytes, want 20", i, len(src.SHA1)))
		}
		if err := catalog.CheckText(fmt.Sprintf("source %d: MUURL", i), src.MUURL); err != nil {
			return s.invalid(op, err)
		}
		if src.MUURL == "" && len(src.DecryptionKey) == 0 {
			continue
		}
		var url, key any
		if src.MUURL != "" {
			url = src.MUURL
		}
		if len(src.DecryptionKey) > 0 {
			key = append([]byte(nil), src.DecryptionKey...)
		}
		d := [20]byte(src.SHA1)
		if j, ok := merged[d]; ok {
			if url != nil {
				rows[j][1] = url
			}
			if key != nil {
				rows[j][2] = key
			}
			continue
		}
		merged[d] = len(rows)
		rows = append(rows, []any{d[:], url, key})
	}
	if len(rows) == 0 {
		return nil
	}
	return s.write(ctx, op, func(t *tx) error {
		return insertRows(ctx, t, "file_source", []string{"sha1", "mu_url", "decryption_key"}, rows,
			` ON CONFLICT (sha1) DO UPDATE SET mu_url = COALESCE(excluded.mu_url, file_source.mu_url),
			decryption_key = COALESCE(excluded.decryption_key, file_source.decryption_key)`, nil)
	})
}

// FileSources returns the known sources of the given 20-byte digests,
// keyed by digest; unknown digests are absent. A digest that is not 20
// bytes is catalog.ErrInvalid. A source's MUURL is empty and its
// DecryptionKey nil when not known.
func (s *Store) FileSources(ctx context.Context, sha1s [][]byte) (map[[20]byte]catalog.FileSource, error) {
	const op = "file sources"
	for i, d := range sha1s {
		if len(d) != 20 {
			return nil, s.invalid(op, fmt.Errorf("digest %d has %d bytes, want 20", i, len(d)))
		}
	}
	out := map[[20]byte]catalog.FileSource{}
	if len(sha1s) == 0 {
		return out, nil
	}
	err := s.read(ctx, op, func(t *tx) error {
		for rest := sha1s; len(rest) > 0; {
			chunk := rest[:min(fileSourceChunk, len(rest))]
			rest = rest[len(chunk):]
			marks := make([]string, len(chunk))
			args := make([]any, len(chunk))
			for i, d := range chunk {
				marks[i] = "$" + strconv.Itoa(i+1)
				args[i] = d
			}
			err := t.query(ctx, "SELECT sha1, mu_url, decryption_key FROM file_source WHERE sha1 IN ("+
				strings.Join(marks, ", ")+")", args, func(row Row) error {
				var src catalog.FileSource
				var url sql.NullString
				if err := row.Scan(&src.SHA1, &url, &src.DecryptionKey); err != nil {
					return err
				}
				if len(src.SHA1) != 20 {
					return fmt.Errorf("stored digest has %d bytes", len(src.SHA1))
				}
				src.MUURL = url.String
				if len(src.DecryptionKey) == 0 {
					src.DecryptionKey = nil
				}
				out[[20]byte(src.SHA1)] = src
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
