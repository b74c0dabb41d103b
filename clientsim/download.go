package clientsim

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
)

// The native client (Windows 11) downloads content through Delivery
// Optimization; the content-headers captures
// (shared/protocol/captures/wsus-rs/wsus-m0-native/content-headers) show
// every request as
//
//	GET /Content/AB/2F88DF42DA48AA980FB748D13BAA2DE49CD154AB.exe HTTP/1.1
//	Connection: Keep-Alive
//	Accept: */*
//	Range: bytes=102760448-103809023
//	User-Agent: Microsoft-Delivery-Optimization/10.1
//	MS-CV: e8u3dmxOhkGW0Ilt.2.0.0.8.1.1.3.1.1.115
//	Content-Length: 0
//
// one closed range per request, on kept-alive connections. The downloader
// sends the same fields but Content-Length (net/http sends none on a GET
// without a body; the server treats both alike).

// PieceSize is the Delivery Optimization piece size: the native client asks
// for closed ranges of exactly 1 MiB aligned to 1 MiB (MS-WUSP.md §3.4).
const PieceSize = 1 << 20

// ContentUserAgent is the User-Agent of the native content downloads
// (content-headers captures).
const ContentUserAgent = "Microsoft-Delivery-Optimization/10.1"

// cvAlphabet is the alphabet of a correlation vector's base (base64).
const cvAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// newCV returns a correlation vector base of 16 characters, the length of
// the captured MS-CV bases. [I] Each file's requests then carry
// base.<file>.<n>, n counting that file's requests from 1: the captured
// vectors grow by one element per request in the same way, while their
// middle elements are Delivery Optimization's internals, not reproduced.
func newCV(r *rand.Rand) string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = cvAlphabet[r.IntN(len(cvAlphabet))]
	}
	return string(b)
}

// Range is an inclusive byte range, as in "Range: bytes=Start-End".
type Range struct {
	Start, End int64
}

// PlanRanges splits a file of size bytes into the pieces the native client
// requests: 1 MiB pieces aligned to 1 MiB, the last one ending at size-1; a
// file of at most 1 MiB is a single range 0-(size-1). A file of size 0 has no
// pieces (a closed range cannot name zero bytes; such files are not expected).
func PlanRanges(size int64) []Range {
	if size <= 0 {
		return nil
	}
	out := make([]Range, 0, (size+PieceSize-1)/PieceSize)
	for start := int64(0); start < size; start += PieceSize {
		out = append(out, Range{Start: start, End: min(start+PieceSize, size) - 1})
	}
	return out
}

// contentFile is one file to download.
type contentFile struct {
	Meta fileMeta
	URL  string
	Path string // where the content is assembled

	cv    string       // correlation vector of the file's requests
	cvSeq atomic.Int64 // requests sent for the file
}

// piece is one range of one file.
type piece struct {
	file *contentFile
	r    Range
}

// downloader fetches files piece by piece, like Delivery Optimization.
type downloader struct {
	http     *http.Client
	parallel int
	log      *slog.Logger
	rand     *rand.Rand
}

// fetch downloads all files into their Path: every piece in shuffled order,
// d.parallel at a time, each answer checked to be 206 with the exact
// Content-Range. It returns the number of content bytes received.
func (d *downloader) fetch(ctx context.Context, files []*contentFile) (int64, error) {
	var pieces []piece
	cv := newCV(d.rand)
	for i, f := range files {
		f.cv = cv + "." + strconv.Itoa(i+1)
		out, err := os.Create(f.Path)
		if err != nil {
			return 0, fmt.Errorf("create %s: %w", f.Path, err)
		}
		err = out.Truncate(f.Meta.Size)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, fmt.Errorf("size %s: %w", f.Path, err)
		}
		for _, r := range PlanRanges(f.Meta.Size) {
			pieces = append(pieces, piece{file: f, r: r})
		}
	}
	d.rand.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan piece)
	var (
		total    atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range max(d.parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, PieceSize)
			for p := range jobs {
				n, err := d.fetchPiece(ctx, p, buf)
				if err != nil {
					fail(err)
					continue // drain
				}
				total.Add(n)
			}
		}()
	}
	for _, p := range pieces {
		if ctx.Err() != nil {
			break
		}
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return total.Load(), firstErr
}

// fetchPiece GETs one range and writes it at its offset.
func (d *downloader) fetchPiece(ctx context.Context, p piece, buf []byte) (int64, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	f := p.file
	want := p.r.End - p.r.Start + 1
	rangeHdr := fmt.Sprintf("bytes=%d-%d", p.r.Start, p.r.End)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", f.URL, err)
	}
	req.Header.Set("Connection", "Keep-Alive")
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Range", rangeHdr)
	req.Header.Set("User-Agent", ContentUserAgent)
	req.Header.Set("MS-CV", f.cv+"."+strconv.FormatInt(f.cvSeq.Add(1), 10))
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s %s: %w", f.URL, rangeHdr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return 0, fmt.Errorf("GET %s %s: HTTP %d, want 206", f.URL, rangeHdr, resp.StatusCode)
	}
	wantCR := fmt.Sprintf("bytes %d-%d/%d", p.r.Start, p.r.End, f.Meta.Size)
	if got := resp.Header.Get("Content-Range"); got != wantCR {
		return 0, fmt.Errorf("GET %s %s: Content-Range %q, want %q", f.URL, rangeHdr, got, wantCR)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != want {
		return 0, fmt.Errorf("GET %s %s: Content-Length %d, want %d", f.URL, rangeHdr, resp.ContentLength, want)
	}
	b := buf[:want]
	if _, err := io.ReadFull(resp.Body, b); err != nil {
		return 0, fmt.Errorf("GET %s %s: body: %w", f.URL, rangeHdr, err)
	}
	if n, _ := resp.Body.Read(make([]byte, 1)); n != 0 {
		return 0, fmt.Errorf("GET %s %s: body longer than %d bytes", f.URL, rangeHdr, want)
	}
	out, err := os.OpenFile(f.Path, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", f.Path, err)
	}
	_, err = out.WriteAt(b, p.r.Start)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", f.Path, err)
	}
	d.log.Debug("piece", "file", f.Meta.Name, "range", rangeHdr)
	return want, nil
}

// DigestMismatchError reports content whose hash differs from the metadata.
type DigestMismatchError struct {
	File      string // file name from the metadata
	Algorithm string // "SHA-1" or "SHA-256"
	Want, Got string // hex digests
}

// Error implements error.
func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("%s: %s mismatch: metadata %s, content %s", e.File, e.Algorithm, e.Want, e.Got)
}

// verifyFile hashes the assembled file and checks size, SHA-1 and SHA-256.
func verifyFile(f *contentFile) error {
	in, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", f.Path, err)
	}
	defer in.Close()
	h1, h256 := sha1.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(h1, h256), in)
	if err != nil {
		return fmt.Errorf("verify %s: %w", f.Path, err)
	}
	if n != f.Meta.Size {
		return fmt.Errorf("verify %s: %d bytes, metadata says %d", f.Meta.Name, n, f.Meta.Size)
	}
	if got := h1.Sum(nil); !bytes.Equal(got, f.Meta.SHA1) {
		return &DigestMismatchError{File: f.Meta.Name, Algorithm: "SHA-1", Want: hex.EncodeToString(f.Meta.SHA1), Got: hex.EncodeToString(got)}
	}
	if got := h256.Sum(nil); !bytes.Equal(got, f.Meta.SHA256) {
		return &DigestMismatchError{File: f.Meta.Name, Algorithm: "SHA-256", Want: hex.EncodeToString(f.Meta.SHA256), Got: hex.EncodeToString(got)}
	}
	return nil
}

// contentPath is where a file is assembled in dir: its SHA-1 in hex plus the
// extension of its name.
func contentPath(dir string, m fileMeta) string {
	return filepath.Join(dir, hex.EncodeToString(m.SHA1)+filepath.Ext(filepath.Base(m.Name)))
}

// errNoLocation is wrapped when metadata names a file without a FileLocation.
var errNoLocation = errors.New("no FileLocation")
