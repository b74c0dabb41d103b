package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsus/internal/reqinfo"
)

// readFromRecorder is an httptest.ResponseRecorder that says whether its
// ReadFrom was used.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom = true
	return io.Copy(r.ResponseRecorder, src)
}

// TestObservedWriter: the writer notes the final status (not a 1xx, not a
// second WriteHeader), counts the bytes of Write and ReadFrom, delegates
// ReadFrom to the writer underneath, and flushes through.
func TestObservedWriter(t *testing.T) {
	tests := []struct {
		name       string
		serve      func(w http.ResponseWriter)
		status     int
		bytes      int64
		readFrom   bool
		wantFlush  bool
		wantBodyOf string
	}{
		{"nothing written", func(http.ResponseWriter) {}, 0, 0, false, false, ""},
		{"write", func(w http.ResponseWriter) { io.WriteString(w, "hello") }, 200, 5, false, false, "hello"},
		{"status then write", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusOK) // superfluous: ignored by net/http too
			io.WriteString(w, "gone")
		}, 404, 4, false, false, "gone"},
		{"ReadFrom", func(w http.ResponseWriter) {
			// LimitReader has no WriteTo, which io.Copy would prefer.
			io.Copy(w, io.LimitReader(strings.NewReader("sendfile me"), 100))
		}, 200, 11, true, false, "sendfile me"},
		{"flush", func(w http.ResponseWriter) {
			io.WriteString(w, "x")
			w.(http.Flusher).Flush()
		}, 200, 1, false, true, "x"},
		{"flush through ResponseController", func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
		}, 200, 0, false, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			under := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
			ow := &observedWriter{w: under}
			tc.serve(ow)
			if ow.status != tc.status || ow.bytes != tc.bytes {
				t.Errorf("status %d bytes %d, want %d %d", ow.status, ow.bytes, tc.status, tc.bytes)
			}
			if under.readFrom != tc.readFrom {
				t.Errorf("ReadFrom of the writer underneath used: %v, want %v", under.readFrom, tc.readFrom)
			}
			if under.Flushed != tc.wantFlush {
				t.Errorf("flushed %v, want %v", under.Flushed, tc.wantFlush)
			}
			if got := under.Body.String(); got != tc.wantBodyOf {
				t.Errorf("body %q, want %q", got, tc.wantBodyOf)
			}
		})
	}
}

// TestObservedWriterKeepsConnectionControls: through the router's writer a
// handler still sets the connection's deadlines (a write deadline that
// passes cuts the answer) and a file copied to the answer is counted whole.
func TestObservedWriterKeepsConnectionControls(t *testing.T) {
	file := filepath.Join(t.TempDir(), "payload")
	payload := strings.Repeat("0123456789", 100_000)
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	recs := make(chan reqinfo.Record, 4)
	rt := &router{
		content: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline through the router: %v", err)
			}
			if strings.HasSuffix(r.URL.Path, "/hints") {
				// A 1xx answer is informational: the final status follows.
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusPartialContent)
				io.WriteString(w, "ab")
				return
			}
			if strings.HasSuffix(r.URL.Path, "/expired") {
				// A deadline already passed: the write fails.
				_ = rc.SetWriteDeadline(time.Now().Add(-time.Second))
				if _, err := w.Write([]byte(payload)); err == nil {
					t.Error("write after the deadline passed succeeded")
				}
				return
			}
			f, err := os.Open(file)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			if _, err := io.Copy(w, f); err != nil {
				t.Error(err)
			}
		}),
		observe: recordChan(recs),
	}
	srv := httptest.NewServer(rt)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/Content/file")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != payload {
		t.Fatalf("body of %d bytes, want the file's %d", len(body), len(payload))
	}
	if rec := <-recs; rec.Kind != reqinfo.KindContent || rec.Status != 200 || rec.Bytes != int64(len(payload)) {
		t.Errorf("Record %+v, want content, 200, %d bytes", rec, len(payload))
	}

	resp, err = http.Get(srv.URL + "/Content/hints")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if rec := <-recs; resp.StatusCode != 206 || string(body) != "ab" || rec.Status != 206 || rec.Bytes != 2 {
		t.Errorf("answer %d %q, Record %+v: want 206 \"ab\" and a Record of 206, 2 bytes", resp.StatusCode, body, rec)
	}

	// The expired deadline: the client sees the connection cut.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /Content/expired HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
		t.Error("an answer came after its write deadline passed")
	}
	if rec := <-recs; rec.Bytes >= int64(len(payload)) {
		t.Errorf("Record %+v, want fewer bytes than the %d the handler tried", rec, len(payload))
	}
}

// recordChan is a requestObserver sending to a channel.
type recordChan chan reqinfo.Record

func (c recordChan) ObserveRequest(rec reqinfo.Record) { c <- rec }

// TestAbortedRequestObserved: a handler that aborts its answer (panics
// with http.ErrAbortHandler, as the content handler does mid-body) still
// gives its Record and line, marked aborted, and the panic still reaches
// net/http.
func TestAbortedRequestObserved(t *testing.T) {
	var logs strings.Builder
	recs := make(chan reqinfo.Record, 1)
	access, err := newAccessLog(AccessLogOn, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rt := &router{
		content: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, "part")
			panic(http.ErrAbortHandler)
		}),
		observe: recordChan(recs),
		access:  access,
	}
	defer func() {
		if p := recover(); !errors.Is(p.(error), http.ErrAbortHandler) {
			t.Errorf("panic %v, want http.ErrAbortHandler", p)
		}
		rec := <-recs
		if rec.Status != 206 || rec.Bytes != 4 {
			t.Errorf("Record %+v, want 206 and 4 bytes", rec)
		}
		if !strings.Contains(logs.String(), "status=206") || !strings.Contains(logs.String(), "aborted=true") {
			t.Errorf("access line %q, want status=206 aborted=true", logs.String())
		}
	}()
	rt.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/Content/x", nil))
}
