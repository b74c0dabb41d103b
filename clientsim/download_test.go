package clientsim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wsus/storage"
	"wsus/storage/content"
)

func TestPlanRanges(t *testing.T) {
	const M = PieceSize
	tests := []struct {
		size int64
		want []Range
	}{
		{0, nil},
		{1, []Range{{0, 0}}},
		{M - 1, []Range{{0, M - 2}}},
		{M, []Range{{0, M - 1}}},
		{M + 1, []Range{{0, M - 1}, {M, M}}},
		{918944, []Range{{0, 918943}}}, // recorded whole-file-single-range: bytes=0-918943
	}
	for _, tt := range tests {
		if got := PlanRanges(tt.size); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("PlanRanges(%d) = %v, want %v", tt.size, got, tt.want)
		}
	}

	// The recorded 204745168-byte AM_Base.exe: 196 pieces, the final one is the
	// recorded final-range request bytes=204472320-204745167.
	got := PlanRanges(204745168)
	if len(got) != 196 {
		t.Fatalf("%d pieces, want 196", len(got))
	}
	if last := got[len(got)-1]; last != (Range{204472320, 204745167}) {
		t.Errorf("last piece %v", last)
	}
	for i, r := range got {
		if r.Start != int64(i)*M || (i < len(got)-1 && r.End != r.Start+M-1) {
			t.Errorf("piece %d = %v not 1 MiB aligned", i, r)
		}
	}
}

// testFile returns deterministic content of size n and its metadata.
func testFile(name string, n int, seed uint64) ([]byte, fileMeta) {
	r := rand.New(rand.NewPCG(seed, seed))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	s1, s256 := sha1.Sum(data), sha256.Sum256(data)
	return data, fileMeta{Digest: base64.StdEncoding.EncodeToString(s1[:]), SHA1: s1[:], SHA256: s256[:], Size: int64(n), Name: name}
}

// contentServer serves files with http.ServeContent (real Range support) and
// records every request's Range and User-Agent header.
type contentServer struct {
	mu       sync.Mutex
	files    map[string][]byte
	ranges   map[string][]string
	agents   map[string]bool
	encoding map[string]bool
	mangle   func(w http.ResponseWriter, r *http.Request) bool // returns true when it answered
}

func newContentServer(t *testing.T, files map[string][]byte) (*httptest.Server, *contentServer) {
	cs := &contentServer{files: files, ranges: map[string][]string{}, agents: map[string]bool{}, encoding: map[string]bool{}}
	srv := httptest.NewServer(cs)
	t.Cleanup(srv.Close)
	return srv, cs
}

func (cs *contentServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cs.mu.Lock()
	cs.ranges[r.URL.Path] = append(cs.ranges[r.URL.Path], r.Header.Get("Range"))
	cs.agents[r.Header.Get("User-Agent")] = true
	cs.encoding[r.Header.Get("Accept-Encoding")] = true
	mangle := cs.mangle
	cs.mu.Unlock()
	if mangle != nil && mangle(w, r) {
		return
	}
	data, ok := cs.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Unix(0, 0), bytes.NewReader(data))
}

func testDownloader() *downloader {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	return &downloader{
		http: &http.Client{Transport: t}, parallel: 3,
		log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		rand: rand.New(rand.NewPCG(1, 2)),
	}
}

func TestDownloaderFetchesPiecesAndVerifies(t *testing.T) {
	big, bigMeta := testFile("big.cab", 2*PieceSize+12345, 1)
	small, smallMeta := testFile("small.exe", 1000, 2)
	srv, cs := newContentServer(t, map[string][]byte{"/Content/big": big, "/Content/small": small})
	dir := t.TempDir()
	files := []*contentFile{
		{Meta: bigMeta, URL: srv.URL + "/Content/big", Path: contentPath(dir, bigMeta)},
		{Meta: smallMeta, URL: srv.URL + "/Content/small", Path: contentPath(dir, smallMeta)},
	}
	n, err := testDownloader().fetch(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(big)+len(small)) {
		t.Errorf("downloaded %d bytes", n)
	}
	for _, f := range files {
		if err := verifyFile(f); err != nil {
			t.Error(err)
		}
	}
	got, _ := os.ReadFile(files[0].Path)
	if !bytes.Equal(got, big) {
		t.Error("assembled big file differs")
	}
	bigRanges := slices.Clone(cs.ranges["/Content/big"])
	slices.Sort(bigRanges)
	want := []string{"bytes=0-1048575", "bytes=1048576-2097151", "bytes=2097152-2109496"}
	if !reflect.DeepEqual(bigRanges, want) {
		t.Errorf("big ranges %v, want %v", bigRanges, want)
	}
	if r := cs.ranges["/Content/small"]; !reflect.DeepEqual(r, []string{"bytes=0-999"}) {
		t.Errorf("small ranges %v", r)
	}
	if !reflect.DeepEqual(cs.agents, map[string]bool{ContentUserAgent: true}) || !reflect.DeepEqual(cs.encoding, map[string]bool{"": true}) {
		t.Errorf("User-Agents %v, Accept-Encodings %v", cs.agents, cs.encoding)
	}
	if !strings.HasSuffix(files[1].Path, ".exe") {
		t.Errorf("path %s", files[1].Path)
	}
}

// msCV is the MS-CV the downloader sends: a 16-character base, the file's
// number, the request's number for that file.
var msCV = regexp.MustCompile(`^([A-Za-z0-9+/]{16})\.([0-9]+)\.([0-9]+)$`)

// TestDownloaderAgainstContentHandler downloads over loopback from the
// server's own /Content/ handler, as Delivery Optimization does, and checks
// every request the handler got against the captured pattern: Connection
// Keep-Alive, Accept */*, the captured User-Agent, an MS-CV correlation
// vector, one closed range of PieceSize aligned to PieceSize (the last one
// ending at the file's end), no Accept-Encoding; and every answer: 206 with
// the Content-Type of the extension, the metadata date as Last-Modified.
func TestDownloaderAgainstContentHandler(t *testing.T) {
	big, bigMeta := testFile("windows11.0-kb5050000-x64.cab", 2*PieceSize+777, 6)
	small, smallMeta := testFile("MpSigStub.exe", 918944%PieceSize, 7) // one range: bytes=0-918943
	store, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, f := range []struct {
		data []byte
		meta fileMeta
	}{{big, bigMeta}, {small, smallMeta}} {
		if _, err := store.Put(context.Background(), storage.KeyForSHA1(f.meta.SHA1), bytes.NewReader(f.data),
			storage.Digests{SHA1: f.meta.SHA1, SHA256: f.meta.SHA256}); err != nil {
			t.Fatal(err)
		}
	}
	modified := time.Date(2024, 1, 11, 20, 15, 48, 0, time.UTC)
	handler := content.NewHandlerWith(store, content.Options{Modified: func(context.Context, []byte) (time.Time, error) {
		return modified, nil
	}})

	type exchange struct {
		path   string
		header http.Header
		status int
		answer http.Header
	}
	var mu sync.Mutex
	var seen []exchange
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		handler.ServeHTTP(rec, r)
		mu.Lock()
		seen = append(seen, exchange{r.URL.Path, r.Header.Clone(), rec.status, w.Header().Clone()})
		mu.Unlock()
	}))
	defer srv.Close()

	url := func(m fileMeta) string {
		h := strings.ToUpper(hex.EncodeToString(m.SHA1))
		return srv.URL + "/Content/" + h[38:] + "/" + h + filepath.Ext(m.Name)
	}
	dir := t.TempDir()
	files := []*contentFile{
		{Meta: bigMeta, URL: url(bigMeta), Path: contentPath(dir, bigMeta)},
		{Meta: smallMeta, URL: url(smallMeta), Path: contentPath(dir, smallMeta)},
	}
	if _, err := testDownloader().fetch(context.Background(), files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := verifyFile(f); err != nil {
			t.Error(err)
		}
	}

	sizes := map[string]int64{}
	types := map[string]string{}
	for i, f := range files {
		p := strings.TrimPrefix(f.URL, srv.URL)
		sizes[p] = f.Meta.Size
		types[p] = []string{"application/vnd.ms-cab-compressed", "application/octet-stream"}[i]
	}
	if len(seen) != 4 {
		t.Errorf("%d requests, want 4 (3 pieces and 1)", len(seen))
	}
	bases := map[string]bool{}
	seqs := map[string][]int{}
	for _, x := range seen {
		h := x.header
		if h.Get("Connection") != "Keep-Alive" || h.Get("Accept") != "*/*" || h.Get("User-Agent") != ContentUserAgent ||
			h.Get("Accept-Encoding") != "" {
			t.Errorf("%s: request header %v", x.path, h)
		}
		var a, b int64
		if _, err := fmt.Sscanf(h.Get("Range"), "bytes=%d-%d", &a, &b); err != nil || a%PieceSize != 0 ||
			b != min(a+PieceSize, sizes[x.path])-1 || h.Get("Range") != fmt.Sprintf("bytes=%d-%d", a, b) {
			t.Errorf("%s: Range %q, want one closed range of a piece", x.path, h.Get("Range"))
		}
		m := msCV.FindStringSubmatch(h.Get("MS-CV"))
		if m == nil {
			t.Errorf("%s: MS-CV %q", x.path, h.Get("MS-CV"))
			continue
		}
		bases[m[1]] = true
		n, _ := strconv.Atoi(m[3])
		seqs[x.path+" "+m[2]] = append(seqs[x.path+" "+m[2]], n)
		if x.status != 206 || x.answer.Get("Content-Type") != types[x.path] ||
			x.answer.Get("Last-Modified") != modified.Format(http.TimeFormat) {
			t.Errorf("%s: answer %d %v", x.path, x.status, x.answer)
		}
	}
	if len(bases) != 1 || len(seqs) != 2 {
		t.Errorf("MS-CV bases %v, files %v: want one base, one number per file", bases, seqs)
	}
	for k, ns := range seqs {
		slices.Sort(ns)
		if want := []int{1, 2, 3}[:len(ns)]; !slices.Equal(ns, want) {
			t.Errorf("%s: MS-CV request numbers %v, want %v", k, ns, want)
		}
	}
}

// statusRecorder remembers the status a handler sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func TestDownloaderRejectsBadAnswers(t *testing.T) {
	data, meta := testFile("f.exe", PieceSize+10, 3)
	tests := []struct {
		name   string
		mangle func(w http.ResponseWriter, r *http.Request) bool
		want   string
	}{
		{"ignores Range", func(w http.ResponseWriter, r *http.Request) bool {
			w.Write(data)
			return true
		}, "HTTP 200, want 206"},
		{"wrong Content-Range total", func(w http.ResponseWriter, r *http.Request) bool {
			var a, b int64
			fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)+1))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[a : b+1])
			return true
		}, "/1048587\", want \"bytes "},
		{"short body", func(w http.ResponseWriter, r *http.Request) bool {
			var a, b int64
			fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
			w.Header().Set("Content-Length", fmt.Sprint(b-a+1))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[a:b])
			return true
		}, "body: unexpected EOF"},
		{"404", func(w http.ResponseWriter, r *http.Request) bool {
			http.NotFound(w, r)
			return true
		}, "HTTP 404, want 206"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cs := newContentServer(t, map[string][]byte{"/c": data})
			cs.mangle = tt.mangle
			f := &contentFile{Meta: meta, URL: srv.URL + "/c", Path: contentPath(t.TempDir(), meta)}
			_, err := testDownloader().fetch(context.Background(), []*contentFile{f})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestVerifyFileDetectsMismatch(t *testing.T) {
	data, meta := testFile("f.exe", 5000, 4)
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		meta    func(m fileMeta) fileMeta
		alg     string
	}{
		{"sha1", append([]byte{data[0] ^ 1}, data[1:]...), func(m fileMeta) fileMeta { return m }, "SHA-1"},
		{"sha256 only", data, func(m fileMeta) fileMeta { m.SHA256 = make([]byte, 32); return m }, "SHA-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &contentFile{Meta: tt.meta(meta), Path: dir + "/" + tt.name}
			if err := os.WriteFile(f.Path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			var dm *DigestMismatchError
			if err := verifyFile(f); !errors.As(err, &dm) || dm.Algorithm != tt.alg || dm.File != "f.exe" {
				t.Errorf("error %v, want %s mismatch", err, tt.alg)
			}
		})
	}
	f := &contentFile{Meta: meta, Path: dir + "/short"}
	os.WriteFile(f.Path, data[:10], 0o644)
	if err := verifyFile(f); err == nil || !strings.Contains(err.Error(), "10 bytes, metadata says 5000") {
		t.Errorf("short file: %v", err)
	}
}

func BenchmarkDownload(b *testing.B) {
	data, meta := testFile("bench.cab", 8*PieceSize, 5)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Unix(0, 0), bytes.NewReader(data))
	}))
	defer srv.Close()
	dir := b.TempDir()
	d := testDownloader()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f := &contentFile{Meta: meta, URL: srv.URL, Path: contentPath(dir, meta)}
		if _, err := d.fetch(context.Background(), []*contentFile{f}); err != nil {
			b.Fatal(err)
		}
	}
}
