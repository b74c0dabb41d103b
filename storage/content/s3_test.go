package content_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/blobtest"
	"wsus/storage/content"
	"wsus/storage/s3store"
)

// newS3Store opens a store in a new bucket of srv; tweak, when set,
// adjusts the configuration first.
func newS3Store(t testing.TB, srv *tests3.Server, tweak func(*s3store.Config)) *s3store.Store {
	t.Helper()
	cfg := s3store.Config{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		Bucket: fmt.Sprintf("content-%d", rand.Uint64()), Prefix: "wsus",
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := s3store.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// patternPath is the content URL path of a stored pattern.
func patternPath(d storage.Digests) string {
	return object{sum: d.SHA1}.path(".cab")
}

// getPiece GETs one closed range with client and checks the answer is the
// exact 206 with the pattern's bytes.
func getPiece(client *http.Client, url string, p blobtest.Pattern, start, end int64) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("range %d-%d: body: %w", start, end, err)
	}
	wantCR := fmt.Sprintf("bytes %d-%d/%d", start, end, p.Size)
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != wantCR ||
		resp.ContentLength != end-start+1 || resp.TransferEncoding != nil {
		return fmt.Errorf("range %d-%d: %d, Content-Range %q, Content-Length %d, Transfer-Encoding %v; want 206, %q, %d, none",
			start, end, resp.StatusCode, resp.Header.Get("Content-Range"), resp.ContentLength, resp.TransferEncoding, wantCR, end-start+1)
	}
	if !bytes.Equal(body, p.Bytes(start, end-start+1)) {
		return fmt.Errorf("range %d-%d: wrong bytes", start, end)
	}
	return nil
}

// TestS3Outage: S3 stopped in the middle of a piece-by-piece download gives
// 503 with Retry-After (never a 200 or 206) and the next request after it
// is back succeeds; S3 killed in the middle of a body aborts the transfer,
// which the client sees as truncated.
func TestS3Outage(t *testing.T) {
	srv := tests3.Start(t)
	store := newS3Store(t, srv, nil)
	p := blobtest.Pattern{Seed: 1, Size: 50_000_000}
	_, d, _ := blobtest.Put(t, store, p)
	web, logs := newServer(t, store)
	url := web.URL + patternPath(d)
	client := web.Client()
	const mib = 1 << 20
	for i := int64(0); i < 3; i++ {
		if err := getPiece(client, url, p, i*mib, (i+1)*mib-1); err != nil {
			t.Fatal(err)
		}
	}

	srv.Stop(t)
	for _, method := range []string{"GET"} {
		resp := do(t, web, method, patternPath(d), map[string]string{"Range": "bytes=3145728-4194303"})
		checkResponse(t, resp, method, 503, errorHeaders(503, "Retry-After", "5"), []byte("Service Unavailable\n"))
	}
	if !strings.Contains(logs.String(), "store failed") {
		t.Errorf("the outage is not logged: %q", logs.String())
	}

	srv.Restart(t)
	if err := getPiece(client, url, p, 3*mib, 4*mib-1); err != nil {
		t.Fatalf("first request after the restart: %v", err)
	}
	if err := getPiece(client, url, p, p.Size-mib, p.Size-1); err != nil {
		t.Fatal(err)
	}

	// Killed while a whole-file body is on its way.
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != p.Size {
		t.Fatalf("whole file: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, mib)); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || mib+n >= p.Size {
		t.Errorf("whole file with S3 killed: %d bytes then %v; want a truncated transfer (unexpected EOF)", mib+n, err)
	}
	srv.Restart(t)
	resp2, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if n, err := io.Copy(&patternChecker{p: p}, resp2.Body); err != nil || n != p.Size {
		t.Errorf("whole file after the restart: %d bytes, %v", n, err)
	}
}

// patternChecker is a writer comparing what it gets with a pattern.
type patternChecker struct {
	p   blobtest.Pattern
	off int64
}

func (c *patternChecker) Write(b []byte) (int, error) {
	if !bytes.Equal(b, c.p.Bytes(c.off, int64(len(b)))) {
		return 0, fmt.Errorf("wrong bytes at %d", c.off)
	}
	c.off += int64(len(b))
	return len(b), nil
}

// TestS3ConcurrentRangedReaders: many clients, each on one keep-alive
// connection as Delivery Optimization uses, fetch every 1 MiB piece of an
// object on S3 in shuffled order; every answer is exact.
func TestS3ConcurrentRangedReaders(t *testing.T) {
	srv := tests3.Start(t)
	store := newS3Store(t, srv, nil)
	p := blobtest.Pattern{Seed: 2, Size: 50_000_000}
	_, d, _ := blobtest.Put(t, store, p)
	var conns atomic.Int32
	web := httptest.NewUnstartedServer(content.NewHandler(store, nil))
	web.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	web.Start()
	t.Cleanup(web.Close)
	url := web.URL + patternPath(d)

	const mib, readers = 1 << 20, 32
	var pieces []int64
	for off := int64(0); off < p.Size; off += mib {
		pieces = append(pieces, off)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
	work := make(chan int64)
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			for off := range work {
				if err := getPiece(client, url, p, off, min(off+mib, p.Size)-1); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		})
	}
	for _, off := range pieces {
		work <- off
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := conns.Load(); n != readers {
		t.Errorf("%d connections for %d keep-alive clients", n, readers)
	}
}

// noFollow is a client that reports redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestRedirectToPresignedURL: in redirect mode a stored file gets 302 to a
// presigned S3 URL that serves the same ranges; a missing one 404.
func TestRedirectToPresignedURL(t *testing.T) {
	srv := tests3.Start(t)
	store := newS3Store(t, srv, nil)
	p := blobtest.Pattern{Seed: 3, Size: 3_000_000}
	_, d, _ := blobtest.Put(t, store, p)
	h := content.NewHandlerWith(store, content.Options{Redirect: func(ctx context.Context, _ *http.Request, key string) (string, error) {
		return store.PresignGet(ctx, key, time.Minute)
	}})
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, web.URL+patternPath(d), nil)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, srv.Endpoint+"/") || !strings.Contains(loc, "X-Amz-Signature=") {
			t.Errorf("%s: %d Location %q; want 302 to a presigned URL of %s", method, resp.StatusCode, loc, srv.Endpoint)
		}
	}
	// A client following the redirect gets the bytes from S3.
	if err := getPiece(http.DefaultClient, web.URL+patternPath(d), p, 1<<20, 2<<20-1); err != nil {
		t.Error(err)
	}
	missing := object{sum: make([]byte, 20)}.path(".cab")
	resp, err := noFollow.Get(web.URL + missing)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing file in redirect mode: %d, want 404", resp.StatusCode)
	}
}
