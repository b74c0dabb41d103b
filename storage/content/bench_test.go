package content_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkContentRange1MiB measures 1 MiB aligned range GETs, the Delivery
// Optimization piece, through the handler on a real listener with a
// keep-alive client.
func BenchmarkContentRange1MiB(b *testing.B) {
	const mib = 1 << 20
	const pieces = 16
	store := newStore(b)
	obj := put(b, store, testData(pieces*mib))
	srv, _ := newServer(b, store)
	client := srv.Client()
	url := srv.URL + obj.path(".exe")
	reqs := make([]*http.Request, pieces)
	for i := range reqs {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", (i*7%pieces)*mib, (i*7%pieces+1)*mib-1))
		reqs[i] = req
	}
	b.SetBytes(mib)
	i := 0
	for b.Loop() {
		resp, err := client.Do(reqs[i%pieces])
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != mib || resp.StatusCode != http.StatusPartialContent {
			b.Fatalf("status %d, %d bytes, err %v", resp.StatusCode, n, err)
		}
		i++
	}
}
