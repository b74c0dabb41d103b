package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/sqlite"
)

// insightsNow is the API's clock in the insights tests: 10:00 UTC.
var insightsNow = time.Date(2026, 11, 12, 10, 0, 0, 0, time.UTC)

// fakeMeter answers a fixed storage use.
type fakeMeter struct{ u admin.StorageUsage }

func (m fakeMeter) Usage(context.Context) admin.StorageUsage { return m.u }

// insightsAPI is the admin handler over a store holding install results
// of two computers received today, two days ago and 40 days ago, with
// meter as its storage meter.
func insightsAPI(t *testing.T, meter admin.StorageMeter) http.Handler {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, c := range []string{clientA, clientB} {
		if err := store.RecordAuthorization(ctx, c, c[:8]+".contoso.test", nil, insightsNow.AddDate(0, -3, 0)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	report := func(client string, at time.Time, ids ...int) {
		var evs []catalog.Event
		for _, id := range ids {
			n++
			evs = append(evs, catalog.Event{InstanceID: uuid.NewSHA1(uuid.NameSpaceURL, []byte{byte(n)}), EventID: id, SourceID: 101,
				UpdateID: softwareID, RevisionNumber: 301, TimeAtTarget: at})
		}
		if _, err := store.StoreEvents(ctx, client, evs, at); err != nil {
			t.Fatal(err)
		}
	}
	report(clientA, insightsNow.Add(-time.Hour), 183, 184, 147)
	report(clientB, insightsNow.Add(-9*time.Hour), 182)
	report(clientA, insightsNow.AddDate(0, 0, -2), 183, 182, 182)
	report(clientB, insightsNow.AddDate(0, 0, -40), 183)
	opts := admin.Options{Token: testToken, Now: func() time.Time { return insightsNow }, Storage: meter}
	return admin.NewWith(store, opts)
}

// call makes one GET of the API with token and returns status and body.
func call(t *testing.T, api http.Handler, token, path string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func TestInstallsOverTime(t *testing.T) {
	api := insightsAPI(t, nil)
	viewer := viewerToken(t, api)
	status, body := call(t, api, viewer, admin.InstallsPath+"?days=3")
	if status != http.StatusOK {
		t.Fatalf("GET installs: %d %s", status, body)
	}
	var got admin.InstallHistory
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := admin.InstallHistory{From: "2026-11-10", To: "2026-11-12", Installed: 3, Failed: 3, Days: []admin.InstallDay{
		{Day: "2026-11-10", Installed: 1, Failed: 2}, {Day: "2026-11-11"}, {Day: "2026-11-12", Installed: 2, Failed: 1}}}
	wantJSON(t, "installs over 3 days", jsonValue(t, got), want)

	// Default: 30 days; the result of 40 days ago is out, in with 41.
	status, body = call(t, api, viewer, admin.InstallsPath)
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil {
		t.Fatalf("GET installs: %d %s", status, body)
	}
	if len(got.Days) != admin.DefaultInstallDays || got.From != "2026-10-14" || got.Installed != 3 || got.Failed != 3 {
		t.Errorf("default installs: %d days from %s, %d installed, %d failed", len(got.Days), got.From, got.Installed, got.Failed)
	}
	if _, body = call(t, api, viewer, admin.InstallsPath+"?days=41"); json.Unmarshal(body, &got) != nil || got.Installed != 4 {
		t.Errorf("41 days: %s", body)
	}
}

func TestInstallsBadQuery(t *testing.T) {
	api := insightsAPI(t, nil)
	for _, c := range []struct{ query, reason string }{
		{"days=0", `days "0" is not a number from 1 to 366`},
		{"days=367", `days "367" is not a number from 1 to 366`},
		{"days=x", `days "x" is not a number from 1 to 366`},
		{"days=3&days=4", `query parameter "days" is given 2 times`},
		{"day=3", `unknown query parameter "day"; known: days`},
	} {
		status, body := call(t, api, testToken, admin.InstallsPath+"?"+c.query)
		var e admin.Error
		if err := json.Unmarshal(body, &e); err != nil || status != http.StatusBadRequest || e.Code != "bad_query" || e.Reason != c.reason {
			t.Errorf("?%s: %d %s, want 400 bad_query %q", c.query, status, body, c.reason)
		}
	}
}

func TestStorageUsage(t *testing.T) {
	at := insightsNow.Add(-3 * time.Minute).In(time.FixedZone("CET", 3600))
	measured := admin.StorageUsage{Store: admin.ContentFilesystem, Objects: 3, Bytes: 4096, MeasuredAt: &at}
	for _, c := range []struct {
		name   string
		meter  admin.StorageMeter
		query  string
		status int
		want   string
	}{
		{"measured", fakeMeter{measured}, "", 200,
			`{"store":"filesystem","objects":3,"bytes":4096,"measured_at":"2026-11-12T09:57:00Z","measuring":false}`},
		{"before the first measurement", fakeMeter{admin.StorageUsage{Store: admin.ContentS3, Measuring: true}}, "", 200,
			`{"store":"s3","objects":0,"bytes":0,"measured_at":null,"measuring":true}`},
		{"failed", fakeMeter{admin.StorageUsage{Store: admin.ContentS3, Error: "list: access denied"}}, "", 200,
			`{"store":"s3","objects":0,"bytes":0,"measured_at":null,"measuring":false,"error":"list: access denied"}`},
		{"no meter", nil, "", 503,
			`{"error":"storage_unknown","reason":"this process does not measure the content store's use"}`},
		{"a parameter", fakeMeter{measured}, "?x=1", 400,
			`{"error":"bad_query","reason":"unknown query parameter \"x\": this resource takes none"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := insightsAPI(t, c.meter)
			status, body := call(t, api, viewerToken(t, api), admin.StoragePath+c.query)
			if status != c.status || strings.TrimSpace(string(body)) != c.want {
				t.Errorf("GET storage: %d %s\nwant %d %s", status, body, c.status, c.want)
			}
		})
	}
}

// viewerToken creates a viewer token through api and returns its secret.
func viewerToken(t *testing.T, api http.Handler) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/tokens", strings.NewReader(`{"name":"insights-viewer","role":"viewer"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	var tok admin.NewToken
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("create viewer token: %d %s", rec.Code, rec.Body)
	}
	return tok.Secret
}
