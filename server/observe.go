package server

import (
	"io"
	"net/http"
	"strings"
	"time"

	"wsus/catalog/admin"
	"wsus/console"
	"wsus/internal/reqinfo"
)

// requestObserver receives one reqinfo.Record per request a router
// answered, after its handler returned (internal/metrics implements it).
// ObserveRequest is called on the request's goroutine, on the hot path: it
// must not block.
type requestObserver interface {
	ObserveRequest(rec reqinfo.Record)
}

// classify returns the kind of path p (lower case) names on rt and the
// handler serving it, nil for a path answered 404. It is the routing
// decision ServeHTTP makes, written once so that the kind a request is
// counted under is always the handler that served it.
func (rt *router) classify(p, rawPath string) (reqinfo.Kind, http.Handler) {
	if h, ok := rt.soap[p]; ok {
		return reqinfo.KindSOAP, h
	}
	switch {
	case rt.content != nil && strings.HasPrefix(p, "/content/"):
		return reqinfo.KindContent, rt.content
	case rt.admin != nil && strings.HasPrefix(rawPath, admin.Prefix):
		// Case-sensitive, as the admin API's own routes are.
		return reqinfo.KindAdmin, rt.admin
	case rt.console != nil && (rawPath == "/console" || strings.HasPrefix(rawPath, console.Prefix)):
		// Case-sensitive, as the admin API's paths are.
		return reqinfo.KindConsole, rt.console
	case p == "/healthz" || p == "/readyz":
		return reqinfo.KindHealth, nil
	case p == metricsPath && rt.metrics != nil:
		return reqinfo.KindMetrics, rt.metrics
	}
	return reqinfo.KindOther, nil
}

// metricsPath is where a router serves its metrics handler.
const metricsPath = "/metrics"

// serveMetrics serves the metrics handler to GET and HEAD, 405 otherwise.
func (rt *router) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	rt.metrics.ServeHTTP(w, r)
}

// finish builds the Record of a request once its handler returned (or
// panicked: aborted) and hands it to the access log and the observer.
func (rt *router) finish(r *http.Request, ow *observedWriter, info *reqinfo.Info, kind reqinfo.Kind, start time.Time, requestID string, aborted bool) {
	if rt.access == nil && rt.observe == nil {
		return
	}
	rec := reqinfo.Record{
		Kind:      kind,
		Method:    r.Method,
		Path:      r.URL.Path,
		Status:    ow.status,
		Range:     r.Header.Get("Range") != "",
		Bytes:     ow.bytes,
		Duration:  time.Since(start),
		RequestID: requestID,
	}
	if rec.Status == 0 && !aborted {
		// The handler wrote nothing: net/http answers 200 with no body.
		rec.Status = http.StatusOK
	}
	info.Fill(&rec)
	if rt.access != nil {
		rt.access.request(r.Context(), &rec, aborted)
	}
	if rt.observe != nil {
		rt.observe.ObserveRequest(rec)
	}
}

// observedWriter is the http.ResponseWriter handlers below the router get:
// it notes the final status and counts the body bytes written, and passes
// everything else through. It keeps what handlers rely on:
// http.ResponseController reaches the connection through Unwrap
// (deadlines, Flush), http.Flusher is implemented, and io.ReaderFrom is
// delegated to the writer underneath so that a file copied to the answer
// still goes out with sendfile.
type observedWriter struct {
	w http.ResponseWriter
	// status is the final status written, 0 until one is.
	status int
	bytes  int64
}

var (
	_ http.Flusher  = (*observedWriter)(nil)
	_ io.ReaderFrom = (*observedWriter)(nil)
)

// Header returns the header of the answer.
func (o *observedWriter) Header() http.Header { return o.w.Header() }

// WriteHeader notes the first final status (1xx are informational and
// may precede it) and writes it.
func (o *observedWriter) WriteHeader(code int) {
	if o.status == 0 && code >= 200 {
		o.status = code
	}
	o.w.WriteHeader(code)
}

// Write counts p's bytes written; a write without a status is a 200.
func (o *observedWriter) Write(p []byte) (int, error) {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	n, err := o.w.Write(p)
	o.bytes += int64(n)
	return n, err
}

// ReadFrom copies src to the answer through the writer underneath's own
// ReadFrom when it has one (net/http's uses sendfile for files), counting
// the bytes.
func (o *observedWriter) ReadFrom(src io.Reader) (int64, error) {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := o.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{o.w}, src)
	}
	o.bytes += n
	return n, err
}

// Flush sends what is buffered; it sends the header (200 unless set) if
// not sent yet.
func (o *observedWriter) Flush() {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	_ = http.NewResponseController(o.w).Flush()
}

// Unwrap gives http.ResponseController the writer underneath.
func (o *observedWriter) Unwrap() http.ResponseWriter { return o.w }

// writerOnly is an io.Writer with no other methods, so that io.Copy does
// not call back into ReadFrom.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }
