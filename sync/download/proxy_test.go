package download_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"

	"wsus/sync/download"
)

// proxyChild is set in the environment of the child process of
// TestProxyFromEnvironment.
const proxyChild = "WSUS_DOWNLOAD_TEST_PROXY_CHILD"

// proxiedURL is a URL only the proxy can answer (.invalid never resolves).
const proxiedURL = "http://upstream.invalid/Content/AB/file.cab"

// The default client goes through HTTP_PROXY. net/http reads the proxy
// variables once per process, so the download runs in a child process
// started with HTTP_PROXY pointing at a loopback forward proxy.
func TestProxyFromEnvironment(t *testing.T) {
	data := payload(40, 100_000)
	if os.Getenv(proxyChild) == "1" {
		s1, s256 := sha1.Sum(data), sha256.Sum256(data)
		f := download.File{SHA1: s1[:], SHA256: s256[:], Size: int64(len(data)), URLs: []string{proxiedURL}}
		store := newFS(t)
		d, err := download.New(store, fast(download.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Download(t.Context(), []download.File{f}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored(t, store, f), data) {
			t.Fatal("wrong bytes stored")
		}
		return
	}
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.String() != proxiedURL { // a forward proxy gets the absolute URL
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadGateway)
			return
		}
		proxied.Add(1)
		w.Write(data)
	}))
	defer proxy.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyFromEnvironment$", "-test.count=1")
	cmd.Env = append(os.Environ(), proxyChild+"=1", "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if proxied.Load() != 1 {
		t.Errorf("the proxy got %d requests, want 1", proxied.Load())
	}
}
