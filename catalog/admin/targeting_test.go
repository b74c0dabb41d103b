package admin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/sqlite"
)

// ring1ID is a group some targeting tests add under Pilot.
var ring1ID = uuid.MustParse("66666666-6666-4666-8666-666666666666")

func (f *fixture) addRing1() {
	f.t.Helper()
	if err := f.store.CreateTargetGroup(context.Background(), catalog.TargetGroup{ID: ring1ID, Name: "Ring1", ParentID: pilotID}); err != nil {
		f.t.Fatalf("create Ring1: %v", err)
	}
}

// storeGroups returns the store's target groups.
func storeGroups(t *testing.T, store catalog.Store) []catalog.TargetGroup {
	t.Helper()
	groups, err := store.TargetGroups(context.Background())
	if err != nil {
		t.Fatalf("target groups: %v", err)
	}
	return groups
}

// computerGroups returns the groups the store has the computer assigned to.
func computerGroups(t *testing.T, store catalog.Store, clientID string) []uuid.UUID {
	t.Helper()
	c, err := store.Computer(context.Background(), clientID)
	if err != nil {
		t.Fatalf("computer %s: %v", clientID, err)
	}
	return c.Groups
}

func TestCreateGroup(t *testing.T) {
	all := catalog.AllComputersGroupID
	tests := []struct {
		name        string
		contentType string
		body        string
		wantName    string
		wantParent  uuid.UUID
	}{
		{"default parent", "", `{"name":"Ring1"}`, "Ring1", all},
		{"parent by name in another case", "", `{"name":"Ring 2","parent":"PILOT"}`, "Ring 2", pilotID},
		{"parent by ID, charset parameter", "application/json; charset=utf-8", `{"name":"Canary","parent":"` + pilotID.String() + `"}`, "Canary", pilotID},
		{"explicit All Computers by braced ID", "", `{"name":"Servers","parent":"{` + all.String() + `}"}`, "Servers", all},
		{"surrounding white space is dropped", "", `{"name":"  Ring1\t"}`, "Ring1", all},
		{"256 characters", "", `{"name":"` + strings.Repeat("é", 256) + `"}`, strings.Repeat("é", 256), all},
		{"a name only differing from a built-in", "", `{"name":"All Computers 2"}`, "All Computers 2", all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			headers := map[string]string{}
			if tt.contentType != "" {
				headers["Content-Type"] = tt.contentType
			}
			r := f.do(http.MethodPost, "/api/v1/groups", tt.body, headers)
			if r.status != http.StatusCreated {
				t.Fatalf("status %d, want 201; body %s", r.status, r.body)
			}
			got := decodeObject(t, r)
			id, err := uuid.Parse(got["id"].(string))
			if err != nil || id == uuid.Nil || id == pilotID || id == all || id == catalog.UnassignedComputersGroupID {
				t.Fatalf("answer id %v is not a new GUID", got["id"])
			}
			wantJSON(t, "answer", got, obj{"id": id.String(), "name": tt.wantName, "parent_id": tt.wantParent.String()})
			want := catalog.TargetGroup{ID: id, Name: tt.wantName, ParentID: tt.wantParent}
			if groups := storeGroups(t, f.store); len(groups) != 4 || !slices.Contains(groups, want) {
				t.Errorf("store groups %+v, want the three of the fixture and %+v", groups, want)
			}
			listed := f.get("/api/v1/groups")["groups"].([]any)
			if !slices.ContainsFunc(listed, func(g any) bool { return g.(map[string]any)["id"] == id.String() }) {
				t.Errorf("GET /groups does not list the new group: %v", listed)
			}
		})
	}
}

func TestCreateGroupErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string // "-" sends none
		body        string
		status      int
		code        string
		reason      string
	}{
		{"no content type", "-", `{"name":"Ring1"}`, 415, "unsupported_media_type", "application/json"},
		{"empty body", "", "", 400, "bad_json", "empty"},
		{"unknown field", "", `{"name":"Ring1","parent_id":"` + pilotID.String() + `"}`, 400, "bad_json", `unknown field "parent_id"`},
		{"name not a string", "", `{"name":1}`, 400, "bad_json", "name"},
		{"no name", "", `{"parent":"Pilot"}`, 400, "invalid_name", "name is required"},
		{"white space name", "", `{"name":" \t "}`, 400, "invalid_name", "name is required"},
		{"257 characters", "", `{"name":"` + strings.Repeat("é", 257) + `"}`, 400, "invalid_name", "257 characters long; at most 256"},
		{"control character", "", `{"name":"Ring\u00071"}`, 400, "invalid_name", "control character"},
		{"line break inside", "", `{"name":"Ring\n1"}`, 400, "invalid_name", "control character"},
		{"a GUID as name", "", `{"name":"` + unknownID.String() + `"}`, 400, "invalid_name", "is a GUID"},
		{"a braced GUID as name", "", `{"name":"{` + unknownID.String() + `}"}`, 400, "invalid_name", "is a GUID"},
		{"duplicate in another case", "", `{"name":"pilot"}`, 409, "group_exists", `already named "Pilot" (` + pilotID.String() + ")"},
		{"duplicate after trimming", "", `{"name":" Pilot "}`, 409, "group_exists", `"Pilot"`},
		{"duplicate of All Computers", "", `{"name":"ALL COMPUTERS","parent":"Pilot"}`, 409, "group_exists", `"All Computers"`},
		{"duplicate of Unassigned Computers", "", `{"name":"Unassigned computers"}`, 409, "group_exists", `"Unassigned Computers"`},
		{"unknown parent name", "", `{"name":"Ring1","parent":"Ring0"}`, 404, "unknown_group", `"Ring0"`},
		{"unknown parent ID", "", `{"name":"Ring1","parent":"` + unknownID.String() + `"}`, 404, "unknown_group", unknownID.String()},
		{"under Unassigned Computers", "", `{"name":"Ring1","parent":"Unassigned Computers"}`, 400, "invalid_parent", "Unassigned Computers cannot have child groups"},
	}
	f := newFixture(t)
	before := storeGroups(t, f.store)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{"Content-Type": "application/json"}
			if tt.contentType == "-" {
				headers["Content-Type"] = ""
			}
			r := f.do(http.MethodPost, "/api/v1/groups", tt.body, headers)
			wantError(t, r, tt.status, tt.code, tt.reason)
			if after := storeGroups(t, f.store); !slices.Equal(after, before) {
				t.Errorf("a refused POST changed the groups to %+v", after)
			}
		})
	}
}

// Requests racing to create one name: one wins, every other one is told the
// group exists, whether it saw the winner's group when it checked or only
// when the store refused the duplicate.
func TestCreateGroupConcurrently(t *testing.T) {
	f := newFixture(t)
	const n = 8
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		answers = make([]response, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			name := "Ring1"
			if i%2 == 1 {
				name = "RING1"
			}
			answers[i], errs[i] = f.send(http.MethodPost, "/api/v1/groups", `{"name":"`+name+`"}`, nil)
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i, r := range answers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if r.status == http.StatusCreated {
			created++
			continue
		}
		wantError(t, r, http.StatusConflict, "group_exists", "already named")
	}
	if created != 1 {
		t.Errorf("%d requests created the group, want exactly 1", created)
	}
	var named []catalog.TargetGroup
	for _, g := range storeGroups(t, f.store) {
		if strings.EqualFold(g.Name, "ring1") {
			named = append(named, g)
		}
	}
	if len(named) != 1 {
		t.Errorf("store has %d groups named Ring1: %+v", len(named), named)
	}
}

// withGroups returns the computer c as listed with groups.
func withGroups(c obj, groups ...obj) obj {
	out := obj{"groups": append([]obj{}, groups...)}
	for k, v := range c {
		if k != "groups" {
			out[k] = v
		}
	}
	return out
}

func TestSetComputerGroups(t *testing.T) {
	pilot := obj{"id": pilotID.String(), "name": "Pilot"}
	ring1 := obj{"id": ring1ID.String(), "name": "Ring1"}
	type step struct {
		body string
		want []obj // the groups answered
	}
	tests := []struct {
		name      string
		client    string
		computer  obj
		steps     []step
		wantStore []uuid.UUID
	}{
		{"names in another case and IDs, ordered by name", clientA, computerA, []step{
			{`{"groups":["ring1","` + pilotID.String() + `"]}`, []obj{pilot, ring1}},
		}, []uuid.UUID{pilotID, ring1ID}},
		{"a group named several times is assigned once", clientA, computerA, []step{
			{`{"groups":["Pilot","PILOT","{` + strings.ToUpper(pilotID.String()) + `}"," pilot "]}`, []obj{pilot}},
		}, []uuid.UUID{pilotID}},
		{"a new list replaces the old one", clientA, computerA, []step{
			{`{"groups":["Pilot"]}`, []obj{pilot}},
			{`{"groups":["Ring1"]}`, []obj{ring1}},
		}, []uuid.UUID{ring1ID}},
		{"an empty list clears", clientA, computerA, []step{
			{`{"groups":["Pilot","Ring1"]}`, []obj{pilot, ring1}},
			{`{"groups":[]}`, []obj{}},
		}, nil},
		{"clearing an unassigned computer", clientB, computerB, []step{
			{`{"groups":[]}`, []obj{}},
		}, nil},
		{"a computer that never registered", clientB, computerB, []step{
			{`{"groups":["Ring1"]}`, []obj{ring1}},
		}, []uuid.UUID{ring1ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.addRing1()
			var want obj
			for _, s := range tt.steps {
				r := f.do(http.MethodPut, "/api/v1/computers/"+tt.client+"/groups", s.body, nil)
				if r.status != http.StatusOK {
					t.Fatalf("PUT %s: status %d, body %s", s.body, r.status, r.body)
				}
				want = withGroups(tt.computer, s.want...)
				wantJSON(t, "answer to "+s.body, decodeObject(t, r), want)
			}
			if got := computerGroups(t, f.store, tt.client); !slices.Equal(got, tt.wantStore) {
				t.Errorf("store groups %v, want %v", got, tt.wantStore)
			}
			// Both GETs show the groups as the PUT answered them.
			detail := f.get("/api/v1/computers/" + tt.client)
			for _, k := range []string{"updates", "events", "hardware"} {
				delete(detail, k)
			}
			wantJSON(t, "GET computer", detail, want)
			for _, c := range f.get("/api/v1/computers")["computers"].([]any) {
				if c.(map[string]any)["id"] == tt.client {
					delete(c.(map[string]any), "updates") // the counts, as the list has them
					wantJSON(t, "GET computers", c, want)
				}
			}
		})
	}
}

func TestSetComputerGroupsErrors(t *testing.T) {
	tests := []struct {
		name        string
		client      string
		contentType string // "-" sends none
		body        string
		status      int
		code        string
		reason      string
	}{
		{"unknown computer", "nobody", "", `{"groups":["Pilot"]}`, 404, "unknown_computer", `"nobody"`},
		{"unknown computer, clearing", "nobody", "", `{"groups":[]}`, 404, "unknown_computer", `"nobody"`},
		{"unknown group name after a known one", clientA, "", `{"groups":["Ring1","Canary"]}`, 404, "unknown_group", `"Canary"`},
		{"unknown group ID", clientA, "", `{"groups":["` + unknownID.String() + `"]}`, 404, "unknown_group", unknownID.String()},
		{"All Computers", clientA, "", `{"groups":["Ring1","all computers"]}`, 400, "not_assignable", "every computer is in All Computers"},
		{"All Computers by ID", clientA, "", `{"groups":["` + catalog.AllComputersGroupID.String() + `"]}`, 400, "not_assignable", "All Computers"},
		{"Unassigned Computers", clientA, "", `{"groups":["Unassigned Computers"]}`, 400, "not_assignable", `send "groups":[] instead`},
		{"no groups field", clientA, "", `{}`, 400, "invalid_groups", "groups is required"},
		{"groups null", clientA, "", `{"groups":null}`, 400, "invalid_groups", "groups is required"},
		{"an empty reference", clientA, "", `{"groups":["Ring1"," "]}`, 400, "invalid_groups", "groups[1] is empty"},
		{"a null reference", clientA, "", `{"groups":[null]}`, 400, "invalid_groups", "groups[0] is empty"},
		{"groups not a list", clientA, "", `{"groups":"Ring1"}`, 400, "bad_json", "groups"},
		{"unknown field", clientA, "", `{"group":["Ring1"]}`, 400, "bad_json", `unknown field "group"`},
		{"empty body", clientA, "", "", 400, "bad_json", "empty"},
		{"no content type", clientA, "-", `{"groups":["Ring1"]}`, 415, "unsupported_media_type", "application/json"},
	}
	f := newFixture(t)
	f.addRing1()
	if err := f.store.SetComputerGroups(context.Background(), clientA, []uuid.UUID{pilotID}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{"Content-Type": "application/json"}
			if tt.contentType == "-" {
				headers["Content-Type"] = ""
			}
			r := f.do(http.MethodPut, "/api/v1/computers/"+tt.client+"/groups", tt.body, headers)
			wantError(t, r, tt.status, tt.code, tt.reason)
			if got := computerGroups(t, f.store, clientA); !slices.Equal(got, []uuid.UUID{pilotID}) {
				t.Errorf("a refused PUT changed the groups to %v", got)
			}
		})
	}
}

func TestTargetingSurvivesReopen(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodPost, "/api/v1/groups", `{"name":"Ring1","parent":"Pilot"}`, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create group: %d %s", r.status, r.body)
	}
	var group admin.Group
	if err := json.Unmarshal(r.body, &group); err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct{ method, path, body string }{
		{http.MethodPut, "/api/v1/computers/" + clientA + "/groups", `{"groups":["Ring1","Pilot"]}`},
		{http.MethodPost, "/api/v1/approvals", `{"update_id":"` + softwareID.String() + `","group":"Ring1","action":"OptionalInstall"}`},
		{http.MethodPost, "/api/v1/updates/" + driverID.String() + "/decline", ""},
	} {
		if r := f.do(req.method, req.path, req.body, nil); r.status != http.StatusOK && r.status != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", req.method, req.path, r.status, r.body)
		}
	}
	paths := []string{"/api/v1/groups", "/api/v1/computers", "/api/v1/computers/" + clientA, "/api/v1/updates", "/api/v1/approvals"}
	before := map[string]map[string]any{}
	for _, p := range paths {
		before[p] = f.get(p)
	}
	f.srv.Close()
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}

	store, err := sqlite.Open(context.Background(), f.path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer store.Close()
	if want := (catalog.TargetGroup{ID: group.ID, Name: "Ring1", ParentID: pilotID}); !slices.Contains(storeGroups(t, store), want) {
		t.Errorf("after reopen the groups lack %+v", want)
	}
	wantIDs := []uuid.UUID{pilotID, group.ID}
	slices.SortFunc(wantIDs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	if got := computerGroups(t, store, clientA); !slices.Equal(got, wantIDs) {
		t.Errorf("after reopen computer A is in %v, want %v", got, wantIDs)
	}
	if got := declined(t, store); !slices.Equal(got, []uuid.UUID{driverID}) {
		t.Errorf("after reopen the declined updates are %v, want the driver", got)
	}
	a := storedApproval(t, store)
	if a.Action != catalog.ActionOptionalInstall || a.GroupID != group.ID {
		t.Errorf("after reopen the approval is %+v, want OptionalInstall for Ring1", a)
	}

	// A new handler over the reopened store answers exactly as before.
	srv := httptest.NewServer(admin.New(store, testToken, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	f.srv = srv
	for _, p := range paths {
		wantJSON(t, p+" after reopen", f.get(p), before[p])
	}
	wantJSON(t, "computer A groups", before["/api/v1/computers/"+clientA]["groups"], []obj{
		{"id": pilotID.String(), "name": "Pilot"},
		{"id": group.ID.String(), "name": "Ring1"},
	})
}
