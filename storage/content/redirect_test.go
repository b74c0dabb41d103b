package content_test

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"wsus/storage/content"
)

// TestRedirectAndFallback: an alternate download server gets the same
// path; files not stored go to the fallback URL when there is one.
func TestRedirectAndFallback(t *testing.T) {
	store := newStore(t)
	stored := put(t, store, testData(1000))
	known := object{sum: []byte{0x87, 0xf5, 0xbd, 0x04, 0x69, 0x58, 0x50, 0x06, 0xaa, 0x5d, 0x3a, 0x77, 0xd1, 0xc6, 0x62, 0xfd, 0x28, 0x95, 0xdd, 0xcd}}
	unknown := object{sum: make([]byte, 20)}
	failing := object{sum: []byte("0123456789abcdefghij")}
	// The one real Microsoft Update URL in the shared samples (see
	// storage/muurl): the digest's file on download.windowsupdate.com.
	const muURL = "http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe"
	fallback := func(_ context.Context, sum []byte) (string, error) {
		switch hex.EncodeToString(sum) {
		case hex.EncodeToString(known.sum):
			return muURL, nil
		case hex.EncodeToString(failing.sum):
			return "", errors.New("index unavailable")
		}
		return "", nil
	}

	tests := []struct {
		name     string
		opts     content.Options
		path     string
		status   int
		location string
	}{
		{"alternate server, stored file", content.Options{Redirect: content.RedirectToBase("http://dl.example.com:8080/")}, stored.path(".exe"), 302, "http://dl.example.com:8080" + stored.path(".exe")},
		{"alternate server, lower-case request", content.Options{Redirect: content.RedirectToBase("http://dl.example.com")}, "/content/" + stored.path(".exe")[9:], 302, "http://dl.example.com/content/" + stored.path(".exe")[9:]},
		{"alternate server, missing file", content.Options{Redirect: content.RedirectToBase("http://dl.example.com")}, unknown.path(".exe"), 404, ""},
		{"fallback, stored file served here", content.Options{Fallback: fallback}, stored.path(".exe"), 200, ""},
		{"fallback, known file", content.Options{Fallback: fallback}, known.path(".exe"), 302, muURL},
		{"fallback, unknown file", content.Options{Fallback: fallback}, unknown.path(".exe"), 404, ""},
		{"fallback fails", content.Options{Fallback: fallback}, failing.path(".exe"), 503, ""},
		{"both, missing known file", content.Options{Redirect: content.RedirectToBase("http://dl.example.com"), Fallback: fallback}, known.path(".exe"), 302, muURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			web := httptest.NewServer(content.NewHandlerWith(store, tt.opts))
			defer web.Close()
			for _, method := range []string{"GET", "HEAD"} {
				req, _ := http.NewRequest(method, web.URL+tt.path, nil)
				resp, err := noFollow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
					t.Errorf("%s: %d Location %q; want %d %q", method, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
				}
				if tt.status == 503 && resp.Header.Get("Retry-After") != "5" {
					t.Errorf("%s: 503 without Retry-After", method)
				}
			}
		})
	}
}
