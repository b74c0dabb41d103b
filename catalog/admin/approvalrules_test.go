package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// approvalOf returns the stored approval of (update, group), or false.
func approvalOf(t *testing.T, store catalog.Store, update, group uuid.UUID) (catalog.Approval, bool) {
	t.Helper()
	list, err := store.Approvals(context.Background())
	if err != nil {
		t.Fatalf("approvals: %v", err)
	}
	for _, a := range list {
		if a.UpdateID == update && a.GroupID == group {
			return a, true
		}
	}
	return catalog.Approval{}, false
}

// Approving a declined update is refused with 409 update_declined and
// changes nothing, unless the request says "undecline": true.
func TestApproveDeclined(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			if r := f.do(http.MethodPost, "/api/v1/updates/"+softwareID.String()+"/decline", "", nil); r.status != http.StatusOK {
				t.Fatalf("decline: %d %s", r.status, r.body)
			}
			r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Pilot"}`, nil)
			wantError(t, r, http.StatusConflict, "update_declined", "undecline")
			if _, ok := approvalOf(t, f.store, softwareID, pilotID); ok {
				t.Errorf("a refused approval was stored")
			}
			if got := declined(t, f.store); len(got) != 1 || got[0] != softwareID {
				t.Errorf("declined = %v, want the software update still", got)
			}
			// Removing an approval of a declined update is allowed.
			r = f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Pilot","action":"NotApproved"}`, nil)
			if r.status != http.StatusOK {
				t.Errorf("unapprove a declined update: %d %s", r.status, r.body)
			}
			r = f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Pilot","undecline":true}`, nil)
			if r.status != http.StatusCreated {
				t.Fatalf("approve with undecline: %d %s", r.status, r.body)
			}
			if got := decodeObject(t, r); got["in_force"] != true || got["action"] != "Install" {
				t.Errorf("answer %v, want an Install in force", got)
			}
			if got := declined(t, f.store); len(got) != 0 {
				t.Errorf("declined = %v after undecline:true, want none", got)
			}
			if _, ok := approvalOf(t, f.store, softwareID, pilotID); !ok {
				t.Errorf("approval with undecline:true not stored")
			}
		})
	}
}

// GET /api/v1/approvals lists the approvals of a declined update with
// "in_force": false.
func TestApprovalsOfDeclinedNotInForce(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			for _, id := range []uuid.UUID{softwareID, driverID} {
				if r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+id.String()+`"}`, nil); r.status != http.StatusCreated {
					t.Fatalf("approve: %d %s", r.status, r.body)
				}
			}
			if r := f.do(http.MethodPost, "/api/v1/updates/"+driverID.String()+"/decline", "", nil); r.status != http.StatusOK {
				t.Fatalf("decline: %d %s", r.status, r.body)
			}
			got := f.get("/api/v1/approvals")["approvals"].([]any)
			inForce := map[string]any{}
			for _, a := range got {
				a := a.(map[string]any)
				inForce[a["update_id"].(string)] = a["in_force"]
			}
			if inForce[softwareID.String()] != true || inForce[driverID.String()] != false || len(inForce) != 2 {
				t.Errorf("in_force by update = %v, want the software's true, the declined driver's false", inForce)
			}
		})
	}
}

// A re-approval without "deadline" keeps the approval's deadline; with
// "deadline": null or "" it removes it; with a time it replaces it.
func TestReapprovalKeepsDeadline(t *testing.T) {
	d1 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	d2 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		body string
		want time.Time
	}{
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot","deadline":"2026-04-01T00:00:00Z"}`, d1},
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot","action":"OptionalInstall"}`, d1},
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot"}`, d1},
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot","deadline":"2026-05-01T00:00:00Z"}`, d2},
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot","deadline":null}`, time.Time{}},
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot","deadline":"2026-04-01T00:00:00Z"}`, d1},
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot","deadline":""}`, time.Time{}},
		{`{"update_id":"` + softwareID.String() + `","group":"Pilot"}`, time.Time{}},
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			f := newFixtureOn(t, engine, testToken)
			for i, s := range steps {
				r := f.do(http.MethodPost, "/api/v1/approvals", s.body, nil)
				if r.status != http.StatusCreated {
					t.Fatalf("step %d %s: %d %s", i, s.body, r.status, r.body)
				}
				var wantDL any
				if !s.want.IsZero() {
					wantDL = s.want.Format(time.RFC3339)
				}
				if got := decodeObject(t, r)["deadline"]; got != wantDL {
					t.Errorf("step %d %s: answered deadline %v, want %v", i, s.body, got, wantDL)
				}
				a, ok := approvalOf(t, f.store, softwareID, pilotID)
				if !ok || !a.Deadline.Equal(s.want) {
					t.Errorf("step %d %s: stored %+v, want deadline %v", i, s.body, a, s.want)
				}
			}
			// A deadline with NotApproved stays refused; null with it is fine.
			r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","action":"NotApproved","deadline":"2026-04-01T00:00:00Z"}`, nil)
			wantError(t, r, http.StatusBadRequest, "invalid_deadline", "NotApproved")
			r = f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Pilot","action":"NotApproved","deadline":null}`, nil)
			if r.status != http.StatusOK {
				t.Errorf("NotApproved with deadline null: %d %s", r.status, r.body)
			}
		})
	}
}

// failingApprovals is the real store whose SetApproval fails.
type failingApprovals struct{ catalog.Store }

func (failingApprovals) SetApproval(context.Context, catalog.Approval) (catalog.Approval, error) {
	return catalog.Approval{}, errors.New("disk full")
}

// An "undecline": true approval whose approval fails declines the update
// again: the failed request leaves it as it was.
func TestUndeclineRolledBackWhenApprovalFails(t *testing.T) {
	f := newFixture(t)
	if err := f.store.SetDeclined(context.Background(), softwareID, true); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.NewWith(failingApprovals{f.store}, admin.Options{Token: testToken, FailureLimit: 1 << 20}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/approvals", strings.NewReader(`{"update_id":"`+softwareID.String()+`","undecline":true}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	if got := declined(t, f.store); len(got) != 1 || got[0] != softwareID {
		t.Errorf("declined after the failed approval = %v, want the update declined again", got)
	}
}
