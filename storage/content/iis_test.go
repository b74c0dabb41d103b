package content_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wsus/internal/syncbuf"
	"wsus/storage"
	"wsus/storage/content"
)

// Content served as a WSUS's IIS serves it: several ranges as
// multipart/byteranges, Content-Type by extension, Last-Modified from the
// file's metadata.

// part is one expected part of a multipart/byteranges body.
type part struct{ start, end int64 }

func TestMultipleRanges(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { testMultipleRanges(t, st.open(t)) })
	}
}

func testMultipleRanges(t *testing.T, store storage.BlobStore) {
	srv, _ := newServer(t, store)
	obj := put(t, store, testData(300_000)) // parts larger than PrefetchSize too
	size := int64(len(obj.data))
	tests := []struct {
		name    string
		ext     string
		ctype   string
		rng     string
		ifRange string
		parts   []part
	}{
		{"two closed ranges", ".exe", "application/octet-stream", "bytes=0-99,200-299", "", []part{{0, 99}, {200, 299}}},
		{"order kept, not merged", ".exe", "application/octet-stream", "bytes=200-299,0-99,100-199", "", []part{{200, 299}, {0, 99}, {100, 199}}},
		{"open and suffix", ".cab", "application/vnd.ms-cab-compressed", "bytes=299990-,-5", "", []part{{299990, 299999}, {299995, 299999}}},
		{"a part beyond the prefetch", ".wim", "application/x-ms-wim", "bytes=0-0,1000-250999", "", []part{{0, 0}, {1000, 250999}}},
		{"unsatisfiable left out", ".psf", "application/octet-stream", "bytes=1-2,400000-,3-4", "", []part{{1, 2}, {3, 4}}},
		{"If-Range matches", ".exe", "application/octet-stream", "bytes=0-1,5-6", obj.info.ETag, []part{{0, 1}, {5, 6}}},
		{"as many ranges as allowed", ".exe", "application/octet-stream",
			"bytes=" + strings.Repeat("7-7,", content.MaxRanges), "", repeatPart(part{7, 7}, content.MaxRanges)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{"Range": tt.rng}
			if tt.ifRange != "" {
				header["If-Range"] = tt.ifRange
			}
			head := do(t, srv, "HEAD", obj.path(tt.ext), header)
			head.Body.Close()
			resp := do(t, srv, "GET", obj.path(tt.ext), header)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 206 || resp.TransferEncoding != nil || resp.Uncompressed {
				t.Fatalf("status %d, TransferEncoding %v, Uncompressed %v; want 206, identity", resp.StatusCode, resp.TransferEncoding, resp.Uncompressed)
			}
			for k, v := range map[string]string{
				"Accept-Ranges":  "bytes",
				"Etag":           obj.info.ETag,
				"Last-Modified":  obj.info.ModTime.UTC().Format(http.TimeFormat),
				"Content-Length": strconv.Itoa(len(body)),
				"Content-Range":  "",
			} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
				t.Fatalf("Content-Type %q (%v): want multipart/byteranges with a boundary", resp.Header.Get("Content-Type"), err)
			}
			// HEAD answers what GET would, without the body (the boundary
			// is new every time, its length is not).
			if head.StatusCode != 206 || head.ContentLength != int64(len(body)) || !strings.HasPrefix(head.Header.Get("Content-Type"), "multipart/byteranges; boundary=") {
				t.Errorf("HEAD: %d, Content-Length %d, %q; want 206, %d, multipart", head.StatusCode, head.ContentLength, head.Header.Get("Content-Type"), len(body))
			}

			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			for i, want := range tt.parts {
				p, err := mr.NextRawPart()
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				if len(p.Header) != 2 || p.Header.Get("Content-Type") != tt.ctype ||
					p.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", want.start, want.end, size) {
					t.Errorf("part %d: header %v, want Content-Type %q and Content-Range bytes %d-%d/%d", i, p.Header, tt.ctype, want.start, want.end, size)
				}
				got, err := io.ReadAll(p)
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				if !bytes.Equal(got, obj.data[want.start:want.end+1]) {
					t.Errorf("part %d: %d bytes differ from bytes %d-%d", i, len(got), want.start, want.end)
				}
			}
			if _, err := mr.NextRawPart(); err != io.EOF {
				t.Errorf("after %d parts: %v, want the closing boundary", len(tt.parts), err)
			}
			// The exact framing (RFC 9110 section 14.6): no preamble, CRLF
			// before every boundary but the first, the closing delimiter and
			// one CRLF after it.
			b := params["boundary"]
			if !bytes.HasPrefix(body, []byte("--"+b+"\r\nContent-Type: "+tt.ctype+"\r\nContent-Range: ")) ||
				!bytes.HasSuffix(body, []byte("\r\n--"+b+"--\r\n")) {
				t.Errorf("framing: body starts %.80q, ends %q", body, body[max(len(body)-60, 0):])
			}
		})
	}

	// Ranges that do not make a multipart answer.
	p := obj.path(".exe")
	whole := func(t *testing.T, resp *http.Response) {
		t.Helper()
		checkResponse(t, resp, "GET", 200, fileHeaders(obj.info, size, ""), obj.data)
	}
	t.Run("overlapping ranges larger than the file", func(t *testing.T) {
		whole(t, do(t, srv, "GET", p, map[string]string{"Range": "bytes=0-200000,100000-"}))
	})
	t.Run("too many ranges", func(t *testing.T) {
		whole(t, do(t, srv, "GET", p, map[string]string{"Range": "bytes=" + strings.Repeat("7-7,", content.MaxRanges+1)}))
	})
	t.Run("stale If-Range", func(t *testing.T) {
		whole(t, do(t, srv, "GET", p, map[string]string{"Range": "bytes=0-1,5-6", "If-Range": `"stale"`}))
	})
	t.Run("one malformed range", func(t *testing.T) {
		whole(t, do(t, srv, "GET", p, map[string]string{"Range": "bytes=0-1,6-5"}))
	})
	t.Run("one satisfiable range: no multipart", func(t *testing.T) {
		resp := do(t, srv, "GET", p, map[string]string{"Range": "bytes=400000-,10-19"})
		checkResponse(t, resp, "GET", 206, fileHeaders(obj.info, 10, "bytes 10-19/300000"), obj.data[10:20])
	})
	t.Run("none satisfiable", func(t *testing.T) {
		resp := do(t, srv, "GET", p, map[string]string{"Range": "bytes=400000-,300000-300001"})
		checkResponse(t, resp, "GET", 416, errorHeaders(416, "Content-Range", "bytes */300000"), []byte("Requested Range Not Satisfiable\n"))
	})
}

func repeatPart(p part, n int) []part {
	out := make([]part, n)
	for i := range out {
		out[i] = p
	}
	return out
}

// Content-Type by extension, as WSUS's IIS sends it; no extension is
// refused.
func TestContentTypes(t *testing.T) {
	store := newStore(t)
	srv, _ := newServer(t, store)
	obj := put(t, store, testData(100))
	tests := []struct{ ext, ctype string }{
		{"exe", "application/octet-stream"}, // content-headers captures
		{"cab", "application/vnd.ms-cab-compressed"},
		{"CAB", "application/vnd.ms-cab-compressed"}, // case-insensitive
		{"esd", "application/vnd.ms-cab-compressed"},
		{"wim", "application/x-ms-wim"},
		{"msu", "application/octet-stream"},
		{"msi", "application/octet-stream"},
		{"xml", "text/xml"},
		{"txt", "text/plain"},
		{"zip", "application/x-zip-compressed"},
		{"dll", "application/x-msdownload"},
		{"cat", "application/vnd.ms-pki.seccat"},
		{"psf", "application/octet-stream"},
		{"msp", "application/octet-stream"},
		{"appx", "application/octet-stream"},
		{"appxbundle", "application/octet-stream"},
		{"msix", "application/octet-stream"},
		{"msixbundle", "application/octet-stream"},
		{"unknown_ext-1", "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := content.ContentType(tt.ext); got != tt.ctype {
			t.Errorf("ContentType(%q) = %q, want %q", tt.ext, got, tt.ctype)
		}
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(tt.ext+" "+method, func(t *testing.T) {
				resp := do(t, srv, method, obj.path("."+tt.ext), nil)
				checkResponse(t, resp, method, 200, withType(fileHeaders(obj.info, 100, ""), tt.ctype), obj.data)
			})
			t.Run(tt.ext+" range "+method, func(t *testing.T) {
				resp := do(t, srv, method, obj.path("."+tt.ext), map[string]string{"Range": "bytes=10-19"})
				checkResponse(t, resp, method, 206, withType(fileHeaders(obj.info, 10, "bytes 10-19/100"), tt.ctype), obj.data[10:20])
			})
		}
	}
}

// catalogDates is an Options.Modified over a map, counting its calls.
type catalogDates struct {
	dates map[string]time.Time // by SHA-1 as a string
	err   error
	calls atomic.Int64
}

func (c *catalogDates) modified(_ context.Context, sum []byte) (time.Time, error) {
	c.calls.Add(1)
	if c.err != nil {
		return time.Time{}, c.err
	}
	return c.dates[string(sum)], nil
}

func TestLastModifiedFromMetadata(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { testLastModifiedFromMetadata(t, st.open(t)) })
	}
}

func testLastModifiedFromMetadata(t *testing.T, store storage.BlobStore) {
	listed := put(t, store, testData(5000))
	unlisted := put(t, store, testData(300))
	// MpSigStub.exe's Modified in the captured GetExtendedUpdateInfo answer.
	modified := time.Date(2024, 1, 11, 20, 15, 48, 0, time.UTC)
	dates := &catalogDates{dates: map[string]time.Time{string(listed.sum): modified}}
	logs := &syncbuf.Buffer{}
	srv := httptest.NewServer(content.NewHandlerWith(store, content.Options{
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Modified: dates.modified}))
	t.Cleanup(srv.Close)

	lm := modified.Format(http.TimeFormat)
	stored := listed.info.ModTime.UTC().Format(http.TimeFormat) // the import time
	meta := fileHeaders(listed.info, 5000, "")
	meta.Set("Last-Modified", lm)
	metaPart := fileHeaders(listed.info, 2, "bytes 1-2/5000")
	metaPart.Set("Last-Modified", lm)
	notMod := http.Header{"Etag": {listed.info.ETag}, "Last-Modified": {lm}}
	d := listed.data
	p := listed.path(".exe")
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		status int
		want   http.Header
		body   []byte
	}{
		{"GET", "GET", p, nil, 200, meta, d},
		{"HEAD", "HEAD", p, nil, 200, meta, nil},
		{"range", "GET", p, map[string]string{"Range": "bytes=1-2"}, 206, metaPart, d[1:3]},
		{"If-Modified-Since the metadata date", "GET", p, map[string]string{"If-Modified-Since": lm}, 304, notMod, nil},
		{"If-Modified-Since before it", "GET", p, map[string]string{"If-Modified-Since": modified.Add(-time.Second).Format(http.TimeFormat)}, 200, meta, d},
		{"If-Range the metadata date", "GET", p, map[string]string{"Range": "bytes=1-2", "If-Range": lm}, 206, metaPart, d[1:3]},
		{"If-Range the import date", "GET", p, map[string]string{"Range": "bytes=1-2", "If-Range": stored}, 200, meta, d},
		{"not listed: the object's date", "GET", unlisted.path(".cab"), nil, 200,
			withType(fileHeaders(unlisted.info, 300, ""), "application/vnd.ms-cab-compressed"), unlisted.data},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, srv, tt.method, tt.path, tt.header)
			checkResponse(t, resp, tt.method, tt.status, tt.want, tt.body)
		})
	}
	t.Run("multipart", func(t *testing.T) {
		resp := do(t, srv, "GET", p, map[string]string{"Range": "bytes=0-0,9-9"})
		resp.Body.Close()
		if resp.StatusCode != 206 || resp.Header.Get("Last-Modified") != lm {
			t.Errorf("%d, Last-Modified %q; want 206, %q", resp.StatusCode, resp.Header.Get("Last-Modified"), lm)
		}
	})
	// One catalog call per file while the answer is cached, however many
	// requests (a download of 1 MiB ranges).
	if n := dates.calls.Load(); n != 2 {
		t.Errorf("%d catalog calls for 2 files, want 2", n)
	}

	// A failing catalog: the object's date, logged, not cached.
	dates.err = errors.New("catalog: connection refused")
	fresh := put(t, store, testData(77))
	for range 2 {
		resp := do(t, srv, "GET", fresh.path(".exe"), nil)
		checkResponse(t, resp, "GET", 200, fileHeaders(fresh.info, 77, ""), fresh.data)
	}
	if n := dates.calls.Load(); n != 4 {
		t.Errorf("%d catalog calls, want 4 (failures are not cached)", n)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log %q does not report the catalog failure", logs.String())
	}
}

// FuzzRanges sends arbitrary Range headers to the handler and checks the
// answer against the object: 200 with the whole file, 206 with the
// Content-Range's bytes, 206 multipart/byteranges whose parts (at most
// MaxRanges, no more bytes in all than the file) each hold their
// Content-Range's bytes, or 416; Content-Length is the body's (a 416's is
// net/http's to set, which the recorder does not do).
func FuzzRanges(f *testing.F) {
	for _, v := range []string{
		"bytes=0-99,200-299", "bytes=-5,0-0", "bytes=2999-,0-", "bytes=1-1,1-1,1-1", "bytes=5000-,0-9",
		"bytes=0-1,x", "bytes=" + strings.Repeat("3-4,", content.MaxRanges+1), "bytes=0-1048575", "",
	} {
		f.Add(v)
	}
	store := newStore(f)
	obj := put(f, store, testData(3000))
	h := content.NewHandler(store, nil)
	size := int64(len(obj.data))
	f.Fuzz(func(t *testing.T, rng string) {
		r := httptest.NewRequest("GET", obj.path(".cab"), nil)
		r.Header["Range"] = []string{rng}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := w.Body.Bytes()
		if cl := w.Header().Get("Content-Length"); w.Code != 416 && cl != strconv.Itoa(len(body)) {
			t.Fatalf("Range %q: Content-Length %q, body of %d bytes", rng, cl, len(body))
		}
		var start, end, total int64
		switch ctype := w.Header().Get("Content-Type"); {
		case w.Code == 200:
			if !bytes.Equal(body, obj.data) {
				t.Fatalf("Range %q: 200 without the file", rng)
			}
		case w.Code == 416:
		case w.Code == 206 && ctype == "application/vnd.ms-cab-compressed":
			if _, err := fmt.Sscanf(w.Header().Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil ||
				total != size || start < 0 || end >= size || !bytes.Equal(body, obj.data[start:end+1]) {
				t.Fatalf("Range %q: 206 %q with %d bytes", rng, w.Header().Get("Content-Range"), len(body))
			}
		case w.Code == 206:
			_, params, err := mime.ParseMediaType(ctype)
			if err != nil {
				t.Fatalf("Range %q: Content-Type %q: %v", rng, ctype, err)
			}
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			parts, sum := 0, int64(0)
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Range %q: part %d: %v", rng, parts, err)
				}
				got, err := io.ReadAll(p)
				if _, serr := fmt.Sscanf(p.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil || serr != nil ||
					total != size || start < 0 || end >= size || !bytes.Equal(got, obj.data[start:end+1]) ||
					p.Header.Get("Content-Type") != "application/vnd.ms-cab-compressed" {
					t.Fatalf("Range %q: part %d %v of %d bytes (%v)", rng, parts, p.Header, len(got), err)
				}
				parts++
				sum += end - start + 1
			}
			if parts < 2 || parts > content.MaxRanges || sum > size {
				t.Fatalf("Range %q: %d parts of %d bytes in all", rng, parts, sum)
			}
		default:
			t.Fatalf("Range %q: status %d", rng, w.Code)
		}
	})
}
