package content_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsus/internal/syncbuf"
	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/content"
)

// testData returns n deterministic bytes.
func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// object is a file stored in the test store.
type object struct {
	data []byte
	sum  []byte
	info storage.ObjectInfo
}

// path is the URL WSUS would hand out for the object: upper-case hex.
func (o object) path(ext string) string {
	h := strings.ToUpper(hex.EncodeToString(o.sum))
	return "/Content/" + h[38:] + "/" + h + ext
}

func newStore(t testing.TB) *storage.FS {
	t.Helper()
	s, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t testing.TB, s storage.BlobStore, data []byte) object {
	t.Helper()
	s1, s256 := sha1.Sum(data), sha256.Sum256(data)
	info, err := s.Put(context.Background(), storage.KeyForSHA1(s1[:]), bytes.NewReader(data),
		storage.Digests{SHA1: s1[:], SHA256: s256[:]})
	if err != nil {
		t.Fatal(err)
	}
	return object{data: data, sum: s1[:], info: info}
}

func newServer(t testing.TB, store content.Store) (*httptest.Server, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	srv := httptest.NewServer(content.NewHandler(store, slog.New(slog.NewTextHandler(logs, nil))))
	t.Cleanup(srv.Close)
	return srv, logs
}

// do sends one request; every request says it accepts compression, so
// that an uncompressed answer proves the handler never compresses.
func do(t testing.TB, srv *httptest.Server, method, path string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// fileHeaders is the exact header set of a 200 or 206 (contentRange != "").
func fileHeaders(info storage.ObjectInfo, length int64, contentRange string) http.Header {
	h := http.Header{
		"Content-Type":   {"application/octet-stream"},
		"Accept-Ranges":  {"bytes"},
		"Etag":           {info.ETag},
		"Last-Modified":  {info.ModTime.UTC().Format(http.TimeFormat)},
		"Content-Length": {strconv.FormatInt(length, 10)},
	}
	if contentRange != "" {
		h.Set("Content-Range", contentRange)
	}
	return h
}

// withType sets the Content-Type of a header set.
func withType(h http.Header, ctype string) http.Header {
	h.Set("Content-Type", ctype)
	return h
}

// errorHeaders is the exact header set of a plain-text error, plus extra.
func errorHeaders(status int, extra ...string) http.Header {
	h := http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
		"Content-Length":         {strconv.Itoa(len(http.StatusText(status)) + 1)},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

// checkResponse compares status, the exact header set (Date aside), the
// framing and the body.
func checkResponse(t *testing.T, resp *http.Response, method string, status int, header http.Header, body []byte) {
	t.Helper()
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	gotHeader := resp.Header.Clone()
	if gotHeader.Get("Date") == "" {
		t.Error("no Date header")
	}
	gotHeader.Del("Date")
	if !maps.EqualFunc(gotHeader, header, slices.Equal) {
		t.Errorf("headers:\n got %v\nwant %v", gotHeader, header)
	}
	if resp.TransferEncoding != nil || resp.Uncompressed {
		t.Errorf("TransferEncoding %v, Uncompressed %v; want identity, uncompressed", resp.TransferEncoding, resp.Uncompressed)
	}
	if cl := header.Get("Content-Length"); cl != "" && strconv.FormatInt(resp.ContentLength, 10) != cl {
		t.Errorf("ContentLength %d, want %s", resp.ContentLength, cl)
	}
	if method == http.MethodHead {
		body = nil
	}
	if body != nil && !bytes.Equal(got, body) {
		t.Errorf("body: got %d bytes, want %d bytes (%.40q...)", len(got), len(body), body)
	}
	if body == nil && len(got) != 0 {
		t.Errorf("body: got %d bytes, want none", len(got))
	}
}

// stores are the blob stores the handler is tested on: a new, empty one of
// each kind per call.
var stores = []struct {
	name string
	open func(t *testing.T) storage.BlobStore
}{
	{"fs", func(t *testing.T) storage.BlobStore { return newStore(t) }},
	{"s3", func(t *testing.T) storage.BlobStore { return newS3Store(t, tests3.Start(t), nil) }},
}

func TestHandler(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { testHandler(t, st.open(t)) })
	}
}

func testHandler(t *testing.T, store storage.BlobStore) {
	srv, _ := newServer(t, store)
	obj := put(t, store, testData(5000))
	empty := put(t, store, nil)
	d, info := obj.data, obj.info
	p := obj.path(".exe")
	lastMod := info.ModTime.UTC().Format(http.TimeFormat)
	older := info.ModTime.Add(-time.Hour).UTC().Format(http.TimeFormat)
	missing := object{sum: make([]byte, 20)}

	type tc struct {
		name   string
		method string
		path   string
		header map[string]string
		status int
		want   http.Header
		body   []byte
	}
	whole := func(name, method, path string, header map[string]string) tc {
		return tc{name, method, path, header, 200, fileHeaders(info, 5000, ""), d}
	}
	part := func(name, method, rng string, a, b int64) tc {
		return tc{name, method, p, map[string]string{"Range": rng}, 206,
			fileHeaders(info, b-a+1, fmt.Sprintf("bytes %d-%d/5000", a, b)), d[a : b+1]}
	}
	unsatisfiable := func(name string, o object, rng string) tc {
		return tc{name, "GET", o.path(".cab"), map[string]string{"Range": rng}, 416,
			errorHeaders(416, "Content-Range", fmt.Sprintf("bytes */%d", len(o.data))),
			[]byte("Requested Range Not Satisfiable\n")}
	}
	failure := func(name, method, path string, status int, extra ...string) tc {
		return tc{name, method, path, nil, status, errorHeaders(status, extra...),
			[]byte(http.StatusText(status) + "\n")}
	}
	tests := []tc{
		whole("GET whole file", "GET", p, nil),
		whole("HEAD whole file", "HEAD", p, nil),
		part("closed range", "GET", "bytes=100-199", 100, 199),
		part("first byte", "GET", "bytes=0-0", 0, 0),
		part("last byte", "GET", "bytes=4999-4999", 4999, 4999),
		part("open range", "GET", "bytes=4000-", 4000, 4999),
		part("suffix range", "GET", "bytes=-100", 4900, 4999),
		part("suffix longer than file", "GET", "bytes=-99999", 0, 4999),
		part("range past end is cut", "GET", "bytes=4990-9999", 4990, 4999),
		part("whole file as one range (DO small file)", "GET", "bytes=0-4999", 0, 4999),
		part("HEAD with range", "HEAD", "bytes=100-199", 100, 199),
		unsatisfiable("range starts at end", obj, "bytes=5000-5001"),
		unsatisfiable("open range beyond end", obj, "bytes=9000-"),
		unsatisfiable("zero suffix", obj, "bytes=-0"),
		part("several ranges, one satisfiable", "GET", "bytes=100-199,9000-", 100, 199),
		whole("overlapping ranges: whole file", "GET", p, map[string]string{"Range": "bytes=0-2999,2000-4999"}),
		whole("too many ranges: whole file", "GET", p, map[string]string{"Range": "bytes=" + strings.Repeat("1-1,", content.MaxRanges+1)}),
		whole("malformed range: whole file", "GET", p, map[string]string{"Range": "bytes=5-1"}),
		whole("other unit: whole file", "GET", p, map[string]string{"Range": "items=0-1"}),
		whole("lower-case path", "GET", strings.ToLower(p), nil),
		whole("upper-case path and extension", "GET", strings.ToUpper(p), nil),
		whole("mixed-case hex", "GET", "/content/"+strings.ToLower(p[9:11])+"/"+strings.ToLower(p[12:32])+p[32:], nil),
		{"cab extension", "GET", obj.path(".cab"), nil, 200, withType(fileHeaders(info, 5000, ""), "application/vnd.ms-cab-compressed"), d},
		whole("query string ignored", "GET", p+"?x=1", nil),

		{"empty file", "GET", empty.path(".txt"), nil, 200, withType(fileHeaders(empty.info, 0, ""), "text/plain"), []byte{}},
		{"empty file HEAD", "HEAD", empty.path(".txt"), nil, 200, withType(fileHeaders(empty.info, 0, ""), "text/plain"), nil},
		unsatisfiable("empty file, open range", empty, "bytes=0-"),
		unsatisfiable("empty file, suffix range", empty, "bytes=-1"),

		{"If-None-Match matches", "GET", p, map[string]string{"If-None-Match": info.ETag}, 304,
			http.Header{"Etag": {info.ETag}, "Last-Modified": {lastMod}}, nil},
		{"If-None-Match star", "GET", p, map[string]string{"If-None-Match": "*"}, 304,
			http.Header{"Etag": {info.ETag}, "Last-Modified": {lastMod}}, nil},
		{"If-None-Match weak in a list", "GET", p, map[string]string{"If-None-Match": `"x", W/` + info.ETag}, 304,
			http.Header{"Etag": {info.ETag}, "Last-Modified": {lastMod}}, nil},
		whole("If-None-Match other", "GET", p, map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lastMod}),
		{"If-Modified-Since now", "GET", p, map[string]string{"If-Modified-Since": lastMod}, 304,
			http.Header{"Etag": {info.ETag}, "Last-Modified": {lastMod}}, nil},
		whole("If-Modified-Since older", "GET", p, map[string]string{"If-Modified-Since": older}),
		whole("If-Modified-Since garbage", "GET", p, map[string]string{"If-Modified-Since": "yesterday"}),
		{"If-Range ETag matches", "GET", p, map[string]string{"Range": "bytes=1-2", "If-Range": info.ETag}, 206,
			fileHeaders(info, 2, "bytes 1-2/5000"), d[1:3]},
		{"If-Range date matches", "GET", p, map[string]string{"Range": "bytes=1-2", "If-Range": lastMod}, 206,
			fileHeaders(info, 2, "bytes 1-2/5000"), d[1:3]},
		whole("If-Range stale ETag", "GET", p, map[string]string{"Range": "bytes=1-2", "If-Range": `"stale"`}),
		whole("If-Range weak ETag", "GET", p, map[string]string{"Range": "bytes=1-2", "If-Range": "W/" + info.ETag}),
		whole("If-Range old date", "GET", p, map[string]string{"Range": "bytes=1-2", "If-Range": older}),

		failure("not stored", "GET", missing.path(".exe"), 404),
		failure("not stored HEAD", "HEAD", missing.path(".exe"), 404),
		failure("wrong folder", "GET", "/Content/00/"+p[12:], 404),
		failure("folder of first digits", "GET", "/Content/"+p[12:14]+"/"+p[12:], 404),
		failure("one-digit folder", "GET", "/Content/"+p[10:11]+"/"+p[12:], 404),
		failure("bad hex", "GET", "/Content/"+p[9:11]+"/G"+p[13:], 404),
		failure("short hex", "GET", "/Content/"+p[9:11]+"/"+p[13:], 404),
		failure("long hex", "GET", "/Content/"+p[9:11]+"/0"+p[12:], 404),
		failure("no extension", "GET", strings.TrimSuffix(p, ".exe"), 403),
		failure("empty extension", "GET", strings.TrimSuffix(p, "exe"), 403),
		failure("double extension", "GET", p+".bak", 404),
		failure("odd extension", "GET", strings.TrimSuffix(p, "exe")+"e%20e", 404),
		failure("no folder", "GET", "/Content/"+p[12:], 404),
		failure("extra folder", "GET", "/Content/"+p[9:11]+"/"+p[9:], 404),
		failure("Content root", "GET", "/Content/", 404),
		failure("other tree", "GET", "/Other/"+p[9:], 404),
		failure("POST", "POST", p, 405, "Allow", "GET, HEAD"),
		failure("PUT", "PUT", p, 405, "Allow", "GET, HEAD"),
		failure("DELETE", "DELETE", p, 405, "Allow", "GET, HEAD"),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, srv, tt.method, tt.path, tt.header)
			checkResponse(t, resp, tt.method, tt.status, tt.want, tt.body)
		})
	}
}
