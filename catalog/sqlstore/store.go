// Package sqlstore is the catalog store, written once for every SQL engine
// it runs on: catalog.Store over database/sql, with what truly differs
// between engines (placeholders, lists, time encoding, transaction begin and
// locking, ID drawing, bulk load, error classes, the schema history before
// the stores merged) behind a Dialect. The engines are SQLite (package
// catalog/sqlite, the embedded default) and PostgreSQL (package
// catalog/postgres, through pgx's database/sql adapter, and pgx's own API
// for read transactions: see NativeReader).
//
// Every write is one transaction, begun the engine's way (SQLite: IMMEDIATE
// on its one writer connection; PostgreSQL: READ COMMITTED, run again after a
// serialization failure or deadlock). Reads that need several queries run in
// one read-only transaction, so they see one snapshot. Queries run on every
// request are prepared once per Store.
//
// The schema lives in migrations: the engine's own history (versions 1-99,
// from before the stores merged) and then the shared one (versions 100 on,
// in migrations/*.sql here, one file for both engines unless a version needs
// an engine's own SQL: NNNN_name.sqlite.sql, NNNN_name.postgres.sql).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// writeAttempts bounds how often a write transaction that failed with a
// retryable error (Dialect.Retryable) is run again.
const writeAttempts = 3

// Config is what an engine package hands New.
type Config struct {
	Dialect Dialect
	// Writer runs write transactions; Reader runs reads. They may be one
	// pool (PostgreSQL) or two (SQLite: one writer connection, a pool of
	// query-only readers).
	Writer, Reader *sql.DB
	// Close, when set, releases what the engine opened besides the two
	// pools; Store.Close calls it after closing them.
	Close func()
}

// Store is catalog.Store on a SQL database. It is safe for concurrent use,
// and any number of Stores, in one process or many, may share one database.
type Store struct {
	d           Dialect
	w, r        *sql.DB
	closeEngine func() // Config.Close
	prefix      string // "sqlite: ", "postgres: "

	// Prepared one-row reads run outside transactions (see queryRow).
	stmts stmtCache

	close    sync.Once
	closeErr error
}

var _ catalog.Store = (*Store)(nil)

// New brings the database's schema up to date and returns the store over
// it. The store owns both pools from then on (Close closes them), also when
// New fails. Its errors do not name the engine or the database: the
// engine's Open does.
func New(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{d: cfg.Dialect, w: cfg.Writer, r: cfg.Reader, closeEngine: cfg.Close, prefix: cfg.Dialect.Name() + ": "}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, catalog.MarkUnavailableIf(err, s.d.IsOutage)
	}
	if err := migrate(ctx, s); err != nil {
		return fail(err)
	}
	if _, err := s.stmts.get(ctx, s.r, s.d.Rebind(changeSequenceQuery)); err != nil {
		return fail(err)
	}
	return s, nil
}

// Close releases the pools. Calling it again returns the first result.
func (s *Store) Close() error {
	s.close.Do(func() {
		var errs []error
		errs = append(errs, s.stmts.close())
		errs = append(errs, s.r.Close())
		if s.w != s.r {
			errs = append(errs, s.w.Close())
		}
		if s.closeEngine != nil {
			s.closeEngine()
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = s.errorf("close: %w", err)
		}
	})
	return s.closeErr
}

// errorf is fmt.Errorf for the store's errors, prefixed with the engine's
// name: it marks an outage with catalog.ErrUnavailable and a unique
// constraint failing with catalog.ErrConflict, so that callers answer "busy,
// try later" or "taken" instead of "bug".
func (s *Store) errorf(format string, args ...any) error {
	err := fmt.Errorf(s.prefix+format, args...)
	if s.d.IsUniqueViolation(err) {
		err = catalog.MarkConflict(err)
	}
	return catalog.MarkUnavailableIf(err, s.d.IsOutage)
}

// invalid returns the error of input that cannot be stored, marked
// catalog.ErrInvalid.
func (s *Store) invalid(op string, err error) error {
	return catalog.MarkInvalid(s.errorf("%s: %w", op, err))
}

// maxCachedStmts bounds the statements a stmtCache keeps: the store's
// queries are a fixed set; queries beyond the bound run unprepared.
const maxCachedStmts = 256

// stmtCache holds the statements prepared on one pool, by query text. Its
// statements live as long as the Store (never evicted, so never closed
// under a running query). Lookups take no lock.
type stmtCache struct {
	stmts sync.Map // query text → *sql.Stmt
	mu    sync.Mutex
	n     int // statements in stmts, under mu
}

// get returns the statement of q prepared on db, or nil when the cache is
// full.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	if st, ok := c.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	if c.n >= maxCachedStmts {
		return nil, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	c.stmts.Store(q, st)
	c.n++
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	c.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	c.stmts.Clear()
	c.n = 0
	return errors.Join(errs...)
}

// queryRow runs a one-row read outside a transaction, prepared on the
// reader pool (no connection is held while it prepares).
func (s *Store) queryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	st, err := s.stmts.get(ctx, s.r, s.d.Rebind(q))
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.r.QueryRowContext(ctx, s.d.Rebind(q), args...), nil
	}
	return st.QueryRowContext(ctx, args...), nil
}

// tx is one transaction of the store: queries are written with $N
// placeholders (see Dialect.Rebind). They run unprepared by database/sql:
// preparing on the pool while the transaction holds a connection could wait
// forever for another (SQLite's writer has one); pgx prepares and caches
// them on each connection itself.
type tx struct {
	*sql.Tx
	s    *Store
	conn *sql.Conn // the connection running the transaction (writes only)
	// native runs the queries of a read transaction instead of Tx when the
	// dialect is a NativeReader.
	native ReadTx
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, t.s.d.Rebind(q), args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) Row {
	if t.native != nil {
		return t.native.QueryRow(ctx, t.s.d.Rebind(q), args...)
	}
	return t.QueryRowContext(ctx, t.s.d.Rebind(q), args...)
}

// query runs q and calls each for every row.
func (t *tx) query(ctx context.Context, q string, args []any, each func(Row) error) error {
	if t.native != nil {
		rows, err := t.native.Query(ctx, t.s.d.Rebind(q), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return eachRow(rows, each)
	}
	rows, err := t.QueryContext(ctx, t.s.d.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, each)
}

// eachRow calls each for every row of rows (a *sql.Rows or a native
// driver's), then returns the error that ended them.
func eachRow(rows interface {
	Row
	Next() bool
	Err() error
}, each func(Row) error) error {
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// now returns the current time by the store's shared clock.
func (t *tx) now(ctx context.Context) (time.Time, error) {
	now, err := t.s.d.Now(ctx, t.Tx)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the clock: %w", err)
	}
	return now, nil
}

// write runs fn in one write transaction and commits it; op names the
// operation in the returned error. A transaction that fails with a
// retryable error is run again, so fn must not keep state from an earlier
// attempt. So is one that failed on a unique constraint: where transactions
// run beside each other (PostgreSQL, READ COMMITTED), another one committed
// the row it collided with after fn looked, and the next attempt sees that
// row (a replaced approval, a group name now taken).
func (s *Store) write(ctx context.Context, op string, fn func(t *tx) error) error {
	var err error
	for range writeAttempts {
		err = s.writeOnce(ctx, fn)
		if err == nil || !(s.d.Retryable(err) || s.d.IsUniqueViolation(err)) {
			break
		}
	}
	if err != nil {
		return s.errorf("%s: %w", op, err)
	}
	return nil
}

func (s *Store) writeOnce(ctx context.Context, fn func(t *tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	return s.inTx(ctx, conn, fn)
}

// inTx runs fn in one write transaction on conn and commits it; it rolls
// back when fn fails.
func (s *Store) inTx(ctx context.Context, conn *sql.Conn, fn func(t *tx) error) error {
	sqlTx, err := s.d.BeginWrite(ctx, conn)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&tx{Tx: sqlTx, s: s, conn: conn}); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in one read-only transaction, so that several queries see
// one snapshot.
func (s *Store) read(ctx context.Context, op string, fn func(t *tx) error) error {
	if nr, ok := s.d.(NativeReader); ok {
		rtx, err := nr.BeginRead(ctx)
		if err != nil {
			return s.errorf("%s: begin: %w", op, err)
		}
		defer rtx.Rollback(context.WithoutCancel(ctx))
		if err := fn(&tx{s: s, native: rtx}); err != nil {
			return s.errorf("%s: %w", op, err)
		}
		return nil
	}
	sqlTx, err := s.r.BeginTx(ctx, s.d.ReadOptions())
	if err != nil {
		return s.errorf("%s: begin: %w", op, err)
	}
	defer sqlTx.Rollback()
	if err := fn(&tx{Tx: sqlTx, s: s}); err != nil {
		return s.errorf("%s: %w", op, err)
	}
	return nil
}

// readOne runs fn in a read transaction and returns what it returns.
func readOne[T any](ctx context.Context, s *Store, op string, fn func(t *tx) (T, error)) (T, error) {
	var out T
	err := s.read(ctx, op, func(t *tx) error {
		var err error
		out, err = fn(t)
		return err
	})
	return out, err
}

// bumpChangeSequence records a change to revisions, approvals, declines,
// target groups or computer-group assignments. It must be the last
// statement of the transaction that makes the change: where the engine
// locks rows, the lock it takes is held until commit, and a transaction that
// waits for no other lock while holding it cannot deadlock.
func bumpChangeSequence(ctx context.Context, t *tx) error {
	_, err := nextChangeSequence(ctx, t)
	return err
}

// nextChangeSequence is bumpChangeSequence returning the value the
// transaction commits. What follows it in the transaction may only touch
// rows the transaction has written already (so holds their locks): it then
// waits for no other lock while holding the change sequence's.
func nextChangeSequence(ctx context.Context, t *tx) (int64, error) {
	var v int64
	if err := t.queryRow(ctx, "UPDATE change_sequence SET value = value + 1 WHERE id = 1 RETURNING value").Scan(&v); err != nil {
		return 0, fmt.Errorf("bump change sequence: %w", err)
	}
	return v, nil
}

// ChangeSequence returns the counter bumped by every change to revisions,
// approvals, declines, target groups or computer-group assignments (not by
// other changes to computers). It is one prepared statement (prepared at
// New): the only query a steady-state scan makes.
func (s *Store) ChangeSequence(ctx context.Context) (int64, error) {
	var v int64
	row, err := s.queryRow(ctx, changeSequenceQuery)
	if err == nil {
		err = row.Scan(&v)
	}
	if err != nil {
		return 0, s.errorf("change sequence: %w", err)
	}
	return v, nil
}

const changeSequenceQuery = "SELECT value FROM change_sequence WHERE id = 1"

// Ping checks that the catalog can be queried: one query on a reader
// connection. A failure is marked catalog.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return catalog.MarkUnavailable(fmt.Errorf("%sping: %w", s.prefix, err))
	}
	return nil
}

// ServerInfo returns the installation identity, creating it with a random ID
// on first use. ConfigChanged is the creation time by the shared clock, to
// the millisecond. When processes race to create it, the first insert wins
// and all return it.
func (s *Store) ServerInfo(ctx context.Context) (catalog.ServerInfo, error) {
	const get = "SELECT server_id, config_changed FROM server_info WHERE id = 1"
	row, err := s.queryRow(ctx, get)
	if err != nil {
		return catalog.ServerInfo{}, s.errorf("server info: %w", err)
	}
	info, err := scanServerInfo(row)
	if err == nil {
		return info, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return catalog.ServerInfo{}, s.errorf("server info: %w", err)
	}
	err = s.write(ctx, "server info", func(t *tx) error {
		now, err := t.now(ctx)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, "INSERT INTO server_info (id, server_id, config_changed) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
			uuid.New(), s.d.Time(now.Truncate(time.Millisecond)))
		if err != nil {
			return err
		}
		info, err = scanServerInfo(t.queryRow(ctx, get))
		return err
	})
	if err != nil {
		return catalog.ServerInfo{}, err
	}
	return info, nil
}

func scanServerInfo(row Row) (catalog.ServerInfo, error) {
	var info catalog.ServerInfo
	if err := row.Scan(&info.ID, timeDest{&info.ConfigChanged}); err != nil {
		return catalog.ServerInfo{}, err
	}
	return info, nil
}
