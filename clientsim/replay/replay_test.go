package replay

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const scanDir = testdata + "/scan"

// player is a server that plays back a recording: the n-th request gets the
// recorded answer of the n-th exchange, optionally transformed. It records
// what it received.
type player struct {
	t         *testing.T
	exchanges []Exchange
	transform func(i int, x Exchange, answer string) (int, string)

	mu       sync.Mutex
	n        int
	received []received
}

// received is a request as the player got it.
type received struct {
	Path, SOAPAction, UserAgent, AcceptEncoding string
	Request                                     []byte
}

func newPlayer(t *testing.T, exchanges []Exchange) (*player, *httptest.Server) {
	p := &player{t: t, exchanges: exchanges}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

func (p *player) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.received = append(p.received, received{Path: r.URL.Path, SOAPAction: r.Header.Get("SOAPAction"),
		UserAgent: r.UserAgent(), AcceptEncoding: r.Header.Get("Accept-Encoding"), Request: body})
	if p.n >= len(p.exchanges) {
		http.Error(w, "recording exhausted", http.StatusGone)
		return
	}
	x := p.exchanges[p.n]
	p.n++
	status, answer := x.Status, string(x.Response)
	if p.transform != nil {
		status, answer = p.transform(p.n-1, x, answer)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func load(t *testing.T) []Exchange {
	t.Helper()
	xs, err := Load(scanDir)
	if err != nil {
		t.Fatal(err)
	}
	return xs
}

func TestLoad(t *testing.T) {
	xs := load(t)
	if len(xs) != 10 {
		t.Fatalf("%d exchanges", len(xs))
	}
	x := xs[5]
	if x.Name != "000006" || x.Method != "POST" || x.Path != "/ClientWebService/client.asmx" || x.Status != 200 ||
		x.SOAPAction != `"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates"` ||
		x.UserAgent != "Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90" || x.Operation() != "SyncUpdates" ||
		len(x.Request) != 2793 || len(x.Response) != 1411 {
		t.Errorf("exchange 000006: %+v", x)
	}
	if xs[1].Path != "/SimpleAuthWebService/SimpleAuth.asmx" {
		t.Errorf("exchange 000002 path %s", xs[1].Path)
	}

	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no exchange folders") {
		t.Errorf("empty dir: %v", err)
	}
	bad := t.TempDir()
	os.Mkdir(filepath.Join(bad, "000001"), 0o755)
	os.WriteFile(filepath.Join(bad, "000001", "meta.json"), []byte(`{"path": "/x"}`), 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "exchange 000001: meta.json lacks method, path or status") {
		t.Errorf("bad meta: %v", err)
	}
}

const allEqual = `000001 GetConfig equal
000002 GetAuthorizationCookie equal
000003 GetCookie equal
000004 RegisterComputer equal
000005 StartCategoryScan equal
000006 SyncUpdates equal
000007 SyncUpdates equal
000008 SyncUpdates equal
000009 SyncUpdates equal
000010 GetExtendedUpdateInfo equal
replay: 10 exchanges, 10 equal, 0 differ
`

func TestRunAgainstRecordingIsEqual(t *testing.T) {
	xs := load(t)
	p, srv := newPlayer(t, xs)
	results, err := Run(context.Background(), Config{ServerURL: srv.URL}, xs)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	differ, err := Report(&out, results, false)
	if err != nil || differ != 0 || out.String() != allEqual {
		t.Errorf("report (%d differ, %v):\n%s", differ, err, out.String())
	}
	// Nothing needed rewriting: every request went out byte for byte, to the
	// recorded path, with the recorded SOAPAction and User-Agent.
	for i, r := range p.received {
		x := xs[i]
		if r.Path != x.Path || r.SOAPAction != x.SOAPAction || r.UserAgent != x.UserAgent || string(r.Request) != string(x.Request) || r.AcceptEncoding != "" {
			t.Errorf("request %d differs from the recording: %+v", i+1, r)
		}
	}
}

func TestRunRewritesCookiesAndRevisionIDs(t *testing.T) {
	xs := load(t)
	p, srv := newPlayer(t, xs)
	ids := map[string]string{"108226": "1", "108231": "2", "72571": "3"}
	aaaa := regexp.MustCompile(`<(CookieData|EncryptedData)>A+=*<`)
	updateID := regexp.MustCompile(`<UpdateInfo><ID>(\d+)</ID>`)
	syncN := 0
	p.transform = func(i int, x Exchange, answer string) (int, string) {
		switch x.Operation() {
		case "GetAuthorizationCookie":
			answer = aaaa.ReplaceAllString(answer, "<$1>QXV0aA==<")
		case "GetCookie":
			answer = aaaa.ReplaceAllString(answer, "<$1>Q29va2ll<")
		case "SyncUpdates":
			syncN++
			answer = aaaa.ReplaceAllString(answer, fmt.Sprintf("<$1>TmV3%d<", syncN))
			answer = updateID.ReplaceAllStringFunc(answer, func(m string) string {
				id := updateID.FindStringSubmatch(m)[1]
				return "<UpdateInfo><ID>" + ids[id] + "</ID>"
			})
		}
		return x.Status, answer
	}
	results, err := Run(context.Background(), Config{ServerURL: srv.URL + "/"}, xs)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if differ, _ := Report(&out, results, false); differ != 0 || out.String() != allEqual {
		t.Errorf("report:\n%s", out.String())
	}
	want := []struct {
		exchange int
		contains []string
	}{
		{3, []string{"<CookieData>QXV0aA==</CookieData>", "<oldCookie><Expiration>2026-10-04T15:03:36Z</Expiration></oldCookie>"}},
		{4, []string{"<EncryptedData>Q29va2ll</EncryptedData>"}},
		{6, []string{"<EncryptedData>Q29va2ll</EncryptedData>"}},
		{7, []string{"<EncryptedData>TmV31</EncryptedData>", "<InstalledNonLeafUpdateIDs><int>1</int></InstalledNonLeafUpdateIDs>"}},
		{8, []string{"<EncryptedData>TmV32</EncryptedData>", "<InstalledNonLeafUpdateIDs><int>1</int><int>2</int></InstalledNonLeafUpdateIDs>"}},
		{9, []string{"<EncryptedData>TmV33</EncryptedData>", "<InstalledNonLeafUpdateIDs><int>1</int><int>2</int></InstalledNonLeafUpdateIDs>"}},
		{10, []string{"<EncryptedData>TmV34</EncryptedData>", "<revisionIDs><int>3</int><int>1</int><int>2</int></revisionIDs>"}},
	}
	for _, w := range want {
		got := string(p.received[w.exchange-1].Request)
		for _, s := range w.contains {
			if !strings.Contains(got, s) {
				t.Errorf("request %06d lacks %s", w.exchange, s)
			}
		}
		// Only the rewritten values changed.
		rec := aaaa.ReplaceAllString(string(xs[w.exchange-1].Request), "<$1>X<")
		rec = strings.NewReplacer("<int>108226<", "<int>1<", "<int>108231<", "<int>2<", "<int>72571<", "<int>3<").Replace(rec)
		if norm := regexp.MustCompile(`<(CookieData|EncryptedData)>[^<]*<`).ReplaceAllString(got, "<$1>X<"); norm != rec {
			t.Errorf("request %06d changed beyond the rewrites:\n got %s\nwant %s", w.exchange, norm, rec)
		}
	}
}

func TestRunReportsDifferences(t *testing.T) {
	xs := load(t)
	p, srv := newPlayer(t, xs)
	fault, err := os.ReadFile(testdata + "/flow/m0-000141-fault-response.body")
	if err != nil {
		t.Fatal(err)
	}
	p.transform = func(i int, x Exchange, answer string) (int, string) {
		switch x.Name {
		case "000005": // a server without StartCategoryScan
			return 500, string(fault)
		case "000008":
			return x.Status, strings.Replace(answer, "<IsLeaf>true</IsLeaf>", "<IsLeaf>false</IsLeaf>", 1)
		case "000009":
			return x.Status, strings.Replace(answer, "<DriverSyncNotNeeded>true</DriverSyncNotNeeded>", "", 1)
		}
		return x.Status, answer
	}
	results, err := Run(context.Background(), Config{ServerURL: srv.URL}, xs)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	differ, _ := Report(&out, results, true)
	want := `000001 GetConfig equal
000002 GetAuthorizationCookie equal
000003 GetCookie equal
000004 RegisterComputer equal
000005 StartCategoryScan DIFFERS: HTTP: expected status 200, got 500
    /Envelope/Body/StartCategoryScanResponse: expected element StartCategoryScanResponse, got Fault
000006 SyncUpdates equal
000007 SyncUpdates equal
000008 SyncUpdates DIFFERS: /Envelope/Body/SyncUpdatesResponse/SyncUpdatesResult/NewUpdates/UpdateInfo/IsLeaf: expected "true", got "false"
000009 SyncUpdates DIFFERS: /Envelope/Body/SyncUpdatesResponse/SyncUpdatesResult/DriverSyncNotNeeded: missing element DriverSyncNotNeeded
000010 GetExtendedUpdateInfo equal
replay: 10 exchanges, 7 equal, 3 differ
`
	if differ != 3 || out.String() != want {
		t.Errorf("report (%d differ):\n%s\nwant:\n%s", differ, out.String(), want)
	}
	out.Reset()
	Report(&out, results[4:5], false)
	if got := out.String(); !strings.HasPrefix(got, "000005 StartCategoryScan DIFFERS: HTTP: expected status 200, got 500 (and 1 more)\n") {
		t.Errorf("short report %q", got)
	}
}

func TestRunFailsWhenServerUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := Run(context.Background(), Config{ServerURL: url}, load(t)[:1])
	if err == nil || !strings.Contains(err.Error(), "replay: exchange 000001 GetConfig:") {
		t.Errorf("error %v", err)
	}
	if _, err := Run(context.Background(), Config{ServerURL: "127.0.0.1:8530"}, nil); err == nil {
		t.Error("accepted a URL without scheme")
	}
}
