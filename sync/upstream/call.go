package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"wsus/internal/xpress"
	"wsus/soap"
	"wsus/sync/wsusss"
)

// StatusError is a non-200 HTTP answer that carries no SOAP fault.
type StatusError struct {
	// Operation is the operation posted ("GetCookie").
	Operation string
	// StatusCode is the HTTP status (503).
	StatusCode int
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("upstream: %s: HTTP %d %s", e.Operation, e.StatusCode, http.StatusText(e.StatusCode))
}

// MalformedAttempts is how many times a call is tried while its answers
// are malformed (cut short by a proxy, garbled): more than once, as such an
// answer may come whole next time, but not for as long as transient
// failures, since an upstream that always answers so will not change.
const MalformedAttempts = 3

// transient reports whether err is worth retrying until the call's time
// runs out: the statuses of an
// overloaded or restarting server or proxy (502, 503, 504), the faults
// MS-WSUSSS.md 2.4 answers with "retry later" (ServerBusy,
// InternalServerError), and transport errors (connection refused or reset,
// a per-attempt timeout). Every other fault is not; malformed answers are
// tried MalformedAttempts times.
func transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var f *wsusss.Fault
	if errors.As(err, &f) {
		return f.Code == soap.ServerBusy || f.Code == soap.InternalServerError
	}
	var te *transportError
	return errors.As(err, &te)
}

// transportError is a failure to get an answer at all.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// call posts req to the service at path (relative to the upstream's root,
// or absolute) and returns what parse reads from the answer, retrying
// transient failures (see transient) with exponential backoff for at most
// c.maxElapsed and never past ctx. A fault answered with HTTP 500 is parsed
// by parse as well: every wsusss Parse function returns the *Fault of any
// answer whose Body holds one.
func call[T any](ctx context.Context, c *Client, req wsusss.Request, path string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	target, err := c.resolve(path)
	if err != nil {
		return zero, fmt.Errorf("upstream: %s: %w", req.Operation, err)
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.initialInterval
	b.MaxInterval = c.maxInterval
	b.MaxElapsedTime = c.maxElapsed
	attempts := 0
	op := func() (T, error) {
		attempts++
		v, err := attempt(ctx, c, req, target, parse)
		if err != nil && ctx.Err() != nil {
			if !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("upstream: %s: %w (last error: %w)", req.Operation, ctx.Err(), err)
			}
			return zero, backoff.Permanent(err)
		}
		if errors.Is(err, wsusss.ErrMalformed) && attempts < MalformedAttempts {
			return zero, err // a truncated or garbled answer may come whole next time
		}
		if err != nil && !transient(err) {
			return zero, backoff.Permanent(err)
		}
		return v, err
	}
	notify := func(err error, wait time.Duration) {
		c.log.Warn("upstream: retrying", "operation", req.Operation, "attempt", attempts, "wait", wait, "err", err)
	}
	v, err := backoff.RetryNotifyWithData(op, backoff.WithContext(b, ctx), notify)
	if err != nil {
		if err == ctx.Err() {
			// The backoff gave up waiting for its next attempt.
			err = fmt.Errorf("upstream: %s: %w", req.Operation, err)
		}
		return zero, err
	}
	return v, nil
}

// attempt is one POST of req to target and the parse of its answer.
func attempt[T any](ctx context.Context, c *Client, req wsusss.Request, target string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	body, status, err := c.post(ctx, req, target)
	if err != nil {
		return zero, err
	}
	switch status {
	case http.StatusOK:
		return parse(body)
	case http.StatusInternalServerError:
		// A real WSUS answers its faults with 500 (MS-WSUSSS.md 2.4).
		if _, perr := parse(body); perr != nil {
			if f, ok := errors.AsType[*wsusss.Fault](perr); ok {
				return zero, f
			}
		}
	}
	return zero, &StatusError{Operation: req.Operation, StatusCode: status}
}

// post sends req to target and returns the body (at most c.maxBody bytes)
// and the status. Transport failures are *transportError.
func (c *Client) post(ctx context.Context, req wsusss.Request, target string) ([]byte, int, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(req.Body))
	if err != nil {
		return nil, 0, fmt.Errorf("upstream: %s: %w", req.Operation, err)
	}
	hr.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hr.Header.Set("SOAPAction", `"`+req.Action+`"`)
	// A WSUS upstream compresses its answers when asked (MS-WUSP 2.1, the
	// framing its ServerSync answers share); Go's gzip is then off.
	hr.Header.Set("Accept-Encoding", "xpress")
	resp, err := c.hc.Do(hr)
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		// An untrusted certificate stays untrusted: not retried.
		return nil, 0, fmt.Errorf("upstream: %s: %w", req.Operation, err)
	}
	if err != nil {
		return nil, 0, &transportError{fmt.Errorf("upstream: %s: %w", req.Operation, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, 0, &transportError{fmt.Errorf("upstream: %s: reading the answer: %w", req.Operation, err)}
	}
	if int64(len(body)) > c.maxBody {
		return nil, 0, fmt.Errorf("upstream: %s: answer longer than %d bytes: %w", req.Operation, c.maxBody, ErrTooLarge)
	}
	switch enc := resp.Header.Get("Content-Encoding"); {
	case strings.EqualFold(enc, "xpress"):
		if body, err = xpress.Unframe(nil, body, int(c.maxBody)); err != nil {
			if errors.Is(err, xpress.ErrTooLarge) {
				return nil, 0, fmt.Errorf("upstream: %s: answer longer than %d bytes once decoded: %w", req.Operation, c.maxBody, ErrTooLarge)
			}
			// A body cut short or garbled: tried again (MalformedAttempts).
			return nil, 0, fmt.Errorf("upstream: %s: Xpress answer: %w: %w", req.Operation, err, wsusss.ErrMalformed)
		}
	case enc != "" && !strings.EqualFold(enc, "identity"):
		return nil, 0, fmt.Errorf("upstream: %s: answer in the unasked encoding %q", req.Operation, enc)
	}
	return body, resp.StatusCode, nil
}
