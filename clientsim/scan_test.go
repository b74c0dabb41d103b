package clientsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// seenRequest is one request the recording server received.
type seenRequest struct {
	Path, Op, SOAPAction, UserAgent, ContentType, AcceptEncoding string
	Body                                                         string
}

// recordingServer answers clientsim with the recorded real-WSUS answers of
// testdata/clientsim/scan, edited only where a test needs a different
// catalog (offered updates with files). It is a playback of the capture, not
// a WSUS implementation.
type recordingServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	requests  []seenRequest
	content   map[string][]byte // path -> bytes
	software  [][]byte          // answer per software round; the last one repeats
	softRound int
	syncN     int // SyncUpdates answered; NewCookie EncryptedData is "TmV3<n>"
	cookieN   int
	// faultOnce maps an operation to the ErrorCode to answer its next call with.
	faultOnce map[string][]string
	geui      func(ids []string) []byte
	reportOK  string
}

func newRecordingServer(t *testing.T) *recordingServer {
	rs := &recordingServer{t: t, content: map[string][]byte{}, faultOnce: map[string][]string{}, reportOK: "true"}
	rs.software = [][]byte{recorded(t, "000006", "response.body"), recorded(t, "000007", "response.body"), recorded(t, "000008", "response.body")}
	rs.geui = func([]string) []byte { return recorded(t, "000010", "response.body") }
	rs.srv = httptest.NewServer(rs)
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *recordingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/Content/") {
		rs.mu.Lock()
		data, ok := rs.content[r.URL.Path]
		rs.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Unix(0, 0), bytes.NewReader(data))
		return
	}
	body, _ := io.ReadAll(r.Body)
	action := r.Header.Get("SOAPAction")
	op := strings.Trim(action[strings.LastIndex(action, "/")+1:], `"`)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.requests = append(rs.requests, seenRequest{
		Path: r.URL.Path, Op: op, SOAPAction: action, UserAgent: r.UserAgent(),
		ContentType: r.Header.Get("Content-Type"), AcceptEncoding: r.Header.Get("Accept-Encoding"), Body: string(body),
	})
	if codes := rs.faultOnce[op]; len(codes) > 0 {
		rs.faultOnce[op] = codes[1:]
		fault := string(readFile(rs.t, "../testdata/clientsim/flow/m0-000141-fault-response.body"))
		fault = strings.NewReplacer("InvalidParameters", codes[0], "parameters.InstalledNonLeafUpdateIDs", "", "SyncUpdates", op).Replace(fault)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, fault)
		return
	}
	var answer []byte
	switch op {
	case "GetConfig":
		answer = recorded(rs.t, "000001", "response.body")
	case "GetAuthorizationCookie":
		answer = bytes.Replace(recorded(rs.t, "000002", "response.body"), []byte(recAuthData), []byte("QXV0aENvb2tpZQ=="), 1)
	case "GetCookie":
		rs.cookieN++
		answer = bytes.Replace(recorded(rs.t, "000003", "response.body"), []byte(recCookieData), []byte(fmt.Sprintf("Q29va2ll%d", rs.cookieN)), 1)
	case "RegisterComputer":
		answer = recorded(rs.t, "000004", "response.body")
	case "SyncUpdates":
		if strings.Contains(string(body), "<SkipSoftwareSync>true</SkipSoftwareSync>") {
			answer = recorded(rs.t, "000009", "response.body")
			break
		}
		answer = rs.software[min(rs.softRound, len(rs.software)-1)]
		rs.softRound++
	case "GetExtendedUpdateInfo":
		doc := etree.NewDocument()
		doc.ReadFromString(string(body))
		var ids []string
		for _, e := range doc.FindElements("//revisionIDs/int") {
			ids = append(ids, e.Text())
		}
		answer = rs.geui(ids)
	case "ReportEventBatch":
		answer = bytes.Replace(readFile(rs.t, "../testdata/clientsim/ReportEventBatch-response.body"), []byte(">true<"), []byte(">"+rs.reportOK+"<"), 1)
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	if op == "SyncUpdates" {
		rs.syncN++
		answer = bytes.Replace(answer, []byte(recCookieData), []byte(fmt.Sprintf("TmV3%d", rs.syncN)), 1)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(answer)
}

func (rs *recordingServer) ops() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []string
	for _, r := range rs.requests {
		out = append(out, r.Op)
	}
	return out
}

func (rs *recordingServer) bodies(op string) []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []string
	for _, r := range rs.requests {
		if r.Op == op {
			out = append(out, r.Body)
		}
	}
	return out
}

// offer is an update the test catalog offers in the third software round.
type offer struct {
	id       int
	action   string
	updateID string
	file     []byte // nil: no files (e.g. a bundle)
	meta     fileMeta
}

// withOffers makes the third software round (recorded 000008) also deliver
// offers, and GetExtendedUpdateInfo describe their files in the recorded
// flow/000015 fragment shape, served under /Content/<XX>/<SHA1>.exe.
func (rs *recordingServer) withOffers(offers []offer) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(recorded(rs.t, "000008", "response.body")); err != nil {
		rs.t.Fatal(err)
	}
	newUpdates := doc.FindElement("//NewUpdates")
	proto := newUpdates.SelectElement("UpdateInfo")
	for _, o := range offers {
		u := proto.Copy()
		u.SelectElement("ID").SetText(fmt.Sprint(o.id))
		u.FindElement("Deployment/Action").SetText(o.action)
		u.SelectElement("Xml").SetText(fmt.Sprintf(`<UpdateIdentity UpdateID="%s" RevisionNumber="200" /><Properties UpdateType="Software" />`, o.updateID))
		newUpdates.AddChild(u)
	}
	b, _ := doc.WriteToBytes()
	rs.software[2] = b

	byID := map[string]offer{}
	for _, o := range offers {
		byID[fmt.Sprint(o.id)] = o
		if o.file != nil {
			rs.content[contentURLPath(o.meta)] = o.file
		}
	}
	rs.geui = func(ids []string) []byte {
		var updates, locs strings.Builder
		for _, id := range ids {
			o := byID[id]
			frag := `<ExtendedProperties DefaultPropertiesLanguage="en" />`
			if o.file != nil {
				frag = fmt.Sprintf(`<ExtendedProperties DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation" MaxDownloadSize="%d" MinDownloadSize="0"><InstallationBehavior Impact="Minor" /></ExtendedProperties><Files><File Digest="%s" DigestAlgorithm="SHA1" FileName="%s" Size="%d" Modified="2026-10-03T15:47:53Z"><AdditionalDigest Algorithm="SHA256">%s</AdditionalDigest></File></Files>`,
					o.meta.Size, o.meta.Digest, o.meta.Name, o.meta.Size, b64(o.meta.SHA256))
				fmt.Fprintf(&locs, `<FileLocation><FileDigest>%s</FileDigest><Url>%s%s</Url></FileLocation>`, o.meta.Digest, rs.srv.URL, contentURLPath(o.meta))
			}
			fmt.Fprintf(&updates, `<Update><ID>%s</ID><Xml>%s</Xml></Update>`, id, xmlEscape(frag))
		}
		for _, id := range ids {
			fmt.Fprintf(&updates, `<Update><ID>%s</ID><Xml>%s</Xml></Update>`, id, xmlEscape(`<LocalizedProperties><Language>en</Language><Title>Title of `+id+`</Title></LocalizedProperties>`))
		}
		body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><GetExtendedUpdateInfoResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"><GetExtendedUpdateInfoResult><Updates>` +
			updates.String() + `</Updates>`
		if locs.Len() > 0 {
			body += `<FileLocations>` + locs.String() + `</FileLocations>`
		}
		return []byte(body + `</GetExtendedUpdateInfoResult></GetExtendedUpdateInfoResponse></s:Body></s:Envelope>`)
	}
}

// contentURLPath is the real WSUS content layout (MS-WUSP.md §6.5).
func contentURLPath(m fileMeta) string {
	h := strings.ToUpper(hex.EncodeToString(m.SHA1))
	return "/Content/" + h[len(h)-2:] + "/" + h + filepath.Ext(m.Name)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func testConfig(rs *recordingServer) Config {
	return Config{
		ServerURL: rs.srv.URL,
		ClientID:  "0badc0de-0000-4000-8000-000000000001",
		Rand:      rand.New(rand.NewPCG(7, 7)),
	}
}

func standardOffers() []offer {
	bundleFile, bundleMeta := testFile("AM_Delta.exe", 2*PieceSize+77, 10)
	ownFile, ownMeta := testFile("MpSigStub.exe", 918944, 11)
	return []offer{
		{id: 300001, action: "Install", updateID: "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"},                                          // bundle, no files
		{id: 300002, action: "Bundle", updateID: "0daf8592-9e3f-4a8a-9141-d83fafebd09f", file: bundleFile, meta: bundleMeta},       // its member
		{id: 300003, action: "Install", updateID: "1594B429-A8C5-4B0D-AC86-79B0A826A847", file: ownFile, meta: ownMeta},            // leaf with a file
		{id: 300004, action: "PreDeploymentCheck", updateID: "391D3487-E6F5-4BD0-A607-7E29F9FBD88E", file: ownFile, meta: ownMeta}, // not offered
	}
}

func TestScanAgainstRecordedConversation(t *testing.T) {
	rs := newRecordingServer(t)
	offers := standardOffers()
	rs.withOffers(offers)
	cfg := testConfig(rs)
	cfg.DownloadDir = t.TempDir()
	cfg.TargetGroup = "Ring 1"

	sum, err := Scan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	size := offers[1].meta.Size + offers[2].meta.Size
	want := Summary{
		ClientID: cfg.ClientID, DNSName: "clientsim-0badc0de",
		SoftwareRounds: 3, DriverRounds: 1,
		UpdatesOffered:   2,
		OfferedUpdateIDs: []string{"A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE", "1594B429-A8C5-4B0D-AC86-79B0A826A847"},
		FilesDownloaded:  2, BytesDownloaded: size, BytesVerified: size,
		EventsReported: 4,
	}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("summary\n got %+v\nwant %+v", sum, want)
	}

	wantOps := []string{"GetConfig", "GetAuthorizationCookie", "GetCookie", "RegisterComputer",
		"SyncUpdates", "SyncUpdates", "SyncUpdates", "SyncUpdates", "GetExtendedUpdateInfo", "ReportEventBatch"}
	if got := rs.ops(); !reflect.DeepEqual(got, wantOps) {
		t.Errorf("operations\n got %v\nwant %v", got, wantOps)
	}
	for _, r := range rs.requests {
		wantPath := map[string]string{"GetAuthorizationCookie": "/SimpleAuthWebService/SimpleAuth.asmx", "ReportEventBatch": reportingPath}[r.Op]
		if wantPath == "" {
			wantPath = clientPath
		}
		ns := map[string]string{"GetAuthorizationCookie": nsSimpleAuth, "ReportEventBatch": nsReporting}[r.Op]
		if ns == "" {
			ns = nsClient
		}
		if r.Path != wantPath || r.SOAPAction != `"`+ns+"/"+r.Op+`"` || r.UserAgent != AgentUserAgent ||
			r.ContentType != "text/xml; charset=utf-8" || r.AcceptEncoding != "xpress" {
			t.Errorf("%s request: %+v", r.Op, r)
		}
	}

	auth := rs.bodies("GetAuthorizationCookie")[0]
	if !strings.Contains(auth, "<clientId>0badc0de-0000-4000-8000-000000000001</clientId><targetGroupName>Ring 1</targetGroupName><dnsName>clientsim-0badc0de</dnsName>") {
		t.Errorf("GetAuthorizationCookie body %s", auth)
	}
	gc := rs.bodies("GetCookie")[0]
	if !strings.Contains(gc, "<CookieData>QXV0aENvb2tpZQ==</CookieData>") || !strings.Contains(gc, "<lastChange>"+recLastChange+"</lastChange>") {
		t.Errorf("GetCookie body %s", gc)
	}
	if rc := rs.bodies("RegisterComputer")[0]; !strings.Contains(rc, "<EncryptedData>Q29va2ll1</EncryptedData>") || !strings.Contains(rc, "<DnsName>clientsim-0badc0de</DnsName>") {
		t.Errorf("RegisterComputer body %s", rc)
	}

	syncs := rs.bodies("SyncUpdates")
	wantIDs := []struct{ installed, other string }{
		{"", ""},
		{"<InstalledNonLeafUpdateIDs><int>108226</int></InstalledNonLeafUpdateIDs>", ""},
		{"<InstalledNonLeafUpdateIDs><int>108226</int><int>108231</int></InstalledNonLeafUpdateIDs>", ""},
		{"<InstalledNonLeafUpdateIDs><int>108226</int><int>108231</int></InstalledNonLeafUpdateIDs>", ""},
	}
	for i, w := range wantIDs {
		b := syncs[i]
		if w.installed == "" && strings.Contains(b, "InstalledNonLeafUpdateIDs") || !strings.Contains(b, w.installed) ||
			strings.Contains(b, "OtherCachedUpdateIDs") || strings.Contains(b, "FilterCategoryIds") {
			t.Errorf("SyncUpdates %d id arrays wrong: %.400s", i+1, b[strings.Index(b, "<parameters>"):])
		}
		wantCookie := "<EncryptedData>Q29va2ll1</EncryptedData>" // GetCookie's, then each NewCookie
		if i > 0 {
			wantCookie = fmt.Sprintf("<EncryptedData>TmV3%d</EncryptedData>", i)
		}
		if !strings.Contains(b, wantCookie) {
			t.Errorf("SyncUpdates %d does not carry %s", i+1, wantCookie)
		}
		if !strings.Contains(b, ";UpdateServiceUrl="+rs.srv.URL+";") {
			t.Errorf("SyncUpdates %d DeviceAttributes do not name the server", i+1)
		}
	}
	if !strings.Contains(syncs[3], "<SkipSoftwareSync>true</SkipSoftwareSync>") {
		t.Error("fourth SyncUpdates is not the driver pass")
	}

	geui := rs.bodies("GetExtendedUpdateInfo")[0]
	if !strings.Contains(geui, "<EncryptedData>TmV34</EncryptedData>") {
		t.Error("GetExtendedUpdateInfo does not use the driver pass NewCookie")
	}
	if !strings.Contains(geui, "<revisionIDs><int>300001</int><int>300002</int><int>300003</int></revisionIDs>") {
		t.Errorf("GetExtendedUpdateInfo ids: %.300s", geui[strings.Index(geui, "<revisionIDs>"):])
	}

	rep := rs.bodies("ReportEventBatch")[0]
	for _, s := range []string{
		"<EncryptedData>TmV34</EncryptedData>",
		"<string>U=A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE;1594B429-A8C5-4B0D-AC86-79B0A826A847</string><string>V=</string>",
		"<EventID>162</EventID><SourceID>101</SourceID><UpdateID><UpdateID>0daf8592-9e3f-4a8a-9141-d83fafebd09f</UpdateID><RevisionNumber>200</RevisionNumber></UpdateID><Win32HResult>0</Win32HResult>",
		"<EventID>162</EventID><SourceID>101</SourceID><UpdateID><UpdateID>1594b429-a8c5-4b0d-ac86-79b0a826a847</UpdateID><RevisionNumber>200</RevisionNumber></UpdateID>",
		"<string>Title of 300002</string>",
		fmt.Sprintf("<string>B=%d</string>", offers[1].meta.Size),
		"<Sid>0badc0de-0000-4000-8000-000000000001</Sid>",
	} {
		if !strings.Contains(rep, s) {
			t.Errorf("ReportEventBatch lacks %s", s)
		}
	}

	for _, o := range offers[1:3] {
		got, err := os.ReadFile(contentPath(cfg.DownloadDir, o.meta))
		if err != nil || !bytes.Equal(got, o.file) {
			t.Errorf("%s not kept in DownloadDir: %v", o.meta.Name, err)
		}
	}
}

func TestScanReauthenticatesOnceAfterCookieExpired(t *testing.T) {
	rs := newRecordingServer(t)
	rs.faultOnce["SyncUpdates"] = []string{"CookieExpired"}
	sum, err := Scan(context.Background(), testConfig(rs))
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []string{"GetConfig", "GetAuthorizationCookie", "GetCookie", "RegisterComputer",
		"SyncUpdates", "GetAuthorizationCookie", "GetCookie", "SyncUpdates", "SyncUpdates", "SyncUpdates", "SyncUpdates",
		"ReportEventBatch"} // nothing offered: no GetExtendedUpdateInfo call
	if got := rs.ops(); !reflect.DeepEqual(got, wantOps) {
		t.Errorf("operations\n got %v\nwant %v", got, wantOps)
	}
	gc := rs.bodies("GetCookie")[1]
	if !strings.Contains(gc, "<oldCookie><Expiration>"+recExpiration+"</Expiration><EncryptedData>Q29va2ll1</EncryptedData></oldCookie>") {
		t.Errorf("second GetCookie does not carry the old cookie: %s", gc)
	}
	if s := rs.bodies("SyncUpdates")[1]; !strings.Contains(s, "<EncryptedData>Q29va2ll2</EncryptedData>") {
		t.Error("retried SyncUpdates does not use the new cookie")
	}
	if sum.UpdatesOffered != 0 || sum.EventsReported != 2 || sum.SoftwareRounds != 3 {
		t.Errorf("summary %+v", sum)
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(rs *recordingServer, cfg *Config)
		want  string
		check func(t *testing.T, err error)
	}{
		{"fault twice", func(rs *recordingServer, cfg *Config) {
			rs.faultOnce["SyncUpdates"] = []string{"InvalidCookie", "InvalidCookie"}
		}, "clientsim: SyncUpdates (software): round 1: SOAP fault InvalidCookie [HTTP 500]", func(t *testing.T, err error) {
			if !IsFault(err, "InvalidCookie") {
				t.Errorf("%v is not an InvalidCookie fault", err)
			}
		}},
		{"GetConfig fault", func(rs *recordingServer, cfg *Config) {
			rs.faultOnce["GetConfig"] = []string{"InternalServerError"}
		}, "clientsim: GetConfig: SOAP fault InternalServerError [HTTP 500]", nil},
		{"never converges", func(rs *recordingServer, cfg *Config) {
			rs.software = rs.software[:1] // always a new non-leaf category
			cfg.MaxSyncRounds = 5
		}, "clientsim: SyncUpdates (software): no convergence after 5 rounds", nil},
		{"digest mismatch", func(rs *recordingServer, cfg *Config) {
			offers := standardOffers()
			rs.withOffers(offers)
			rs.content[contentURLPath(offers[2].meta)] = append([]byte{offers[2].file[0] ^ 0xff}, offers[2].file[1:]...)
		}, "clientsim: download: MpSigStub.exe: SHA-1 mismatch", func(t *testing.T, err error) {
			var dm *DigestMismatchError
			if !errors.As(err, &dm) {
				t.Errorf("%v is not a DigestMismatchError", err)
			}
		}},
		{"missing content", func(rs *recordingServer, cfg *Config) {
			offers := standardOffers()
			rs.withOffers(offers)
			delete(rs.content, contentURLPath(offers[1].meta))
		}, "HTTP 404, want 206", nil},
		{"report refused", func(rs *recordingServer, cfg *Config) {
			rs.reportOK = "false"
		}, "clientsim: ReportEventBatch: ReportEventBatchResult is false", nil},
		{"bad server URL", func(rs *recordingServer, cfg *Config) {
			cfg.ServerURL = "ftp://x"
		}, `clientsim: server URL "ftp://x" is not an http(s) URL`, nil},
		{"bad client id", func(rs *recordingServer, cfg *Config) {
			cfg.ClientID = "pc-1"
		}, `clientsim: client id "pc-1" is not a GUID`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newRecordingServer(t)
			cfg := testConfig(rs)
			tt.setup(rs, &cfg)
			_, err := Scan(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant %q", err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}
