package server_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"wsus/clientsim"
	"wsus/internal/syncbuf"
	"wsus/internal/testpg"
	"wsus/internal/tests3"
	"wsus/server"
	"wsus/storage"
	"wsus/storage/s3store"
)

// operatorLines returns the ERROR lines of logs with the attribute err
// (the problem) set to problem.
func operatorLines(t *testing.T, logs string, problem string) []map[string]any {
	t.Helper()
	return jsonLogLines(t, logs, func(rec map[string]any) bool { return rec["level"] == "ERROR" && rec["err"] == problem })
}

// wantOperatorLine checks that logs hold an operator line for dependency
// and problem, whose message is msg, and none naming a request.
func wantOperatorLine(t *testing.T, logs, dependency, problem, msg string) {
	t.Helper()
	lines := operatorLines(t, logs, problem)
	found := false
	for _, l := range lines {
		if l["dependency"] != dependency {
			continue
		}
		if l["msg"] != msg {
			t.Errorf("operator line %q, want %q", l["msg"], msg)
		}
		if _, ok := l["request_id"]; ok {
			t.Errorf("operator line names a request: %v", l)
		}
		if d, _ := l["detail"].(string); d == "" {
			t.Errorf("operator line without detail: %v", l)
		}
		found = true
	}
	if !found {
		t.Errorf("no operator line for %s %s in:\n%s", dependency, problem, logs)
	}
}

// TestOperatorLinePostgresDown: with PostgreSQL stopped, /readyz and the
// client's SOAP calls fail, and an ERROR line says the catalog store is
// unreachable, naming PostgreSQL's host (not the URL's password).
func TestOperatorLinePostgresDown(t *testing.T) {
	pg := testpg.NewPrivate(t)
	var logs syncbuf.Buffer
	r := startServers(t, server.Config{DataDir: t.TempDir(), DatabaseURL: pg.URL(), AdminToken: "t"}, "All Computers", slog.New(slog.NewJSONHandler(&logs, nil)))
	pg.Stop()
	wantNotReady(t, fetch(t, r.base+"/readyz", ""), "catalog store")
	if _, err := clientsim.Scan(context.Background(), clientsim.Config{ServerURL: r.base}); err == nil {
		t.Error("a scan succeeded with PostgreSQL stopped")
	}
	u, err := url.Parse(pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("catalog store unreachable: PostgreSQL at %s does not answer; start it or correct the database URL (clients get ServerBusy and /readyz 503 until it answers)", u.Host)
	wantOperatorLine(t, logs.String(), "catalog store", "unreachable", msg)
	if p, ok := u.User.Password(); ok && p != "" && strings.Contains(logs.String(), p) {
		t.Error("the log carries the database password")
	}
	// Every failed SOAP call and /readyz gave its own line: the operator
	// lines are many, identical but for detail, for the log's deduplication.
	if n := len(operatorLines(t, logs.String(), "unreachable")); n < 2 {
		t.Errorf("%d operator lines, want one per failure (the /readyz check and the scan)", n)
	}
}

// TestOperatorLineS3Down: with S3 stopped, /readyz and content requests
// fail (503), and an ERROR line says the content store is unreachable,
// naming the endpoint and bucket.
func TestOperatorLineS3Down(t *testing.T) {
	s3 := tests3.Start(t)
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t", S3: s3Config(s3)}
	var logs syncbuf.Buffer
	r := startServers(t, cfg, "All Computers", slog.New(slog.NewJSONHandler(&logs, nil)))
	s3.Stop(t)
	if a := fetch(t, r.base+demoPayloadPath, ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("content with S3 stopped: %d, want 503", a.status)
	}
	msg := fmt.Sprintf("content store unreachable: S3 endpoint %s (bucket %s) does not answer; start it or correct the S3 endpoint (downloads answer 503 until it answers)", cfg.S3.Endpoint, cfg.S3.Bucket)
	wantOperatorLine(t, logs.String(), "content store", "unreachable", msg)
	before := len(operatorLines(t, logs.String(), "unreachable"))
	wantNotReady(t, fetch(t, r.base+"/readyz", ""), "content store")
	if after := len(operatorLines(t, logs.String(), "unreachable")); after != before+1 {
		t.Errorf("/readyz gave %d operator lines, want 1", after-before)
	}
	wantOperatorLine(t, logs.String(), "content store", "unreachable", msg)
}

// fullStore is a blob store whose volume is full: every call fails with
// ENOSPC, as the filesystem store reports it.
type fullStore struct{ storage.BlobStore }

func (fullStore) err(op, key string) error {
	return fmt.Errorf("storage: %s %s: %w", op, key, &fs.PathError{Op: op, Path: key, Err: syscall.ENOSPC})
}

func (f fullStore) Stat(_ context.Context, key string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, f.err("stat", key)
}

func (f fullStore) OpenRange(_ context.Context, key string, _, _ int64) (io.ReadCloser, error) {
	return nil, f.err("open", key)
}

func (f fullStore) Put(_ context.Context, key string, _ io.Reader, _ storage.Digests) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, f.err("write", key)
}

// TestOperatorLineDiskFull: a filesystem store failing with ENOSPC (the
// store replaced by one that does, as no small volume can be filled here)
// gives content requests 503 and an ERROR line naming the data directory.
func TestOperatorLineDiskFull(t *testing.T) {
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t"}
	stores, err := server.OpenStores(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	stores.Blobs = fullStore{stores.Blobs}
	var logs syncbuf.Buffer
	base := serveStores(t, cfg, stores, slog.New(slog.NewJSONHandler(&logs, nil)))
	if a := fetch(t, base+demoPayloadPath, ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("content on a full disk: %d, want 503", a.status)
	}
	msg := fmt.Sprintf("disk full: no space left in the data directory %s; free space or grow its volume", cfg.DataDir)
	wantOperatorLine(t, logs.String(), "data directory", "disk full", msg)
}

// serveStores serves stores (opened by the test) with logger on a loopback
// listener until the test ends, and returns the server's URL.
func serveStores(t *testing.T, cfg server.Config, stores server.Stores, logger *slog.Logger) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, stores, logger)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestOperatorLineS3Credentials: the error the S3 store returns for
// credentials S3 does not accept is a content store refusing access. The
// store does not open with them, so a store failing every call with that
// real error stands for a server whose keys were revoked while it ran.
func TestOperatorLineS3Credentials(t *testing.T) {
	s3 := tests3.Start(t)
	cfg := s3Config(s3)
	ctx := context.Background()
	good, err := s3store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	cfg.SecretAccessKey = "not-" + cfg.SecretAccessKey
	_, denied := s3store.Open(ctx, cfg)
	if denied == nil {
		t.Fatal("the S3 store opened with a wrong secret key")
	}
	stores, err := server.OpenStores(ctx, server.Config{DataDir: t.TempDir(), AdminToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	stores.Blobs = failingStore{denied}
	var logs syncbuf.Buffer
	base := serveStores(t, server.Config{DataDir: t.TempDir(), AdminToken: "t", S3: cfg}, stores, slog.New(slog.NewJSONHandler(&logs, nil)))
	wantNotReady(t, fetch(t, base+"/readyz", ""), "content store")
	if a := fetch(t, base+demoPayloadPath, ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("content with credentials refused: %d, want 503", a.status)
	}
	msg := fmt.Sprintf("content store denied access: S3 bucket %s at %s refused this server's credentials; correct the access key, the secret key or the bucket's policy (downloads answer 503 until then)", cfg.Bucket, cfg.Endpoint)
	wantOperatorLine(t, logs.String(), "content store", "access denied", msg)
	if n := len(operatorLines(t, logs.String(), "access denied")); n != 2 {
		t.Errorf("%d operator lines, want 2 (/readyz, the content request)", n)
	}
}

// failingStore is a blob store whose every call fails with err.
type failingStore struct{ err error }

func (f failingStore) Ping(context.Context) error { return f.err }
func (f failingStore) Stat(context.Context, string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, f.err
}
func (f failingStore) OpenRange(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, f.err
}
func (f failingStore) Put(context.Context, string, io.Reader, storage.Digests) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, f.err
}
func (f failingStore) Delete(context.Context, string) error { return f.err }
func (f failingStore) List(context.Context, func(storage.ObjectInfo) error) error {
	return f.err
}
