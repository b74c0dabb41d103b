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
)

// A RawResponse must put on the wire exactly what the tree path sends for
// the same elements: the same envelope, in both styles, the same escaping,
// the same empty elements, and the same headers.

// step is one write of a response's content: an element opened or closed,
// or one with text, a number, or an ArrayOfInt.
type step struct {
	kind int // stepStart, stepEnd, stepElem, stepEscaped, stepInt, stepInts
	name string
	text string
	ints []int32
}

const (
	stepStart = iota
	stepEnd
	stepElem
	stepEscaped
	stepInt
	stepInts
	stepKinds
)

// writeTree writes steps under a response element as the tree path does.
func writeTree(resp *etree.Element, steps []step) {
	el := resp
	for _, s := range steps {
		switch s.kind {
		case stepStart:
			el = el.CreateElement(s.name)
		case stepEnd:
			el = el.Parent()
		case stepElem, stepEscaped:
			Elem(el, s.name, s.text)
		case stepInt:
			Elem(el, s.name, strconv.Itoa(int(s.ints[0])))
		case stepInts:
			IntArray(el, s.name, s.ints)
		}
	}
}

// writeRaw writes steps into a RawResponse; the text of stepEscaped is
// escaped beforehand, as a cached fragment is.
func writeRaw(w *RawResponse, steps []step) {
	for _, s := range steps {
		switch s.kind {
		case stepStart:
			w.Start(s.name)
		case stepEnd:
			w.End(s.name)
		case stepElem:
			w.Elem(s.name, s.text)
		case stepEscaped:
			w.EscapedElem(s.name, AppendText(nil, s.text))
		case stepInt:
			w.Int(s.name, int64(s.ints[0]))
		case stepInts:
			w.IntArray(s.name, s.ints)
		}
	}
}

// answers returns the response the tree path and the raw path send for
// steps, in style.
func answers(t *testing.T, style Style, steps []step) (tree, raw *httptest.ResponseRecorder) {
	t.Helper()
	const ns = "urn:raw"
	logger := slog.New(slog.DiscardHandler)
	limits := Limits{MaxBytes: 1 << 10, MaxMarkup: 100}
	treeSvc := NewService("Raw", ns, style, NewAdmission(0, 0, 0), logger)
	treeSvc.Handle("Op", limits, func(_ context.Context, req *Request) (*etree.Element, error) {
		resp := req.NewResponse()
		writeTree(resp, steps)
		return resp, nil
	})
	rawSvc := NewService("Raw", ns, style, NewAdmission(0, 0, 0), logger)
	rawSvc.HandleBulkRaw("Op", limits, func(_ context.Context, req *Request) (*RawResponse, error) {
		w := req.NewRawResponse()
		writeRaw(w, steps)
		return w, nil
	})
	call := func(svc *Service) *httptest.ResponseRecorder {
		body := `<s:Envelope xmlns:s="` + NSEnvelope + `"><s:Body><Op xmlns="` + ns + `"/></s:Body></s:Envelope>`
		r := httptest.NewRequest(http.MethodPost, "/raw.asmx", strings.NewReader(body))
		r.Header.Set("SOAPAction", `"`+ns+`/Op"`)
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
		}
		return rec
	}
	return call(treeSvc), call(rawSvc)
}

// checkSame fails unless both paths answer steps with the same bytes and
// headers, in both styles.
func checkSame(t *testing.T, steps []step) {
	t.Helper()
	for _, style := range []Style{StyleClient, StyleASMX} {
		tree, raw := answers(t, style, steps)
		if !bytes.Equal(tree.Body.Bytes(), raw.Body.Bytes()) {
			t.Fatalf("style %d: the raw path wrote\n%s\nthe tree path\n%s", style, raw.Body, tree.Body)
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control"} {
			if got, want := raw.Header().Get(h), tree.Header().Get(h); got != want {
				t.Fatalf("style %d: %s %q, the tree path %q", style, h, got, want)
			}
		}
		if n, _ := strconv.Atoi(raw.Header().Get("Content-Length")); n != raw.Body.Len() {
			t.Fatalf("style %d: Content-Length %d for %d bytes", style, n, raw.Body.Len())
		}
	}
}

func TestRawResponseMatchesTree(t *testing.T) {
	special := "a & b < c > d \" e ' f \r\n g \t h \x00 \x1f \xff \u00e9\u4e2d \ufffd \ufffe \uffff \U0001F600 &amp; ]]>"
	tests := []struct {
		name  string
		steps []step
	}{
		{"empty response element", nil},
		{"empty child", []step{{kind: stepStart, name: "Result"}, {kind: stepEnd, name: "Result"}}},
		{"empty texts", []step{{kind: stepElem, name: "A"}, {kind: stepEscaped, name: "Xml"}}},
		{"nested", []step{
			{kind: stepStart, name: "Result"},
			{kind: stepStart, name: "Result"}, {kind: stepEnd, name: "Result"},
			{kind: stepInt, name: "ID", ints: []int32{-2147483648}},
			{kind: stepInts, name: "None"},
			{kind: stepInts, name: "Ids", ints: []int32{1, 0, 2147483647}},
			{kind: stepStart, name: "Inner"}, {kind: stepElem, name: "T", text: "x"}, {kind: stepEnd, name: "Inner"},
			{kind: stepEnd, name: "Result"},
		}},
		{"special characters", []step{
			{kind: stepElem, name: "Text", text: special},
			{kind: stepEscaped, name: "Xml", text: `<UpdateIdentity UpdateID="1" RevisionNumber='2'/>` + special},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSame(t, tt.steps) })
	}
}

// FuzzRawResponse writes the elements program describes (a byte per write;
// texts are the |-separated pieces of text) both ways and compares.
func FuzzRawResponse(f *testing.F) {
	f.Add([]byte{0, 2, 3, 1, 4, 5, 0, 1}, "a&b|<c>|\r\n\"'\t|\x00\xff\ufffe")
	f.Add([]byte{0, 0, 1, 1, 2}, "")
	names := []string{"A", "Xml", "int", "UpdateInfo"}
	f.Fuzz(func(t *testing.T, program []byte, text string) {
		if len(program) > 256 {
			return
		}
		texts := strings.Split(text, "|")
		var steps []step
		var open []string
		for i, b := range program {
			s := step{kind: int(b) % stepKinds, name: names[int(b>>4)%len(names)], text: texts[i%len(texts)]}
			switch s.kind {
			case stepStart:
				open = append(open, s.name)
			case stepEnd:
				if len(open) == 0 {
					continue
				}
				s.name, open = open[len(open)-1], open[:len(open)-1]
			case stepInt, stepInts:
				for j := range int(b>>6) + 1 {
					s.ints = append(s.ints, int32(b)*int32(j)-100)
				}
			}
			steps = append(steps, s)
		}
		for len(open) > 0 {
			steps = append(steps, step{kind: stepEnd, name: open[len(open)-1]})
			open = open[:len(open)-1]
		}
		checkSame(t, steps)
	})
}

// FuzzAppendText compares AppendText with the text escaping of the tree
// path.
func FuzzAppendText(f *testing.F) {
	for _, s := range []string{"", "plain", "a&b<c>d\"e'f", "\r\n\t", "\x00\x01\x1f\x7f", "\xff\xfe", "\xed\xa0\x80", "\ufffd\ufffe\uffff", "é中\U0001F600", "x\xe2\x82"} {
		f.Add(s)
	}
	settings := etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		etree.NewText(s).WriteTo(&want, &settings)
		prefix := []byte("kept")
		got := AppendText(prefix, s)
		if string(got[:len(prefix)]) != "kept" || !bytes.Equal(got[len(prefix):], want.Bytes()) {
			t.Fatalf("AppendText(%q) = %q, the tree path writes %q", s, got[len(prefix):], want.Bytes())
		}
	})
}
