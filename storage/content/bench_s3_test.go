package content_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/blobtest"
	"wsus/storage/content"
)

// BenchmarkS3Range1MiB compares 1 MiB aligned ranged GETs of one object on
// versitygw fetched directly (a presigned URL) and through the content
// handler on a real listener, in the same run, from 8 keep-alive
// connections each (b.SetParallelism). The MB/s of the two sub-benchmarks
// give the ratio scripts/bench-content.sh reports for the real binaries.
func BenchmarkS3Range1MiB(b *testing.B) {
	const mib = 1 << 20
	srv := tests3.Start(b)
	store := newS3Store(b, srv, nil)
	p := blobtest.Pattern{Seed: 9, Size: 64 * mib}
	d := p.Digests()
	key := object{sum: d.SHA1}
	if _, err := store.Put(b.Context(), storageKey(d.SHA1), p.Reader(), d); err != nil {
		b.Fatal(err)
	}
	direct, err := store.PresignGet(b.Context(), storageKey(d.SHA1), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	web := httptest.NewServer(content.NewHandler(store, nil))
	b.Cleanup(web.Close)
	for _, target := range []struct{ name, url string }{{"direct", direct}, {"handler", web.URL + key.path(".cab")}} {
		b.Run(target.name, func(b *testing.B) {
			b.SetBytes(mib)
			b.SetParallelism(4) // 8 connections on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
				buf := make([]byte, 256<<10)
				for i := 0; pb.Next(); i++ {
					start := int64(i*37%64) * mib
					req, _ := http.NewRequest(http.MethodGet, target.url, nil)
					req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, start+mib-1))
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, resp.Body, buf)
					resp.Body.Close()
					if err != nil || n != mib || resp.StatusCode != http.StatusPartialContent {
						b.Errorf("status %d, %d bytes, %v", resp.StatusCode, n, err)
						return
					}
				}
			})
		})
	}
}

// storageKey is the store key of a SHA-1.
func storageKey(sum []byte) string { return storage.KeyForSHA1(sum) }
