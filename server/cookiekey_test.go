package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"wsus/internal/syncbuf"
	"wsus/internal/testpg"
	"wsus/server"
	"wsus/soap/cookie"
)

// soapAnswer posts one SOAP request and returns the operation's response
// element, or "" and the fault's ErrorCode.
func soapAnswer(t *testing.T, url, ns, op, inner string) (*etree.Element, string) {
	t.Helper()
	body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><` + op + ` xmlns="` + ns + `">` + inner + `</` + op + `></s:Body></s:Envelope>`
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+ns+"/"+op+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	el := doc.FindElement("/Envelope/Body/*")
	switch {
	case el != nil && el.Tag == op+"Response" && resp.StatusCode == http.StatusOK:
		return el, ""
	case el != nil && el.Tag == "Fault":
		return nil, el.FindElement("detail/ErrorCode").Text()
	}
	t.Fatalf("%s: HTTP %d\n%s", op, resp.StatusCode, data)
	return nil, ""
}

// errorLines returns the ERROR lines of a JSON log whose message is msg,
// each as its attributes.
func errorLines(t *testing.T, log, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["level"] == "ERROR" && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestCookieKeyAcrossReplicas: three replicas over one PostgreSQL catalog.
// A holds the old key; B only the new key (a replica misconfigured, or a
// rotation without --cookie-key-previous); C the new key with the old one as
// previous. A client authenticated on A gets InvalidCookie (session) and
// InvalidAuthorizationCookie (authorization cookie) on B, exactly as
// before, and B logs the ERROR line naming --cookie-key and
// --cookie-key-previous; on C both cookies are accepted and C's own cookies
// open on B. Each server logs the IDs of its keys at start.
func TestCookieKeyAcrossReplicas(t *testing.T) {
	oldKey, newKey := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
	url := testpg.URL(t)
	logA, logB, logC := &syncbuf.Buffer{}, &syncbuf.Buffer{}, &syncbuf.Buffer{}
	a := startServers(t, server.Config{DataDir: t.TempDir(), DatabaseURL: url, CookieKey: oldKey, AdminToken: "t"}, "", slog.New(slog.NewJSONHandler(logA, nil)))
	b := startServers(t, server.Config{DataDir: t.TempDir(), DatabaseURL: url, CookieKey: newKey, AdminToken: "t"}, "", slog.New(slog.NewJSONHandler(logB, nil)))
	c := startServers(t, server.Config{DataDir: t.TempDir(), DatabaseURL: url, CookieKey: newKey, CookieKeyPrevious: oldKey, AdminToken: "t"}, "", slog.New(slog.NewJSONHandler(logC, nil)))

	const clientID = "5d6e7f80-1111-4222-8333-444455556666"
	client := func(base string) string { return base + "/ClientWebService/client.asmx" }
	getConfig, _ := soapAnswer(t, client(a.base), nsClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>")
	lastChange := getConfig.FindElement("GetConfigResult/LastChange").Text()
	authorize := func(base string) string {
		el, fault := soapAnswer(t, base+"/SimpleAuthWebService/SimpleAuth.asmx", nsAuth, "GetAuthorizationCookie", "<clientId>"+clientID+"</clientId><dnsName>rotating-client</dnsName>")
		if fault != "" {
			t.Fatalf("GetAuthorizationCookie: %s", fault)
		}
		return el.FindElement("GetAuthorizationCookieResult/CookieData").Text()
	}
	getCookie := func(base, auth string) (string, string) {
		el, fault := soapAnswer(t, client(base), nsClient, "GetCookie", "<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+auth+
			"</CookieData></AuthorizationCookie></authCookies><lastChange>"+lastChange+"</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>")
		if fault != "" {
			return "", fault
		}
		res := el.FindElement("GetCookieResult")
		return "<cookie><Expiration>" + res.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + res.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>", ""
	}
	register := func(base, ck string) string {
		_, fault := soapAnswer(t, client(base), nsClient, "RegisterComputer", ck+"<computerInfo><DnsName>rotating-client</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber></computerInfo>")
		return fault
	}
	authA := authorize(a.base)
	sessionA, fault := getCookie(a.base, authA)
	if fault != "" {
		t.Fatalf("GetCookie on A: %s", fault)
	}
	sessionC, fault := getCookie(c.base, authorize(c.base))
	if fault != "" {
		t.Fatalf("GetCookie on C: %s", fault)
	}

	cases := []struct {
		name, want string
		send       func() string
	}{
		{"A's session cookie on B", "InvalidCookie", func() string { return register(b.base, sessionA) }},
		{"A's authorization cookie on B", "InvalidAuthorizationCookie", func() string { _, f := getCookie(b.base, authA); return f }},
		{"A's session cookie on C", "", func() string { return register(c.base, sessionA) }},
		{"A's authorization cookie on C", "", func() string { _, f := getCookie(c.base, authA); return f }},
		{"C's session cookie on B", "", func() string { return register(b.base, sessionC) }},
		{"A's session cookie on A", "", func() string { return register(a.base, sessionA) }},
	}
	for _, tc := range cases {
		if got := tc.send(); got != tc.want {
			t.Errorf("%s: fault %q, want %q", tc.name, got, tc.want)
		}
	}

	// B logged the mismatch, once per cookie here (the minute's
	// deduplication is internal/logdedup's, in wsusd); A and C none.
	lines := errorLines(t, logB.String(), cookie.MismatchMessage)
	if len(lines) != 2 {
		t.Fatalf("B logged %d mismatch lines, want 2 (session, authorization):\n%s", len(lines), logB.String())
	}
	oldRaw, _ := hex.DecodeString(oldKey)
	newRaw, _ := hex.DecodeString(newKey)
	for _, l := range lines {
		if l["err"] != "cookie: sealed with a cookie key this server does not hold" || l["cookie_key_id"] != cookie.KeyID(oldRaw) || l["held_key_ids"] != cookie.KeyID(newRaw) {
			t.Errorf("mismatch line %v: want the stable err, cookie_key_id %s, held_key_ids %s", l, cookie.KeyID(oldRaw), cookie.KeyID(newRaw))
		}
	}
	for name, log := range map[string]string{"A": logA.String(), "C": logC.String()} {
		if n := len(errorLines(t, log, cookie.MismatchMessage)); n != 0 {
			t.Errorf("%s logged %d mismatch lines, want none", name, n)
		}
	}
	if want := `"key_id":"` + cookie.KeyID(newRaw) + `","previous_key_ids":["` + cookie.KeyID(oldRaw) + `"]`; !strings.Contains(logC.String(), want) {
		t.Errorf("C's log does not name its keys (%s):\n%s", want, logC.String())
	}
}

// TestPreviousCookieKeyConfig: the previous keys come from the list or a
// file (one a line, # comments), never both; a bad key is refused naming
// which, before anything is served.
func TestPreviousCookieKeyConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k1, k2 := strings.Repeat("c3", 32), strings.Repeat("d4", 32)
	good := write("previous", "# rotated 2026-12-06\n"+k1+"\n\n"+k2+"\n")
	cases := []struct {
		name string
		cfg  server.Config
		want string // "" accepted
	}{
		{"list", server.Config{CookieKeyPrevious: k1 + "," + k2}, ""},
		{"file", server.Config{CookieKeyPreviousFile: good}, ""},
		{"both", server.Config{CookieKeyPrevious: k1, CookieKeyPreviousFile: good}, "previous cookie keys and a previous cookie key file are both configured"},
		{"second key of the list bad", server.Config{CookieKeyPrevious: k1 + ",xyz"}, "server: previous cookie keys: cookie: key 2 of the list must be 64 hex digits"},
		{"bad line in the file", server.Config{CookieKeyPreviousFile: write("bad", k1+"\n"+k2[:62]+"\n")}, "server: previous cookie key file " + filepath.Join(dir, "bad") + ": cookie: line 2: a key must be 64 hex digits"},
		{"missing file", server.Config{CookieKeyPreviousFile: filepath.Join(dir, "missing")}, "previous cookie key file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.DataDir, c.cfg.AdminToken, c.cfg.CookieKey = t.TempDir(), "t", strings.Repeat("e5", 32)
			stores, err := server.OpenStores(ctx, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer stores.Close()
			logs := &syncbuf.Buffer{}
			_, err = server.New(ctx, c.cfg, stores, slog.New(slog.NewJSONHandler(logs, nil)))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				k1Raw, _ := hex.DecodeString(k1)
				k2Raw, _ := hex.DecodeString(k2)
				if want := `"previous_key_ids":["` + cookie.KeyID(k1Raw) + `","` + cookie.KeyID(k2Raw) + `"]`; !strings.Contains(logs.String(), want) {
					t.Errorf("log does not name the previous keys (%s):\n%s", want, logs.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one saying %q", err, c.want)
			}
		})
	}
}
