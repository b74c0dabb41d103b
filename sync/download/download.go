// Package download fetches payload files from an upstream (Microsoft Update,
// a Windows WSUS, another wsus server) into a storage.BlobStore: batches for
// the sync job (Downloader.Download) and one file at a time for the /Content/
// handler's fetch-through (Downloader.Fetch).
//
// What callers may rely on:
//   - A file becomes visible in the store only complete and verified: it is
//     streamed straight into BlobStore.Put with its SHA-1 and, when known,
//     SHA-256 as Put's want, so a digest mismatch leaves nothing behind.
//     Nothing is buffered beyond a read buffer: no whole file in memory, no
//     temporary file but Put's own.
//   - Download skips files already stored (Stat), fetches the others with at
//     most Config.Parallel at once, and returns one Result per File, in
//     order, plus an *Error naming every failed file and why (nil when none
//     failed). A failed file never stops the others; a done ctx stops all.
//   - Each file's URLs are tried in order. A connection that breaks
//     mid-body is resumed with "Range: bytes=N-" from the offset reached,
//     with If-Range on the validator (strong ETag, else Last-Modified) of the
//     answer the bytes came from; the answer must be 206 for exactly that
//     range. A server that ignores the range (200) or sends another range
//     makes the file start over cleanly: the Put under way fails (nothing is
//     stored) and a new one starts from byte 0.
//   - Transient failures are retried with exponential backoff
//     (github.com/cenkalti/backoff/v4) until Config.MaxElapsed passes without
//     a byte of progress: connection errors, resets and timeouts (including
//     a body that stalls for Config.StallTimeout), HTTP 408, 425, 429 and
//     5xx; a Retry-After on 429 or 503 lengthens the wait (at most
//     MaxRetryAfter). Permanent failures are reported at once: 404 and 410
//     (ErrNotFound), other 4xx (*StatusError), a length that disagrees with
//     File.Size (ErrSizeMismatch). A digest mismatch (storage.ErrDigestMismatch)
//     gets one clean retry from byte 0, then is permanent. Permanent failures
//     of one URL move on to the next; the file fails when every URL failed.
//   - Progress is reported through Config.Progress: files and bytes done
//     and total, elapsed time, from which Progress.Rate and Progress.ETA
//     derive.
//   - The default HTTP client honours the standard proxy variables
//     (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) and never asks for compression,
//     so that lengths and ranges are those of the file.
//
// The URLs are those of ../shared/protocol/MS-WSUSSS.md section 5: the
// MUUrl of GetUpdateData fileUrls
// (http://download.windowsupdate.com/.../<name>_<sha1>.<ext>), or a WSUS
// upstream's http://<host>:<port>/Content/<XX>/<SHA1 HEX>.<ext>, which
// supports HEAD and byte ranges (READ-REAL there). The content is
// identified by SHA-1, with SHA-256 as AdditionalDigest.
package download

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wsus/storage"
)

// Defaults of Config.
const (
	// DefaultParallel is how many files Download fetches at once.
	DefaultParallel = 4
	// DefaultMaxElapsed is how long a file's transfer may go without a byte
	// of progress, retries included, before it fails.
	DefaultMaxElapsed = 5 * time.Minute
	// DefaultInitialInterval is the first wait before a retry.
	DefaultInitialInterval = 500 * time.Millisecond
	// DefaultMaxInterval is the longest wait between two retries.
	DefaultMaxInterval = 30 * time.Second
	// DefaultStallTimeout is how long a request may go without an answer or
	// a body byte before it is abandoned (and retried).
	DefaultStallTimeout = time.Minute
	// DefaultProgressInterval is how often Download reports progress
	// besides each file's end.
	DefaultProgressInterval = time.Second
	// MaxRetryAfter caps how long a Retry-After makes a retry wait.
	MaxRetryAfter = 5 * time.Minute
	// maxRestarts bounds the clean restarts of one file (servers ignoring
	// Range) besides the one digest retry.
	maxRestarts = 3
	// dialTimeout and tlsTimeout bound connecting with the default client.
	dialTimeout = 30 * time.Second
	tlsTimeout  = 15 * time.Second
)

// Errors of a file's transfer, wrapped with context; test with errors.Is.
// A digest mismatch wraps storage.ErrDigestMismatch.
var (
	// ErrNotFound means every URL answered 404 or 410.
	ErrNotFound = errors.New("not found upstream")
	// ErrSizeMismatch means the upstream's length disagrees with File.Size.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrInvalid means a File is malformed (digest lengths, no URL, a URL
	// that is not http or https).
	ErrInvalid = errors.New("invalid file")
)

// StatusError is an HTTP status that fails a URL (other than 404 and 410,
// which are ErrNotFound) or, for a transient status, that was still
// answered when the retries gave up.
type StatusError struct {
	// URL is the URL that answered.
	URL string
	// Code is the HTTP status code.
	Code int
}

// Error names the URL and the status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// File is one payload file to fetch.
type File struct {
	// SHA1 is the file's SHA-1 (20 bytes): its identity and store key
	// (storage.KeyForSHA1). Required.
	SHA1 []byte
	// SHA256 is checked when not empty (32 bytes).
	SHA256 []byte
	// Size is the file's length in bytes; 0 means unknown (then the
	// upstream's Content-Length is trusted, and the digests decide).
	Size int64
	// URLs are the candidate locations, tried in order: the MUUrl, a WSUS
	// upstream's /Content/ URL. At least one, http or https.
	URLs []string
}

// Key is the file's blob store key.
func (f File) Key() string { return storage.KeyForSHA1(f.SHA1) }

// check validates f; the error wraps ErrInvalid.
func (f File) check() error {
	if len(f.SHA1) != sha1.Size {
		return fmt.Errorf("SHA-1 is %d bytes, want %d: %w", len(f.SHA1), sha1.Size, ErrInvalid)
	}
	if len(f.SHA256) != 0 && len(f.SHA256) != sha256.Size {
		return fmt.Errorf("SHA-256 is %d bytes, want %d or none: %w", len(f.SHA256), sha256.Size, ErrInvalid)
	}
	if f.Size < 0 {
		return fmt.Errorf("negative size %d: %w", f.Size, ErrInvalid)
	}
	if len(f.URLs) == 0 {
		return fmt.Errorf("no URL: %w", ErrInvalid)
	}
	for _, s := range f.URLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("URL %q is not an http or https URL: %w", s, ErrInvalid)
		}
	}
	return nil
}

// Result is the outcome of one File of a Download.
type Result struct {
	// File is the file asked for.
	File File
	// Skipped reports that the file was already stored: nothing was
	// fetched.
	Skipped bool
	// Info describes the stored object when Err is nil.
	Info storage.ObjectInfo
	// Bytes is how many bytes were received from upstream for the file,
	// restarts and retries included.
	Bytes int64
	// Requests is how many HTTP requests were sent for the file.
	Requests int
	// Err is why the file is not stored, nil when it is.
	Err error
}

// Error is Download's error when files failed: it names each and why.
type Error struct {
	// Failed are the results with an Err, in the order of the files.
	Failed []Result
	// Total is how many files were asked for.
	Total int
}

// maxNamed is how many failed files Error's message names.
const maxNamed = 10

// Error names up to ten failed files (SHA-1 in hex) and why each failed.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "download: %d of %d files failed", len(e.Failed), e.Total)
	for i, r := range e.Failed {
		if i == maxNamed {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-maxNamed)
			break
		}
		fmt.Fprintf(&b, "; %x: %v", r.File.SHA1, r.Err)
	}
	return b.String()
}

// Unwrap returns every failed file's error, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, r := range e.Failed {
		errs[i] = r.Err
	}
	return errs
}

// Progress is a snapshot of a Download.
type Progress struct {
	// FilesTotal is how many files were asked for; FilesDone how many are
	// finished, of which FilesSkipped were already stored and FilesFailed
	// failed.
	FilesTotal, FilesDone, FilesSkipped, FilesFailed int
	// BytesTotal is the sum of the known sizes of the files not found
	// stored (it shrinks as stored files are found); BytesDone is how many
	// bytes were received and kept (bytes of a transfer that started over
	// are taken back).
	BytesTotal, BytesDone int64
	// Elapsed is the time since Download started.
	Elapsed time.Duration
}

// Rate is the mean transfer rate so far, in bytes per second.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.BytesDone) / p.Elapsed.Seconds()
}

// ETA estimates the time left at the mean rate so far; ok is false while
// nothing was received yet.
func (p Progress) ETA() (left time.Duration, ok bool) {
	rate := p.Rate()
	if rate <= 0 {
		return 0, false
	}
	rest := max(p.BytesTotal-p.BytesDone, 0)
	return time.Duration(float64(rest) / rate * float64(time.Second)), true
}

// Store is what a Downloader needs from a blob store; every
// storage.BlobStore has it.
type Store interface {
	Stat(ctx context.Context, key string) (storage.ObjectInfo, error)
	Put(ctx context.Context, key string, r io.Reader, want storage.Digests) (storage.ObjectInfo, error)
}

var _ Store = storage.BlobStore(nil)

// Config configures a Downloader; the zero value is ready to use.
type Config struct {
	// Parallel is how many files Download fetches at once; zero means
	// DefaultParallel.
	Parallel int
	// HTTPClient, when set, is used as is; zero means a client of its own
	// with the standard proxy variables (http.ProxyFromEnvironment), no
	// compression, Parallel idle connections per host and connect
	// timeouts. Either way StallTimeout applies to every request.
	HTTPClient *http.Client
	// MaxElapsed is how long one file may go without progress, retries
	// included, before it fails; zero means DefaultMaxElapsed.
	MaxElapsed time.Duration
	// InitialInterval and MaxInterval shape the exponential backoff
	// between retries; zero means DefaultInitialInterval and
	// DefaultMaxInterval.
	InitialInterval, MaxInterval time.Duration
	// StallTimeout abandons (and retries) a request that goes this long
	// without its answer or a body byte; zero means DefaultStallTimeout.
	StallTimeout time.Duration
	// Progress, when set, receives snapshots of a Download: every
	// ProgressInterval, after each file, and a last one before Download
	// returns. Calls never overlap; it must return quickly.
	Progress func(Progress)
	// ProgressInterval is how often Progress is called besides; zero
	// means DefaultProgressInterval.
	ProgressInterval time.Duration
	// Logger receives retries (debug) and failed files (warn); zero means
	// slog.Default().
	Logger *slog.Logger
}

// Downloader fetches files into one store. It is safe for concurrent use.
type Downloader struct {
	store Store
	cfg   Config
	hc    *http.Client
	log   *slog.Logger
}

// New validates cfg and returns a Downloader storing into store. It does
// no I/O.
func New(store Store, cfg Config) (*Downloader, error) {
	if store == nil {
		return nil, errors.New("download: no store")
	}
	if cfg.Parallel < 0 || cfg.MaxElapsed < 0 || cfg.InitialInterval < 0 || cfg.MaxInterval < 0 ||
		cfg.StallTimeout < 0 || cfg.ProgressInterval < 0 {
		return nil, errors.New("download: Parallel and the durations must not be negative")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = DefaultParallel
	}
	def(&cfg.MaxElapsed, DefaultMaxElapsed)
	def(&cfg.InitialInterval, DefaultInitialInterval)
	def(&cfg.MaxInterval, DefaultMaxInterval)
	def(&cfg.StallTimeout, DefaultStallTimeout)
	def(&cfg.ProgressInterval, DefaultProgressInterval)
	d := &Downloader{store: store, cfg: cfg, hc: cfg.HTTPClient, log: cfg.Logger}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.hc == nil {
		d.hc = NewHTTPClient(cfg.Parallel)
	}
	return d, nil
}

// NewHTTPClient returns the client a Downloader uses by default: the
// standard proxy variables, no compression, conns idle connections kept per
// host, connect and TLS handshake timeouts, no overall timeout (a download
// of any length works; Config.StallTimeout catches a stuck one).
func NewHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = max(conns, 2)
	tr.TLSHandshakeTimeout = tlsTimeout
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: tr}
}

// Download stores every file of files that the store does not hold yet
// and returns one Result per file, in order. The error is an *Error naming
// the failed files, or nil; when ctx ends, the files not finished fail
// with ctx's error.
func (d *Downloader) Download(ctx context.Context, files []File) ([]Result, error) {
	results := make([]Result, len(files))
	tr := newTracker(files, d.cfg.Progress)
	stopTicker := tr.tick(d.cfg.ProgressInterval)

	// The first of several files with one SHA-1 is fetched; the others
	// copy its result.
	first := make(map[string]int, len(files))
	dups := map[int]int{}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(d.cfg.Parallel, len(files)) {
		wg.Go(func() {
			for i := range work {
				results[i] = d.one(ctx, files[i], tr)
			}
		})
	}
feed:
	for i, f := range files {
		if j, ok := first[string(f.SHA1)]; ok && len(f.SHA1) == sha1.Size {
			dups[i] = j
			continue
		}
		first[string(f.SHA1)] = i
		select {
		case work <- i:
		case <-ctx.Done():
			for k := i; k < len(files); k++ {
				results[k] = Result{File: files[k], Err: fmt.Errorf("download: %x: not started: %w", files[k].SHA1, ctx.Err())}
				tr.fileDone(results[k])
			}
			break feed
		}
	}
	close(work)
	wg.Wait()
	for i, j := range dups {
		r := results[j]
		r.File, r.Bytes, r.Requests = files[i], 0, 0
		results[i] = r
		tr.fileDone(r)
	}
	stopTicker()

	var failed []Result
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		return results, &Error{Failed: failed, Total: len(files)}
	}
	return results, nil
}

// one handles one file of a Download.
func (d *Downloader) one(ctx context.Context, f File, tr *tracker) Result {
	res := Result{File: f}
	defer func() { tr.fileDone(res) }()
	if err := ctx.Err(); err != nil {
		res.Err = fmt.Errorf("download: %x: not started: %w", f.SHA1, err)
		return res
	}
	if err := f.check(); err != nil {
		res.Err = fmt.Errorf("download: %x: %w", f.SHA1, err)
		return res
	}
	info, err := d.store.Stat(ctx, f.Key())
	if err == nil {
		res.Skipped, res.Info = true, info
		tr.skipped(f)
		return res
	}
	if !errors.Is(err, storage.ErrNotFound) {
		res.Err = fmt.Errorf("download: %x: %w", f.SHA1, err)
		return res
	}
	res.Info, res.Bytes, res.Requests, res.Err = d.fetch(ctx, f, nil, tr.addBytes)
	if res.Err != nil {
		res.Err = fmt.Errorf("download: %x: %w", f.SHA1, res.Err)
		if ctx.Err() == nil {
			d.log.WarnContext(ctx, "download: file failed", "sha1", hex.EncodeToString(f.SHA1), "err", res.Err)
		}
	}
	return res
}

// Fetch stores f (whether or not the store holds it already) and returns
// the stored object. When w is not nil it receives the file's bytes in
// order as they are read from upstream, before they are verified; once the
// transfer starts over (a server ignoring Range, a digest retry) w receives
// nothing more, so w sees a prefix of the file, all of it only when the
// first transfer succeeded. Write errors of w are ignored: w never stops
// the transfer. Fetch is the single-file path of the /Content/ handler's
// fetch-through.
func (d *Downloader) Fetch(ctx context.Context, f File, w io.Writer) (storage.ObjectInfo, error) {
	if err := f.check(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("download: %x: %w", f.SHA1, err)
	}
	info, _, _, err := d.fetch(ctx, f, w, nil)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("download: %x: %w", f.SHA1, err)
	}
	return info, nil
}

// fetch streams f into the store: Put reads from a resumable reader; a
// clean restart (server ignoring Range) or one digest mismatch starts a new
// Put from byte 0. progress, when set, is told of every byte received and
// of bytes taken back.
func (d *Downloader) fetch(ctx context.Context, f File, w io.Writer, progress func(int64)) (info storage.ObjectInfo, received int64, requests int, err error) {
	want := storage.Digests{SHA1: f.SHA1, SHA256: f.SHA256}
	rd := newReader(ctx, d, f, w, progress)
	defer func() {
		rd.close()
		received, requests = rd.received, rd.requests
	}()
	digestRetried := false
	for restarts := 0; ; {
		if err := rd.open(); err != nil {
			return storage.ObjectInfo{}, 0, 0, err
		}
		info, err := d.store.Put(ctx, f.Key(), rd, want)
		if err == nil {
			return info, 0, 0, nil
		}
		switch {
		case ctx.Err() != nil:
			return storage.ObjectInfo{}, 0, 0, err
		case errors.Is(rd.err, errRestart) && restarts < maxRestarts:
			restarts++
			d.log.DebugContext(ctx, "download: starting over", "sha1", hex.EncodeToString(f.SHA1), "err", rd.err)
		case errors.Is(err, storage.ErrDigestMismatch) && !digestRetried:
			digestRetried = true
			d.log.DebugContext(ctx, "download: digest mismatch, one clean retry", "sha1", hex.EncodeToString(f.SHA1), "err", err)
		case rd.err != nil:
			// The download failed, not the store: its error says why.
			return storage.ObjectInfo{}, 0, 0, rd.err
		default:
			return storage.ObjectInfo{}, 0, 0, err
		}
		rd.rewind()
	}
}

// tracker counts a Download's progress and reports it.
type tracker struct {
	report func(Progress)
	start  time.Time
	bytes  atomic.Int64

	mu sync.Mutex // serializes report and guards p
	p  Progress
}

func newTracker(files []File, report func(Progress)) *tracker {
	t := &tracker{report: report, start: time.Now()}
	t.p.FilesTotal = len(files)
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if !seen[string(f.SHA1)] {
			seen[string(f.SHA1)] = true
			t.p.BytesTotal += f.Size
		}
	}
	return t
}

func (t *tracker) addBytes(n int64) { t.bytes.Add(n) }

func (t *tracker) skipped(f File) {
	t.mu.Lock()
	t.p.BytesTotal -= f.Size
	t.mu.Unlock()
}

func (t *tracker) fileDone(r Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.FilesDone++
	switch {
	case r.Err != nil:
		t.p.FilesFailed++
	case r.Skipped:
		t.p.FilesSkipped++
	}
	t.emitLocked()
}

func (t *tracker) emitLocked() {
	if t.report == nil {
		return
	}
	t.p.BytesDone = t.bytes.Load()
	t.p.Elapsed = time.Since(t.start)
	t.report(t.p)
}

// tick reports every interval until the returned function is called; that
// function reports once more, last.
func (t *tracker) tick(interval time.Duration) (stop func()) {
	if t.report == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				t.mu.Lock()
				t.emitLocked()
				t.mu.Unlock()
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		t.mu.Lock()
		t.emitLocked()
		t.mu.Unlock()
	}
}
