package wusp_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/soap"
)

// realRegistration is the RegisterComputer of the native client (capture
// scan/000004, a copy of shared/protocol/captures/wsus-rs/wsus-m0-native).
const realRegistration = "../../testdata/clientsim/scan/000004"

// registrationBody is the captured RegisterComputer with cookieXML for its
// cookie, edited by edit when not nil.
func registrationBody(t testing.TB, cookieXML string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(realRegistration, "request.body"))
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

// postOp posts a whole client web service request with op's SOAPAction and
// returns the status and body.
func (e *env) postOp(op, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+clientPath, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+soap.NSClient+"/"+op+`"`)
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

// TestRegisterComputerRealRequest: every element of the real computerInfo
// is stored, under the WSDL's names.
func TestRegisterComputerRealRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.authorize("")
	status, body := e.postOp("RegisterComputer", registrationBody(t, ck, nil))
	if status != 200 || !strings.Contains(body, "<RegisterComputerResponse") {
		t.Fatalf("HTTP %d:\n%s", status, body)
	}
	c, err := e.store.Computer(context.Background(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	want := &catalog.ComputerInfo{
		DnsName: "REDACTED3", OSMajorVersion: 10, OSMinorVersion: 0, OSBuildNumber: 26200,
		OSServicePackMajorNumber: 0, OSServicePackMinorNumber: 0, OSLocale: "en-US",
		ComputerManufacturer: "QEMU", ComputerModel: "Standard PC (Q35 + ICH9, 2009)",
		BiosVersion: "unknown", BiosName: "unknown", BiosReleaseDate: time.Date(2022, 2, 2, 0, 0, 0, 0, time.UTC),
		ProcessorArchitecture: "AMD64", SuiteMask: 256, OldProductType: 1, NewProductType: 48, SystemMetrics: 0,
		ClientVersionMajorNumber: 1507, ClientVersionMinorNumber: 2601, ClientVersionBuildNumber: 30012,
		ClientVersionQfeNumber: 0, OSDescription: "Windows 10 Pro", OEM: "QEMU",
		DeviceType: "Standard PC (Q35 + ICH9, 2009)", FirmwareVersion: "unknown", MobileOperator: "Not Present",
	}
	if !reflect.DeepEqual(c.Info, want) {
		t.Errorf("Info\n got %+v\nwant %+v", c.Info, want)
	}
	// The columns of before are still filled from it.
	if !c.Registered || c.DNSName != "REDACTED3" || c.OSBuild != 26200 || c.Manufacturer != "QEMU" ||
		c.Architecture != "AMD64" || c.ClientVersion != "1507.2601.30012.0" || c.OSDescription != "Windows 10 Pro" {
		t.Errorf("computer %+v", c)
	}
}

// TestRegisterComputerBadValues: a value not of its WSDL type, or a string
// over MaxComputerInfoText, is InvalidParameters naming the element, and
// nothing is stored.
func TestRegisterComputerBadValues(t *testing.T) {
	e := newEnv(t, envOptions{})
	long := strings.Repeat("x", 1025)
	tests := []struct {
		name, from, to, param string
	}{
		{"short overflow", "<SuiteMask>256</SuiteMask>", "<SuiteMask>32768</SuiteMask>", "computerInfo.SuiteMask"},
		{"unsignedByte overflow", "<OldProductType>1</OldProductType>", "<OldProductType>256</OldProductType>", "computerInfo.OldProductType"},
		{"negative unsignedByte", "<OldProductType>1</OldProductType>", "<OldProductType>-1</OldProductType>", "computerInfo.OldProductType"},
		{"service pack not a number", "<OSServicePackMajorNumber>0</OSServicePackMajorNumber>", "<OSServicePackMajorNumber>SP1</OSServicePackMajorNumber>", "computerInfo.OSServicePackMajorNumber"},
		{"client version overflow", "<ClientVersionBuildNumber>30012</ClientVersionBuildNumber>", "<ClientVersionBuildNumber>70000</ClientVersionBuildNumber>", "computerInfo.ClientVersionBuildNumber"},
		{"BIOS date not a dateTime", "<BiosReleaseDate>2022-02-02T00:00:00Z</BiosReleaseDate>", "<BiosReleaseDate>02/02/2022</BiosReleaseDate>", "computerInfo.BiosReleaseDate"},
		{"long OEM", "<OEM>QEMU</OEM>", "<OEM>" + long + "</OEM>", "computerInfo.OEM"},
		{"long firmware version", "<FirmwareVersion>unknown</FirmwareVersion>", "<FirmwareVersion>" + long + "</FirmwareVersion>", "computerInfo.FirmwareVersion"},
		{"no DNS name", "<DnsName>REDACTED3</DnsName>", "", "computerInfo.DnsName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clientID, ck := e.authorize("")
			body := registrationBody(t, ck, func(b string) string {
				if !strings.Contains(b, tt.from) {
					t.Fatalf("capture has no %s", tt.from)
				}
				return strings.Replace(b, tt.from, tt.to, 1)
			})
			status, resp := e.postOp("RegisterComputer", body)
			if status != 500 || !strings.Contains(resp, "<ErrorCode>InvalidParameters</ErrorCode>") ||
				!strings.Contains(resp, tt.param) {
				t.Fatalf("HTTP %d, want InvalidParameters naming %s:\n%s", status, tt.param, resp)
			}
			c, err := e.store.Computer(context.Background(), clientID)
			if err != nil || c.Registered || c.Info != nil {
				t.Errorf("computer after a refused registration: %+v, %v", c, err)
			}
		})
	}
}

// TestDriverPassStoresHardware: the real driver pass's SystemSpec,
// ComputerSpec and FeatureScoreMatchingKey are stored; the same pass again
// writes nothing, a changed one replaces them; an overlong hardware ID is
// InvalidParameters.
func TestDriverPassStoresHardware(t *testing.T) {
	e := newEnv(t, envOptions{})
	clientID, ck := e.login("")
	hardware := func() *catalog.HardwareInventory {
		t.Helper()
		c, err := e.store.Computer(context.Background(), clientID)
		if err != nil {
			t.Fatal(err)
		}
		return c.Hardware
	}
	if status, body := e.postRaw(driverPassBody(t, ck, nil)); status != 200 {
		t.Fatalf("HTTP %d:\n%s", status, body)
	}
	h := hardware()
	if h == nil {
		t.Fatal("no hardware stored after the driver pass")
	}
	first := h.ReportedAt
	if !first.Equal(e.clock.now()) {
		t.Errorf("ReportedAt %v, want %v", first, e.clock.now())
	}
	chids := []uuid.UUID{
		uuid.MustParse("458ab48b-acb9-5863-b5a8-d2c32f0d3e6f"), uuid.MustParse("de134db0-4b4a-51d6-98c5-f62916e550a7"),
		uuid.MustParse("0005a67e-b5cb-59d5-b9fd-be410637d24e"), uuid.MustParse("817fca52-ae83-52f5-8642-9497f79d49d0"),
		uuid.MustParse("3673e5af-4b17-57f3-b9a4-7de906abf68b"), uuid.MustParse("3486fece-d7a3-58e0-a818-dd3796662b51"),
	}
	if !reflect.DeepEqual(h.ComputerHardwareIDs, chids) || h.FeatureScoreMatchingKey != "AMD64.10.0" ||
		h.DeviceCount != 70 || len(h.Devices) != 70 {
		t.Errorf("hardware: CHIDs %v, key %q, %d devices of %d", h.ComputerHardwareIDs, h.FeatureScoreMatchingKey,
			len(h.Devices), h.DeviceCount)
	}
	wantFirst := catalog.InventoryDevice{
		HardwareIDs: []string{"{6d170653-5280-44c2-ba44-2c04bc9d46da}"},
		InstalledDriver: &catalog.InventoryDriver{
			MatchingID: "{6d170653-5280-44c2-ba44-2c04bc9d46da}", DriverVerDate: time.Date(2006, 6, 21, 0, 0, 0, 0, time.UTC),
			DriverVerVersion: 2814751477604196, Class: "Printer", Manufacturer: "Microsoft", Provider: "Microsoft",
			Model: "Universal Print Class Driver", DriverRank: -1,
		},
	}
	if len(h.Devices) > 0 && !reflect.DeepEqual(h.Devices[0], wantFirst) {
		t.Errorf("first device\n got %+v\nwant %+v", h.Devices[0], wantFirst)
	}

	e.clock.advance(time.Hour)
	if status, body := e.postRaw(driverPassBody(t, ck, nil)); status != 200 {
		t.Fatalf("HTTP %d:\n%s", status, body)
	}
	if got := hardware().ReportedAt; !got.Equal(first) {
		t.Errorf("the same hardware again was written (ReportedAt %v, want %v)", got, first)
	}
	changed := func(b string) string {
		return strings.Replace(b, "<FeatureScoreMatchingKey>AMD64.10.0<", "<FeatureScoreMatchingKey>AMD64.10.1<", 1)
	}
	if status, body := e.postRaw(driverPassBody(t, ck, changed)); status != 200 {
		t.Fatalf("HTTP %d:\n%s", status, body)
	}
	if h := hardware(); h.FeatureScoreMatchingKey != "AMD64.10.1" || !h.ReportedAt.Equal(e.clock.now()) {
		t.Errorf("changed hardware: key %q reported %v", h.FeatureScoreMatchingKey, h.ReportedAt)
	}

	for _, tt := range []struct{ name, from, to, param string }{
		{"long hardware ID", "<string>{6d170653-5280-44c2-ba44-2c04bc9d46da}</string>",
			"<string>" + strings.Repeat("A", 1025) + "</string>", "parameters.SystemSpec"},
		{"long provider", "<Provider>Microsoft</Provider>", "<Provider>" + strings.Repeat("A", 1025) + "</Provider>", "parameters.SystemSpec"},
		{"long feature score key", "<FeatureScoreMatchingKey>AMD64.10.0<",
			"<FeatureScoreMatchingKey>" + strings.Repeat("A", 1025) + "<", "parameters.FeatureScoreMatchingKey"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, resp := e.postRaw(driverPassBody(t, ck, func(b string) string {
				if !strings.Contains(b, tt.from) {
					t.Fatalf("capture has no %s", tt.from)
				}
				return strings.Replace(b, tt.from, tt.to, 1)
			}))
			if status != 500 || !strings.Contains(resp, "<ErrorCode>InvalidParameters</ErrorCode>") || !strings.Contains(resp, tt.param) {
				t.Fatalf("HTTP %d, want InvalidParameters naming %s:\n%s", status, tt.param, resp)
			}
		})
	}
}

// printerCatalogBody is a SyncPrinterCatalog with the given cookie and
// cached printer driver revisions.
func printerCatalogBody(cookieXML string, cached ...int32) string {
	return wrap(soap.NSClient, "SyncPrinterCatalog", cookieXML+ints("printerUpdateIDs", cached))
}

// printerResult returns the children of SyncPrinterCatalogResult, by name,
// and the XML from its start to NewCookie.
func printerResult(t *testing.T, body string) (names []string, head string) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, body)
	}
	res := doc.FindElement("//SyncPrinterCatalogResult")
	if res == nil {
		t.Fatalf("no SyncPrinterCatalogResult:\n%s", body)
	}
	for _, c := range res.ChildElements() {
		names = append(names, c.Tag)
	}
	return names, between(t, body, "<SyncPrinterCatalogResult>", "<NewCookie>")
}

// TestSyncPrinterCatalogDelivers: SyncPrinterCatalog delivers the approved
// printer driver ([MS-WUSP] 3.1.5.12) with its deployment and Core
// fragment, without HardwareIds, DriverSyncNotNeeded false and gated by
// protocol; once the client's driver pass reported its installed Microsoft
// printer on the driver's hardware ID, the driver (of another
// manufacturer) is no longer offered; a cached printer driver is not sent
// again and one no longer deployed is out of scope; an unregistered client
// gets RegistrationRequired.
func TestSyncPrinterCatalogDelivers(t *testing.T) {
	e := newEnv(t, envOptions{})
	approvals := e.importDrivers(idVirtioNet, idDisplay, idPrinter)
	clientID, ck := e.login("")
	printerID := e.ids[idPrinter]

	for _, protocol := range []string{"2.90", "1.6", "1.5"} {
		t.Run("offered, protocol "+protocol, func(t *testing.T) {
			status, body := e.postOp("SyncPrinterCatalog", printerCatalogBody(e.sealedCookie(clientID, protocol)))
			if status != 200 {
				t.Fatalf("HTTP %d:\n%s", status, body)
			}
			names, head := printerResult(t, body)
			want := []string{"NewUpdates", "Truncated", "NewCookie", "DriverSyncNotNeeded"}
			if !atLeast(protocol, "1.7") {
				want = want[:3]
			}
			if !slices.Equal(names, want) {
				t.Errorf("children %v, want %v", names, want)
			}
			info := strings.Replace(e.expectedInfo(idPrinter, approvals[idPrinter], protocol), "<HardwareIds></HardwareIds>", "", 1)
			if wantHead := "<SyncPrinterCatalogResult><NewUpdates>" + info + "</NewUpdates><Truncated>false</Truncated><NewCookie>"; head != wantHead {
				t.Errorf("answer\n got %s\nwant %s", head, wantHead)
			}
			if atLeast(protocol, "1.7") && !strings.Contains(body, "</NewCookie><DriverSyncNotNeeded>false</DriverSyncNotNeeded></SyncPrinterCatalogResult>") {
				t.Errorf("no DriverSyncNotNeeded false after NewCookie:\n%s", body)
			}
		})
	}

	t.Run("cached, and cached but not deployed", func(t *testing.T) {
		status, body := e.postOp("SyncPrinterCatalog", printerCatalogBody(ck, printerID, 424242))
		if status != 200 {
			t.Fatalf("HTTP %d:\n%s", status, body)
		}
		names, head := printerResult(t, body)
		if !slices.Equal(names, []string{"OutOfScopeRevisionIDs", "Truncated", "NewCookie", "DriverSyncNotNeeded"}) {
			t.Errorf("children %v", names)
		}
		if want := "<SyncPrinterCatalogResult><OutOfScopeRevisionIDs><int>424242</int></OutOfScopeRevisionIDs><Truncated>false</Truncated><NewCookie>"; head != want {
			t.Errorf("answer\n got %s\nwant %s", head, want)
		}
	})

	t.Run("installed printer of another manufacturer", func(t *testing.T) {
		if status, body := e.postRaw(driverPassBody(t, ck, nil)); status != 200 {
			t.Fatalf("driver pass: HTTP %d:\n%s", status, body)
		}
		status, body := e.postOp("SyncPrinterCatalog", printerCatalogBody(ck))
		if status != 200 {
			t.Fatalf("HTTP %d:\n%s", status, body)
		}
		names, head := printerResult(t, body)
		if !slices.Equal(names, []string{"Truncated", "NewCookie", "DriverSyncNotNeeded"}) ||
			head != "<SyncPrinterCatalogResult><Truncated>false</Truncated><NewCookie>" {
			t.Errorf("children %v, answer %s", names, head)
		}
	})

	t.Run("unregistered", func(t *testing.T) {
		_, ck := e.authorize("")
		status, body := e.postOp("SyncPrinterCatalog", printerCatalogBody(ck))
		if status != 500 || !strings.Contains(body, "<ErrorCode>RegistrationRequired</ErrorCode>") {
			t.Errorf("HTTP %d, want RegistrationRequired:\n%s", status, body)
		}
	})
}
