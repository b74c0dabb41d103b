package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// POST /api/v1/bulk: approve, unapprove, decline and undecline a list or a
// filter's updates; a bad request changes nothing, a failing item is
// reported in its place without stopping the others.
func TestBulk(t *testing.T) {
	sw, drv := softwareID.String(), driverID.String()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			ctx := context.Background()
			for _, tc := range []struct{ body, code, reason string }{
				{`{"operation":"promote","update_ids":["` + sw + `"]}`, "invalid_operation", "promote"},
				{`{"operation":"approve"}`, "invalid_bulk", "either"},
				{`{"operation":"approve","update_ids":["` + sw + `"],"filter":{"type":"Software"}}`, "invalid_bulk", "either"},
				{`{"operation":"approve","update_ids":[]}`, "invalid_bulk", "empty"},
				{`{"operation":"approve","update_ids":["` + sw + `","KB5050001"]}`, "invalid_update_id", "update_ids[1]"},
				{`{"operation":"approve","update_ids":["` + sw + `"],"group":"Nope"}`, "unknown_group", "Nope"},
				{`{"operation":"approve","update_ids":["` + sw + `"],"action":"Later"}`, "invalid_action", "Later"},
				{`{"operation":"approve","update_ids":["` + sw + `"],"deadline":"soon"}`, "invalid_deadline", "soon"},
				{`{"operation":"unapprove","update_ids":["` + sw + `"],"action":"Install"}`, "invalid_bulk", "group only"},
				{`{"operation":"decline","update_ids":["` + sw + `"],"group":"Pilot"}`, "invalid_bulk", "takes no group"},
				{`{"operation":"approve","filter":{}}`, "invalid_filter", "empty"},
				{`{"operation":"approve","filter":{"type":"Category"}}`, "invalid_filter", "Category"},
			} {
				status := 400
				if tc.code == "unknown_group" {
					status = 404
				}
				wantError(t, f.do(http.MethodPost, "/api/v1/bulk", tc.body, nil), status, tc.code, tc.reason)
			}
			if list, _ := f.store.Approvals(ctx); len(list) != 0 {
				t.Fatalf("refused bulk requests stored approvals %+v", list)
			}
			if got := declined(t, f.store); len(got) != 0 {
				t.Fatalf("refused bulk requests declined %v", got)
			}

			// A list with a failure in the middle.
			r := f.do(http.MethodPost, "/api/v1/bulk", `{"operation":"approve","group":"Pilot","action":"OptionalInstall","update_ids":["`+sw+`","`+unknownID.String()+`","`+categoryID.String()+`","`+drv+`"]}`, nil)
			if r.status != http.StatusOK {
				t.Fatalf("bulk approve: %d %s", r.status, r.body)
			}
			got := decodeObject(t, r)
			if got["succeeded"] != 2.0 || got["failed"] != 2.0 {
				t.Errorf("bulk approve answer %v", got)
			}
			items := got["results"].([]any)
			wantItem := func(i int, id uuid.UUID, status float64, code string) {
				t.Helper()
				it := items[i].(map[string]any)
				if it["update_id"] != id.String() || it["status"] != status || (code != "" && it["error"] != code) || (code == "" && it["error"] != nil) {
					t.Errorf("item %d = %v, want %s %v %q", i, it, id, status, code)
				}
			}
			wantItem(0, softwareID, 201, "")
			wantItem(1, unknownID, 404, "unknown_update")
			wantItem(2, categoryID, 400, "not_approvable")
			wantItem(3, driverID, 201, "")
			for _, id := range []uuid.UUID{softwareID, driverID} {
				if a, ok := approvalOf(t, f.store, id, pilotID); !ok || a.Action != catalog.ActionOptionalInstall {
					t.Errorf("approval of %s after bulk approve: %+v %v", id, a, ok)
				}
			}

			// Decline by filter: the driver only.
			r = f.do(http.MethodPost, "/api/v1/bulk", `{"operation":"decline","filter":{"type":"driver"}}`, nil)
			if got := decodeObject(t, r); r.status != 200 || got["succeeded"] != 1.0 || got["failed"] != 0.0 {
				t.Fatalf("bulk decline by filter: %d %v", r.status, got)
			}
			if got := declined(t, f.store); len(got) != 1 || got[0] != driverID {
				t.Errorf("declined after bulk decline = %v, want the driver", got)
			}
			// Approving a declined one fails per item without undecline.
			r = f.do(http.MethodPost, "/api/v1/bulk", `{"operation":"approve","update_ids":["`+drv+`","`+sw+`"]}`, nil)
			items = decodeObject(t, r)["results"].([]any)
			wantItem(0, driverID, 409, "update_declined")
			wantItem(1, softwareID, 201, "")
			// Undecline and unapprove by filter (KB, title).
			r = f.do(http.MethodPost, "/api/v1/bulk", `{"operation":"undecline","filter":{"declined":true}}`, nil)
			if got := decodeObject(t, r); got["succeeded"] != 1.0 {
				t.Errorf("bulk undecline: %v", got)
			}
			r = f.do(http.MethodPost, "/api/v1/bulk", `{"operation":"unapprove","group":"Pilot","filter":{"kb":"KB5050001","title":"cumulative"}}`, nil)
			items = decodeObject(t, r)["results"].([]any)
			if len(items) != 1 {
				t.Fatalf("unapprove by filter: %v", items)
			}
			wantItem(0, softwareID, 200, "")
			if _, ok := approvalOf(t, f.store, softwareID, pilotID); ok {
				t.Errorf("the software update is still approved for Pilot")
			}
			if _, ok := approvalOf(t, f.store, driverID, pilotID); !ok {
				t.Errorf("the driver's Pilot approval went with the software's")
			}
		})
	}
}
