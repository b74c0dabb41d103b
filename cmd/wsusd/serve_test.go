package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"wsus/internal/syncbuf"
	"wsus/internal/version"
)

var testClient = &http.Client{Timeout: 30 * time.Second}

// get GETs url, with the bearer token unless it is empty.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitForLog waits (generously) until the log matches re and returns the
// submatches.
func waitForLog(t *testing.T, log *syncbuf.Buffer, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(log.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log never matched %s:\n%s", re, log)
		}
	}
}

// wsusd serve as SIGTERM meets it: the admin API on its own listener with
// the token from a file, a request stalled in flight at the signal; the
// shutdown closes it after --shutdown-timeout and wsusd exits 0.
func TestServeAdminListenerAndShutdown(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("from-file-token-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WSUS_DATA", filepath.Join(dir, "data"))
	t.Setenv("WSUS_ADMIN_TOKEN_FILE", tokenFile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--shutdown-timeout", "300ms",
			"--max-inflight", "8", "--max-buffered-bytes", "1048576"}, &stdout, &stderr)
	}()
	m := waitForLog(t, &stderr, regexp.MustCompile(`msg="wsusd serving" addr=(\S+) admin_addr=(\S+)`))
	client, admin := "http://"+m[1], "http://"+m[2]

	if code, body := get(t, client+"/api/v1/groups", "from-file-token-0123"); code != 404 {
		t.Errorf("client listener /api/v1/groups: %d %s, want 404", code, body)
	}
	code, body := get(t, admin+"/api/v1/groups", "from-file-token-0123")
	var groups struct{ Groups []struct{ Name string } }
	if err := json.Unmarshal([]byte(body), &groups); code != 200 || err != nil || len(groups.Groups) == 0 {
		t.Errorf("admin listener /api/v1/groups: %d %s", code, body)
	}
	var info struct {
		Version, Catalog, Content string
		ServerID                  string `json:"server_id"`
		GoVersion                 string `json:"go_version"`
	}
	code, body = get(t, admin+"/api/v1/server", "from-file-token-0123")
	if err := json.Unmarshal([]byte(body), &info); code != 200 || err != nil || info.Version != version.Get().Version ||
		info.Catalog != "embedded" || info.Content != "filesystem" || len(info.ServerID) != 36 || info.GoVersion != version.Get().GoVersion {
		t.Errorf("admin listener /api/v1/server: %d %s; want the build, embedded, filesystem and the server ID", code, body)
	}
	for _, base := range []string{client, admin} {
		if code, body := get(t, base+"/healthz", ""); code != 200 || body != "ok\n" {
			t.Errorf("%s/healthz: %d %q", base, code, body)
		}
		if code, body := get(t, base+"/readyz", ""); code != 200 || body != "ok "+version.Get().String()+"\n" {
			t.Errorf("%s/readyz: %d %q, want ok and the version", base, code, body)
		}
	}

	// A request whose body never comes, in its handler at the signal.
	conn, err := net.Dial("tcp", strings.TrimPrefix(admin, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /api/v1/groups HTTP/1.1\r\nHost: wsus\r\nAuthorization: Bearer from-file-token-0123\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, " 100 ") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}

	cancel() // SIGTERM
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d, want 0\n%s", code, &stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("wsusd still running 20 s after SIGTERM with --shutdown-timeout 300ms\n%s", &stderr)
	}
	log := stderr.String()
	for _, want := range []string{"closed the connections still open", "connections=1", `msg="wsusd stopped"`, "file=" + tokenFile} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "admin-token")); !os.IsNotExist(err) {
		t.Errorf("admin-token created in the data directory although a token file was given (%v)", err)
	}
}

func TestServeFlagErrors(t *testing.T) {
	t.Setenv("WSUS_DATA", t.TempDir())
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		wants []string
	}{
		{"token and token file", nil, []string{"--admin-token", "0123456789abcdef", "--admin-token-file", file}, []string{"--admin-token (WSUS_ADMIN_TOKEN)", "--admin-token-file (WSUS_ADMIN_TOKEN_FILE)"}},
		{"token from the environment and token file", map[string]string{"WSUS_ADMIN_TOKEN": "0123456789abcdef"}, []string{"--admin-token-file", file}, []string{"--admin-token (WSUS_ADMIN_TOKEN)", "--admin-token-file"}},
		{"cookie key and key file", map[string]string{"WSUS_COOKIE_KEY_FILE": file}, []string{"--cookie-key", strings.Repeat("ab", 32)}, []string{"--cookie-key (WSUS_COOKIE_KEY)", "--cookie-key-file (WSUS_COOKIE_KEY_FILE)"}},
		{"negative max-inflight", nil, []string{"--max-inflight", "-1"}, []string{`--max-inflight (WSUS_MAX_INFLIGHT): invalid value "-1" on the command line: want an integer, at least 0`}},
		{"negative max-buffered-bytes", map[string]string{"WSUS_MAX_BUFFERED_BYTES": "-5"}, nil, []string{`--max-buffered-bytes (WSUS_MAX_BUFFERED_BYTES): invalid value "-5" in WSUS_MAX_BUFFERED_BYTES: want an integer, at least 0`}},
		{"negative shutdown-timeout", nil, []string{"--shutdown-timeout", "-1s"}, []string{`--shutdown-timeout (WSUS_SHUTDOWN_TIMEOUT): invalid value "-1s" on the command line: want a duration such as 30s, 5m or 1h30m, not negative`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out, errs := runWsusd(t, append([]string{"serve", "--listen", "127.0.0.1:0"}, c.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2; output %q%q", code, out, errs)
			}
			for _, w := range c.wants {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q does not name %q", errs, w)
				}
			}
		})
	}
	// An empty token file is refused before serving.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runWsusd(t, "serve", "--listen", "127.0.0.1:0", "--admin-token-file", empty); code != 2 || !strings.Contains(errs, "is empty") {
		t.Errorf("empty token file: exit %d, %q; want 2 saying it is empty", code, errs)
	}
}

// The command's logger writes identical errors once, with their count at
// the end.
func TestLoggerDeduplicates(t *testing.T) {
	var buf syncbuf.Buffer
	c := common{logLevel: "info", logFormat: "json"}
	logger, err := c.logger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		logger.Error("catalog store failed", "err", "connection refused")
	}
	logger.Warn("admin: authentication failed", "source", "192.0.2.1")
	logger.Warn("admin: authentication failed", "source", "192.0.2.2")
	c.flushLog()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, v)
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), &buf)
	}
	if lines[3]["repeated"] != float64(998) || !strings.HasPrefix(lines[3]["msg"].(string), "catalog store failed (repeated 998 times") {
		t.Errorf("last line %v, want the last error carrying the 998 others", lines[3])
	}
}
