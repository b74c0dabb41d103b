package catalog

import (
	"context"
	"time"
)

// Stats is the catalog's size as operators watch it (internal/metrics
// exports it): what it holds, and how recently its computers were heard
// from. Every count is read in one snapshot.
type Stats struct {
	// Updates counts the updates (one per update ID, whatever its
	// revisions); Revisions every revision stored.
	Updates, Revisions int
	// ApprovedUpdates counts the updates with an approval for at least one
	// target group that are not declined.
	ApprovedUpdates int
	// Computers counts the computers stored (registered or not).
	Computers int
	// ContactedSince[i] counts the computers whose last contact is at or
	// after the i-th time StatsStore.Stats was given. A computer's last
	// contact is the later of its LastSync and LastReport.
	ContactedSince []int
	// NeverContacted counts the computers with neither a LastSync nor a
	// LastReport (they got a cookie or registered, and never scanned or
	// reported).
	NeverContacted int
	// SyncRuns counts the synchronization runs stored, by state.
	SyncRuns map[SyncRunState]int
	// LastSyncSuccess is when the newest successful run finished; zero
	// before one.
	LastSyncSuccess time.Time
}

// MaxStatsCutoffs bounds the times one Stats call counts contacts since.
const MaxStatsCutoffs = 16

// StatsStore reads Stats. Every catalog.Store of this repository (both
// engines, through catalog/sqlstore) implements it, and the conformance
// suite checks it; it is separate from Store so that consumers name only
// what they use (internal/metrics, at scrape time).
type StatsStore interface {
	// Stats counts the catalog, with ContactedSince counted for each of
	// since (at most MaxStatsCutoffs; an error wrapping ErrInvalid
	// otherwise). Its cost grows with the computers and revisions stored
	// (a pass over each table; measured by BenchmarkStats100k in
	// catalog/sqlstore: 100,000 computers and 20,000 revisions read in
	// about 0.15 s on SQLite, 0.09 s on PostgreSQL): callers cache it.
	Stats(ctx context.Context, since []time.Time) (Stats, error)
}
