package download_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/s3store"
	"wsus/sync/download"
)

// payload returns n deterministic pseudo-random bytes for seed.
func payload(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// request is what the upstream saw of one request.
type request struct {
	path, rng, ifRange string
}

// upstream is a loopback HTTP server of files, with faults injected by
// hook: the request's number for its path (from 1) decides.
type upstream struct {
	srv   *httptest.Server
	files map[string][]byte // by path
	etags map[string]string // by path

	mu   sync.Mutex
	seen []request
	nth  map[string]int

	inflight, maxInflight atomic.Int32
	delay                 time.Duration
	// hook, when set, may answer the request itself (returning true).
	hook func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool
}

var modTime = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

func newUpstream(t testing.TB) *upstream {
	u := &upstream{files: map[string][]byte{}, etags: map[string]string{}, nth: map[string]int{}}
	u.srv = httptest.NewServer(u)
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := u.inflight.Add(1)
	defer u.inflight.Add(-1)
	for {
		m := u.maxInflight.Load()
		if n <= m || u.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	u.mu.Lock()
	u.seen = append(u.seen, request{r.URL.Path, r.Header.Get("Range"), r.Header.Get("If-Range")})
	u.nth[r.URL.Path]++
	nth := u.nth[r.URL.Path]
	data, ok := u.files[r.URL.Path]
	etag := u.etags[r.URL.Path]
	u.mu.Unlock()
	if u.delay > 0 {
		time.Sleep(u.delay)
	}
	if u.hook != nil && u.hook(w, r, nth, data) {
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", etag)
	http.ServeContent(w, r, "", modTime, bytes.NewReader(data))
}

// requests returns the requests seen so far.
func (u *upstream) requests() []request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]request(nil), u.seen...)
}

// add serves data at a WSUS content path and returns its File.
func (u *upstream) add(data []byte) download.File {
	s1, s256 := sha1.Sum(data), sha256.Sum256(data)
	h := strings.ToUpper(hex.EncodeToString(s1[:]))
	path := "/Content/" + h[38:] + "/" + h + ".cab"
	u.mu.Lock()
	u.files[path] = data
	u.etags[path] = `"` + hex.EncodeToString(s1[:]) + `"`
	u.mu.Unlock()
	return download.File{SHA1: s1[:], SHA256: s256[:], Size: int64(len(data)), URLs: []string{u.srv.URL + path}}
}

// breakAfter writes the headers of the whole answer and n bytes of it, then
// drops the connection.
func breakAfter(w http.ResponseWriter, data []byte, n int) {
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	sum := sha1.Sum(data)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write(data[:n])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

func newFS(t testing.TB) *storage.FS {
	t.Helper()
	s, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fast is a configuration with short waits for tests.
func fast(cfg download.Config) download.Config {
	if cfg.InitialInterval == 0 {
		cfg.InitialInterval = 5 * time.Millisecond
	}
	if cfg.MaxInterval == 0 {
		cfg.MaxInterval = 50 * time.Millisecond
	}
	if cfg.MaxElapsed == 0 {
		cfg.MaxElapsed = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

func newDownloader(t testing.TB, store download.Store, cfg download.Config) *download.Downloader {
	t.Helper()
	d, err := download.New(store, fast(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stored returns the bytes stored for f, or fails.
func stored(t testing.TB, s storage.BlobStore, f download.File) []byte {
	t.Helper()
	rc, err := s.OpenRange(context.Background(), f.Key(), 0, -1)
	if err != nil {
		t.Fatalf("stored %x: %v", f.SHA1, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// absent fails unless nothing is stored for f.
func absent(t testing.TB, s storage.BlobStore, f download.File) {
	t.Helper()
	if _, err := s.Stat(context.Background(), f.Key()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat %x = %v, want not found", f.SHA1, err)
	}
}

func TestDownload(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	var files [][]byte
	var jobs []download.File
	for i := range 6 {
		data := payload(uint64(i), 100_000+i*37_001)
		files = append(files, data)
		jobs = append(jobs, up.add(data))
	}
	jobs[5].SHA256 = nil // optional
	jobs[4].Size = 0     // unknown
	var last download.Progress
	var calls int
	d := newDownloader(t, store, download.Config{Progress: func(p download.Progress) { last = p; calls++ }})
	results, err := d.Download(t.Context(), jobs)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for i, r := range results {
		if r.Err != nil || r.Skipped || r.Bytes != int64(len(files[i])) || r.Requests != 1 || r.Info.Size != int64(len(files[i])) {
			t.Errorf("result %d = %+v", i, r)
		}
		if !bytes.Equal(stored(t, store, jobs[i]), files[i]) {
			t.Errorf("file %d: wrong bytes stored", i)
		}
		total += int64(len(files[i]))
	}
	want := download.Progress{FilesTotal: 6, FilesDone: 6, BytesDone: total, BytesTotal: total - int64(len(files[4]))}
	last.Elapsed = 0
	if last != want || calls < 6 {
		t.Errorf("last progress %+v after %d calls, want %+v after at least 6", last, calls, want)
	}
	for _, r := range up.requests() {
		if r.rng != "" {
			t.Errorf("request %+v has a range", r)
		}
	}
}

func TestAlreadyStoredSkipped(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	data := payload(1, 50_000)
	f := up.add(data)
	if _, err := store.Put(t.Context(), f.Key(), bytes.NewReader(data), storage.Digests{SHA1: f.SHA1}); err != nil {
		t.Fatal(err)
	}
	other := up.add(payload(2, 1000))
	var last download.Progress
	d := newDownloader(t, store, download.Config{Progress: func(p download.Progress) { last = p }})
	results, err := d.Download(t.Context(), []download.File{f, other, f})
	if err != nil {
		t.Fatal(err)
	}
	if !results[0].Skipped || results[0].Requests != 0 || results[0].Info.Size != 50_000 || results[1].Skipped || !results[2].Skipped {
		t.Errorf("results = %+v", results)
	}
	if reqs := up.requests(); len(reqs) != 1 {
		t.Errorf("requests = %+v, want only the missing file's", reqs)
	}
	if last.FilesSkipped != 2 || last.FilesDone != 3 || last.BytesTotal != 1000 || last.BytesDone != 1000 {
		t.Errorf("progress = %+v", last)
	}
}

// A connection broken mid-body is resumed with Range and If-Range from the
// offset reached; the stored file is whole.
func TestResumeAfterBrokenConnection(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	data := payload(3, 1_000_000)
	f := up.add(data)
	up.hook = func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool {
		switch nth {
		case 1:
			breakAfter(w, data, 300_000)
		case 2: // a resume that brings nothing: backoff, then again
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 300000-%d/%d", len(data)-1, len(data)))
			w.Header().Set("Content-Length", strconv.Itoa(len(data)-300_000))
			w.WriteHeader(http.StatusPartialContent)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		return false
	}
	d := newDownloader(t, store, download.Config{})
	results, err := d.Download(t.Context(), []download.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored(t, store, f), data) {
		t.Fatal("wrong bytes stored")
	}
	reqs := up.requests()
	if len(reqs) != 3 || reqs[0].rng != "" || reqs[1].rng != "bytes=300000-" || reqs[2].rng != "bytes=300000-" {
		t.Fatalf("requests = %+v", reqs)
	}
	sum := sha1.Sum(data)
	if want := `"` + hex.EncodeToString(sum[:]) + `"`; reqs[2].ifRange != want {
		t.Errorf("If-Range = %q, want %q", reqs[2].ifRange, want)
	}
	if r := results[0]; r.Bytes != 1_000_000 || r.Requests != 3 {
		t.Errorf("result = %+v", r)
	}
}

// A server ignoring Range (200 to the resume) makes the file start over
// cleanly: the stored file is whole and nothing half-written stays.
func TestServerIgnoringRange(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	data := payload(4, 700_000)
	f := up.add(data)
	up.hook = func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool {
		if nth == 1 {
			breakAfter(w, data, 200_000)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data) // 200, whatever the Range
		return true
	}
	var last download.Progress
	d := newDownloader(t, store, download.Config{Progress: func(p download.Progress) { last = p }})
	results, err := d.Download(t.Context(), []download.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored(t, store, f), data) {
		t.Fatal("wrong bytes stored")
	}
	if reqs := up.requests(); len(reqs) != 2 || reqs[1].rng != "bytes=200000-" {
		t.Fatalf("requests = %+v", reqs)
	}
	if r := results[0]; r.Bytes != 900_000 || r.Requests != 2 {
		t.Errorf("result = %+v", r)
	}
	if last.BytesDone != 700_000 {
		t.Errorf("progress counts %d bytes, want the restarted ones taken back: 700000", last.BytesDone)
	}
	noTempFiles(t, store)
}

// noTempFiles fails when the store lists anything but whole objects or
// keeps temporary files.
func noTempFiles(t testing.TB, store *storage.FS) {
	t.Helper()
	err := store.List(context.Background(), func(info storage.ObjectInfo) error {
		if _, err := storage.SHA1FromKey(info.Key); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// A wrong digest fails the file after one clean retry; nothing is visible.
func TestWrongDigest(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	good := up.add(payload(5, 200_000))
	bad := up.add(payload(6, 300_000))
	bad.SHA256 = good.SHA256 // right SHA-1, wrong SHA-256
	worse := up.add(payload(7, 300_000))
	worse.SHA1 = append([]byte(nil), good.SHA1...)
	worse.SHA1[0] ^= 1 // a SHA-1 that is not the bytes'
	worse.SHA256 = nil
	d := newDownloader(t, store, download.Config{})
	results, err := d.Download(t.Context(), []download.File{good, bad, worse})
	var de *download.Error
	if !errors.As(err, &de) || len(de.Failed) != 2 || de.Total != 3 || !errors.Is(err, storage.ErrDigestMismatch) {
		t.Fatalf("err = %v", err)
	}
	for _, f := range []download.File{bad, worse} {
		if !strings.Contains(err.Error(), hex.EncodeToString(f.SHA1)) {
			t.Errorf("error %q does not name %x", err, f.SHA1)
		}
	}
	if results[0].Err != nil || !errors.Is(results[1].Err, storage.ErrDigestMismatch) || !errors.Is(results[2].Err, storage.ErrDigestMismatch) {
		t.Fatalf("results = %+v", results)
	}
	if results[1].Requests != 2 || results[2].Requests != 2 {
		t.Errorf("requests = %d, %d; want 2 each (one clean retry)", results[1].Requests, results[2].Requests)
	}
	stored(t, store, good)
	absent(t, store, bad)
	absent(t, store, worse)
	noTempFiles(t, store)
}

func TestNotFound(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	missing := up.add(payload(8, 1000))
	missing.URLs[0] += "x" // a path the upstream does not serve
	data := payload(9, 5000)
	second := up.add(data)
	second.URLs = append([]string{up.srv.URL + "/gone.cab"}, second.URLs...) // first URL 404, second serves
	d := newDownloader(t, store, download.Config{})
	results, err := d.Download(t.Context(), []download.File{missing, second})
	if !errors.Is(err, download.ErrNotFound) || !strings.Contains(err.Error(), "1 of 2 files failed") {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(results[0].Err, download.ErrNotFound) || results[0].Requests != 1 {
		t.Errorf("result 0 = %+v (404 is not retried)", results[0])
	}
	if results[1].Err != nil || results[1].Requests != 2 || !bytes.Equal(stored(t, store, second), data) {
		t.Errorf("result 1 = %+v", results[1])
	}
	absent(t, store, missing)
}

// 503 with Retry-After is retried after the time asked; 500 and 429 too;
// 403 fails at once.
func TestTransientStatusRetried(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	data := payload(10, 20_000)
	f := up.add(data)
	forbidden := up.add(payload(11, 10))
	up.hook = func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool {
		switch {
		case strings.HasSuffix(r.URL.Path, strings.ToUpper(hex.EncodeToString(forbidden.SHA1))+".cab"):
			http.Error(w, "no", http.StatusForbidden)
		case nth == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case nth == 2:
			http.Error(w, "oops", http.StatusInternalServerError)
		case nth == 3:
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			return false
		}
		return true
	}
	d := newDownloader(t, store, download.Config{})
	start := time.Now()
	results, err := d.Download(t.Context(), []download.File{f, forbidden})
	var se *download.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusForbidden {
		t.Fatalf("err = %v, want the 403", err)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("done after %v: Retry-After: 1 not honoured", elapsed)
	}
	if results[0].Err != nil || results[0].Requests != 4 || !bytes.Equal(stored(t, store, f), data) {
		t.Errorf("result = %+v", results[0])
	}
	if results[1].Requests != 1 {
		t.Errorf("403 retried: %+v", results[1])
	}
}

// A transient failure that lasts past MaxElapsed fails the file, naming
// the last status.
func TestTransientGivesUp(t *testing.T) {
	up := newUpstream(t)
	f := up.add(payload(12, 100))
	up.hook = func(w http.ResponseWriter, _ *http.Request, _ int, _ []byte) bool {
		http.Error(w, "down", http.StatusBadGateway)
		return true
	}
	d := newDownloader(t, newFS(t), download.Config{MaxElapsed: 200 * time.Millisecond})
	_, err := d.Download(t.Context(), []download.File{f})
	var se *download.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadGateway || !strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("err = %v", err)
	}
}

// A length other than File.Size fails the file without retry.
func TestSizeMismatch(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	f := up.add(payload(13, 1000))
	f.Size = 999
	d := newDownloader(t, store, download.Config{})
	results, err := d.Download(t.Context(), []download.File{f})
	if !errors.Is(err, download.ErrSizeMismatch) || results[0].Requests != 1 {
		t.Fatalf("err = %v, results %+v", err, results)
	}
	absent(t, store, f)
}

// An answer that stalls is abandoned after StallTimeout and resumed.
func TestStalledAnswerResumed(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	data := payload(14, 300_000)
	f := up.add(data)
	up.hook = func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool {
		if nth > 1 {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:100_000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	}
	d := newDownloader(t, store, download.Config{StallTimeout: 200 * time.Millisecond})
	if _, err := d.Download(t.Context(), []download.File{f}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored(t, store, f), data) {
		t.Fatal("wrong bytes stored")
	}
	if reqs := up.requests(); len(reqs) != 2 || reqs[1].rng != "bytes=100000-" {
		t.Fatalf("requests = %+v", reqs)
	}
}

// No more than Parallel requests reach the upstream at once, and the
// bound is reached.
func TestParallelismBound(t *testing.T) {
	for _, parallel := range []int{1, 3} {
		t.Run(strconv.Itoa(parallel), func(t *testing.T) {
			up := newUpstream(t)
			up.delay = 20 * time.Millisecond
			var jobs []download.File
			for i := range 12 {
				jobs = append(jobs, up.add(payload(uint64(100+i), 10_000)))
			}
			d := newDownloader(t, newFS(t), download.Config{Parallel: parallel})
			if _, err := d.Download(t.Context(), jobs); err != nil {
				t.Fatal(err)
			}
			if got := up.maxInflight.Load(); got != int32(parallel) {
				t.Errorf("at most %d requests at once, want %d", got, parallel)
			}
		})
	}
}

// Cancelling ctx stops a Download promptly, mid-body and mid-backoff; the
// files fail with ctx's error and nothing is stored.
func TestCancelStopsPromptly(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	slow := up.add(payload(15, 1_000_000))
	busy := up.add(payload(16, 1000))
	var jobs []download.File
	jobs = append(jobs, slow, busy)
	for i := range 5 {
		jobs = append(jobs, up.add(payload(uint64(200+i), 1000)))
	}
	up.hook = func(w http.ResponseWriter, r *http.Request, _ int, data []byte) bool {
		if strings.Contains(r.URL.Path, strings.ToUpper(hex.EncodeToString(busy.SHA1))) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // never more
		return true
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	d := newDownloader(t, store, download.Config{Parallel: 2, MaxElapsed: time.Hour})
	start := time.Now()
	results, err := d.Download(ctx, jobs)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Download returned %v after the start, %v after the cancel", elapsed, elapsed-200*time.Millisecond)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	for i, r := range results {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("result %d = %+v", i, r)
		}
		absent(t, store, jobs[i])
	}
	noTempFiles(t, store)
}

func TestInvalidFiles(t *testing.T) {
	d := newDownloader(t, newFS(t), download.Config{})
	good := download.File{SHA1: make([]byte, 20), URLs: []string{"http://127.0.0.1:1/x"}}
	tests := []func(*download.File){
		func(f *download.File) { f.SHA1 = f.SHA1[:19] },
		func(f *download.File) { f.SHA256 = make([]byte, 20) },
		func(f *download.File) { f.Size = -1 },
		func(f *download.File) { f.URLs = nil },
		func(f *download.File) { f.URLs = []string{"ftp://host/x"} },
	}
	for i, mutate := range tests {
		f := good
		mutate(&f)
		results, err := d.Download(t.Context(), []download.File{f})
		if !errors.Is(err, download.ErrInvalid) || results[0].Requests != 0 {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
	if _, err := download.New(newFS(t), download.Config{Parallel: -1}); err == nil {
		t.Error("New accepted Parallel -1")
	}
}

// The progress snapshots are consistent: counts never exceed totals and
// Rate and ETA are computable.
func TestProgressRateETA(t *testing.T) {
	p := download.Progress{BytesTotal: 300, BytesDone: 100, Elapsed: 2 * time.Second}
	if p.Rate() != 50 {
		t.Errorf("Rate = %v", p.Rate())
	}
	if left, ok := p.ETA(); !ok || left != 4*time.Second {
		t.Errorf("ETA = %v, %v", left, ok)
	}
	if _, ok := (download.Progress{}).ETA(); ok {
		t.Error("ETA known before any byte")
	}
}

// The real S3-compatible server as the store, with a resumed transfer,
// a multipart-sized file and a digest failure.
func TestDownloadIntoS3(t *testing.T) {
	srv := tests3.Start(t)
	store, err := s3store.Open(t.Context(), s3store.Config{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		Bucket: fmt.Sprintf("download-%d", rand.Uint64()), Prefix: "wsus",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	up := newUpstream(t)
	big := payload(20, 20<<20) // several multipart parts
	small := payload(21, 70_000)
	fb, fs := up.add(big), up.add(small)
	bad := up.add(payload(22, 9<<20))
	bad.SHA256 = fs.SHA256
	up.hook = func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool {
		if nth == 1 && len(data) == len(big) {
			breakAfter(w, data, 11<<20)
		}
		return false
	}
	d := newDownloader(t, store, download.Config{})
	results, err := d.Download(t.Context(), []download.File{fb, fs, bad})
	if !errors.Is(err, storage.ErrDigestMismatch) || results[0].Err != nil || results[1].Err != nil {
		t.Fatalf("err = %v; results %+v", err, results)
	}
	if results[0].Requests != 2 {
		t.Errorf("big file: %d requests, want 2 (one resume)", results[0].Requests)
	}
	if !bytes.Equal(stored(t, store, fb), big) || !bytes.Equal(stored(t, store, fs), small) {
		t.Fatal("wrong bytes stored")
	}
	absent(t, store, bad)
}

// A resume answered with another range than asked starts over cleanly.
func TestWrongRangeStartsOver(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	data := payload(30, 400_000)
	f := up.add(data)
	up.hook = func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool {
		switch nth {
		case 1:
			breakAfter(w, data, 100_000)
		case 2: // asked 100000-, sends 99000-
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 99000-%d/%d", len(data)-1, len(data)))
			w.Header().Set("Content-Length", strconv.Itoa(len(data)-99_000))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[99_000:])
			return true
		}
		return false
	}
	d := newDownloader(t, store, download.Config{})
	results, err := d.Download(t.Context(), []download.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored(t, store, f), data) {
		t.Fatal("wrong bytes stored")
	}
	if reqs := up.requests(); len(reqs) != 3 || reqs[1].rng != "bytes=100000-" || reqs[2].rng != "" {
		t.Fatalf("requests = %+v, want the first, the resume, and a new start", reqs)
	}
	if results[0].Requests != 3 {
		t.Errorf("result = %+v", results[0])
	}
}

// The upstream's file changed between the answer and its resume: If-Range
// does not match, the server sends the whole new entity (200), and the
// transfer starts over on it; the digests then decide.
func TestIfRangeMismatchStartsOver(t *testing.T) {
	up := newUpstream(t)
	store := newFS(t)
	data := payload(31, 300_000)
	f := up.add(data)
	up.hook = func(w http.ResponseWriter, r *http.Request, nth int, data []byte) bool {
		if nth == 1 {
			w.Header().Set("ETag", `"old"`)
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:50_000])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		return false // ServeContent: ETag "<sha1>", If-Range "old" does not match → 200
	}
	d := newDownloader(t, store, download.Config{})
	if _, err := d.Download(t.Context(), []download.File{f}); err != nil {
		t.Fatal(err)
	}
	reqs := up.requests()
	if len(reqs) != 2 || reqs[1].rng != "bytes=50000-" || reqs[1].ifRange != `"old"` {
		t.Fatalf("requests = %+v", reqs)
	}
	if !bytes.Equal(stored(t, store, f), data) {
		t.Fatal("wrong bytes stored")
	}
}
