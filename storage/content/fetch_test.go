package content_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wsus/internal/syncbuf"
	"wsus/storage"
	"wsus/storage/content"
	"wsus/sync/download"
)

// origin is the upstream of the fetch-through tests: it serves files by
// path, counts requests, and can hold each answer half-way until release
// is closed, or corrupt it.
type origin struct {
	srv      *httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	requests atomic.Int32
	started  chan struct{} // receives once per request
	release  chan struct{} // nil: answers are not held
	corrupt  bool          // flip a byte in the second half
}

func newOrigin(t testing.TB) *origin {
	o := &origin{files: map[string][]byte{}, started: make(chan struct{}, 100)}
	o.srv = httptest.NewServer(o)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.requests.Add(1)
	o.started <- struct{}{}
	o.mu.Lock()
	data, ok := o.files[r.URL.Path]
	o.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if o.corrupt {
		data = bytes.Clone(data)
		data[len(data)*3/4] ^= 0xff
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	half := len(data) / 2
	w.Write(data[:half])
	w.(http.Flusher).Flush()
	if o.release != nil {
		select {
		case <-o.release:
		case <-r.Context().Done():
			return
		}
	}
	w.Write(data[half:])
}

// catalog is the resolver of the tests: the files it lists.
type catalog struct {
	mu    sync.Mutex
	files map[string]download.File
	err   error
}

func (c *catalog) resolve(_ context.Context, sum []byte) (download.File, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.files[string(sum)]
	return f, ok, c.err
}

// fetchSetup is a content server with fetch-through from an origin.
type fetchSetup struct {
	origin  *origin
	catalog *catalog
	store   *storage.FS
	srv     *httptest.Server
	logs    *syncbuf.Buffer
}

func newFetchSetup(t testing.TB, od content.OnDemand) *fetchSetup {
	t.Helper()
	s := &fetchSetup{origin: newOrigin(t), catalog: &catalog{files: map[string]download.File{}}, store: newStore(t), logs: &syncbuf.Buffer{}}
	d, err := download.New(s.store, download.Config{
		InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxElapsed: 300 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	od.Resolve, od.Fetcher = s.catalog.resolve, d
	s.srv = httptest.NewServer(content.NewHandlerWith(s.store, content.Options{
		Logger:   slog.New(slog.NewTextHandler(s.logs, nil)),
		OnDemand: &od,
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// list puts data upstream and in the catalog and returns the object (not
// stored) and its File.
func (s *fetchSetup) list(data []byte) (object, download.File) {
	s1, s256 := sha1.Sum(data), sha256.Sum256(data)
	h := strings.ToUpper(hex.EncodeToString(s1[:]))
	upPath := "/Content/" + h[38:] + "/" + h + ".cab"
	s.origin.mu.Lock()
	s.origin.files[upPath] = data
	s.origin.mu.Unlock()
	f := download.File{SHA1: s1[:], SHA256: s256[:], Size: int64(len(data)), URLs: []string{s.origin.srv.URL + upPath}}
	s.catalog.mu.Lock()
	s.catalog.files[string(s1[:])] = f
	s.catalog.mu.Unlock()
	return object{data: data, sum: s1[:]}, f
}

// get sends a request and reads the whole answer; bodyErr is the error
// reading the body.
func (s *fetchSetup) get(t testing.TB, method, path, rng string) (resp *http.Response, body []byte, bodyErr error) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err = s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, bodyErr = io.ReadAll(resp.Body)
	return resp, body, bodyErr
}

// The first client gets the file streamed from upstream while it is
// stored; the next is served from the store with its validators.
func TestOnDemandFirstRequestStreamsAndStores(t *testing.T) {
	s := newFetchSetup(t, content.OnDemand{})
	obj, _ := s.list(testData(3 << 20))
	resp, body, err := s.get(t, "GET", obj.path(".cab"), "")
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len(obj.data)) || !bytes.Equal(body, obj.data) {
		t.Fatalf("first GET: %d, Content-Length %d, %d bytes, err %v", resp.StatusCode, resp.ContentLength, len(body), err)
	}
	if resp.TransferEncoding != nil || resp.Header.Get("Content-Type") != "application/vnd.ms-cab-compressed" { // the streamed answer has the type by extension too
		t.Errorf("first GET headers: %v %v", resp.TransferEncoding, resp.Header)
	}
	rc, err := s.store.OpenRange(t.Context(), storage.KeyForSHA1(obj.sum), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(stored, obj.data) {
		t.Fatal("wrong bytes stored")
	}
	resp, body, err = s.get(t, "GET", obj.path(".cab"), "bytes=100-199")
	if err != nil || resp.StatusCode != 206 || !bytes.Equal(body, obj.data[100:200]) || resp.Header.Get("ETag") == "" {
		t.Fatalf("second GET: %d, err %v, ETag %q", resp.StatusCode, err, resp.Header.Get("ETag"))
	}
	if n := s.origin.requests.Load(); n != 1 {
		t.Errorf("%d upstream requests, want 1", n)
	}
	if !strings.Contains(s.logs.String(), "fetched on demand") {
		t.Errorf("log: %s", s.logs)
	}
}

// Concurrent clients (GET, Range, HEAD) share one upstream request: the
// first streams, the others are served from the store once it is there.
func TestOnDemandConcurrentClientsShareOneFetch(t *testing.T) {
	s := newFetchSetup(t, content.OnDemand{})
	s.origin.release = make(chan struct{})
	obj, _ := s.list(testData(1 << 20))
	path := obj.path(".cab")

	type answer struct {
		status int
		body   []byte
		err    error
		length int64
	}
	kinds := []struct{ method, rng string }{{"GET", ""}, {"GET", ""}, {"GET", "bytes=1000-1999"}, {"HEAD", ""}}
	answers := make([]answer, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		if i == 1 {
			<-s.origin.started // the first is fetching; the others join it
			time.Sleep(100 * time.Millisecond)
		}
		wg.Go(func() {
			resp, body, err := s.get(t, k.method, path, k.rng)
			answers[i] = answer{resp.StatusCode, body, err, resp.ContentLength}
		})
	}
	time.Sleep(200 * time.Millisecond) // let every client reach the handler
	close(s.origin.release)
	wg.Wait()

	want := []answer{
		{200, obj.data, nil, int64(len(obj.data))},
		{200, obj.data, nil, int64(len(obj.data))},
		{206, obj.data[1000:2000], nil, 1000},
		{200, []byte{}, nil, int64(len(obj.data))},
	}
	for i, a := range answers {
		w := want[i]
		if a.status != w.status || a.err != nil || !bytes.Equal(a.body, w.body) || a.length != w.length {
			t.Errorf("client %d (%v): %d, %d bytes, Content-Length %d, err %v; want %d, %d bytes, %d",
				i, kinds[i], a.status, len(a.body), a.length, a.err, w.status, len(w.body), w.length)
		}
	}
	if n := s.origin.requests.Load(); n != 1 {
		t.Errorf("%d upstream requests, want 1", n)
	}
}

// Upstream bytes that fail the digests: the streaming client's connection
// is aborted before it has every byte, a waiting client gets 503, nothing
// is stored, and a later client gets 503 without another fetch.
func TestOnDemandBadDigest(t *testing.T) {
	s := newFetchSetup(t, content.OnDemand{})
	s.origin.corrupt = true
	s.origin.release = make(chan struct{})
	obj, _ := s.list(testData(600_000))
	path := obj.path(".cab")

	var first, waiter struct {
		resp *http.Response
		body []byte
		err  error
	}
	var wg sync.WaitGroup
	wg.Go(func() { first.resp, first.body, first.err = s.get(t, "GET", path, "") })
	<-s.origin.started
	wg.Go(func() { waiter.resp, waiter.body, waiter.err = s.get(t, "GET", path, "") })
	time.Sleep(150 * time.Millisecond)
	close(s.origin.release)
	wg.Wait()

	if first.resp.StatusCode != 200 || first.err == nil || len(first.body) >= len(obj.data) {
		t.Errorf("streaming client: %d, %d of %d bytes, err %v; want a 200 cut short", first.resp.StatusCode, len(first.body), len(obj.data), first.err)
	}
	if waiter.resp.StatusCode != 503 || waiter.resp.Header.Get("Retry-After") == "" {
		t.Errorf("waiting client: %d %q", waiter.resp.StatusCode, waiter.body)
	}
	if _, err := s.store.Stat(t.Context(), storage.KeyForSHA1(obj.sum)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat after a bad fetch: %v", err)
	}
	before := s.origin.requests.Load() // 2: the fetch and its clean retry
	resp, body, _ := s.get(t, "GET", path, "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("later client: %d %q, want 503", resp.StatusCode, body)
	}
	if after := s.origin.requests.Load(); after != before || before != 2 {
		t.Errorf("upstream requests: %d, then %d; want 2 and no more", before, after)
	}
	if !strings.Contains(s.logs.String(), "digest mismatch") {
		t.Errorf("log does not name the digest mismatch: %s", s.logs)
	}
}

// Upstream down gives 503 with Retry-After; upstream 404 gives 404; a file
// the catalog does not list is 404 without an upstream request; a failing
// catalog is 503.
func TestOnDemandFailures(t *testing.T) {
	s := newFetchSetup(t, content.OnDemand{FailureTTL: -1})
	gone, fGone := s.list(testData(1000))
	fGone.URLs = []string{s.origin.srv.URL + "/nothing-here.cab"}
	s.catalog.files[string(gone.sum)] = fGone

	down, fDown := s.list(testData(2000))
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // a port nobody listens on
	fDown.URLs = []string{dead.URL + "/x.cab"}
	s.catalog.files[string(down.sum)] = fDown

	unlisted := object{sum: bytes.Repeat([]byte{7}, 20)}

	for _, tc := range []struct {
		name   string
		path   string
		status int
	}{
		{"upstream 404", gone.path(".cab"), 404},
		{"upstream down", down.path(".cab"), 503},
		{"not listed", unlisted.path(".cab"), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, _ := s.get(t, "GET", tc.path, "")
			if resp.StatusCode != tc.status || (tc.status == 503) != (resp.Header.Get("Retry-After") != "") {
				t.Errorf("%d %q (Retry-After %q), want %d", resp.StatusCode, body, resp.Header.Get("Retry-After"), tc.status)
			}
		})
	}
	if n := s.origin.requests.Load(); n != 1 {
		t.Errorf("%d upstream requests, want 1 (the 404; not retried)", n)
	}
	s.catalog.err = errors.New("catalog down")
	if resp, _, _ := s.get(t, "GET", unlisted.path(".cab"), ""); resp.StatusCode != 503 {
		t.Errorf("resolver failing: %d, want 503", resp.StatusCode)
	}
}

// Beyond MaxFetches fetches at once, a request that would start another
// gets 503 with Retry-After; the fetch under way finishes.
func TestOnDemandBounded(t *testing.T) {
	s := newFetchSetup(t, content.OnDemand{MaxFetches: 1, FailureTTL: -1})
	s.origin.release = make(chan struct{})
	a, _ := s.list(testData(100_000))
	b, _ := s.list(testData(200_000))
	var wg sync.WaitGroup
	var status int
	var body []byte
	wg.Go(func() {
		var resp *http.Response
		resp, body, _ = s.get(t, "GET", a.path(".cab"), "")
		status = resp.StatusCode
	})
	<-s.origin.started
	resp, _, _ := s.get(t, "GET", b.path(".cab"), "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second fetch: %d, want 503 with Retry-After", resp.StatusCode)
	}
	close(s.origin.release)
	wg.Wait()
	if status != 200 || !bytes.Equal(body, a.data) {
		t.Errorf("first fetch: %d, %d bytes", status, len(body))
	}
	if resp, body, _ := s.get(t, "GET", b.path(".cab"), ""); resp.StatusCode != 200 || !bytes.Equal(body, b.data) {
		t.Errorf("second fetch once free: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// A file of unknown size is fetched whole first, then served from the
// store.
func TestOnDemandUnknownSize(t *testing.T) {
	s := newFetchSetup(t, content.OnDemand{})
	obj, f := s.list(testData(300_000))
	f.Size = 0
	s.catalog.files[string(obj.sum)] = f
	resp, body, err := s.get(t, "GET", obj.path(".cab"), "")
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, obj.data) || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET: %d, %d bytes, err %v, ETag %q", resp.StatusCode, len(body), err, resp.Header.Get("ETag"))
	}
}

// The client that started a fetch going away does not stop it: the file
// is stored all the same.
func TestOnDemandClientGoneFetchGoesOn(t *testing.T) {
	s := newFetchSetup(t, content.OnDemand{})
	s.origin.release = make(chan struct{})
	obj, _ := s.list(testData(2 << 20))
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", s.srv.URL+obj.path(".cab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil || resp.StatusCode != 200 {
		t.Fatalf("start of the body: %d, %v", resp.StatusCode, err)
	}
	cancel()
	resp.Body.Close()
	close(s.origin.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := s.store.Stat(t.Context(), storage.KeyForSHA1(obj.sum))
		if err == nil && info.Size == int64(len(obj.data)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not stored after the client left: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, body, _ := s.get(t, "GET", obj.path(".cab"), ""); resp.StatusCode != 200 || !bytes.Equal(body, obj.data) {
		t.Errorf("next client: %d, %d bytes", resp.StatusCode, len(body))
	}
	if n := s.origin.requests.Load(); n != 1 {
		t.Errorf("%d upstream requests, want 1", n)
	}
}
