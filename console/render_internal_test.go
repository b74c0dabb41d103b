package console

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wsus/soap/cookie"
)

// TestRedirectFlashFitsACookie checks that a flash of any length is sent in
// a cookie a browser keeps (4096 bytes), cut with an ellipsis, and opens.
func TestRedirectFlashFitsACookie(t *testing.T) {
	sealer, err := cookie.NewSealer(bytes.Repeat([]byte{5}, cookie.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{sealer: sealer}
	for _, n := range []int{10, maxFlashText, 50000} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/console/updates/bulk", nil)
		c.redirect(w, r, "/console/updates", flashOK(strings.Repeat("é", n/2)))
		header := w.Header().Get("Set-Cookie")
		if len(header) > 4096 {
			t.Errorf("flash of %d bytes: Set-Cookie is %d bytes, more than browsers keep", n, len(header))
		}
		var got flash
		ck := w.Result().Cookies()[0]
		raw, _ := base64.RawURLEncoding.DecodeString(ck.Value)
		if err := sealer.Open(flashPurpose, raw, &got); err != nil {
			t.Fatalf("flash of %d bytes does not open: %v", n, err)
		}
		if cut := n/2*2 > maxFlashText; cut != strings.HasSuffix(got.Text, "…") || len(got.Text) > maxFlashText+len("…") {
			t.Errorf("flash of %d bytes: got %d bytes, ellipsis %v", n, len(got.Text), strings.HasSuffix(got.Text, "…"))
		}
	}
}
