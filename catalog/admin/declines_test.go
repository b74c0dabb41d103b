package admin_test

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// declined returns the IDs of the updates the store holds declined, in
// string order.
func declined(t *testing.T, store catalog.Store) []uuid.UUID {
	t.Helper()
	states, err := store.UpdateStates(context.Background())
	if err != nil {
		t.Fatalf("update states: %v", err)
	}
	var out []uuid.UUID
	for _, st := range states {
		if st.Declined {
			out = append(out, st.UpdateID)
		}
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func TestDecline(t *testing.T) {
	type step struct {
		verb    string // decline or undecline
		id      uuid.UUID
		ref     string // the ID in the path; id.String() when empty
		body    string
		headers map[string]string
		want    bool // the answer's declined
	}
	sw, drv, cat := softwareID, driverID, categoryID
	tests := []struct {
		name  string
		steps []step
		// wantDeclined is what the store holds declined after the steps.
		wantDeclined []uuid.UUID
	}{
		{"decline without a body", []step{{verb: "decline", id: sw, want: true}}, []uuid.UUID{sw}},
		{"decline with {}", []step{{verb: "decline", id: drv, body: "{}", want: true}}, []uuid.UUID{drv}},
		{"decline with white space, any content type", []step{{verb: "decline", id: sw, body: " \n", headers: map[string]string{"Content-Type": "text/plain"}, want: true}}, []uuid.UUID{sw}},
		{"braced upper-case ID", []step{
			{verb: "decline", id: sw, want: true},
			{verb: "decline", id: drv, ref: "{" + strings.ToUpper(drv.String()) + "}", want: true},
			{verb: "undecline", id: drv, ref: strings.ToUpper(drv.String()), want: false},
		}, []uuid.UUID{sw}},
		{"decline twice", []step{{verb: "decline", id: sw, want: true}, {verb: "decline", id: sw, body: "{}", want: true}}, []uuid.UUID{sw}},
		{"decline then undecline", []step{{verb: "decline", id: sw, want: true}, {verb: "undecline", id: sw, want: false}}, nil},
		{"undecline a never declined update", []step{{verb: "undecline", id: drv, want: false}}, nil},
		{"undecline a category", []step{{verb: "undecline", id: cat, body: "{}", want: false}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, s := range tt.steps {
				ref := cmp.Or(s.ref, s.id.String())
				r := f.do(http.MethodPost, "/api/v1/updates/"+ref+"/"+s.verb, s.body, s.headers)
				if r.status != http.StatusOK {
					t.Fatalf("%s %s: status %d, body %s", s.verb, ref, r.status, r.body)
				}
				wantJSON(t, s.verb+" "+ref, decodeObject(t, r), obj{"update_id": s.id.String(), "declined": s.want})
			}
			if got := declined(t, f.store); !slices.Equal(got, tt.wantDeclined) {
				t.Errorf("declined in the store: %v, want %v", got, tt.wantDeclined)
			}
		})
	}
}

// A declined update keeps its approvals: GET /updates lists them beside
// "declined":true, GET /approvals as not in force, and un-declining brings
// them back in force unchanged.
func TestDeclineKeepsApprovals(t *testing.T) {
	f := newFixture(t)
	if r := f.do(http.MethodPost, "/api/v1/approvals", `{"update_id":"`+driverID.String()+`","group":"Pilot","action":"OptionalInstall"}`, nil); r.status != http.StatusCreated {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	before := f.get("/api/v1/approvals")
	approvals := []obj{{"group": "Pilot", "group_id": pilotID.String(), "action": "OptionalInstall", "deadline": nil}}
	driver := func(declined bool) obj {
		return obj{"updates": []obj{{
			"revision_id": f.rev["driver"], "update_id": driverID.String(), "revision_number": 400,
			"type": "Driver", "category_type": "", "title": "Contoso Net driver", "kb_article_id": "",
			"is_leaf": true, "publication_state": "Published", "declined": declined, "approvals": approvals,
			"products": []obj{}, "classifications": []obj{}, "msrc_severity": "", "cves": []string{},
			"released": "2026-03-01T10:00:00Z", "superseded": false, "superseded_by": []obj{}, "supersedes": []obj{},
			"bundled_updates": []obj{},
			"computers":       obj{"installed": 0, "needed": 0, "failed": 0, "not_applicable": 1, "no_status": 1},
		}}, "total": 1, "limit": 100, "offset": 0}
	}
	for _, step := range []struct {
		verb     string
		declined bool
	}{{"decline", true}, {"undecline", false}} {
		if r := f.do(http.MethodPost, "/api/v1/updates/"+driverID.String()+"/"+step.verb, "", nil); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", step.verb, r.status, r.body)
		}
		wantJSON(t, "updates after "+step.verb, f.get("/api/v1/updates?type=Driver"), driver(step.declined))
		want := jsonValue(t, before).(map[string]any)
		want["approvals"].([]any)[0].(map[string]any)["in_force"] = !step.declined
		wantJSON(t, "approvals after "+step.verb, f.get("/api/v1/approvals"), want)
	}
}

func TestDeclineErrors(t *testing.T) {
	sw := softwareID.String()
	tests := []struct {
		name    string
		path    string
		body    string
		headers map[string]string
		status  int
		code    string
		reason  string
	}{
		{"update ID not a GUID", "/api/v1/updates/KB5050001/decline", "", nil, 400, "invalid_update_id", `"KB5050001" is not a GUID`},
		{"unknown update", "/api/v1/updates/" + unknownID.String() + "/decline", "", nil, 404, "unknown_update", unknownID.String()},
		{"undecline an unknown update", "/api/v1/updates/" + unknownID.String() + "/undecline", "{}", nil, 404, "unknown_update", unknownID.String()},
		{"category", "/api/v1/updates/" + categoryID.String() + "/decline", "", nil, 400, "not_declinable", "is a Category"},
		{"detectoid", "/api/v1/updates/" + detectoidID.String() + "/decline", "{}", nil, 400, "not_declinable", "is a Detectoid"},
		{"unknown field", "/api/v1/updates/" + sw + "/decline", `{"reason":"superseded"}`, nil, 400, "bad_json", `unknown field "reason"`},
		{"not an object", "/api/v1/updates/" + sw + "/decline", `[]`, nil, 400, "bad_json", "not a valid request"},
		{"two objects", "/api/v1/updates/" + sw + "/decline", `{}{}`, nil, 400, "bad_json", "data after the JSON object"},
		{"body not JSON", "/api/v1/updates/" + sw + "/decline", `yes`, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", `"text/plain"`},
		{"body over 1 MiB", "/api/v1/updates/" + sw + "/decline", `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, nil, 413, "body_too_large", "1048576 bytes"},
		{"white space over 1 MiB", "/api/v1/updates/" + sw + "/decline", strings.Repeat(" ", 1<<20+1), nil, 413, "body_too_large", "1048576 bytes"},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(http.MethodPost, tt.path, tt.body, tt.headers)
			wantError(t, r, tt.status, tt.code, tt.reason)
			if got := declined(t, f.store); len(got) != 0 {
				t.Errorf("a refused request left declined updates %v", got)
			}
		})
	}
}
