package sqlite

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"wsus/catalog"
)

// errorf is fmt.Errorf for the store's errors: it marks an outage with
// catalog.ErrUnavailable (see isOutage), so that callers answer "busy, try
// later" instead of "bug".
func errorf(format string, args ...any) error {
	return catalog.MarkUnavailableIf(fmt.Errorf(format, args...), isOutage)
}

// isOutage reports whether err means the database file could not do the
// work now but may later: locked by another writer past the busy timeout,
// out of memory or disk, or an I/O error.
func isOutage(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	return errors.Is(err, context.DeadlineExceeded)
}
