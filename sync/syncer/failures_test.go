package syncer_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wsus/catalog"
	"wsus/server"
	"wsus/sync/download"
	"wsus/sync/syncer"
	"wsus/sync/upstream"
)

// breakage is how the proxy in front of the upstream misbehaves.
type breakage func(w http.ResponseWriter, r *http.Request, next http.Handler) (handled bool)

// soapAction returns the operation a SOAP request names.
func soapAction(r *http.Request) string {
	a := strings.Trim(r.Header.Get("SOAPAction"), `"`)
	return a[strings.LastIndex(a, "/")+1:]
}

// startProxy serves upstreamURL through a reverse proxy that applies
// broken while it is set; it returns the proxy's URL and the switch.
func startProxy(t *testing.T, upstreamURL string) (string, *atomic.Pointer[breakage]) {
	t.Helper()
	target, err := url.Parse(upstreamURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var broken atomic.Pointer[breakage]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := broken.Load(); b != nil && (*b)(w, r, rp) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &broken
}

// record captures a response so that a breakage can change it.
func record(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

// failSync runs a synchronization that must fail, each upstream call
// attempt bounded by attempt and its retries by a second; it returns the
// error.
func failSync(t *testing.T, stores server.Stores, upstreamURL string, attempt time.Duration) (catalog.SyncRun, error) {
	t.Helper()
	ctx := context.Background()
	s, err := stores.Catalog.SyncSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.UpstreamURL, s.Replica, s.AllProducts, s.AllClassifications = upstreamURL, true, true, true
	if err := stores.Catalog.SetSyncSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	sy, err := syncer.New(syncer.Config{
		Store: stores.Catalog,
		// Short limits: each failure below is retried, then reported.
		Upstream: upstream.Config{Timeout: attempt, MaxElapsed: time.Second, Logger: slog.New(slog.DiscardHandler)},
		Content: syncer.Downloads{Store: stores.Blobs, Config: download.Config{
			MaxElapsed: time.Second, StallTimeout: 300 * time.Millisecond, InitialInterval: 10 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := sy.Run(ctx, "manual", nil)
	if err == nil {
		t.Fatalf("sync through a broken upstream succeeded: %+v", run)
	}
	if run.State != catalog.SyncFailed || run.Error != err.Error() {
		t.Errorf("run %+v, want failed with the error %q", run, err)
	}
	return run, err
}

// TestSyncFailures breaks the upstream in the ways the issue names: down,
// slow, faulting, answering a truncated body, serving a file whose digest
// is wrong. Each run fails with its reason, stores no half answer and
// advances no anchor past what it stored; the next run, against the healthy
// upstream, ends with A's catalog.
func TestSyncFailures(t *testing.T) {
	a, _ := startUpstream(t, 200, 13)
	want := identities(t, a.stores.Catalog)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + closed.Addr().String()
	closed.Close()

	only := func(op string, b breakage) *breakage {
		f := breakage(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if soapAction(r) != op {
				return false
			}
			return b(w, r, next)
		})
		return &f
	}
	for _, tc := range []struct {
		name   string
		down   bool
		broken *breakage
		// wantErr is in the run's error; noUpdateAnchor means the update
		// phase must not have advanced.
		wantErr        string
		noUpdateAnchor bool
		// attempt bounds one upstream call; zero means 30 s.
		attempt time.Duration
	}{
		{name: "down", down: true, wantErr: "connection refused", noUpdateAnchor: true},
		{name: "slow", wantErr: "deadline exceeded", noUpdateAnchor: true, attempt: 300 * time.Millisecond,
			broken: only("GetUpdateData", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				select {
				case <-time.After(time.Second):
				case <-r.Context().Done():
				}
				return true
			})},
		{name: "faulting", wantErr: "InternalServerError", noUpdateAnchor: true,
			broken: only("GetUpdateData", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				w.Header().Set("Content-Type", "text/xml; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Fault occurred</faultstring><detail><ErrorCode>InternalServerError</ErrorCode><Message /><ID>7b9f1b6e-2f5e-4d38-9a1e-7f0c6d2b4a11</ID><Method>"http://www.microsoft.com/SoftwareDistribution/GetUpdateData"</Method></detail></soap:Fault></soap:Body></soap:Envelope>`)
				return true
			})},
		{name: "truncated", wantErr: "malformed", noUpdateAnchor: true,
			broken: only("GetUpdateData", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				rec := record(next, r)
				body := rec.Body.Bytes()
				w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
				w.Write(body[:len(body)/2])
				return true
			})},
		{name: "wrong digest", wantErr: "digest",
			broken: func() *breakage {
				b := breakage(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !strings.HasPrefix(strings.ToLower(r.URL.Path), "/content/") {
						return false
					}
					rec := record(next, r)
					body := bytes.Clone(rec.Body.Bytes())
					if len(body) > 0 {
						body[len(body)/2] ^= 0xff
					}
					for k, v := range rec.Header() {
						w.Header()[k] = v
					}
					w.WriteHeader(rec.Code)
					w.Write(body)
					return true
				})
				return &b
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, b := open(t, false)
			proxyURL, broken := startProxy(t, a.url)
			target := proxyURL
			if tc.down {
				target = downURL
			}
			broken.Store(tc.broken)
			attempt := tc.attempt
			if attempt == 0 {
				attempt = 30 * time.Second
			}
			_, err := failSync(t, b, target, attempt)
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to name %q", err, tc.wantErr)
			}
			state, serr := b.Catalog.SyncState(context.Background())
			if serr != nil {
				t.Fatal(serr)
			}
			if tc.noUpdateAnchor && state.UpdateAnchor != "" {
				t.Errorf("update anchor %q advanced by a failed run", state.UpdateAnchor)
			}
			// Whatever was stored is whole revisions of A, each once.
			got := identities(t, b.Catalog)
			for _, id := range got {
				if !slices.Contains(want, id) {
					t.Fatalf("B holds %s, which A does not", id)
				}
			}
			if tc.name == "wrong digest" {
				if n := blobCount(t, b); n != 0 {
					t.Errorf("%d files stored from an upstream whose every file is corrupt", n)
				}
			}

			broken.Store(nil)
			run := syncFrom(t, b, proxyURL, true)
			if got := identities(t, b.Catalog); !slices.Equal(got, want) {
				t.Errorf("after the healthy run B holds %d revisions, A %d: %v", len(got), len(want), firstDiff(got, want))
			}
			if run.Files == 0 {
				t.Errorf("healthy run stored no files: %+v", run)
			}
		})
	}
}

// TestUpstreamReplaced replaces the upstream behind one URL by another
// installation with a smaller change sequence: the anchors B sends are
// then ahead of it, it answers ServerChanged, and B synchronizes
// everything again from the new one, with a new session.
func TestUpstreamReplaced(t *testing.T) {
	first, _ := startUpstream(t, 200, 21)
	second, _ := startUpstream(t, 120, 22)
	var target atomic.Pointer[url.URL]
	u1, _ := url.Parse(first.url)
	target.Store(u1)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target.Load())
	}})
	t.Cleanup(proxy.Close)

	_, b := open(t, false)
	syncFrom(t, b, proxy.URL, false)
	// The first catalog was imported in more steps than the second: B's
	// anchors are past the second's change sequence.
	u2, _ := url.Parse(second.url)
	target.Store(u2)
	run := syncFrom(t, b, proxy.URL, false)
	got := identities(t, b.Catalog)
	for _, id := range identities(t, second.stores.Catalog) {
		if !slices.Contains(got, id) {
			t.Fatalf("after the upstream was replaced B lacks %s (run %+v)", id, run)
		}
	}
}
