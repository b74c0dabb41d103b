package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/internal/xpress"
	"wsus/soap"
	"wsus/sync/wsusss"
)

// The answers are the recorded messages of ../wsusss/testdata (see its
// README for their source, licence and digests). The sample cookie expires
// at 2026-10-04T20:33:26.65455Z; testNow is well before, so the tests'
// clock does not renew it unless a test moves the clock.
var testNow = time.Date(2026, 10, 4, 16, 0, 0, 0, time.UTC)

// sample returns ../wsusss/testdata/name without its first line (the
// "<!-- source -->" comment, which would precede an XML declaration).
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "wsusss", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		t.Fatalf("%s: no line after the source comment", name)
	}
	return b[i+1:]
}

// authCookieAnswer is a GetAuthorizationCookie answer. [I] None was
// recorded; made here with the spec's element names, as
// wsusss.TestParseGetAuthorizationCookie does.
const authCookieAnswer = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
	`<GetAuthorizationCookieResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"><GetAuthorizationCookieResult>` +
	`<PlugInId>DssTargeting</PlugInId><CookieData>AQID</CookieData></GetAuthorizationCookieResult></GetAuthorizationCookieResponse></soap:Body></soap:Envelope>`

// answer is one scripted HTTP answer.
type answer struct {
	status int
	body   []byte
	// encoding "xpress" frames body in Xpress (Content-Encoding: xpress);
	// "xpress-corrupt" does and then damages it.
	encoding string
}

// fake is an upstream over loopback: it checks every request (POST, path,
// Content-Type, quoted SOAPAction, a body that is the SOAPAction's
// operation) and answers the recorded answer of the operation, or the next
// scripted answer for it.
type fake struct {
	t        *testing.T
	defaults map[string][]byte

	mu     sync.Mutex
	calls  map[string]int
	script map[string][]answer
	seen   chan string // each operation received, when not nil
}

func newFake(t *testing.T) *fake {
	return &fake{
		t: t,
		defaults: map[string][]byte{
			"GetAuthConfig":          sample(t, "wsusss-GetAuthConfigResponse.xml"),
			"GetAuthorizationCookie": []byte(authCookieAnswer),
			"GetCookie":              sample(t, "wsusss-GetCookieResponse.xml"),
			"GetConfigData":          sample(t, "wsusss-GetConfigDataResponse-wsus-upstream.xml"),
			"GetRevisionIdList":      sample(t, "wsusss-GetRevisionIdListResponse-getconfig-categories.xml"),
			"GetUpdateData":          sample(t, "wsusss-GetUpdateDataResponse-leaf-compressed-with-fileurl.xml"),
		},
		calls:  map[string]int{},
		script: map[string][]answer{},
	}
}

func (f *fake) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(format string, args ...any) {
		f.t.Errorf("upstream request: "+format, args...)
		http.Error(w, "bad request", http.StatusBadRequest)
	}
	if r.Method != http.MethodPost {
		fail("method %s", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		fail("Content-Type %q", ct)
		return
	}
	action := r.Header.Get("SOAPAction")
	if len(action) < 2 || action[0] != '"' || action[len(action)-1] != '"' {
		fail("SOAPAction %q is not quoted", action)
		return
	}
	action = action[1 : len(action)-1]
	op := path.Base(action)
	ns, wantPath := wsusss.NSServerSync, "/"+wsusss.ServerSyncPath
	if op == "GetAuthorizationCookie" {
		ns, wantPath = wsusss.NSDssAuth, "/"+wsusss.DssAuthPath
	}
	if action != ns+"/"+op {
		fail("SOAPAction %q", action)
		return
	}
	if r.URL.Path != wantPath {
		fail("%s posted to %s, want %s", op, r.URL.Path, wantPath)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail("%s: reading the body: %v", op, err)
		return
	}
	doc, err := soap.ReadDocument(body)
	if err != nil {
		fail("%s: body: %v", op, err)
		return
	}
	env := doc.Root()
	b := soap.Child(env, "Body")
	if env == nil || env.Tag != "Envelope" || b == nil || len(b.ChildElements()) != 1 {
		fail("%s: not a SOAP envelope with one operation: %s", op, body)
		return
	}
	if got := b.ChildElements()[0]; got.Tag != op || got.NamespaceURI() != ns {
		fail("%s: body holds {%s}%s", op, got.NamespaceURI(), got.Tag)
		return
	}
	f.mu.Lock()
	f.calls[op]++
	a := answer{status: http.StatusOK, body: f.defaults[op]}
	if s := f.script[op]; len(s) > 0 {
		a, f.script[op] = s[0], s[1:]
	}
	seen := f.seen
	f.mu.Unlock()
	if seen != nil {
		seen <- op
	}
	if ae := r.Header.Get("Accept-Encoding"); ae != "xpress" {
		fail("%s: Accept-Encoding %q, want xpress", op, ae)
		return
	}
	body = a.body
	if strings.HasPrefix(a.encoding, "xpress") {
		body = xpress.Frame(nil, a.body, 0)
		if a.encoding == "xpress-corrupt" {
			body = body[:len(body)-len(body)/3]
		}
		w.Header().Set("Content-Encoding", "xpress")
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
}

// testClient returns a Client of url whose backoff waits milliseconds and
// whose clock stands at testNow.
func testClient(t *testing.T, url string, hc *http.Client) *Client {
	t.Helper()
	c, err := New(Config{
		URL:         url,
		HTTPClient:  hc,
		AccountName: "dss.example.test",
		AccountGUID: uuid.MustParse("6ea5b8a5-3f2b-4fd8-9d61-0c3c1e2a9b11"),
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.initialInterval = time.Millisecond
	c.maxInterval = 5 * time.Millisecond
	c.now = func() time.Time { return testNow }
	return c
}

func start(t *testing.T, f *fake) *Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return testClient(t, srv.URL, srv.Client())
}

var leafID = wsusss.UpdateIdentity{UpdateID: uuid.MustParse("266f6222-c89d-43f2-9f8a-69340271e677"), RevisionNumber: 200}

// TestHappyPath runs a session as a sync would and checks the values parsed
// from the recorded answers.
func TestHappyPath(t *testing.T) {
	f := newFake(t)
	c := start(t, f)
	ctx := t.Context()
	if err := c.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	cd, err := c.GetConfigData(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if cd.MaxNumberOfUpdatesPerRequest != 100 || cd.NewConfigAnchor != "9438,2026-10-04 16:33:26.670" || cd.ProtocolVersion == "" || len(cd.Languages) != 39 {
		t.Errorf("GetConfigData = %+v", cd)
	}
	rl, err := c.GetRevisionIDList(ctx, wsusss.Filter{GetConfig: true})
	if err != nil {
		t.Fatal(err)
	}
	if rl.Anchor != "9438,2026-10-04 16:33:26.671" || len(rl.NewRevisions) != 30 {
		t.Errorf("GetRevisionIDList: anchor %q, %d revisions", rl.Anchor, len(rl.NewRevisions))
	}
	ud, err := c.GetUpdateData(ctx, []wsusss.UpdateIdentity{leafID})
	if err != nil {
		t.Fatal(err)
	}
	leafDoc, err := os.ReadFile(filepath.Join("..", "wsusss", "testdata", "leaf-266f6222-r200.xml")) // cabextract's output
	if err != nil {
		t.Fatal(err)
	}
	if len(ud.Updates) != 1 || ud.Updates[0].ID != leafID || !ud.Updates[0].Compressed || !bytes.Equal(ud.Updates[0].XML, leafDoc) {
		t.Errorf("GetUpdateData updates = %+v", ud.Updates)
	}
	if len(ud.FileURLs) != 1 || !strings.HasSuffix(ud.FileURLs[0].MUURL, "/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe") {
		t.Errorf("GetUpdateData file URLs = %+v", ud.FileURLs)
	}
	for op, want := range map[string]int{"GetAuthConfig": 1, "GetAuthorizationCookie": 1, "GetCookie": 1, "GetConfigData": 1, "GetRevisionIdList": 1, "GetUpdateData": 1} {
		if got := f.count(op); got != want {
			t.Errorf("%s called %d times, want %d", op, got, want)
		}
	}
}

// fault returns the spec's InvalidCookie fault with its ErrorCode replaced.
func fault(t *testing.T, code soap.ErrorCode) []byte {
	b := sample(t, "mswsusss-spec-example-Fault-InvalidCookie-repaired.xml")
	return bytes.Replace(b, []byte("<ErrorCode>InvalidCookie</ErrorCode>"), []byte("<ErrorCode>"+code+"</ErrorCode>"), 1)
}

func isFault(code soap.ErrorCode) func(error) bool {
	return func(err error) bool {
		f, ok := errors.AsType[*wsusss.Fault](err)
		return ok && f.Code == code
	}
}

func isStatus(code int) func(error) bool {
	return func(err error) bool {
		se, ok := errors.AsType[*StatusError](err)
		return ok && se.StatusCode == code
	}
}

// TestGetUpdateDataScenarios: how one GetUpdateData ends after the scripted
// answers, and how many requests it took. Extend the table to add a case.
func TestGetUpdateDataScenarios(t *testing.T) {
	ok := sample(t, "wsusss-GetUpdateDataResponse-leaf-compressed-with-fileurl.xml")
	tests := []struct {
		name    string
		script  []answer // the first GetUpdateData answers; then the recorded one
		maxBody int64    // zero: wsusss.MaxResponseBytes
		wantErr func(error) bool
		// requests received
		wantUpdateData, wantAuth int
	}{
		{name: "recorded answer", wantUpdateData: 1, wantAuth: 1},
		{name: "InvalidCookie, re-authenticated once",
			script:         []answer{{500, fault(t, soap.InvalidCookie), ""}},
			wantUpdateData: 2, wantAuth: 2},
		{name: "CookieExpired answered with 200, re-authenticated once",
			script:         []answer{{200, fault(t, soap.CookieExpired), ""}},
			wantUpdateData: 2, wantAuth: 2},
		{name: "InvalidCookie twice is returned",
			script:         []answer{{500, fault(t, soap.InvalidCookie), ""}, {500, fault(t, soap.InvalidCookie), ""}},
			wantErr:        isFault(soap.InvalidCookie),
			wantUpdateData: 2, wantAuth: 2},
		{name: "503 twice then 200 is retried",
			script:         []answer{{503, []byte("busy"), ""}, {503, []byte("busy"), ""}},
			wantUpdateData: 3, wantAuth: 1},
		{name: "502 and 504 are retried",
			script:         []answer{{502, nil, ""}, {504, nil, ""}},
			wantUpdateData: 3, wantAuth: 1},
		{name: "ServerBusy fault is retried",
			script:         []answer{{500, fault(t, soap.ServerBusy), ""}},
			wantUpdateData: 2, wantAuth: 1},
		{name: "InternalServerError fault is retried",
			script:         []answer{{500, fault(t, soap.InternalServerError), ""}},
			wantUpdateData: 2, wantAuth: 1},
		{name: "InvalidParameters fault is not retried",
			script:         []answer{{500, fault(t, soap.InvalidParameters), ""}},
			wantErr:        isFault(soap.InvalidParameters),
			wantUpdateData: 1, wantAuth: 1},
		{name: "Xpress answer is decoded",
			script:         []answer{{200, ok, "xpress"}},
			wantUpdateData: 1, wantAuth: 1},
		{name: "Xpress answer cut short every time is malformed after MalformedAttempts",
			script:         []answer{{200, ok, "xpress-corrupt"}, {200, ok, "xpress-corrupt"}, {200, ok, "xpress-corrupt"}},
			wantErr:        func(err error) bool { return errors.Is(err, wsusss.ErrMalformed) },
			wantUpdateData: MalformedAttempts, wantAuth: 1},
		{name: "truncated body is tried again",
			script:         []answer{{200, ok[:len(ok)/2], ""}},
			wantUpdateData: 2, wantAuth: 1},
		{name: "body truncated every time is malformed after MalformedAttempts",
			script:         []answer{{200, ok[:len(ok)/2], ""}, {200, ok[:len(ok)/3], ""}, {200, ok[:len(ok)/2], ""}},
			wantErr:        func(err error) bool { return errors.Is(err, wsusss.ErrMalformed) },
			wantUpdateData: MalformedAttempts, wantAuth: 1},
		{name: "500 without a fault is a status error, not retried",
			script:         []answer{{500, []byte("<html>Server Error</html>"), ""}},
			wantErr:        isStatus(500),
			wantUpdateData: 1, wantAuth: 1},
		{name: "404 is a status error, not retried",
			script:         []answer{{404, nil, ""}},
			wantErr:        isStatus(404),
			wantUpdateData: 1, wantAuth: 1},
		{name: "body over the limit is refused, not retried",
			maxBody:        int64(len(ok)) - 1,
			wantErr:        func(err error) bool { return errors.Is(err, ErrTooLarge) },
			wantUpdateData: 1, wantAuth: 1},
		{name: "body at the limit is read",
			maxBody:        int64(len(ok)),
			wantUpdateData: 1, wantAuth: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.script["GetUpdateData"] = tc.script
			c := start(t, f)
			if tc.maxBody != 0 {
				c.maxBody = tc.maxBody
			}
			ud, err := c.GetUpdateData(t.Context(), []wsusss.UpdateIdentity{leafID})
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("error %v", err)
			case tc.wantErr == nil && (len(ud.Updates) != 1 || ud.Updates[0].ID != leafID):
				t.Errorf("updates %+v", ud.Updates)
			case tc.wantErr != nil && !tc.wantErr(err):
				t.Errorf("error %v (%T), not the one expected", err, err)
			}
			if got := f.count("GetUpdateData"); got != tc.wantUpdateData {
				t.Errorf("GetUpdateData received %d times, want %d", got, tc.wantUpdateData)
			}
			for _, op := range []string{"GetAuthConfig", "GetAuthorizationCookie", "GetCookie"} {
				if got := f.count(op); got != tc.wantAuth {
					t.Errorf("%s received %d times, want %d", op, got, tc.wantAuth)
				}
			}
		})
	}
}

// TestRetryGivesUp: a call keeps failing transiently past MaxElapsed.
func TestRetryGivesUp(t *testing.T) {
	f := newFake(t)
	for range 1000 {
		f.script["GetConfigData"] = append(f.script["GetConfigData"], answer{503, nil, ""})
	}
	c := start(t, f)
	c.maxElapsed = 50 * time.Millisecond
	_, err := c.GetConfigData(t.Context(), "")
	if !isStatus(503)(err) {
		t.Fatalf("error %v, want HTTP 503", err)
	}
	if n := f.count("GetConfigData"); n < 2 {
		t.Errorf("GetConfigData received %d times, want retries", n)
	}
}

// TestCancelDuringRetry: cancelling ctx while the backoff waits ends the
// call at once, with ctx's error.
func TestCancelDuringRetry(t *testing.T) {
	f := newFake(t)
	f.script["GetConfigData"] = []answer{{503, nil, ""}, {503, nil, ""}}
	f.seen = make(chan string, 10)
	c := start(t, f)
	c.initialInterval = time.Minute // the wait the cancel cuts short
	c.maxInterval = time.Minute
	if err := c.Authenticate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.GetConfigData(ctx, "")
		done <- err
	}()
	for op := range f.seen {
		if op == "GetConfigData" {
			break
		}
	}
	time.Sleep(10 * time.Millisecond) // let the client start waiting
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned %v after the cancel", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GetConfigData did not return after the cancel")
	}
	if n := f.count("GetConfigData"); n != 1 {
		t.Errorf("GetConfigData received %d times, want 1", n)
	}
}

// TestCookieRenewal: a cookie within RenewMargin of its expiration is
// renewed before the call, passing the old one.
func TestCookieRenewal(t *testing.T) {
	f := newFake(t)
	c := start(t, f)
	ctx := t.Context()
	if _, err := c.GetConfigData(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetConfigData(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GetCookie"); n != 1 {
		t.Fatalf("GetCookie received %d times before the clock moved, want 1", n)
	}
	exp := time.Date(2026, 10, 4, 20, 33, 26, 654550000, time.UTC) // the sample cookie's
	c.now = func() time.Time { return exp.Add(-RenewMargin + time.Second) }
	if _, err := c.GetConfigData(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GetCookie"); n != 2 {
		t.Errorf("GetCookie received %d times after the clock moved, want 2", n)
	}
}

// TestTLS: HTTPS with a test CA given as CAFile; without it the certificate
// is refused at once, not retried.
func TestTLS(t *testing.T) {
	f := newFake(t)
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	for _, tc := range []struct {
		name   string
		caFile string
		ok     bool
	}{{"with CAFile", ca, true}, {"system roots only", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{URL: srv.URL, CAFile: tc.caFile, AccountName: "dss", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			c.initialInterval = time.Hour // a retry would time the test out
			err = c.Authenticate(t.Context())
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				if _, isCert := errors.AsType[*tls.CertificateVerificationError](err); !isCert {
					t.Fatalf("error %v, want a certificate verification error", err)
				}
			}
		})
	}
	if n := f.count("GetCookie"); n != 1 {
		t.Errorf("GetCookie received %d times, want 1", n)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "URL is not set"},
		{"ftp://wsus:8530", `scheme "ftp"`},
		{"wsus:8530", "scheme"},
		{"http://", "no host"},
		{"http://wsus:8530/?a=b", "query"},
		{"http://%zz", "URL"},
	} {
		_, err := New(Config{URL: tc.url, AccountName: "dss"})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "URL") {
			t.Errorf("New(%q) = %v, want an error naming URL and %q", tc.url, err, tc.want)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{bad, filepath.Join(dir, "missing.pem")} {
		if _, err := New(Config{URL: "https://wsus:8531", CAFile: f, AccountName: "dss"}); err == nil || !strings.Contains(err.Error(), "CAFile") {
			t.Errorf("CAFile %s: error %v, want one naming CAFile", f, err)
		}
	}
	for _, u := range []string{"https://sws.update.microsoft.com", "http://wsus:8530", "http://wsus:8530/sub/"} {
		if _, err := New(Config{URL: u, AccountName: "dss"}); err != nil {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}

// TestTransportErrorsRetried: a connection closed without an answer and an
// attempt past Timeout are retried.
func TestTransportErrorsRetried(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	failures := map[string]int{"hangup": 1, "slow": 1}
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hangup, slow := failures["hangup"] > 0, failures["slow"] > 0 && !(failures["hangup"] > 0)
		if hangup {
			failures["hangup"]--
		} else if slow {
			failures["slow"]--
		}
		mu.Unlock()
		switch {
		case hangup:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case slow:
			<-release // past the client's Timeout
		default:
			f.ServeHTTP(w, r)
		}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := testClient(t, srv.URL, srv.Client())
	c.timeout = 100 * time.Millisecond
	err := c.Authenticate(t.Context())
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if failures["hangup"] != 0 || failures["slow"] != 0 {
		t.Errorf("failures left: %v", failures)
	}
}

// TestBasePath: the services and the DssAuth ServiceURL resolve against a
// root with a path.
func TestBasePath(t *testing.T) {
	f := newFake(t)
	srv := httptest.NewServer(http.StripPrefix("/wsus", f))
	defer srv.Close()
	c := testClient(t, srv.URL+"/wsus", srv.Client())
	if _, err := c.GetConfigData(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GetAuthorizationCookie"); n != 1 {
		t.Errorf("GetAuthorizationCookie received %d times, want 1", n)
	}
}

func TestResolve(t *testing.T) {
	c, err := New(Config{URL: "http://wsus:8530/sub", AccountName: "dss"})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		wsusss.DssAuthPath:       "http://wsus:8530/sub/DssAuthWebService/DssAuthWebService.asmx",
		"/" + wsusss.DssAuthPath: "http://wsus:8530/DssAuthWebService/DssAuthWebService.asmx",
		"https://auth.example.test/DssAuthWebService/DssAuthWebService.asmx": "https://auth.example.test/DssAuthWebService/DssAuthWebService.asmx",
	} {
		if got, err := c.resolve(ref); err != nil || got != want {
			t.Errorf("resolve(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	for _, ref := range []string{"file:///etc/passwd", "%zz"} {
		if _, err := c.resolve(ref); err == nil {
			t.Errorf("resolve(%q) succeeded", ref)
		}
	}
}
