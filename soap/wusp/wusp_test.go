package wusp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/postgres"
	"wsus/catalog/scan"
	"wsus/catalog/sqlite"
	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/soap/wusp"
	"wsus/storage"
	"wsus/sync/importer"
)

// Update IDs of the demo catalog in testdata/catalog.
var (
	idMicrosoft = uuid.MustParse("56309036-4c77-4dd9-951a-99ee9c246a94")
	idWindows   = uuid.MustParse("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d")
	idOOBEZDP   = uuid.MustParse("dd78b8a1-0b20-45c1-add6-4da72e9364cf")
	idDemo      = uuid.MustParse("7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7")
	// idDefenderBundle's prerequisites are not in the demo catalog.
	idDefenderBundle = uuid.MustParse("1f9bd9bb-7390-4aa3-bbdb-ded99fac2583")
)

const clientPath = "/ClientWebService/client.asmx"

// clock is a settable time source for cookie expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a server on a real listener over a real embedded store holding the
// demo catalog, with the local demo update approved for All Computers.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	store  catalog.Store
	dbPath string // of the embedded store, "" for another one
	sealer *cookie.Sealer
	clock  *clock
	ids    map[uuid.UUID]int32 // UpdateID → revision ID
	info   catalog.ServerInfo
}

type envOptions struct {
	pageSize     int
	maxPageBytes int
	// databaseURL selects a PostgreSQL store instead of the embedded one.
	databaseURL string
	// maxInflight and maxBufferedBytes are the admission settings; zero
	// means the defaults.
	maxInflight      int
	maxBufferedBytes int64
	// logger receives the services' logs; nil discards them.
	logger *slog.Logger
	// middleware, when set, wraps the handlers of the three services.
	middleware func(http.Handler) http.Handler
	// scans, when set, is told the sizes of every SyncUpdates round.
	scans wusp.ScanObserver
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var store catalog.Store
	var err error
	dbPath := ""
	if opts.databaseURL != "" {
		store, err = postgres.Open(ctx, opts.databaseURL)
	} else {
		dbPath = filepath.Join(dir, "catalog.db")
		store, err = sqlite.Open(ctx, dbPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := storage.NewFS(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", "testdata", "catalog")
	if _, err := importer.Import(ctx, store, blobs, []string{filepath.Join(root, "microsoft")}, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, store, blobs, []string{filepath.Join(root, "local")}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, cookie.KeySize)
	sealer, err := cookie.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	logger := opts.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	services, err := wusp.New(ctx, wusp.Config{
		Store: store, Engine: scan.NewEngine(store, 0), Sealer: sealer,
		Logger: logger, PageSize: opts.pageSize, MaxPageBytes: opts.maxPageBytes, Now: clk.now,
		MaxInflight: opts.maxInflight, MaxBufferedBytes: opts.maxBufferedBytes,
		Scans: opts.scans,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(clientPath, services.Client())
	mux.Handle("/SimpleAuthWebService/SimpleAuth.asmx", services.SimpleAuth())
	mux.Handle("/ReportingWebService/ReportingWebService.asmx", services.Reporting())
	var handler http.Handler = mux
	if opts.middleware != nil {
		handler = opts.middleware(mux)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	info, err := store.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := store.Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[uuid.UUID]int32{}
	for _, s := range sums {
		ids[s.UpdateID] = s.ID
	}
	return &env{t: t, srv: srv, store: store, dbPath: dbPath, sealer: sealer, clock: clk, ids: ids, info: info}
}

// call posts one SOAP request and returns the HTTP status and parsed body.
func (e *env) call(path, ns, op, inner string) (int, *etree.Element) {
	e.t.Helper()
	body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><` + op + ` xmlns="` + ns + `">` + inner + `</` + op + `></s:Body></s:Envelope>`
	return e.post(path, `"`+ns+"/"+op+`"`, body)
}

func (e *env) post(path, action, body string) (int, *etree.Element) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "" {
		req.Header.Set("SOAPAction", action)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.ContentLength != int64(len(data)) || len(resp.TransferEncoding) > 0 {
		e.t.Fatalf("response not sent with an exact Content-Length: %d vs %d bytes, %v", resp.ContentLength, len(data), resp.TransferEncoding)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		e.t.Fatalf("response is not XML: %v\n%s", err, data)
	}
	body0 := doc.FindElement("/Envelope/Body")
	if body0 == nil || len(body0.ChildElements()) != 1 {
		e.t.Fatalf("response has no body element:\n%s", data)
	}
	return resp.StatusCode, body0.ChildElements()[0]
}

// faultCode returns the detail ErrorCode of a fault response, "" if el is
// not a fault.
func faultCode(el *etree.Element) string {
	if el.Tag != "Fault" {
		return ""
	}
	return soap.Text(soap.Child(el, "detail"), "ErrorCode")
}

// login runs GetAuthorizationCookie, GetCookie and RegisterComputer for a
// new client and returns its cookie element XML.
func (e *env) login(targetGroup string) (clientID, cookieXML string) {
	e.t.Helper()
	clientID, cookieXML = e.authorize(targetGroup)
	e.register(clientID, cookieXML)
	return clientID, cookieXML
}

// authorize runs GetAuthorizationCookie and GetCookie for a new client and
// returns its cookie element XML; the client is not registered yet.
func (e *env) authorize(targetGroup string) (clientID, cookieXML string) {
	e.t.Helper()
	clientID = uuid.NewString()
	tg := ""
	if targetGroup != "" {
		tg = "<targetGroupName>" + targetGroup + "</targetGroupName>"
	}
	status, el := e.call("/SimpleAuthWebService/SimpleAuth.asmx", soap.NSSimpleAuth, "GetAuthorizationCookie",
		"<clientId>"+clientID+"</clientId>"+tg+"<dnsName>pc-"+clientID[:8]+"</dnsName>")
	if status != 200 {
		e.t.Fatalf("GetAuthorizationCookie: %d %s", status, faultCode(el))
	}
	authData := el.FindElement("GetAuthorizationCookieResult/CookieData").Text()
	status, el = e.call(clientPath, soap.NSClient, "GetCookie",
		"<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>"+authData+"</CookieData></AuthorizationCookie></authCookies>"+
			"<oldCookie><Expiration>2026-10-04T15:03:36Z</Expiration></oldCookie><lastChange>"+soap.FormatDateTime(e.info.ConfigChanged)+"</lastChange>"+
			"<currentTime>2026-10-04T15:03:36Z</currentTime><protocolVersion>2.90</protocolVersion>")
	if status != 200 {
		e.t.Fatalf("GetCookie: %d %s", status, faultCode(el))
	}
	res := el.FindElement("GetCookieResult")
	cookieXML = "<cookie><Expiration>" + res.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + res.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
	return clientID, cookieXML
}

// register runs RegisterComputer for an authorized client.
func (e *env) register(clientID, cookieXML string) {
	e.t.Helper()
	status, el := e.call(clientPath, soap.NSClient, "RegisterComputer", cookieXML+
		"<computerInfo><DnsName>pc-"+clientID[:8]+"</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber>"+
		"<OSServicePackMajorNumber>0</OSServicePackMajorNumber><OSServicePackMinorNumber>0</OSServicePackMinorNumber><OSLocale>en-US</OSLocale>"+
		"<ProcessorArchitecture>AMD64</ProcessorArchitecture><ClientVersionMajorNumber>1507</ClientVersionMajorNumber><ClientVersionMinorNumber>2601</ClientVersionMinorNumber>"+
		"<ClientVersionBuildNumber>30012</ClientVersionBuildNumber><ClientVersionQfeNumber>0</ClientVersionQfeNumber><OSDescription>Windows 10 Pro</OSDescription></computerInfo>")
	if status != 200 || el.Tag != "RegisterComputerResponse" {
		e.t.Fatalf("RegisterComputer: %d %s", status, faultCode(el))
	}
}

func ints(name string, ids []int32) string {
	if len(ids) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("<" + name + ">")
	for _, id := range ids {
		fmt.Fprintf(&b, "<int>%d</int>", id)
	}
	b.WriteString("</" + name + ">")
	return b.String()
}

// syncUpdates runs one software SyncUpdates round.
func (e *env) syncUpdates(cookieXML string, installed, other []int32) (int, *etree.Element) {
	e.t.Helper()
	return e.call(clientPath, soap.NSClient, "SyncUpdates", cookieXML+"<parameters><ExpressQuery>false</ExpressQuery>"+
		ints("InstalledNonLeafUpdateIDs", installed)+ints("OtherCachedUpdateIDs", other)+
		"<SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>false</NeedTwoGroupOutOfScopeUpdates><AlsoPerformRegularSync>false</AlsoPerformRegularSync></parameters>")
}

// delivered is one UpdateInfo of a SyncUpdates answer.
type delivered struct {
	id     int32
	action string
	isLeaf bool
}

func newUpdates(t testing.TB, el *etree.Element) []delivered {
	t.Helper()
	var out []delivered
	for _, ui := range el.FindElements("SyncUpdatesResult/NewUpdates/UpdateInfo") {
		var id int32
		fmt.Sscan(ui.FindElement("ID").Text(), &id)
		out = append(out, delivered{id: id, action: ui.FindElement("Deployment/Action").Text(), isLeaf: ui.FindElement("IsLeaf").Text() == "true"})
		if ui.FindElement("Xml") == nil || !strings.HasPrefix(ui.FindElement("Xml").Text(), "<UpdateIdentity UpdateID=") {
			t.Fatalf("UpdateInfo %d has no Core fragment", id)
		}
		var names []string
		for _, c := range ui.FindElement("Deployment").ChildElements() {
			names = append(names, c.Tag)
		}
		if want := []string{"ID", "Action", "IsAssigned", "LastChangeTime", "AutoSelect", "AutoDownload", "SupersedenceBehavior"}; !slices.Equal(names, want) {
			t.Fatalf("Deployment children %v, want %v", names, want)
		}
	}
	return out
}

func TestPrerequisitesGateDeliveryAcrossRounds(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	m, w, z, demo := e.ids[idMicrosoft], e.ids[idWindows], e.ids[idOOBEZDP], e.ids[idDemo]

	rounds := []struct {
		name             string
		installed, other []int32
		want             []delivered
	}{
		{"first round: only the root category", nil, nil, []delivered{{m, "Evaluate", false}}},
		{"Microsoft installed: the Windows product family", []int32{m}, nil, []delivered{{w, "Evaluate", false}}},
		{"Windows installed: its product and the approved update", []int32{m, w}, nil, []delivered{{z, "Evaluate", true}, {demo, "Install", true}}},
		{"everything cached: nothing new", []int32{m, w}, []int32{z, demo}, nil},
	}
	for _, r := range rounds {
		status, el := e.syncUpdates(ck, r.installed, r.other)
		if status != 200 {
			t.Fatalf("%s: HTTP %d fault %s", r.name, status, faultCode(el))
		}
		got := newUpdates(t, el)
		slices.SortFunc(got, func(a, b delivered) int { return int(a.id - b.id) })
		slices.SortFunc(r.want, func(a, b delivered) int { return int(a.id - b.id) })
		if !slices.Equal(got, r.want) {
			t.Errorf("%s: delivered %v, want %v", r.name, got, r.want)
		}
		if tr := el.FindElement("SyncUpdatesResult/Truncated").Text(); tr != "false" {
			t.Errorf("%s: Truncated %s", r.name, tr)
		}
		if el.FindElement("SyncUpdatesResult/NewCookie/EncryptedData") == nil {
			t.Errorf("%s: no NewCookie", r.name)
		}
	}
}

func TestSyncUpdatesPagingAndOutOfScope(t *testing.T) {
	t.Run("by count", func(t *testing.T) { testPaging(t, envOptions{pageSize: 1}) })
	t.Run("by metadata size", func(t *testing.T) { testPaging(t, envOptions{maxPageBytes: 1}) })
}

// testPaging: a client with a fresh cookie (no sync anchor) that already
// holds the two installed categories. They are changed for it (an anchor
// reset), so the first pages carry them as ChangedUpdates, one a page, then
// the two new updates follow as NewUpdates; every page but the last is
// Truncated, every one lists the unknown cached ID out of scope, and each
// update comes once. The client sends the cookie of each answer, as WUA
// does: the unfinished ChangedUpdates pass travels in it.
func testPaging(t *testing.T, opts envOptions) {
	e := newEnv(t, opts)
	_, ck := e.login("")
	m, w, z, demo := e.ids[idMicrosoft], e.ids[idWindows], e.ids[idOOBEZDP], e.ids[idDemo]
	type page struct {
		changed, added []int32
		truncated      string
	}
	want := []page{{[]int32{m}, nil, "true"}, {[]int32{w}, nil, "true"}, {nil, []int32{0}, "true"}, {nil, []int32{0}, "false"}}
	other := []int32{987654}
	var added []int32
	for i, wp := range want {
		status, el := e.syncUpdates(ck, []int32{m, w}, other)
		if status != 200 {
			t.Fatalf("page %d: HTTP %d %s", i, status, faultCode(el))
		}
		var got page
		for _, u := range el.FindElements("SyncUpdatesResult/ChangedUpdates/UpdateInfo/ID") {
			var id int32
			fmt.Sscan(u.Text(), &id)
			got.changed = append(got.changed, id)
		}
		for _, u := range newUpdates(t, el) {
			got.added = append(got.added, u.id)
		}
		got.truncated = el.FindElement("SyncUpdatesResult/Truncated").Text()
		if !slices.Equal(got.changed, wp.changed) || len(got.added) != len(wp.added) || got.truncated != wp.truncated {
			t.Fatalf("page %d: changed %v new %v truncated=%s, want changed %v, %d new, truncated=%s",
				i, got.changed, got.added, got.truncated, wp.changed, len(wp.added), wp.truncated)
		}
		var oos []string
		for _, i := range el.FindElements("SyncUpdatesResult/OutOfScopeRevisionIDs/int") {
			oos = append(oos, i.Text())
		}
		if !slices.Equal(oos, []string{"987654"}) {
			t.Errorf("page %d: OutOfScopeRevisionIDs %v, want [987654]", i, oos)
		}
		added = append(added, got.added...)
		other = append(other, got.added...)
		ck = newCookie(t, el)
	}
	slices.Sort(added)
	wantAdded := []int32{z, demo}
	slices.Sort(wantAdded)
	if !slices.Equal(added, wantAdded) {
		t.Errorf("pages delivered %v, want %v", added, wantAdded)
	}
	// Everything delivered: the next round is empty.
	_, el := e.syncUpdates(ck, []int32{m, w}, other)
	if n := len(el.FindElements("SyncUpdatesResult/ChangedUpdates/UpdateInfo")) + len(newUpdates(t, el)); n != 0 ||
		el.FindElement("SyncUpdatesResult/Truncated").Text() != "false" {
		t.Errorf("after the last page: %d updates, Truncated %s", n, el.FindElement("SyncUpdatesResult/Truncated").Text())
	}
}

func TestCookieFaults(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.login("")
	valid := cookie.Session{ServerID: e.info.ID, ClientID: clientID, IssuedAt: e.clock.now(), Expires: e.clock.now().Add(time.Hour), ConfigChanged: e.info.ConfigChanged, ProtocolVersion: "2.90"}
	seal := func(s cookie.Session) string {
		b, err := e.sealer.SealSession(s)
		if err != nil {
			t.Fatal(err)
		}
		return "<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>" + base64.StdEncoding.EncodeToString(b) + "</EncryptedData></cookie>"
	}
	tampered := func() string {
		b, _ := e.sealer.SealSession(valid)
		b[len(b)-5] ^= 0x40
		return "<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>" + base64.StdEncoding.EncodeToString(b) + "</EncryptedData></cookie>"
	}
	otherKey, _ := cookie.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	foreign, _ := otherKey.SealSession(valid)
	withServer, withConfig, expired := valid, valid, valid
	withServer.ServerID = uuid.New()
	withConfig.ConfigChanged = e.info.ConfigChanged.Add(-time.Hour)
	expired.Expires = e.clock.now().Add(-time.Second)

	cases := []struct {
		name, cookie, want string
	}{
		{"valid cookie", seal(valid), ""},
		{"tampered ciphertext", tampered(), "InvalidCookie"},
		{"not base64", "<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>!!!</EncryptedData></cookie>", "InvalidCookie"},
		{"no cookie at all", "", "InvalidCookie"},
		{"sealed with another key", "<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>" + base64.StdEncoding.EncodeToString(foreign) + "</EncryptedData></cookie>", "InvalidCookie"},
		{"another server id", seal(withServer), "ServerChanged"},
		{"older configuration", seal(withConfig), "ConfigChanged"},
		{"expired", seal(expired), "CookieExpired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, el := e.syncUpdates(c.cookie, nil, nil)
			if got := faultCode(el); got != c.want {
				t.Fatalf("fault %q, want %q (HTTP %d)", got, c.want, status)
			}
			if c.want != "" && status != 500 {
				t.Fatalf("HTTP %d for a fault, want 500", status)
			}
			if c.want != "" {
				method := soap.Text(soap.Child(el, "detail"), "Method")
				if method != `"`+soap.NSClient+`/SyncUpdates"` {
					t.Errorf("fault Method %s", method)
				}
				if soap.Text(el, "faultcode") != "s:Client" || soap.Text(el, "faultstring") != "Fault occurred" {
					t.Errorf("faultcode %s faultstring %s", soap.Text(el, "faultcode"), soap.Text(el, "faultstring"))
				}
			}
		})
	}

	t.Run("the issued cookie expires after an hour", func(t *testing.T) {
		if status, el := e.syncUpdates(ck, nil, nil); status != 200 {
			t.Fatalf("fresh cookie refused: %s", faultCode(el))
		}
		e.clock.advance(time.Hour + time.Minute)
		if _, el := e.syncUpdates(ck, nil, nil); faultCode(el) != "CookieExpired" {
			t.Fatalf("fault %q after an hour, want CookieExpired", faultCode(el))
		}
	})
}

func TestAuthorizationFaults(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, el := e.call("/SimpleAuthWebService/SimpleAuth.asmx", soap.NSSimpleAuth, "GetAuthorizationCookie", "<clientId>"+uuid.NewString()+"</clientId><dnsName>pc</dnsName>")
	auth := el.FindElement("GetAuthorizationCookieResult/CookieData").Text()
	authCookie := "<AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>" + auth + "</CookieData></AuthorizationCookie>"
	lastChange := soap.FormatDateTime(e.info.ConfigChanged)
	cases := []struct {
		name, op, inner, want string
	}{
		{"GetCookie with two authorization cookies", "GetCookie", "<authCookies>" + authCookie + authCookie + "</authCookies><lastChange>" + lastChange + "</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>", "InvalidAuthorizationCookie"},
		{"GetCookie with a forged authorization cookie", "GetCookie", "<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</CookieData></AuthorizationCookie></authCookies><lastChange>" + lastChange + "</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>", "InvalidAuthorizationCookie"},
		{"GetCookie with a stale lastChange", "GetCookie", "<authCookies>" + authCookie + "</authCookies><lastChange>2001-01-01T00:00:00Z</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>", "ConfigChanged"},
		{"GetCookie with a garbage old cookie", "GetCookie", "<authCookies>" + authCookie + "</authCookies><oldCookie><Expiration>2026-01-01T00:00:00Z</Expiration><EncryptedData>AAAA</EncryptedData></oldCookie><lastChange>" + lastChange + "</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>", "InvalidCookie"},
		{"GetCookie with a bad protocol version", "GetCookie", "<authCookies>" + authCookie + "</authCookies><lastChange>" + lastChange + "</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>two</protocolVersion>", "InvalidParameters"},
		{"GetConfig without protocolVersion", "GetConfig", "", "InvalidParameters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, el := e.call(clientPath, soap.NSClient, c.op, c.inner)
			if got := faultCode(el); got != c.want || status != 500 {
				t.Fatalf("HTTP %d fault %q, want 500 %q", status, got, c.want)
			}
		})
	}

	t.Run("SyncUpdates before RegisterComputer", func(t *testing.T) {
		_, el := e.call(clientPath, soap.NSClient, "GetCookie", "<authCookies>"+authCookie+"</authCookies><lastChange>"+lastChange+"</lastChange><currentTime>2026-01-01T00:00:00Z</currentTime><protocolVersion>2.90</protocolVersion>")
		res := el.FindElement("GetCookieResult")
		ck := "<cookie><Expiration>" + res.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" + res.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
		if _, el := e.syncUpdates(ck, nil, nil); faultCode(el) != "RegistrationRequired" {
			t.Fatalf("fault %q, want RegistrationRequired", faultCode(el))
		}
	})
}

func TestMalformedAndOversizedEnvelopes(t *testing.T) {
	e := newEnv(t, envOptions{})
	getConfig := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetConfig xmlns="` + soap.NSClient + `"><protocolVersion>2.90</protocolVersion></GetConfig></s:Body></s:Envelope>`
	action := `"` + soap.NSClient + `/GetConfig"`
	cases := []struct {
		name, action, body string
	}{
		{"not XML", action, "this is not xml"},
		{"truncated XML", action, getConfig[:60]},
		{"not a SOAP envelope", action, `<Envelope><Body><GetConfig/></Body></Envelope>`},
		{"SOAP 1.2 envelope", action, strings.ReplaceAll(getConfig, "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")},
		{"empty body", action, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`},
		{"unknown operation", `"` + soap.NSClient + `/GetConfig2"`, strings.ReplaceAll(getConfig, "GetConfig", "GetConfig2")},
		{"SOAPAction of another service", `"` + soap.NSSimpleAuth + `/GetConfig"`, getConfig},
		{"SOAPAction and body disagree", `"` + soap.NSClient + `/GetCookie"`, getConfig},
		{"operation in the wrong namespace", action, strings.ReplaceAll(getConfig, soap.NSClient, "urn:wrong")},
		{"oversized", action, strings.Replace(getConfig, "<protocolVersion>", "<pad>"+strings.Repeat("x", 80<<10)+"</pad><protocolVersion>", 1)},
		{"oversized without SOAPAction", "", strings.Replace(getConfig, "<protocolVersion>", "<pad>"+strings.Repeat("x", 80<<10)+"</pad><protocolVersion>", 1)},
		{"too many elements", action, strings.Replace(getConfig, "<protocolVersion>", strings.Repeat("<a/>", 2001)+"<protocolVersion>", 1)},
		{"nested too deep", action, strings.Replace(getConfig, "<protocolVersion>", strings.Repeat("<a>", 65)+strings.Repeat("</a>", 65)+"<protocolVersion>", 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, el := e.post(clientPath, c.action, c.body)
			if status != 500 || faultCode(el) != "InvalidParameters" {
				t.Fatalf("HTTP %d fault %q, want 500 InvalidParameters", status, faultCode(el))
			}
			// The server keeps serving.
			if status, el := e.post(clientPath, action, getConfig); status != 200 || el.Tag != "GetConfigResponse" {
				t.Fatalf("GetConfig after the bad request: HTTP %d %s", status, el.Tag)
			}
		})
	}
	t.Run("body element fallback without SOAPAction", func(t *testing.T) {
		if status, el := e.post(clientPath, "", getConfig); status != 200 || el.Tag != "GetConfigResponse" {
			t.Fatalf("HTTP %d %s", status, el.Tag)
		}
	})
	t.Run("xsi:nil and SOAP-encoded arrays are tolerated", func(t *testing.T) {
		_, ck := e.login("")
		status, el := e.call(clientPath, soap.NSClient, "SyncUpdates", ck+`<parameters xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"><ExpressQuery>false</ExpressQuery><InstalledNonLeafUpdateIDs xsi:nil="1"/><OtherCachedUpdateIDs soapenc:arrayType="xsd:int[0]"/><SkipSoftwareSync>false</SkipSoftwareSync><UnknownFutureElement>1</UnknownFutureElement></parameters>`)
		if status != 200 || len(newUpdates(t, el)) != 1 {
			t.Fatalf("HTTP %d fault %q", status, faultCode(el))
		}
	})
}

func TestInstalledNonLeafLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	ids := make([]int32, 401)
	for i := range ids {
		ids[i] = int32(i + 1)
	}
	status, el := e.syncUpdates(ck, ids, nil)
	if status != 500 || faultCode(el) != "InvalidParameters" || soap.Text(soap.Child(el, "detail"), "Message") != "parameters.InstalledNonLeafUpdateIDs" {
		t.Fatalf("401 installed ids: HTTP %d fault %q %q", status, faultCode(el), soap.Text(soap.Child(el, "detail"), "Message"))
	}
	if status, el := e.syncUpdates(ck, ids[:400], nil); status != 200 {
		t.Fatalf("400 installed ids refused: %s", faultCode(el))
	}
}

func TestGetExtendedUpdateInfo(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	demo, m := e.ids[idDemo], e.ids[idMicrosoft]
	status, el := e.call(clientPath, soap.NSClient, "GetExtendedUpdateInfo", ck+ints("revisionIDs", []int32{demo, m, 555555})+
		"<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes><locales><string>en-US</string><string>en</string></locales><GeoId>USA</GeoId>")
	if status != 200 {
		t.Fatalf("HTTP %d fault %q", status, faultCode(el))
	}
	var got []string
	for _, u := range el.FindElements("GetExtendedUpdateInfoResult/Updates/Update") {
		x := u.FindElement("Xml").Text()
		got = append(got, u.FindElement("ID").Text()+":"+x[:strings.IndexAny(x, " >")])
	}
	want := []string{fmt.Sprint(demo) + ":<ExtendedProperties", fmt.Sprint(m) + ":<ExtendedProperties", fmt.Sprint(demo) + ":<LocalizedProperties", fmt.Sprint(m) + ":<LocalizedProperties"}
	if !slices.Equal(got, want) {
		t.Errorf("Updates %v, want %v", got, want)
	}
	locs := el.FindElements("GetExtendedUpdateInfoResult/FileLocations/FileLocation")
	if len(locs) != 1 {
		t.Fatalf("%d FileLocations, want 1", len(locs))
	}
	if d := locs[0].FindElement("FileDigest").Text(); d != "9Go4qNHQgxPpELEivkb89CzOwqc=" {
		t.Errorf("FileDigest %s", d)
	}
	if u := locs[0].FindElement("Url").Text(); u != e.srv.URL+"/Content/A7/F46A38A8D1D08313E910B122BE46FCF42CCEC2A7.bin" {
		t.Errorf("Url %s", u)
	}
	if oos := el.FindElement("GetExtendedUpdateInfoResult/OutOfScopeRevisionIDs/int"); oos == nil || oos.Text() != "555555" {
		t.Errorf("OutOfScopeRevisionIDs missing 555555")
	}
	many := make([]int32, 51)
	if status, el := e.call(clientPath, soap.NSClient, "GetExtendedUpdateInfo", ck+ints("revisionIDs", many)+"<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType></infoTypes>"); status != 500 || faultCode(el) != "InvalidParameters" {
		t.Errorf("51 revision ids: HTTP %d fault %q", status, faultCode(el))
	}
}

func TestReportEventBatchStoredOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.login("")
	event := func(id int, update uuid.UUID, misc string) string {
		return `<ReportingEvent><BasicData><TargetID><Sid>` + clientID + `</Sid></TargetID><SequenceNumber>0</SequenceNumber><TimeAtTarget>2026-10-04T15:20:47.502Z</TimeAtTarget>` +
			`<EventInstanceID>` + uuid.NewString() + `</EventInstanceID><NamespaceID>1</NamespaceID><EventID>` + fmt.Sprint(id) + `</EventID><SourceID>101</SourceID>` +
			`<UpdateID><UpdateID>` + update.String() + `</UpdateID><RevisionNumber>0</RevisionNumber></UpdateID><Win32HResult>0</Win32HResult></BasicData>` +
			`<ExtendedData><ReplacementStrings><string>1</string></ReplacementStrings><MiscData>` + misc + `</MiscData></ExtendedData><PrivateData/></ReportingEvent>`
	}
	batch := ck + "<clientTime>2026-10-04T15:20:47.502Z</clientTime><eventBatch>" +
		event(147, uuid.Nil, "<string>D=1</string>") +
		event(156, uuid.Nil, "<string>U="+strings.ToUpper(idDemo.String())+"</string><string>V=</string>") +
		"</eventBatch>"
	for i := range 2 {
		status, el := e.call("/ReportingWebService/ReportingWebService.asmx", soap.NSReporting, "ReportEventBatch", batch)
		if status != 200 || soap.Text(el, "ReportEventBatchResult") != "true" {
			t.Fatalf("send %d: HTTP %d %s fault %q", i, status, el.Tag, faultCode(el))
		}
	}
	ctx := context.Background()
	events, err := e.store.Events(ctx, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d events stored after sending a batch of 2 twice, want 2", len(events))
	}
	statuses, err := e.store.Statuses(ctx, clientID)
	if err != nil {
		t.Fatal(err)
	}
	// U= lists the demo update as needed; the Defender bundle is deployed for
	// detection but unlisted, so it is NotApplicable (MS-WUSP.md section 7.4).
	want := map[uuid.UUID]catalog.InstallState{idDemo: catalog.StateNotInstalled, idDefenderBundle: catalog.StateNotApplicable}
	got := map[uuid.UUID]catalog.InstallState{}
	for _, st := range statuses {
		got[st.UpdateID] = st.State
	}
	if !maps.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	c, err := e.store.Computer(ctx, clientID)
	if err != nil || c.LastReport.IsZero() {
		t.Fatalf("computer %+v err %v: LastReport not set", c, err)
	}
}

func TestGetConfigMatchesWS2025(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, el := e.call(clientPath, soap.NSClient, "GetConfig", "<protocolVersion>2.90</protocolVersion>")
	if status != 200 {
		t.Fatalf("HTTP %d", status)
	}
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	got, _ := doc.WriteToString()
	host := strings.TrimPrefix(e.srv.URL, "http://")
	host = host[:strings.LastIndex(host, ":")]
	// The recorded WS2025 answer (captures/wsus-rs/wsus-m0-native/scan/000001),
	// with our LastChange and server name.
	want := `<GetConfigResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"><GetConfigResult><LastChange>` + soap.FormatDateTime(e.info.ConfigChanged) +
		`</LastChange><IsRegistrationRequired>true</IsRegistrationRequired><AuthInfo><AuthPlugInInfo><PlugInID>SimpleTargeting</PlugInID><ServiceUrl>SimpleAuthWebService/SimpleAuth.asmx</ServiceUrl><Parameter/></AuthPlugInInfo></AuthInfo><Properties><ConfigurationProperty><Name>MaxExtendedUpdatesPerRequest</Name><Value>50</Value></ConfigurationProperty><ConfigurationProperty><Name>PackageServerShare</Name><Value>\\` + host + `\UpdateServicesPackages</Value></ConfigurationProperty><ConfigurationProperty><Name>ProtocolVersion</Name><Value>3.2</Value></ConfigurationProperty><ConfigurationProperty><Name>IsInventoryRequired</Name><Value>0</Value></ConfigurationProperty><ConfigurationProperty><Name>ClientReportingLevel</Name><Value>2</Value></ConfigurationProperty></Properties></GetConfigResult></GetConfigResponse>`
	if got != want {
		t.Errorf("GetConfig answer\n got %s\nwant %s", got, want)
	}
}

func TestRefreshCache(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	identity := func(id uuid.UUID, rev int) string {
		return fmt.Sprintf("<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%d</RevisionNumber></UpdateIdentity>", id, rev)
	}
	// The demo update is approved, Microsoft is a category (Evaluate), the
	// AM engine is a bundle member (omitted like real WSUS does), revision
	// 999 of the demo update does not exist.
	amEngine := uuid.MustParse("ff36f0b5-dded-4780-8664-cd78af8b62c1")
	status, el := e.call(clientPath, soap.NSClient, "RefreshCache", ck+"<globalIDs>"+identity(idDemo, 100)+identity(idMicrosoft, 101)+identity(amEngine, 200)+identity(idDemo, 999)+"</globalIDs>")
	if status != 200 {
		t.Fatalf("HTTP %d fault %q", status, faultCode(el))
	}
	var got []string
	for _, r := range el.FindElements("RefreshCacheResult/RefreshCacheResult") {
		got = append(got, fmt.Sprintf("%s %s r%s leaf=%s %s", r.FindElement("RevisionID").Text(), r.FindElement("GlobalID/UpdateID").Text(),
			r.FindElement("GlobalID/RevisionNumber").Text(), r.FindElement("IsLeaf").Text(), r.FindElement("Deployment/Action").Text()))
	}
	want := []string{
		fmt.Sprintf("%d %s r100 leaf=true Install", e.ids[idDemo], idDemo),
		fmt.Sprintf("%d %s r101 leaf=false Evaluate", e.ids[idMicrosoft], idMicrosoft),
	}
	if !slices.Equal(got, want) {
		t.Errorf("RefreshCache\n got %v\nwant %v", got, want)
	}
}

func TestGetFileLocations(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	unknown := base64.StdEncoding.EncodeToString(make([]byte, 20))
	status, el := e.call(clientPath, soap.NSClient, "GetFileLocations", ck+"<fileDigests><base64Binary>9Go4qNHQgxPpELEivkb89CzOwqc=</base64Binary><base64Binary>"+unknown+"</base64Binary></fileDigests>")
	if status != 200 {
		t.Fatalf("HTTP %d fault %q", status, faultCode(el))
	}
	locs := el.FindElements("GetFileLocationsResult/FileLocations/FileLocation")
	if len(locs) != 1 || locs[0].FindElement("Url").Text() != e.srv.URL+"/Content/A7/F46A38A8D1D08313E910B122BE46FCF42CCEC2A7.bin" {
		t.Fatalf("FileLocations %d, want the demo payload only", len(locs))
	}
	if el.FindElement("GetFileLocationsResult/NewCookie/EncryptedData") == nil {
		t.Error("no NewCookie")
	}
	if status, el := e.call(clientPath, soap.NSClient, "GetFileLocations", ck+"<fileDigests><base64Binary>AAAA</base64Binary></fileDigests>"); status != 500 || faultCode(el) != "InvalidParameters" {
		t.Errorf("3-byte digest: HTTP %d fault %q", status, faultCode(el))
	}
}

func TestGetExtendedUpdateInfo2(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	status, el := e.call(clientPath, soap.NSClient, "GetExtendedUpdateInfo2", ck+
		"<updateIDs><UpdateIdentity><UpdateID>"+idDemo.String()+"</UpdateID><RevisionNumber>100</RevisionNumber></UpdateIdentity>"+
		"<UpdateIdentity><UpdateID>"+uuid.NewString()+"</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity></updateIDs>"+
		"<infoTypes><XmlUpdateFragmentType>FileUrl</XmlUpdateFragmentType></infoTypes><locales><string>en</string></locales>")
	if status != 200 {
		t.Fatalf("HTTP %d fault %q", status, faultCode(el))
	}
	res := el.FindElement("GetExtendedUpdateInfo2Result")
	if res.FindElement("Updates") != nil {
		t.Error("FileUrl asks for locations only, got Updates")
	}
	if locs := res.FindElements("FileLocations/FileLocation"); len(locs) != 1 || locs[0].FindElement("FileDigest").Text() != "9Go4qNHQgxPpELEivkb89CzOwqc=" {
		t.Errorf("FileLocations %d, want the demo payload", len(locs))
	}
}

func TestSyncPrinterCatalogAndDriverPass(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	status, el := e.call(clientPath, soap.NSClient, "SyncPrinterCatalog", ck+"<installedNonLeafUpdateIDs><int>1</int></installedNonLeafUpdateIDs>")
	if status != 200 {
		t.Fatalf("SyncPrinterCatalog: HTTP %d fault %q", status, faultCode(el))
	}
	var names []string
	for _, c := range el.FindElement("SyncPrinterCatalogResult").ChildElements() {
		names = append(names, c.Tag)
	}
	if !slices.Equal(names, []string{"Truncated", "NewCookie", "DriverSyncNotNeeded"}) {
		t.Errorf("SyncPrinterCatalogResult children %v", names)
	}
	device := "<SystemSpec><Device><HardwareIDs><string>PCI\\VEN_8086</string></HardwareIDs></Device></SystemSpec>"
	status, el = e.call(clientPath, soap.NSClient, "SyncUpdates", ck+"<parameters><ExpressQuery>false</ExpressQuery>"+device+"<SkipSoftwareSync>true</SkipSoftwareSync></parameters>")
	if status != 200 || el.FindElement("SyncUpdatesResult/NewUpdates") != nil || el.FindElement("SyncUpdatesResult/DriverSyncNotNeeded").Text() != "true" {
		t.Errorf("driver pass: HTTP %d fault %q", status, faultCode(el))
	}
	// A SystemSpec on a software pass is a client bug WSUS rejects.
	status, el = e.call(clientPath, soap.NSClient, "SyncUpdates", ck+"<parameters><ExpressQuery>false</ExpressQuery>"+device+"<SkipSoftwareSync>false</SkipSoftwareSync></parameters>")
	if status != 500 || faultCode(el) != "InvalidParameters" || soap.Text(soap.Child(el, "detail"), "Message") != "parameters.SystemSpec" {
		t.Errorf("SystemSpec on a software pass: HTTP %d fault %q", status, faultCode(el))
	}
}

func TestLastSyncStoredOncePerResolution(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.login("")
	ctx := context.Background()
	lastSync := func() time.Time {
		c, err := e.store.Computer(ctx, clientID)
		if err != nil {
			t.Fatal(err)
		}
		return c.LastSync
	}
	e.syncUpdates(ck, nil, nil)
	first := lastSync()
	if !first.Equal(e.clock.now()) {
		t.Fatalf("LastSync %v after the first round, want %v", first, e.clock.now())
	}
	e.clock.advance(wusp.LastSyncResolution / 2)
	e.syncUpdates(ck, nil, nil)
	if got := lastSync(); !got.Equal(first) {
		t.Errorf("LastSync rewritten %v after %v", got, wusp.LastSyncResolution/2)
	}
	e.clock.advance(wusp.LastSyncResolution)
	e.syncUpdates(ck, nil, nil)
	if got := lastSync(); !got.Equal(e.clock.now()) {
		t.Errorf("LastSync %v after %v, want %v", got, wusp.LastSyncResolution, e.clock.now())
	}
}
