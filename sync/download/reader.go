package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// errRestart is wrapped by a reader's error when the transfer has to start
// over from byte 0: the server ignored a Range (200) or answered another
// range than asked.
var errRestart = errors.New("transfer must start over")

// permanentError marks a failure of one URL that retrying will not cure.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// Unwrap gives errors.Is and errors.As the failure.
func (e *permanentError) Unwrap() error { return e.err }

// transfer is one HTTP answer being read.
type transfer struct {
	resp    *http.Response
	cancel  context.CancelFunc
	timer   *time.Timer // cancels when the answer stalls
	stalled atomic.Bool
	url     int // index in File.URLs
}

func (t *transfer) close() {
	t.timer.Stop()
	t.cancel()
	t.resp.Body.Close()
}

// reader is the resumable body of one file: an io.Reader over its bytes
// from offset 0, which re-requests from the offset reached when an answer
// breaks, and retries failed requests with backoff. Put reads it.
type reader struct {
	ctx      context.Context
	d        *Downloader
	f        File
	tee      io.Writer   // nil once the transfer started over
	progress func(int64) // nil when nobody counts

	bo       *backoff.ExponentialBackOff
	dead     []bool  // URLs that failed for good
	deadErrs []error // and why

	cur       *transfer // the answer being read; nil between answers
	pending   *transfer // a 200 to a Range, adopted by rewind
	validator string    // If-Range value for answers of URL vURL
	vURL      int

	off        int64 // bytes handed out
	total      int64 // expected length; -1 unknown
	progressed bool  // bytes arrived since the last request
	eof        bool
	err        error // sticky
	lastBreak  error // why the last answer ended early

	received int64
	requests int
}

func newReader(ctx context.Context, d *Downloader, f File, tee io.Writer, progress func(int64)) *reader {
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(d.cfg.InitialInterval),
		backoff.WithMaxInterval(d.cfg.MaxInterval),
		backoff.WithMaxElapsedTime(d.cfg.MaxElapsed),
	)
	return &reader{ctx: ctx, d: d, f: f, tee: tee, progress: progress, bo: bo,
		dead: make([]bool, len(f.URLs)), total: totalOf(f), vURL: -1}
}

// totalOf is the expected length of f, -1 when unknown.
func totalOf(f File) int64 {
	if f.Size > 0 {
		return f.Size
	}
	return -1
}

// open sends the first request, unless an answer is at hand already.
func (r *reader) open() error {
	if r.cur != nil || r.err != nil {
		return r.err
	}
	r.err = r.request(0)
	return r.err
}

// rewind prepares the reader for a new transfer from byte 0: the bytes
// handed out are taken back, the tee is dropped, a pending 200 becomes the
// current answer.
func (r *reader) rewind() {
	if r.progress != nil {
		r.progress(-r.off)
	}
	if r.cur != nil {
		r.cur.close()
		r.cur = nil
	}
	r.off, r.total, r.tee, r.err, r.eof = 0, totalOf(r.f), nil, nil, false
	r.validator, r.vURL = "", -1
	if p := r.pending; p != nil {
		r.pending = nil
		if err := r.accept(p, 0); err != nil {
			r.err = err
		}
	}
}

// close releases any answer still open.
func (r *reader) close() {
	for _, t := range []*transfer{r.cur, r.pending} {
		if t != nil {
			t.close()
		}
	}
	r.cur, r.pending = nil, nil
}

// Read implements io.Reader for Put.
func (r *reader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.eof {
			return 0, io.EOF
		}
		if r.cur == nil {
			if r.err = r.resume(); r.err != nil {
				return 0, r.err
			}
		}
		t := r.cur
		n, err := t.resp.Body.Read(p)
		if n > 0 {
			t.timer.Reset(r.d.cfg.StallTimeout)
			if r.total >= 0 && r.off+int64(n) > r.total {
				r.err = &permanentError{fmt.Errorf("GET %s: more than %d bytes: %w", r.f.URLs[t.url], r.total, ErrSizeMismatch)}
				return 0, r.err
			}
			r.off += int64(n)
			r.received += int64(n)
			r.progressed = true
			r.bo.Reset()
			if r.progress != nil {
				r.progress(int64(n))
			}
			if r.tee != nil {
				r.tee.Write(p[:n]) // its errors are its own
			}
		}
		if err != nil {
			t.close()
			r.cur = nil
			switch {
			case err == io.EOF && (r.total < 0 || r.off == r.total):
				r.eof = true
			case r.ctx.Err() != nil:
				r.err = fmt.Errorf("GET %s: %w", r.f.URLs[t.url], r.ctx.Err())
			case t.stalled.Load():
				r.lastBreak = fmt.Errorf("GET %s: no byte for %v", r.f.URLs[t.url], r.d.cfg.StallTimeout)
			case err == io.EOF:
				r.lastBreak = fmt.Errorf("GET %s: answer ended at byte %d of %d: %w", r.f.URLs[t.url], r.off, r.total, io.ErrUnexpectedEOF)
			default:
				r.lastBreak = fmt.Errorf("GET %s: at byte %d: %w", r.f.URLs[t.url], r.off, err)
			}
			if r.lastBreak != nil && r.err == nil && !r.eof {
				r.d.log.DebugContext(r.ctx, "download: answer broke, resuming", "err", r.lastBreak)
			}
		}
		if n > 0 {
			return n, nil
		}
	}
}

// resume requests the rest of the file after an answer broke; when that
// answer brought nothing, it waits for the backoff first.
func (r *reader) resume() error {
	if !r.progressed {
		wait := r.bo.NextBackOff()
		if wait == backoff.Stop {
			return fmt.Errorf("gave up after %d requests without progress: %w", r.requests, r.lastBreak)
		}
		if err := sleep(r.ctx, wait); err != nil {
			return err
		}
	}
	return r.request(r.off)
}

// request gets an answer for the bytes from off on, trying every live URL
// in turn (the current one first), in rounds separated by the backoff.
func (r *reader) request(off int64) error {
	r.progressed = false
	start := max(r.vURL, 0)
	for {
		var lastErr error
		var retryAfter time.Duration
		var perm []error
		for k := range r.f.URLs {
			i := (start + k) % len(r.f.URLs)
			if r.dead[i] {
				continue
			}
			ra, err := r.try(i, off)
			if err == nil || errors.Is(err, errRestart) {
				return err
			}
			if cerr := r.ctx.Err(); cerr != nil {
				return fmt.Errorf("GET %s: %w", r.f.URLs[i], cerr)
			}
			var pe *permanentError
			if errors.As(err, &pe) {
				r.dead[i] = true
				perm = append(perm, pe.err)
				continue
			}
			lastErr, retryAfter = err, max(retryAfter, ra)
		}
		if lastErr == nil { // every URL failed for good
			r.deadErrs = append(r.deadErrs, perm...)
			return errors.Join(r.deadErrs...)
		}
		r.deadErrs = append(r.deadErrs, perm...)
		wait := r.bo.NextBackOff()
		if wait == backoff.Stop {
			return fmt.Errorf("gave up after %d requests: %w", r.requests, lastErr)
		}
		if retryAfter > wait {
			wait = min(retryAfter, MaxRetryAfter)
		}
		r.d.log.DebugContext(r.ctx, "download: retrying", "in", wait, "err", lastErr)
		if err := sleep(r.ctx, wait); err != nil {
			return err
		}
	}
}

// try sends one request to URL i for the bytes from off on. It returns nil
// with r.cur set, an error wrapping errRestart, a *permanentError, or a
// transient error with the wait the server asked for.
func (r *reader) try(i int, off int64) (retryAfter time.Duration, err error) {
	u := r.f.URLs[i]
	ctx, cancel := context.WithCancel(r.ctx)
	t := &transfer{cancel: cancel, url: i}
	t.timer = time.AfterFunc(r.d.cfg.StallTimeout, func() {
		t.stalled.Store(true)
		cancel()
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.timer.Stop()
		cancel()
		return 0, &permanentError{fmt.Errorf("GET %s: %w", u, err)}
	}
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
		if i == r.vURL && r.validator != "" {
			req.Header.Set("If-Range", r.validator)
		}
	}
	r.requests++
	resp, err := r.d.hc.Do(req)
	if err != nil {
		t.timer.Stop()
		cancel()
		if t.stalled.Load() {
			return 0, fmt.Errorf("GET %s: no answer within %v", u, r.d.cfg.StallTimeout)
		}
		return 0, err // *url.Error names the method and URL
	}
	t.resp = resp
	code := resp.StatusCode
	switch {
	case code == http.StatusOK && off > 0:
		// The server ignored Range, or If-Range did not match: the bytes
		// handed out may not belong to this answer.
		r.pending = t
		return 0, fmt.Errorf("GET %s: 200 to a range from byte %d: %w", u, off, errRestart)
	case code == http.StatusOK, code == http.StatusPartialContent && off > 0:
		if err := r.accept(t, off); err != nil {
			t.close()
			return 0, err
		}
		return 0, nil
	}
	t.close()
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		return 0, &permanentError{fmt.Errorf("GET %s: HTTP %d: %w", u, code, ErrNotFound)}
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code == http.StatusTooManyRequests || code >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After")), &StatusError{URL: u, Code: code}
	default:
		return 0, &permanentError{&StatusError{URL: u, Code: code}}
	}
}

// accept checks the answer t for the bytes from off on and makes it the
// current one.
func (r *reader) accept(t *transfer, off int64) error {
	resp, u := t.resp, r.f.URLs[t.url]
	if off == 0 {
		if r.f.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != r.f.Size {
			return &permanentError{fmt.Errorf("GET %s: Content-Length %d, want %d: %w", u, resp.ContentLength, r.f.Size, ErrSizeMismatch)}
		}
		if r.total < 0 && resp.ContentLength > 0 {
			r.total = resp.ContentLength
		}
		r.validator, r.vURL = "", t.url
		if etag := resp.Header.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
			r.validator = etag
		} else if lm := resp.Header.Get("Last-Modified"); lm != "" {
			r.validator = lm
		}
	} else {
		first, last, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		switch {
		case !ok || first != off || (r.total >= 0 && (last != r.total-1 || (size >= 0 && size != r.total))):
			return fmt.Errorf("GET %s: asked bytes %d-, got Content-Range %q: %w", u, off, resp.Header.Get("Content-Range"), errRestart)
		case r.total < 0 && size >= 0:
			r.total = size
		}
		if t.url != r.vURL {
			r.validator, r.vURL = "", t.url
		}
	}
	r.cur = t
	return nil
}

// parseContentRange parses "bytes first-last/size" (size may be "*": -1).
func parseContentRange(s string) (first, last, size int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	first, err1 = strconv.ParseInt(a, 10, 64)
	last, err2 = strconv.ParseInt(b, 10, 64)
	size = -1
	if sz != "*" {
		size, err3 = strconv.ParseInt(sz, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || (size >= 0 && last >= size) {
		return 0, 0, 0, false
	}
	return first, last, size, true
}

// parseRetryAfter reads a Retry-After value, seconds or an HTTP date; 0
// when absent or malformed.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
