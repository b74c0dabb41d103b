package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5/pgconn"

	"wsus/catalog"
	"wsus/storage/s3store"
)

// sqliteFull returns a real SQLITE_FULL: a database whose page count is
// capped, filled past it.
func sqliteFull(t *testing.T) error {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{"PRAGMA max_page_count = 8", "CREATE TABLE t (b BLOB)"} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		if _, err := db.Exec("INSERT INTO t VALUES (zeroblob(4096))"); err != nil {
			return fmt.Errorf("sqlite: put report: %w", catalog.MarkUnavailable(err))
		}
	}
	t.Fatal("the capped database did not fill up")
	return nil
}

// TestClassify: the errors the stores return in each failure, built as
// their drivers build them, and what an operator line says of them.
func TestClassify(t *testing.T) {
	embedded := newOpsTargets(Config{DataDir: "/var/lib/wsus"})
	remote := newOpsTargets(Config{DataDir: "/var/lib/wsus", DatabaseURL: "postgres://wsus:hunter2@db.example:5432/wsus",
		S3: s3store.Config{Endpoint: "http://s3.example:7070", Bucket: "payloads"}})
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &syscallError{syscall.ECONNREFUSED}}
	s3Op := func(err error) error {
		return fmt.Errorf("storage: s3: stat k: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject", Err: err})
	}
	tests := []struct {
		name       string
		t          *opsTargets
		err        error
		dependency string // given by /readyz, else ""
		want       problem
	}{
		{"postgres refused, dialed", remote, catalog.MarkUnavailable(fmt.Errorf("postgres: ping: %w", refused)), "",
			problem{depCatalog, problemUnreachable, "catalog store unreachable: PostgreSQL at db.example:5432 does not answer; start it or correct the database URL (clients get ServerBusy and /readyz 503 until it answers)"}},
		{"postgres shutting down", remote, fmt.Errorf("postgres: x: %w", &pgconn.PgError{Code: "57P01"}), "",
			problem{depCatalog, problemUnreachable, "catalog store unreachable: PostgreSQL at db.example:5432 does not answer; start it or correct the database URL (clients get ServerBusy and /readyz 503 until it answers)"}},
		{"postgres login refused", remote, &pgconn.PgError{Code: "28P01"}, depCatalog,
			problem{depCatalog, problemAccessDenied, "catalog store refused the login: PostgreSQL at db.example:5432 rejected the user or password of the database URL; correct them"}},
		{"postgres disk full", remote, &pgconn.PgError{Code: "53100"}, "",
			problem{depCatalog, problemDiskFull, "catalog store out of disk: PostgreSQL at db.example:5432 has no space left; free space on the database server's volume"}},
		{"sqlite full", embedded, sqliteFull(t), "",
			problem{depCatalog, problemDiskFull, "disk full: the embedded catalog in the data directory /var/lib/wsus has no space left; free space or grow its volume (reports and synchronizations fail until then)"}},
		{"sqlite busy", embedded, catalog.MarkUnavailable(fmt.Errorf("database is locked")), "", problem{}},
		{"filesystem store ENOSPC", embedded, fmt.Errorf("storage: put k: %w", &fs.PathError{Op: "write", Path: "k", Err: syscall.ENOSPC}), "",
			problem{depDataDir, problemDiskFull, "disk full: no space left in the data directory /var/lib/wsus; free space or grow its volume"}},
		{"filesystem store EDQUOT, from /readyz", embedded, &fs.PathError{Op: "write", Path: "k", Err: syscall.EDQUOT}, depContent,
			problem{depContent, problemDiskFull, "disk full: the content directory /var/lib/wsus/content has no space left; free space or grow the data directory's volume (payloads cannot be stored until then)"}},
		{"S3 refused", remote, s3Op(refused), "",
			problem{depContent, problemUnreachable, "content store unreachable: S3 endpoint http://s3.example:7070 (bucket payloads) does not answer; start it or correct the S3 endpoint (downloads answer 503 until it answers)"}},
		{"S3 access denied", remote, s3Op(&smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}), "",
			problem{depContent, problemAccessDenied, "content store denied access: S3 bucket payloads at http://s3.example:7070 refused this server's credentials; correct the access key, the secret key or the bucket's policy (downloads answer 503 until then)"}},
		{"S3 bad key", remote, s3Op(&smithy.GenericAPIError{Code: "InvalidAccessKeyId"}), "",
			problem{depContent, problemAccessDenied, "content store denied access: S3 bucket payloads at http://s3.example:7070 refused this server's credentials; correct the access key, the secret key or the bucket's policy (downloads answer 503 until then)"}},
		{"S3 missing object", remote, s3Op(&smithy.GenericAPIError{Code: "NoSuchKey"}), "", problem{}},
		{"content not found", embedded, fmt.Errorf("x: %w", fs.ErrNotExist), "", problem{}},
		{"root cause alone", remote, syscall.ECONNREFUSED, "", problem{}},
		{"client went away", remote, context.Canceled, "", problem{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.t.classify(tc.err, tc.dependency)
			if ok != (tc.want != problem{}) || (ok && got != tc.want) {
				t.Errorf("classify(%v) = %+v, %v; want %+v", tc.err, got, ok, tc.want)
			}
		})
	}
}

// syscallError is an os.SyscallError as net's dial returns it.
type syscallError struct{ errno syscall.Errno }

func (e *syscallError) Error() string { return "connect: " + e.errno.Error() }
func (e *syscallError) Unwrap() error { return e.errno }

// TestOpsHandler: an operator line follows a warning carrying a problem,
// names no request and no URL password; lines below WARN, and warnings
// whose errors are not problems, are left alone; the error found in a
// later attribute (the whole chain) wins over a root cause that names no
// store.
func TestOpsHandler(t *testing.T) {
	var buf bytes.Buffer
	targets := newOpsTargets(Config{DataDir: "/d", DatabaseURL: "postgres://u:secret@db:5432/w"})
	log := slog.New(newOpsHandler(slog.NewJSONHandler(&buf, nil), targets)).With("component", "x")
	chain := catalog.MarkUnavailable(fmt.Errorf("postgres: q: %w", &net.OpError{Op: "dial", Err: &syscallError{syscall.ECONNREFUSED}}))
	log.Info("fine", "err", chain)
	log.Warn("other", "err", fmt.Errorf("boom"))
	log.WithGroup("g").Warn("soap operation failed", "err", syscall.ECONNREFUSED, "detail", chain)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), buf.String())
	}
	op := lines[3]
	want := map[string]any{"level": "ERROR", "dependency": depCatalog, "err": problemUnreachable, "detail": chain.Error(),
		"msg": "catalog store unreachable: PostgreSQL at db:5432 does not answer; start it or correct the database URL (clients get ServerBusy and /readyz 503 until it answers)"}
	delete(op, "time")
	if fmt.Sprint(op) != fmt.Sprint(want) {
		t.Errorf("operator line\n %v, want\n %v", op, want)
	}
	if strings.Contains(buf.String(), "secret") {
		t.Error("the log carries the URL's password")
	}
}
