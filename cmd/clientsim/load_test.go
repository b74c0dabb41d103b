package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// busyServer answers everything with the recorded real-WSUS fault, ErrorCode
// ServerBusy.
func busyServer(t *testing.T) string {
	t.Helper()
	body, err := os.ReadFile("../../testdata/clientsim/flow/m0-000141-fault-response.body")
	if err != nil {
		t.Fatal(err)
	}
	fault := strings.Replace(string(body), "InvalidParameters", "ServerBusy", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(fault))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLoadCommand(t *testing.T) {
	busy := busyServer(t)
	small := []string{"load", "--server", busy, "--clients", "2", "--iterations", "2", "--mode", "first-scan"}
	tests := []struct {
		name             string
		args             []string
		code             int
		wantOut, wantErr []string
	}{
		{"failed scans exit 1", small, 1,
			[]string{"first-scan      0       4", "errors: 4 failed scans (100.00%)\n       4  first-scan  fault ServerBusy: clientsim: GetConfig: SOAP fault ServerBusy"},
			[]string{"clientsim load: 4 scans failed (error rate 100.00%)"}},
		{"allow errors", append(small, "--allow-errors"), 0, []string{"errors: 4 failed scans"}, nil},
		{"remote refused", []string{"load", "--server", "http://192.0.2.1:8530"}, 1, nil,
			[]string{`clientsim: load: refusing to load http://192.0.2.1:8530: "192.0.2.1" is not a loopback address`}},
		{"bad mode", []string{"load", "--server", busy, "--mode", "soak"}, 1, nil, []string{`mode "soak" is not first-scan, delta or both`}},
		{"argument", []string{"load", "extra"}, 2, nil, []string{`clientsim load: unexpected argument "extra"`}},
		{"bad flag", []string{"load", "--clients", "many"}, 2, nil, []string{"invalid value \"many\" for flag -clients"}},
		{"help", []string{"load", "-h"}, 0, nil, []string{"usage: clientsim load [flags]", "-server-pid"}},
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
}

func TestLoadCommandJSON(t *testing.T) {
	busy := busyServer(t)
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"load", "--clients", "3", "--iterations", "1", "--mode", "delta", "--json", "--allow-errors",
		"--server-pid", strconv.Itoa(os.Getpid())}, &out, &errOut, busy)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	var rep struct {
		ServerURL string `json:"server_url"`
		Mode      string `json:"mode"`
		Clients   int    `json:"clients"`
		FirstScan struct {
			Scans  int `json:"scans"`
			Failed int `json:"failed"`
		} `json:"first_scan"`
		Delta struct {
			Scans int `json:"scans"`
		} `json:"delta"`
		Errors []struct {
			Phase, Kind string
			Count       int
		} `json:"errors"`
		Server struct {
			PID    int `json:"pid"`
			Before struct {
				RSS int64 `json:"vm_rss_bytes"`
			} `json:"before"`
		} `json:"server"`
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, out.String())
	}
	// Every first scan failed, so no client reached the delta phase.
	if rep.ServerURL != busy || rep.Mode != "delta" || rep.Clients != 3 || rep.FirstScan.Failed != 3 || rep.FirstScan.Scans != 0 || rep.Delta.Scans != 0 {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].Phase != "first-scan" || rep.Errors[0].Kind != "fault ServerBusy" || rep.Errors[0].Count != 3 {
		t.Errorf("errors %+v", rep.Errors)
	}
	if rep.Server.PID != os.Getpid() || rep.Server.Before.RSS <= 0 {
		t.Errorf("server process %+v, want this process's", rep.Server)
	}
	if !strings.Contains(errOut.String(), "clientsim load: delta, 3 clients") || !strings.Contains(errOut.String(), fmt.Sprintf("server (pid %d): VmRSS", os.Getpid())) {
		t.Errorf("the table is not on stderr:\n%s", errOut.String())
	}
}
