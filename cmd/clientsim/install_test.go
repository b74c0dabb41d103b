package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/internal/testserver"
	"wsus/sync/importer"
)

// demoUpdate is the local demo update of testdata/catalog, with a payload.
var demoUpdate = uuid.MustParse("7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7")

// startDemo serves the demo catalog (as `make run` loads it, the demo
// update approved for All Computers) on a real loopback listener.
func startDemo(t *testing.T) (string, catalog.Store) {
	t.Helper()
	cfg, stores := testserver.Open(t, "")
	root := filepath.Join("..", "..", "testdata", "catalog")
	ctx := context.Background()
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "microsoft")}, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{filepath.Join(root, "local")}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		t.Fatal(err)
	}
	return testserver.Serve(t, cfg, stores), stores.Catalog
}

func TestScanInstall(t *testing.T) {
	const client = "0badc0de-0000-4000-8000-0000000000a1"
	tests := []struct {
		name     string
		args     []string
		want     catalog.InstallState
		hresult  int32
		eventID  int
		wantLine string
	}{
		{"installed", nil, catalog.StateInstalled, 0, 183, "installs:         1 installed, 0 failed, 0 restart required\n"},
		{"failed by UpdateID", []string{"--fail", strings.ToUpper(demoUpdate.String()) + "=0x80240022"}, catalog.StateFailed, -2145124318, 182,
			"installs:         0 installed, 1 failed, 0 restart required\n"},
		{"failed by default HRESULT", []string{"--fail", demoUpdate.String()}, catalog.StateFailed, -2147023293, 182,
			"installs:         0 installed, 1 failed, 0 restart required\n"},
		{"restart required", []string{"--reboot-pending", demoUpdate.String()}, catalog.StateInstalledPendingReboot, 2359301, 184,
			"installs:         0 installed, 0 failed, 1 restart required\n"},
		{"fail fraction", []string{"--fail-fraction", "1", "--fail-hresult", "-2145124318"}, catalog.StateFailed, -2145124318, 182,
			"installs:         0 installed, 1 failed, 0 restart required\n"},
		{"other update failing", []string{"--fail", "KB5031356"}, catalog.StateInstalled, 0, 183,
			"installs:         1 installed, 0 failed, 0 restart required\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, store := startDemo(t)
			var out, errOut strings.Builder
			args := append([]string{"scan", "--server", base, "--client-id", client, "--install"}, tt.args...)
			if code := run(context.Background(), args, &out, &errOut, ""); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
			}
			// 147, 156, 162, 181 and the result.
			if !strings.Contains(out.String(), tt.wantLine) || !strings.Contains(out.String(), "events reported:  5\n") {
				t.Errorf("stdout:\n%s", out.String())
			}
			statuses, err := store.Statuses(context.Background(), client)
			if err != nil {
				t.Fatal(err)
			}
			var got catalog.UpdateStatus
			for _, st := range statuses {
				if st.UpdateID == demoUpdate {
					got = st
				}
			}
			wantCode := int32(0)
			if tt.want == catalog.StateFailed {
				wantCode = tt.hresult
			}
			if got.State != tt.want || got.ErrorCode != wantCode {
				t.Errorf("state %v (error code %d), want %v (%d); %+v", got.State, got.ErrorCode, tt.want, wantCode, statuses)
			}
			events, err := store.Events(context.Background(), client)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range events {
				if e.EventID == tt.eventID && e.UpdateID == demoUpdate {
					n++
					if e.Win32HResult != tt.hresult {
						t.Errorf("event %d Win32HResult %d, want %d", e.EventID, e.Win32HResult, tt.hresult)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d events %d stored, want 1", n, tt.eventID)
			}
		})
	}
}

// Two scans as one agent: the second reports the install of the first in
// its 156 (V=) and installs nothing.
func TestScanInstallTwice(t *testing.T) {
	base, store := startDemo(t)
	const client = "0badc0de-0000-4000-8000-0000000000a2"
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"scan", "--server", base, "--client-id", client, "--install", "--scans", "2"}, &out, &errOut, ""); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	second := out.String()[strings.Index(out.String(), "scan 2 of 2\n"):]
	if !strings.HasPrefix(out.String(), "scan 1 of 2\n") || !strings.Contains(second, "installs:         0 installed, 0 failed, 0 restart required\nevents reported:  2\n") {
		t.Errorf("stdout:\n%s", out.String())
	}
	events, err := store.Events(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	var last156 []string
	for _, e := range events {
		if e.EventID == 156 {
			last156 = e.MiscData
		}
	}
	if !strings.Contains(strings.Join(last156, "|"), "|V="+strings.ToUpper(demoUpdate.String())+"|") {
		t.Errorf("last 156 MiscData %q", last156)
	}
}

func TestScanInstallUsage(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"scan", "--fail", "KB5031356"}, "need --install"},
		{[]string{"scan", "--install-optional"}, "need --install"},
		{[]string{"scan", "--install", "--fail", "KB1=0xnothex"}, `invalid value "KB1=0xnothex" for flag -fail`},
		{[]string{"scan", "--install", "--fail-hresult", "x"}, "invalid value"},
		{[]string{"scan", "--scans", "0"}, "--scans 0"},
	} {
		var out, errOut strings.Builder
		if code := run(context.Background(), tt.args, &out, &errOut, ""); code != 2 || !strings.Contains(errOut.String(), tt.wantErr) {
			t.Errorf("%v: exit %d, stderr %q", tt.args, code, errOut.String())
		}
	}
	// A name that is neither an UpdateID nor a KB number is refused before any request.
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"scan", "--server", "http://127.0.0.1:9", "--install", "--reboot-pending", "nope"}, &out, &errOut, ""); code != 1 ||
		!strings.Contains(errOut.String(), `"nope" is neither an UpdateID nor a KB number`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
