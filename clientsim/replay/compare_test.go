package replay

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testdata = "../../testdata/clientsim"

func body(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit applies old→new replacements to s, failing when one does not apply.
func edit(t *testing.T, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("edit: %q not in body", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

const (
	syncResult = "/Envelope/Body/SyncUpdatesResponse/SyncUpdatesResult"
	updateInfo = syncResult + "/NewUpdates/UpdateInfo"
)

func TestCompare(t *testing.T) {
	sync := body(t, "scan/000007/response.body")
	config := body(t, "scan/000001/response.body")
	geui := body(t, "flow/000015-response.body")
	fault := body(t, "flow/m0-000141-fault-response.body")
	auth := body(t, "scan/000002/response.body")

	tests := []struct {
		name             string
		expected, actual string
		want             []Difference
	}{
		{"identical SyncUpdates", sync, sync, nil},
		{"identical GetConfig", config, config, nil},
		{"identical GetExtendedUpdateInfo", geui, geui, nil},
		{"identical fault", fault, fault, nil},

		// Structure.
		{"renamed element", sync, edit(t, sync, "<IsLeaf>false</IsLeaf>", "<IsLeaves>false</IsLeaves>"),
			[]Difference{{updateInfo + "/IsLeaf", "expected element IsLeaf, got IsLeaves"}}},
		{"reordered children", sync, edit(t, sync, "<Truncated>false</Truncated><NewCookie>", "<NewCookie>",
			"</NewCookie><DriverSyncNotNeeded>", "</NewCookie><Truncated>false</Truncated><DriverSyncNotNeeded>"),
			[]Difference{
				{syncResult + "/Truncated", "missing element Truncated"},
				{syncResult + "/Truncated", "unexpected element Truncated"},
			}},
		{"extra element", sync, edit(t, sync, "<Truncated>", "<OutOfScopeRevisionIDs><int>1</int></OutOfScopeRevisionIDs><Truncated>"),
			[]Difference{{syncResult + "/OutOfScopeRevisionIDs", "unexpected element OutOfScopeRevisionIDs"}}},
		{"missing element", sync, edit(t, sync, "<DriverSyncNotNeeded>true</DriverSyncNotNeeded>", ""),
			[]Difference{{syncResult + "/DriverSyncNotNeeded", "missing element DriverSyncNotNeeded"}}},
		{"missing element among repeated siblings", config, edit(t, config, "<ConfigurationProperty><Name>IsInventoryRequired</Name><Value>0</Value></ConfigurationProperty>", ""),
			[]Difference{{"/Envelope/Body/GetConfigResponse/GetConfigResult/Properties/ConfigurationProperty[4]", "missing element ConfigurationProperty"}}},
		{"empty array emitted", sync, edit(t, sync, "<Truncated>", "<ChangedUpdates/><Truncated>"),
			[]Difference{{syncResult + "/ChangedUpdates", "unexpected element ChangedUpdates"}}},
		{"wrong namespace", sync, edit(t, sync, `<SyncUpdatesResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService">`,
			`<SyncUpdatesResponse xmlns="http://www.microsoft.com/SoftwareDistribution">`),
			[]Difference{{"/Envelope/Body/SyncUpdatesResponse",
				"expected element {http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService}SyncUpdatesResponse, got {http://www.microsoft.com/SoftwareDistribution}SyncUpdatesResponse"}}},
		{"other prefix, same namespace", sync, edit(t, sync, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body`,
			`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body`, "</s:Body></s:Envelope>", "</soap:Body></soap:Envelope>"), nil},
		{"namespace declared elsewhere", auth, edit(t, auth, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>`,
			`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`), nil},
		{"fault instead of answer", sync, fault,
			[]Difference{{"/Envelope/Body/SyncUpdatesResponse", "expected element SyncUpdatesResponse, got Fault"}}},
		{"answer instead of fault", fault, sync,
			[]Difference{{"/Envelope/Body/Fault", "expected element Fault, got SyncUpdatesResponse"}}},
		{"attribute added", sync, edit(t, sync, "<Truncated>", `<Truncated xsi:nil="false">`),
			[]Difference{{syncResult + "/Truncated", `unexpected attribute {http://www.w3.org/2001/XMLSchema-instance}nil="false"`}}},

		// Values that are compared.
		{"changed IsLeaf", sync, edit(t, sync, "<IsLeaf>false</IsLeaf>", "<IsLeaf>true</IsLeaf>"),
			[]Difference{{updateInfo + "/IsLeaf", `expected "false", got "true"`}}},
		{"changed Action", sync, edit(t, sync, "<Action>Evaluate</Action>", "<Action>Install</Action>"),
			[]Difference{{updateInfo + "/Deployment/Action", `expected "Evaluate", got "Install"`}}},
		{"changed Xml fragment", sync, edit(t, sync, `RevisionNumber="100"`, `RevisionNumber="101"`),
			[]Difference{{updateInfo + "/Xml", `expected …"B4346A8E1D\" RevisionNumber=\"100\" /><Properties UpdateType=\"C"…, got …"B4346A8E1D\" RevisionNumber=\"101\" /><Properties UpdateType=\"C"… (first difference at byte 82)`}}},
		{"Xml fragment escaped differently", sync, edit(t, sync, "&lt;Properties", "&#60;Properties", "/&gt;&lt;Relationships&gt;", "/>&lt;Relationships>"), nil},
		{"changed fault ErrorCode", fault, edit(t, fault, "<ErrorCode>InvalidParameters</ErrorCode>", "<ErrorCode>InvalidParameter</ErrorCode>"),
			[]Difference{{"/Envelope/Body/Fault/detail/ErrorCode", `expected "InvalidParameters", got "InvalidParameter"`}}},
		{"changed config property", config, edit(t, config, "<Value>3.2</Value>", "<Value>3.1</Value>"),
			[]Difference{{"/Envelope/Body/GetConfigResponse/GetConfigResult/Properties/ConfigurationProperty[3]/Value", `expected "3.2", got "3.1"`}}},
		{"changed URL path", geui, edit(t, geui, "/Content/49/A379D5526FB3A7A0423DA1CD7FC3182A8D448449.exe", "/Content/49/a379d5526fb3a7a0423da1cd7fc3182a8d448449.exe"),
			[]Difference{{"/Envelope/Body/GetExtendedUpdateInfoResponse/GetExtendedUpdateInfoResult/FileLocations/FileLocation[1]/Url",
				`URL path: expected "Content/49/A379D5526FB3A7A0423DA1CD7FC3182A8D448449.exe", got "Content/49/a379d5526fb3a7a0423da1cd7fc3182a8d448449.exe"`}}},
		{"changed FileDigest", geui, edit(t, geui, "<FileDigest>o3nVUm+zp6BCPaHNf8MYKo1EhEk=</FileDigest>", "<FileDigest>o3nVUm+zp6BCPaHNf8MYKo1EhEA=</FileDigest>"),
			[]Difference{{"/Envelope/Body/GetExtendedUpdateInfoResponse/GetExtendedUpdateInfoResult/FileLocations/FileLocation[1]/FileDigest",
				`expected "o3nVUm+zp6BCPaHNf8MYKo1EhEk=", got "o3nVUm+zp6BCPaHNf8MYKo1EhEA="`}}},

		// Values that legitimately differ.
		{"other cookie", sync, edit(t, sync, "<Expiration>2026-10-04T16:03:35.9967236Z</Expiration><EncryptedData>AAAA", "<Expiration>2031-01-01T00:00:00Z</Expiration><EncryptedData>QkJC"), nil},
		{"other ids and dates", sync, edit(t, sync, "<ID>108231</ID>", "<ID>5</ID>", "<ID>8069</ID>", "<ID>6</ID>", "<LastChangeTime>2026-10-04</LastChangeTime>", "<LastChangeTime>2031-02-02</LastChangeTime>"), nil},
		{"other LastChange and share", config, edit(t, config, "2026-10-04T13:17:07.59Z", "2031-01-01T00:00:00Z", `\\REDACTED2\UpdateServicesPackages`, `\\wsusd\UpdateServicesPackages`), nil},
		{"other URL host", geui, edit(t, geui, "http://192.0.2.1:8530/Content/49/", "https://wsus.example:8531/Content/49/"), nil},
		{"other fault id and message", fault, edit(t, fault, "81418b4e-82c1-48d0-9504-da01db6148ae", "00000000-0000-0000-0000-000000000001", "parameters.InstalledNonLeafUpdateIDs", "too many ids"), nil},
		{"other auth cookie", auth, edit(t, auth, "<CookieData>AAAA", "<CookieData>QUJD"), nil},
		{"unmapped revision id in list", sync, edit(t, sync, "<Truncated>", "<OutOfScopeRevisionIDs><int>1</int></OutOfScopeRevisionIDs><Truncated>"),
			[]Difference{{syncResult + "/OutOfScopeRevisionIDs", "unexpected element OutOfScopeRevisionIDs"}}},

		// Bad input.
		{"actual not XML", sync, "<html>", []Difference{{"/", "actual body: not XML: XML syntax error on line 1: unexpected EOF"}}},
		{"actual empty", sync, "", []Difference{{"/", "actual body: not XML: EOF"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare([]byte(tt.expected), []byte(tt.actual))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Compare\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCompareRevisionMapping(t *testing.T) {
	rec := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SyncUpdatesResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"><SyncUpdatesResult><OutOfScopeRevisionIDs><int>108226</int><int>777</int></OutOfScopeRevisionIDs><Truncated>false</Truncated></SyncUpdatesResult></SyncUpdatesResponse></s:Body></s:Envelope>`
	c := Comparer{RevisionIDs: map[int]int{108226: 4}}
	tests := []struct {
		name, actual string
		want         []Difference
	}{
		{"mapped", strings.Replace(rec, "<int>108226</int><int>777</int>", "<int>4</int><int>9</int>", 1), nil},
		{"wrong mapped id", strings.Replace(rec, "<int>108226</int>", "<int>5</int>", 1),
			[]Difference{{syncResult + "/OutOfScopeRevisionIDs/int[1]", "expected revision 4 (recorded 108226), got 5"}}},
		{"missing id", strings.Replace(rec, "<int>108226</int><int>777</int>", "<int>4</int>", 1),
			[]Difference{{syncResult + "/OutOfScopeRevisionIDs/int[2]", "missing element int"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Compare([]byte(rec), []byte(tt.actual)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCompareLargeListsStayLinear(t *testing.T) {
	// 3000 UpdateInfo entries with one dropped in the middle: beyond the LCS
	// budget after prefix/suffix trimming it is still one clear difference.
	one := "<UpdateInfo><ID>1</ID><IsLeaf>true</IsLeaf></UpdateInfo>"
	wrap := func(n int, drop int) string {
		var b strings.Builder
		b.WriteString(`<Envelope><Body><R><NewUpdates>`)
		for i := range n {
			if i != drop {
				b.WriteString(one)
			}
		}
		b.WriteString(`</NewUpdates></R></Body></Envelope>`)
		return b.String()
	}
	got := Compare([]byte(wrap(3000, -1)), []byte(wrap(3000, 1500)))
	want := []Difference{{"/Envelope/Body/R/NewUpdates/UpdateInfo[3000]", "missing element UpdateInfo"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func BenchmarkCompareGetExtendedUpdateInfo(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testdata, "flow/000015-response.body"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if d := Compare(data, data); d != nil {
			b.Fatal(d)
		}
	}
}
