package wusp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wsus/internal/logdedup"
	"wsus/internal/reqinfo"
	"wsus/soap"
	"wsus/soap/cookie"
)

// records keeps the client ID each request recorded in its reqinfo.Info,
// by SOAP operation (the SOAPAction's last element).
type records struct {
	mu       sync.Mutex
	clientID map[string][]string
}

func (rs *records) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, info := reqinfo.Attach(r.Context())
		next.ServeHTTP(w, r.WithContext(ctx))
		var rec reqinfo.Record
		info.Fill(&rec)
		action := strings.Trim(r.Header.Get("SOAPAction"), `"`)
		op := action[strings.LastIndexByte(action, '/')+1:]
		rs.mu.Lock()
		defer rs.mu.Unlock()
		rs.clientID[op] = append(rs.clientID[op], rec.ClientID)
	})
}

func (rs *records) get(op string) []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.clientID[op]...)
}

// TestClientIDRecorded: every operation that learns the computer ID, from
// the request (GetAuthorizationCookie) or a cookie it opened (GetCookie,
// RegisterComputer, SyncUpdates, ReportEventBatch), records it for the
// access log; one that opens no cookie of this client records none.
func TestClientIDRecorded(t *testing.T) {
	rs := &records{clientID: map[string][]string{}}
	e := newEnv(t, envOptions{middleware: rs.middleware})
	clientID, ck := e.login("")
	if status, el := e.syncUpdates(ck, nil, nil); status != 200 {
		t.Fatalf("SyncUpdates: %d %s", status, faultCode(el))
	}
	status, el := e.call("/ReportingWebService/ReportingWebService.asmx", soap.NSReporting, "ReportEventBatch",
		ck+"<clientTime>2026-10-04T15:20:47.502Z</clientTime><eventBatch></eventBatch>")
	if status != 200 {
		t.Fatalf("ReportEventBatch: %d %s", status, faultCode(el))
	}
	e.syncUpdates("<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>AAAA</EncryptedData></cookie>", nil, nil)
	if _, el := e.call(clientPath, soap.NSClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>"); el.Tag != "GetConfigResponse" {
		t.Fatalf("GetConfig: %s %s", el.Tag, faultCode(el))
	}

	cases := []struct {
		op   string
		want []string
	}{
		{"GetAuthorizationCookie", []string{clientID}},
		{"GetCookie", []string{clientID}},
		{"RegisterComputer", []string{clientID}},
		{"SyncUpdates", []string{clientID, ""}}, // then a cookie that does not open
		{"ReportEventBatch", []string{clientID}},
		{"GetConfig", []string{""}},
	}
	for _, c := range cases {
		if got := rs.get(c.op); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s recorded client IDs %q, want %q", c.op, got, c.want)
		}
	}
}

// lockedBuffer is a log destination the server's goroutines write while the
// test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines written so far at level.
func (b *lockedBuffer) lines(t *testing.T, level string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["level"] == level {
			out = append(out, m)
		}
	}
	return out
}

func (b *lockedBuffer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// TestKeyMismatchLogged: a session or authorization cookie sealed with a key
// this server does not hold (another replica's) gets the fault it always
// got and one ERROR line naming the fix, with a stable err attribute (what
// internal/logdedup deduplicates on) and the key IDs; garbage, a tampered
// cookie of ours and a cookie of ours log no ERROR.
func TestKeyMismatchLogged(t *testing.T) {
	logs := &lockedBuffer{}
	e := newEnv(t, envOptions{logger: slog.New(slog.NewJSONHandler(logs, nil))})
	clientID, ck := e.login("")
	now := e.clock.now()
	sess := cookie.Session{ServerID: e.info.ID, ClientID: clientID, IssuedAt: now, Expires: now.Add(time.Hour),
		ConfigChanged: e.info.ConfigChanged, ProtocolVersion: "2.90"}
	otherKey := bytes.Repeat([]byte{0x42}, cookie.KeySize)
	other, err := cookie.NewSealer(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	foreignSession, err := other.SealSession(sess)
	if err != nil {
		t.Fatal(err)
	}
	foreignAuth, err := other.SealAuth(cookie.Auth{ServerID: e.info.ID, ClientID: clientID, IssuedAt: now, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := e.sealer.SealSession(sess)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(ours)
	tampered[len(tampered)-3] ^= 1
	sessionCookie := func(b []byte) string {
		return "<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>" + base64.StdEncoding.EncodeToString(b) + "</EncryptedData></cookie>"
	}
	syncUpdates := func(b []byte) string {
		_, el := e.syncUpdates(sessionCookie(b), nil, nil)
		return faultCode(el)
	}
	getCookie := func(b []byte) string {
		_, el := e.call(clientPath, soap.NSClient, "GetCookie",
			"<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+base64.StdEncoding.EncodeToString(b)+"</CookieData></AuthorizationCookie></authCookies>"+
				"<lastChange>"+soap.FormatDateTime(e.info.ConfigChanged)+"</lastChange><protocolVersion>2.90</protocolVersion>")
		return faultCode(el)
	}
	cases := []struct {
		name      string
		send      func() string
		wantFault string
		mismatch  bool
	}{
		{"session cookie of another key", func() string { return syncUpdates(foreignSession) }, "InvalidCookie", true},
		{"authorization cookie of another key", func() string { return getCookie(foreignAuth) }, "InvalidAuthorizationCookie", true},
		{"garbage of a cookie's length", func() string { return syncUpdates(bytes.Repeat([]byte("A"), len(ours))) }, "InvalidCookie", false},
		{"our cookie tampered", func() string { return syncUpdates(tampered) }, "InvalidCookie", false},
		{"our cookie", func() string { return syncUpdates(ours) }, "", false},
		{"the cookie GetCookie issued", func() string { _, el := e.syncUpdates(ck, nil, nil); return faultCode(el) }, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs.reset()
			if got := c.send(); got != c.wantFault {
				t.Fatalf("fault %q, want %q", got, c.wantFault)
			}
			errs := logs.lines(t, "ERROR")
			if !c.mismatch {
				if len(errs) != 0 {
					t.Fatalf("ERROR lines %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("ERROR lines %v, want one", errs)
			}
			want := map[string]any{
				"msg":           cookie.MismatchMessage,
				"err":           "cookie: sealed with a cookie key this server does not hold",
				"cookie_key_id": cookie.KeyID(otherKey),
				"held_key_ids":  cookie.KeyID(make([]byte, cookie.KeySize)),
			}
			for k, v := range want {
				if errs[0][k] != v {
					t.Errorf("%s = %q, want %q", k, errs[0][k], v)
				}
			}
			if !strings.Contains(cookie.MismatchMessage, "--cookie-key (WSUS_COOKIE_KEY)") || !strings.Contains(cookie.MismatchMessage, "--cookie-key-previous") {
				t.Errorf("the message names neither setting: %s", cookie.MismatchMessage)
			}
		})
	}
}

// TestKeyMismatchDeduplicated: through the deduplicating handler wsusd logs
// with (internal/logdedup, keyed on level, message and err), a flood of
// cookies sealed with other keys, whichever the key, writes one ERROR line
// a minute and, once the interval is over (here: the flush at exit), the
// last one with the count of the others: the err attribute does not vary
// with the key.
func TestKeyMismatchDeduplicated(t *testing.T) {
	logs := &lockedBuffer{}
	dedup := logdedup.New(slog.NewJSONHandler(logs, nil), logdedup.Options{})
	e := newEnv(t, envOptions{logger: slog.New(dedup)})
	clientID, _ := e.login("")
	now := e.clock.now()
	sess := cookie.Session{ServerID: e.info.ID, ClientID: clientID, IssuedAt: now, Expires: now.Add(time.Hour),
		ConfigChanged: e.info.ConfigChanged, ProtocolVersion: "2.90"}
	for i, b := range []byte{0x42, 0x43, 0x42} {
		other, err := cookie.NewSealer(bytes.Repeat([]byte{b}, cookie.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := other.SealSession(sess)
		if err != nil {
			t.Fatal(err)
		}
		_, el := e.syncUpdates("<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>"+base64.StdEncoding.EncodeToString(sealed)+"</EncryptedData></cookie>", nil, nil)
		if faultCode(el) != "InvalidCookie" {
			t.Fatalf("cookie %d: fault %q, want InvalidCookie", i, faultCode(el))
		}
	}
	if got := logs.lines(t, "ERROR"); len(got) != 1 || got[0]["msg"] != cookie.MismatchMessage {
		t.Fatalf("ERROR lines after three mismatched cookies: %v, want one", got)
	}
	if err := dedup.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The last dropped line is written with the count of those dropped
	// before it: lines plus counts are the three records.
	got := logs.lines(t, "ERROR")
	if len(got) != 2 || got[1]["repeated"] != float64(1) || !strings.HasPrefix(got[1]["msg"].(string), cookie.MismatchMessage+" (repeated 1 time") {
		t.Fatalf("ERROR lines after the flush: %v, want the first and the last carrying repeated=1", got)
	}
}
