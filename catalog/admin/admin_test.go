package admin_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/sqlite"
)

func TestAuth(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name          string
		authorization string // "" sends none
		wantStatus    int
		wantReason    string
	}{
		{"no header", "", http.StatusUnauthorized, "missing bearer token"},
		{"basic scheme", "Basic YWRtaW46czNjcmV0", http.StatusUnauthorized, "missing bearer token"},
		{"bearer without token", "Bearer", http.StatusUnauthorized, "missing bearer token"},
		{"wrong token", "Bearer nope", http.StatusUnauthorized, "invalid bearer token"},
		{"token prefix", "Bearer s3cret", http.StatusUnauthorized, "invalid bearer token"},
		{"token plus suffix", "Bearer " + testToken + "x", http.StatusUnauthorized, "invalid bearer token"},
		{"right token", "Bearer " + testToken, http.StatusOK, ""},
		{"scheme in lower case", "bearer " + testToken, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct{ method, path, body string }{
				{http.MethodGet, "/api/v1/groups", ""},
				{http.MethodGet, "/api/v1/no-such-endpoint", ""},
				{http.MethodPost, "/api/v1/approvals", `{"update_id":"` + softwareID.String() + `"}`},
			} {
				r := f.do(req.method, req.path, req.body, map[string]string{"Authorization": tt.authorization})
				if tt.wantStatus == http.StatusOK {
					if r.status == http.StatusUnauthorized {
						t.Errorf("%s %s: refused a right token: %s", req.method, req.path, r.body)
					}
					continue
				}
				wantError(t, r, tt.wantStatus, "unauthorized", tt.wantReason)
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("%s %s: WWW-Authenticate = %q, want a Bearer challenge", req.method, req.path, got)
				}
			}
		})
		// Undo the approval a right token made, so every case starts clean.
		if _, err := f.store.SetApproval(context.Background(), catalog.Approval{UpdateID: softwareID, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRefusedApprovalChangesNothing(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`"}`, map[string]string{"Authorization": "Bearer wrong"})
	wantError(t, r, http.StatusUnauthorized, "unauthorized", "invalid bearer token")
	approvals, err := f.store.Approvals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(approvals) != 0 {
		t.Errorf("a refused POST left approvals %+v", approvals)
	}
}

func TestNoTokenDisablesTheAPI(t *testing.T) {
	f := newFixtureWithToken(t, "")
	for _, req := range []struct{ method, path, body, auth string }{
		{http.MethodGet, "/api/v1/groups", "", ""},
		{http.MethodGet, "/api/v1/groups", "", "Bearer "},
		{http.MethodGet, "/api/v1/approvals", "", "Bearer anything"},
		{http.MethodPost, "/api/v1/approvals", `{"update_id":"` + softwareID.String() + `"}`, "Bearer anything"},
		{http.MethodDelete, "/api/v1/nope", "", ""},
	} {
		r := f.do(req.method, req.path, req.body, map[string]string{"Authorization": req.auth})
		wantError(t, r, http.StatusServiceUnavailable, "admin_disabled", "admin API disabled: no admin token configured")
	}
}

// storedApproval returns the only approval in the store.
func storedApproval(t *testing.T, store catalog.Store) catalog.Approval {
	t.Helper()
	approvals, err := store.Approvals(context.Background())
	if err != nil {
		t.Fatalf("store approvals: %v", err)
	}
	if len(approvals) != 1 {
		t.Fatalf("store has %d approvals, want 1: %+v", len(approvals), approvals)
	}
	if approvals[0].ChangedAt.IsZero() || approvals[0].ID == 0 {
		t.Errorf("stored approval has no ID or ChangedAt: %+v", approvals[0])
	}
	return approvals[0]
}

func TestPostApproval(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantUpdate  uuid.UUID
		wantGroup   uuid.UUID
		wantName    string
		wantAction  catalog.ApprovalAction
		wantDL      any // JSON deadline: nil or the string
	}{
		{
			name:       "defaults",
			body:       `{"update_id":"11111111-1111-4111-8111-111111111111"}`,
			wantUpdate: softwareID, wantGroup: catalog.AllComputersGroupID, wantName: "All Computers",
			wantAction: catalog.ActionInstall, wantDL: nil,
		},
		{
			name:        "group by name in another case, uninstall, charset parameter",
			contentType: "application/json; charset=utf-8",
			body:        `{"update_id":"11111111-1111-4111-8111-111111111111","group":"pilot","action":"Uninstall"}`,
			wantUpdate:  softwareID, wantGroup: pilotID, wantName: "Pilot",
			wantAction: catalog.ActionUninstall, wantDL: nil,
		},
		{
			name:       "group by ID, past deadline with offset is kept in UTC",
			body:       `{"update_id":"11111111-1111-4111-8111-111111111111","group":"55555555-5555-4555-8555-555555555555","action":"Install","deadline":"2020-01-02T03:04:05+02:00"}`,
			wantUpdate: softwareID, wantGroup: pilotID, wantName: "Pilot",
			wantAction: catalog.ActionInstall, wantDL: "2020-01-02T01:04:05Z",
		},
		{
			name:       "optional install in another case",
			body:       `{"update_id":"11111111-1111-4111-8111-111111111111","group":"Pilot","action":"optionalinstall"}`,
			wantUpdate: softwareID, wantGroup: pilotID, wantName: "Pilot",
			wantAction: catalog.ActionOptionalInstall, wantDL: nil,
		},
		{
			name:       "driver, braced upper-case GUID, explicit All Computers, future fractional deadline, action in lower case",
			body:       `{"update_id":"{22222222-2222-4222-8222-222222222222}","group":"ALL COMPUTERS","action":"install","deadline":"2030-06-01T12:00:00.5Z"}`,
			wantUpdate: driverID, wantGroup: catalog.AllComputersGroupID, wantName: "All Computers",
			wantAction: catalog.ActionInstall, wantDL: "2030-06-01T12:00:00.5Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			headers := map[string]string{}
			if tt.contentType != "" {
				headers["Content-Type"] = tt.contentType
			}
			r := f.do(http.MethodPost, "/api/v1/approvals", tt.body, headers)
			if r.status != http.StatusCreated {
				t.Fatalf("status = %d, want 201; body %s", r.status, r.body)
			}
			got := decodeObject(t, r)
			// The approval is in the store as soon as the answer is.
			a := storedApproval(t, f.store)
			if a.UpdateID != tt.wantUpdate || a.GroupID != tt.wantGroup || a.Action != tt.wantAction || a.By != "bootstrap" {
				t.Errorf("stored approval = %+v", a)
			}
			wantJSON(t, "answer", got, obj{
				"id":         a.ID,
				"update_id":  tt.wantUpdate.String(),
				"group_id":   tt.wantGroup.String(),
				"group":      tt.wantName,
				"action":     string(tt.wantAction),
				"deadline":   tt.wantDL,
				"changed_at": a.ChangedAt.UTC().Format(time.RFC3339Nano),
				"by":         "bootstrap",
				"in_force":   true,
			})
		})
	}
}

func TestNotApproved(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Pilot"}`, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("approve: status %d, body %s", r.status, r.body)
	}
	want := obj{
		"update_id": softwareID.String(),
		"group_id":  pilotID.String(),
		"group":     "Pilot",
		"action":    "NotApproved",
	}
	// Removing twice is fine: the second finds nothing to remove.
	for i := range 2 {
		r = f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Pilot","action":"NotApproved"}`, nil)
		if r.status != http.StatusOK {
			t.Fatalf("unapprove %d: status %d, body %s", i, r.status, r.body)
		}
		wantJSON(t, "answer", decodeObject(t, r), want)
		approvals, err := f.store.Approvals(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(approvals) != 0 {
			t.Errorf("unapprove %d left approvals %+v", i, approvals)
		}
	}
	// A category can always be unapproved, though never approved.
	r = f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+categoryID.String()+`","action":"NotApproved"}`, nil)
	if r.status != http.StatusOK {
		t.Errorf("unapprove category: status %d, body %s", r.status, r.body)
	}
}

func TestPostApprovalErrors(t *testing.T) {
	sw := softwareID.String()
	tooBig := `{"update_id":"` + sw + `","group":"` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name        string
		contentType string // "-" sends none
		body        string
		status      int
		code        string
		reason      string
	}{
		{"no content type", "-", `{"update_id":"` + sw + `"}`, 415, "unsupported_media_type", "application/json"},
		{"text/plain", "text/plain", `{"update_id":"` + sw + `"}`, 415, "unsupported_media_type", `"text/plain"`},
		{"form", "application/x-www-form-urlencoded", `update_id=` + sw, 415, "unsupported_media_type", "application/json"},
		{"empty body", "", "", 400, "bad_json", "empty"},
		{"truncated JSON", "", `{"update_id":`, 400, "bad_json", "not a valid request"},
		{"not an object", "", `["` + sw + `"]`, 400, "bad_json", "not a valid request"},
		{"unknown field", "", `{"update_id":"` + sw + `","groop":"Pilot"}`, 400, "bad_json", `unknown field "groop"`},
		{"wrong field type", "", `{"update_id":5}`, 400, "bad_json", "update_id"},
		{"two objects", "", `{"update_id":"` + sw + `"}{"update_id":"` + sw + `"}`, 400, "bad_json", "data after the JSON object"},
		{"trailing garbage", "", `{"update_id":"` + sw + `"} x`, 400, "bad_json", "data after the JSON object"},
		{"body over 1 MiB", "", tooBig, 413, "body_too_large", "1048576 bytes"},
		{"missing update_id", "", `{}`, 400, "invalid_update_id", "update_id is required"},
		{"update_id not a GUID", "", `{"update_id":"KB5050001"}`, 400, "invalid_update_id", `"KB5050001" is not a GUID`},
		{"unknown action", "", `{"update_id":"` + sw + `","action":"Approve"}`, 400, "invalid_action", `"Approve"`},
		{"deadline not RFC 3339", "", `{"update_id":"` + sw + `","deadline":"2026-03-01 10:00:00"}`, 400, "invalid_deadline", "RFC 3339"},
		{"deadline a word", "", `{"update_id":"` + sw + `","deadline":"tomorrow"}`, 400, "invalid_deadline", `"tomorrow"`},
		{"deadline with NotApproved", "", `{"update_id":"` + sw + `","action":"NotApproved","deadline":"2030-01-01T00:00:00Z"}`, 400, "invalid_deadline", "NotApproved"},
		{"deadline in year 0", "", `{"update_id":"` + sw + `","deadline":"0000-01-01T00:00:00Z"}`, 400, "invalid_deadline", "outside the years 1 to 9999"},
		{"deadline the zero time", "", `{"update_id":"` + sw + `","deadline":"0001-01-01T00:00:00Z"}`, 400, "invalid_deadline", "outside the years 1 to 9999"},
		{"unknown update", "", `{"update_id":"` + unknownID.String() + `"}`, 404, "unknown_update", unknownID.String()},
		{"unknown group name", "", `{"update_id":"` + sw + `","group":"Canary"}`, 404, "unknown_group", `"Canary"`},
		{"unknown group ID", "", `{"update_id":"` + sw + `","group":"` + unknownID.String() + `"}`, 404, "unknown_group", unknownID.String()},
		{"category", "", `{"update_id":"` + categoryID.String() + `"}`, 400, "not_approvable", "is a Category"},
		{"detectoid", "", `{"update_id":"` + detectoidID.String() + `","action":"Uninstall"}`, 400, "not_approvable", "is a Detectoid"},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{}
			switch tt.contentType {
			case "-":
				headers["Content-Type"] = ""
			case "":
				headers["Content-Type"] = "application/json"
			default:
				headers["Content-Type"] = tt.contentType
			}
			r := f.do(http.MethodPost, "/api/v1/approvals", tt.body, headers)
			wantError(t, r, tt.status, tt.code, tt.reason)
			approvals, err := f.store.Approvals(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(approvals) != 0 {
				t.Errorf("a refused POST left approvals %+v", approvals)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		method, path string
		status       int
		code, reason string
		allow        string
	}{
		{http.MethodDelete, "/api/v1/approvals", 405, "method_not_allowed", "DELETE is not allowed on /api/v1/approvals", "GET, HEAD, POST"},
		{http.MethodPut, "/api/v1/computers", 405, "method_not_allowed", "PUT", "GET, HEAD"},
		{http.MethodPost, "/api/v1/computers/" + clientA, 405, "method_not_allowed", "POST", "DELETE, GET, HEAD"},
		{http.MethodPost, "/api/v1/updates", 405, "method_not_allowed", "POST", "GET, HEAD"},
		{http.MethodPatch, "/api/v1/groups", 405, "method_not_allowed", "PATCH", "GET, HEAD, POST"},
		{http.MethodGet, "/api/v1/updates/" + softwareID.String() + "/decline", 405, "method_not_allowed", "GET", "POST"},
		{http.MethodPut, "/api/v1/updates/" + softwareID.String() + "/undecline", 405, "method_not_allowed", "PUT", "POST"},
		{http.MethodGet, "/api/v1/computers/" + clientA + "/groups", 405, "method_not_allowed", "GET", "PUT"},
		{http.MethodPost, "/api/v1/updates/" + softwareID.String() + "/reject", 404, "not_found", "/reject", ""},
		{http.MethodGet, "/api/v1/updates?declined=perhaps", 400, "bad_query", `declined "perhaps"`, ""},
		{http.MethodGet, "/api/v1/nope", 404, "not_found", "/api/v1/nope", ""},
		{http.MethodGet, "/api/v1/approvals/", 404, "not_found", "/api/v1/approvals/", ""},
		{http.MethodGet, "/api/v1/computers/no-such-client", 404, "unknown_computer", `"no-such-client"`, ""},
		{http.MethodGet, "/api/v1/updates?type=Bogus", 400, "bad_query", `type "Bogus"`, ""},
		{http.MethodGet, "/api/v1/updates?approved=maybe", 400, "bad_query", `approved "maybe"`, ""},
		{http.MethodGet, "/api/v1/updates?tipe=Software", 400, "bad_query", `"tipe"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := f.do(tt.method, tt.path, "", nil)
			wantError(t, r, tt.status, tt.code, tt.reason)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestStoreFailureIs500(t *testing.T) {
	f := newFixture(t)
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/groups", ""},
		{http.MethodGet, "/api/v1/approvals", ""},
		{http.MethodGet, "/api/v1/computers", ""},
		{http.MethodGet, "/api/v1/computers/" + clientA, ""},
		{http.MethodGet, "/api/v1/updates", ""},
		{http.MethodPost, "/api/v1/approvals", `{"update_id":"` + softwareID.String() + `"}`},
		{http.MethodPost, "/api/v1/updates/" + softwareID.String() + "/decline", ""},
		{http.MethodPost, "/api/v1/updates/" + softwareID.String() + "/undecline", "{}"},
		{http.MethodPost, "/api/v1/groups", `{"name":"Ring1"}`},
		{http.MethodPut, "/api/v1/computers/" + clientA + "/groups", `{"groups":["Pilot"]}`},
	} {
		r := f.do(req.method, req.path, req.body, nil)
		wantError(t, r, http.StatusInternalServerError, "store_error", "store failed")
	}
	if log := f.log.String(); strings.Count(log, "admin: store failure") != 10 {
		t.Errorf("want 10 logged store failures, log:\n%s", log)
	}
}

func TestListApprovals(t *testing.T) {
	f := newFixture(t)
	if got := f.get("/api/v1/approvals"); fmt.Sprint(got) != "map[approvals:[]]" {
		t.Errorf("empty list = %v, want {\"approvals\":[]}", got)
	}
	for _, body := range []string{
		`{"update_id":"` + softwareID.String() + `","group":"Pilot","action":"Install"}`,
		`{"update_id":"` + driverID.String() + `","deadline":"2026-04-01T00:00:00Z"}`,
		// Replaces the first one: a new deployment ID.
		`{"update_id":"` + softwareID.String() + `","group":"Pilot","action":"Uninstall"}`,
	} {
		if r := f.do(http.MethodPost, "/api/v1/approvals", body, nil); r.status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", body, r.status, r.body)
		}
	}
	stored, err := f.store.Approvals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byUpdate := map[uuid.UUID]catalog.Approval{}
	for _, a := range stored {
		byUpdate[a.UpdateID] = a
	}
	drv, sw := byUpdate[driverID], byUpdate[softwareID]
	if len(stored) != 2 || drv.ID == 0 || sw.ID <= drv.ID {
		t.Fatalf("stored approvals = %+v, want the driver's then the replaced software one", stored)
	}
	wantJSON(t, "approvals", f.get("/api/v1/approvals"), obj{"approvals": []obj{
		{
			"id": drv.ID, "update_id": driverID.String(), "group_id": catalog.AllComputersGroupID.String(),
			"group": "All Computers", "action": "Install", "deadline": "2026-04-01T00:00:00Z",
			"changed_at": drv.ChangedAt.UTC().Format(time.RFC3339Nano), "by": "bootstrap", "in_force": true,
		},
		{
			"id": sw.ID, "update_id": softwareID.String(), "group_id": pilotID.String(),
			"group": "Pilot", "action": "Uninstall", "deadline": nil,
			"changed_at": sw.ChangedAt.UTC().Format(time.RFC3339Nano), "by": "bootstrap", "in_force": true,
		},
	}})
}

// computerA and computerB are the computers of the fixture as the API
// lists them.
var (
	computerA = obj{
		"id": clientA, "dns_name": "alpha.contoso.test", "registered": true,
		"os_description": "Windows 11 Pro", "os_version": "10.0.26200", "architecture": "AMD64",
		"manufacturer": "Contoso", "model": "Virtual Machine", "client_version": "1183.2601.14012.0",
		"requested_groups": []string{"Pilot"}, "groups": []obj{},
		"first_seen": "2026-03-01T10:00:00Z", "last_sync": "2026-03-01T10:05:00Z",
		"last_report": "2026-03-01T10:10:00Z", "last_status": "2026-03-01T10:10:00Z",
		"computer_info": obj{
			"dns_name": "alpha.contoso.test", "os_major_version": 10, "os_minor_version": 0, "os_build_number": 26200,
			"os_service_pack_major_number": 1, "os_service_pack_minor_number": 0, "os_locale": "en-US",
			"computer_manufacturer": "Contoso", "computer_model": "Virtual Machine", "bios_version": "VRTUAL - 1",
			"bios_name": "Hyper-V UEFI", "bios_release_date": "2023-04-05T00:00:00Z", "processor_architecture": "AMD64",
			"suite_mask": 256, "old_product_type": 1, "new_product_type": 48, "system_metrics": 0,
			"client_version_major_number": 1183, "client_version_minor_number": 2601,
			"client_version_build_number": 14012, "client_version_qfe_number": 0, "os_description": "Windows 11 Pro",
			"oem": "Contoso", "device_type": "Virtual Machine", "firmware_version": "4.1", "mobile_operator": "Not Present",
		},
	}
	// hardwareA is the hardware inventory of computerA, in its detail only.
	hardwareA = obj{
		"reported_at":                "2026-03-01T10:05:00Z",
		"computer_hardware_ids":      []string{"458ab48b-acb9-5863-b5a8-d2c32f0d3e6f"},
		"feature_score_matching_key": "AMD64.10.0",
		"device_count":               2,
		"devices": []obj{
			{"hardware_ids": []string{"microsoftmicrosoft_musd"}, "installed_driver": obj{
				"matching_id": "microsoftmicrosoft_musd", "driver_ver_date": "2006-06-21T00:00:00Z",
				"driver_ver_version": 2814751477604196, "class": "Printer", "manufacturer": "Microsoft",
				"provider": "Microsoft", "model": "Microsoft enhanced Point and Print compatibility driver",
				"matching_computer_hwid": "00000000-0000-0000-0000-000000000000", "driver_rank": -1,
			}},
			{"hardware_ids": []string{`PCI\VEN_1AF4&DEV_1000`}, "compatible_ids": []string{`PCI\CC_0200`}},
		},
	}
	computerB = obj{
		"id": clientB, "dns_name": "beta.contoso.test", "registered": false,
		"os_description": "", "os_version": "", "architecture": "",
		"manufacturer": "", "model": "", "client_version": "",
		"requested_groups": []string{}, "groups": []obj{},
		"first_seen": "2026-03-01T10:00:00Z", "last_sync": nil,
		"last_report": nil, "last_status": nil, "computer_info": nil,
	}
)

func TestComputers(t *testing.T) {
	f := newFixture(t)
	withCounts := func(c obj, updates obj) obj {
		out := obj{"updates": updates}
		for k, v := range c {
			out[k] = v
		}
		return out
	}
	wantJSON(t, "computers", f.get("/api/v1/computers"), obj{"computers": []obj{
		withCounts(computerA, obj{"installed": 1, "needed": 0, "failed": 0, "not_applicable": 1, "no_status": 0}),
		withCounts(computerB, obj{"installed": 0, "needed": 0, "failed": 0, "not_applicable": 0, "no_status": 0}),
	}, "total": 2, "limit": 100, "offset": 0})
}

func TestComputer(t *testing.T) {
	f := newFixture(t)
	withDetail := func(c obj, updates []obj, events int, hardware any) obj {
		out := obj{"updates": updates, "events": events, "hardware": hardware}
		for k, v := range c {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		id   string
		want obj
	}{
		{clientA, withDetail(computerA, []obj{
			{"update_id": softwareID.String(), "title": "2026-03 Cumulative Update", "kb_article_id": "5050001",
				"state": "Installed", "error_code": "", "changed_at": "2026-03-01T10:10:00Z"},
			{"update_id": driverID.String(), "title": "Contoso Net driver", "kb_article_id": "",
				"state": "NotApplicable", "error_code": "", "changed_at": "2026-03-01T10:10:00Z"},
		}, 2, hardwareA)},
		{clientB, withDetail(computerB, []obj{}, 0, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			wantJSON(t, "computer", f.get("/api/v1/computers/"+tt.id), tt.want)
		})
	}
}

// GET /api/v1/updates lists one row per update (its newest revision), by
// default Software and Driver updates only, with the approvals and the
// decline an admin set.
func TestUpdates(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		`{"update_id":"` + softwareID.String() + `","group":"Pilot","action":"Uninstall"}`,
		`{"update_id":"` + softwareID.String() + `","deadline":"2026-04-01T00:00:00Z"}`,
	} {
		if r := f.do(http.MethodPost, "/api/v1/approvals", body, nil); r.status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", body, r.status, r.body)
		}
	}
	if r := f.do(http.MethodPost, "/api/v1/updates/"+driverID.String()+"/decline", "", nil); r.status != http.StatusOK {
		t.Fatalf("decline driver: %d %s", r.status, r.body)
	}
	swApprovals := []obj{
		{"group": "All Computers", "group_id": catalog.AllComputersGroupID.String(), "action": "Install", "deadline": "2026-04-01T00:00:00Z"},
		{"group": "Pilot", "group_id": pilotID.String(), "action": "Uninstall", "deadline": nil},
	}
	update := func(rev string, id uuid.UUID, number int, typ, title, kb string, products []obj, declined bool, approvals []obj, computers obj) obj {
		return obj{
			"revision_id": f.rev[rev], "update_id": id.String(), "revision_number": number,
			"type": typ, "category_type": "", "title": title, "kb_article_id": kb,
			"is_leaf": true, "publication_state": "Published", "declined": declined, "approvals": approvals,
			"products": products, "classifications": []obj{}, "msrc_severity": "", "cves": []string{},
			"released": "2026-03-01T10:00:00Z", "superseded": false, "superseded_by": []obj{}, "supersedes": []obj{},
			"bundled_updates": []obj{}, "computers": computers,
		}
	}
	sw := update("sw2", softwareID, 301, "Software", "2026-03 Cumulative Update", "5050001",
		[]obj{{"id": categoryID.String(), "title": "Windows 11"}}, false, swApprovals,
		obj{"installed": 1, "needed": 0, "failed": 0, "not_applicable": 0, "no_status": 1})
	driver := update("driver", driverID, 400, "Driver", "Contoso Net driver", "", []obj{}, true, []obj{},
		obj{"installed": 0, "needed": 0, "failed": 0, "not_applicable": 1, "no_status": 1})

	tests := []struct {
		query string
		want  []obj
	}{
		{"?sort=title", []obj{sw, driver}},
		{"?type=Software", []obj{sw}},
		{"?type=driver", []obj{driver}},
		{"?approved=true", []obj{sw}},
		{"?approved=false", []obj{driver}},
		{"?type=Driver&approved=true", []obj{}},
		{"?declined=true", []obj{driver}},
		{"?declined=false", []obj{sw}},
		{"?declined=1&approved=false", []obj{driver}},
		{"?type=Software&declined=true", []obj{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			wantJSON(t, "updates", f.get("/api/v1/updates"+tt.query), obj{"updates": tt.want, "total": len(tt.want), "limit": 100, "offset": 0})
		})
	}
	// Categories and detectoids are listed when asked for.
	var titles []string
	for _, u := range f.get("/api/v1/updates?type=Category,Detectoid&sort=title")["updates"].([]any) {
		titles = append(titles, u.(map[string]any)["title"].(string))
	}
	if got := strings.Join(titles, ", "); got != "Windows 11, Windows 11 x64 detectoid" {
		t.Errorf("categories and detectoids: %s", got)
	}
}

func TestGroups(t *testing.T) {
	f := newFixture(t)
	all := catalog.AllComputersGroupID.String()
	wantJSON(t, "groups", f.get("/api/v1/groups"), obj{"groups": []obj{
		{"id": all, "name": "All Computers", "parent_id": nil},
		{"id": pilotID.String(), "name": "Pilot", "parent_id": all},
		{"id": catalog.UnassignedComputersGroupID.String(), "name": "Unassigned Computers", "parent_id": all},
	}})
}

func TestHead(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodHead, "/api/v1/groups", "", nil)
	if r.status != http.StatusOK || len(r.body) != 0 || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD: status %d, body %q, Content-Type %q", r.status, r.body, r.header.Get("Content-Type"))
	}
}

func TestApprovalSurvivesReopen(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+softwareID.String()+`","group":"Pilot","deadline":"2026-04-01T00:00:00Z"}`, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	answered := decodeObject(t, r)
	f.srv.Close()
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	store, err := sqlite.Open(ctx, f.path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer store.Close()
	a := storedApproval(t, store)
	want := catalog.Approval{
		ID: int32(answered["id"].(float64)), UpdateID: softwareID, GroupID: pilotID, Action: catalog.ActionInstall,
		Deadline: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), By: "bootstrap",
	}
	if a.ID != want.ID || a.UpdateID != want.UpdateID || a.GroupID != want.GroupID || a.Action != want.Action ||
		!a.Deadline.Equal(want.Deadline) || a.By != want.By || a.ChangedAt.UTC().Format(time.RFC3339Nano) != answered["changed_at"] {
		t.Errorf("after reopen: %+v, want %+v changed at %v", a, want, answered["changed_at"])
	}

	// A new handler over the reopened store lists it exactly as answered.
	srv := httptest.NewServer(admin.New(store, testToken, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	f.srv = srv
	wantJSON(t, "approvals after reopen", f.get("/api/v1/approvals"), obj{"approvals": []any{answered}})
}
