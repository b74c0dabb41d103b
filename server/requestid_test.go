package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"wsus/internal/requestid"
	"wsus/internal/syncbuf"
	"wsus/server"
)

// TestRequestIDOnEveryListener: every path of both listeners answers
// X-Request-Id (the client's when sane, else a fresh one), and a line
// logged while serving a request names it.
func TestRequestIDOnEveryListener(t *testing.T) {
	var logs syncbuf.Buffer
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "test-token", AdminListen: "127.0.0.1:0"}
	r := startServers(t, cfg, "", slog.New(slog.NewJSONHandler(&logs, nil)))
	for _, tc := range []struct {
		name, method, url, body string
	}{
		{"SOAP", http.MethodPost, r.base + "/ClientWebService/client.asmx", "<not-soap/>"},
		{"content", http.MethodGet, r.base + "/Content/00/0000000000000000000000000000000000000000.cab", ""},
		{"health", http.MethodGet, r.base + "/healthz", ""},
		{"readiness", http.MethodGet, r.adminBase + "/readyz", ""},
		{"404", http.MethodGet, r.base + "/nothing-here", ""},
		{"admin API", http.MethodGet, r.adminBase + "/api/v1/groups", ""},
		{"admin API refused", http.MethodGet, r.adminBase + "/api/v1/groups", ""},
	} {
		for _, in := range []string{"", "trace-" + strings.ReplaceAll(tc.name, " ", "-"), "bad id with spaces"} {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if in != "" {
				req.Header.Set(requestid.Header, in)
			}
			if tc.name == "admin API" {
				req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get(requestid.Header)
			switch {
			case in != "" && requestid.Valid(in) && got != in:
				t.Errorf("%s with %s %q: answered %q, want it kept", tc.name, requestid.Header, in, got)
			case (in == "" || !requestid.Valid(in)) && (len(got) != 32 || !requestid.Valid(got)):
				t.Errorf("%s with %s %q: answered %q, want a fresh ID", tc.name, requestid.Header, in, got)
			}
		}
	}
	// The refused admin requests logged a failed authentication, named by
	// the ID of the first of them (later ones within the window are not
	// logged).
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "admin: authentication failed" {
			continue
		}
		found = true
		if id, _ := rec[requestid.LogKey].(string); !requestid.Valid(id) {
			t.Errorf("log line without %s: %s", requestid.LogKey, line)
		}
	}
	if !found {
		t.Errorf("no failed authentication logged:\n%s", logs.String())
	}
	// The SOAP fault answered to the request that named its ID is logged
	// with it.
	if !strings.Contains(logs.String(), `"msg":"soap fault"`) || !strings.Contains(logs.String(), `"request_id":"trace-SOAP"`) {
		t.Errorf("no SOAP fault logged with request_id trace-SOAP:\n%s", logs.String())
	}
}
