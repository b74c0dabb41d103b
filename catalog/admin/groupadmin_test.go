package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

func groupByID(t *testing.T, store catalog.Store, id uuid.UUID) (catalog.TargetGroup, bool) {
	t.Helper()
	groups, err := store.TargetGroups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.ID == id {
			return g, true
		}
	}
	return catalog.TargetGroup{}, false
}

// PATCH and DELETE /api/v1/groups/{id}: a group an admin made is renamed
// and deleted (with its approvals and assignments); built-in ones are
// refused with 409 builtin_group and stay.
func TestRenameAndDeleteGroups(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			ctx := context.Background()
			for _, tc := range []struct {
				method, path, body string
				status             int
				code, reason       string
			}{
				{"PATCH", "/api/v1/groups/All%20Computers", `{"name":"Everyone"}`, 409, "builtin_group", "All Computers is a built-in group"},
				{"PATCH", "/api/v1/groups/" + catalog.UnassignedComputersGroupID.String(), `{"name":"X"}`, 409, "builtin_group", "cannot be renamed"},
				{"DELETE", "/api/v1/groups/" + catalog.AllComputersGroupID.String(), "", 409, "builtin_group", "cannot be deleted"},
				{"DELETE", "/api/v1/groups/unassigned%20computers", "", 409, "builtin_group", "cannot be deleted"},
				{"PATCH", "/api/v1/groups/Pilot", `{"name":"all computers"}`, 409, "group_exists", "All Computers"},
				{"PATCH", "/api/v1/groups/Pilot", `{"name":" "}`, 400, "invalid_name", "required"},
				{"PATCH", "/api/v1/groups/Pilot", `{"nom":"x"}`, 400, "bad_json", "unknown field"},
				{"PATCH", "/api/v1/groups/Nope", `{"name":"x"}`, 404, "unknown_group", "Nope"},
				{"DELETE", "/api/v1/groups/" + unknownID.String(), "", 404, "unknown_group", unknownID.String()},
			} {
				wantError(t, f.do(tc.method, tc.path, tc.body, nil), tc.status, tc.code, tc.reason)
			}
			if g, ok := groupByID(t, f.store, catalog.AllComputersGroupID); !ok || g.Name != "All Computers" {
				t.Fatalf("All Computers after the refusals: %+v %v", g, ok)
			}
			if g, ok := groupByID(t, f.store, pilotID); !ok || g.Name != "Pilot" {
				t.Fatalf("Pilot after the refusals: %+v %v", g, ok)
			}

			r := f.do(http.MethodPatch, "/api/v1/groups/pilot", `{"name":"Ring 0"}`, nil)
			if r.status != http.StatusOK {
				t.Fatalf("rename: %d %s", r.status, r.body)
			}
			wantJSON(t, "rename answer", decodeObject(t, r), obj{"id": pilotID.String(), "name": "Ring 0", "parent_id": catalog.AllComputersGroupID.String()})
			if g, _ := groupByID(t, f.store, pilotID); g.Name != "Ring 0" {
				t.Errorf("stored name %q, want Ring 0", g.Name)
			}

			// A child blocks the delete of its parent.
			r = f.do(http.MethodPost, "/api/v1/groups", `{"name":"Ring 0 Servers","parent":"Ring 0"}`, nil)
			if r.status != http.StatusCreated {
				t.Fatalf("create child: %d %s", r.status, r.body)
			}
			child := uuid.MustParse(decodeObject(t, r)["id"].(string))
			wantError(t, f.do(http.MethodDelete, "/api/v1/groups/Ring%200", "", nil), 409, "group_has_children", "Ring 0")

			if r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Ring 0"}`, nil); r.status != http.StatusCreated {
				t.Fatalf("approve: %d %s", r.status, r.body)
			}
			if r := f.do(http.MethodPut, "/api/v1/computers/"+clientA+"/groups", `{"groups":["Ring 0"]}`, nil); r.status != http.StatusOK {
				t.Fatalf("assign: %d %s", r.status, r.body)
			}
			for _, path := range []string{"/api/v1/groups/" + child.String(), "/api/v1/groups/Ring%200"} {
				r := f.do(http.MethodDelete, path, "", nil)
				if r.status != http.StatusOK {
					t.Fatalf("delete %s: %d %s", path, r.status, r.body)
				}
			}
			if _, ok := groupByID(t, f.store, pilotID); ok {
				t.Errorf("the deleted group is still stored")
			}
			if _, ok := approvalOf(t, f.store, softwareID, pilotID); ok {
				t.Errorf("the deleted group's approval is still stored")
			}
			c, err := f.store.Computer(ctx, clientA)
			if err != nil || len(c.Groups) != 0 {
				t.Errorf("computer A's groups after the delete = %v, %v", c.Groups, err)
			}
		})
	}
}

// Computers are addressed by client ID, DNS name or host name; a name two
// computers have is refused with 409 ambiguous_computer listing both.
func TestComputersByDNSName(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			ctx := context.Background()
			if got := f.get("/api/v1/computers/ALPHA.contoso.test")["id"]; got != clientA {
				t.Errorf("GET by DNS name: id %v, want %s", got, clientA)
			}
			if got := f.get("/api/v1/computers/beta")["id"]; got != clientB {
				t.Errorf("GET by host name: id %v, want %s", got, clientB)
			}
			r := f.do(http.MethodPut, "/api/v1/computers/alpha.contoso.test/groups", `{"groups":["Pilot"]}`, nil)
			if r.status != http.StatusOK {
				t.Fatalf("PUT groups by DNS name: %d %s", r.status, r.body)
			}
			// A second computer with alpha's host name in another domain.
			const clientC = "0f6a2b4c-0000-4000-8000-00000000000c"
			if err := f.store.RecordAuthorization(ctx, clientC, "alpha.fabrikam.test", nil, t0); err != nil {
				t.Fatal(err)
			}
			wantError(t, f.do(http.MethodGet, "/api/v1/computers/alpha", "", nil), 409, "ambiguous_computer", clientC)
			wantError(t, f.do(http.MethodDelete, "/api/v1/computers/ALPHA", "", nil), 409, "ambiguous_computer", clientA)
			wantError(t, f.do(http.MethodDelete, "/api/v1/computers/gamma.contoso.test", "", nil), 404, "unknown_computer", "gamma")
			if list, _ := f.store.Computers(ctx); len(list) != 3 {
				t.Fatalf("%d computers after refused deletes, want 3", len(list))
			}
			// The full DNS name is unique.
			r = f.do(http.MethodDelete, "/api/v1/computers/alpha.fabrikam.test", "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("delete by DNS name: %d %s", r.status, r.body)
			}
			wantJSON(t, "delete answer", decodeObject(t, r), obj{"dry_run": false, "computers": []obj{
				{"id": clientC, "dns_name": "alpha.fabrikam.test", "last_contact": t0.Format(time.RFC3339)},
			}})
			if _, err := f.store.Computer(ctx, clientC); err == nil {
				t.Errorf("the deleted computer is still stored")
			}
			if r := f.do(http.MethodDelete, "/api/v1/computers/"+clientA, "", nil); r.status != http.StatusOK {
				t.Fatalf("delete by ID: %d %s", r.status, r.body)
			}
			if list, _ := f.store.Computers(ctx); len(list) != 1 || list[0].ID != clientB {
				t.Errorf("computers left = %+v, want B", list)
			}
		})
	}
}

// POST /api/v1/cleanup/computers deletes the computers not contacted for N
// days; a dry run lists them and deletes nothing.
func TestCleanupComputers(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			ctx := context.Background()
			// A computer seen now; A last synced and reported at t1/t2, B
			// was first seen at t0.
			const fresh = "0f6a2b4c-0000-4000-8000-00000000000f"
			if err := f.store.RecordAuthorization(ctx, fresh, "fresh.contoso.test", nil, time.Now()); err != nil {
				t.Fatal(err)
			}
			days := int(time.Since(t0).Hours()/24) - 1 // A and B are older than that
			for _, tc := range []struct{ body, code, reason string }{
				{`{}`, "invalid_days", "required"},
				{`{"not_contacted_days":0}`, "invalid_days", "from 1"},
				{`{"not_contacted_days":36501}`, "invalid_days", "36500"},
			} {
				wantError(t, f.do(http.MethodPost, "/api/v1/cleanup/computers", tc.body, nil), 400, tc.code, tc.reason)
			}
			want := obj{"dry_run": true, "computers": []obj{
				{"id": clientA, "dns_name": "alpha.contoso.test", "last_contact": t2.Format(time.RFC3339)},
				{"id": clientB, "dns_name": "beta.contoso.test", "last_contact": t0.Format(time.RFC3339)},
			}}
			r := f.do(http.MethodPost, "/api/v1/cleanup/computers", `{"not_contacted_days":`+itoa(int64(days))+`,"dry_run":true}`, nil)
			if r.status != http.StatusOK {
				t.Fatalf("dry run: %d %s", r.status, r.body)
			}
			wantJSON(t, "dry run", decodeObject(t, r), want)
			if list, _ := f.store.Computers(ctx); len(list) != 3 {
				t.Fatalf("a dry run deleted: %d computers left", len(list))
			}
			r = f.do(http.MethodPost, "/api/v1/cleanup/computers", `{"not_contacted_days":`+itoa(int64(days+2))+`}`, nil)
			wantJSON(t, "cleanup of nothing", decodeObject(t, r), obj{"dry_run": false, "computers": []obj{}})
			r = f.do(http.MethodPost, "/api/v1/cleanup/computers", `{"not_contacted_days":`+itoa(int64(days))+`}`, nil)
			want["dry_run"] = false
			wantJSON(t, "cleanup", decodeObject(t, r), want)
			if list, _ := f.store.Computers(ctx); len(list) != 1 || list[0].ID != fresh {
				t.Errorf("computers after the cleanup = %+v, want the fresh one", list)
			}
		})
	}
}
