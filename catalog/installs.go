package catalog

import (
	"context"
	"time"
)

// The install results a computer reports between status reports
// (MS-WUSP.md section 7.2; soap/wusp/reporting.go applies them to its
// states): 182 an install failed, 183 an install succeeded, 184 an install
// succeeded and waits for a restart.
const (
	EventInstallFailed        = 182
	EventInstallSucceeded     = 183
	EventInstallRebootPending = 184
)

// MaxInstallDays bounds the days one InstallsByDay call counts: a year
// and a day, so that a leap year's same day last year is in.
const MaxInstallDays = 366

// InstallDay counts the install results the computers reported in one UTC
// day, by when the server received them (Event.Received): a report's
// events count on the day it arrived, whatever the computer's clock said.
type InstallDay struct {
	// Day is the day's midnight, UTC.
	Day time.Time
	// Installed counts the succeeded installs (events 183 and 184),
	// Failed the failed ones (182).
	Installed, Failed int
}

// InstallHistoryStore counts the install results of the reporting
// events. Every catalog.Store of this repository (both engines, through
// catalog/sqlstore) implements it and the conformance suite checks it; it
// is separate from Store so that consumers name only what they use (the
// admin API's GET /api/v1/compliance/installs).
type InstallHistoryStore interface {
	// InstallsByDay returns days rows, one per UTC day from the day of
	// from (its midnight), oldest first, each counting the install results
	// received that day (zero rows are listed too). days must be from 1 to
	// MaxInstallDays (an error wrapping ErrInvalid otherwise). Its cost
	// grows with the install results in those days, not with the events
	// stored (an index on event (received, event_id) of the install
	// results alone).
	InstallsByDay(ctx context.Context, from time.Time, days int) ([]InstallDay, error)
}

// UTCDay is t's UTC day: its midnight.
func UTCDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
