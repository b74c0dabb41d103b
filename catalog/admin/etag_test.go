package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"wsus/catalog"
)

// etag GETs path and returns its ETag, which must be strong and stable.
func (f *fixture) etag(path string) string {
	f.t.Helper()
	r := f.do(http.MethodGet, path, "", nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	tag := r.header.Get("ETag")
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		f.t.Fatalf("GET %s: ETag %q, want a strong (quoted) tag", path, tag)
	}
	if again := f.do(http.MethodGet, path, "", nil).header.Get("ETag"); again != tag {
		f.t.Fatalf("GET %s twice: ETag %q then %q", path, tag, again)
	}
	return tag
}

func TestIfMatch(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			ctx := context.Background()
			const pilot = "/api/v1/groups/Pilot"
			tag := f.etag(pilot)
			if byID := f.etag("/api/v1/groups/" + pilotID.String()); byID != tag {
				t.Errorf("the group by ID has ETag %s, by name %s", byID, tag)
			}
			wantError(t, f.do(http.MethodGet, "/api/v1/groups/Nope", "", nil), http.StatusNotFound, "unknown_group", "Nope")

			// Tags that do not match: nothing changes.
			for _, im := range []string{`"0000"`, "W/" + tag, `"0000", W/` + tag, tag[1 : len(tag)-1]} {
				r := f.do(http.MethodPatch, pilot, `{"name":"Ring 0"}`, map[string]string{"If-Match": im})
				wantError(t, r, http.StatusPreconditionFailed, "precondition_failed", "does not match")
				if got := r.header.Get("ETag"); got != tag {
					t.Errorf("412 names ETag %q, want the current %q", got, tag)
				}
				wantError(t, f.do(http.MethodDelete, pilot, "", map[string]string{"If-Match": im}),
					http.StatusPreconditionFailed, "precondition_failed", "does not match")
			}
			if g, ok := groupByID(t, f.store, pilotID); !ok || g.Name != "Pilot" {
				t.Fatalf("Pilot after refused writes: %+v %v", g, ok)
			}

			// A matching tag among others: renamed, answered with the new tag.
			r := f.do(http.MethodPatch, pilot, `{"name":"Ring 0"}`, map[string]string{"If-Match": `"0000", ` + tag})
			if r.status != http.StatusOK {
				t.Fatalf("PATCH with a matching If-Match: %d %s", r.status, r.body)
			}
			newTag := r.header.Get("ETag")
			if newTag == tag || newTag != f.etag("/api/v1/groups/Ring%200") {
				t.Errorf("PATCH answered ETag %s; old %s; GET says %s", newTag, tag, f.etag("/api/v1/groups/Ring%200"))
			}
			// The old tag is stale now; * and no If-Match write as before.
			wantError(t, f.do(http.MethodPatch, "/api/v1/groups/Ring%200", `{"name":"Pilot"}`, map[string]string{"If-Match": tag}),
				http.StatusPreconditionFailed, "precondition_failed", "")
			for _, im := range []string{"*", ""} {
				if r := f.do(http.MethodPatch, "/api/v1/groups/"+pilotID.String(), `{"name":"Ring `+im+`"}`, map[string]string{"If-Match": im}); r.status != http.StatusOK {
					t.Errorf("PATCH with If-Match %q: %d %s", im, r.status, r.body)
				}
			}
			// Deleted with the right tag.
			tag = f.etag("/api/v1/groups/" + pilotID.String())
			if r := f.do(http.MethodDelete, "/api/v1/groups/"+pilotID.String(), "", map[string]string{"If-Match": tag}); r.status != http.StatusOK {
				t.Fatalf("DELETE with its ETag: %d %s", r.status, r.body)
			}
			if _, ok := groupByID(t, f.store, pilotID); ok {
				t.Error("the group is still there")
			}

			// Sync settings.
			tag = f.etag("/api/v1/sync/settings")
			wantError(t, f.do(http.MethodPut, "/api/v1/sync/settings", `{"syncs_per_day":2}`, map[string]string{"If-Match": `"x"`}),
				http.StatusPreconditionFailed, "precondition_failed", "")
			if s, err := f.store.SyncSettings(ctx); err != nil || s.SyncsPerDay != 0 {
				t.Fatalf("settings after a refused PUT: %+v %v", s, err)
			}
			r = f.do(http.MethodPut, "/api/v1/sync/settings", `{"syncs_per_day":2}`, map[string]string{"If-Match": tag})
			if r.status != http.StatusOK || r.header.Get("ETag") != f.etag("/api/v1/sync/settings") {
				t.Fatalf("PUT with its ETag: %d %s, ETag %q", r.status, r.body, r.header.Get("ETag"))
			}

			// Tokens: GET one, DELETE with If-Match.
			created := decodeObject(t, f.do(http.MethodPost, "/api/v1/tokens", `{"name":"alice","role":"viewer"}`, nil))
			path := fmt.Sprintf("/api/v1/tokens/%s", created["id"])
			tag = f.etag(path)
			wantError(t, f.do(http.MethodDelete, path, "", map[string]string{"If-Match": `"stale"`}), http.StatusPreconditionFailed, "precondition_failed", "")
			if r := f.do(http.MethodDelete, path, "", map[string]string{"If-Match": tag}); r.status != http.StatusOK {
				t.Fatalf("DELETE token with its ETag: %d %s", r.status, r.body)
			}
			wantError(t, f.do(http.MethodGet, path, "", nil), http.StatusNotFound, "unknown_token", "")
		})
	}
}

// TestConcurrentEdits: two clients read the same ETag and both write with
// it at once; exactly one succeeds, the other gets 412, whichever order the
// store sees them in.
func TestConcurrentEdits(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			rule := f.createdID("/api/v1/rules", `{"name":"Rule","groups":["`+pilotID.String()+`"]}`)
			ring := f.createdID("/api/v1/rings", `{"name":"Ring","rule":"`+rule+`","position":1,"group":"`+pilotID.String()+`"}`)
			for round := range 5 {
				for _, res := range []struct{ get, method, path, body string }{
					{"/api/v1/groups/" + pilotID.String(), http.MethodPatch, "/api/v1/groups/" + pilotID.String(), `{"name":"Pilot %d-%d"}`},
					{"/api/v1/sync/settings", http.MethodPut, "/api/v1/sync/settings", `{"syncs_per_day":%d,"first_sync":"0%d:00"}`},
					{"/api/v1/rules/" + rule, http.MethodPut, "/api/v1/rules/" + rule, `{"name":"Rule %d-%d","groups":["` + pilotID.String() + `"]}`},
					{"/api/v1/autodecline", http.MethodPut, "/api/v1/autodecline", `{"superseded":true,"superseded_grace_days":%d%d}`},
					{"/api/v1/rings/" + ring, http.MethodPut, "/api/v1/rings/" + ring, `{"name":"Ring %d-%d","rule":"` + rule + `","position":1,"group":"` + pilotID.String() + `"}`},
				} {
					tag := f.etag(res.get)
					var wg sync.WaitGroup
					answers := make([]response, 2)
					errs := make([]error, 2)
					for i := range 2 {
						wg.Go(func() {
							answers[i], errs[i] = f.send(res.method, res.path, fmt.Sprintf(res.body, round+1, i+1), map[string]string{"If-Match": tag})
						})
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						t.Fatal(err)
					}
					ok, failed := 0, 0
					for _, a := range answers {
						switch a.status {
						case http.StatusOK:
							ok++
						case http.StatusPreconditionFailed:
							failed++
							wantError(t, a, http.StatusPreconditionFailed, "precondition_failed", "")
						default:
							t.Errorf("%s %s: %d %s", res.method, res.path, a.status, a.body)
						}
					}
					if ok != 1 || failed != 1 {
						t.Errorf("round %d, %s %s: %d succeeded and %d got 412; want 1 and 1", round, res.method, res.path, ok, failed)
					}
				}
			}
		})
	}
}

// createdID posts body to path, wants 201 and returns the "id" answered.
func (f *fixture) createdID(path, body string) string {
	f.t.Helper()
	r := f.do(http.MethodPost, path, body, nil)
	var created struct {
		ID string `json:"id"`
	}
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &created) != nil || created.ID == "" {
		f.t.Fatalf("POST %s: %d %s", path, r.status, r.body)
	}
	return created.ID
}

// TestConditionalWritesCompareInTheStore: the store itself refuses a
// conditional write whose expectation is stale, so that a check passed by
// the handler cannot be overtaken by another replica's write.
func TestConditionalWritesCompareInTheStore(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			ctx := context.Background()
			g, ok := groupByID(t, f.store, pilotID)
			if !ok {
				t.Fatal("no Pilot group")
			}
			stale := g
			stale.Name = "Pilot (as read before)"
			if err := f.store.RenameTargetGroupIf(ctx, stale, "Ring 0"); !errors.Is(err, catalog.ErrPreconditionFailed) {
				t.Errorf("rename with a stale name: %v, want ErrPreconditionFailed", err)
			}
			if err := f.store.DeleteTargetGroupIf(ctx, stale); !errors.Is(err, catalog.ErrPreconditionFailed) {
				t.Errorf("delete with a stale name: %v, want ErrPreconditionFailed", err)
			}
			if got, _ := groupByID(t, f.store, pilotID); got.Name != "Pilot" {
				t.Errorf("Pilot is now %q", got.Name)
			}
			if err := f.store.RenameTargetGroupIf(ctx, g, "Ring 0"); err != nil {
				t.Errorf("rename as read: %v", err)
			}
			if err := f.store.RenameTargetGroupIf(ctx, g, "Ring 1"); !errors.Is(err, catalog.ErrPreconditionFailed) {
				t.Errorf("second rename from the same read: %v, want ErrPreconditionFailed", err)
			}
			g.Name = "Ring 0"
			if err := f.store.DeleteTargetGroupIf(ctx, g); err != nil {
				t.Errorf("delete as read: %v", err)
			}
			if err := f.store.DeleteTargetGroupIf(ctx, g); !errors.Is(err, catalog.ErrNotFound) {
				t.Errorf("delete of a deleted group: %v, want ErrNotFound", err)
			}

			read, err := f.store.SyncSettings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first := read
			first.SyncsPerDay = 3
			if err := f.store.SetSyncSettingsIf(ctx, read, first); err != nil {
				t.Fatalf("set as read: %v", err)
			}
			second := read
			second.SyncsPerDay = 5
			if err := f.store.SetSyncSettingsIf(ctx, read, second); !errors.Is(err, catalog.ErrPreconditionFailed) {
				t.Errorf("second set from the same read: %v, want ErrPreconditionFailed", err)
			}
			if now, err := f.store.SyncSettings(ctx); err != nil || now.SyncsPerDay != 3 {
				t.Fatalf("settings %+v %v, want the first write's", now, err)
			}
		})
	}
}
