// Package e2e holds end-to-end tests: the real binaries (wsusd, wsusctl,
// clientsim) built from this module and run as an administrator and a
// fleet of Windows machines would run them, talking over real listeners.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// demoUpdate is the local demo update of testdata/catalog: a Software
// update with a real payload, which `wsusd import` loads unapproved.
const demoUpdate = "7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7"

// complianceBound is the acceptance bound of issue 11: the compliance
// report shows a reported install within 60 s. The test polls up to it; it
// asserts what the report says, not how fast it said it.
const complianceBound = 60 * time.Second

const adminToken = "e2e-admin-token-0123" // wsusd serve wants 16 characters or more

// moduleRoot returns the directory of this module's go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		t.Fatal("not inside the module")
	}
	return filepath.Dir(mod)
}

// goTool returns the go command that runs this test: go test puts its
// GOROOT/bin first in PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// buildBinaries builds wsusd, wsusctl and clientsim into a temporary
// directory and returns it.
func buildBinaries(t testing.TB, root string) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command(goTool(), "build", "-o", bin+string(filepath.Separator), "./cmd/wsusd", "./cmd/wsusctl", "./cmd/clientsim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runTool runs one of the built binaries to completion with the e2e
// environment and returns its stdout; a non-zero exit fails the test.
func runTool(t *testing.T, bin, name string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve starts `wsusd serve` on a free loopback port and returns its base
// URL; it is stopped with SIGTERM (by its PID) when the test ends.
func serve(t *testing.T, bin, data, tokenFile string) string {
	t.Helper()
	// --snapshot-max-age 0: the scan right after the approval reads the
	// catalog's change sequence instead of a snapshot up to 1 s old.
	cmd := exec.Command(filepath.Join(bin, "wsusd"), "serve", "--data", data, "--listen", "127.0.0.1:0",
		"--admin-token-file", tokenFile, "--snapshot-max-age", "0", "--shutdown-timeout", "2s")
	cmd.Env = append(os.Environ(), "WSUS_DATABASE_URL=", "WSUS_ADMIN_TOKEN=")
	stderr := &lockedBuffer{}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="wsusd serving" addr=(\S+)`)
		sc := bufio.NewScanner(pipe)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(stderr, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("wsusd serve: %v\n%s", err, stderr)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("wsusd serve still running 30 s after SIGTERM\n%s", stderr)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-exited:
		t.Fatalf("wsusd serve exited: %v\n%s", err, stderr)
	case <-time.After(time.Minute):
		t.Fatalf("wsusd serve did not start\n%s", stderr)
	}
	return ""
}

// getJSON GETs an admin API path and decodes its JSON answer into v,
// returning the status code.
func getJSON(t *testing.T, base, path string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	return resp.StatusCode
}

// updateDetail is the part of GET /api/v1/updates/{update_id} the
// acceptance reads: the compliance counts of the update (issue 11
// contract: "computers": {"installed", "needed", "failed",
// "not_applicable", "no_status"}).
type updateDetail struct {
	UpdateID  string         `json:"update_id"`
	Computers map[string]int `json:"computers"`
}

// computerDetail is the part of GET /api/v1/computers/{id} read here: its
// updates with "update_id", "state" (the WSUS state name) and
// "error_code" (the HRESULT of a failure).
type computerDetail struct {
	Updates []map[string]any `json:"updates"`
}

// End to end as issue 11 accepts it: an administrator approves an update
// for a group with wsusctl; two simulated Windows machines in that group
// scan with clientsim, find it, download and install it, one successfully
// and one failing with 0x80070643, and report what a Windows agent
// reports; the compliance report of the update then shows one computer
// installed and one failed (within 60 s), and each computer's report its
// state, the failure with its error code.
func TestApproveScanInstallCompliance(t *testing.T) {
	root := moduleRoot(t)
	bin := buildBinaries(t, root)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	catalogDir := filepath.Join(root, "testdata", "catalog")
	// Hermetic: the developer's own settings must not leak in.
	env := []string{"WSUS_DATABASE_URL=", "WSUS_IMPORT_APPROVE=", "WSUS_ADMIN_TOKEN_FILE=", "WSUS_DATA="}
	runTool(t, bin, "wsusd", env, "import", "--data", data, filepath.Join(catalogDir, "microsoft"), filepath.Join(catalogDir, "local"))

	base := serve(t, bin, data, tokenFile)
	ctl := []string{"WSUS_SERVER=" + base, "WSUS_ADMIN_TOKEN=" + adminToken}

	// Before any computer: every count zero.
	var before updateDetail
	zero := map[string]int{"installed": 0, "needed": 0, "failed": 0, "not_applicable": 0, "no_status": 0}
	if code := getJSON(t, base, "/api/v1/updates/"+demoUpdate, &before); code != http.StatusOK || !mapsEqual(before.Computers, zero) {
		t.Fatalf("before any scan: HTTP %d, %+v", code, before)
	}

	runTool(t, bin, "wsusctl", ctl, "create-group", "Pilot")
	if out := runTool(t, bin, "wsusctl", ctl, "approve", demoUpdate, "--group", "Pilot"); !strings.HasPrefix(out, "Approved "+demoUpdate+" for Pilot: Install") {
		t.Fatalf("wsusctl approve: %q", out)
	}

	const (
		good = "e2e00000-0000-4000-8000-000000000001"
		bad  = "e2e00000-0000-4000-8000-000000000002"
	)
	scan := []string{"scan", "--server", base, "--target-group", "Pilot", "--install"}
	out := runTool(t, bin, "clientsim", nil, append(scan, "--client-id", good)...)
	if !strings.Contains(out, "updates offered:  1\n") || !strings.Contains(out, "installs:         1 installed, 0 failed, 0 restart required\n") {
		t.Fatalf("clientsim scan (installs):\n%s", out)
	}
	out = runTool(t, bin, "clientsim", nil, append(scan, "--client-id", bad, "--fail", demoUpdate+"=0x80070643")...)
	if !strings.Contains(out, "installs:         0 installed, 1 failed, 0 restart required\n") {
		t.Fatalf("clientsim scan (fails):\n%s", out)
	}

	// Each computer's report: its state of the update, a failure with its
	// error code.
	for _, c := range []struct{ id, state, errorCode string }{
		{good, "Installed", ""},
		{bad, "Failed", "0x80070643"},
	} {
		var d computerDetail
		if code := getJSON(t, base, "/api/v1/computers/"+c.id, &d); code != http.StatusOK {
			t.Fatalf("GET /api/v1/computers/%s: HTTP %d", c.id, code)
		}
		found := false
		for _, u := range d.Updates {
			if !strings.EqualFold(fmt.Sprint(u["update_id"]), demoUpdate) {
				continue
			}
			found = true
			if u["state"] != c.state {
				t.Errorf("computer %s: state %v, want %s", c.id, u["state"], c.state)
			}
			if code, ok := u["error_code"].(string); !ok || !strings.EqualFold(code, c.errorCode) {
				t.Errorf("computer %s: error_code %v, want %q", c.id, u["error_code"], c.errorCode)
			}
		}
		if !found {
			t.Errorf("computer %s lists no state for %s: %+v", c.id, demoUpdate, d.Updates)
		}
	}

	// The compliance report of the update: poll up to the acceptance bound.
	want := map[string]int{"installed": 1, "needed": 0, "failed": 1, "not_applicable": 0, "no_status": 0}
	var got updateDetail
	var code int
	for deadline := time.Now().Add(complianceBound); ; time.Sleep(250 * time.Millisecond) {
		got = updateDetail{}
		code = getJSON(t, base, "/api/v1/updates/"+demoUpdate, &got)
		if code == http.StatusOK && mapsEqual(got.Computers, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/v1/updates/%s after %v: HTTP %d, computers %v; want %v", demoUpdate, complianceBound, code, got.Computers, want)
		}
	}
	if !strings.EqualFold(got.UpdateID, demoUpdate) {
		t.Errorf("update_id %q", got.UpdateID)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if w, ok := a[k]; !ok || w != v {
			return false
		}
	}
	return true
}
