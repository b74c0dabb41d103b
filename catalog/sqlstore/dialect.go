package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"wsus/catalog/migration"
)

// Dialect is what differs between the engines the store runs on. Each engine
// package (catalog/sqlite, catalog/postgres) implements it in one file; every
// other rule of the store is written once, here.
//
// Queries are written with PostgreSQL's numbered placeholders ($1, $2, ...),
// which Rebind turns into the engine's own.
type Dialect interface {
	// Name names the engine in errors ("sqlite", "postgres").
	Name() string
	// Rebind returns q with its $N placeholders in the engine's syntax.
	Rebind(q string) string
	// InList returns the SQL of "is in the JSON array bound to param", for
	// elements of SQL type typ ("integer", "uuid", "text"): the text that
	// follows a column in a WHERE clause, such as "IN (...)". Lists are bound
	// as JSON text (see jsonList), the one list encoding both engines read.
	InList(param, typ string) string
	// Time returns t as the engine stores it (the zero time is NULL).
	Time(t time.Time) any
	// TimePrecision is the finest time the engine stores; times are
	// truncated to it before they are compared or returned.
	TimePrecision() time.Duration
	// ForUpdate is the clause that locks the rows a SELECT reads until the
	// transaction ends ("" where one writer at a time is the rule).
	ForUpdate() string

	// BeginWrite begins a write transaction on conn.
	BeginWrite(ctx context.Context, conn *sql.Conn) (*sql.Tx, error)
	// ReadOptions are the options of read-only transactions.
	ReadOptions() *sql.TxOptions
	// Now returns the current time by the clock all processes sharing the
	// store agree on, to TimePrecision.
	Now(ctx context.Context, tx *sql.Tx) (time.Time, error)
	// LockImport serializes imports across every process sharing the store,
	// until tx ends.
	LockImport(ctx context.Context, tx *sql.Tx) error
	// NextIDs draws n new IDs of table's identity column, ascending, never
	// handed out before.
	NextIDs(ctx context.Context, tx *sql.Tx, table string, n int) ([]int64, error)

	// Retryable reports whether a write transaction that failed with err may
	// be run again as it is (serialization failures, deadlocks).
	Retryable(err error) bool
	// IsOutage reports whether err means the database cannot do the work now
	// but may later (see catalog.ErrUnavailable).
	IsOutage(err error) bool
	// IsUniqueViolation reports whether err is a unique constraint failing.
	IsUniqueViolation(err error) bool

	// LegacyMigrations are the engine's schema versions from before the
	// stores merged (versions 1 to 99); shared ones start at 100.
	LegacyMigrations() ([]migration.Migration, error)
	// SchemaMigrationsTable is the DDL creating the table that records
	// applied migrations, if missing.
	SchemaMigrationsTable() string
	// LockMigrations holds off other processes migrating the same database
	// until unlock is called (conn is the connection that migrates).
	LockMigrations(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
}

// BulkLoader is a Dialect with a faster way to insert many rows than
// multi-row INSERT statements (PostgreSQL's COPY). conn is the connection
// that runs the current transaction.
type BulkLoader interface {
	BulkLoad(ctx context.Context, conn *sql.Conn, table string, columns []string, rows [][]any) error
}

// Row is one row to scan: a *sql.Row or *sql.Rows, or a native driver's.
type Row interface {
	Scan(dest ...any) error
}

// Rows are the rows of a query through a native driver (NativeReader).
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// ReadTx is a read-only transaction through a native driver.
type ReadTx interface {
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) Row
	Rollback(ctx context.Context) error
}

// NativeReader is a Dialect whose driver reads faster through its own API
// than through database/sql, which converts every value it returns through
// driver.Value (pgx: reading the catalog's summaries took 1.5 times as long).
// Read transactions then run on it; writes stay on database/sql. The
// store's scan destinations (num, timeDest, uuidDest) implement the native
// driver's scanner interfaces where it has them.
type NativeReader interface {
	BeginRead(ctx context.Context) (ReadTx, error)
}
