package content_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"wsus/storage"
)

// faultyStore is the real FS store with the failures of a network store
// (S3 down, a connection reset mid-object) injected.
type faultyStore struct {
	*storage.FS
	statErr   error
	openErr   error
	failAfter int64 // readers fail after this many bytes; 0 = never
	readErr   error // what they fail with; nil = a clean early EOF
}

func (s *faultyStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if s.statErr != nil {
		return storage.ObjectInfo{}, s.statErr
	}
	return s.FS.Stat(ctx, key)
}

func (s *faultyStore) OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if s.openErr != nil {
		return nil, s.openErr
	}
	rc, err := s.FS.OpenRange(ctx, key, offset, length)
	if err != nil || s.failAfter == 0 {
		return rc, err
	}
	r := io.LimitReader(rc, s.failAfter)
	if s.readErr != nil {
		r = io.MultiReader(r, &errReader{s.readErr})
	}
	return struct {
		io.Reader
		io.Closer
	}{r, rc}, nil
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// A store failing before the status line, or within the first
// PrefetchSize bytes of the body, gives 503 with Retry-After, never a 200
// or 206.
func TestStoreDownBeforeHeaders(t *testing.T) {
	fs := newStore(t)
	obj := put(t, fs, testData(5000))
	down := errors.New("s3: dial tcp 192.0.2.9:443: connection refused")
	tests := []struct {
		name   string
		store  *faultyStore
		method string
		rng    string
		status int
		logged string
	}{
		{"Stat fails", &faultyStore{FS: fs, statErr: down}, "GET", "", 503, "connection refused"},
		{"Stat fails on HEAD", &faultyStore{FS: fs, statErr: down}, "HEAD", "", 503, "connection refused"},
		{"OpenRange fails", &faultyStore{FS: fs, openErr: down}, "GET", "", 503, "connection refused"},
		{"OpenRange fails for a range", &faultyStore{FS: fs, openErr: down}, "GET", "bytes=0-99", 503, "connection refused"},
		{"OpenRange fails for several ranges", &faultyStore{FS: fs, openErr: down}, "GET", "bytes=0-99,200-299", 503, "connection refused"},
		{"first part fails within the prefetch", &faultyStore{FS: fs, failAfter: 50, readErr: errors.New("connection reset by peer")}, "GET", "bytes=0-99,200-299", 503, "connection reset by peer"},
		{"body fails at once", &faultyStore{FS: fs, failAfter: 1, readErr: errors.New("connection reset by peer")}, "GET", "", 503, "connection reset by peer"},
		{"body fails within the prefetch", &faultyStore{FS: fs, failAfter: 4000, readErr: errors.New("connection reset by peer")}, "GET", "bytes=0-4999", 503, "connection reset by peer"},
		{"body shorter than the object", &faultyStore{FS: fs, failAfter: 4000}, "GET", "", 503, "object shorter than its size"},
		{"object gone between Stat and OpenRange", &faultyStore{FS: fs, openErr: fmt.Errorf("s3: %w", storage.ErrNotFound)}, "GET", "", 404, ""},
		{"Stat says not found", &faultyStore{FS: fs, statErr: fmt.Errorf("s3: %w", storage.ErrNotFound)}, "GET", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs := newServer(t, tt.store)
			header := map[string]string{}
			if tt.rng != "" {
				header["Range"] = tt.rng
			}
			resp := do(t, srv, tt.method, obj.path(".exe"), header)
			want := errorHeaders(tt.status)
			if tt.status == 503 {
				want.Set("Retry-After", "5")
			}
			checkResponse(t, resp, tt.method, tt.status, want, []byte(http.StatusText(tt.status)+"\n"))
			if tt.logged != "" && !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log %q does not mention %q", logs.String(), tt.logged)
			}
			if tt.logged == "" && logs.String() != "" {
				t.Errorf("unexpected log %q", logs.String())
			}
		})
	}
}

// A closed FS store fails for real: 503, not a 404 or a 500.
func TestClosedStore(t *testing.T) {
	fs := newStore(t)
	obj := put(t, fs, testData(100))
	srv, logs := newServer(t, fs)
	fs.Close()
	resp := do(t, srv, "GET", obj.path(".exe"), nil)
	checkResponse(t, resp, "GET", 503, errorHeaders(503, "Retry-After", "5"), []byte("Service Unavailable\n"))
	if !strings.Contains(logs.String(), "store failed") {
		t.Errorf("log %q does not report the failure", logs.String())
	}
}

// A store failing once the body has started (after PrefetchSize bytes)
// must not look like a complete transfer: the client gets the promised Content-Length, then the
// connection drops.
func TestStoreFailsMidBody(t *testing.T) {
	fs := newStore(t)
	obj := put(t, fs, testData(300_000))
	tests := []struct {
		name   string
		store  *faultyStore
		rng    string
		status int
		length int64
		sent   int64
		logged string
	}{
		{"read error, whole file", &faultyStore{FS: fs, failAfter: 200_000, readErr: errors.New("connection reset by peer")}, "", 200, 300_000, 200_000, "store failed mid-body"},
		{"read error, range", &faultyStore{FS: fs, failAfter: 150_000, readErr: errors.New("connection reset by peer")}, "bytes=50000-249999", 206, 200_000, 150_000, "store failed mid-body"},
		{"object shorter than its size", &faultyStore{FS: fs, failAfter: 200_000}, "", 200, 300_000, 200_000, "object shorter than its size"},
		// Each part is its own ranged read: the second fails after
		// 150000 of its 299000 bytes (Content-Length: parts plus the
		// framing of 32-digit boundaries).
		{"read error, second part of several", &faultyStore{FS: fs, failAfter: 150_000, readErr: errors.New("connection reset by peer")}, "bytes=0-99,1000-299999", 206, -1, 151_000, "store failed mid-body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs := newServer(t, tt.store)
			header := map[string]string{}
			if tt.rng != "" {
				header["Range"] = tt.rng
			}
			resp := do(t, srv, "GET", obj.path(".exe"), header)
			defer resp.Body.Close()
			if resp.StatusCode != tt.status || tt.length >= 0 && resp.ContentLength != tt.length {
				t.Fatalf("status %d, Content-Length %d; want %d, %d", resp.StatusCode, resp.ContentLength, tt.status, tt.length)
			}
			got, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("reading body: %v after %d bytes, want unexpected EOF", err, len(got))
			}
			if int64(len(got)) > tt.sent {
				t.Errorf("got %d bytes, store gave only %d", len(got), tt.sent)
			}
			if !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log %q does not mention %q", logs.String(), tt.logged)
			}
		})
	}
}
