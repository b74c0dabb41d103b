package admin_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/sqlite"
	"wsus/internal/syncbuf"
)

// Fuzzing the request bodies, path parameters and query strings the admin
// API decodes, through the handler over a real embedded store. Invariants:
// never a 5xx; every answer but ServeMux's redirects of unclean paths is
// JSON; an error answer (4xx) is exactly
// {"error": code, "reason": sentence}, both non-empty; and nothing is logged
// as an error (a store failure is a 500 the input caused).

// The catalog of the fuzzed handler.
var (
	fuzzSoftware = uuid.MustParse("a1111111-1111-4111-8111-111111111111")
	fuzzDriver   = uuid.MustParse("a2222222-2222-4222-8222-222222222222")
	fuzzCategory = uuid.MustParse("a3333333-3333-4333-8333-333333333333")
	fuzzGroup    = uuid.MustParse("a5555555-5555-4555-8555-555555555555")
)

const fuzzComputer = "0f6a2b4c-0000-4000-8000-0000000000f1"

// newFuzzHandler returns the admin handler over a new embedded store
// holding a software update, a driver, a category, a target group "Pilot"
// and one registered computer.
func newFuzzHandler(tb testing.TB, token string, log *syncbuf.Buffer) http.Handler {
	tb.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("/dev/shm", "admin-fuzz-") // in memory: the store syncs every write
	if err != nil {
		dir = tb.TempDir()
	} else {
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	rev := func(id uuid.UUID, typ catalog.UpdateType) *catalog.Revision {
		return &catalog.Revision{
			Identity: catalog.Identity{UpdateID: id, RevisionNumber: 100}, Type: typ, Title: string(typ), PublicationState: "Published",
			CreationDate: at, CoreXML: `<UpdateIdentity UpdateID="` + id.String() + `" />`,
			SourceXML: `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`,
		}
	}
	if _, err := store.ImportRevisions(ctx, []*catalog.Revision{rev(fuzzSoftware, catalog.TypeSoftware), rev(fuzzDriver, catalog.TypeDriver), rev(fuzzCategory, catalog.TypeCategory)}); err != nil {
		tb.Fatal(err)
	}
	if err := store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: fuzzGroup, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		tb.Fatal(err)
	}
	if err := store.RecordAuthorization(ctx, fuzzComputer, "pc.contoso.test", []string{"Pilot"}, at); err != nil {
		tb.Fatal(err)
	}
	if err := store.RegisterComputer(ctx, catalog.Computer{ID: fuzzComputer, DNSName: "pc.contoso.test", FirstSeen: at}); err != nil {
		tb.Fatal(err)
	}
	return admin.New(store, token, log.ErrorLogger())
}

// fuzzEndpoints are the requests fuzzed: method and path, "%s" standing for
// the fuzzed path argument (escaped) or, after "?", the raw query.
var fuzzEndpoints = []struct{ method, path string }{
	{http.MethodPost, "/api/v1/approvals"},
	{http.MethodPost, "/api/v1/groups"},
	{http.MethodPut, "/api/v1/computers/%s/groups"},
	{http.MethodPost, "/api/v1/updates/%s/decline"},
	{http.MethodPost, "/api/v1/updates/%s/undecline"},
	{http.MethodGet, "/api/v1/updates?%s"},
	{http.MethodGet, "/api/v1/computers/%s"},
	{http.MethodGet, "/api/v1/computers?%s"},
	{http.MethodGet, "/api/v1/compliance/groups?%s"},
}

func FuzzAdminAPI(f *testing.F) {
	const token = "fuzz-token"
	add := func(endpoint uint8, arg, body string) { f.Add(endpoint, arg, "application/json", []byte(body)) }
	add(0, "", `{"update_id":"`+fuzzSoftware.String()+`","group":"Pilot","action":"OptionalInstall","deadline":"2026-05-01T18:00:00Z"}`)
	add(0, "", `{"update_id":"`+fuzzCategory.String()+`"}`)
	add(0, "", `{"update_id":"`+fuzzDriver.String()+`","group":"`+fuzzGroup.String()+`","action":"notapproved"}`)
	add(0, "", `{"update_id":"nope","extra":1}`)
	add(0, "", `{"update_id":"`+fuzzSoftware.String()+`"} {}`)
	add(1, "", `{"name":"Ring 1","parent":"Pilot"}`)
	add(1, "", `{"name":" \u0007 "}`)
	add(1, "", `{"name":"`+strings.Repeat("é", 257)+`"}`)
	add(1, "", `{"name":"x","parent":"Unassigned Computers"}`)
	add(2, fuzzComputer, `{"groups":["Pilot"]}`)
	add(2, fuzzComputer, `{"groups":[]}`)
	add(2, fuzzComputer, `{"groups":null}`)
	add(2, fuzzComputer, `{"groups":["All Computers"]}`)
	add(2, "unknown", `{"groups":["Pilot"]}`)
	add(3, fuzzDriver.String(), ``)
	add(3, fuzzCategory.String(), `{}`)
	add(4, fuzzDriver.String(), ` `)
	add(3, "not-a-guid", `[]`)
	add(5, "type=Software&approved=true&declined=false", ``)
	add(5, "type=Nope&approved=maybe", ``)
	add(5, "q=KB5050001&sort=needed&order=asc&limit=10&offset=1&superseded=false", ``)
	add(5, "product=Windows&classification=all&severity=none,Critical&released_after=2026-01-01", ``)
	add(5, "format=csv&min_needed=1", ``)
	add(6, fuzzComputer, ``)
	add(7, "q=pc&group=Pilot&needing=true&not_reported_days=30&sort=failed&order=asc&limit=5&format=csv", ``)
	add(8, "not_reported_days=7&format=csv", ``)
	f.Add(uint8(0), "", "text/plain", []byte(`{}`))
	f.Add(uint8(1), "", "application/json; charset=utf-8", []byte(`{"name":"Ring 2"}`))
	log := &syncbuf.Buffer{}
	h := newFuzzHandler(f, token, log)
	f.Fuzz(func(t *testing.T, endpoint uint8, arg, contentType string, body []byte) {
		if strings.ContainsAny(contentType, "\r\n\x00") {
			return // not a header value an HTTP client can send
		}
		ep := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		path := ep.path
		if before, _, ok := strings.Cut(path, "?"); ok {
			path = before + "?" + arg
		} else {
			path = strings.Replace(path, "%s", url.PathEscape(arg), 1)
		}
		r, err := http.NewRequest(ep.method, path, bytes.NewReader(body))
		if err != nil {
			return // not a request line a client can send
		}
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		log.Take() // what earlier inputs logged
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkAdminAnswer(t, ep.method+" "+path, body, w)
		if msgs := log.Take(); msgs != "" {
			t.Fatalf("%s %s logged errors: %q\nbody: %q", ep.method, path, msgs, body)
		}
	})
}

// checkAdminAnswer checks the invariants of one answer.
func checkAdminAnswer(t *testing.T, request string, body []byte, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s answered %d for body %q: %s", request, w.Code, body, w.Body)
	}
	if w.Code >= 300 && w.Code < 400 {
		// net/http's ServeMux redirects paths that are not clean
		// ("/api/v1/computers//groups") to their clean form.
		if w.Header().Get("Location") == "" {
			t.Fatalf("%s: %d without Location", request, w.Code)
		}
		return
	}
	ct := w.Header().Get("Content-Type")
	if ct == "text/csv; charset=utf-8" && w.Code == http.StatusOK {
		// An export (?format=csv): a header row and rows of its width.
		if records, err := csv.NewReader(w.Body).ReadAll(); err != nil || len(records) == 0 {
			t.Fatalf("%s: CSV answer does not parse (%v): %s", request, err, w.Body)
		}
		return
	}
	if ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", request, ct)
	}
	if w.Code < 400 {
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s: %d answer is not JSON: %s", request, w.Code, w.Body)
		}
		return
	}
	var e map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("%s: %d answer is not a JSON object: %v\n%s", request, w.Code, err, w.Body)
	}
	code, _ := e["error"].(string)
	reason, _ := e["reason"].(string)
	if len(e) != 2 || code == "" || reason == "" {
		t.Fatalf("%s: %d answer is not {error, reason}: %s", request, w.Code, w.Body)
	}
}
