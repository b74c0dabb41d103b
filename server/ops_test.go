package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsus/internal/syncbuf"
	"wsus/internal/testpg"
	"wsus/internal/tests3"
	"wsus/internal/version"
	"wsus/server"
)

// answer is one HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// testClient gives up on a server that does not answer.
var testClient = &http.Client{Timeout: 30 * time.Second}

// fetch GETs url (with the admin token when token is not empty).
func fetch(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// wantAnswer checks an answer's status and exact body.
func wantAnswer(t *testing.T, what string, a answer, status int, body string) {
	t.Helper()
	if a.status != status || a.body != body {
		t.Errorf("%s: %d %q, want %d %q", what, a.status, a.body, status, body)
	}
}

// readyOK is the body of a 200 from /readyz: ok and the running build.
func readyOK() string { return "ok " + version.Get().String() + "\n" }

// wantNotReady checks a 503 from /readyz naming exactly the stores given.
func wantNotReady(t *testing.T, a answer, stores ...string) {
	t.Helper()
	var want strings.Builder
	for _, s := range stores {
		want.WriteString("not ready: " + s + " unavailable\n")
	}
	wantAnswer(t, "/readyz", a, http.StatusServiceUnavailable, want.String())
	if got := a.header.Get("Retry-After"); got != "5" {
		t.Errorf("/readyz: Retry-After %q, want 5", got)
	}
	if got := a.header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("/readyz: Content-Type %q, want plain text", got)
	}
}

// eventually polls /readyz until it answers status (restarted stores take
// a moment), failing after a generous bound.
func eventually(t *testing.T, base string, status int) answer {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := fetch(t, base+"/readyz", "")
		if a.status == status || time.Now().After(deadline) {
			return a
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// /healthz is liveness (always 200); /readyz is 200 while both stores
// answer, else 503 naming the one that does not: here the content
// directory removed, then the catalog closed.
func TestReadinessFollowsTheStores(t *testing.T) {
	logs := &syncbuf.Buffer{}
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t"}
	r := startServers(t, cfg, "", slog.New(slog.NewTextHandler(logs, nil)))
	wantAnswer(t, "/healthz", fetch(t, r.base+"/healthz", ""), 200, "ok\n")
	wantAnswer(t, "/readyz", fetch(t, r.base+"/READYZ", ""), 200, readyOK())

	if err := os.RemoveAll(filepath.Join(cfg.DataDir, "content")); err != nil {
		t.Fatal(err)
	}
	wantNotReady(t, fetch(t, r.base+"/readyz", ""), "content store")
	wantAnswer(t, "/healthz", fetch(t, r.base+"/healthz", ""), 200, "ok\n")
	// The directory back, but another one: still not ready, as the store
	// holds the removed one.
	if err := os.Mkdir(filepath.Join(cfg.DataDir, "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	wantNotReady(t, fetch(t, r.base+"/readyz", ""), "content store")

	if err := r.stores.Catalog.Close(); err != nil {
		t.Fatal(err)
	}
	wantNotReady(t, fetch(t, r.base+"/readyz", ""), "catalog store", "content store")
	wantAnswer(t, "/healthz", fetch(t, r.base+"/healthz", ""), 200, "ok\n")
	if log := logs.String(); !strings.Contains(log, `msg="server: not ready" dependency="catalog store"`) || !strings.Contains(log, "database is closed") {
		t.Errorf("the cause is not logged:\n%s", log)
	}
}

// With PostgreSQL stopped, /readyz says the catalog is unavailable and the
// admin API answers 503; once it is back, both recover without a restart.
func TestPostgresStoppedAndRestarted(t *testing.T) {
	pg := testpg.NewPrivate(t)
	r := startServers(t, server.Config{DataDir: t.TempDir(), DatabaseURL: pg.URL(), AdminToken: "t"}, "", slog.New(slog.DiscardHandler))
	wantAnswer(t, "/readyz", fetch(t, r.base+"/readyz", ""), 200, readyOK())

	pg.Stop()
	wantNotReady(t, fetch(t, r.base+"/readyz", ""), "catalog store")
	a := fetch(t, r.base+"/api/v1/groups", "t")
	wantAnswer(t, "admin API", a, http.StatusServiceUnavailable, `{"error":"store_unavailable","reason":"catalog store unavailable"}`+"\n")
	if got := a.header.Get("Retry-After"); got == "" {
		t.Error("admin API 503 without Retry-After")
	}

	pg.Start()
	wantAnswer(t, "/readyz", eventually(t, r.base, 200), 200, readyOK())
	if a := fetch(t, r.base+"/api/v1/groups", "t"); a.status != 200 || !strings.Contains(a.body, `"name":"All Computers"`) {
		t.Errorf("admin API after the restart: %d %s", a.status, a.body)
	}
}

// With S3 down, /readyz says the content store is unavailable.
func TestS3StoppedAndRestarted(t *testing.T) {
	s3 := tests3.Start(t)
	r := startServers(t, server.Config{DataDir: t.TempDir(), AdminToken: "t", S3: s3Config(s3)}, "", slog.New(slog.DiscardHandler))
	wantAnswer(t, "/readyz", fetch(t, r.base+"/readyz", ""), 200, readyOK())
	s3.Stop(t)
	wantNotReady(t, fetch(t, r.base+"/readyz", ""), "content store")
	s3.Restart(t)
	wantAnswer(t, "/readyz", eventually(t, r.base, 200), 200, readyOK())
}

// With an admin listener of its own, the admin API is served there only;
// health on both; SOAP and content on the client listener only.
func TestAdminListener(t *testing.T) {
	r := startServers(t, server.Config{DataDir: t.TempDir(), AdminToken: "t", AdminListen: "127.0.0.1:0"}, "All Computers", slog.New(slog.DiscardHandler))
	wantAnswer(t, "client /api/v1/groups", fetch(t, r.base+"/api/v1/groups", "t"), 404, "404 page not found\n")
	a := fetch(t, r.adminBase+"/api/v1/groups", "t")
	var groups struct {
		Groups []struct{ Name string } `json:"groups"`
	}
	if err := json.Unmarshal([]byte(a.body), &groups); a.status != 200 || err != nil || len(groups.Groups) < 2 || groups.Groups[0].Name != "All Computers" {
		t.Errorf("admin /api/v1/groups: %d %s (%v)", a.status, a.body, err)
	}
	wantAnswer(t, "admin API without token", fetch(t, r.adminBase+"/api/v1/groups", ""), 401,
		`{"error":"unauthorized","reason":"missing bearer token: send Authorization: Bearer \u003cadmin token\u003e"}`+"\n")
	for _, base := range []string{r.base, r.adminBase} {
		wantAnswer(t, base+"/healthz", fetch(t, base+"/healthz", ""), 200, "ok\n")
		wantAnswer(t, base+"/readyz", fetch(t, base+"/readyz", ""), 200, readyOK())
	}
	if a := fetch(t, r.base+demoPayloadPath, ""); a.status != 200 || len(a.body) != 3080000 {
		t.Errorf("client listener content: %d, %d bytes", a.status, len(a.body))
	}
	for _, p := range []string{demoPayloadPath, "/ClientWebService/client.asmx", "/selfupdate/wuident.cab"} {
		wantAnswer(t, "admin "+p, fetch(t, r.adminBase+p, ""), 404, "404 page not found\n")
	}
	// The web console goes with the admin API.
	wantAnswer(t, "client /console/signin", fetch(t, r.base+"/console/signin", ""), 404, "404 page not found\n")
	if a := fetch(t, r.adminBase+"/console/signin", ""); a.status != 200 || !strings.Contains(a.body, `<input id="token" name="token"`) {
		t.Errorf("admin /console/signin: %d, want the sign-in form: %s", a.status, a.body)
	}
}

func TestListenersMustMatchTheConfiguration(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		adminListen string
		admin       bool
		want        string
	}{
		{"127.0.0.1:0", false, "no admin listener was given"},
		{"", true, "Config.AdminListen is empty"},
	} {
		cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t", AdminListen: c.adminListen}
		stores, err := server.OpenStores(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer stores.Close()
		srv, err := server.New(ctx, cfg, stores, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		var lns server.Listeners
		for _, l := range []*net.Listener{&lns.Client, &lns.Admin} {
			if l == &lns.Admin && !c.admin {
				continue
			}
			if *l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			defer (*l).Close()
		}
		if err := srv.ServeListeners(ctx, lns); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AdminListen %q, admin listener %v: %v, want an error saying %q", c.adminListen, c.admin, err, c.want)
		}
	}
}

// stallAdminPost starts an admin POST whose body never arrives, and
// returns once its handler is reading the body (the server sent 100
// Continue, which net/http does at the handler's first body read).
func stallAdminPost(t *testing.T, base, token string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /api/v1/groups HTTP/1.1\r\nHost: wsus\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", token)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 100 ") {
		t.Fatalf("want 100 Continue, got %q, %v", status, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the empty line ending it
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, `{"name":`); err != nil {
		t.Fatal(err)
	}
	return conn, br
}

// A request whose body stalls does not hold the shutdown beyond its
// timeout: its connection is closed, counted in the log, and Serve returns
// nil. An idle connection is closed at once and not counted.
func TestShutdownCutsStalledRequests(t *testing.T) {
	logs := &syncbuf.Buffer{}
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t", ShutdownTimeout: 300 * time.Millisecond}
	r := startServers(t, cfg, "", slog.New(slog.NewTextHandler(logs, nil)))

	// An idle keep-alive connection.
	u, _ := url.Parse(r.base)
	idle, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprint(idle, "GET /healthz HTTP/1.1\r\nHost: wsus\r\n\r\n")
	idleBR := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(idleBR, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}

	stalled, br := stallAdminPost(t, r.base, "t")

	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	// The admin read deadline (30 s) would end the request too; the
	// shutdown must come well before it.
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("Serve still running 20 s after the shutdown began with a timeout of %v\n%s", cfg.ShutdownTimeout, logs)
	}
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the stalled connection is still open")
	}
	if strings.Contains(string(rest), "201 Created") {
		t.Errorf("the stalled request was answered: %q", rest)
	}
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idleBR.ReadByte(); err == nil {
		t.Error("the idle connection is still open")
	}
	if log := logs.String(); !strings.Contains(log, "closed the connections still open") || !strings.Contains(log, "connections=1") {
		t.Errorf("the cut connection is not logged with its count:\n%s", log)
	}
}

// An admin request whose body stalls is answered 400 once the short-path
// read deadline passes, and its connection closed; the admin API is not
// held open by a slow client.
func TestAdminBodyReadDeadline(t *testing.T) {
	r := startServers(t, server.Config{DataDir: t.TempDir(), AdminToken: "t"}, "", slog.New(slog.DiscardHandler),
		func(s *server.Server) { server.SetShortTimeouts(s, 300*time.Millisecond, time.Minute) })
	conn, br := stallAdminPost(t, r.base, "t")
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"error":"bad_json"`) || !strings.Contains(string(b), "i/o timeout") || !resp.Close {
		t.Errorf("answer %d %s (Connection: close %v), want 400 bad_json saying i/o timeout, connection closed", resp.StatusCode, b, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the answer: %v, want EOF", err)
	}
	// Later requests are served as usual.
	wantAnswer(t, "/readyz", fetch(t, r.base+"/readyz", ""), 200, readyOK())
}

// A request that finishes within the shutdown timeout is answered.
func TestShutdownLetsRequestsFinish(t *testing.T) {
	logs := &syncbuf.Buffer{}
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t", ShutdownTimeout: time.Minute}
	r := startServers(t, cfg, "", slog.New(slog.NewTextHandler(logs, nil)))
	conn, br := stallAdminPost(t, r.base, "t")

	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	// Serve waits for the request...
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	// ...which completes and is answered.
	body := `"Ring 1"}`
	io.WriteString(conn, body+strings.Repeat(" ", 1000-len(`{"name":`)-len(body)))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(b), `"name":"Ring 1"`) {
		t.Errorf("answer %d %s, want 201 with the group", resp.StatusCode, b)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	if strings.Contains(logs.String(), "closed the connections") {
		t.Errorf("a connection was cut:\n%s", logs)
	}
}

// Secrets may come from files; a file the server cannot use stops it
// before it serves.
func TestSecretsFromFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token := write("token", "  file-token\n\n", 0o600)
	key := write("key", strings.Repeat("ab", 32)+"\n", 0o644)

	logs := &syncbuf.Buffer{}
	cfg := server.Config{DataDir: t.TempDir(), AdminTokenFile: token, CookieKeyFile: key}
	r := startServers(t, cfg, "", slog.New(slog.NewTextHandler(logs, nil)))
	if a := fetch(t, r.base+"/api/v1/groups", "file-token"); a.status != 200 {
		t.Errorf("the token from the file is refused: %d %s", a.status, a.body)
	}
	for _, name := range []string{"admin-token", "cookie.key"} {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s created in the data directory although a file was given (%v)", name, err)
		}
	}
	if log := logs.String(); !strings.Contains(log, `msg="server: secret file readable by every user" secret="cookie key"`) || strings.Contains(log, `secret="admin token"`) {
		t.Errorf("want a warning for the world-readable cookie key file only:\n%s", log)
	}

	for _, c := range []struct {
		cfg  server.Config
		want string
	}{
		{server.Config{AdminTokenFile: write("empty", " \n", 0o600)}, "is empty"},
		{server.Config{AdminTokenFile: filepath.Join(dir, "missing")}, "admin token file"},
		{server.Config{AdminTokenFile: write("lines", "a\nb\n", 0o600)}, "more than one line"},
		{server.Config{CookieKeyFile: write("short", "abcd", 0o600)}, "cookie key file"},
		{server.Config{AdminTokenFile: token, AdminToken: "x"}, "both configured"},
		{server.Config{CookieKeyFile: key, CookieKey: strings.Repeat("ab", 32)}, "both configured"},
		{server.Config{MaxInflight: -1}, "negative"},
		{server.Config{MaxBufferedBytes: -1}, "negative"},
	} {
		c.cfg.DataDir = t.TempDir()
		stores, err := server.OpenStores(ctx, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = server.New(ctx, c.cfg, stores, slog.New(slog.DiscardHandler))
		stores.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error saying %q", c.cfg, err, c.want)
		}
	}
}

// TestSnapshotLoadsAtStart: serving starts loading the catalog snapshot
// without waiting for a client's scan, and says so with its size.
func TestSnapshotLoadsAtStart(t *testing.T) {
	logs := &syncbuf.Buffer{}
	startServers(t, server.Config{DataDir: t.TempDir(), AdminToken: "t"}, "", slog.New(slog.NewTextHandler(logs, nil)))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="catalog snapshot loaded" revisions=6 `) {
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot loaded without a scan; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without an admin listener the web console is served on the client
// listener, beside the admin API; its paths are case-sensitive, as the
// API's are.
func TestConsoleOnClientListener(t *testing.T) {
	r := startServers(t, server.Config{DataDir: t.TempDir(), AdminToken: "t"}, "All Computers", slog.New(slog.DiscardHandler))
	if a := fetch(t, r.base+"/console/signin", ""); a.status != 200 || !strings.Contains(a.body, `<input id="token" name="token"`) {
		t.Errorf("client /console/signin: %d, want the sign-in form: %s", a.status, a.body)
	}
	wantAnswer(t, "client /CONSOLE/signin", fetch(t, r.base+"/CONSOLE/signin", ""), 404, "404 page not found\n")
}
