package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const scanDir = "../../testdata/clientsim/scan"

// playback answers the n-th request with the recorded response.body of the
// n-th exchange folder of scanDir; mutate may edit an answer.
func playback(t *testing.T, mutate func(n int, body string) string) *httptest.Server {
	entries, err := os.ReadDir(scanDir)
	if err != nil {
		t.Fatal(err)
	}
	var answers []string
	for _, e := range entries {
		if e.IsDir() {
			b, err := os.ReadFile(filepath.Join(scanDir, e.Name(), "response.body"))
			if err != nil {
				t.Fatal(err)
			}
			answers = append(answers, string(b))
		}
	}
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		body := answers[n]
		if mutate != nil {
			body = mutate(n, body)
		}
		n++
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestReplayCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    func(url string) []string
		env     bool
		mutate  func(n int, body string) string
		code    int
		wantOut string
		wantErr string
	}{
		{"flags after DIR", func(url string) []string { return []string{"replay", scanDir, "--server", url} }, false, nil, 0,
			"000010 GetExtendedUpdateInfo equal\nreplay: 10 exchanges, 10 equal, 0 differ\n", ""},
		{"server from env", func(url string) []string { return []string{"replay", scanDir} }, true, nil, 0,
			"replay: 10 exchanges, 10 equal, 0 differ\n", ""},
		{"difference", func(url string) []string { return []string{"replay", "-server", url, scanDir} }, false,
			func(n int, body string) string {
				if n == 6 {
					return strings.Replace(body, "<IsLeaf>false</IsLeaf>", "<IsLeaf>true</IsLeaf>", 1)
				}
				return body
			}, 1,
			"000007 SyncUpdates DIFFERS: /Envelope/Body/SyncUpdatesResponse/SyncUpdatesResult/NewUpdates/UpdateInfo/IsLeaf: expected \"false\", got \"true\"\n", ""},
		{"missing DIR", func(url string) []string { return []string{"replay", "--server", url} }, false, nil, 2, "", "usage: clientsim replay DIR"},
		{"bad DIR", func(url string) []string { return []string{"replay", "/nonexistent", "--server", url} }, false, nil, 1, "", "clientsim: replay: open /nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := playback(t, tt.mutate)
			env := ""
			if tt.env {
				env = srv.URL
			}
			var out, errOut strings.Builder
			code := run(context.Background(), tt.args(srv.URL), &out, &errOut, env)
			if code != tt.code || !strings.Contains(out.String(), tt.wantOut) || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errOut.String())
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{nil, 2, "usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"scan", "-h"}, 0, "-parallel int"},
		{[]string{"replay", "-h"}, 0, "usage: clientsim replay DIR"},
		{[]string{"scan", "--parallel"}, 2, "flag needs an argument"},
		{[]string{"scan", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"scan", "--server", "ftp://x"}, 1, `clientsim: server URL "ftp://x" is not an http(s) URL`},
	}
	for _, tt := range tests {
		var out, errOut strings.Builder
		code := run(context.Background(), tt.args, &out, &errOut, "")
		if code != tt.code || !strings.Contains(errOut.String(), tt.wantErr) {
			t.Errorf("%v: exit %d (want %d), stderr %q", tt.args, code, tt.code, errOut.String())
		}
	}
}

func TestScanCommandReportsFailingStep(t *testing.T) {
	// The recorded conversation answers GetConfig..RegisterComputer; the 5th
	// request (first SyncUpdates) gets the recorded StartCategoryScan answer,
	// which the scan must reject naming the step.
	srv := playback(t, nil)
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"scan", "--server", srv.URL, "--client-id", "0badc0de-0000-4000-8000-000000000001"}, &out, &errOut, "")
	want := "clientsim: SyncUpdates (software): round 1: expected {http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService}SyncUpdatesResponse in SOAP Body, got {http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService}StartCategoryScanResponse\n"
	if code != 1 || errOut.String() != want || out.String() != "" {
		t.Errorf("exit %d\nstdout %q\nstderr %q\nwant   %q", code, out.String(), errOut.String(), want)
	}
}
