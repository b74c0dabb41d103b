package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"wsus/catalog"
	"wsus/catalog/migration"
	"wsus/catalog/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// dialect is SQLite's sqlstore.Dialect. SQLite has one writer at a time (the
// store's single writer connection, and the file lock across processes), so
// nothing needs row locks, import locks or retries.
type dialect struct{}

var _ sqlstore.Dialect = dialect{}

func (dialect) Name() string { return "sqlite" }

// Rebind turns the $N placeholders into SQLite's: plain ? when they run
// $1, $2, ... in order, each once (every multi-row INSERT), else ?N, which
// binds the same argument wherever the same number appears. (The driver
// looks up the name of every ?N parameter, in time that grows with their
// number: a 30,000-parameter INSERT spent seconds there.)
func (dialect) Rebind(q string) string {
	if !strings.Contains(q, "$") {
		return q
	}
	b := []byte(q)
	next, inOrder := 1, true
	var marks []int // where each placeholder's digits start
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '$' || b[i+1] < '0' || b[i+1] > '9' {
			continue
		}
		j := i + 1
		n := 0
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			n = n*10 + int(b[j]-'0')
		}
		inOrder = inOrder && n == next
		next++
		b[i] = '?'
		marks = append(marks, i+1)
		i = j - 1
	}
	if !inOrder {
		return string(b)
	}
	// Drop the numbers: ?1, ?2, ... become ?, ?, ...
	out := make([]byte, 0, len(b))
	last := 0
	for _, m := range marks {
		j := m
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		out = append(out, b[last:m]...)
		last = j
	}
	return string(append(out, b[last:]...))
}

// InList reads the JSON array with SQLite's json_each.
func (dialect) InList(param, _ string) string {
	return "IN (SELECT value FROM json_each(" + param + "))"
}

// Time stores UTC text in sqlstore.TimeLayout: fixed width, so text order
// is time order.
func (dialect) Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(sqlstore.TimeLayout)
}

func (dialect) TimePrecision() time.Duration { return time.Nanosecond }
func (dialect) ForUpdate() string            { return "" }

// BeginWrite begins IMMEDIATE (the writer's DSN says so): the write lock is
// taken at once, so a transaction never fails half-way on another's lock.
func (dialect) BeginWrite(ctx context.Context, conn *sql.Conn) (*sql.Tx, error) {
	return conn.BeginTx(ctx, nil)
}

func (dialect) ReadOptions() *sql.TxOptions { return &sql.TxOptions{ReadOnly: true} }

// Now is this machine's clock: every process sharing a file runs on it.
func (dialect) Now(context.Context, *sql.Tx) (time.Time, error) { return time.Now().UTC(), nil }

func (dialect) LockImport(context.Context, *sql.Tx) error { return nil }

// NextIDs continues the AUTOINCREMENT counter: inserting the IDs moves it,
// and the one writer holds the file until commit.
func (dialect) NextIDs(ctx context.Context, tx *sql.Tx, table string, n int) ([]int64, error) {
	var seq sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT seq FROM sqlite_sequence WHERE name = ?", table).Scan(&seq); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = seq.Int64 + int64(i) + 1
	}
	return ids, nil
}

func (dialect) Retryable(error) bool { return false }

// IsOutage reports whether err means the database file could not do the
// work now but may later: locked by another writer past the busy timeout,
// out of memory or disk, or an I/O error.
func (dialect) IsOutage(err error) bool {
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

func (dialect) IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) &&
		(se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// LegacyMigrations are migrations/*.sql: versions 1 to 4.
func (dialect) LegacyMigrations() ([]migration.Migration, error) {
	return migration.Load(migrationFiles, "migrations")
}

func (dialect) SchemaMigrationsTable() string {
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`
}

// LockMigrations needs no lock: each migration runs in an IMMEDIATE
// transaction that checks whether it was applied.
func (dialect) LockMigrations(context.Context, *sql.Conn) (func(), error) { return func() {}, nil }

// markOutage marks err as catalog.ErrUnavailable when it is one.
func markOutage(err error) error {
	return catalog.MarkUnavailableIf(err, dialect{}.IsOutage)
}
