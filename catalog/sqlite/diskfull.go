package sqlite

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsDiskFull reports whether err is SQLite's SQLITE_FULL ("database or disk
// is full", any extended code): the volume of the database file, or of its
// temporary files, has no space left.
func IsDiskFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}
