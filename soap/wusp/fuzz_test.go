package wusp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/scan"
	"wsus/catalog/sqlite"
	"wsus/internal/syncbuf"
	"wsus/internal/testseed"
	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/soap/wusp"
	"wsus/storage"
	"wsus/sync/importer"
)

// Fuzzing every request decoder of the three services, one target per
// operation, through the real handlers over a real embedded store holding
// the demo catalog and the synthetic drivers. The fuzzed input is the
// content of the operation element; placeholders in it stand for what a
// fuzzer cannot forge ($SESSION$: the EncryptedData of a valid session
// cookie; $AUTH$: the CookieData of a valid authorization cookie;
// $LASTCHANGE$: the server's configuration time), so that the decoders
// behind the cookie checks are reached.
//
// Invariants: the answer is 200 with a well-formed envelope holding the
// operation's response, or 500 with a SOAP fault whose ErrorCode is a WSUS
// one; InternalServerError only where WSUS answers it on purpose (a bad
// clientId or dnsName in GetAuthorizationCookie, MS-WUSP.md section 4.1);
// and nothing logged as an error, which is how an unexpected failure (a
// store refusing what the decoder let through) shows.

// fuzzServer is the three services over one store, with what the
// placeholders stand for.
type fuzzServer struct {
	handlers map[string]http.Handler // by namespace
	store    *sqlite.Store
	sealer   *cookie.Sealer
	info     catalog.ServerInfo
	now      time.Time
	clientID string // registered
	log      *syncbuf.Buffer
	// fresh numbers the clients of ReportEventBatch (one per input, so
	// that the per-day event budget never turns the answers to ServerBusy).
	fresh atomic.Int64
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	ctx := context.Background()
	dir := fuzzDir(tb)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	blobs, err := storage.NewFS(filepath.Join(dir, "content"))
	if err != nil {
		tb.Fatal(err)
	}
	root := filepath.Join("..", "..", "testdata")
	for _, imp := range []struct {
		dir     string
		approve string
	}{{"catalog/microsoft", ""}, {"catalog/local", "All Computers"}, {"drivers", ""}} {
		if _, err := importer.Import(ctx, store, blobs, []string{filepath.Join(root, imp.dir)}, importer.Options{ApproveGroup: imp.approve}); err != nil {
			tb.Fatal(err)
		}
	}
	for _, id := range []uuid.UUID{idVirtioNet, idDisplay, idPrinter} {
		if _, err := store.SetApproval(ctx, catalog.Approval{UpdateID: id, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall}); err != nil {
			tb.Fatal(err)
		}
	}
	// A decryption key for the demo payload, so that FileDecryption
	// requests reach the writing of FileDecryptionData.
	demoPayload, _ := base64.StdEncoding.DecodeString("9Go4qNHQgxPpELEivkb89CzOwqc=")
	if err := store.SetFileSources(ctx, []catalog.FileSource{{SHA1: demoPayload, DecryptionKey: []byte("demo key")}}); err != nil {
		tb.Fatal(err)
	}
	sealer, err := cookie.NewSealer(bytes.Repeat([]byte{0x42}, cookie.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	s := &fuzzServer{store: store, sealer: sealer, now: time.Date(2026, 10, 4, 15, 3, 36, 0, time.UTC), clientID: "e1da06a3-5601-43c9-bac3-52d5db701494", log: &syncbuf.Buffer{}}
	services, err := wusp.New(ctx, wusp.Config{
		Store: store, Engine: scan.NewEngine(store, 0), Sealer: sealer, Logger: s.log.ErrorLogger(),
		Now: func() time.Time { return s.now },
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.handlers = map[string]http.Handler{soap.NSClient: services.Client(), soap.NSSimpleAuth: services.SimpleAuth(), soap.NSReporting: services.Reporting()}
	if s.info, err = store.ServerInfo(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := store.RecordAuthorization(ctx, s.clientID, "pc-fuzz", nil, s.now); err != nil {
		tb.Fatal(err)
	}
	if err := store.RegisterComputer(ctx, catalog.Computer{ID: s.clientID, DNSName: "pc-fuzz", Registered: true, OSMajor: 10, OSBuild: 26200, FirstSeen: s.now}); err != nil {
		tb.Fatal(err)
	}
	return s
}

// fuzzDir returns a temporary directory for the store, in memory
// (/dev/shm) when there is one: the store syncs every write, and a fuzzer
// writes thousands of times a second.
func fuzzDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "wusp-fuzz-")
	if err != nil {
		return tb.TempDir()
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// fill replaces the placeholders of inner for one request of op.
func (s *fuzzServer) fill(tb testing.TB, op, inner string) string {
	tb.Helper()
	clientID := s.clientID
	if op == "ReportEventBatch" {
		clientID = fmt.Sprintf("fuzz-%d-%d", os.Getpid(), s.fresh.Add(1))
		if err := s.store.RecordAuthorization(context.Background(), clientID, "pc-fuzz", nil, s.now); err != nil {
			tb.Fatal(err)
		}
	}
	if strings.Contains(inner, "$SESSION$") {
		sealed, err := s.sealer.SealSession(cookie.Session{ServerID: s.info.ID, ClientID: clientID, IssuedAt: s.now,
			Expires: s.now.Add(time.Hour), ConfigChanged: s.info.ConfigChanged, ProtocolVersion: "2.90"})
		if err != nil {
			tb.Fatal(err)
		}
		inner = strings.ReplaceAll(inner, "$SESSION$", base64.StdEncoding.EncodeToString(sealed))
	}
	if strings.Contains(inner, "$AUTH$") {
		sealed, err := s.sealer.SealAuth(cookie.Auth{ServerID: s.info.ID, ClientID: clientID, DNSName: "pc-fuzz", IssuedAt: s.now, Expires: s.now.Add(time.Hour)})
		if err != nil {
			tb.Fatal(err)
		}
		inner = strings.ReplaceAll(inner, "$AUTH$", base64.StdEncoding.EncodeToString(sealed))
	}
	return strings.ReplaceAll(inner, "$LASTCHANGE$", soap.FormatDateTime(s.info.ConfigChanged))
}

// fuzzEnvelope wraps the content of an operation element in a request
// envelope as the native client writes it (xsi and xsd declared on the
// Envelope, as some SOAP stacks do).
func fuzzEnvelope(ns, op, inner string) []byte {
	return []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><s:Body><` +
		op + ` xmlns="` + ns + `">` + inner + `</` + op + `></s:Body></s:Envelope>`)
}

// check sends one request and checks the invariants of its answer.
func (s *fuzzServer) check(t *testing.T, ns, op string, body []byte) {
	t.Helper()
	s.log.Take() // what earlier inputs logged
	r := httptest.NewRequest(http.MethodPost, "/fuzz.asmx", bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/xml; charset=utf-8")
	r.Header.Set("SOAPAction", `"`+ns+"/"+op+`"`)
	r.Host = "wsus.example.test:8530"
	w := httptest.NewRecorder()
	s.handlers[ns].ServeHTTP(w, r)
	answer := w.Body.Bytes()
	if msgs := s.log.Take(); msgs != "" {
		t.Fatalf("%s logged errors %q (HTTP %d)\nrequest:\n%s\nanswer:\n%.2000s", op, msgs, w.Code, body, answer)
	}
	if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(answer)) {
		t.Fatalf("%s: Content-Length %q for %d bytes", op, cl, len(answer))
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(answer); err != nil {
		t.Fatalf("%s: answer is not XML: %v\n%.2000s", op, err, answer)
	}
	el := doc.FindElement("/Envelope/Body/*")
	if el == nil || doc.Root().NamespaceURI() != soap.NSEnvelope {
		t.Fatalf("%s: answer is not a SOAP envelope:\n%.2000s", op, answer)
	}
	switch w.Code {
	case http.StatusOK:
		if el.Tag != op+"Response" || el.SelectAttrValue("xmlns", "") != ns {
			t.Fatalf("%s: 200 answer holds <%s xmlns=%q>:\n%.2000s", op, el.Tag, el.SelectAttrValue("xmlns", ""), answer)
		}
	case http.StatusInternalServerError:
		detail := soap.Child(el, "detail")
		code := soap.ErrorCode(soap.Text(detail, "ErrorCode"))
		if el.Tag != "Fault" || !slices.Contains(wsusCodes, code) {
			t.Fatalf("%s: HTTP 500 without a WSUS fault (ErrorCode %q):\n%.2000s", op, code, answer)
		}
		if code == soap.InternalServerError && !(op == "GetAuthorizationCookie" && slices.Contains([]string{"clientId", "dnsName"}, soap.Text(detail, "Message"))) {
			t.Fatalf("%s: InternalServerError for a malformed request\nrequest:\n%s\nanswer:\n%.2000s", op, body, answer)
		}
	default:
		t.Fatalf("%s: HTTP %d\n%.2000s", op, w.Code, answer)
	}
}

// wsusCodes are the ErrorCodes of soap/fault.go.
var wsusCodes = []soap.ErrorCode{
	soap.InvalidCookie, soap.ServerChanged, soap.ConfigChanged, soap.CookieExpired,
	soap.RegistrationRequired, soap.RegistrationNotRequired, soap.InvalidAuthorizationCookie,
	soap.InvalidParameters, soap.InternalServerError, soap.ServerBusy, soap.FileLocationChanged,
}

// recordedOperations returns, by operation name, the content of the
// operation element of every recorded request (testdata/clientsim, and
// ../shared/protocol when present) with cookies and the configuration time
// replaced by the placeholders.
func recordedOperations(tb testing.TB) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	for _, b := range testseed.Files(tb,
		"../../testdata/clientsim/scan/*/request.body",
		"../../testdata/clientsim/flow/*-request.body",
		"../../../shared/protocol/captures/wsus-rs/*/scan/*/request.body",
		"../../../shared/protocol/examples/*.xml",
	) {
		doc := etree.NewDocument()
		if doc.ReadFromBytes(b) != nil {
			continue // the hard-wrapped spec examples
		}
		op := doc.FindElement("/Envelope/Body/*")
		if op == nil || strings.HasSuffix(op.Tag, "Response") || op.Tag == "Fault" {
			continue
		}
		for _, e := range op.FindElements(".//EncryptedData") {
			e.SetText("$SESSION$")
		}
		for _, e := range op.FindElements(".//CookieData") {
			e.SetText("$AUTH$")
		}
		for _, e := range op.FindElements("./lastChange") {
			e.SetText("$LASTCHANGE$")
		}
		var inner strings.Builder
		for _, c := range op.ChildElements() {
			c.WriteTo(&inner, &doc.WriteSettings)
		}
		if s := inner.String(); !slices.Contains(out[op.Tag], s) {
			out[op.Tag] = append(out[op.Tag], s)
		}
	}
	return out
}

// sessionCookie is a cookie element for the placeholders.
const sessionCookie = `<cookie><Expiration>2026-10-04T16:03:35.9967236Z</Expiration><EncryptedData>$SESSION$</EncryptedData></cookie>`

// fuzzOperation fuzzes the content of op's element.
func fuzzOperation(f *testing.F, ns, op string, seeds ...string) {
	for _, s := range recordedOperations(f)[op] {
		f.Add(s)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, inner string) {
		srv.check(t, ns, op, fuzzEnvelope(ns, op, srv.fill(t, op, inner)))
	})
}

func FuzzGetConfig(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "GetConfig", `<protocolVersion>1.8</protocolVersion>`, `<protocolVersion>x</protocolVersion>`, ``)
}

func FuzzGetAuthorizationCookie(f *testing.F) {
	fuzzOperation(f, soap.NSSimpleAuth, "GetAuthorizationCookie",
		`<clientId>e1da06a3-5601-43c9-bac3-52d5db701494</clientId><targetGroupName>Ring1;Servers</targetGroupName><dnsName>pc-1</dnsName>`,
		`<clientId>bad id</clientId><dnsName>pc-1</dnsName>`, `<clientId>x</clientId><dnsName xsi:nil="true"/>`)
}

func FuzzGetCookie(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "GetCookie",
		`<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>$AUTH$</CookieData></AuthorizationCookie></authCookies>`+
			`<oldCookie><Expiration>2026-10-04T15:03:36Z</Expiration><EncryptedData>$SESSION$</EncryptedData></oldCookie><lastChange>$LASTCHANGE$</lastChange><currentTime>2026-10-04T15:03:36Z</currentTime><protocolVersion>2.90</protocolVersion>`,
		`<authCookies><AuthorizationCookie><CookieData>$AUTH$</CookieData></AuthorizationCookie></authCookies><lastChange>0000-01-01T00:00:00+01:00</lastChange><protocolVersion>2.90</protocolVersion>`)
}

func FuzzRegisterComputer(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "RegisterComputer",
		sessionCookie+`<computerInfo><DnsName>pc-1</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber><OSDescription>Windows 11</OSDescription></computerInfo>`,
		sessionCookie+`<computerInfo><DnsName>pc-1</DnsName><OSMajorVersion>99999999999</OSMajorVersion></computerInfo>`)
}

func FuzzStartCategoryScan(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "StartCategoryScan",
		`<requestedCategories><CategoryRelationship><IndexOfAndGroup>0</IndexOfAndGroup><CategoryId>dd78b8a1-0b20-45c1-add6-4da72e9364cf</CategoryId></CategoryRelationship>`+
			`<CategoryRelationship><IndexOfAndGroup>-1</IndexOfAndGroup><CategoryId>56309036-4c77-4dd9-951a-99ee9c246a94</CategoryId></CategoryRelationship></requestedCategories>`)
}

func FuzzSyncUpdates(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "SyncUpdates",
		sessionCookie+`<parameters><ExpressQuery>false</ExpressQuery><InstalledNonLeafUpdateIDs><int>1</int><int>2</int></InstalledNonLeafUpdateIDs><OtherCachedUpdateIDs><int>3</int></OtherCachedUpdateIDs><SkipSoftwareSync>false</SkipSoftwareSync><NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates>`+
			`<FilterCategoryIds><CategoryIdentifier><Id>dd78b8a1-0b20-45c1-add6-4da72e9364cf</Id></CategoryIdentifier></FilterCategoryIds></parameters>`,
		sessionCookie+`<parameters><SkipSoftwareSync>true</SkipSoftwareSync><CachedDriverIDs><int>7</int></CachedDriverIDs><SystemSpec><Device><HardwareIDs><string>PCI\VEN_1AF4&amp;DEV_1041</string></HardwareIDs>`+
			`<installedDriver><MatchingID>PCI\VEN_1AF4</MatchingID><DriverVerDate>2020-01-01</DriverVerDate><DriverVerVersion>-1</DriverVerVersion><DriverRank>0</DriverRank></installedDriver></Device></SystemSpec></parameters>`)
}

func FuzzSyncPrinterCatalog(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "SyncPrinterCatalog",
		sessionCookie+`<installedNonLeafUpdateIDs><int>1</int></installedNonLeafUpdateIDs><printerUpdateIDs><int>2</int></printerUpdateIDs>`)
}

func FuzzRefreshCache(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "RefreshCache",
		sessionCookie+`<globalIDs><UpdateIdentity><UpdateID>7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7</UpdateID><RevisionNumber>100</RevisionNumber></UpdateIdentity></globalIDs>`)
}

func FuzzGetExtendedUpdateInfo(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "GetExtendedUpdateInfo",
		sessionCookie+`<revisionIDs><int>1</int><int>2</int><int>3</int><int>4</int></revisionIDs><infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes><locales><string>en-US</string><string>en</string></locales>`)
}

func FuzzGetExtendedUpdateInfo2(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "GetExtendedUpdateInfo2",
		sessionCookie+`<updateIDs><UpdateIdentity><UpdateID>7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7</UpdateID><RevisionNumber>100</RevisionNumber></UpdateIdentity></updateIDs><infoTypes><XmlUpdateFragmentType>FileUrl</XmlUpdateFragmentType></infoTypes><locales><string>de</string></locales>`,
		sessionCookie+`<updateIDs><UpdateIdentity><UpdateID>7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7</UpdateID><RevisionNumber>100</RevisionNumber></UpdateIdentity></updateIDs><infoTypes><XmlUpdateFragmentType>FileDecryption</XmlUpdateFragmentType><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType></infoTypes>`)
}

func FuzzGetFileLocations(f *testing.F) {
	fuzzOperation(f, soap.NSClient, "GetFileLocations",
		sessionCookie+`<fileDigests><base64Binary>qUOmBgxrKNtxt0g7vLdoeg6CYWk=</base64Binary><base64Binary>AAAA</base64Binary></fileDigests>`)
}

func FuzzReportEventBatch(f *testing.F) {
	fuzzOperation(f, soap.NSReporting, "ReportEventBatch",
		sessionCookie+`<clientTime>2026-10-04T15:10:00Z</clientTime><eventBatch><ReportingEvent><BasicData><TargetID><Sid>e1da06a3-5601-43c9-bac3-52d5db701494</Sid></TargetID><SequenceNumber>1</SequenceNumber>`+
			`<TimeAtTarget>2026-10-04T15:09:00Z</TimeAtTarget><EventInstanceID>3e7c2b9a-1f4d-4e8a-9b6c-5d2e1f0a9b8c</EventInstanceID><NamespaceID>1</NamespaceID><EventID>183</EventID><SourceID>1</SourceID>`+
			`<UpdateID><UpdateID>7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7</UpdateID><RevisionNumber>100</RevisionNumber></UpdateID><Win32HResult>0</Win32HResult><AppName>AutomaticUpdates</AppName></BasicData>`+
			`<ExtendedData><ReplacementStrings><string>x</string></ReplacementStrings><MiscData><string>V=7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7</string></MiscData></ExtendedData></ReportingEvent></eventBatch>`)
}

// FuzzSystemSpec fuzzes the devices of the real driver-pass request
// (capture scan/000009): the content of its SystemSpec, which the soap layer
// cuts out as bytes and drivers.go parses on its own.
func FuzzSystemSpec(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(realDriverPass, "request.body"))
	if err != nil {
		f.Fatal(err)
	}
	body := cookieElement.ReplaceAllLiteralString(string(b), sessionCookie)
	start, end := strings.Index(body, "<SystemSpec>"), strings.Index(body, "</SystemSpec>")
	if start < 0 || end < start {
		f.Fatal("the driver-pass capture has no SystemSpec")
	}
	start += len("<SystemSpec>")
	head, tail := body[:start], body[end:]
	f.Add(body[start:end])
	f.Add(`<Device><HardwareIDs><string>PCI\VEN_1AF4&amp;DEV_1041</string></HardwareIDs><installedDriver><MatchingID>x</MatchingID><DriverVerDate>0000-01-01T00:00:00+01:00</DriverVerDate>` +
		`<DriverVerVersion>-9223372036854775808</DriverVerVersion><DriverRank>2147483647</DriverRank><MatchingComputerHWID a:nil="true" xmlns:a="http://www.w3.org/2001/XMLSchema-instance"/></installedDriver></Device>`)
	f.Add(`<Device><CompatibleIDs><string>PCI\CC_0200</string></CompatibleIDs><installedDriver><MatchingComputerHWID>not a guid</MatchingComputerHWID></installedDriver></Device>`)
	f.Add(`<Device xsi:nil="true"/><x:Device xmlns:x="urn:other"><HardwareIDs><string>a</string></HardwareIDs></x:Device>`)
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, spec string) {
		srv.check(t, soap.NSClient, "SyncUpdates", []byte(srv.fill(t, "SyncUpdates", head+spec+tail)))
	})
}
