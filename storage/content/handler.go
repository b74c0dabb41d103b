// Package content serves the payload files of updates at
// /Content/<XX>/<SHA1HEX>.<ext>, the URLs GetExtendedUpdateInfo hands out,
// the way WSUS on IIS serves them (MS-WUSP.md sections 3.4 and 6.5,
// checklist item 18, and the captures in
// shared/protocol/captures/wsus-rs/wsus-m0-native/content-headers/), from
// any storage.BlobStore: the filesystem store or S3.
//
// Windows 11 downloads through Delivery Optimization with closed single
// ranges of 1 MiB (User-Agent Microsoft-Delivery-Optimization/10.1); older
// agents (BITS) send HEAD and open ranges. The handler answers:
//
//   - 200 with the whole file, or 206 with Content-Range "bytes a-b/size" for
//     one satisfiable range (closed "a-b", open "a-", suffix "-n"; b beyond
//     the end is cut at the end); the range is read from the store as a
//     ranged read (a ranged GetObject on S3);
//   - 206 multipart/byteranges for several satisfiable ranges, as IIS
//     answers them: one part per range in the order asked, each with the
//     file's Content-Type and its Content-Range (RFC 9110 section 14.6);
//     ranges beyond the end are left out, a single one left is sent as a
//     plain 206; more than MaxRanges ranges, or ranges that together ask
//     for more than the file (overlaps), get the whole file with 200 (see
//     parseRanges);
//   - Content-Type by extension as WSUS's IIS sends it (ContentType:
//     application/octet-stream for .exe, application/x-ms-wim for .wim,
//     ...; an extension IIS would not know is still served), Last-Modified,
//     Accept-Ranges bytes, a strong ETag and Content-Length: never chunked,
//     never compressed; HEAD gets the same headers without the body;
//   - Last-Modified is the file's Modified date from its update metadata
//     when the catalog lists the file (Options.Modified), else the stored
//     object's date; If-Modified-Since and If-Range compare with the same
//     value;
//   - 416 with Content-Range "bytes */size" when every range lies beyond
//     the end (every range of an empty file does);
//   - the whole file with 200 when the Range header is malformed or names
//     another unit: RFC 9110 section 14.2 lets a server ignore Range;
//   - 304 for a matching If-None-Match or If-Modified-Since, and the whole
//     file when If-Range does not match (clients seen so far send none of
//     these; If-Match and If-Unmodified-Since are ignored);
//   - 404 for a path that does not name a content file or a file not
//     stored, 403 for a content file name without extension (IIS did that),
//     405 for methods other than GET and HEAD;
//   - 503 with Retry-After when the store fails before the status line is
//     sent. The handler reads the start of the body (up to PrefetchSize
//     bytes) before it commits to a status, so a store that is down or
//     breaks at once gives a clean 503. Should the store fail after that,
//     the connection is aborted so that the client sees a truncated
//     transfer, never a complete-looking one.
//
// Slow clients: every write to the client must complete within
// Options.WriteTimeout (default one minute), a write deadline renewed before
// each write (http.ResponseController), so a download of any length that
// keeps moving never times out while a client that stops reading is cut
// off (the connection is closed) one timeout after its last progress. The
// handler sets no read deadline on requests without a body: net/http
// cancels a request's context when a read deadline passes during the
// answer (its background read fails), which would cut long downloads. A
// request that carries a body (GET and HEAD need none) must send it within
// WriteTimeout, else it gets 400 and the connection is closed.
//
// Two optional modes send clients elsewhere with 302 Found (Options):
// Redirect for stored files (a presigned S3 URL, an alternate download
// server), Fallback for files this server does not store (their Microsoft
// Update URL). [I] Whether Delivery Optimization follows a redirect from a
// WSUS content URL is not established by the captures; BITS and WinHTTP do.
//
// Fetch-through (Options.OnDemand): a file the store does not hold but the
// catalog lists is fetched from upstream on its first request, streamed to
// that client while it is stored and verified, and served from the store to
// everyone else; see OnDemand for the contract.
//
// The path is matched case-insensitively, like IIS did. The extension is
// not checked against the file's metadata name: the store is addressed by
// SHA-1 only.
package content

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"wsus/storage"
)

// Store is what the handler needs from a blob store; every
// storage.BlobStore has it.
type Store interface {
	Stat(ctx context.Context, key string) (storage.ObjectInfo, error)
	OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
}

// RedirectFunc returns the URL a client asking for the stored object at key
// (request r) is sent to instead of the bytes.
type RedirectFunc func(ctx context.Context, r *http.Request, key string) (string, error)

// FallbackFunc returns the URL of a file (by SHA-1) that the store does not
// hold, or "" when it knows none.
type FallbackFunc func(ctx context.Context, sha1 []byte) (string, error)

// ModifiedFunc returns the Modified date of the file with that SHA-1 as its
// update metadata gives it (catalog.File.Modified), or the zero time when
// the catalog does not list the file.
type ModifiedFunc func(ctx context.Context, sha1 []byte) (time.Time, error)

// Options tune the handler; the zero value serves every byte itself.
type Options struct {
	// Logger receives store failures; nil discards them.
	Logger *slog.Logger
	// Redirect, when set, answers GET and HEAD of a stored file with 302
	// Found to the URL it returns (an error gives 503).
	Redirect RedirectFunc
	// Fallback, when set, is asked about files the store does not hold:
	// 302 Found to the URL it returns, 404 when it returns "".
	Fallback FallbackFunc
	// OnDemand, when set, fetches files the store does not hold but the
	// catalog lists from upstream (see OnDemand); it is asked before
	// Fallback, which then only sees the files the catalog does not list.
	OnDemand *OnDemand
	// Modified, when set, gives the date sent as Last-Modified (and
	// compared with If-Modified-Since and If-Range): the file's Modified
	// from its metadata. Without it, or for a file it does not know, the
	// stored object's date is sent. Its answers are cached for
	// ModifiedCacheTTL, so that a download of many ranges asks once; when
	// it fails, the object's date is sent and the failure logged.
	//
	// [I] The captured WSUS (IIS) sent the Content file's own date, a few
	// minutes after the metadata's Modified (MpSigStub.exe: Modified
	// 2024-01-11T20:15:48Z, Last-Modified 20:39:44; AM_Base.exe:
	// 08:22:29Z and 08:30:53): WSUS keeps the date Microsoft Update's
	// download server gave the file, which the metadata does not carry.
	// Modified is the nearest date that is the same on every replica and
	// after every re-import.
	Modified ModifiedFunc
	// WriteTimeout bounds each write to the client (the deadline is
	// renewed before every write, not set once for the whole answer); zero
	// means DefaultWriteTimeout, a negative value sets no deadline.
	WriteTimeout time.Duration
}

// DefaultWriteTimeout is the default Options.WriteTimeout: a client that
// accepts no byte for this long is cut off.
const DefaultWriteTimeout = time.Minute

// RedirectToBase is a RedirectFunc for an alternate download server that
// mirrors the content tree: base + the request's path
// ("http://dl.example.com" + "/Content/49/A3....exe").
func RedirectToBase(base string) RedirectFunc {
	base = strings.TrimRight(base, "/")
	return func(_ context.Context, r *http.Request, _ string) (string, error) {
		return base + r.URL.EscapedPath(), nil
	}
}

// ModifiedCacheTTL is how long the handler remembers an answer of
// Options.Modified (listed or not); modifiedCacheSize bounds the files
// remembered.
const (
	ModifiedCacheTTL  = time.Minute
	modifiedCacheSize = 4096
)

// retryAfter is the Retry-After (seconds) sent with 503 when the store fails.
const retryAfter = "5"

// PrefetchSize is how much of a body the handler reads before it sends the
// status line; it is also the buffer the rest is copied with.
const PrefetchSize = 128 << 10

// handler is the http.Handler NewHandler returns.
type handler struct {
	store Store
	opts  Options
	log   *slog.Logger
	bufs  sync.Pool // of *[]byte, PrefetchSize long
	fetch *fetcher  // nil without OnDemand
	// modified caches Options.Modified by key; the zero time is "not
	// listed". Nil without Options.Modified.
	modified *expirable.LRU[string, time.Time]
}

// NewHandler returns the handler for /Content/ serving every byte itself; a
// nil logger discards the log. See NewHandlerWith.
func NewHandler(store Store, logger *slog.Logger) http.Handler {
	return NewHandlerWith(store, Options{Logger: logger})
}

// NewHandlerWith returns the handler for /Content/. Mount it so that it
// sees the full request path (do not strip the /Content/ prefix) and route
// every case variant of /Content/ to it.
//
// When the body fails half-way the handler panics with http.ErrAbortHandler,
// the net/http idiom for dropping the connection: middleware that recovers
// panics must re-panic that value.
//
// It panics when opts.OnDemand lacks Resolve or Fetcher.
func NewHandlerWith(store Store, opts Options) http.Handler {
	h := &handler{store: store, opts: opts, log: opts.Logger}
	if opts.OnDemand != nil {
		h.fetch = newFetcher(*opts.OnDemand)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if opts.Modified != nil {
		h.modified = expirable.NewLRU[string, time.Time](modifiedCacheSize, nil, ModifiedCacheTTL)
	}
	if h.opts.WriteTimeout == 0 {
		h.opts.WriteTimeout = DefaultWriteTimeout
	}
	h.bufs.New = func() any {
		b := make([]byte, PrefetchSize)
		return &b
	}
	return h
}

func (h *handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := h.deadlines(rw)
	if r.ContentLength != 0 && !h.discardBody(w, r) {
		return
	}
	sum, ext, status := parsePath(r.URL.Path)
	if status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	key := storage.KeyForSHA1(sum)
	ctx := r.Context()

	info, err := h.store.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotFound) && h.fetch != nil {
		var handled bool
		if info, err, handled = h.fetchMissing(w, r, key, sum, ContentType(ext), err); handled {
			return
		}
	}
	if errors.Is(err, storage.ErrNotFound) && h.opts.Fallback != nil {
		h.fallback(w, r, key, sum)
		return
	}
	if err != nil {
		h.storeError(w, r, key, err)
		return
	}
	if h.opts.Redirect != nil {
		h.redirect(w, r, key)
		return
	}
	info.ModTime = h.lastModified(r, key, sum, info.ModTime)
	if notModified(r, info) {
		setValidators(w.Header(), info)
		w.WriteHeader(http.StatusNotModified)
		return
	}

	ctype := ContentType(ext)
	start, length := int64(0), info.Size
	status = http.StatusOK
	switch ranges, kind := requestedRanges(r, info); {
	case kind == rangeUnsatisfiable:
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
		http.Error(w, http.StatusText(http.StatusRequestedRangeNotSatisfiable), http.StatusRequestedRangeNotSatisfiable)
		return
	case kind == rangePartial && len(ranges) > 1:
		h.serveMultipart(w, r, key, info, ctype, ranges)
		return
	case kind == rangePartial:
		start, length, status = ranges[0].start, ranges[0].length, http.StatusPartialContent
	}

	// Open the body and read its start before committing to a status, so
	// that a failing store still gets a clean 503.
	var body io.ReadCloser
	var buf *[]byte
	var first int
	if r.Method == http.MethodGet && length > 0 {
		body, err = h.store.OpenRange(ctx, key, start, length)
		if err != nil {
			h.storeError(w, r, key, err)
			return
		}
		defer body.Close()
		buf = h.bufs.Get().(*[]byte)
		defer h.bufs.Put(buf)
		first, err = io.ReadFull(body, (*buf)[:min(length, PrefetchSize)])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("object shorter than its size: %d bytes at %d, want %d: %w", first, start, min(length, PrefetchSize), err)
			}
			h.storeError(w, r, key, err)
			return
		}
	}

	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("Accept-Ranges", "bytes")
	setValidators(hdr, info)
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	if status == http.StatusPartialContent {
		hdr.Set("Content-Range", byteRange{start, length}.contentRange(info.Size))
	}
	w.WriteHeader(status)
	if body != nil {
		h.copyBody(w, r, key, body, (*buf)[:first], *buf, start, length)
	}
}

// serveMultipart answers several ranges with 206 multipart/byteranges
// (RFC 9110 section 14.6): each part has the file's Content-Type and its
// Content-Range. Content-Length is computed before the status is sent, so
// the body is never chunked, and the start of the first part is read
// before, so that a failing store still gets a clean 503; a later part
// that cannot be read aborts the connection.
func (h *handler) serveMultipart(w http.ResponseWriter, r *http.Request, key string, info storage.ObjectInfo, ctype string, ranges []byteRange) {
	boundary := newBoundary()
	heads := make([]string, len(ranges))
	length := int64(len(boundary) + 8) // "\r\n--" boundary "--\r\n"
	for i, rg := range ranges {
		var b strings.Builder
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("--" + boundary + "\r\nContent-Type: " + ctype + "\r\nContent-Range: " + rg.contentRange(info.Size) + "\r\n\r\n")
		heads[i] = b.String()
		length += int64(len(heads[i])) + rg.length
	}

	var body io.ReadCloser
	var buf *[]byte
	var first int
	if r.Method == http.MethodGet {
		var err error
		body, err = h.store.OpenRange(r.Context(), key, ranges[0].start, ranges[0].length)
		if err != nil {
			h.storeError(w, r, key, err)
			return
		}
		defer func() { body.Close() }()
		buf = h.bufs.Get().(*[]byte)
		defer h.bufs.Put(buf)
		want := min(ranges[0].length, PrefetchSize)
		if first, err = io.ReadFull(body, (*buf)[:want]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("object shorter than its size: %d bytes at %d, want %d: %w", first, ranges[0].start, want, err)
			}
			h.storeError(w, r, key, err)
			return
		}
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "multipart/byteranges; boundary="+boundary)
	hdr.Set("Accept-Ranges", "bytes")
	setValidators(hdr, info)
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(http.StatusPartialContent)
	if body == nil {
		return
	}
	for i, rg := range ranges {
		if _, err := io.WriteString(w, heads[i]); err != nil {
			h.log.DebugContext(r.Context(), "content: client went away", "key", key, "err", err)
			panic(http.ErrAbortHandler)
		}
		if i > 0 {
			body.Close()
			var err error
			if body, err = h.store.OpenRange(r.Context(), key, rg.start, rg.length); err != nil {
				if r.Context().Err() == nil {
					h.log.ErrorContext(r.Context(), "content: store failed mid-body", "key", key,
						"offset", rg.start, "length", rg.length, "err", err)
				}
				body = io.NopCloser(strings.NewReader(""))
				panic(http.ErrAbortHandler)
			}
			first = 0
		}
		h.copyBody(w, r, key, body, (*buf)[:first], *buf, rg.start, rg.length)
	}
	if _, err := io.WriteString(w, "\r\n--"+boundary+"--\r\n"); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// newBoundary returns a random multipart boundary: 32 hex digits. [I] The
// form of IIS's boundaries is not in the captures; any token that cannot
// occur in the body serves.
func newBoundary() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// redirect sends the client to where Options.Redirect says the stored
// object can be downloaded.
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, key string) {
	target, err := h.opts.Redirect(r.Context(), r, key)
	if err != nil {
		h.storeError(w, r, key, fmt.Errorf("redirect: %w", err))
		return
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// fallback sends the client to where Options.Fallback says a file the store
// does not hold can be downloaded, or answers 404.
func (h *handler) fallback(w http.ResponseWriter, r *http.Request, key string, sum []byte) {
	target, err := h.opts.Fallback(r.Context(), sum)
	switch {
	case err != nil:
		h.storeError(w, r, key, fmt.Errorf("fallback: %w", err))
	case target == "":
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
	default:
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusFound)
	}
}

// parsePath returns the SHA-1 and extension named by a path
// "/Content/<XX>/<SHA1HEX>.<ext>" (case-insensitive, <XX> the last two hex
// digits), or the error status: 404 when the path names no content file,
// 403 when the extension is missing.
func parsePath(p string) (sum []byte, ext string, status int) {
	const prefix = "/content/"
	if len(p) < len(prefix) || !strings.EqualFold(p[:len(prefix)], prefix) {
		return nil, "", http.StatusNotFound
	}
	dir, name, ok := strings.Cut(p[len(prefix):], "/")
	if !ok || strings.Contains(name, "/") {
		return nil, "", http.StatusNotFound
	}
	base, ext, hasExt := strings.Cut(name, ".")
	if len(base) != 40 || !strings.EqualFold(dir, base[38:]) {
		return nil, "", http.StatusNotFound
	}
	sum, err := hex.DecodeString(base)
	if err != nil {
		return nil, "", http.StatusNotFound
	}
	if !hasExt || ext == "" {
		return nil, "", http.StatusForbidden
	}
	if !validExt(ext) {
		return nil, "", http.StatusNotFound
	}
	return sum, ext, http.StatusOK
}

// lastModified returns the date to send as Last-Modified: the file's
// Modified from its metadata when Options.Modified knows the file, else
// stored (the object's date).
func (h *handler) lastModified(r *http.Request, key string, sum []byte, stored time.Time) time.Time {
	if h.modified == nil {
		return stored
	}
	t, ok := h.modified.Get(key)
	if !ok {
		var err error
		if t, err = h.opts.Modified(r.Context(), sum); err != nil {
			if r.Context().Err() == nil {
				h.log.WarnContext(r.Context(), "content: file date from the catalog failed; sending the object's", "key", key, "err", err)
			}
			return stored
		}
		h.modified.Add(key, t)
	}
	if t.IsZero() {
		return stored
	}
	return t.UTC().Truncate(time.Second)
}

// validExt accepts one file-name extension: 1 to 32 letters, digits, '_'
// or '-' (exe, cab, msu, psf, esd, appxbundle, ...).
func validExt(ext string) bool {
	if len(ext) > 32 {
		return false
	}
	for i := 0; i < len(ext); i++ {
		c := ext[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// setValidators sets ETag and Last-Modified when the store provides them.
func setValidators(hdr http.Header, info storage.ObjectInfo) {
	if info.ETag != "" {
		hdr.Set("ETag", info.ETag)
	}
	if !info.ModTime.IsZero() {
		hdr.Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	}
}

// storeError answers a failed Stat or OpenRange: 404 for a missing object,
// otherwise 503 with Retry-After.
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, key string, err error) {
	if errors.Is(err, storage.ErrNotFound) {
		http.Error(w, http.StatusText(http.StatusNotFound), http.StatusNotFound)
		return
	}
	if r.Context().Err() == nil { // not just the client going away
		h.log.ErrorContext(r.Context(), "content: store failed", "key", key, "err", err)
	}
	w.Header().Set("Retry-After", retryAfter)
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

// deadlines sets the write deadline and returns the writer that renews it
// before every write.
func (h *handler) deadlines(w http.ResponseWriter) http.ResponseWriter {
	if h.opts.WriteTimeout < 0 {
		return w
	}
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: h.opts.WriteTimeout, ok: true}
	dw.renew()
	return dw
}

// maxIgnoredBody bounds the body of a content request, which is read and
// ignored.
const maxIgnoredBody = 64 << 10

// discardBody reads the body of a request that has one, within
// WriteTimeout, so that a client announcing a body it does not send cannot
// hold the handler (net/http would wait for it before sending the answer).
// Once the body is read, net/http clears the read deadline itself. A body
// that is not all there in time gets 400, a larger one 413, and the
// connection is closed.
func (h *handler) discardBody(w http.ResponseWriter, r *http.Request) bool {
	if h.opts.WriteTimeout > 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.opts.WriteTimeout))
	}
	_, err := io.CopyN(io.Discard, r.Body, maxIgnoredBody+1)
	if errors.Is(err, io.EOF) {
		return true
	}
	status := http.StatusBadRequest
	if err == nil {
		status = http.StatusRequestEntityTooLarge
	}
	w.Header().Set("Connection", "close")
	http.Error(w, http.StatusText(status), status)
	return false
}

// deadlineWriter is an http.ResponseWriter that moves the connection's
// write deadline timeout ahead before every write.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	ok      bool // false once the writer said it has no deadlines
}

func (d *deadlineWriter) renew() {
	if !d.ok {
		return
	}
	// Any other error means the connection is gone: the write fails too.
	if err := d.rc.SetWriteDeadline(time.Now().Add(d.timeout)); errors.Is(err, http.ErrNotSupported) {
		d.ok = false
	}
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.renew()
	return d.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the writer underneath.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// copyBody sends exactly length bytes: first (already read), then the rest
// of body copied with buf; or it aborts the connection.
func (h *handler) copyBody(w http.ResponseWriter, r *http.Request, key string, body io.Reader, first, buf []byte, start, length int64) {
	n, err := w.Write(first)
	sent := int64(n)
	src := &recordingReader{r: io.LimitReader(body, length-sent)}
	if err == nil && sent < length {
		// writerOnly hides http.ResponseWriter's ReadFrom so that buf is used.
		n, cerr := io.CopyBuffer(writerOnly{w}, src, buf)
		sent, err = sent+n, cerr
	}
	if err == nil && sent == length {
		return
	}
	switch {
	case src.err != nil:
		h.log.ErrorContext(r.Context(), "content: store failed mid-body", "key", key,
			"offset", start, "length", length, "sent", sent, "err", src.err)
	case err == nil:
		h.log.ErrorContext(r.Context(), "content: object shorter than its size", "key", key,
			"offset", start, "length", length, "sent", sent)
	default:
		h.log.DebugContext(r.Context(), "content: client went away", "key", key, "sent", sent, "err", err)
	}
	panic(http.ErrAbortHandler)
}

// recordingReader remembers the first read error other than io.EOF, to tell
// store failures from client failures.
type recordingReader struct {
	r   io.Reader
	err error
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// writerOnly is an io.Writer with no other methods.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }
