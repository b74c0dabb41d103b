package clientsim

import (
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// recordedResponse parses a recorded answer to op.
func recordedResponse(t *testing.T, exchange, op, ns string) *etree.Element {
	t.Helper()
	el, err := parseResponse(op, ns, http.StatusOK, recorded(t, exchange, "response.body"))
	if err != nil {
		t.Fatalf("%s %s: %v", exchange, op, err)
	}
	return el
}

func TestParseRecordedResponses(t *testing.T) {
	cfg, err := parseConfig(recordedResponse(t, "000001", "GetConfig", nsClient))
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := serverConfig{
		LastChange: recLastChange, IsRegistrationRequired: true,
		AuthServiceURL: "SimpleAuthWebService/SimpleAuth.asmx", MaxExtendedUpdates: 50,
		Properties: map[string]string{
			"MaxExtendedUpdatesPerRequest": "50", "PackageServerShare": `\\REDACTED2\UpdateServicesPackages`,
			"ProtocolVersion": "3.2", "IsInventoryRequired": "0", "ClientReportingLevel": "2",
		},
	}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("config\n got %+v\nwant %+v", cfg, wantCfg)
	}

	auth, err := parseAuthCookie(recordedResponse(t, "000002", "GetAuthorizationCookie", nsSimpleAuth))
	if err != nil || auth != (authCookie{"SimpleTargeting", recAuthData}) {
		t.Errorf("auth cookie %+v, %v", auth, err)
	}

	c, err := parseCookie(child(recordedResponse(t, "000003", "GetCookie", nsClient), "GetCookieResult"), "GetCookieResult")
	if err != nil || c != (cookie{recExpiration, recCookieData}) {
		t.Errorf("cookie %+v, %v", c, err)
	}

	if _, err := parseResponse("RegisterComputer", nsClient, http.StatusOK, recorded(t, "000004", "response.body")); err != nil {
		t.Errorf("RegisterComputer: %v", err)
	}

	syncs := []struct {
		exchange string
		want     []updateInfo
	}{
		{"000006", []updateInfo{{ID: 108226, Action: "Evaluate", IsLeaf: false, Identity: updateIdentity{"56309036-4C77-4DD9-951A-99EE9C246A94", 101}}}},
		{"000007", []updateInfo{{ID: 108231, Action: "Evaluate", IsLeaf: false, Identity: updateIdentity{"6964AAB4-C5B5-43BD-A17D-FFB4346A8E1D", 100}}}},
		{"000008", []updateInfo{{ID: 72571, Action: "Evaluate", IsLeaf: true, Identity: updateIdentity{"dd78b8a1-0b20-45c1-add6-4da72e9364cf", 202}}}},
		{"000009", nil},
	}
	for _, s := range syncs {
		si, err := parseSyncInfo(recordedResponse(t, s.exchange, "SyncUpdates", nsClient))
		if err != nil {
			t.Errorf("%s: %v", s.exchange, err)
			continue
		}
		if !reflect.DeepEqual(si.NewUpdates, s.want) || si.Truncated || si.NewCookie != (cookie{recExpiration, recCookieData}) ||
			si.ChangedUpdates != nil || si.OutOfScope != nil {
			t.Errorf("%s: %+v", s.exchange, si)
		}
	}

	x, err := parseExtendedInfo(recordedResponse(t, "000010", "GetExtendedUpdateInfo", nsClient))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Files) != 0 || len(x.Locations) != 0 ||
		!reflect.DeepEqual(x.Titles, map[int]string{72571: "OOBE ZDP", 108226: "Microsoft", 108231: "Windows"}) {
		t.Errorf("extended info %+v", x)
	}
}

func TestParseExtendedInfoWithFiles(t *testing.T) {
	el, err := parseResponse("GetExtendedUpdateInfo", nsClient, http.StatusOK, readFile(t, "../testdata/clientsim/flow/000015-response.body"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := parseExtendedInfo(el)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Files) != 9 || len(x.Locations) != 9 {
		t.Errorf("%d revisions with files, %d locations; want 9, 9", len(x.Files), len(x.Locations))
	}
	f := x.Files[199594]
	if len(f) != 1 {
		t.Fatalf("revision 199594 files %+v", f)
	}
	if f[0].Name != "AM_Base.exe" || f[0].Size != 204745168 || f[0].Digest != "L4jfQtpIqpgPt0jRO6ot5JzRVKs=" ||
		strings.ToUpper(hex.EncodeToString(f[0].SHA1)) != "2F88DF42DA48AA980FB748D13BAA2DE49CD154AB" || len(f[0].SHA256) != 32 {
		t.Errorf("AM_Base.exe meta %+v", f[0])
	}
	if got := x.Locations["L4jfQtpIqpgPt0jRO6ot5JzRVKs="]; got != "http://192.0.2.1:8530/Content/AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe" {
		t.Errorf("location %q", got)
	}
	if got := x.Titles[199594]; got != "Bases 1.459.0.0 for Defender amd64fre Broad Full" {
		t.Errorf("title %q", got)
	}
	if len(x.Files[200712]) != 0 {
		t.Error("revision without Files got files")
	}
}

func TestParseFileRejectsBadMetadata(t *testing.T) {
	tests := []struct{ name, xml, want string }{
		{"no sha256", `<ExtendedProperties /><Files><File Digest="L4jfQtpIqpgPt0jRO6ot5JzRVKs=" DigestAlgorithm="SHA1" FileName="a.exe" Size="1" /></Files>`, "no SHA256 AdditionalDigest"},
		{"bad digest", `<ExtendedProperties /><Files><File Digest="abc" FileName="a.exe" Size="1"><AdditionalDigest Algorithm="SHA256">MKzz0PJzOS9ogyRCzjZ9jgNc6i3IReNqV4BPz5/1TjA=</AdditionalDigest></File></Files>`, "not a base64 SHA-1"},
		{"bad size", `<ExtendedProperties /><Files><File Digest="L4jfQtpIqpgPt0jRO6ot5JzRVKs=" FileName="a.exe" Size="x"><AdditionalDigest Algorithm="SHA256">MKzz0PJzOS9ogyRCzjZ9jgNc6i3IReNqV4BPz5/1TjA=</AdditionalDigest></File></Files>`, "bad Size"},
		{"not xml", `<ExtendedProperties><Files>`, "Xml fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetExtendedUpdateInfoResponse xmlns="` + nsClient +
				`"><GetExtendedUpdateInfoResult><Updates><Update><ID>1</ID><Xml>` + xmlEscape(tt.xml) + `</Xml></Update></Updates></GetExtendedUpdateInfoResult></GetExtendedUpdateInfoResponse></s:Body></s:Envelope>`
			el, err := parseResponse("GetExtendedUpdateInfo", nsClient, 200, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseExtendedInfo(el)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestParseSyncInfoRejects(t *testing.T) {
	wrap := func(inner string) []byte {
		return []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SyncUpdatesResponse xmlns="` + nsClient +
			`"><SyncUpdatesResult>` + inner + `</SyncUpdatesResult></SyncUpdatesResponse></s:Body></s:Envelope>`)
	}
	const nc = `<NewCookie><Expiration>E</Expiration><EncryptedData>D</EncryptedData></NewCookie>`
	const core = `&lt;UpdateIdentity UpdateID="56309036-4C77-4DD9-951A-99EE9C246A94" RevisionNumber="101" /&gt;`
	tests := []struct{ name, inner, want string }{
		{"no Truncated", nc, "missing Truncated"},
		{"no NewCookie", `<Truncated>false</Truncated>`, "NewCookie without"},
		{"no Deployment", `<NewUpdates><UpdateInfo><ID>5</ID><IsLeaf>true</IsLeaf><Xml>` + core + `</Xml></UpdateInfo></NewUpdates><Truncated>false</Truncated>` + nc, "revision 5 has no Deployment"},
		{"bad IsLeaf", `<NewUpdates><UpdateInfo><ID>5</ID><Deployment><Action>Install</Action></Deployment><IsLeaf>yes</IsLeaf><Xml>` + core + `</Xml></UpdateInfo></NewUpdates><Truncated>false</Truncated>` + nc, "not an xs:boolean"},
		{"no identity", `<NewUpdates><UpdateInfo><ID>5</ID><Deployment><Action>Install</Action></Deployment><IsLeaf>true</IsLeaf><Xml>&lt;Properties /&gt;</Xml></UpdateInfo></NewUpdates><Truncated>false</Truncated>` + nc, "does not start with UpdateIdentity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el, err := parseResponse("SyncUpdates", nsClient, 200, wrap(tt.inner))
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseSyncInfo(el)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	fault := readFile(t, "../testdata/clientsim/flow/m0-000141-fault-response.body")
	_, err := parseResponse("SyncUpdates", nsClient, http.StatusInternalServerError, fault)
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("error %v is not a *Fault", err)
	}
	want := Fault{
		Operation: "SyncUpdates", HTTPStatus: 500, FaultCode: "s:Client", FaultString: "Fault occurred",
		ErrorCode: "InvalidParameters", Message: "parameters.InstalledNonLeafUpdateIDs",
		ID:     "81418b4e-82c1-48d0-9504-da01db6148ae",
		Method: `"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates"`,
	}
	if *f != want {
		t.Errorf("fault\n got %+v\nwant %+v", *f, want)
	}
	if got := f.Error(); got != "SOAP fault InvalidParameters (parameters.InstalledNonLeafUpdateIDs) [HTTP 500]" {
		t.Errorf("Error() = %q", got)
	}
	if !IsFault(err, "CookieExpired", "InvalidParameters") || IsFault(err, "InvalidCookie") {
		t.Error("IsFault wrong")
	}
	pf, err := ParseFault(fault)
	if err != nil || pf.ErrorCode != "InvalidParameters" {
		t.Errorf("ParseFault %+v %v", pf, err)
	}
	if _, err := ParseFault(recorded(t, "000001", "response.body")); err == nil {
		t.Error("ParseFault accepted a normal response")
	}

	others := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"html 500", 500, "<html><body>boom</body></html>", "HTTP 500, not a SOAP fault: <html><body>boom"},
		{"404", 404, "", "HTTP 404, not a SOAP fault: (empty body)"},
		{"garbage 200", 200, "not xml", "response is not a SOAP 1.1 envelope"},
		{"wrong operation", 200, string(recorded(t, "000001", "response.body")), "expected {" + nsClient + "}SyncUpdatesResponse in SOAP Body, got {" + nsClient + "}GetConfigResponse"},
	}
	for _, o := range others {
		_, err := parseResponse("SyncUpdates", nsClient, o.status, []byte(o.body))
		if err == nil || !strings.Contains(err.Error(), o.want) || errors.As(err, &f) {
			t.Errorf("%s: error %v, want %q and no Fault", o.name, err, o.want)
		}
	}
}

func TestCoreIdentity(t *testing.T) {
	const guid = "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe"
	tests := []struct {
		name, fragment string
		want           updateIdentity
		err            string
	}{
		{"recorded shape", `<UpdateIdentity UpdateID="` + guid + `" RevisionNumber="200" /><Properties UpdateType="Software" /><Relationships><Prerequisites><UpdateIdentity UpdateID="x" /></Prerequisites></Relationships>`,
			updateIdentity{UpdateID: guid, RevisionNumber: 200}, ""},
		{"whitespace first", "\n  <UpdateIdentity UpdateID=\"" + guid + "\" RevisionNumber=\"7\"></UpdateIdentity>", updateIdentity{UpdateID: guid, RevisionNumber: 7}, ""},
		{"prefixed attributes do not count", `<UpdateIdentity p:UpdateID="` + guid + `" RevisionNumber="1" />`, updateIdentity{}, `UpdateIdentity ""/"1" is not GUID/revision`},
		{"other element first", `<Properties /><UpdateIdentity UpdateID="` + guid + `" RevisionNumber="1" />`, updateIdentity{}, "does not start with UpdateIdentity"},
		{"empty", ``, updateIdentity{}, "does not start with UpdateIdentity"},
		{"mismatched end", `<UpdateIdentity UpdateID="` + guid + `" RevisionNumber="1" /><Properties></Relationships>`, updateIdentity{}, "parse Xml fragment: unexpected end element </Relationships>"},
		{"unclosed", `<UpdateIdentity UpdateID="` + guid + `" RevisionNumber="1" /><Properties>`, updateIdentity{}, "parse Xml fragment: element <Properties> not closed"},
		{"not XML", `<UpdateIdentity UpdateID="` + guid + `" RevisionNumber=1 />`, updateIdentity{}, "parse Xml fragment: "},
		{"bad revision", `<UpdateIdentity UpdateID="` + guid + `" RevisionNumber="x" />`, updateIdentity{}, "is not GUID/revision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := coreIdentity(tt.fragment)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
