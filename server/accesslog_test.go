package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsus/clientsim"
	"wsus/internal/reqinfo"
	"wsus/internal/requestid"
	"wsus/internal/syncbuf"
	"wsus/internal/testserver"
	"wsus/server"
)

// logLines decodes the JSON log lines in logs whose msg is msg.
func logLines(t *testing.T, logs string, msg string) []map[string]any {
	t.Helper()
	return jsonLogLines(t, logs, func(rec map[string]any) bool { return rec["msg"] == msg })
}

// jsonLogLines decodes the JSON log lines in logs that keep accepts.
func jsonLogLines(t *testing.T, logs string, keep func(rec map[string]any) bool) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line not JSON: %v\n%s", err, line)
		}
		if keep(rec) {
			out = append(out, rec)
		}
	}
	return out
}

// observed collects the Records a server hands its observer.
type observed chan reqinfo.Record

// next returns the next Record, failing the test when none comes: the
// observer runs after the answer was sent, so it may come a moment later.
func (o observed) next(t *testing.T) reqinfo.Record {
	t.Helper()
	select {
	case rec := <-o:
		return rec
	case <-time.After(30 * time.Second):
		t.Fatal("no Record observed")
		return reqinfo.Record{}
	}
}

// startObserved starts the demo server with cfg, logging JSON to logs and
// handing every Record to the channel returned.
func startObserved(t *testing.T, cfg server.Config, logs *syncbuf.Buffer, tweaks ...func(*server.Server)) (*running, observed) {
	t.Helper()
	obs := make(observed, 1024)
	tweaks = append(tweaks, func(s *server.Server) {
		server.SetRequestObserver(s, func(rec reqinfo.Record) { obs <- rec })
	})
	r := startServers(t, cfg, "All Computers", slog.New(slog.NewJSONHandler(logs, nil)), tweaks...)
	return r, obs
}

// send sends one request with the request ID id and returns its status
// and the body bytes received.
func send(t *testing.T, method, url, id, body string, header map[string]string) (int, int64) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(requestid.Header, id)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, n
}

// envelope is a SOAP request for op of the service at ns.
func envelope(ns, op, inner string) string {
	return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><` + op + ` xmlns="` + ns + `">` + inner + `</` + op + `></s:Body></s:Envelope>`
}

// soapHeader is the header of a SOAP request for op of ns.
func soapHeader(ns, op string) map[string]string {
	return map[string]string{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": `"` + ns + "/" + op + `"`}
}

// TestAccessLogAndObserver: every request of each kind gives exactly one
// access-log line and one Record, which say the same thing: the kind, the
// SOAP operation and fault code, the status, the body bytes received, the
// Range header, the request ID; the line names no query string and no
// token.
func TestAccessLogAndObserver(t *testing.T) {
	var logs syncbuf.Buffer
	cfg := server.Config{DataDir: t.TempDir(), AdminToken: "secret-admin-token"}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "wsus_test 1\n") })
	r, obs := startObserved(t, cfg, &logs, func(s *server.Server) { server.SetMetricsHandler(s, metrics) })
	badCookie := `<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>AAAAAAAAAAAAAAAAAAAAAA==</EncryptedData></cookie>`
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		// want: the Record's fields the request decides (Bytes is the
		// body received, RequestID the one sent).
		kind   reqinfo.Kind
		op     string
		status int
		fault  string
		rng    bool
	}{
		{name: "soap", method: "POST", path: "/ClientWebService/client.asmx",
			body: envelope(nsClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>"), header: soapHeader(nsClient, "GetConfig"),
			kind: reqinfo.KindSOAP, op: "GetConfig", status: 200},
		{name: "soap-fault", method: "POST", path: "/ClientWebService/client.asmx",
			body: envelope(nsClient, "SyncUpdates", badCookie+"<parameters/>"), header: soapHeader(nsClient, "SyncUpdates"),
			kind: reqinfo.KindSOAP, op: "SyncUpdates", status: 500, fault: "InvalidCookie"},
		{name: "soap-unknown-op", method: "POST", path: "/ClientWebService/client.asmx",
			body: envelope(nsClient, "NoSuchOperation", ""), header: soapHeader(nsClient, "NoSuchOperation"),
			kind: reqinfo.KindSOAP, status: 500, fault: "InvalidParameters"},
		{name: "content", method: "GET", path: demoPayloadPath + "?token=secret-query",
			kind: reqinfo.KindContent, status: 200},
		{name: "content-range", method: "GET", path: demoPayloadPath, header: map[string]string{"Range": "bytes=100-1099"},
			kind: reqinfo.KindContent, status: 206, rng: true},
		{name: "content-head", method: "HEAD", path: demoPayloadPath,
			kind: reqinfo.KindContent, status: 200},
		{name: "content-404", method: "GET", path: "/Content/00/0000000000000000000000000000000000000000.cab",
			kind: reqinfo.KindContent, status: 404},
		{name: "admin", method: "GET", path: "/api/v1/groups", header: map[string]string{"Authorization": "Bearer " + cfg.AdminToken},
			kind: reqinfo.KindAdmin, status: 200},
		{name: "admin-refused", method: "GET", path: "/api/v1/groups", header: map[string]string{"Authorization": "Bearer wrong-secret"},
			kind: reqinfo.KindAdmin, status: 401},
		{name: "health", method: "GET", path: "/readyz", kind: reqinfo.KindHealth, status: 200},
		{name: "other", method: "GET", path: "/selfupdate/wuident.cab", kind: reqinfo.KindOther, status: 404},
		{name: "metrics", method: "GET", path: "/metrics", kind: reqinfo.KindMetrics, status: 200},
		{name: "metrics-post", method: "POST", path: "/metrics", kind: reqinfo.KindMetrics, status: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "access-" + tc.name
			status, n := send(t, tc.method, r.base+tc.path, id, tc.body, tc.header)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			rec := obs.next(t)
			path, _, _ := strings.Cut(tc.path, "?")
			want := reqinfo.Record{Kind: tc.kind, Method: tc.method, Path: path, Operation: tc.op, Status: tc.status,
				FaultCode: tc.fault, Range: tc.rng, Bytes: n, RequestID: id, Duration: rec.Duration}
			if tc.op != "" {
				want.Service = rec.Service
				if rec.Service == "" {
					t.Error("Record names the operation but no service")
				}
			}
			if rec != want {
				t.Errorf("Record\n %+v, want\n %+v", rec, want)
			}
			if rec.Duration <= 0 {
				t.Errorf("Record duration %v", rec.Duration)
			}
			var lines []map[string]any
			var raw []string
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var l map[string]any
				if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == server.AccessLogMessage && l[requestid.LogKey] == id {
					lines, raw = append(lines, l), append(raw, line)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d access lines with request_id %s, want 1:\n%s", len(lines), id, logs.String())
			}
			line := lines[0]
			wantLine := map[string]any{
				"level": "INFO", "msg": server.AccessLogMessage, "method": tc.method, "path": path, "kind": string(tc.kind),
				"status": float64(tc.status), "bytes": float64(n), requestid.LogKey: id,
			}
			if tc.op != "" {
				wantLine["op"] = tc.op
			}
			if tc.fault != "" {
				wantLine["fault"] = tc.fault
			}
			if tc.rng {
				wantLine["range"] = true
			}
			d, ok := line["duration"].(float64)
			if !ok || d < 0 || d != float64(rec.Duration.Microseconds())/1000 {
				t.Errorf("duration %v, want %v ms as a number", line["duration"], rec.Duration)
			}
			delete(line, "duration")
			delete(line, "time")
			if fmt.Sprint(line) != fmt.Sprint(wantLine) {
				t.Errorf("access line\n %v, want\n %v", line, wantLine)
			}
			if c := strings.Count(raw[0], `"`+requestid.LogKey+`"`); c != 1 {
				t.Errorf("request_id %d times in %s", c, raw[0])
			}
			for _, secret := range []string{"secret", "Bearer"} {
				if strings.Contains(raw[0], secret) {
					t.Errorf("access line carries %q: %s", secret, raw[0])
				}
			}
		})
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	close(obs)
	for rec := range obs {
		t.Errorf("a Record more than the requests sent: %+v", rec)
	}
}

// TestAccessLogModes: "off" writes no line; "all" writes every one; "on"
// (and the default) writes at most the rate limit's burst of successful
// content lines when the clock stands still, counts the others in the
// line written at shutdown, and always writes the content 404 and the
// other paths' lines.
func TestAccessLogModes(t *testing.T) {
	const ranges = 60
	const burst = 50 // accessLogBurst
	frozen := time.Date(2026, 12, 8, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		mode                       string
		rangeLines, others, notLog int
	}{
		{server.AccessLogOff, 0, 0, 0},
		{server.AccessLogAll, ranges, 2, 0},
		{server.AccessLogOn, burst, 2, ranges - burst},
		{"", burst, 2, ranges - burst},
	}
	for _, tc := range tests {
		t.Run("mode="+tc.mode, func(t *testing.T) {
			var logs syncbuf.Buffer
			cfg := server.Config{DataDir: t.TempDir(), AdminToken: "t", AccessLog: tc.mode}
			r := startServers(t, cfg, "All Computers", slog.New(slog.NewJSONHandler(&logs, nil)), func(s *server.Server) {
				server.SetAccessLogClock(s, func() time.Time { return frozen })
			})
			for i := range ranges {
				rng := fmt.Sprintf("bytes=%d-%d", i*1000, i*1000+999)
				if status, n := send(t, "GET", r.base+demoPayloadPath, "", "", map[string]string{"Range": rng}); status != 206 || n != 1000 {
					t.Fatalf("range %s: %d, %d bytes", rng, status, n)
				}
			}
			if status, _ := send(t, "GET", r.base+"/Content/00/0000000000000000000000000000000000000000.cab", "", "", nil); status != 404 {
				t.Fatalf("missing content: %d", status)
			}
			if status, _ := send(t, "GET", r.base+"/healthz", "", "", nil); status != 200 {
				t.Fatalf("/healthz: %d", status)
			}
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			var rangeLines, others int
			for _, l := range logLines(t, logs.String(), server.AccessLogMessage) {
				switch {
				case l["kind"] == "content" && l["status"] == float64(206) && l["range"] == true:
					rangeLines++
				default:
					others++
				}
			}
			summaries := logLines(t, logs.String(), server.AccessLogSkippedMessage)
			notLogged := 0
			for _, s := range summaries {
				n, _ := s["not_logged"].(float64)
				notLogged += int(n)
				if _, ok := s["request_id"]; ok {
					t.Errorf("the summary names a request: %v", s)
				}
			}
			if rangeLines != tc.rangeLines || others != tc.others || notLogged != tc.notLog {
				t.Errorf("%d range lines, %d others, %d not logged; want %d, %d, %d\n%s",
					rangeLines, others, notLogged, tc.rangeLines, tc.others, tc.notLog, logs.String())
			}
			if tc.notLog > 0 && len(summaries) != 1 {
				t.Errorf("%d summary lines, want 1", len(summaries))
			}
		})
	}
}

// TestAccessLogOfAScan: a simulated Windows client's scan and download
// give access lines naming each SOAP operation, with the client's computer
// ID on those that carry it (its authorization cookie or session), and
// the content lines of its download.
func TestAccessLogOfAScan(t *testing.T) {
	var logs syncbuf.Buffer
	r, _ := startObserved(t, server.Config{DataDir: t.TempDir(), AdminToken: "t"}, &logs)
	const clientID = "0b5cdd31-6a2e-4d8e-9b64-43c6a1f0c1d2"
	if _, err := clientsim.Scan(context.Background(), clientsim.Config{ServerURL: r.base, ClientID: clientID}); err != nil {
		t.Fatal(err)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	var content int
	for _, l := range logLines(t, logs.String(), server.AccessLogMessage) {
		if l["kind"] == "content" {
			content++
			continue
		}
		op, _ := l["op"].(string)
		ops[op]++
		switch op {
		case "GetAuthorizationCookie", "GetCookie", "SyncUpdates", "GetExtendedUpdateInfo", "ReportEventBatch":
			if l["client_id"] != clientID {
				t.Errorf("%s line with client_id %v, want %s", op, l["client_id"], clientID)
			}
		}
		if l["status"] != float64(200) {
			t.Errorf("%s answered %v", op, l["status"])
		}
	}
	for _, op := range []string{"GetConfig", "GetAuthorizationCookie", "GetCookie", "SyncUpdates"} {
		if ops[op] == 0 {
			t.Errorf("no access line of %s; lines by op: %v", op, ops)
		}
	}
	if content == 0 {
		t.Errorf("no content line of the download:\n%s", logs.String())
	}
}

// TestAccessLogSetting: an access-log mode other than "", on, all and off
// is refused before serving, naming the accepted values.
func TestAccessLogSetting(t *testing.T) {
	cfg, stores := testserver.Open(t, "")
	cfg.AccessLog = "verbose"
	_, err := server.New(context.Background(), cfg, stores, slog.New(slog.DiscardHandler))
	if err == nil || err.Error() != `server: access log "verbose": want "on", "all" or "off"` {
		t.Errorf("New with access log \"verbose\": %v", err)
	}
}

// TestAccessLogShed: a SOAP request refused by admission control (here
// the memory budget, smaller than any request) is logged and observed as
// shed, with its operation and the ServerBusy fault.
func TestAccessLogShed(t *testing.T) {
	var logs syncbuf.Buffer
	r, obs := startObserved(t, server.Config{DataDir: t.TempDir(), AdminToken: "t", MaxBufferedBytes: 64}, &logs)
	body := envelope(nsClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>")
	if status, _ := send(t, "POST", r.base+"/ClientWebService/client.asmx", "shed-1", body, soapHeader(nsClient, "GetConfig")); status != 500 {
		t.Fatalf("status %d, want the ServerBusy fault's 500", status)
	}
	rec := obs.next(t)
	if !rec.Shed || rec.FaultCode != "ServerBusy" || rec.Operation != "GetConfig" || rec.Status != 500 {
		t.Errorf("Record %+v, want GetConfig shed with ServerBusy", rec)
	}
	lines := logLines(t, logs.String(), server.AccessLogMessage)
	if len(lines) != 1 || lines[0]["shed"] != true || lines[0]["fault"] != "ServerBusy" || lines[0]["op"] != "GetConfig" {
		t.Errorf("access lines %v, want one of GetConfig shed with ServerBusy", lines)
	}
}
