package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"wsus/catalog/admin"
)

// maxAPIAnswer bounds an API answer the console reads: the API pages its
// lists, so an answer larger than this is a bug, refused rather than held.
const maxAPIAnswer = 32 << 20

// apiError is an API answer other than 2xx: its status and the API's own
// code and reason (admin.Error), which the console shows as they are.
type apiError struct {
	Status int
	Code   string
	Reason string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("console: API %d %s: %s", e.Status, e.Code, e.Reason)
}

// statusOf is the HTTP status a page answers for err.
func statusOf(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}

// reasonOf is the sentence a page shows for err: the API's reason, or
// what went wrong in the console.
func reasonOf(err error) string {
	var e *apiError
	if errors.As(err, &e) {
		if e.Reason != "" {
			return e.Reason
		}
		return fmt.Sprintf("The server answered %d %s.", e.Status, http.StatusText(e.Status))
	}
	return err.Error()
}

// apiCall is one request of the API.
type apiCall struct {
	// Method and Path (a full /api/v1/ path) with Query.
	Method, Path string
	Query        url.Values
	// Body is encoded as JSON when not nil; the answer is decoded into Out
	// when not nil.
	Body, Out any
	// IfMatch is sent as If-Match when not "": the API's conditional
	// writes (catalog/admin/etag.go), so that a form saves only what the
	// person saw.
	IfMatch string
}

// call makes one request of the API in process, as the holder of token
// would, and returns the answer's ETag ("" when it has none). The request
// carries r's context (its request ID, its deadline) and r's address, so
// the API's limits on failed authentications count the person, not the
// console. Any answer but 2xx is an *apiError.
func (c *Console) call(r *http.Request, token string, a apiCall) (etag string, err error) {
	rd := bytes.NewReader(nil)
	if a.Body != nil {
		b, err := json.Marshal(a.Body)
		if err != nil {
			return "", fmt.Errorf("console: encode %s %s: %w", a.Method, a.Path, err)
		}
		rd = bytes.NewReader(b)
	}
	u := a.Path
	if len(a.Query) > 0 {
		u += "?" + a.Query.Encode()
	}
	req, err := http.NewRequestWithContext(r.Context(), a.Method, u, rd)
	if err != nil {
		return "", fmt.Errorf("console: %s %s: %w", a.Method, a.Path, err)
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if a.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.IfMatch != "" {
		req.Header.Set("If-Match", a.IfMatch)
	}
	rec := &answer{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.overflow {
		return "", fmt.Errorf("console: %s %s: the answer is larger than %d bytes", a.Method, a.Path, maxAPIAnswer)
	}
	if rec.status < 200 || rec.status > 299 {
		var e admin.Error
		_ = json.Unmarshal(rec.body.Bytes(), &e)
		return "", &apiError{Status: rec.status, Code: e.Code, Reason: e.Reason}
	}
	etag = rec.header.Get("ETag")
	if a.Out == nil || rec.status == http.StatusNoContent {
		return etag, nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), a.Out); err != nil {
		return "", fmt.Errorf("console: decode %s %s: %w", a.Method, a.Path, err)
	}
	return etag, nil
}

// changedMeanwhile is err, with a sentence before the API's reason when
// the API refused a conditional write because the resource changed since
// the form was read (412).
func changedMeanwhile(err error, noun string) error {
	var e *apiError
	if errors.As(err, &e) && e.Status == http.StatusPreconditionFailed {
		return &apiError{Status: e.Status, Code: e.Code,
			Reason: "Someone changed this " + noun + " since you opened it, so nothing was saved; reload the page to see it as it is now. The server said: " + e.Reason}
	}
	return err
}

// answer is the in-process http.ResponseWriter of call.
type answer struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	overflow bool
}

func (a *answer) Header() http.Header { return a.header }

func (a *answer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *answer) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.body.Len()+len(p) > maxAPIAnswer {
		a.overflow = true
		return 0, errors.New("console: API answer too large")
	}
	return a.body.Write(p)
}
