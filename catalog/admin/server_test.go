package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wsus/catalog/admin"
	"wsus/internal/version"
)

// GET /api/v1/server answers the build, the installation's identity and
// what this process runs on, to any token (a viewer's too); it changes
// nothing, so it is not audited, and other methods are 405.
func TestServerInfo(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			started := time.Date(2026, 12, 6, 15, 4, 5, 0, time.FixedZone("CET", 3600))
			f.srv.Close()
			f.srv = httptest.NewServer(admin.NewWith(f.store, admin.Options{Token: testToken, FailureLimit: 1 << 20,
				Server: admin.ServerFacts{CatalogEngine: admin.CatalogPostgreSQL, ContentStore: admin.ContentS3, StartedAt: started}}))
			t.Cleanup(f.srv.Close)

			r := f.do(http.MethodPost, "/api/v1/tokens", `{"name":"dashboard","role":"viewer"}`, nil)
			var viewer admin.NewToken
			if err := json.Unmarshal(r.body, &viewer); r.status != http.StatusCreated || err != nil {
				t.Fatalf("create viewer token: %d %s", r.status, r.body)
			}
			id, err := f.store.ServerInfo(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			b := version.Get()
			r = f.do(http.MethodGet, admin.ServerPath, "", map[string]string{"Authorization": "Bearer " + viewer.Secret})
			got := decodeObject(t, r)
			want := map[string]any{
				"version": b.Version, "commit": b.Commit, "go_version": b.GoVersion,
				"server_id": id.ID.String(), "catalog": "postgresql", "content": "s3",
				"started_at": "2026-12-06T14:04:05Z",
			}
			if r.status != http.StatusOK || len(got) != len(want) {
				t.Fatalf("GET %s: %d %s; want 200 with %v", admin.ServerPath, r.status, r.body, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if r := f.do(http.MethodPost, admin.ServerPath, "{}", nil); r.status != http.StatusMethodNotAllowed {
				t.Errorf("POST %s: %d %s, want 405", admin.ServerPath, r.status, r.body)
			}
			if r := f.do(http.MethodGet, admin.ServerPath, "", map[string]string{"Authorization": ""}); r.status != http.StatusUnauthorized {
				t.Errorf("GET %s without a token: %d, want 401", admin.ServerPath, r.status)
			}
		})
	}
}
