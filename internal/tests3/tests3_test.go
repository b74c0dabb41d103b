package tests3

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// get sends an unsigned request: versitygw answers every one with 403
// AccessDenied, which proves it is up and checking signatures.
func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || s.Region != Region || s.AccessKey == "" || len(s.SecretKey) < 40 {
		t.Fatalf("server %+v", s)
	}
	status, body, err := get(t, s.Endpoint+"/")
	if err != nil || status != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("unsigned GET: %d %q %v; want 403 AccessDenied", status, body, err)
	}

	s.Stop(t)
	s.Stop(t) // idempotent
	if _, _, err := get(t, s.Endpoint+"/"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET after Stop: %v, want connection refused", err)
	}

	s.Restart(t)
	if status, _, err := get(t, s.Endpoint+"/"); err != nil || status != http.StatusForbidden {
		t.Fatalf("GET after Restart: %d %v; want 403", status, err)
	}
}

func TestServersAreSeparate(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Endpoint == b.Endpoint || a.Dir() == b.Dir() || a.AccessKey == b.AccessKey {
		t.Errorf("two servers share endpoint, directory or credentials: %s %s", a.Endpoint, b.Endpoint)
	}
}

func TestBinary(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "versitygw")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tools := t.TempDir()
	tests := []struct {
		name, binary, tools string
		want                string
		err                 error
	}{
		{"explicit binary", "/bin/sh", "", "/bin/sh", nil},
		{"explicit binary not executable", notExec, "", "", nil},
		{"empty tools dir", "", tools, "", errNotBuilt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinary, tc.binary)
			t.Setenv(EnvToolsDir, tc.tools)
			got, err := Binary()
			switch {
			case tc.want != "" && (got != tc.want || err != nil):
				t.Errorf("Binary() = %q, %v; want %q", got, err, tc.want)
			case tc.want == "" && err == nil:
				t.Errorf("Binary() = %q, want an error", got)
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("Binary() error %v, want %v", err, tc.err)
			}
		})
	}
	t.Run("cache layout", func(t *testing.T) {
		t.Setenv(EnvBinary, "")
		t.Setenv(EnvToolsDir, tools)
		p := filepath.Join(tools, "versitygw-"+Version, "versitygw")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if got, err := Binary(); got != p || err != nil {
			t.Errorf("Binary() = %q, %v; want %q", got, err, p)
		}
	})
}

// TestVersionMatchesScript: make test builds the program with
// scripts/ensure-versitygw.sh; Binary looks for the version pinned here.
func TestVersionMatchesScript(t *testing.T) {
	script, err := os.ReadFile("../../scripts/ensure-versitygw.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "\nVERSION="+Version+" ") {
		t.Errorf("scripts/ensure-versitygw.sh does not pin VERSION=%s", Version)
	}
}
