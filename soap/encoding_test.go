package soap

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"wsus/internal/xpress"
)

func TestAcceptsXpress(t *testing.T) {
	for _, c := range []struct {
		header       []string
		listed, want bool
	}{
		{nil, false, false},
		{[]string{"xpress"}, true, true},
		{[]string{"XPRESS"}, true, true},
		{[]string{"gzip, deflate"}, true, false},
		{[]string{"gzip", " xpress "}, true, true},
		{[]string{"gzip;q=1.0, xpress;q=0.5"}, true, true},
		{[]string{"xpress;q=0"}, true, false},
		{[]string{"xpress; Q=0.000"}, true, false},
		{[]string{"xpress;q=bad"}, true, false},
		{[]string{"*"}, true, false},
		{[]string{"xpressive"}, true, false},
		{[]string{""}, true, false},
	} {
		h := http.Header{}
		for _, v := range c.header {
			h.Add("Accept-Encoding", v)
		}
		if listed, got := acceptsXpress(h); listed != c.listed || got != c.want {
			t.Errorf("Accept-Encoding %q: listed %v, xpress %v; want %v, %v", c.header, listed, got, c.listed, c.want)
		}
	}
}

// The answer in Xpress decodes to exactly the identity answer, on both the
// tree and the raw path, in both styles; Vary is set when the request
// carried Accept-Encoding; faults stay identity; without the header (or
// with q=0) nothing changes.
func TestXpressAnswers(t *testing.T) {
	const ns = "urn:xpress"
	big := strings.Repeat("<UpdateInfo><ID>12345</ID><Deployment>Install</Deployment></UpdateInfo>", 800) // > 1 block
	for _, style := range []Style{StyleClient, StyleASMX} {
		svc := NewService("X", ns, style, NewAdmission(0, 0, 0), slog.New(slog.DiscardHandler))
		limits := Limits{MaxBytes: 1 << 10, MaxMarkup: 100}
		svc.Handle("Tree", limits, func(_ context.Context, req *Request) (*etree.Element, error) {
			resp := req.NewResponse()
			Elem(resp, "Result", big)
			return resp, nil
		})
		svc.HandleBulkRaw("Raw", limits, func(_ context.Context, req *Request) (*RawResponse, error) {
			w := req.NewRawResponse()
			w.Elem("Result", big)
			return w, nil
		})
		svc.Handle("Fails", limits, func(context.Context, *Request) (*etree.Element, error) {
			return nil, Errorf(InvalidParameters, "parameters.x")
		})
		call := func(op string, acceptEncoding ...string) *httptest.ResponseRecorder {
			body := `<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Body><` + op + ` xmlns="` + ns + `"/></s:Body></s:Envelope>`
			r := httptest.NewRequest(http.MethodPost, "/x.asmx", strings.NewReader(body))
			r.Header.Set("SOAPAction", `"`+ns+`/`+op+`"`)
			for _, v := range acceptEncoding {
				r.Header.Add("Accept-Encoding", v)
			}
			rec := httptest.NewRecorder()
			svc.ServeHTTP(rec, r)
			if n, _ := strconv.Atoi(rec.Header().Get("Content-Length")); n != rec.Body.Len() {
				t.Fatalf("%s: Content-Length %d for %d bytes", op, n, rec.Body.Len())
			}
			return rec
		}
		for _, op := range []string{"Tree", "Raw"} {
			identity := call(op)
			if identity.Code != http.StatusOK || identity.Header().Get("Content-Encoding") != "" || identity.Header().Get("Vary") != "" {
				t.Fatalf("style %d %s without Accept-Encoding: HTTP %d, headers %v", style, op, identity.Code, identity.Header())
			}
			x := call(op, "xpress")
			if x.Header().Get("Content-Encoding") != "xpress" || x.Header().Get("Vary") != "Accept-Encoding" {
				t.Fatalf("style %d %s: headers %v", style, op, x.Header())
			}
			if x.Body.Len() >= identity.Body.Len()/4 {
				t.Errorf("style %d %s: %d bytes in Xpress for %d", style, op, x.Body.Len(), identity.Body.Len())
			}
			got, err := xpress.Unframe(nil, x.Body.Bytes(), 1<<20)
			if err != nil || !bytes.Equal(got, identity.Body.Bytes()) {
				t.Fatalf("style %d %s: the Xpress answer does not decode to the identity answer: %v", style, op, err)
			}
			for _, h := range []string{"Content-Type", "Cache-Control"} {
				if x.Header().Get(h) != identity.Header().Get(h) {
					t.Errorf("style %d %s: %s %q, identity %q", style, op, h, x.Header().Get(h), identity.Header().Get(h))
				}
			}
			for _, ae := range []string{"xpress;q=0", "gzip"} {
				other := call(op, ae)
				if other.Header().Get("Content-Encoding") != "" || other.Header().Get("Vary") != "Accept-Encoding" ||
					!bytes.Equal(other.Body.Bytes(), identity.Body.Bytes()) {
					t.Fatalf("style %d %s with %q: headers %v, identity body %v", style, op, ae, other.Header(), bytes.Equal(other.Body.Bytes(), identity.Body.Bytes()))
				}
			}
		}
		f := call("Fails", "xpress")
		if f.Code != http.StatusInternalServerError || f.Header().Get("Content-Encoding") != "" || f.Header().Get("Vary") != "" ||
			!bytes.Contains(f.Body.Bytes(), []byte("<ErrorCode>InvalidParameters</ErrorCode>")) {
			t.Fatalf("style %d fault: HTTP %d, headers %v, body %s", style, f.Code, f.Header(), f.Body)
		}
	}
}
