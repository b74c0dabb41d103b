package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wsus/clientsim/catalogen"
	"wsus/internal/testserver"
	"wsus/sync/importer"
)

func TestHasArrivalFlag(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"--arrival"}, true},
		{[]string{"-arrival", "--fleet", "10"}, true},
		{[]string{"--fleet", "10", "--arrival=true"}, true},
		{[]string{"--arrival=false"}, false},
		{[]string{"--clients", "2"}, false},
		{[]string{"extra", "--arrival"}, true}, // fleetCmd then refuses the argument
		{[]string{"--", "--arrival"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := hasArrivalFlag(tt.args); got != tt.want {
			t.Errorf("hasArrivalFlag(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// fleetTestServer serves a small generated catalog, approved, with the
// cookie key written to a file; it returns the URL and the key file.
func fleetTestServer(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "catalog")
	if _, err := catalogen.Write(ctx, dir, catalogen.Options{Updates: 200, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	cfg, stores := testserver.Open(t, "")
	key := strings.Repeat("5a", 32)
	keyFile := filepath.Join(t.TempDir(), "cookie.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.CookieKeyFile = keyFile
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{dir}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		t.Fatal(err)
	}
	return testserver.Serve(t, cfg, stores), keyFile
}

func TestLoadArrivalCommand(t *testing.T) {
	base, keyFile := fleetTestServer(t)
	// 500 computers every 0.9 x 30 s: about 18 scans/s for 1 s.
	run1 := []string{"load", "--arrival", "--server", base, "--fleet", "500", "--interval", "30s", "--duration", "1s",
		"--cookie-key-file", keyFile, "--register", "arriving"}
	tests := []struct {
		name             string
		args             []string
		code             int
		wantOut, wantErr []string
	}{
		{"run", run1, 0, []string{"500 computers (steady state, interval 30s)", "failed 0, dropped (generator limit 2000 in flight) 0", "errors: none"}, nil},
		{"help", []string{"load", "--arrival", "-h"}, 0, nil, []string{"usage: clientsim load --arrival --fleet N", "-patch-tuesday", "-max-in-flight"}},
		{"load help names the mode", []string{"load", "-h"}, 0, nil, []string{"With --arrival, an open-loop fleet run"}},
		{"no key", []string{"load", "--arrival", "--server", base, "--fleet", "10"}, 2, nil, []string{"the server's cookie key is required"}},
		{"wrong key", []string{"load", "--arrival", "--server", base, "--fleet", "10", "--cookie-key", hex.EncodeToString(make([]byte, 32))}, 1, nil,
			[]string{"open the reference cookie (is the cookie key the server's?)"}},
		{"no fleet", []string{"load", "--arrival", "--server", base, "--cookie-key-file", keyFile}, 1, nil, []string{"the number of computers must be positive"}},
		{"patch tuesday without token", []string{"load", "--arrival", "--server", base, "--fleet", "10", "--cookie-key-file", keyFile, "--patch-tuesday", "--admin-token", ""}, 1, nil,
			[]string{"a Patch Tuesday needs an admin token"}},
		{"bad register", []string{"load", "--arrival", "--server", base, "--fleet", "10", "--cookie-key-file", keyFile, "--register", "some"}, 1, nil,
			[]string{`register "some" is not all, arriving or none`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(context.Background(), tt.args, &out, &errOut, "")
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, tt.code, out.String(), errOut.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var out, errOut strings.Builder
		if code := run(context.Background(), append(run1, "--json", "--seed", "3"), &out, &errOut, ""); code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut.String())
		}
		var rep struct {
			Computers, Arrivals, Completed, Failed, Dropped int
			ReportsAcknowledged                             int `json:"reports_acknowledged"`
			Latency                                         struct {
				P99 int64 `json:"p99_ns"`
			}
			Registration struct {
				Mode      string
				Computers int
			}
		}
		if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
			t.Fatalf("%v:\n%s", err, out.String())
		}
		if rep.Computers != 500 || rep.Completed == 0 || rep.Completed != rep.Arrivals || rep.Failed+rep.Dropped != 0 ||
			rep.ReportsAcknowledged != rep.Completed || rep.Latency.P99 <= 0 || rep.Registration.Mode != "arriving" || rep.Registration.Computers != rep.Arrivals {
			t.Errorf("report %+v", rep)
		}
		if !strings.Contains(errOut.String(), "scan latency: p50") {
			t.Errorf("stderr lacks the summary:\n%s", errOut.String())
		}
	})
}
