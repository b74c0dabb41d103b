package wusp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/storage"
	"wsus/sync/importer"
)

// The synthetic driver updates of testdata/drivers (see its README: built
// from the spec text and Microsoft's reference code, not real metadata).
var (
	idVirtioNet = uuid.MustParse("5a0c3f21-7d4e-4b1a-9c2e-8f6d1b3a7e01")
	idDisplay   = uuid.MustParse("6b1d4e32-8e5f-4c2b-8d3f-9a7e2c4b8f02")
	idPrinter   = uuid.MustParse("7c2e5f43-9f60-4d3c-9e4a-ab8f3d5c9003")
)

// realDriverPass is the native client's driver-pass request (capture
// scan/000009, a copy of shared/protocol/captures/wsus-rs/wsus-m0-native,
// see testdata/clientsim/README.md): 70 devices, the ComputerSpec, key
// AMD64.10.0, the OOBE ZDP category filter.
const realDriverPass = "../../testdata/clientsim/scan/000009"

var cookieElement = regexp.MustCompile(`<cookie>.*?</cookie>`)

// driverPassBody returns the real driver-pass request with the cookie
// replaced by cookieXML and edit applied to the rest.
func driverPassBody(t testing.TB, cookieXML string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(realDriverPass, "request.body"))
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	if n := len(cookieElement.FindAllString(body, -1)); n != 1 {
		t.Fatalf("capture has %d cookie elements, want 1", n)
	}
	body = cookieElement.ReplaceAllLiteralString(body, cookieXML)
	if edit != nil {
		body = edit(body)
	}
	return body
}

// importDrivers imports the synthetic driver updates and approves them for
// Install in All Computers; it returns the approval of each update.
func (e *env) importDrivers(approve ...uuid.UUID) map[uuid.UUID]catalog.Approval {
	e.t.Helper()
	ctx := context.Background()
	blobs, err := storage.NewFS(filepath.Join(e.t.TempDir(), "content"))
	if err != nil {
		e.t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "drivers", "*.xml"))
	if err != nil || len(docs) != 3 {
		e.t.Fatalf("driver documents %v: %v", docs, err)
	}
	if _, err := importer.Import(ctx, e.store, blobs, docs, importer.Options{}); err != nil {
		e.t.Fatal(err)
	}
	sums, err := e.store.Summaries(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range sums {
		e.ids[s.UpdateID] = s.ID
	}
	out := map[uuid.UUID]catalog.Approval{}
	for _, id := range approve {
		a, err := e.store.SetApproval(ctx, catalog.Approval{UpdateID: id, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall})
		if err != nil {
			e.t.Fatal(err)
		}
		out[id] = a
	}
	return out
}

// postRaw posts a SyncUpdates body and returns the status and the raw
// response body.
func (e *env) postRaw(body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+clientPath, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+soap.NSClient+`/SyncUpdates"`)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sealedCookie is a cookie for a registered client with the given protocol.
func (e *env) sealedCookie(clientID, protocol string) string {
	e.t.Helper()
	s := cookie.Session{ServerID: e.info.ID, ClientID: clientID, IssuedAt: e.clock.now(), Expires: e.clock.now().Add(time.Hour),
		ConfigChanged: e.info.ConfigChanged, ProtocolVersion: protocol}
	b, err := e.sealer.SealSession(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return "<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>" + base64.StdEncoding.EncodeToString(b) + "</EncryptedData></cookie>"
}

// escapeText escapes text as the server writes it (and real WSUS does):
// &, < and >, quotes as they are.
var escapeText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// atLeast compares protocol versions of the form "d.d" or "d.dd" (the ones
// these tests use) with a "d.d" floor.
func atLeast(protocol, floor string) bool { return protocol >= floor }

// expectedInfo is the exact UpdateInfo the server must write for a driver.
func (e *env) expectedInfo(id uuid.UUID, a catalog.Approval, protocol string, hardwareIDs ...string) string {
	e.t.Helper()
	rev, err := e.store.Revision(context.Background(), e.ids[id])
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<UpdateInfo><ID>%d</ID><Deployment><ID>%d</ID><Action>Install</Action><IsAssigned>true</IsAssigned><LastChangeTime>%s</LastChangeTime>",
		rev.ID, a.ID, a.ChangedAt.UTC().Format("2006-01-02"))
	if atLeast(protocol, "1.6") {
		b.WriteString("<HardwareIds>")
		for _, h := range hardwareIDs {
			b.WriteString("<string>" + escapeText(h) + "</string>")
		}
		b.WriteString("</HardwareIds>")
	}
	if atLeast(protocol, "1.8") {
		b.WriteString("<AutoSelect>0</AutoSelect><AutoDownload>0</AutoDownload><SupersedenceBehavior>0</SupersedenceBehavior>")
	}
	b.WriteString("</Deployment><IsLeaf>true</IsLeaf><Xml>" + escapeText(rev.CoreXML) + "</Xml></UpdateInfo>")
	return b.String()
}

// between returns the text of body from the first from to the end of the
// first to after it.
func between(t testing.TB, body, from, to string) string {
	t.Helper()
	i := strings.Index(body, from)
	if i < 0 {
		t.Fatalf("response lacks %s:\n%s", from, body)
	}
	j := strings.Index(body[i:], to)
	if j < 0 {
		t.Fatalf("response lacks %s after %s:\n%s", to, from, body)
	}
	return body[i : i+j+len(to)]
}

// resultChildren lists the children of SyncUpdatesResult.
func resultChildren(t testing.TB, body string) []string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatalf("response is not XML: %v", err)
	}
	var names []string
	for _, c := range doc.FindElement("//SyncUpdatesResult").ChildElements() {
		names = append(names, c.Tag)
	}
	return names
}

// TestDriverPassRealRequest sends the native client's real driver pass (70
// devices) against a catalog holding the three synthetic drivers, approved:
//   - the virtio network driver beats the installed one (newer date) on the
//     device's first hardware ID;
//   - the display driver is targeted at the client's fourth computer
//     hardware ID (its Target and Distribution IDs intersected) and beats
//     the installed ROOT\BasicDisplay driver although older and lower;
//   - the printer driver is of another manufacturer than the installed
//     Microsoft printer driver: not offered;
//
// each UpdateInfo exactly as written, HardwareIds by protocol version.
func TestDriverPassRealRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	approvals := e.importDrivers(idVirtioNet, idDisplay, idPrinter)
	clientID, ck := e.login("")

	virtio := `PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00`
	first, second := idVirtioNet, idDisplay
	if e.ids[second] < e.ids[first] {
		first, second = second, first
	}
	hw := map[uuid.UUID]string{idVirtioNet: virtio, idDisplay: `ROOT\BasicDisplay`}

	for _, protocol := range []string{"2.90", "1.8", "1.6", "1.5"} {
		t.Run("protocol "+protocol, func(t *testing.T) {
			c := ck
			if protocol != "2.90" {
				c = e.sealedCookie(clientID, protocol)
			}
			status, body := e.postRaw(driverPassBody(t, c, nil))
			if status != 200 {
				t.Fatalf("HTTP %d:\n%s", status, body)
			}
			want := "<NewUpdates>" + e.expectedInfo(first, approvals[first], protocol, hw[first]) +
				e.expectedInfo(second, approvals[second], protocol, hw[second]) + "</NewUpdates>"
			if got := between(t, body, "<NewUpdates>", "</NewUpdates>"); got != want {
				t.Errorf("NewUpdates\n got %s\nwant %s", got, want)
			}
			// DriverSyncNotNeeded MUST NOT go to clients older than 1.7
			// ([MS-WUSP] 2.2.2.2.4, SyncInfo).
			children := []string{"NewUpdates", "Truncated", "NewCookie", "DriverSyncNotNeeded"}
			if !atLeast(protocol, "1.7") {
				children = children[:3]
			}
			if got := resultChildren(t, body); !slices.Equal(got, children) {
				t.Errorf("SyncUpdatesResult children %v, want %v", got, children)
			}
			if got := between(t, body, "<Truncated>", "</Truncated>"); got != "<Truncated>false</Truncated>" {
				t.Errorf("%s", got)
			}
			if atLeast(protocol, "1.7") {
				if got := between(t, body, "<DriverSyncNotNeeded>", "</DriverSyncNotNeeded>"); got != "<DriverSyncNotNeeded>false</DriverSyncNotNeeded>" {
					t.Errorf("%s", got)
				}
			}
		})
	}

	t.Run("cached drivers are not sent again; unknown cached IDs are out of scope", func(t *testing.T) {
		body := driverPassBody(t, ck, func(b string) string {
			return strings.Replace(b, "</SystemSpec>", fmt.Sprintf("</SystemSpec><CachedDriverIDs><int>%d</int><int>%d</int><int>424242</int></CachedDriverIDs>",
				e.ids[idVirtioNet], e.ids[idDisplay]), 1)
		})
		status, resp := e.postRaw(body)
		if status != 200 {
			t.Fatalf("HTTP %d:\n%s", status, resp)
		}
		if got := resultChildren(t, resp); !slices.Equal(got, []string{"OutOfScopeRevisionIDs", "Truncated", "NewCookie", "DriverSyncNotNeeded"}) {
			t.Errorf("SyncUpdatesResult children %v", got)
		}
		if got := between(t, resp, "<OutOfScopeRevisionIDs>", "</Truncated>"); got != "<OutOfScopeRevisionIDs><int>424242</int></OutOfScopeRevisionIDs><Truncated>false</Truncated>" {
			t.Errorf("got %s", got)
		}
		if got := between(t, resp, "<DriverSyncNotNeeded>", "</DriverSyncNotNeeded>"); got != "<DriverSyncNotNeeded>false</DriverSyncNotNeeded>" {
			t.Errorf("%s", got)
		}
	})
}

// TestDriverPassWithoutApprovedDrivers: with drivers in the catalog but none
// approved, the answer is the real WS2025 one (capture scan/000009) byte
// for byte, the cookie aside.
func TestDriverPassWithoutApprovedDrivers(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.importDrivers()
	_, ck := e.login("")
	status, body := e.postRaw(driverPassBody(t, ck, nil))
	if status != 200 {
		t.Fatalf("HTTP %d:\n%s", status, body)
	}
	real, err := os.ReadFile(filepath.Join(realDriverPass, "response.body"))
	if err != nil {
		t.Fatal(err)
	}
	newCookie := regexp.MustCompile(`<NewCookie>.*?</NewCookie>`)
	got, want := newCookie.ReplaceAllString(body, "<NewCookie/>"), newCookie.ReplaceAllString(string(real), "<NewCookie/>")
	if got != want {
		t.Errorf("answer\n got %s\nwant %s", got, want)
	}
}

// TestDriverPassParameters covers what the driver pass reads beyond the
// real request's shape: bad values are InvalidParameters faults naming the
// parameter, and a SystemSpec written with prefixes declared on the
// envelope (not the native client's spelling) still parses.
func TestDriverPassParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	approvals := e.importDrivers(idVirtioNet)
	_, ck := e.login("")

	faults := []struct {
		name, old, repl, message string
	}{
		{"bad installed DriverVerDate", "<DriverVerDate>2024-10-21T00:00:00Z</DriverVerDate>", "<DriverVerDate>yesterday</DriverVerDate>", "parameters.SystemSpec"},
		{"bad installed DriverVerVersion", "<DriverVerVersion>2814751477604196</DriverVerVersion>", "<DriverVerVersion>10.0.1.2</DriverVerVersion>", "parameters.SystemSpec"},
		{"bad DriverRank", "<DriverRank>-1</DriverRank>", "<DriverRank>high</DriverRank>", "parameters.SystemSpec"},
		{"bad MatchingComputerHWID", `<MatchingComputerHWID a:nil="true" xmlns:a="http://www.w3.org/2001/XMLSchema-instance"/>`, "<MatchingComputerHWID>PC-1</MatchingComputerHWID>", "parameters.SystemSpec"},
		{"malformed device XML", "<Device><HardwareIDs>", "<Device><HardwareIDs><string>", "parameters.SystemSpec"},
		{"bad computer hardware ID", "<guid>458ab48b-acb9-5863-b5a8-d2c32f0d3e6f</guid>", "<guid>458ab48b</guid>", "parameters.ComputerSpec"},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			body := driverPassBody(t, ck, func(b string) string {
				if !strings.Contains(b, f.old) {
					t.Fatalf("capture lacks %q", f.old)
				}
				return strings.Replace(b, f.old, f.repl, 1)
			})
			status, el := e.post(clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body)
			if status != 500 || faultCode(el) != "InvalidParameters" || soap.Text(soap.Child(el, "detail"), "Message") != f.message {
				t.Errorf("HTTP %d fault %q %q, want InvalidParameters %s", status, faultCode(el), soap.Text(soap.Child(el, "detail"), "Message"), f.message)
			}
		})
	}

	t.Run("prefixes declared on the envelope", func(t *testing.T) {
		body := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="` + soap.NSClient + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body><c:SyncUpdates>` + ck +
			`<c:parameters><c:ExpressQuery>false</c:ExpressQuery><c:SystemSpec><c:Device><c:HardwareIDs><c:string>PCI\VEN_1AF4&amp;DEV_1000&amp;SUBSYS_00011AF4&amp;REV_00</c:string></c:HardwareIDs>` +
			`<c:installedDriver><c:MatchingID>PCI\VEN_1AF4&amp;DEV_1000&amp;SUBSYS_00011AF4&amp;REV_00</c:MatchingID><c:DriverVerDate>2024-10-21T00:00:00Z</c:DriverVerDate><c:DriverVerVersion>28147927174637544</c:DriverVerVersion>` +
			`<c:MatchingComputerHWID xsi:nil="true"/><c:DriverRank>16711680</c:DriverRank></c:installedDriver></c:Device></c:SystemSpec>` +
			`<c:SkipSoftwareSync>true</c:SkipSoftwareSync><c:FeatureScoreMatchingKey>AMD64.10.0</c:FeatureScoreMatchingKey></c:parameters></c:SyncUpdates></s:Body></s:Envelope>`
		status, resp := e.postRaw(body)
		if status != 200 {
			t.Fatalf("HTTP %d:\n%s", status, resp)
		}
		want := "<NewUpdates>" + e.expectedInfo(idVirtioNet, approvals[idVirtioNet], "2.90", `PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00`) + "</NewUpdates>"
		if got := between(t, resp, "<NewUpdates>", "</NewUpdates>"); got != want {
			t.Errorf("NewUpdates\n got %s\nwant %s", got, want)
		}
	})
}

// BenchmarkDriverPassRealRequest: the real 70-device driver pass, with the
// approved drivers already cached (the steady state: parse SystemSpec,
// match every device, offer nothing).
func BenchmarkDriverPassRealRequest(b *testing.B) {
	e := newEnv(b, envOptions{})
	e.importDrivers(idVirtioNet, idDisplay, idPrinter)
	_, ck := e.login("")
	body := driverPassBody(b, ck, func(s string) string {
		return strings.Replace(s, "</SystemSpec>", fmt.Sprintf("</SystemSpec><CachedDriverIDs><int>%d</int><int>%d</int></CachedDriverIDs>",
			e.ids[idVirtioNet], e.ids[idDisplay]), 1)
	})
	if status, resp := e.postRaw(body); status != 200 || strings.Contains(resp, "<NewUpdates>") {
		b.Fatalf("HTTP %d, want 200 and nothing new:\n%s", status, resp)
	}
	benchCall(b, e, clientPath, `"`+soap.NSClient+`/SyncUpdates"`, body)
}
