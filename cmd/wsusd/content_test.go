package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog/sqlite"
	"wsus/internal/syncbuf"
	"wsus/internal/tests3"
)

// demoKey is where the demo payload (testdata/catalog/local) is stored.
const demoKey = "a7/f46a38a8d1d08313e910b122be46fcf42ccec2a7"

// s3Env selects a new bucket on srv through the WSUS_S3_* variables, the
// credentials coming from the AWS SDK's default chain (its environment
// variables). It returns the bucket's directory on srv's disk.
func s3Env(t *testing.T, srv *tests3.Server) string {
	t.Helper()
	bucket := fmt.Sprintf("wsusd-%d", rand.Uint64())
	for k, v := range map[string]string{
		"WSUS_DATA":             t.TempDir(),
		"WSUS_S3_ENDPOINT":      srv.Endpoint,
		"WSUS_S3_BUCKET":        bucket,
		"WSUS_S3_REGION":        srv.Region,
		"WSUS_S3_PREFIX":        "content",
		"WSUS_S3_PATH_STYLE":    "true",
		"AWS_ACCESS_KEY_ID":     srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": srv.SecretKey,
		"AWS_PROFILE":           "",
		"AWS_CONFIG_FILE":       filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
	return filepath.Join(srv.Dir(), bucket, "content")
}

// TestContentCommandsOnS3: WSUS_S3_* select the S3 store for import,
// content verify and content gc alike.
func TestContentCommandsOnS3(t *testing.T) {
	srv := tests3.Start(t)
	bucketDir := s3Env(t, srv)
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import", "--approve", "All Computers", "../../testdata/catalog/local"}, 0, "1 payloads stored"},
		{[]string{"content", "verify"}, 0, "verified: 1 payloads, 3080000 bytes; 0 corrupt, 0 not in the catalog, 0 foreign; 0 deleted\n"},
		{[]string{"content", "gc", "--min-age", "0s"}, 0, "gc: 1 files referenced; 1 payloads kept, deleted 0 (0 bytes), 0 spared by --min-age, 0 foreign; 0 interrupted writes removed\n"},
	}
	for i, s := range steps {
		code, out, errs := runWsusd(t, s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("step %d %v: exit %d\nstdout %q\nstderr %s\nwant %q", i, s.args, code, out, errs, s.want)
		}
	}
	if _, err := os.Stat(filepath.Join(bucketDir, demoKey)); err != nil {
		t.Fatalf("the payload is not in the bucket: %v", err)
	}

	// Damage the payload on the S3 server's disk: verify notices.
	p := filepath.Join(bucketDir, demoKey)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runWsusd(t, "content", "verify")
	if code != 1 || !strings.Contains(out, "corrupt "+demoKey+": SHA-1") || !strings.Contains(errs, "1 corrupt payloads") {
		t.Fatalf("verify of a damaged payload: exit %d\n%s%s", code, out, errs)
	}

	// Decline the update: its payload becomes garbage.
	cat, err := sqlite.Open(context.Background(), filepath.Join(os.Getenv("WSUS_DATA"), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = cat.SetDeclined(context.Background(), uuid.MustParse("7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7"), true)
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		args []string
		want string
	}{
		{[]string{"content", "gc"}, "0 payloads kept, deleted 0 (0 bytes), 1 spared by --min-age"},
		{[]string{"content", "gc", "--min-age", "0s", "--dry-run"}, "would delete 1 (3080000 bytes)"},
		{[]string{"content", "gc", "--min-age", "0s"}, "deleted 1 (3080000 bytes)"},
		{[]string{"content", "verify"}, "verified: 0 payloads"},
	} {
		code, out, errs := runWsusd(t, s.args...)
		if code != 0 || !strings.Contains(out, s.want) {
			t.Fatalf("%v: exit %d\nstdout %q\nstderr %s\nwant %q", s.args, code, out, errs, s.want)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("gc left the payload in the bucket: %v", err)
	}
}

// TestServeFromS3: `wsusd serve` honours WSUS_S3_* and --content-redirect.
func TestServeFromS3(t *testing.T) {
	srv := tests3.Start(t)
	s3Env(t, srv)
	if code, out, errs := runWsusd(t, "import", "../../testdata/catalog/local"); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	for _, tc := range []struct {
		args   []string
		status int
	}{
		{nil, http.StatusOK},
		{[]string{"--content-redirect", "presign"}, http.StatusFound},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		ctx, cancel := context.WithCancel(context.Background())
		var logs syncbuf.Buffer
		done := make(chan int)
		go func() { done <- run(ctx, append([]string{"serve", "--listen", addr}, tc.args...), &logs, &logs) }()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var resp *http.Response
		for range 100 {
			if resp, err = client.Head("http://" + addr + "/Content/A7/F46A38A8D1D08313E910B122BE46FCF42CCEC2A7.bin"); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve %v exited %d: %s", tc.args, code, logs.String())
		}
		if err != nil {
			t.Fatalf("serve %v: %v\n%s", tc.args, err, logs.String())
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.status == 302 && !strings.HasPrefix(resp.Header.Get("Location"), srv.Endpoint)) {
			t.Errorf("serve %v: HEAD content: %d %q", tc.args, resp.StatusCode, resp.Header.Get("Location"))
		}
		if !strings.Contains(logs.String(), "content=s3://") {
			t.Errorf("the log does not name the S3 store: %s", logs.String())
		}
	}
}

func TestBadContentInvocations(t *testing.T) {
	t.Setenv("WSUS_DATA", t.TempDir())
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		message string
	}{
		{"content needs a command", nil, []string{"content"}, 2, "usage: wsusd content"},
		{"unknown content command", nil, []string{"content", "scrub"}, 2, `unknown command "scrub"`},
		{"content help", nil, []string{"content", "-h"}, 0, "usage: wsusd content"},
		{"verify takes no arguments", nil, []string{"content", "verify", "x"}, 2, "takes no arguments"},
		{"negative min age", nil, []string{"content", "gc", "--min-age", "-1h"}, 2, `--min-age (WSUS_CONTENT_GC_MIN_AGE): invalid value "-1h" on the command line: want a duration such as 30s, 5m or 1h30m, not negative`},
		{"S3 endpoint without bucket", map[string]string{"WSUS_S3_ENDPOINT": "http://127.0.0.1:1"}, []string{"content", "gc"}, 2, "--s3-endpoint (WSUS_S3_ENDPOINT) is given without --s3-bucket (WSUS_S3_BUCKET)"},
		{"bad path style", map[string]string{"WSUS_S3_PATH_STYLE": "sometimes"}, []string{"import", "../../testdata/catalog/local"}, 2, `--s3-path-style (WSUS_S3_PATH_STYLE): invalid value "sometimes" in WSUS_S3_PATH_STYLE: want true or false`},
		{"presign without S3", nil, []string{"serve", "--content-redirect", "presign"}, 2, `--content-redirect (WSUS_CONTENT_REDIRECT) "presign" needs the S3 content store: give --s3-bucket (WSUS_S3_BUCKET)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out, errs := runWsusd(t, c.args...)
			if code != c.code || !strings.Contains(out+errs, c.message) {
				t.Errorf("exit %d, output %q%q; want exit %d mentioning %q", code, out, errs, c.code, c.message)
			}
		})
	}
}
