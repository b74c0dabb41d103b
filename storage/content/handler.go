// Package content serves the payload files of updates at
// /Content/<XX>/<SHA1HEX>.<ext>, the URLs GetExtendedUpdateInfo hands out,
// the way WSUS on IIS serves them (MS-WUSP.md sections 3.4 and 6.5,
// checklist item 18, and the captures in
// shared/protocol/captures/wsus-rs/wsus-m0-native/content-headers/).
//
// Windows 11 downloads through Delivery Optimization with closed single
// ranges of 1 MiB; older agents (BITS) send HEAD and open ranges. The
// handler answers:
//
//   - 200 with the whole file, or 206 with Content-Range "bytes a-b/size" for
//     one satisfiable range (closed "a-b", open "a-", suffix "-n"; b beyond
//     the end is cut at the end);
//   - always Content-Type application/octet-stream, Last-Modified,
//     Accept-Ranges bytes, a strong ETag and Content-Length: never chunked,
//     never compressed; HEAD gets the same headers without the body;
//   - 416 with Content-Range "bytes */size" when the range lies beyond the
//     end (every range of an empty file does);
//   - the whole file with 200 when the Range header is malformed, names
//     another unit, or asks for several ranges: RFC 9110 section 14.2 lets a
//     server ignore Range, and one simple 200 beats a multipart/byteranges
//     body no Windows client asks for;
//   - 304 for a matching If-None-Match or If-Modified-Since, and the whole
//     file when If-Range does not match (clients seen so far send none of
//     these; If-Match and If-Unmodified-Since are ignored);
//   - 404 for a path that does not name a content file or a file not
//     stored, 403 for a content file name without extension (IIS did that),
//     405 for methods other than GET and HEAD;
//   - 503 with Retry-After when the store fails before the status line is
//     sent; once the body has started, a store failure aborts the
//     connection so that the client sees a truncated transfer, never a
//     complete-looking one.
//
// The path is matched case-insensitively, like IIS did. The extension is
// not checked against the file's metadata name: the store is addressed by
// SHA-1 only.
package content

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"wsus/storage"
)

// Store is what the handler needs from a blob store; every
// storage.BlobStore has it.
type Store interface {
	Stat(ctx context.Context, key string) (storage.ObjectInfo, error)
	OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
}

// retryAfter is the Retry-After (seconds) sent with 503 when the store fails.
const retryAfter = "5"

// copyBufSize is the buffer size the body is copied with.
const copyBufSize = 128 << 10

// handler is the http.Handler NewHandler returns.
type handler struct {
	store Store
	log   *slog.Logger
	bufs  sync.Pool // of *[]byte, copyBufSize long
}

// NewHandler returns the handler for /Content/. Mount it so that it sees
// the full request path (do not strip the /Content/ prefix) and route every
// case variant of /Content/ to it. A nil logger discards the log.
//
// When the body fails half-way the handler panics with http.ErrAbortHandler,
// the net/http idiom for dropping the connection: middleware that recovers
// panics must re-panic that value.
func NewHandler(store Store, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{store: store, log: logger}
	h.bufs.New = func() any {
		b := make([]byte, copyBufSize)
		return &b
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sum, status := parsePath(r.URL.Path)
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
	if err != nil {
		h.storeError(w, r, key, err)
		return
	}
	if notModified(r, info) {
		setValidators(w.Header(), info)
		w.WriteHeader(http.StatusNotModified)
		return
	}

	start, length := int64(0), info.Size
	status = http.StatusOK
	switch s, n, kind := requestedRange(r, info); kind {
	case rangeUnsatisfiable:
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
		http.Error(w, http.StatusText(http.StatusRequestedRangeNotSatisfiable), http.StatusRequestedRangeNotSatisfiable)
		return
	case rangePartial:
		start, length, status = s, n, http.StatusPartialContent
	}

	// Open the body before committing to a status, so a failing store
	// still gets a clean 503.
	var body io.ReadCloser
	if r.Method == http.MethodGet && length > 0 {
		body, err = h.store.OpenRange(ctx, key, start, length)
		if err != nil {
			h.storeError(w, r, key, err)
			return
		}
		defer body.Close()
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Accept-Ranges", "bytes")
	setValidators(hdr, info)
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	if status == http.StatusPartialContent {
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, info.Size))
	}
	w.WriteHeader(status)
	if body != nil {
		h.copyBody(w, r, key, body, start, length)
	}
}

// parsePath returns the SHA-1 named by a path "/Content/<XX>/<SHA1HEX>.<ext>"
// (case-insensitive, <XX> the last two hex digits), or the error status:
// 404 when the path names no content file, 403 when the extension is
// missing.
func parsePath(p string) (sum []byte, status int) {
	const prefix = "/content/"
	if len(p) < len(prefix) || !strings.EqualFold(p[:len(prefix)], prefix) {
		return nil, http.StatusNotFound
	}
	dir, name, ok := strings.Cut(p[len(prefix):], "/")
	if !ok || strings.Contains(name, "/") {
		return nil, http.StatusNotFound
	}
	base, ext, hasExt := strings.Cut(name, ".")
	if len(base) != 40 || !strings.EqualFold(dir, base[38:]) {
		return nil, http.StatusNotFound
	}
	sum, err := hex.DecodeString(base)
	if err != nil {
		return nil, http.StatusNotFound
	}
	if !hasExt || ext == "" {
		return nil, http.StatusForbidden
	}
	if !validExt(ext) {
		return nil, http.StatusNotFound
	}
	return sum, http.StatusOK
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

// copyBody sends exactly length bytes of body, or aborts the connection.
func (h *handler) copyBody(w http.ResponseWriter, r *http.Request, key string, body io.Reader, start, length int64) {
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	src := &recordingReader{r: io.LimitReader(body, length)}
	// writerOnly hides http.ResponseWriter's ReadFrom so that our buffer is used.
	n, err := io.CopyBuffer(writerOnly{w}, src, *bp)
	if err == nil && n == length {
		return
	}
	switch {
	case src.err != nil:
		h.log.ErrorContext(r.Context(), "content: store failed mid-body", "key", key,
			"offset", start, "length", length, "sent", n, "err", src.err)
	case err == nil:
		h.log.ErrorContext(r.Context(), "content: object shorter than its size", "key", key,
			"offset", start, "length", length, "sent", n)
	default:
		h.log.DebugContext(r.Context(), "content: client went away", "key", key, "sent", n, "err", err)
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
