package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"wsus/catalog"
	"wsus/catalog/sqlite"
)

// Operator error lines. The failures an operator must act on (a store that
// does not answer, credentials refused, a disk full) surface as warnings
// and errors of many sites, each in its own words: "soap operation
// failed" and "soap server busy" (soap), "content: store failed" (the
// content handler's 503), "server: not ready" (/readyz), a failed
// synchronization. Each of those lines is still written; opsHandler, the
// server's log handler, classifies the error it carries (errors.Is and
// errors.As on the whole chain, no text matching) and follows it with one
// ERROR line that says in one sentence what is wrong, where, and what to
// do, with these attributes:
//
//	dependency  "catalog store", "content store" or "data directory"
//	err         the problem: "unreachable", "access denied" or "disk full"
//	detail      the error that showed it
//
// The message names the instance (PostgreSQL's host, the S3 endpoint and
// bucket, the data directory), so level, message, err and dependency are
// the same for every request an outage fails: internal/logdedup, which
// wsusd puts under the server's logger with "err" and "dependency" as key
// attributes, writes it once a minute with its count.
//
// An error whose dependency is not known (an ENOSPC out of a file write
// with no store's mark) is taken as the data directory's, the only volume
// the server writes to.
type opsHandler struct {
	next slog.Handler
	// root is the handler operator lines are written to: next before any
	// WithAttrs or WithGroup, so that they stand on their own.
	root slog.Handler
	t    *opsTargets
}

// opsTargets names what the server depends on, for the operator lines.
type opsTargets struct {
	dataDir string
	// postgres is PostgreSQL's host[:port] ("" when the catalog is
	// embedded in dataDir).
	postgres string
	// s3Endpoint and s3Bucket name the S3 content store ("" for the
	// filesystem store in dataDir/content).
	s3Endpoint, s3Bucket string
}

// The problems an operator line reports (its err attribute).
const (
	problemUnreachable  = "unreachable"
	problemAccessDenied = "access denied"
	problemDiskFull     = "disk full"
)

// The dependencies an operator line names (its dependency attribute); the
// first two are also /readyz's names (health.go).
const (
	depCatalog = "catalog store"
	depContent = "content store"
	depDataDir = "data directory"
)

func newOpsTargets(cfg Config) *opsTargets {
	t := &opsTargets{dataDir: cfg.DataDir, s3Bucket: cfg.S3.Bucket}
	if cfg.DatabaseURL != "" {
		t.postgres = "(host in the database URL)"
		// A URL names its host; a keyword/value string ("host=... ")
		// does not parse as one. The URL's password is never logged.
		if u, err := url.Parse(cfg.DatabaseURL); err == nil && u.Host != "" {
			t.postgres = "at " + u.Host
		}
	}
	if cfg.S3.Bucket != "" {
		t.s3Endpoint = cfg.S3.Endpoint
		if t.s3Endpoint == "" {
			t.s3Endpoint = "Amazon S3"
		}
	}
	return t
}

// newOpsHandler returns next followed by an operator line after every
// warning or error whose error attribute is a problem of t.
func newOpsHandler(next slog.Handler, t *opsTargets) slog.Handler {
	return &opsHandler{next: next, root: next, t: t}
}

// Enabled reports whether next handles level.
func (h *opsHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle passes rec on, then writes the operator line of the first error
// attribute of a warning or error that is an operator's problem.
func (h *opsHandler) Handle(ctx context.Context, rec slog.Record) error {
	err := h.next.Handle(ctx, rec)
	if rec.Level < slog.LevelWarn {
		return err
	}
	var dependency string
	var errs []error
	rec.Attrs(func(a slog.Attr) bool {
		switch v := a.Value.Resolve(); {
		case a.Key == "dependency" && v.Kind() == slog.KindString:
			dependency = v.String()
		case v.Kind() == slog.KindAny:
			if e, ok := v.Any().(error); ok && e != nil {
				errs = append(errs, e)
			}
		}
		return true
	})
	// The first error that names its store wins; one that does not (a
	// root cause, logged beside its whole chain) only if none does.
	var found problem
	var cause error
	for _, e := range errs {
		if p, ok := h.t.classify(e, dependency); ok && (cause == nil || found.dependency == depDataDir) {
			found, cause = p, e
		}
	}
	if cause == nil {
		return err
	}
	line := slog.NewRecord(rec.Time, slog.LevelError, found.message, 0)
	line.AddAttrs(slog.String("dependency", found.dependency), slog.String("err", found.problem), slog.String("detail", cause.Error()))
	// Not the request's context: the line is about the process, the same
	// for every request (and deduplicated as such).
	return errors.Join(err, h.root.Handle(context.Background(), line))
}

// WithAttrs returns the handler with attrs added to next.
func (h *opsHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &opsHandler{next: h.next.WithAttrs(attrs), root: h.root, t: h.t}
}

// WithGroup returns the handler with the group opened on next.
func (h *opsHandler) WithGroup(name string) slog.Handler {
	return &opsHandler{next: h.next.WithGroup(name), root: h.root, t: h.t}
}

// problem is one operator line.
type problem struct {
	dependency, problem, message string
}

// classify returns the operator line of err, reported with the
// dependency named (by /readyz), or "" to tell from err; ok is false when
// err is not an operator's problem.
func (t *opsTargets) classify(err error, dependency string) (p problem, ok bool) {
	if dependency == "" {
		dependency = dependencyOf(err)
	}
	switch {
	case isDiskFull(err):
		p.problem = problemDiskFull
	case isAccessDenied(err):
		p.problem = problemAccessDenied
	case isUnreachable(err):
		p.problem = problemUnreachable
	default:
		return p, false
	}
	if dependency == "" {
		if p.problem != problemDiskFull {
			return p, false
		}
		dependency = depDataDir
	}
	p.dependency = dependency
	p.message = t.message(dependency, p.problem)
	return p, p.message != ""
}

// message is the sentence of an operator line, "" for a problem the
// dependency cannot have (a filesystem store is never unreachable).
func (t *opsTargets) message(dependency, problem string) string {
	dir := t.dataDir
	switch dependency + "/" + problem {
	case depCatalog + "/" + problemUnreachable:
		if t.postgres == "" {
			return ""
		}
		return fmt.Sprintf("catalog store unreachable: PostgreSQL %s does not answer; start it or correct the database URL (clients get ServerBusy and /readyz 503 until it answers)", t.postgres)
	case depCatalog + "/" + problemAccessDenied:
		if t.postgres == "" {
			return fmt.Sprintf("catalog store not writable: permission denied on the embedded catalog in the data directory %s; give the service's user access to it", dir)
		}
		return fmt.Sprintf("catalog store refused the login: PostgreSQL %s rejected the user or password of the database URL; correct them", t.postgres)
	case depCatalog + "/" + problemDiskFull:
		if t.postgres == "" {
			return fmt.Sprintf("disk full: the embedded catalog in the data directory %s has no space left; free space or grow its volume (reports and synchronizations fail until then)", dir)
		}
		return fmt.Sprintf("catalog store out of disk: PostgreSQL %s has no space left; free space on the database server's volume", t.postgres)
	case depContent + "/" + problemUnreachable:
		if t.s3Bucket == "" {
			return ""
		}
		return fmt.Sprintf("content store unreachable: S3 endpoint %s (bucket %s) does not answer; start it or correct the S3 endpoint (downloads answer 503 until it answers)", t.s3Endpoint, t.s3Bucket)
	case depContent + "/" + problemAccessDenied:
		if t.s3Bucket == "" {
			return fmt.Sprintf("content store not writable: permission denied in %s; give the service's user access to it", filepath.Join(dir, "content"))
		}
		return fmt.Sprintf("content store denied access: S3 bucket %s at %s refused this server's credentials; correct the access key, the secret key or the bucket's policy (downloads answer 503 until then)", t.s3Bucket, t.s3Endpoint)
	case depContent + "/" + problemDiskFull:
		if t.s3Bucket != "" {
			return fmt.Sprintf("disk full: no space left in the data directory %s; free space or grow its volume", dir)
		}
		return fmt.Sprintf("disk full: the content directory %s has no space left; free space or grow the data directory's volume (payloads cannot be stored until then)", filepath.Join(dir, "content"))
	case depDataDir + "/" + problemDiskFull:
		return fmt.Sprintf("disk full: no space left in the data directory %s; free space or grow its volume", dir)
	}
	return ""
}

// dependencyOf tells the store err came from by its marks: the S3 SDK's
// operation error or HTTP answer for the content store; the catalog's
// outage mark, a PostgreSQL error or an SQLite one for the catalog store;
// "" when err carries none.
func dependencyOf(err error) string {
	var op interface{ Service() string }
	var status interface{ HTTPStatusCode() int }
	switch {
	case errors.As(err, &op) && op.Service() == "S3", errors.As(err, &status):
		return depContent
	case errors.Is(err, catalog.ErrUnavailable), sqlState(err) != "", sqlite.IsDiskFull(err):
		return depCatalog
	}
	return ""
}

// sqlState returns the SQLSTATE of a PostgreSQL error (pgconn.PgError),
// "" for any other error.
func sqlState(err error) string {
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState()
	}
	return ""
}

// isDiskFull: no space left (ENOSPC, or the quota: EDQUOT), SQLite's
// SQLITE_FULL, or PostgreSQL's disk_full (SQLSTATE 53100).
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		sqlite.IsDiskFull(err) || sqlState(err) == "53100"
}

// s3Denied are the S3 error codes of credentials or a policy refused.
var s3Denied = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"ExpiredToken": true, "InvalidToken": true, "AllAccessDisabled": true,
}

// isAccessDenied: S3 refused the credentials (its error code, or 403),
// PostgreSQL refused the login (SQLSTATE class 28), or a file is not
// accessible (EACCES, EPERM).
func isAccessDenied(err error) bool {
	var code interface{ ErrorCode() string }
	if errors.As(err, &code) && s3Denied[code.ErrorCode()] {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() == 403 {
		return true
	}
	return strings.HasPrefix(sqlState(err), "28") || errors.Is(err, os.ErrPermission)
}

// isUnreachable: the connection was refused, reset or timed out, the host
// or network is unreachable, its name does not resolve, or PostgreSQL is
// shutting down or not accepting connections (SQLSTATE classes 08 and
// 57P).
func isUnreachable(err error) bool {
	var dns *net.DNSError
	state := sqlState(err)
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.As(err, &dns) ||
		strings.HasPrefix(state, "08") || strings.HasPrefix(state, "57P")
}
