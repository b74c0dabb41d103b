package serversync

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"wsus/catalog"
	"wsus/catalog/metadata"
	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/clientsim/catalogen"
	"wsus/internal/testpg"
	"wsus/soap"
	"wsus/storage"
	"wsus/sync/upstream"
	"wsus/sync/wsusss"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// engine opens an empty catalog store of one kind for a test.
type engine struct {
	name string
	open func(t *testing.T) catalog.Store
}

// engines are the stores the end-to-end tests run on: the embedded one
// always, PostgreSQL when testpg finds or starts a server (else skipped).
var engines = []engine{
	{"sqlite", func(t *testing.T) catalog.Store {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) catalog.Store {
		st, err := postgres.Open(t.Context(), testpg.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// testKey is the shared cookie key of the tests' servers.
var testKey = bytes.Repeat([]byte{7}, 32)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memBlobs is a payload store that knows which keys it holds.
type memBlobs map[string]bool

func (b memBlobs) Stat(_ context.Context, key string) (storage.ObjectInfo, error) {
	if b[key] {
		return storage.ObjectInfo{}, nil
	}
	return storage.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, storage.ErrNotFound)
}

// harness is one server over loopback HTTP.
type harness struct {
	t     *testing.T
	store Store
	svc   *Services
	srv   *httptest.Server
	clock *clock
	blobs memBlobs
}

// newHarness serves store on a loopback listener, with the real paths.
func newHarness(t *testing.T, store Store, cfg Config) *harness {
	t.Helper()
	// The clock starts a second ahead of the store's: anchors keep
	// milliseconds, and a change the store stamped in the millisecond of an
	// anchor counts as after it.
	h := &harness{t: t, store: store, clock: &clock{t: time.Now().UTC().Add(time.Second)}, blobs: memBlobs{}}
	cfg.Store, cfg.Blobs, cfg.Now = store, h.blobs, h.clock.Now
	if cfg.CookieKey == nil {
		cfg.CookieKey = testKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	mux := http.NewServeMux()
	mux.Handle("/ServerSyncWebService/ServerSyncWebService.asmx", svc.ServerSync())
	mux.Handle("/DssAuthWebService/DssAuthWebService.asmx", svc.DssAuth())
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// client returns a sync client of this server; it does not retry.
func (h *harness) client() *upstream.Client {
	c, err := upstream.New(upstream.Config{URL: h.srv.URL, HTTPClient: h.srv.Client(), AccountName: "dss.test.invalid",
		MaxElapsed: time.Nanosecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// post sends a request body to a service path and returns the status and
// the answer.
func (h *harness) post(path, action string, body []byte) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/"+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// call posts a wsusss request to its service.
func (h *harness) call(r wsusss.Request) (int, []byte) {
	path := wsusss.ServerSyncPath
	if strings.HasPrefix(r.Action, wsusss.NSDssAuth) {
		path = wsusss.DssAuthPath
	}
	return h.post(path, r.Action, r.Body)
}

// cookie authenticates over raw HTTP and returns the access cookie.
func (h *harness) cookie() wsusss.Cookie {
	h.t.Helper()
	_, body := h.call(wsusss.GetAuthorizationCookieRequest("dss.test.invalid", [16]byte{1}))
	auth, err := wsusss.ParseGetAuthorizationCookieResponse(body)
	if err != nil {
		h.t.Fatal(err)
	}
	_, body = h.call(wsusss.GetCookieRequest(auth, nil, upstream.DefaultProtocolVersion))
	c, err := wsusss.ParseGetCookieResponse(body)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// envelope writes a ServerSync request whose operation element holds
// inner (already XML) after the cookie.
func envelope(op string, c wsusss.Cookie, inner string) wsusss.Request {
	body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="` + soap.NSEnvelope + `"><soap:Body><` + op +
		` xmlns="` + wsusss.NSServerSync + `"><cookie><Expiration>` + soap.FormatDateTime(c.Expiration) +
		`</Expiration><EncryptedData>` + base64.StdEncoding.EncodeToString(c.EncryptedData) + `</EncryptedData></cookie>` +
		inner + `</` + op + `></soap:Body></soap:Envelope>`
	return wsusss.Request{Operation: op, Action: wsusss.NSServerSync + "/" + op, Body: []byte(body)}
}

// fault parses body as an answer to op and returns its fault, failing the
// test when there is none.
func fault(t *testing.T, op string, status int, body []byte) *wsusss.Fault {
	t.Helper()
	if status != http.StatusInternalServerError {
		t.Fatalf("%s: status %d, want 500; body %s", op, status, body)
	}
	_, err := wsusss.ParseGetAuthConfigResponse(body) // any parser returns the fault
	if f, ok := err.(*wsusss.Fault); ok {
		return f
	}
	t.Fatalf("%s: no fault in %s (%v)", op, body, err)
	return nil
}

// parseDocs parses update documents into revisions.
func parseDocs(t testing.TB, docs [][]byte) []*catalog.Revision {
	t.Helper()
	revs := make([]*catalog.Revision, 0, len(docs))
	for _, d := range docs {
		r, err := metadata.Parse(d)
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, r)
	}
	return revs
}

// generatedDocs returns a small generated catalog (clientsim gencatalog's
// generator): categories, detectoids, Windows, Defender and Office updates
// with bundles, second revisions and files.
func generatedDocs(t testing.TB, n int, seed int64) [][]byte {
	t.Helper()
	var docs [][]byte
	_, err := catalogen.Generate(catalogen.Options{Updates: n, Seed: seed, Revisions: 0.3}, func(name string, doc []byte) error {
		if strings.HasSuffix(name, ".xml") {
			docs = append(docs, bytes.Clone(doc))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// realLeaf is the real Defender leaf whose GetUpdateData answer was
// recorded with its MUUrl (sync/wsusss/testdata/README.md).
const realLeaf = "../../sync/wsusss/testdata/leaf-266f6222-r200.xml"

// realLeafMUURL is the MUUrl of its file in that answer
// (wsusss-GetUpdateDataResponse-leaf-compressed-with-fileurl.xml).
const realLeafMUURL = "http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe"

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sample returns a real message without its first line (the source
// comment): the copies of ../shared/protocol/metadata-samples/ that
// sync/wsusss/testdata keeps (its README.md names their sources and
// licence), so that the tests need nothing outside the repository.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b := readFile(t, filepath.Join("..", "..", "sync", "wsusss", "testdata", name))
	_, rest, _ := bytes.Cut(b, []byte("\n"))
	return rest
}

// shape maps the path of every element of an XML document ("{ns}name/..."
// from the root) to the names of its children, each once, in the order
// they first appear: what "element for element" compares (names,
// namespaces, order), whatever the array lengths and the text.
func shape(t testing.TB, doc []byte) map[string][]string {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatalf("shape: %v\n%s", err, doc)
	}
	out := map[string][]string{}
	var walk func(el *etree.Element, path string)
	walk = func(el *etree.Element, path string) {
		p := path + "/{" + el.NamespaceURI() + "}" + el.Tag
		if _, ok := out[p]; !ok {
			out[p] = []string{}
		}
		for _, c := range el.ChildElements() {
			name := "{" + c.NamespaceURI() + "}" + c.Tag
			seen := false
			for _, n := range out[p] {
				seen = seen || n == name
			}
			if !seen {
				out[p] = append(out[p], name)
			}
			walk(c, p)
		}
	}
	walk(d.Root(), "")
	return out
}

// sameShape fails the test unless got has the shape of want at every path
// of want, after renaming got's elements by rename (our name → the
// sample's) and dropping the children of want named in absent (elements
// the sample has that this server leaves out, each with its reason in the
// calling test).
func sameShape(t testing.TB, got, want []byte, rename map[string]string, absent ...string) {
	t.Helper()
	g, w := shape(t, got), shape(t, want)
	ren := func(m map[string][]string) map[string][]string {
		out := map[string][]string{}
		for p, kids := range m {
			for from, to := range rename {
				p = strings.ReplaceAll(p, "}"+from, "}"+to)
			}
			var ks []string
			for _, k := range kids {
				for from, to := range rename {
					if strings.HasSuffix(k, "}"+from) {
						k = strings.TrimSuffix(k, from) + to
					}
				}
				ks = append(ks, k)
			}
			out[p] = ks
		}
		return out
	}
	g = ren(g)
	for p, kids := range w {
		var want []string
		for _, k := range kids {
			drop := false
			for _, a := range absent {
				drop = drop || strings.HasSuffix(k, "}"+a)
			}
			if !drop {
				want = append(want, k)
			}
		}
		have, ok := g[p]
		if !ok {
			dropped := false
			for _, a := range absent {
				dropped = dropped || strings.Contains(p, "}"+a)
			}
			if !dropped {
				t.Errorf("shape: %s missing", p)
			}
			continue
		}
		if strings.Join(have, " ") != strings.Join(want, " ") {
			t.Errorf("shape of %s:\n got  %v\n want %v", p, have, want)
		}
	}
}
