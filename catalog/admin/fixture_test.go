package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

const testToken = "s3cret-admin-token"

// The catalog of every test: one software update in two revisions, a driver,
// a category and a detectoid.
var (
	softwareID  = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	driverID    = uuid.MustParse("22222222-2222-4222-8222-222222222222")
	categoryID  = uuid.MustParse("33333333-3333-4333-8333-333333333333")
	detectoidID = uuid.MustParse("44444444-4444-4444-8444-444444444444")
	pilotID     = uuid.MustParse("55555555-5555-4555-8555-555555555555")
	unknownID   = uuid.MustParse("99999999-9999-4999-8999-999999999999")
)

// Computers of every test.
const (
	clientA = "0f6a2b4c-0000-4000-8000-00000000000a" // registered, reported
	clientB = "0f6a2b4c-0000-4000-8000-00000000000b" // only authorized
)

var (
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
	t2 = time.Date(2026, 3, 1, 10, 10, 0, 0, time.UTC)
)

// fixture is a real sqlite store on a real file behind the admin handler on a
// real listener.
type fixture struct {
	t     *testing.T
	path  string
	store catalog.Store
	srv   *httptest.Server
	log   *syncBuffer
	// revision IDs the store assigned, by name.
	rev map[string]int32
}

// syncBuffer is a log sink safe for the server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWithToken(t, testToken)
}

func newFixtureWithToken(t *testing.T, token string) *fixture {
	t.Helper()
	return newFixtureOn(t, "sqlite", token)
}

// engines are the stores newFixtureOn opens.
var engines = []string{"sqlite", "postgres"}

// newFixtureOn is newFixtureWithToken on the engine named ("sqlite", the
// embedded store on a file; "postgres", a database of internal/testpg,
// skipped when PostgreSQL is not installed).
func newFixtureOn(t *testing.T, engine, token string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "catalog.db"), log: &syncBuffer{}, rev: map[string]int32{}}
	var store catalog.Store
	var err error
	switch engine {
	case "sqlite":
		store, err = sqlite.Open(ctx, f.path)
	case "postgres":
		store, err = postgres.Open(ctx, testpg.URL(t))
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	f.store = store
	t.Cleanup(func() { f.store.Close() })
	f.populate(ctx)
	logger := slog.New(slog.NewTextHandler(f.log, nil))
	// The API's own tests send many wrong tokens from one address; the
	// limiter has its tests in authlimit_test.go.
	f.srv = httptest.NewServer(admin.NewWith(store, admin.Options{Token: token, Logger: logger, FailureLimit: 1 << 20}))
	t.Cleanup(f.srv.Close)
	return f
}

func revision(id uuid.UUID, rev int32, typ catalog.UpdateType, title string) *catalog.Revision {
	return &catalog.Revision{
		Identity:         catalog.Identity{UpdateID: id, RevisionNumber: rev},
		Type:             typ,
		Title:            title,
		Description:      title + ".",
		PublicationState: "Published",
		CreationDate:     t0,
		CoreXML:          `<UpdateIdentity UpdateID="` + id.String() + `" />`,
		SourceXML:        `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`,
		Localized:        map[string]string{"en": "<LocalizedProperties><Language>en</Language><Title>" + title + "</Title></LocalizedProperties>"},
	}
}

func (f *fixture) populate(ctx context.Context) {
	t := f.t
	t.Helper()
	cat := revision(categoryID, 100, catalog.TypeCategory, "Windows 11")
	cat.CategoryType = "Product"
	det := revision(detectoidID, 200, catalog.TypeDetectoid, "Windows 11 x64 detectoid")
	sw1 := revision(softwareID, 300, catalog.TypeSoftware, "2026-03 Cumulative Update (old)")
	sw1.KBArticleID = "5050001"
	sw2 := revision(softwareID, 301, catalog.TypeSoftware, "2026-03 Cumulative Update")
	sw2.KBArticleID = "5050001"
	// The newer revision needs the detectoid and the product, so neither is
	// a leaf.
	sw2.Prerequisites = []catalog.PrerequisiteClause{
		{UpdateIDs: []uuid.UUID{detectoidID}},
		{IsCategory: true, UpdateIDs: []uuid.UUID{categoryID}},
	}
	drv := revision(driverID, 400, catalog.TypeDriver, "Contoso Net driver")
	revs := []*catalog.Revision{cat, det, sw1, sw2, drv}
	if _, err := f.store.ImportRevisions(ctx, revs); err != nil {
		t.Fatalf("import: %v", err)
	}
	for name, r := range map[string]*catalog.Revision{"category": cat, "detectoid": det, "sw1": sw1, "sw2": sw2, "driver": drv} {
		if r.ID == 0 {
			t.Fatalf("import left revision %s without an ID", name)
		}
		f.rev[name] = r.ID
	}
	if err := f.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilotID, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatalf("create group: %v", err)
	}

	if err := f.store.RecordAuthorization(ctx, clientA, "alpha.contoso.test", []string{"Pilot"}, t0); err != nil {
		t.Fatalf("authorize A: %v", err)
	}
	if err := f.store.RegisterComputer(ctx, catalog.Computer{
		ID: clientA, DNSName: "alpha.contoso.test", OSMajor: 10, OSMinor: 0, OSBuild: 26200,
		OSDescription: "Windows 11 Pro", OSLocale: "en-US", Architecture: "AMD64",
		Manufacturer: "Contoso", Model: "Virtual Machine", ClientVersion: "1183.2601.14012.0",
		Info: &catalog.ComputerInfo{
			DnsName: "alpha.contoso.test", OSMajorVersion: 10, OSBuildNumber: 26200, OSServicePackMajorNumber: 1,
			OSLocale: "en-US", ComputerManufacturer: "Contoso", ComputerModel: "Virtual Machine",
			BiosVersion: "VRTUAL - 1", BiosName: "Hyper-V UEFI", BiosReleaseDate: time.Date(2023, 4, 5, 0, 0, 0, 0, time.UTC),
			ProcessorArchitecture: "AMD64", SuiteMask: 256, OldProductType: 1, NewProductType: 48,
			ClientVersionMajorNumber: 1183, ClientVersionMinorNumber: 2601, ClientVersionBuildNumber: 14012,
			OSDescription: "Windows 11 Pro", OEM: "Contoso", DeviceType: "Virtual Machine",
			FirmwareVersion: "4.1", MobileOperator: "Not Present",
		},
	}); err != nil {
		t.Fatalf("register A: %v", err)
	}
	if err := f.store.RecordHardware(ctx, clientA, catalog.HardwareInventory{
		ReportedAt:              t1,
		ComputerHardwareIDs:     []uuid.UUID{uuid.MustParse("458ab48b-acb9-5863-b5a8-d2c32f0d3e6f")},
		FeatureScoreMatchingKey: "AMD64.10.0",
		DeviceCount:             2,
		Devices: []catalog.InventoryDevice{
			{HardwareIDs: []string{"microsoftmicrosoft_musd"}, InstalledDriver: &catalog.InventoryDriver{
				MatchingID: "microsoftmicrosoft_musd", DriverVerDate: time.Date(2006, 6, 21, 0, 0, 0, 0, time.UTC),
				DriverVerVersion: 2814751477604196, Class: "Printer", Manufacturer: "Microsoft", Provider: "Microsoft",
				Model: "Microsoft enhanced Point and Print compatibility driver", DriverRank: -1,
			}},
			{HardwareIDs: []string{`PCI\VEN_1AF4&DEV_1000`}, CompatibleIDs: []string{`PCI\CC_0200`}},
		},
	}); err != nil {
		t.Fatalf("hardware A: %v", err)
	}
	if err := f.store.RecordSync(ctx, clientA, t1); err != nil {
		t.Fatalf("sync A: %v", err)
	}
	events := []catalog.Event{
		{InstanceID: uuid.MustParse("e0000000-0000-4000-8000-000000000001"), ClientID: clientA, EventID: 183, SourceID: 1, TimeAtTarget: t1, UpdateID: softwareID, RevisionNumber: 301},
		{InstanceID: uuid.MustParse("e0000000-0000-4000-8000-000000000002"), ClientID: clientA, EventID: 147, SourceID: 1, TimeAtTarget: t1},
	}
	if _, err := f.store.StoreEvents(ctx, clientA, events, t2); err != nil {
		t.Fatalf("events A: %v", err)
	}
	statuses := []catalog.UpdateStatus{
		{ClientID: clientA, UpdateID: driverID, State: catalog.StateNotApplicable},
		{ClientID: clientA, UpdateID: softwareID, State: catalog.StateInstalled},
	}
	if err := f.store.SetStatuses(ctx, clientA, statuses, true, t2); err != nil {
		t.Fatalf("statuses A: %v", err)
	}
	if err := f.store.RecordAuthorization(ctx, clientB, "beta.contoso.test", nil, t0); err != nil {
		t.Fatalf("authorize B: %v", err)
	}
}

// response is one answer of the server.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the test token (unless headers override
// Authorization) and returns the answer.
func (f *fixture) do(method, path string, body string, headers map[string]string) response {
	f.t.Helper()
	r, err := f.send(method, path, body, headers)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// send is do for any goroutine: it returns what went wrong instead of
// failing the test.
func (f *fixture) send(method, path string, body string, headers map[string]string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		return response{}, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// get GETs path, requires 200 and decodes the JSON answer into a generic
// value, so that tests see the exact field names.
func (f *fixture) get(path string) map[string]any {
	f.t.Helper()
	r := f.do(http.MethodGet, path, "", nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET %s: status %d, body %s", path, r.status, r.body)
	}
	return decodeObject(f.t, r)
}

// decodeObject checks the answer is JSON and decodes it.
func decodeObject(t *testing.T, r response) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

// wantError checks r is the JSON error code with the status and a reason
// containing reasonPart.
func wantError(t *testing.T, r response, status int, code, reasonPart string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	got := decodeObject(t, r)
	if len(got) != 2 {
		t.Errorf("error body has fields %v, want exactly error and reason", got)
	}
	if got["error"] != code {
		t.Errorf("error = %v, want %q (body %s)", got["error"], code, r.body)
	}
	reason, _ := got["reason"].(string)
	if reason == "" || !strings.Contains(reason, reasonPart) {
		t.Errorf("reason = %q, want it to contain %q", reason, reasonPart)
	}
}

// jsonValue round-trips v through JSON, giving what a generic decoder sees.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantJSON compares a decoded answer with want (written as Go maps and
// slices), printing both as JSON on a mismatch.
func wantJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	want = jsonValue(t, want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

// obj is shorthand for expected JSON objects.
type obj = map[string]any
