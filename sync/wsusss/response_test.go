package wsusss_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog/metadata"
	"wsus/soap"
	"wsus/sync/wsusss"
)

// sample returns testdata/name without its first line (the
// "<!-- source -->" comment, which would precede an XML declaration).
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		t.Fatalf("%s: no line after the source comment", name)
	}
	return b[i+1:]
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseGetAuthConfig(t *testing.T) {
	ac, err := wsusss.ParseGetAuthConfigResponse(sample(t, "wsusss-GetAuthConfigResponse.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !ac.LastChange.Equal(mustTime(t, "2026-10-04T13:16:35.433Z")) {
		t.Errorf("LastChange %v", ac.LastChange)
	}
	want := []wsusss.AuthPlugIn{{PlugInID: wsusss.DssTargeting, ServiceURL: wsusss.DssAuthPath}}
	if len(ac.AuthInfo) != 1 || ac.AuthInfo[0] != want[0] {
		t.Errorf("AuthInfo %+v, want %+v", ac.AuthInfo, want)
	}
}

func TestParseGetCookie(t *testing.T) {
	c, err := wsusss.ParseGetCookieResponse(sample(t, "wsusss-GetCookieResponse.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Expiration.Equal(mustTime(t, "2026-10-04T20:33:26.65455Z")) || c.Expiration.Location() != time.UTC {
		t.Errorf("Expiration %v", c.Expiration)
	}
	// The repo author zeroed the 208 bytes of EncryptedData.
	if len(c.EncryptedData) != 208 || !bytes.Equal(c.EncryptedData, make([]byte, 208)) {
		t.Errorf("EncryptedData %d bytes %x", len(c.EncryptedData), c.EncryptedData[:8])
	}
}

func TestParseGetAuthorizationCookie(t *testing.T) {
	// No answer was recorded: a synthetic one in the spec's shape.
	body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<GetAuthorizationCookieResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"><GetAuthorizationCookieResult>` +
		`<PlugInId>DssTargeting</PlugInId><CookieData>AQID</CookieData></GetAuthorizationCookieResult></GetAuthorizationCookieResponse></soap:Body></soap:Envelope>`
	ac, err := wsusss.ParseGetAuthorizationCookieResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ac.PlugInID != "DssTargeting" || !bytes.Equal(ac.CookieData, []byte{1, 2, 3}) {
		t.Errorf("got %+v", ac)
	}
	// The ServerSync namespace is the wrong service.
	if _, err := wsusss.ParseGetAuthorizationCookieResponse([]byte(strings.Replace(body, "/Server/DssAuthWebService", "", 1))); !errors.Is(err, wsusss.ErrMalformed) {
		t.Errorf("wrong namespace: %v", err)
	}
}

func TestParseGetConfigData(t *testing.T) {
	for _, tc := range []struct {
		file    string
		want    wsusss.ConfigData
		first   wsusss.Language
		enabled string // the one enabled language
	}{
		{
			file: "wsusss-GetConfigDataResponse-wsus-upstream.xml",
			want: wsusss.ConfigData{
				LazySync: true, MaxNumberOfUpdatesPerRequest: 100,
				MaxUpdatesPerRequestInGetUpdateDecryptionData: 100,
				NewConfigAnchor: "9438,2026-10-04 16:33:26.670", ProtocolVersion: "1.20",
			},
			first:   wsusss.Language{ID: 0, Short: "all", Long: "all"},
			enabled: "en",
		},
		{
			file: "wsusss-GetConfigDataResponse-microsoft-update.xml",
			want: wsusss.ConfigData{
				CatalogOnlySync: true, LazySync: true, ServerHostsPsfFiles: true,
				MaxNumberOfUpdatesPerRequest: 100, MaxNumberOfDriverSetsPerRequest: 100,
				MaxNumberOfComputerIdsInRequest: 200, MaxNumberOfPnpHardwareIdsInRequest: 450,
				MaxUpdatesPerRequestInGetUpdateDecryptionData: 500,
				NewConfigAnchor: "2026-10-05 17:27:44.393", ProtocolVersion: "1.21",
			},
			first:   wsusss.Language{ID: 3076, Short: "zh-hk", Long: "Chinese - Hong Kong SAR"},
			enabled: "all",
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, err := wsusss.ParseGetConfigDataResponse(sample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			langs := c.Languages
			c.Languages = nil
			if !reflect.DeepEqual(*c, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *c, tc.want)
			}
			if len(langs) != 39 {
				t.Fatalf("%d languages, want 39", len(langs))
			}
			if langs[0] != tc.first {
				t.Errorf("first language %+v, want %+v", langs[0], tc.first)
			}
			var on []string
			for _, l := range langs {
				if l.Enabled {
					on = append(on, l.Short)
				}
				if l.Short == "en" && l.ID != 1033 {
					t.Errorf("en has LCID %d", l.ID)
				}
			}
			if len(on) != 1 || on[0] != tc.enabled {
				t.Errorf("enabled %v, want [%s]", on, tc.enabled)
			}
		})
	}
}

func TestParseGetRevisionIdList(t *testing.T) {
	l, err := wsusss.ParseGetRevisionIdListResponse(sample(t, "wsusss-GetRevisionIdListResponse-getconfig-categories.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Anchor != "9438,2026-10-04 16:33:26.671" {
		t.Errorf("Anchor %q", l.Anchor)
	}
	if len(l.NewRevisions) != 30 {
		t.Fatalf("%d revisions, want 30", len(l.NewRevisions))
	}
	critical := uuid.MustParse("e6cf1350-c01b-414d-a61f-263d14d133b4") // Critical Updates
	for i, want := range map[int]wsusss.UpdateIdentity{
		0:  {UpdateID: critical, RevisionNumber: 100},
		1:  {UpdateID: critical, RevisionNumber: 1},
		7:  {UpdateID: uuid.MustParse("56309036-4c77-4dd9-951a-99ee9c246a94"), RevisionNumber: 101}, // Microsoft
		29: {UpdateID: uuid.MustParse("7c40e8c2-01ae-47f5-9af2-6e75a0582518"), RevisionNumber: 2},
	} {
		if l.NewRevisions[i] != want {
			t.Errorf("revision %d: %+v, want %+v", i, l.NewRevisions[i], want)
		}
	}
	ids := map[uuid.UUID]bool{}
	for _, r := range l.NewRevisions {
		ids[r.UpdateID] = true
	}
	if len(ids) != 16 {
		t.Errorf("%d distinct UpdateIDs, want 16 (the list repeats UpdateIDs with other revisions)", len(ids))
	}
}

func TestParseGetRevisionIdListSpecExample(t *testing.T) {
	// The spec's Sample 2 answer, which it shows without envelope.
	s := string(sample(t, "mswsusss-spec-example-GetRevisionIdList-getconfig.xml"))
	resp := s[strings.Index(s, "<GetRevisionIdListResponse"):]
	body := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + resp + `</soap:Body></soap:Envelope>`
	l, err := wsusss.ParseGetRevisionIdListResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []wsusss.UpdateIdentity{
		{UpdateID: uuid.MustParse("0287014e-6772-4b4d-81f7-42063ac26e8a"), RevisionNumber: 100},
		{UpdateID: uuid.MustParse("ff2a96fb-cc89-4e5e-83b2-7d48aa179840"), RevisionNumber: 101},
	}
	if l.Anchor != "4742,2006-05-26 18:59:26.192" || len(l.NewRevisions) != 2 || l.NewRevisions[0] != want[0] || l.NewRevisions[1] != want[1] {
		t.Errorf("got %+v", l)
	}
}

func TestParseGetDeploymentsSpecExample(t *testing.T) {
	// The spec's Sample 2 answer (replica mode), shown without envelope.
	s := string(sample(t, "mswsusss-spec-example-GetDeployments.xml"))
	resp := s[strings.Index(s, "<GetDeploymentsResponse"):]
	body := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + resp + `</soap:Body></soap:Envelope>`
	d, err := wsusss.ParseGetDeploymentsResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	allComputers := uuid.MustParse("a0a08746-4dbe-4a37-9adf-9e7652c0b421")
	unassigned := uuid.MustParse("b73ca6ed-5727-47f3-84de-015e03f6a88a")
	wantGroups := []wsusss.TargetGroup{
		{ID: allComputers, Name: "All Computers", IsBuiltin: true},
		{ID: unassigned, Name: "Unassigned Computers", IsBuiltin: true},
	}
	if d.Anchor != "4742,2006-05-26 18:59:26.192" || !slices.Equal(d.Groups, wantGroups) {
		t.Errorf("anchor %q groups %+v", d.Anchor, d.Groups)
	}
	if len(d.Deployments) != 2 {
		t.Fatalf("%d deployments, want 2", len(d.Deployments))
	}
	first := wsusss.Deployment{
		Update:     wsusss.UpdateIdentity{UpdateID: uuid.MustParse("4b62aa32-52f6-4c15-b739-1c8e696eb33e"), RevisionNumber: 100},
		Action:     wsusss.ActionInstall,
		AdminName:  "WUS Server",
		Deadline:   wsusss.NoDeadline,
		IsAssigned: true,
		GoLiveTime: time.Date(2006, 5, 24, 15, 37, 8, 887000000, time.UTC),
		ID:         uuid.MustParse("c2f2ca62-5413-419a-bdee-275a23087758"),
		GroupID:    unassigned, DownloadPriority: 1,
	}
	if d.Deployments[0] != first || d.Deployments[1].Update.RevisionNumber != 102 {
		t.Errorf("deployments %+v", d.Deployments)
	}
	wantHidden := []uuid.UUID{uuid.MustParse("9a9bafe2-fbfc-4b0b-8479-49a2bb08cd5a"), uuid.MustParse("6c9d9217-0e1d-434a-a938-d9918703c361")}
	if len(d.DeadDeployments) != 0 || len(d.AcceptedEulas) != 0 || !slices.Equal(d.HiddenUpdates, wantHidden) {
		t.Errorf("dead %v hidden %v eulas %v", d.DeadDeployments, d.HiddenUpdates, d.AcceptedEulas)
	}
	bad := strings.Replace(body, "<Action>0</Action>", "<Action>zero</Action>", 1)
	if _, err := wsusss.ParseGetDeploymentsResponse([]byte(bad)); !errors.Is(err, wsusss.ErrMalformed) {
		t.Errorf("bad Action: %v, want ErrMalformed", err)
	}
}

func TestParseGetUpdateData(t *testing.T) {
	leafDigest := "h/W9BGlYUAaqXTp30cZi/SiV3c0="
	for _, tc := range []struct {
		file    string
		id      wsusss.UpdateIdentity
		doc     []byte // the document the blob must decode to
		digests []string
		urls    []wsusss.FileURL
	}{
		{
			file:    "wsusss-GetUpdateDataResponse-leaf-compressed-with-fileurl.xml",
			id:      wsusss.UpdateIdentity{UpdateID: uuid.MustParse("266f6222-c89d-43f2-9f8a-69340271e677"), RevisionNumber: 200},
			doc:     mustRead(t, "leaf-266f6222-r200.xml"), // cabextract's output, see README
			digests: []string{leafDigest},
			urls: []wsusss.FileURL{{
				Digest: mustB64(t, leafDigest),
				MUURL:  "http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe",
			}},
		},
		{
			file: "wsusss-GetUpdateDataResponse-bundle-compressed-3-blocks.xml",
			id:   wsusss.UpdateIdentity{UpdateID: uuid.MustParse("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"), RevisionNumber: 200},
			doc:  sample(t, "update-software-bundle-kb2267602-a2fef9b0-r200.xml"),
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d, err := wsusss.ParseGetUpdateDataResponse(sample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Updates) != 1 {
				t.Fatalf("%d updates, want 1", len(d.Updates))
			}
			u := d.Updates[0]
			if u.ID != tc.id || !u.Compressed {
				t.Errorf("ID %+v compressed %v, want %+v compressed", u.ID, u.Compressed, tc.id)
			}
			if !bytes.Equal(u.XML, tc.doc) {
				t.Errorf("decoded document (%d bytes) differs from the expected one (%d bytes)", len(u.XML), len(tc.doc))
			}
			rev, err := metadata.Parse(u.XML)
			if err != nil {
				t.Fatalf("metadata.Parse of the decoded blob: %v", err)
			}
			if rev.UpdateID != tc.id.UpdateID || rev.RevisionNumber != tc.id.RevisionNumber {
				t.Errorf("document is %v r%d, want %+v", rev.UpdateID, rev.RevisionNumber, tc.id)
			}
			var got []string
			for _, dg := range u.FileDigests {
				got = append(got, base64.StdEncoding.EncodeToString(dg))
			}
			if strings.Join(got, ",") != strings.Join(tc.digests, ",") {
				t.Errorf("FileDigests %v, want %v", got, tc.digests)
			}
			// Every digest the answer lists is a file of the document.
			for _, dg := range u.FileDigests {
				found := false
				for _, f := range rev.Files {
					found = found || bytes.Equal(f.SHA1, dg)
				}
				if !found {
					t.Errorf("digest %x is no file of the document", dg)
				}
			}
			if len(d.FileURLs) != len(tc.urls) {
				t.Fatalf("FileURLs %+v, want %+v", d.FileURLs, tc.urls)
			}
			for i, w := range tc.urls {
				g := d.FileURLs[i]
				if !bytes.Equal(g.Digest, w.Digest) || g.MUURL != w.MUURL || g.USSURL != w.USSURL {
					t.Errorf("FileURLs[%d] %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelope wraps a GetUpdateData result's inner XML.
func updateDataBody(inner string) []byte {
	return []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetUpdateDataResponse xmlns="http://www.microsoft.com/SoftwareDistribution"><GetUpdateDataResult>` +
		inner + `</GetUpdateDataResult></GetUpdateDataResponse></soap:Body></soap:Envelope>`)
}

func TestParseGetUpdateDataPlainBlob(t *testing.T) {
	// XmlUpdateBlob carries the document as escaped text (MS-WSUSSS.md 2.3).
	doc := `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity UpdateID="17e993cd-cf5a-4276-9944-6af62ff7139c" RevisionNumber="100" /></upd:Update>`
	esc := strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(doc)
	d, err := wsusss.ParseGetUpdateDataResponse(updateDataBody(`<updates><ServerSyncUpdateData><Id><UpdateID>17e993cd-cf5a-4276-9944-6af62ff7139c</UpdateID><RevisionNumber>100</RevisionNumber></Id><XmlUpdateBlob>` + esc + `</XmlUpdateBlob></ServerSyncUpdateData></updates><fileUrls />`))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Updates) != 1 || string(d.Updates[0].XML) != doc || d.Updates[0].Compressed || len(d.FileURLs) != 0 {
		t.Errorf("got %+v", d)
	}
}

func TestParseGetUpdateDecryptionData(t *testing.T) {
	// [I] No example exists; the shape the parser reads (see DecryptionData).
	body := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><GetUpdateDecryptionDataResponse xmlns="http://www.microsoft.com/SoftwareDistribution"><GetUpdateDecryptionDataResult><UpdateFileDecryptionData><ServerSyncUpdateFileDecryption>` +
		`<UpdateId><UpdateID>266f6222-c89d-43f2-9f8a-69340271e677</UpdateID><RevisionNumber>200</RevisionNumber></UpdateId>` +
		`<FileDecryptionData><ServerSyncFileDecryption><FileDigest>h/W9BGlYUAaqXTp30cZi/SiV3c0=</FileDigest><DecryptionKey>AQID</DecryptionKey></ServerSyncFileDecryption>` +
		`<ServerSyncFileDecryption><FileDigest>AAAA</FileDigest><DecryptionKey xsi:nil="true" /></ServerSyncFileDecryption></FileDecryptionData>` +
		`</ServerSyncUpdateFileDecryption></UpdateFileDecryptionData></GetUpdateDecryptionDataResult></GetUpdateDecryptionDataResponse></soap:Body></soap:Envelope>`
	dd, err := wsusss.ParseGetUpdateDecryptionDataResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(dd) != 1 || dd[0].UpdateID.RevisionNumber != 200 || len(dd[0].Files) != 2 ||
		!bytes.Equal(dd[0].Files[0].Key, []byte{1, 2, 3}) || dd[0].Files[1].Key != nil || len(dd[0].Files[1].Digest) != 3 {
		t.Errorf("got %+v", dd)
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  []byte
		parse func([]byte) error
		want  wsusss.Fault
	}{
		{
			name: "real WSUS, bad anchor",
			body: sample(t, "wsusss-Fault-InvalidParameters-GetRevisionIdList.xml"),
			parse: func(b []byte) error {
				_, err := wsusss.ParseGetRevisionIdListResponse(b)
				return err
			},
			want: wsusss.Fault{
				Operation: "GetRevisionIdList", Code: soap.InvalidParameters, Message: "filter",
				ID: "94327110-fc7e-4c3c-878d-186ab273d9fd", Method: `"http://www.microsoft.com/SoftwareDistribution/GetRevisionIdList"`,
				FaultCode: "soap:Client", FaultString: "Fault occurred",
				FaultActor: "http://127.0.0.1:8530/ServerSyncWebService/ServerSyncWebService.asmx",
			},
		},
		{
			name: "spec example, InvalidCookie",
			body: sample(t, "mswsusss-spec-example-Fault-InvalidCookie-repaired.xml"),
			parse: func(b []byte) error {
				_, err := wsusss.ParseGetUpdateDataResponse(b)
				return err
			},
			want: wsusss.Fault{
				Operation: "GetUpdateData", Code: soap.InvalidCookie,
				ID: "247dfffd-a6b4-4a57-b9d4-2e464b668cd3", Method: `"http://www.microsoft.com/SoftwareDistribution/GetDeployments"`,
				FaultCode: "soap:Client", FaultActor: "http://HemantTest:8530/serversyncWebService/serversyncWebService.asmx",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(tc.body)
			var f *wsusss.Fault
			if !errors.As(err, &f) {
				t.Fatalf("error %v is not a *Fault", err)
			}
			if errors.Is(err, wsusss.ErrMalformed) {
				t.Error("a fault must not wrap ErrMalformed")
			}
			got := *f
			if tc.want.FaultString == "" {
				if !strings.HasPrefix(got.FaultString, "System.Web.Services.Protocols.SoapException: Fault occurred at ") {
					t.Errorf("FaultString %q", got.FaultString)
				}
				got.FaultString = ""
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestMalformed(t *testing.T) {
	parseRevs := func(b []byte) error { _, err := wsusss.ParseGetRevisionIdListResponse(b); return err }
	parseData := func(b []byte) error { _, err := wsusss.ParseGetUpdateDataResponse(b); return err }
	parseConfig := func(b []byte) error { _, err := wsusss.ParseGetConfigDataResponse(b); return err }
	parseCookie := func(b []byte) error { _, err := wsusss.ParseGetCookieResponse(b); return err }
	revs := string(sample(t, "wsusss-GetRevisionIdListResponse-getconfig-categories.xml"))
	leaf := string(sample(t, "wsusss-GetUpdateDataResponse-leaf-compressed-with-fileurl.xml"))
	config := string(sample(t, "wsusss-GetConfigDataResponse-wsus-upstream.xml"))
	cookie := string(sample(t, "wsusss-GetCookieResponse.xml"))
	id := `<Id><UpdateID>266f6222-c89d-43f2-9f8a-69340271e677</UpdateID><RevisionNumber>200</RevisionNumber></Id>`
	for _, tc := range []struct {
		name  string
		body  string
		parse func([]byte) error
		want  string // in the error text
	}{
		{"empty", "", parseRevs, "not XML"},
		{"not XML", "HTTP/1.1 502 Bad Gateway", parseRevs, "not XML"},
		{"truncated", revs[:len(revs)/2], parseRevs, "not XML"},
		{"spec fault as published (ill-formed)", string(sample(t, "mswsusss-spec-example-Fault-InvalidCookie.xml")), parseRevs, "not XML"},
		{"SOAP 1.2 envelope", strings.ReplaceAll(cookie, "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"), parseCookie, "not a SOAP 1.1 envelope"},
		{"no Body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>`, parseRevs, "without Body"},
		{"empty Body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`, parseRevs, "empty SOAP Body"},
		{"answer to another operation", cookie, parseRevs, "want {http://www.microsoft.com/SoftwareDistribution}GetRevisionIdListResponse"},
		{"no Result", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetCookieResponse xmlns="http://www.microsoft.com/SoftwareDistribution"/></soap:Body></soap:Envelope>`, parseCookie, "no GetCookieResult"},
		{"no Anchor", strings.Replace(revs, "<Anchor>9438,2026-10-04 16:33:26.671</Anchor>", "", 1), parseRevs, "Anchor missing"},
		{"bad RevisionNumber", strings.Replace(revs, "<RevisionNumber>100</RevisionNumber>", "<RevisionNumber>x</RevisionNumber>", 1), parseRevs, `"x" is not an int`},
		{"bad UpdateID", strings.Replace(revs, "e6cf1350-c01b", "e6cf1350-zzzz", 1), parseRevs, "is not a GUID"},
		{"too deep", strings.Replace(revs, "<Anchor>", strings.Repeat("<x>", soap.MaxDepth)+strings.Repeat("</x>", soap.MaxDepth)+"<Anchor>", 1), parseRevs, "not XML"},
		{"cookie expiration malformed", strings.Replace(cookie, "2026-10-04T20:33:26.65455Z", "tomorrow", 1), parseCookie, "Expiration"},
		{"cookie without data", strings.NewReplacer("<EncryptedData>", "<EncryptedData xsi:nil=\"true\"/><Other>", "</EncryptedData>", "</Other>").Replace(cookie), parseCookie, "EncryptedData missing"},
		{"no MaxNumberOfUpdatesPerRequest", strings.Replace(config, "<MaxNumberOfUpdatesPerRequest>100</MaxNumberOfUpdatesPerRequest>", "", 1), parseConfig, "MaxNumberOfUpdatesPerRequest missing"},
		{"zero MaxNumberOfUpdatesPerRequest", strings.Replace(config, "<MaxNumberOfUpdatesPerRequest>100<", "<MaxNumberOfUpdatesPerRequest>0<", 1), parseConfig, "not positive"},
		{"bad boolean", strings.Replace(config, "<LazySync>true<", "<LazySync>yes<", 1), parseConfig, "not a boolean"},
		{"corrupt compressed blob", strings.Replace(leaf, "<XmlUpdateBlobCompressed>TVND", "<XmlUpdateBlobCompressed>TVNE", 1), parseData, "XmlUpdateBlobCompressed: cab"},
		{"compressed blob not base64", strings.Replace(leaf, "<XmlUpdateBlobCompressed>TVND", "<XmlUpdateBlobCompressed>*VND", 1), parseData, "not base64"},
		{"both blobs", string(updateDataBody(`<updates><ServerSyncUpdateData>` + id + `<XmlUpdateBlob>x</XmlUpdateBlob><XmlUpdateBlobCompressed>AA==</XmlUpdateBlobCompressed></ServerSyncUpdateData></updates>`)), parseData, "both"},
		{"no blob", string(updateDataBody(`<updates><ServerSyncUpdateData>` + id + `</ServerSyncUpdateData></updates>`)), parseData, "no XmlUpdateBlob"},
		{"empty plain blob", string(updateDataBody(`<updates><ServerSyncUpdateData>` + id + `<XmlUpdateBlob> </XmlUpdateBlob></ServerSyncUpdateData></updates>`)), parseData, "empty XmlUpdateBlob"},
		{"no Id", string(updateDataBody(`<updates><ServerSyncUpdateData><XmlUpdateBlob>x</XmlUpdateBlob></ServerSyncUpdateData></updates>`)), parseData, "without Id"},
		{"fileUrls without digest", strings.Replace(leaf, "<FileDigest>h/W9BGlYUAaqXTp30cZi/SiV3c0=</FileDigest>", "", 1), parseData, "FileDigest missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse([]byte(tc.body))
			if !errors.Is(err, wsusss.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			var f *wsusss.Fault
			if errors.As(err, &f) {
				t.Errorf("malformed answer reported as a fault: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
