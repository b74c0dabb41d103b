package soap

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/beevik/etree"

	"wsus/internal/lineartest"
)

// The whole decode of a request (envelope checks, namespace resolution,
// the readers an operation calls) must stay linear in the body within the
// limits of the largest operation, SyncUpdates (8 MiB, 100,000 tags and
// attributes). Sizes stay under that markup bound, so that the bodies are
// parsed rather than refused.

// serviceSizes keep the adversarial bodies below 100,000 tags and
// attributes; the smaller is large enough not to fit in the CPU caches,
// which would make it faster per byte than the larger.
var serviceSizes = []int{32 << 10, 512 << 10}

// sizedBody returns an n-byte request whose Envelope start tag ends with
// envAttrs(n/2) and whose Body holds before, then the Echo operation
// element holding inner(n/2).
func sizedBody(envAttrs, before, inner func(n int) string) func(n int) []byte {
	return func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`<s:Envelope xmlns:s="` + NSEnvelope + `"` + envAttrs(n/2) + `>` + before(n/2) + `<s:Body><Echo xmlns="urn:f">`)
		b.WriteString(inner(n / 2))
		b.WriteString(`</Echo></s:Body></s:Envelope>`)
		return b.Bytes()
	}
}

// units returns about n bytes of format applied to 0, 1, 2, ...
func units(format string) func(n int) string {
	return func(n int) string {
		var b bytes.Buffer
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
}

func none(int) string { return "" }

func TestServiceDecodeIsLinear(t *testing.T) {
	svc := NewService("Fuzz", "urn:f", StyleClient, NewAdmission(0, 0, 0), slog.New(slog.DiscardHandler))
	svc.Handle("Echo", Limits{MaxBytes: 8 << 20, MaxMarkup: 100_000}, func(_ context.Context, req *Request) (*etree.Element, error) {
		p := Child(req.Body, "parameters")
		_ = Strings(p, "X")
		_, _ = Ints(p, "Y", "parameters.Y")
		return req.NewResponse(), nil
	})
	serve := func(body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("SOAPAction", `"urn:f/Echo"`)
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		// A refusal is fine (and linear) too, as long as it is a SOAP answer.
		if w.Code != http.StatusOK && w.Code != http.StatusInternalServerError {
			t.Fatalf("HTTP %d:\n%.300s", w.Code, w.Body.String())
		}
	}
	tests := []struct {
		name  string
		build func(n int) []byte
	}{
		// Each "Body" child of the Envelope in another namespace resolves
		// its prefix through every attribute of the Envelope.
		{"Body elements in another namespace, many Envelope attributes",
			sizedBody(units(` a%d=""`), units(`<x:Body/>`), none)},
		// Each nil attribute's prefix resolved on its own walked every
		// attribute of the element.
		{"many prefixed nil attributes", sizedBody(none, none, func(n int) string {
			return "<parameters" + units(` p%d:nil="true"`)(n) + "/>"
		})},
		{"many array items with prefixed nil attributes", sizedBody(none, none, func(n int) string {
			return "<parameters" + units(` a%d=""`)(n/2) + "><Y>" + units(`<int p%d:nil="1"/>`)(n/2) + "</Y></parameters>"
		})},
		{"many strings", sizedBody(none, none, func(n int) string {
			return "<parameters><X>" + units(`<string>s%d</string>`)(n) + "</X></parameters>"
		})},
		{"many elements named like the parameter, all nil", sizedBody(none, none, func(n int) string {
			return `<parameters xmlns:xsi="` + NSXSI + `"` + units(` a%d=""`)(n/2) + ">" + units(`<parameters xsi:nil="true"/>`)(n/2) + "</parameters>"
		})},
		{"deep nesting", sizedBody(none, none, func(n int) string {
			var b bytes.Buffer
			for b.Len() < n {
				b.WriteString("<parameters>" + units("<d>%d</d>")(60) + "</parameters>")
			}
			return b.String()
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { lineartest.Check(t, serviceSizes, tt.build, serve) })
	}
}
