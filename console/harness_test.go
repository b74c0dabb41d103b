package console_test

// The harness of the console's tests: a real embedded store on a file,
// loaded with the demo catalog, behind the real admin API and the console
// on a real loopback listener; a person is an HTTP client with a cookie
// jar that signs in through the sign-in form and posts forms as a browser
// does, with the CSRF token of the page it last read. Pages are asserted
// on their HTML (goquery), never only on status codes.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/rules"
	"wsus/catalog/sqlite"
	"wsus/console"
	"wsus/soap/cookie"
	"wsus/storage"
	"wsus/sync/importer"
)

// adminToken is the bootstrap admin token of every harness.
const adminToken = "console-test-admin-token"

// The demo catalog's software update (testdata/catalog/local), approved
// for nobody at the start.
var demoUpdate = uuid.MustParse("7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7")

// Seeded target groups and computers (harness.seed).
const (
	ring1    = "Ring 1"
	ring2    = "Ring 2"
	pcOK     = "c0000000-0000-4000-8000-000000000001" // ws-ok.corp.example: installed
	pcNeeds  = "c0000000-0000-4000-8000-000000000002" // ws-needs.corp.example: needed
	pcFailed = "c0000000-0000-4000-8000-000000000003" // ws-failed.corp.example: failed 0x80070643
)

// failedHResult is the install error pcFailed reported (ERROR_INSTALL_FAILURE).
const failedHResult = int32(-2147023293) // 0x80070643

type harness struct {
	t     *testing.T
	store *sqlite.Store
	// dbPath is the store's file, for tests that write behind its back.
	dbPath string
	srv    *httptest.Server
	// groups maps the seeded group names to their IDs.
	groups map[string]uuid.UUID
}

// newHarness starts the API and the console over a fresh store with the
// demo catalog imported and the seed (seed) stored.
func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "catalog.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := storage.NewFS(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Import(ctx, store, blobs, []string{"../testdata/catalog/microsoft", "../testdata/catalog/local"}, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	// The API runs the rules, as wsusd's does (without a runner it answers
	// a ring's status and a rules run 503).
	runner, err := rules.New(rules.Config{Store: store, Holder: "console-test"})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: store, dbPath: dbPath, groups: map[string]uuid.UUID{}}
	h.srv = h.serve(admin.Options{Rules: runner})
	h.seed(ctx)
	return h
}

// serve starts the admin API with opts (its Token the harness's
// adminToken) and the console over h's store, on a listener of their own.
func (h *harness) serve(opts admin.Options) *httptest.Server {
	h.t.Helper()
	opts.Token = adminToken
	api := admin.NewWith(h.store, opts)
	sealer, err := cookie.NewSealer(bytes.Repeat([]byte{3}, cookie.KeySize))
	if err != nil {
		h.t.Fatal(err)
	}
	con, err := console.New(console.Config{API: api, Sealer: sealer})
	if err != nil {
		h.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, api)
	mux.Handle(console.Prefix, con)
	mux.Handle("/console", con)
	srv := httptest.NewServer(mux)
	h.t.Cleanup(srv.Close)
	return srv
}

// seed stores two target groups and three computers in Ring 1 with the
// demo update installed, needed and failed.
func (h *harness) seed(ctx context.Context) {
	t := h.t
	for _, name := range []string{ring1, ring2} {
		g := catalog.TargetGroup{ID: uuid.New(), Name: name, ParentID: catalog.AllComputersGroupID}
		if err := h.store.CreateTargetGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		h.groups[name] = g.ID
	}
	now := time.Now().UTC().Truncate(time.Second)
	states := map[string]catalog.UpdateStatus{
		pcOK:     {UpdateID: demoUpdate, State: catalog.StateInstalled},
		pcNeeds:  {UpdateID: demoUpdate, State: catalog.StateNotInstalled},
		pcFailed: {UpdateID: demoUpdate, State: catalog.StateFailed, ErrorCode: failedHResult},
	}
	names := map[string]string{pcOK: "ws-ok.corp.example", pcNeeds: "ws-needs.corp.example", pcFailed: "ws-failed.corp.example"}
	for id, st := range states {
		c := catalog.Computer{ID: id, DNSName: names[id], Registered: true, OSMajor: 10, OSBuild: 26100,
			OSDescription: "Windows 11 Enterprise", Architecture: "AMD64", Manufacturer: "Contoso", Model: "Desk 9",
			ClientVersion: "1209.2506.24062.0", LastSync: now, LastReport: now}
		if err := h.store.RegisterComputer(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := h.store.SetComputerGroups(ctx, id, []uuid.UUID{h.groups[ring1]}); err != nil {
			t.Fatal(err)
		}
		st.ClientID, st.ChangedAt = id, now
		if err := h.store.SetStatuses(ctx, id, []catalog.UpdateStatus{st}, true, now); err != nil {
			t.Fatal(err)
		}
	}
}

// token creates an API token of role and returns its secret.
func (h *harness) token(role catalog.Role) string {
	h.t.Helper()
	var out admin.NewToken
	h.api(http.MethodPost, "/api/v1/tokens", `{"name":"`+string(role)+"-"+uuid.NewString()[:8]+`","role":"`+string(role)+`"}`, http.StatusCreated, &out)
	return out.Secret
}

// apiCall makes one admin API call with the admin token and decodes the
// answer into out, failing the test on any status but want.
func (h *harness) api(method, path, body string, want int, out any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := decodeJSON(bytes.NewReader(b), out); err != nil {
			h.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// person is someone using the console through a browser-like client.
type person struct {
	h      *harness
	client *http.Client
	// csrf is the CSRF token of the last page read (the signed-out form
	// has none).
	csrf string
}

// visitor returns a person who has not signed in.
func (h *harness) visitor() *person {
	jar, _ := cookiejar.New(nil)
	return &person{h: h, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// signIn returns a person signed in with token, failing the test unless
// the sign-in succeeded.
func (h *harness) signIn(token string) *person {
	h.t.Helper()
	p := h.visitor()
	status, doc := p.post("/console/signin", url.Values{"token": {token}})
	if status != http.StatusOK || doc.Find("form.signout").Length() != 1 {
		h.t.Fatalf("sign-in: status %d, page:\n%s", status, text(doc))
	}
	return p
}

// get reads path (following redirects) and returns the final status and
// the page.
func (p *person) get(path string) (int, *goquery.Document) {
	p.h.t.Helper()
	resp, err := p.client.Get(p.h.srv.URL + path)
	if err != nil {
		p.h.t.Fatal(err)
	}
	return p.read(resp)
}

// post submits a form to path with the CSRF token of the last page read
// (unless form sets "csrf" itself), following the redirect as a browser
// does, and returns the final status and page.
func (p *person) post(path string, form url.Values) (int, *goquery.Document) {
	p.h.t.Helper()
	if _, ok := form["csrf"]; !ok && p.csrf != "" {
		form.Set("csrf", p.csrf)
	}
	resp, err := p.client.PostForm(p.h.srv.URL+path, form)
	if err != nil {
		p.h.t.Fatal(err)
	}
	return p.read(resp)
}

func (p *person) read(resp *http.Response) (int, *goquery.Document) {
	p.h.t.Helper()
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		p.h.t.Fatal(err)
	}
	if v, ok := doc.Find(`input[name="csrf"]`).Attr("value"); ok {
		p.csrf = v
	}
	return resp.StatusCode, doc
}

// flash is the text of the page's flash messages: successes and errors.
func flash(doc *goquery.Document) (ok, failed string) {
	return strings.TrimSpace(doc.Find(".flash-ok").Text()), strings.TrimSpace(doc.Find(".flash-error").Text())
}

// rowIDs are the values of attr on the rows table (a selector) lists, in
// order: the client IDs of "table#computers" with "data-client-id".
func rowIDs(doc *goquery.Document, table, attr string) []string {
	var ids []string
	doc.Find(table + " tbody tr[" + attr + "]").Each(func(_ int, s *goquery.Selection) {
		ids = append(ids, s.AttrOr(attr, ""))
	})
	return ids
}

// sortedTable is one sortable table of the page at path: its rows' IDs
// (attr of each row), its column headers and the links they hold.
type sortedTable struct {
	t                 *testing.T
	path, table, attr string
}

// header is the column header whose text begins with label.
func (s sortedTable) header(doc *goquery.Document, label string) *goquery.Selection {
	return doc.Find(s.table + " thead th").FilterFunction(func(_ int, th *goquery.Selection) bool {
		return strings.HasPrefix(strings.TrimSpace(th.Text()), label)
	})
}

// query is the query of href, a link that must lead to the table's page.
func (s sortedTable) query(href string) url.Values {
	s.t.Helper()
	u, err := url.Parse(href)
	if err != nil || u.Path != s.path {
		s.t.Fatalf("link %q: not to %s", href, s.path)
	}
	return u.Query()
}

// check fails the test unless the table's rows are want, in order.
func (s sortedTable) check(what string, doc *goquery.Document, want ...string) {
	s.t.Helper()
	if got := rowIDs(doc, s.table, s.attr); !slices.Equal(got, want) {
		s.t.Errorf("%s: rows %v, want %v", what, got, want)
	}
}

// text is the page's main text, for failure messages.
func text(doc *goquery.Document) string {
	return strings.Join(strings.Fields(doc.Find("main").Text()), " ")
}
