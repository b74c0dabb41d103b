package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"wsus/internal/reqinfo"
	"wsus/internal/requestid"
)

// nullWriter is a ResponseWriter that keeps nothing, so that the benchmark
// measures the router alone.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nullWriter) WriteHeader(int)             {}

// countObserver counts Records, as a metrics observer would.
type countObserver struct{ n int }

func (c *countObserver) ObserveRequest(reqinfo.Record) { c.n++ }

// BenchmarkRouterOverhead measures what the router adds to a request
// (request ID, reqinfo, the observed writer, the Record, the access line):
// a handler writing a 1 KiB answer served directly, behind the request ID
// alone (the router before it observed requests), and through the router
// with the access log off, with an observer, and with the access log on
// (text to io.Discard) too.
func BenchmarkRouterOverhead(b *testing.B) {
	body := make([]byte, 1024)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqinfo.From(r.Context()).SetOperation("ClientWebService", "SyncUpdates")
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	on, err := newAccessLog(AccessLogOn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		handler http.Handler
	}{
		{"handler", h},
		// What the router did before it observed requests.
		{"requestid", requestid.Handler(h)},
		{"router", &router{soap: map[string]http.Handler{"/c.asmx": h}}},
		{"router+observer", &router{soap: map[string]http.Handler{"/c.asmx": h}, observe: &countObserver{}}},
		{"router+accesslog", &router{soap: map[string]http.Handler{"/c.asmx": h}, access: on, observe: &countObserver{}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/c.asmx", nil)
			w := &nullWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				bc.handler.ServeHTTP(w, req)
			}
		})
	}
}
