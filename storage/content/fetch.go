package content

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"wsus/storage"
	"wsus/sync/download"
)

// Defaults of OnDemand.
const (
	// DefaultMaxFetches is how many files may be fetched on demand at once.
	DefaultMaxFetches = 8
	// DefaultFailureTTL is how long a failed on-demand fetch is remembered:
	// requests for that file meanwhile get the same answer without another
	// upstream request.
	DefaultFailureTTL = time.Minute
	// maxFailures bounds the failures remembered (the least recent go).
	maxFailures = 4096
	// holdBack is how many of its last bytes the client that streams a
	// fetch receives only once the stored file's digests matched.
	holdBack = 1
)

// ResolveFunc says whether the catalog lists the file with that SHA-1 and
// where to fetch it: listed false means 404 (or Options.Fallback); an
// error gives 503.
type ResolveFunc func(ctx context.Context, sha1 []byte) (f download.File, listed bool, err error)

// Fetcher stores a file fetched from upstream into the store the handler
// serves from, writing its bytes to w as they arrive (see
// download.Downloader.Fetch, which implements it).
type Fetcher interface {
	Fetch(ctx context.Context, f download.File, w io.Writer) (storage.ObjectInfo, error)
}

var _ Fetcher = (*download.Downloader)(nil)

// OnDemand configures fetch-through: a file the store does not hold but the
// catalog lists (Resolve) is fetched from upstream on first request.
//
//   - The first GET without Range of a file whose size is known streams
//     the file to its client while it is stored (Fetcher writes the bytes
//     to the client as Put reads them). The client gets 200 with
//     Content-Length once the first byte arrived, but not the last byte
//     before the stored file's digests matched: on a mismatch, or any
//     failure once the status is sent, its connection is aborted
//     (http.ErrAbortHandler), so it never holds a complete-looking bad
//     file. No ETag or Last-Modified is sent with it: the object does not
//     exist yet.
//   - Every other request for the file meanwhile (another GET, a Range, a
//     HEAD) shares the same fetch (golang.org/x/sync/singleflight) and is
//     answered from the store once the file is stored. [I] A client that
//     gives up waiting (Delivery Optimization asks for 1 MiB ranges) gets
//     the file from the store when it asks again.
//   - At most MaxFetches files are fetched at once; a request that would
//     start another gets 503 with Retry-After, the handler's answer when it
//     cannot serve now.
//   - A failed fetch answers 404 when every upstream URL answered 404 or
//     410 (download.ErrNotFound), else 503 with Retry-After, and is
//     remembered for FailureTTL: requests meanwhile get the same answer
//     without an upstream request.
//   - The fetch runs to its end even when the client that started it goes
//     away (others may wait for it); the Fetcher's own retry policy bounds
//     it.
type OnDemand struct {
	// Resolve looks a file up in the catalog. Required.
	Resolve ResolveFunc
	// Fetcher stores into the store the handler serves from (a
	// *download.Downloader over the same storage.BlobStore). Required.
	Fetcher Fetcher
	// MaxFetches bounds the fetches under way; zero means
	// DefaultMaxFetches.
	MaxFetches int
	// FailureTTL is how long a failure is remembered; zero means
	// DefaultFailureTTL, negative means not at all.
	FailureTTL time.Duration
}

// errBusy is the error of a fetch refused because MaxFetches are under way.
var errBusy = errors.New("content: on-demand: too many fetches under way")

// fetcher is the handler's on-demand state.
type fetcher struct {
	cfg      OnDemand
	group    singleflight.Group
	slots    chan struct{}
	failures *expirable.LRU[string, error] // nil when not remembered
}

func newFetcher(cfg OnDemand) *fetcher {
	if cfg.Resolve == nil || cfg.Fetcher == nil {
		panic("content: Options.OnDemand needs Resolve and Fetcher")
	}
	if cfg.MaxFetches <= 0 {
		cfg.MaxFetches = DefaultMaxFetches
	}
	if cfg.FailureTTL == 0 {
		cfg.FailureTTL = DefaultFailureTTL
	}
	f := &fetcher{cfg: cfg, slots: make(chan struct{}, cfg.MaxFetches)}
	if cfg.FailureTTL > 0 {
		f.failures = expirable.NewLRU[string, error](maxFailures, nil, cfg.FailureTTL)
	}
	return f
}

// fetchMissing handles a request for a file the store does not hold. When
// it answered the request it returns handled; otherwise the request goes on
// with the Stat of the fetched file, or, when the catalog does not list the
// file, with the not-found error it was called with.
func (h *handler) fetchMissing(w http.ResponseWriter, r *http.Request, key string, sum []byte, ctype string, notFound error) (info storage.ObjectInfo, err error, handled bool) {
	ctx := r.Context()
	f, listed, err := h.fetch.cfg.Resolve(ctx, sum)
	if err != nil {
		h.storeError(w, r, key, fmt.Errorf("on-demand: resolve: %w", err))
		return storage.ObjectInfo{}, nil, true
	}
	if !listed {
		return storage.ObjectInfo{}, notFound, false
	}
	if !bytes.Equal(f.SHA1, sum) {
		h.storeError(w, r, key, fmt.Errorf("on-demand: resolve gave the file of SHA-1 %x", f.SHA1))
		return storage.ObjectInfo{}, nil, true
	}
	if h.fetch.failures != nil {
		if ferr, ok := h.fetch.failures.Get(key); ok {
			h.fetchFailed(w, r, key, ferr)
			return storage.ObjectInfo{}, nil, true
		}
	}

	// Only the caller whose function singleflight runs streams, and only
	// if it claims the writer before giving up waiting (claim: 1 streams,
	// 2 left).
	var tee *clientTee
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" && f.Size > 0 {
		tee = &clientTee{w: w, size: f.Size, ctype: ctype}
	}
	var claim atomic.Int32
	ch := h.fetch.group.DoChan(key, func() (any, error) {
		var out io.Writer
		if tee != nil && claim.CompareAndSwap(0, 1) {
			out = tee
		}
		return h.fetch.run(context.WithoutCancel(ctx), h, f, key, out)
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		if claim.CompareAndSwap(0, 2) {
			return storage.ObjectInfo{}, nil, true // the client went away
		}
		res = <-ch // the fetch writes to w: wait for it
	}
	streamed := tee != nil && claim.Load() == 1
	if streamed && tee.started {
		if res.Err == nil && tee.complete() && tee.finish() == nil {
			return storage.ObjectInfo{}, nil, true
		}
		h.log.DebugContext(ctx, "content: on-demand: streaming client aborted", "key", key,
			"sent", tee.sent, "of", tee.size, "client", tee.failed, "err", res.Err)
		panic(http.ErrAbortHandler)
	}
	if res.Err != nil {
		h.fetchFailed(w, r, key, res.Err) // run logged it
		return storage.ObjectInfo{}, nil, true
	}
	info, err = h.store.Stat(ctx, key)
	return info, err, false
}

// run fetches f into the store within the bound of concurrent fetches,
// remembering a failure.
func (f *fetcher) run(ctx context.Context, h *handler, file download.File, key string, out io.Writer) (storage.ObjectInfo, error) {
	select {
	case f.slots <- struct{}{}:
	default:
		return storage.ObjectInfo{}, errBusy
	}
	defer func() { <-f.slots }()
	// A fetch that ended between the caller's Stat and this flight stored
	// the file already.
	if info, err := h.store.Stat(ctx, key); err == nil {
		return info, nil
	}
	start := time.Now()
	info, err := f.cfg.Fetcher.Fetch(ctx, file, out)
	if err != nil {
		if f.failures != nil {
			f.failures.Add(key, err)
		}
		h.log.WarnContext(ctx, "content: on-demand fetch failed", "key", key, "err", err)
		return storage.ObjectInfo{}, err
	}
	h.log.InfoContext(ctx, "content: fetched on demand", "key", key, "size", info.Size,
		"sha1", hex.EncodeToString(file.SHA1), "took", time.Since(start))
	return info, nil
}

// fetchFailed answers a request whose on-demand fetch failed (run logged
// why): 404 when upstream does not have the file, else 503 with
// Retry-After.
func (h *handler) fetchFailed(w http.ResponseWriter, r *http.Request, key string, err error) {
	if errors.Is(err, download.ErrNotFound) {
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
		return
	}
	h.log.DebugContext(r.Context(), "content: on-demand fetch failed", "key", key, "err", err)
	w.Header().Set("Retry-After", retryAfter)
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

// clientTee is the writer a fetch streams to its first client: it sends
// the 200 header with the first byte and holds the last holdBack bytes
// back until finish. Its write errors are kept, never returned: the fetch
// goes on for the store.
type clientTee struct {
	w       http.ResponseWriter
	ctype   string // Content-Type
	size    int64
	n       int64 // bytes given to Write
	sent    int64 // bytes sent to the client
	tail    []byte
	started bool
	failed  error
}

func (t *clientTee) Write(p []byte) (int, error) {
	if !t.started {
		hdr := t.w.Header()
		hdr.Set("Content-Type", t.ctype)
		hdr.Set("Accept-Ranges", "bytes")
		hdr.Set("Content-Length", strconv.FormatInt(t.size, 10))
		t.w.WriteHeader(http.StatusOK)
		t.started = true
	}
	fwd := p
	if limit := t.size - holdBack; t.n+int64(len(p)) > limit {
		k := max(limit-t.n, 0)
		fwd = p[:k]
		if len(t.tail) < holdBack { // more than size is the Fetcher's error
			t.tail = append(t.tail, p[k:min(int64(len(p)), k+int64(holdBack-len(t.tail)))]...)
		}
	}
	t.n += int64(len(p))
	if t.failed == nil && len(fwd) > 0 {
		n, err := t.w.Write(fwd)
		t.sent += int64(n)
		t.failed = err
	}
	return len(p), nil
}

// complete reports that every byte but the held-back ones reached the
// client and nothing more came.
func (t *clientTee) complete() bool {
	return t.failed == nil && t.n == t.size && t.sent+int64(len(t.tail)) == t.size
}

// finish sends the held-back bytes.
func (t *clientTee) finish() error {
	n, err := t.w.Write(t.tail)
	t.sent += int64(n)
	return err
}
