package admin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/metadata"
	"wsus/clientsim/catalogen"
)

// Real UpdateIDs of the categories catalogen generates (categories.go
// there names the sample each one was seen in).
var (
	windowsFamilyID   = uuid.MustParse("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d")
	windows11ID       = uuid.MustParse("72e7624a-5b00-45d2-b92f-e561c0a6a160")
	oobeZDPID         = uuid.MustParse("dd78b8a1-0b20-45c1-add6-4da72e9364cf")
	defenderID        = uuid.MustParse("8c3fcc84-7410-4a95-8b89-a166a0190486")
	securityUpdatesID = uuid.MustParse("0fa1201d-4330-4fa8-8ae9-b877473b6441")
	criticalUpdatesID = uuid.MustParse("e6cf1350-c01b-414d-a61f-263d14d133b4")
	definitionUpdsID  = uuid.MustParse("e0789628-ce08-4437-be74-2495b842f43b")
	updatesID         = uuid.MustParse("cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83")
)

// storeStarter starts a run the way `wsusd serve` does, minus the work: it
// takes the store's lease, so that a second start conflicts.
type storeStarter struct{ store catalog.SyncStore }

func (s storeStarter) Start(ctx context.Context) (catalog.SyncRun, error) {
	return s.store.BeginSyncRun(ctx, catalog.SyncRun{Trigger: "api", Holder: "test:1"}, time.Hour)
}

// syncFixture is the fixture with the category documents of a generated
// catalog imported (besides its own "Windows 11" product, which makes that
// title ambiguous), served with starter (nil: none). It returns the
// generated product family "Office" and product "Microsoft 365 Apps".
func syncFixture(t *testing.T, starter admin.SyncStarter) (f *fixture, office, m365 uuid.UUID) {
	t.Helper()
	f = newFixture(t)
	var revs []*catalog.Revision
	_, err := catalogen.Generate(catalogen.Options{Updates: catalogen.MinUpdates, Seed: 7}, func(name string, doc []byte) error {
		rev, err := metadata.Parse(doc)
		if err != nil {
			return err
		}
		if rev.Type == catalog.TypeCategory {
			revs = append(revs, rev)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	if _, err := f.store.ImportRevisions(context.Background(), revs); err != nil {
		t.Fatalf("import categories: %v", err)
	}
	for _, r := range revs {
		switch r.Title {
		case "Office":
			office = r.UpdateID
		case "Microsoft 365 Apps":
			m365 = r.UpdateID
		}
	}
	if office == uuid.Nil || m365 == uuid.Nil {
		t.Fatalf("the generated catalog has no Office family or Microsoft 365 Apps product")
	}
	f.srv.Close()
	f.srv = httptest.NewServer(admin.NewWith(f.store, admin.Options{Token: testToken, Logger: slog.New(slog.NewTextHandler(f.log, nil)), FailureLimit: 1 << 20, Sync: starter}))
	t.Cleanup(f.srv.Close)
	return f, office, m365
}

func ref(id uuid.UUID, title string) obj { return obj{"id": id.String(), "title": title} }

func TestSyncSettingsRoundTrip(t *testing.T) {
	f, _, m365 := syncFixture(t, nil)

	zero := obj{
		"upstream_url": "", "replica": false, "all_products": false, "products": []obj{},
		"all_classifications": false, "classifications": []obj{}, "languages": []string{},
		"content": "approved", "syncs_per_day": 0, "first_sync": "00:00", "changed_at": nil,
	}
	wantJSON(t, "GET /sync before any settings", f.get("/api/v1/sync"),
		obj{"settings": zero, "upstream": nil, "running": nil, "last_run": nil, "next_sync": nil})

	// Titles exact and differing in case, a braced upper-case GUID, a
	// product family standing for its product, an entry named twice.
	body := `{"upstream_url":" https://upstream.contoso.test:8531/ ","replica":true,
		"products":["OOBE ZDP","office","{` + strings.ToUpper(windows11ID.String()) + `}","oobe zdp"],
		"classifications":["Security Updates","` + criticalUpdatesID.String() + `"],
		"languages":["en","DE","en"],"content":"on-demand","syncs_per_day":4,"first_sync":"3:30"}`
	r := f.do(http.MethodPut, "/api/v1/sync/settings", body, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	got := decodeObject(t, r)
	changed, _ := got["changed_at"].(string)
	if at, err := time.Parse(time.RFC3339Nano, changed); err != nil || time.Since(at) > time.Minute || time.Until(at) > time.Minute {
		t.Errorf("changed_at = %v, want about now", got["changed_at"])
	}
	want := obj{
		"upstream_url": "https://upstream.contoso.test:8531", "replica": true,
		"all_products":        false,
		"products":            []obj{ref(m365, "Microsoft 365 Apps"), ref(oobeZDPID, "OOBE ZDP"), ref(windows11ID, "Windows 11")},
		"all_classifications": false,
		"classifications":     []obj{ref(criticalUpdatesID, "Critical Updates"), ref(securityUpdatesID, "Security Updates")},
		"languages":           []string{"en", "de"}, "content": "on-demand", "syncs_per_day": 4, "first_sync": "03:30",
		"changed_at": changed,
	}
	wantJSON(t, "PUT answer", got, want)
	wantJSON(t, "GET /sync/settings", f.get("/api/v1/sync/settings"), want)
	// Saved now, the schedule starts with the slot after now (TestNextSync
	// checks the computation; TestSyncNextSync the answer's clock).
	next, _ := catalog.SyncSettings{UpstreamURL: "u", SyncsPerDay: 4, FirstSync: 3*time.Hour + 30*time.Minute,
		ChangedAt: time.Now()}.NextSync(time.Time{}, time.Now())
	wantJSON(t, "GET /sync", f.get("/api/v1/sync"), obj{"settings": want, "upstream": nil, "running": nil, "last_run": nil,
		"next_sync": next.Format(time.RFC3339Nano)})

	stored, err := f.store.SyncSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stored.UpstreamURL != "https://upstream.contoso.test:8531" || !stored.Replica || stored.Content != catalog.ContentOnDemand ||
		stored.SyncsPerDay != 4 || stored.FirstSync != 3*time.Hour+30*time.Minute || stored.AllProducts || stored.AllClassifications {
		t.Errorf("stored settings %+v", stored)
	}
	if want := []uuid.UUID{oobeZDPID, m365, windows11ID}; !equalIDs(stored.Products, want) {
		t.Errorf("stored products %v, want %v", stored.Products, want)
	}
	if want := []uuid.UUID{securityUpdatesID, criticalUpdatesID}; !equalIDs(stored.Classifications, want) {
		t.Errorf("stored classifications %v, want %v", stored.Classifications, want)
	}

	// PUT replaces everything: what is left out is reset.
	r = f.do(http.MethodPut, "/api/v1/sync/settings", `{"products":["ALL"],"classifications":["all","Updates"],"languages":["all"]}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT all: %d %s", r.status, r.body)
	}
	got = decodeObject(t, r)
	want = obj{
		"upstream_url": "", "replica": false, "all_products": true, "products": []obj{},
		"all_classifications": true, "classifications": []obj{}, "languages": []string{},
		"content": "approved", "syncs_per_day": 0, "first_sync": "00:00", "changed_at": got["changed_at"],
	}
	wantJSON(t, "PUT all", got, want)

	// With the upstream's languages known, long names resolve too.
	if err := f.store.SetSyncState(context.Background(), catalog.SyncState{UpstreamURL: "https://upstream.contoso.test:8531", Config: catalog.UpstreamConfig{
		ProtocolVersion: "1.20", CatalogOnlySync: true,
		Languages: []catalog.UpstreamLanguage{{ID: 1033, Short: "en", Long: "English", Enabled: true}, {ID: 1031, Short: "de", Long: "German"}},
	}}); err != nil {
		t.Fatal(err)
	}
	r = f.do(http.MethodPut, "/api/v1/sync/settings", `{"languages":["german"],"products":["all"]}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT german: %d %s", r.status, r.body)
	}
	got = decodeObject(t, r)
	wantJSON(t, "languages", got["languages"], []string{"de"})
	wantJSON(t, "upstream", f.get("/api/v1/sync")["upstream"], obj{
		"url": "https://upstream.contoso.test:8531", "protocol_version": "1.20", "catalog_only_sync": true,
		"languages": []obj{{"id": 1033, "short": "en", "long": "English", "enabled": true}, {"id": 1031, "short": "de", "long": "German", "enabled": false}},
	})
}

func equalIDs(a, b []uuid.UUID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSyncSettingsErrors(t *testing.T) {
	f, _, _ := syncFixture(t, nil)
	if err := f.store.SetSyncSettings(context.Background(), catalog.SyncSettings{UpstreamURL: "http://before.test", AllProducts: true}); err != nil {
		t.Fatal(err)
	}
	before := f.get("/api/v1/sync/settings")
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		reason string
	}{
		{"unknown product title", `{"products":["Windows 12"]}`, 400, "unknown_product", `product "Windows 12"`},
		{"unknown product GUID", `{"products":["` + unknownID.String() + `"]}`, 400, "unknown_product", unknownID.String()},
		{"a classification as product", `{"products":["Security Updates"]}`, 400, "unknown_product", `"Security Updates"`},
		{"a product as classification", `{"classifications":["OOBE ZDP"]}`, 400, "unknown_classification", `classification "OOBE ZDP"`},
		{"unknown classification", `{"products":["all"],"classifications":["Feature Packs"]}`, 400, "unknown_classification", `"Feature Packs"`},
		{"empty entry", `{"products":[" "]}`, 400, "unknown_product", "empty product entry"},
		{"ambiguous title", `{"products":["Windows 11"]}`, 400, "ambiguous_product", categoryID.String()},
		{"content", `{"content":"always"}`, 400, "invalid_content", `"always"`},
		{"negative syncs per day", `{"syncs_per_day":-1}`, 400, "invalid_syncs_per_day", "-1"},
		{"too many syncs per day", `{"syncs_per_day":25}`, 400, "invalid_syncs_per_day", "25"},
		{"first sync hour", `{"first_sync":"24:00"}`, 400, "invalid_first_sync", `"24:00"`},
		{"first sync not a time", `{"first_sync":"3pm"}`, 400, "invalid_first_sync", `"3pm"`},
		{"upstream scheme", `{"upstream_url":"ftp://up.test"}`, 400, "invalid_upstream_url", `"ftp://up.test"`},
		{"upstream without host", `{"upstream_url":"https://"}`, 400, "invalid_upstream_url", `"https://"`},
		{"language", `{"languages":["en us"]}`, 400, "unknown_language", `"en us"`},
		{"unknown field", `{"upstream":"http://up.test"}`, 400, "bad_json", `unknown field "upstream"`},
		{"no body", ``, 415, "unsupported_media_type", `""`},
		{"wrong type", `{"syncs_per_day":"4"}`, 400, "bad_json", "syncs_per_day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers map[string]string
			if tt.body == "" {
				headers = map[string]string{"Content-Type": ""}
			}
			r := f.do(http.MethodPut, "/api/v1/sync/settings", tt.body, headers)
			wantError(t, r, tt.status, tt.code, tt.reason)
			wantJSON(t, "settings after a refused PUT", f.get("/api/v1/sync/settings"), jsonValue(t, before))
		})
	}

	// Languages the upstream does not offer, once its languages are known.
	if err := f.store.SetSyncState(context.Background(), catalog.SyncState{Config: catalog.UpstreamConfig{
		Languages: []catalog.UpstreamLanguage{{ID: 1033, Short: "en", Long: "English"}, {ID: 1031, Short: "de", Long: "German"}},
	}}); err != nil {
		t.Fatal(err)
	}
	r := f.do(http.MethodPut, "/api/v1/sync/settings", `{"languages":["en","fr"]}`, nil)
	wantError(t, r, 400, "unknown_language", `language "fr": the upstream offers no such language; it offers en, de`)
}

// newRun begins a run in the store and, unless state is running, finishes
// it with the counts of run.
func newRun(t *testing.T, store catalog.SyncStore, run catalog.SyncRun) catalog.SyncRun {
	t.Helper()
	ctx := context.Background()
	begun, err := store.BeginSyncRun(ctx, catalog.SyncRun{Trigger: run.Trigger, Holder: run.Holder}, time.Hour)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	run.ID, run.Started = begun.ID, begun.Started
	out, err := store.UpdateSyncRun(ctx, run)
	if err != nil {
		t.Fatalf("update run %d: %v", run.ID, err)
	}
	return out
}

// runJSON is the JSON the API answers for run.
func runJSON(run catalog.SyncRun) obj {
	o := obj{
		"id": run.ID, "trigger": run.Trigger, "holder": run.Holder, "state": string(run.State),
		"started": run.Started.UTC(), "heartbeat": run.Heartbeat.UTC(), "finished": nil, "duration_seconds": nil,
		"phase": run.Phase, "done": run.Done, "total": run.Total, "new": run.New, "revised": run.Revised, "expired": run.Expired,
		"files": run.Files, "files_total": run.FilesTotal, "bytes": run.Bytes, "bytes_total": run.BytesTotal, "error": run.Error,
	}
	if run.State != catalog.SyncRunning {
		o["finished"] = run.Finished.UTC()
		o["duration_seconds"] = run.Finished.Sub(run.Started).Round(time.Millisecond).Seconds()
	}
	return o
}

func TestSyncRuns(t *testing.T) {
	f := newFixture(t)
	wantJSON(t, "no runs", f.get("/api/v1/sync/runs"), obj{"runs": []obj{}})
	r1 := newRun(t, f.store, catalog.SyncRun{Trigger: "schedule", Holder: "a:1", State: catalog.SyncSucceeded, Phase: "content",
		Done: 40, Total: 40, New: 30, Revised: 8, Expired: 2, Files: 12, FilesTotal: 12, Bytes: 3 << 20, BytesTotal: 3 << 20})
	r2 := newRun(t, f.store, catalog.SyncRun{Trigger: "manual", Holder: "b:2", State: catalog.SyncFailed, Phase: "updates",
		Done: 3, Total: 9, Error: "syncer: GetUpdateData: connection reset"})
	r3 := newRun(t, f.store, catalog.SyncRun{Trigger: "api", Holder: "a:1", State: catalog.SyncRunning, Phase: "updates", Done: 120, Total: 1000, New: 100})
	if r1.Finished.IsZero() || !r3.Finished.IsZero() {
		t.Fatalf("the store finished %+v / %+v unexpectedly", r1, r3)
	}

	wantJSON(t, "all runs", f.get("/api/v1/sync/runs"), obj{"runs": []obj{runJSON(r3), runJSON(r2), runJSON(r1)}})
	wantJSON(t, "limit 2", f.get("/api/v1/sync/runs?limit=2"), obj{"runs": []obj{runJSON(r3), runJSON(r2)}})
	wantJSON(t, "limit 1000", f.get("/api/v1/sync/runs?limit=1000"), obj{"runs": []obj{runJSON(r3), runJSON(r2), runJSON(r1)}})
	wantJSON(t, "before the newest", f.get("/api/v1/sync/runs?limit=1&before_id="+itoa(r3.ID)), obj{"runs": []obj{runJSON(r2)}})
	wantJSON(t, "the page after", f.get("/api/v1/sync/runs?before_id="+itoa(r2.ID)+"&limit=1"), obj{"runs": []obj{runJSON(r1)}})
	wantJSON(t, "before the oldest", f.get("/api/v1/sync/runs?before_id="+itoa(r1.ID)), obj{"runs": []obj{}})
	for _, run := range []catalog.SyncRun{r1, r2, r3} {
		wantJSON(t, "run by ID", f.get("/api/v1/sync/runs/"+itoa(run.ID)), runJSON(run))
	}
	status := f.get("/api/v1/sync")
	wantJSON(t, "running", status["running"], runJSON(r3))
	wantJSON(t, "last run", status["last_run"], runJSON(r2))

	for _, tt := range []struct {
		path         string
		status       int
		code, reason string
	}{
		{"/api/v1/sync/runs?limit=0", 400, "bad_query", `limit "0"`},
		{"/api/v1/sync/runs?limit=1001", 400, "bad_query", "from 1 to 1000"},
		{"/api/v1/sync/runs?limit=ten", 400, "bad_query", `limit "ten"`},
		{"/api/v1/sync/runs?state=failed", 400, "bad_query", `unknown query parameter "state"; known: limit, before_id`},
		{"/api/v1/sync/runs?before_id=0", 400, "bad_query", `before_id "0" is not a positive integer`},
		{"/api/v1/sync/runs?before_id=x", 400, "bad_query", `before_id "x"`},
		{"/api/v1/sync/runs/9223372036854775807", 400, "invalid_run_id", `"9223372036854775807"`},
		{"/api/v1/sync/runs/" + itoa(r3.ID+1), 404, "unknown_run", "no synchronization run has the ID " + itoa(r3.ID+1)},
		{"/api/v1/sync/runs/0", 400, "invalid_run_id", `"0"`},
		{"/api/v1/sync/runs/latest", 400, "invalid_run_id", `"latest"`},
	} {
		wantError(t, f.do(http.MethodGet, tt.path, "", nil), tt.status, tt.code, tt.reason)
	}
	wantError(t, f.do(http.MethodDelete, "/api/v1/sync/runs/1", "", nil), 405, "method_not_allowed", "allowed: GET, HEAD")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestStartSync(t *testing.T) {
	t.Run("not served by this process", func(t *testing.T) {
		f, _, _ := syncFixture(t, nil)
		wantError(t, f.do(http.MethodPost, "/api/v1/sync/runs", "", nil), 503, "sync_unavailable", "does not run synchronizations")
	})
	f := newFixture(t)
	starter := storeStarter{f.store}
	f.srv.Close()
	f.srv = httptest.NewServer(admin.NewWith(f.store, admin.Options{Token: testToken, FailureLimit: 1 << 20, Sync: starter}))
	t.Cleanup(f.srv.Close)

	wantError(t, f.do(http.MethodPost, "/api/v1/sync/runs", "", nil), 409, "no_upstream", "no upstream server is configured")
	if r := f.do(http.MethodPut, "/api/v1/sync/settings", `{"upstream_url":"http://up.test:8530"}`, nil); r.status != http.StatusOK {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	r := f.do(http.MethodPost, "/api/v1/sync/runs", "{}", nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	runs, err := f.store.SyncRuns(context.Background(), 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs in the store: %v, %v", runs, err)
	}
	run := runs[0]
	if run.State != catalog.SyncRunning || run.Trigger != "api" {
		t.Errorf("stored run %+v", run)
	}
	wantJSON(t, "202 answer", decodeObject(t, r), runJSON(run))
	if loc := r.header.Get("Location"); loc != "/api/v1/sync/runs/"+itoa(run.ID) {
		t.Errorf("Location = %q", loc)
	}
	wantJSON(t, "running", f.get("/api/v1/sync")["running"], runJSON(run))

	wantError(t, f.do(http.MethodPost, "/api/v1/sync/runs", "", nil), 409, "sync_running", "a synchronization is already running")
	wantError(t, f.do(http.MethodPost, "/api/v1/sync/runs", `{"force":true}`, nil), 400, "bad_json", `unknown field "force"`)

	// A starter failing otherwise is the store's failure (500, logged).
	f.srv.Close()
	f.srv = httptest.NewServer(admin.NewWith(f.store, admin.Options{Token: testToken, FailureLimit: 1 << 20, Sync: failingStarter{}}))
	wantError(t, f.do(http.MethodPost, "/api/v1/sync/runs", "", nil), 500, "store_error", "see the server log")
	f.srv.Close()
	f.srv = httptest.NewServer(admin.NewWith(f.store, admin.Options{Token: testToken, FailureLimit: 1 << 20, Sync: failingStarter{catalog.ErrInvalid}}))
	wantError(t, f.do(http.MethodPost, "/api/v1/sync/runs", "", nil), 400, "invalid", "cannot start")
}

// failingStarter fails to start with err wrapped (or a plain error).
type failingStarter struct{ err error }

func (s failingStarter) Start(context.Context) (catalog.SyncRun, error) {
	if s.err == nil {
		return catalog.SyncRun{}, errors.New("server: cannot start")
	}
	return catalog.SyncRun{}, fmt.Errorf("server: cannot start: %w", s.err)
}

func TestProductsAndClassifications(t *testing.T) {
	f, office, m365 := syncFixture(t, nil)
	windows := ref(windowsFamilyID, "Windows")
	product := func(id uuid.UUID, title string, family obj, selected bool) obj {
		o := obj{"id": id.String(), "title": title, "type": "Product", "selected": selected}
		if family != nil {
			o["family"] = family
		}
		return o
	}
	family := func(id uuid.UUID, title string, selected bool) obj {
		return obj{"id": id.String(), "title": title, "type": "ProductFamily", "selected": selected}
	}
	classification := func(id uuid.UUID, title string, selected bool) obj {
		return obj{"id": id.String(), "title": title, "type": "UpdateClassification", "selected": selected}
	}

	wantJSON(t, "products, none selected", f.get("/api/v1/products"), obj{"all": false, "categories": []obj{
		product(m365, "Microsoft 365 Apps", ref(office, "Office"), false),
		product(defenderID, "Microsoft Defender Antivirus", windows, false),
		family(office, "Office", false),
		product(oobeZDPID, "OOBE ZDP", windows, false),
		family(windowsFamilyID, "Windows", false),
		product(categoryID, "Windows 11", nil, false),
		product(windows11ID, "Windows 11", windows, false),
	}})

	r := f.do(http.MethodPut, "/api/v1/sync/settings", `{"products":["Office","`+windows11ID.String()+`"],"classifications":["Security Updates","Updates"]}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	wantJSON(t, "products", f.get("/api/v1/products"), obj{"all": false, "categories": []obj{
		product(m365, "Microsoft 365 Apps", ref(office, "Office"), true),
		product(defenderID, "Microsoft Defender Antivirus", windows, false),
		family(office, "Office", true), // its one product is selected
		product(oobeZDPID, "OOBE ZDP", windows, false),
		family(windowsFamilyID, "Windows", false),
		product(categoryID, "Windows 11", nil, false),
		product(windows11ID, "Windows 11", windows, true),
	}})
	wantJSON(t, "classifications", f.get("/api/v1/classifications"), obj{"all": false, "categories": []obj{
		classification(criticalUpdatesID, "Critical Updates", false),
		classification(definitionUpdsID, "Definition Updates", false),
		classification(securityUpdatesID, "Security Updates", true),
		classification(updatesID, "Updates", true),
	}})

	r = f.do(http.MethodPut, "/api/v1/sync/settings", `{"products":["all"],"classifications":["all"]}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT all: %d %s", r.status, r.body)
	}
	list := f.get("/api/v1/classifications")
	if list["all"] != true {
		t.Errorf("all = %v", list["all"])
	}
	for _, c := range list["categories"].([]any) {
		if c.(map[string]any)["selected"] != true {
			t.Errorf("with all, %v is not selected", c)
		}
	}
	products := f.get("/api/v1/products")
	for _, c := range products["categories"].([]any) {
		if c.(map[string]any)["selected"] != true {
			t.Errorf("with all, %v is not selected", c)
		}
	}
}

// TestSyncNextSync checks next_sync of GET /api/v1/sync on the handler's
// clock: null when synchronizing manually only, the next slot after the
// settings were saved, and a passed slot no run started in (due: the
// scheduler runs it within its check).
func TestSyncNextSync(t *testing.T) {
	f := newFixture(t)
	clk := &fakeClock{now: time.Now().UTC()}
	f.srv.Close()
	f.srv = httptest.NewServer(admin.NewWith(f.store, admin.Options{Token: testToken, FailureLimit: 1 << 20, Now: clk.Now}))
	t.Cleanup(f.srv.Close)
	nextSync := func() any { return f.get("/api/v1/sync")["next_sync"] }

	if got := nextSync(); got != nil {
		t.Errorf("manual only: next_sync %v, want null", got)
	}
	if r := f.do(http.MethodPut, "/api/v1/sync/settings", `{"upstream_url":"http://up.test:8530","syncs_per_day":24,"first_sync":"00:00"}`, nil); r.status != http.StatusOK {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	hour := func(t time.Time) string { return t.Truncate(time.Hour).Format(time.RFC3339) }
	if got, want := nextSync(), hour(clk.Now().Add(time.Hour)); got != want {
		t.Errorf("just saved: next_sync %v, want the next hour %s", got, want)
	}
	clk.advance(2 * time.Hour)
	if got, want := nextSync(), hour(clk.Now()); got != want {
		t.Errorf("a slot passed with no run: next_sync %v, want that slot %s (due)", got, want)
	}
	if r := f.do(http.MethodPut, "/api/v1/sync/settings", `{"upstream_url":"http://up.test:8530"}`, nil); r.status != http.StatusOK {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	if got := nextSync(); got != nil {
		t.Errorf("back to manual: next_sync %v, want null", got)
	}
}
