package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"wsus/catalog"
	"wsus/catalog/migration"
	"wsus/catalog/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Advisory lock keys of the store (pg_advisory_lock's one-bigint form). They
// only need to differ from the keys other programs sharing the database use.
const (
	lockMigrate int64 = 0x7773_7573_6d69_6701 // "wsusmig" + 1
	lockImport  int64 = 0x7773_7573_696d_7001 // "wsusimp" + 1
)

// Codes of the PostgreSQL errors the store tells apart.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// dialect is PostgreSQL's sqlstore.Dialect. Reads run through pgx's own
// API on pool (NativeReader), writes through database/sql on the same pool.
type dialect struct {
	pool *pgxpool.Pool
}

var (
	_ sqlstore.Dialect      = dialect{}
	_ sqlstore.BulkLoader   = dialect{}
	_ sqlstore.NativeReader = dialect{}
)

// BeginRead begins a read-only REPEATABLE READ transaction on pgx's own
// API, so that a read of several queries sees one snapshot and its rows
// skip database/sql's conversions.
func (d dialect) BeginRead(ctx context.Context) (sqlstore.ReadTx, error) {
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	return readTx{tx}, nil
}

// readTx is a pgx transaction as a sqlstore.ReadTx.
type readTx struct{ tx pgx.Tx }

func (r readTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return r.tx.Query(ctx, q, args...)
}

func (r readTx) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return r.tx.QueryRow(ctx, q, args...)
}

func (r readTx) Rollback(ctx context.Context) error { return r.tx.Rollback(ctx) }

func (dialect) Name() string { return "postgres" }

// Rebind keeps the query: the store writes PostgreSQL's placeholders.
func (dialect) Rebind(q string) string { return q }

// InList reads the JSON array with json_array_elements_text, cast to typ.
func (dialect) InList(param, typ string) string {
	return "IN (SELECT e::" + typ + " FROM json_array_elements_text(" + param + "::json) AS l (e))"
}

// Time stores timestamptz, which holds microseconds.
func (dialect) Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

func (dialect) TimePrecision() time.Duration { return time.Microsecond }
func (dialect) ForUpdate() string            { return " FOR UPDATE" }

// BeginWrite begins READ COMMITTED: the store takes the row locks it needs.
func (dialect) BeginWrite(ctx context.Context, conn *sql.Conn) (*sql.Tx, error) {
	return conn.BeginTx(ctx, nil)
}

// ReadOptions: REPEATABLE READ, so that a read of several queries sees one
// snapshot.
func (dialect) ReadOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

// Now is the database server's clock (the start of the transaction), the
// one clock all replicas share.
func (dialect) Now(ctx context.Context, tx *sql.Tx) (time.Time, error) {
	var now time.Time
	if err := tx.QueryRowContext(ctx, "SELECT now()").Scan(&now); err != nil {
		return time.Time{}, err
	}
	return now.UTC().Truncate(time.Microsecond), nil
}

// LockImport takes a transaction-level advisory lock.
func (dialect) LockImport(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockImport)
	return err
}

// NextIDs draws n IDs from table's identity sequence in one statement:
// nextval, then setval past the n-1 that follow. Only imports draw revision
// IDs, and they hold the import lock (LockImport), so no other session
// draws between the two.
func (dialect) NextIDs(ctx context.Context, tx *sql.Tx, table string, n int) ([]int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT setval(s, nextval(s) + $2 - 1)
		FROM (SELECT pg_get_serial_sequence($1, 'id') AS s) AS q`, table, n).Scan(&last)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = last - int64(n-1-i)
	}
	return ids, nil
}

// BulkLoad runs COPY on the connection of the current transaction. UUIDs
// go as pgx's own [16]byte, which COPY writes in binary without a detour
// through text.
func (dialect) BulkLoad(ctx context.Context, conn *sql.Conn, table string, columns []string, rows [][]any) error {
	for _, row := range rows {
		for i, v := range row {
			if u, ok := v.(uuid.UUID); ok {
				row[i] = [16]byte(u)
			}
		}
	}
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy: driver connection is %T, not pgx's", driverConn)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	})
}

// Retryable: serialization failures and deadlocks.
func (dialect) Retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// IsOutage reports whether err means PostgreSQL could not do the work now
// but may later: the connection failed or was lost, the server is starting
// or shutting down, or it ran out of resources (disk, memory, connections),
// or a transaction kept losing serialization races.
func (dialect) IsOutage(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// SQLSTATE classes: 08 connection exception, 53 insufficient
		// resources, 57P operator intervention (shutdown, cannot connect now),
		// 40001/40P01 serialization failure and deadlock (after retries).
		c := pgErr.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57P") ||
			c == codeSerializationFailure || c == codeDeadlockDetected
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, sql.ErrConnDone)
}

func (dialect) IsUniqueViolation(err error) bool { return pgCode(err) == codeUniqueViolation }

// pgCode returns the SQLSTATE of a PostgreSQL error, "" for other errors.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// LegacyMigrations are migrations/*.sql: versions 1 to 3.
func (dialect) LegacyMigrations() ([]migration.Migration, error) {
	return migration.Load(migrationFiles, "migrations")
}

func (dialect) SchemaMigrationsTable() string {
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`
}

// LockMigrations takes a session advisory lock on conn; unlock releases it.
// Should the unlock fail, the connection is closed rather than returned to
// the pool holding the lock.
func (dialect) LockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockMigrate); err != nil {
		return nil, err
	}
	return func() {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockMigrate)
		if err != nil {
			_ = conn.Raw(func(driverConn any) error { return driverConn.(*stdlib.Conn).Close() })
		}
	}, nil
}

// markOutage marks err as catalog.ErrUnavailable when it is one.
func markOutage(err error) error {
	return catalog.MarkUnavailableIf(err, dialect{}.IsOutage)
}
