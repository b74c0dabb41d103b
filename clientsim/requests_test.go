package clientsim

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

const scanDir = "../testdata/clientsim/scan"

// Values of the recorded conversation (testdata/clientsim/scan).
const (
	recClientID   = "e1da06a3-5601-43c9-bac3-52d5db701494"
	recDNSName    = "REDACTED3"
	recLastChange = "2026-10-04T13:17:07.59Z"
	recExpiration = "2026-10-04T16:03:35.9967236Z"
	recServer     = "http://192.0.2.1:8530"
)

var (
	recAuthData   = strings.Repeat("A", 662) + "=="
	recCookieData = strings.Repeat("A", 299) + "="
)

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func recorded(t *testing.T, exchange, file string) []byte {
	t.Helper()
	return readFile(t, filepath.Join(scanDir, exchange, file))
}

// unfiltered removes the category-scan elements from a recorded SyncUpdates
// request: the expected shape of a normal full scan.
func unfiltered(b []byte) string {
	s := string(b)
	s = regexp.MustCompile(`<FilterCategoryIds>.*?</FilterCategoryIds>`).ReplaceAllString(s, "")
	return strings.Replace(s, "<NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates>", "", 1)
}

func TestRecordedValuesReproduceRecordedBodies(t *testing.T) {
	recCookie := cookie{Expiration: recExpiration, EncryptedData: recCookieData}
	// Sanity: the constants are what the capture holds.
	if !strings.Contains(string(recorded(t, "000003", "request.body")), "<CookieData>"+recAuthData+"</CookieData>") ||
		!strings.Contains(string(recorded(t, "000004", "request.body")), "<EncryptedData>"+recCookieData+"</EncryptedData>") {
		t.Fatal("recorded cookie constants do not match the capture")
	}
	build := func(b []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"GetConfig", build(buildGetConfig()), string(recorded(t, "000001", "request.body"))},
		{"GetAuthorizationCookie", build(buildGetAuthorizationCookie(recClientID, "", recDNSName)), string(recorded(t, "000002", "request.body"))},
		{"GetCookie", build(buildGetCookie(authCookie{"SimpleTargeting", recAuthData}, cookie{}, recLastChange,
			time.Date(2026, 10, 4, 15, 3, 36, 0, time.UTC))), string(recorded(t, "000003", "request.body"))},
		{"RegisterComputer", build(buildRegisterComputer(recCookie, recDNSName)), string(recorded(t, "000004", "request.body"))},
		{"SyncUpdates round 1", build(buildSyncUpdates(syncRequest{Cookie: recCookie, Server: recServer})),
			unfiltered(recorded(t, "000006", "request.body"))},
		{"SyncUpdates round 2", build(buildSyncUpdates(syncRequest{Cookie: recCookie, Server: recServer, InstalledNonLeaf: []int{108226}})),
			unfiltered(recorded(t, "000007", "request.body"))},
		{"SyncUpdates round 3", build(buildSyncUpdates(syncRequest{Cookie: recCookie, Server: recServer, InstalledNonLeaf: []int{108226, 108231}})),
			unfiltered(recorded(t, "000008", "request.body"))},
		{"SyncUpdates driver pass", build(buildSyncUpdates(syncRequest{Driver: true, Cookie: recCookie, Server: recServer, InstalledNonLeaf: []int{108226, 108231}})),
			unfiltered(recorded(t, "000009", "request.body"))},
		{"GetExtendedUpdateInfo", build(buildGetExtendedUpdateInfo(recCookie, []int{72571, 108226, 108231}, recServer)),
			string(recorded(t, "000010", "request.body"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("built body differs from the recording\n got: %s\nwant: %s", tt.got, tt.want)
			}
		})
	}
}

// parseOp parses a built request and returns its operation element.
func parseOp(t *testing.T, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("built body is not XML: %v", err)
	}
	return firstChildElement(path(doc.Root(), "Body"))
}

func childTags(e *etree.Element) string {
	var tags []string
	for _, c := range e.ChildElements() {
		tags = append(tags, c.Tag)
	}
	return strings.Join(tags, ",")
}

func TestBuildSubstitutesValues(t *testing.T) {
	c := cookie{Expiration: "2030-01-01T00:00:00Z", EncryptedData: "Q29va2ll"}

	b, err := buildGetAuthorizationCookie("0badc0de-0000-4000-8000-000000000001", "Ring 1;Servers", "pc1.example")
	if err != nil {
		t.Fatal(err)
	}
	op := parseOp(t, b)
	if got, want := childTags(op), "clientId,targetGroupName,dnsName"; got != want {
		t.Errorf("GetAuthorizationCookie children %s, want %s", got, want)
	}
	if op.NamespaceURI() != nsSimpleAuth || childText(op, "targetGroupName") != "Ring 1;Servers" ||
		childText(op, "clientId") != "0badc0de-0000-4000-8000-000000000001" || childText(op, "dnsName") != "pc1.example" {
		t.Errorf("GetAuthorizationCookie values wrong: %s", b)
	}

	now := time.Date(2031, 2, 3, 4, 5, 6, 700_000_000, time.UTC)
	b, err = buildGetCookie(authCookie{"SimpleTargeting", "YXV0aA=="}, c, "2030-05-05T05:05:05.5Z", now)
	if err != nil {
		t.Fatal(err)
	}
	op = parseOp(t, b)
	if got := childTags(child(op, "oldCookie")); got != "Expiration,EncryptedData" {
		t.Errorf("oldCookie children %s", got)
	}
	for tag, want := range map[string]string{"lastChange": "2030-05-05T05:05:05.5Z", "currentTime": "2031-02-03T04:05:06Z", "protocolVersion": "2.90"} {
		if got := childText(op, tag); got != want {
			t.Errorf("GetCookie %s = %q, want %q", tag, got, want)
		}
	}
	if got := childText(path(op, "authCookies", "AuthorizationCookie"), "CookieData"); got != "YXV0aA==" {
		t.Errorf("CookieData %q", got)
	}
	if got := childText(child(op, "oldCookie"), "EncryptedData"); got != "Q29va2ll" {
		t.Errorf("oldCookie EncryptedData %q", got)
	}

	b, err = buildSyncUpdates(syncRequest{Cookie: c, Server: "http://wsus.test:8530", InstalledNonLeaf: []int{1, 2}, OtherCached: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	op = parseOp(t, b)
	params := child(op, "parameters")
	if got, want := childTags(params), "ExpressQuery,InstalledNonLeafUpdateIDs,OtherCachedUpdateIDs,SkipSoftwareSync,AlsoPerformRegularSync,ComputerSpec,ProductsParameters"; got != want {
		t.Errorf("software parameters %s\nwant %s", got, want)
	}
	if !strings.Contains(string(b), "<InstalledNonLeafUpdateIDs><int>1</int><int>2</int></InstalledNonLeafUpdateIDs><OtherCachedUpdateIDs><int>3</int></OtherCachedUpdateIDs>") {
		t.Errorf("id arrays wrong: %s", b)
	}
	if !strings.Contains(childText(path(params, "ProductsParameters"), "DeviceAttributes"), ";UpdateServiceUrl=http://wsus.test:8530;") {
		t.Error("DeviceAttributes UpdateServiceUrl not substituted")
	}
	if childText(child(op, "cookie"), "EncryptedData") != "Q29va2ll" {
		t.Error("cookie not substituted")
	}
	for _, e := range params.ChildElements() {
		if e.NamespaceURI() != nsClient {
			t.Errorf("%s in namespace %q", e.Tag, e.NamespaceURI())
		}
	}

	b, err = buildSyncUpdates(syncRequest{Driver: true, Cookie: c, CachedDrivers: []int{9}})
	if err != nil {
		t.Fatal(err)
	}
	params = child(parseOp(t, b), "parameters")
	if got, want := childTags(params), "ExpressQuery,SystemSpec,CachedDriverIDs,SkipSoftwareSync,AlsoPerformRegularSync,ComputerSpec,FeatureScoreMatchingKey,ProductsParameters"; got != want {
		t.Errorf("driver parameters %s\nwant %s", got, want)
	}
	if childText(params, "SkipSoftwareSync") != "true" || len(children(child(params, "SystemSpec"), "Device")) == 0 {
		t.Error("driver pass lost SkipSoftwareSync=true or the recorded devices")
	}
}

func TestBuildReportEventBatch(t *testing.T) {
	at := time.Date(2031, 1, 2, 3, 4, 5, 60_000_000, time.UTC)
	b, n, err := buildReportEventBatch(eventBatch{
		Cookie:   cookie{Expiration: "E", EncryptedData: "D"},
		ClientID: "0badc0de-0000-4000-8000-000000000001",
		Time:     at,
		Offered:  []string{"a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", "1594B429-A8C5-4B0D-AC86-79B0A826A847"},
		Downloaded: []reportedUpdate{
			{UpdateID: "0daf8592-9e3f-4a8a-9141-d83fafebd09f", RevisionNumber: 200, Title: "MpSigStub", Bytes: 918944},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("events = %d, want 3", n)
	}
	op := parseOp(t, b)
	if op.Tag != "ReportEventBatch" || op.NamespaceURI() != nsReporting {
		t.Fatalf("operation {%s}%s", op.NamespaceURI(), op.Tag)
	}
	if got := childText(op, "clientTime"); got != "2031-01-02T03:04:05.06Z" {
		t.Errorf("clientTime %q", got)
	}
	events := children(child(op, "eventBatch"), "ReportingEvent")
	if len(events) != 3 {
		t.Fatalf("%d events", len(events))
	}
	misc := func(ev *etree.Element) []string {
		var out []string
		for _, s := range children(path(ev, "ExtendedData", "MiscData"), "string") {
			out = append(out, s.Text())
		}
		return out
	}
	seen := map[string]bool{}
	for i, ev := range events {
		bd := child(ev, "BasicData")
		if got := childText(child(bd, "TargetID"), "Sid"); got != "0badc0de-0000-4000-8000-000000000001" {
			t.Errorf("event %d Sid %q", i, got)
		}
		if got := childText(bd, "TimeAtTarget"); got != "2031-01-02T03:04:05.06Z" {
			t.Errorf("event %d TimeAtTarget %q", i, got)
		}
		id := childText(bd, "EventInstanceID")
		if !isGUID(id) || seen[id] || strings.Contains(string(readFile(t, "../testdata/clientsim/flow/000017-request.body")), id) {
			t.Errorf("event %d EventInstanceID %q not fresh", i, id)
		}
		seen[id] = true
	}
	// 147: count of offered updates.
	bd := child(events[0], "BasicData")
	if childText(bd, "EventID") != "147" || childText(path(events[0], "ExtendedData", "ReplacementStrings"), "string") != "2" {
		t.Errorf("147 wrong: %v", childTags(bd))
	}
	// 156: U= upper-case list, then V= empty, in the recorded position (after T=).
	if childText(child(events[1], "BasicData"), "EventID") != "156" {
		t.Error("second event is not 156")
	}
	m := strings.Join(misc(events[1]), "|")
	if !strings.Contains(m, "|T=EDK II|U=A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE;1594B429-A8C5-4B0D-AC86-79B0A826A847|V=|AppName=") {
		t.Errorf("156 MiscData %s", m)
	}
	// 162 for the downloaded update.
	bd = child(events[2], "BasicData")
	if childText(bd, "EventID") != "162" || childText(bd, "Win32HResult") != "0" ||
		childText(child(bd, "UpdateID"), "UpdateID") != "0daf8592-9e3f-4a8a-9141-d83fafebd09f" ||
		childText(child(bd, "UpdateID"), "RevisionNumber") != "200" {
		t.Errorf("162 BasicData wrong")
	}
	if got := childText(path(events[2], "ExtendedData", "ReplacementStrings"), "string"); got != "MpSigStub" {
		t.Errorf("162 title %q", got)
	}
	m = strings.Join(misc(events[2]), "|")
	if !strings.HasPrefix(m, "B=918944|G=1507.2601.30012.0|") || !strings.Contains(m, "|Q=1|") {
		t.Errorf("162 MiscData %s", m)
	}

	// No offered updates: the 156 carries no U= (as recorded natively) but V=.
	b, _, err = buildReportEventBatch(eventBatch{Cookie: cookie{"E", "D"}, ClientID: recClientID, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	ev := children(child(parseOp(t, b), "eventBatch"), "ReportingEvent")
	if len(ev) != 2 || !strings.Contains(strings.Join(misc(ev[1]), "|"), "|T=EDK II|V=|AppName=") {
		t.Errorf("empty report wrong: %s", b)
	}
}

func TestNewGUID(t *testing.T) {
	a, b := newGUID(), newGUID()
	if !isGUID(a) || a == b || a[14] != '4' || a != strings.ToLower(a) {
		t.Errorf("newGUID %q %q", a, b)
	}
}
