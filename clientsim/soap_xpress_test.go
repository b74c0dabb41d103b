package clientsim

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wsus/internal/xpress"
)

// The SOAP client asks for Xpress as the agent does and decodes it; with
// Identity it asks for nothing and refuses an Xpress answer; corrupt Xpress
// and unknown encodings are errors naming the operation.
func TestSOAPClientXpress(t *testing.T) {
	answer := `<s:Envelope xmlns:s="` + nsEnvelope + `"><s:Body><GetConfigResponse xmlns="` + nsClient + `"><GetConfigResult>` +
		strings.Repeat("<x>same</x>", 500) + `</GetConfigResult></GetConfigResponse></s:Body></s:Envelope>`
	var mode string // what the server sends
	var gotAE []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAE = r.Header.Values("Accept-Encoding")
		body := []byte(answer)
		switch mode {
		case "xpress":
			body = xpress.Frame(nil, body, xpress.BlockSize)
			w.Header().Set("Content-Encoding", "xpress")
		case "corrupt":
			body = xpress.Frame(nil, body, xpress.BlockSize)
			body = body[:len(body)-1]
			w.Header().Set("Content-Encoding", "xpress")
		case "gzip":
			w.Header().Set("Content-Encoding", "gzip")
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DisableCompression = true // as Config's default client
	client := &http.Client{Transport: tr}
	for _, c := range []struct {
		identity bool
		mode     string
		wantAE   string
		wantErr  string
	}{
		{false, "xpress", "xpress", ""},
		{false, "", "xpress", ""},
		{false, "corrupt", "xpress", "GetConfig: decode Xpress answer"},
		{false, "gzip", "xpress", `unsupported Content-Encoding "gzip"`},
		{true, "", "", ""},
		{true, "xpress", "", "did not accept"},
	} {
		mode = c.mode
		sc := &soapClient{http: client, userAgent: AgentUserAgent, log: slog.New(slog.DiscardHandler), identity: c.identity}
		el, err := sc.call(context.Background(), srv.URL+clientPath, nsClient, "GetConfig", []byte("<x/>"))
		if got := strings.Join(gotAE, ","); got != c.wantAE {
			t.Errorf("identity %v: Accept-Encoding %q, want %q", c.identity, got, c.wantAE)
		}
		switch {
		case c.wantErr == "" && (err != nil || el == nil || len(el.FindElements("GetConfigResult/x")) != 500):
			t.Errorf("identity %v, answer %q: %v", c.identity, c.mode, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("identity %v, answer %q: error %v, want %q", c.identity, c.mode, err, c.wantErr)
		}
	}
}
