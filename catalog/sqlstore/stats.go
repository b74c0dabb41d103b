package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"wsus/catalog"
)

var _ catalog.StatsStore = (*Store)(nil)

// lastContactSQL is a computer's last contact: the later of last_sync and
// last_report, NULL when both are. Written with CASE because the engines'
// GREATEST/max disagree about NULL.
const lastContactSQL = `CASE WHEN last_sync IS NULL THEN last_report
	WHEN last_report IS NULL OR last_sync >= last_report THEN last_sync
	ELSE last_report END`

// Stats counts the catalog; see catalog.StatsStore. It reads in one
// snapshot: one pass over computer (every cutoff counted in it), one over
// revision, one over approval, and sync_run grouped by state.
func (s *Store) Stats(ctx context.Context, since []time.Time) (catalog.Stats, error) {
	const op = "stats"
	if len(since) > catalog.MaxStatsCutoffs {
		return catalog.Stats{}, s.invalid(op, fmt.Errorf("%d cutoffs, at most %d", len(since), catalog.MaxStatsCutoffs))
	}
	args := make([]any, len(since))
	var cols strings.Builder
	for i, t := range since {
		if t.IsZero() {
			return catalog.Stats{}, s.invalid(op, errors.New("zero cutoff"))
		}
		if err := catalog.CheckTime("cutoff", t); err != nil {
			return catalog.Stats{}, s.invalid(op, err)
		}
		args[i] = s.d.Time(s.truncate(t))
		fmt.Fprintf(&cols, ", COALESCE(sum(CASE WHEN lc >= $%s THEN 1 ELSE 0 END), 0)", strconv.Itoa(i+1))
	}
	return readOne(ctx, s, op, func(t *tx) (catalog.Stats, error) {
		st := catalog.Stats{ContactedSince: make([]int, len(since)), SyncRuns: map[catalog.SyncRunState]int{}}
		dest := []any{num(&st.Computers), num(&st.NeverContacted)}
		for i := range st.ContactedSince {
			dest = append(dest, num(&st.ContactedSince[i]))
		}
		err := t.queryRow(ctx, `SELECT count(*), COALESCE(sum(CASE WHEN lc IS NULL THEN 1 ELSE 0 END), 0)`+cols.String()+
			` FROM (SELECT `+lastContactSQL+` AS lc FROM computer) c`, args...).Scan(dest...)
		if err != nil {
			return st, fmt.Errorf("computers: %w", err)
		}
		err = t.queryRow(ctx, `SELECT count(*), COALESCE(sum(CASE WHEN is_newest = TRUE THEN 1 ELSE 0 END), 0) FROM revision`).
			Scan(num(&st.Revisions), num(&st.Updates))
		if err != nil {
			return st, fmt.Errorf("revisions: %w", err)
		}
		err = t.queryRow(ctx, `SELECT count(DISTINCT update_id) FROM approval WHERE update_id NOT IN `+declinedSet).
			Scan(num(&st.ApprovedUpdates))
		if err != nil {
			return st, fmt.Errorf("approvals: %w", err)
		}
		err = t.query(ctx, `SELECT state, count(*) FROM sync_run GROUP BY state`, nil, func(row Row) error {
			var state string
			var n int
			if err := row.Scan(&state, num(&n)); err != nil {
				return err
			}
			st.SyncRuns[catalog.SyncRunState(state)] = n
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("sync runs: %w", err)
		}
		err = t.queryRow(ctx, `SELECT max(finished) FROM sync_run WHERE state = 'succeeded'`).Scan(timeDest{&st.LastSyncSuccess})
		if err != nil {
			return st, fmt.Errorf("last successful sync: %w", err)
		}
		return st, nil
	})
}
