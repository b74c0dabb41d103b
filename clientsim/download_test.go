package clientsim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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
