package content_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"wsus/storage"
)

// capturesDir holds real Delivery Optimization requests to a real WSUS and
// WSUS's answers; see testdata/content/README.md.
const capturesDir = "../../testdata/content/captures"

// sparseObject is a file of the size of a captured one, all zeros except
// marker bytes, written straight into the store's directory under the
// captured SHA-1 (the content does not hash to it; the handler does not
// check, and Put would need the real bytes).
type sparseObject struct {
	size    int64
	markers map[int64]byte
}

// slice is what bytes [start, start+n) of the object hold.
func (o sparseObject) slice(start, n int64) []byte {
	b := make([]byte, n)
	for off, v := range o.markers {
		if off >= start && off < start+n {
			b[off-start] = v
		}
	}
	return b
}

func writeSparse(t *testing.T, dir, key string, o sparseObject) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(o.size); err != nil {
		t.Fatal(err)
	}
	for off, v := range o.markers {
		if _, err := f.WriteAt([]byte{v}, off); err != nil {
			t.Fatal(err)
		}
	}
}

// markersAround puts distinct bytes on both sides of every boundary.
func markersAround(boundaries ...int64) map[int64]byte {
	m := map[int64]byte{}
	for i, b := range boundaries {
		m[b] = byte(2*i + 1)
		if b > 0 {
			m[b-1] = byte(2*i + 2)
		}
	}
	return m
}

// TestCapturedRequests replays the four captured requests byte for byte,
// on one keep-alive connection as Delivery Optimization does, against
// files of the captured sizes, and compares the answers with WSUS's.
func TestCapturedRequests(t *testing.T) {
	dir := t.TempDir()
	store, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const mib = 1 << 20
	big := sparseObject{size: 204745168, markers: markersAround(0, mib, 98*mib, 99*mib, 195*mib, 204745167)}
	small := sparseObject{size: 918944, markers: markersAround(0, 918943)}
	objects := map[string]sparseObject{
		"ab/2f88df42da48aa980fb748d13baa2de49cd154ab": big,
		"f8/6103d9f6bf95c772c8b7ee89aee370cdca4642f8": small,
	}
	for key, o := range objects {
		writeSparse(t, dir, key, o)
	}
	srv, _ := newServer(t, store)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)

	for _, name := range []string{"whole-file-single-range", "first-range-by-offset", "middle-range", "final-range"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(capturesDir, name, "request.headers"))
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			wantRaw, err := os.ReadFile(filepath.Join(capturesDir, name, "response.headers"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(wantRaw)), req)
			if err != nil {
				t.Fatal(err)
			}

			if _, err := conn.Write(raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}

			if resp.Status != want.Status {
				t.Errorf("status %q, WSUS said %q", resp.Status, want.Status)
			}
			// IIS's identity headers are not ours to copy; Date,
			// Last-Modified and ETag carry this file's own values.
			wantNames := headerNames(want.Header, "Server", "X-Powered-By")
			if got := headerNames(resp.Header); !slices.Equal(got, wantNames) {
				t.Errorf("header names %q, WSUS sent %q", got, wantNames)
			}
			for _, h := range []string{"Content-Type", "Accept-Ranges", "Content-Length", "Content-Range"} {
				if g, w := resp.Header.Values(h), want.Header.Values(h); !slices.Equal(g, w) {
					t.Errorf("%s: %q, WSUS sent %q", h, g, w)
				}
			}
			key := strings.ToLower(strings.TrimPrefix(req.URL.Path, "/Content/"))
			info, err := store.Stat(context.Background(), strings.TrimSuffix(key, ".exe"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Header.Get("ETag") != info.ETag || resp.Header.Get("Last-Modified") != info.ModTime.UTC().Format(http.TimeFormat) {
				t.Errorf("validators %q %q, want the store's %q %v", resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), info.ETag, info.ModTime)
			}
			if resp.TransferEncoding != nil || resp.Close {
				t.Errorf("TransferEncoding %v, Close %v; want identity on a kept-alive connection", resp.TransferEncoding, resp.Close)
			}

			var start, end, size int64
			if _, err := fmt.Sscanf(want.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &size); err != nil {
				t.Fatal(err)
			}
			o := objects[info.Key]
			if size != o.size {
				t.Fatalf("capture size %d, object size %d", size, o.size)
			}
			if wantBody := o.slice(start, end-start+1); !bytes.Equal(body, wantBody) {
				t.Errorf("body of %d bytes differs from bytes %d-%d", len(body), start, end)
			}
		})
	}
}

// headerNames lists the canonical header names, Date and drop excepted.
func headerNames(h http.Header, drop ...string) []string {
	var names []string
	for k := range h {
		if k != "Date" && !slices.Contains(drop, k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// TestDeliveryOptimizationDownload downloads a file the way Delivery
// Optimization does, scaled down from 1 MiB to 1 KiB pieces (the captured
// 204745168-byte file becomes 195 full pieces and a short last one): closed
// ranges aligned to the piece size, shuffled, over 3 parallel keep-alive
// connections. The reassembled file must hash to its SHA-1.
func TestDeliveryOptimizationDownload(t *testing.T) {
	const piece = 1 << 10
	store := newStore(t)
	obj := put(t, store, testData(195*piece+266))
	srv, _ := newServer(t, store)
	size := int64(len(obj.data))

	var starts []int64
	for off := int64(0); off < size; off += piece {
		starts = append(starts, off)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(starts), func(i, j int) { starts[i], starts[j] = starts[j], starts[i] })

	got := make([]byte, size)
	work := make(chan int64)
	errs := make(chan error, len(starts))
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 3, MaxIdleConnsPerHost: 3, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for off := range work {
				end := min(off+piece, size) - 1
				if err := fetchPiece(client, srv.URL+obj.path(".exe"), off, end, size, got[off:end+1]); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, off := range starts {
		work <- off
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if sum := sha1.Sum(got); !bytes.Equal(sum[:], obj.sum) {
		t.Errorf("downloaded file hashes to %x, want %x", sum, obj.sum)
	}
}

// fetchPiece GETs bytes start-end as Delivery Optimization does and checks
// the 206 framing.
func fetchPiece(client *http.Client, url string, start, end, size int64, dst []byte) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end))
	req.Header.Set("User-Agent", "Microsoft-Delivery-Optimization/10.1")
	req.Header.Set("Accept", "*/*")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	wantRange := fmt.Sprintf("bytes %d-%d/%d", start, end, size)
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != wantRange || resp.ContentLength != end-start+1 {
		return fmt.Errorf("piece %d: %s, Content-Range %q, Content-Length %d; want 206, %q, %d",
			start, resp.Status, resp.Header.Get("Content-Range"), resp.ContentLength, wantRange, end-start+1)
	}
	if _, err := io.ReadFull(resp.Body, dst); err != nil {
		return fmt.Errorf("piece %d: %w", start, err)
	}
	return nil
}
