package soap

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"unicode/utf8"
)

// An operation whose answers are large (SyncUpdates: 200 updates, each with
// its Core fragment) may write its response element as bytes instead of
// building a tree, so that text sent to many clients is escaped once and
// copied afterwards. The bytes on the wire are the same either way: the
// envelope of a RawResponse is cut out of the tree path's own serialization
// (frame), and AppendText escapes text as the tree path does.

// RawOperation handles one SOAP operation that writes its own response
// element (see Request.NewRawResponse). Errors are handled as for an
// Operation.
type RawOperation func(ctx context.Context, req *Request) (*RawResponse, error)

// HandleBulkRaw registers op like HandleBulk, for an operation that writes
// its response element as bytes.
func (s *Service) HandleBulkRaw(op string, limits Limits, fn RawOperation, raw ...string) {
	s.register(entry{name: op, rawFn: fn, limits: limits, bulkInts: true, bulkRaw: raw})
}

// RawResponse is an <OperationResponse xmlns="namespace"> element written as
// bytes, in the buffer the whole envelope is then sent from. Its methods
// write what the tree path writes for the same elements: an element
// without content is written <name/>, text is escaped with AppendText.
// Element names are written as given: they must be XML names.
type RawResponse struct {
	buf   []byte
	frame *frame
}

// NewRawResponse returns an empty response element written as bytes, for an
// operation registered with HandleBulkRaw to fill and return.
func (r *Request) NewRawResponse() *RawResponse {
	return &RawResponse{buf: append(make([]byte, 0, 4<<10), r.frame.head...), frame: r.frame}
}

// Grow makes room for n more bytes of content.
func (w *RawResponse) Grow(n int) { w.buf = slices.Grow(w.buf, n) }

// Start opens a child element; End closes it.
func (w *RawResponse) Start(name string) {
	w.buf = append(append(append(w.buf, '<'), name...), '>')
}

// End closes the element name opened last; one left empty becomes <name/>.
func (w *RawResponse) End(name string) {
	if open := len(w.buf) - len(name) - 2; open >= len(w.frame.head) && w.buf[open] == '<' && string(w.buf[open+1:len(w.buf)-1]) == name {
		// Only markup holds '<' (text is escaped): these are the start
		// tag of name, with nothing written since.
		w.buf = append(w.buf[:len(w.buf)-1], '/', '>')
		return
	}
	w.buf = append(append(append(w.buf, '<', '/'), name...), '>')
}

// Elem writes a child element holding text, as the function Elem adds one to
// a tree.
func (w *RawResponse) Elem(name, text string) {
	if text == "" {
		w.empty(name)
		return
	}
	w.Start(name)
	w.buf = AppendText(w.buf, text)
	w.close(name)
}

// EscapedElem writes a child element holding text already escaped by
// AppendText.
func (w *RawResponse) EscapedElem(name string, escaped []byte) {
	if len(escaped) == 0 {
		w.empty(name)
		return
	}
	w.Start(name)
	w.buf = append(w.buf, escaped...)
	w.close(name)
}

// Int writes a child element holding v in decimal.
func (w *RawResponse) Int(name string, v int64) {
	w.Start(name)
	w.buf = strconv.AppendInt(w.buf, v, 10)
	w.close(name)
}

// IntArray writes an ArrayOfInt child as the function IntArray adds one to
// a tree: nothing when ids is empty.
func (w *RawResponse) IntArray(name string, ids []int32) {
	if len(ids) == 0 {
		return
	}
	w.Start(name)
	for _, id := range ids {
		w.Int("int", int64(id))
	}
	w.close(name)
}

func (w *RawResponse) empty(name string) {
	w.buf = append(append(append(w.buf, '<'), name...), '/', '>')
}

func (w *RawResponse) close(name string) {
	w.buf = append(append(append(w.buf, '<', '/'), name...), '>')
}

// envelope returns the whole envelope, in the response's own buffer.
func (w *RawResponse) envelope() []byte {
	if len(w.buf) == len(w.frame.head) {
		return w.frame.empty
	}
	return append(w.buf, w.frame.tail...)
}

// frame is the envelope of one operation's answer as bytes: all before the
// content of its response element (the start tag included), all after it,
// and the whole envelope of an empty response element.
type frame struct {
	head, tail, empty []byte
}

// frameMarker stands for the content of a response element while its
// frame is cut out of a serialized envelope.
const frameMarker = "soap-frame-content"

// newFrame returns the frame of op's answers, cut out of the envelope the
// tree path writes.
func (s *Service) newFrame(op string) *frame {
	req := &Request{Operation: op, Namespace: s.namespace}
	empty, err := serialize(s.envelope(req.NewResponse()))
	if err != nil {
		panic("soap: serialize an empty envelope: " + err.Error())
	}
	resp := req.NewResponse()
	resp.CreateElement(frameMarker)
	full, err := serialize(s.envelope(resp))
	if err != nil {
		panic("soap: serialize an empty envelope: " + err.Error())
	}
	head, tail, found := bytes.Cut(full, []byte("<"+frameMarker+"/>"))
	if !found {
		panic("soap: no content marker in the envelope of " + op)
	}
	return &frame{head: head, tail: tail, empty: empty}
}

// AppendText appends s to dst escaped as element text, byte for byte as the
// tree path escapes it (etree with CanonicalText): &, < and > become &amp;,
// &lt; and &gt;, a carriage return becomes &#xD; (a parser would turn a raw
// one into a newline), and each byte that is not UTF-8 and each character
// XML does not allow (control characters other than tab and newline,
// U+FFFE and U+FFFF) becomes U+FFFD. Quotes, tabs and newlines stay as they
// are.
func AppendText(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		var esc string
		width := 1
		switch c := s[i]; {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case c < 0x20 && c != '\t' && c != '\n':
			esc = "\uFFFD"
		case c < utf8.RuneSelf:
			i++
			continue
		default:
			var r rune
			r, width = utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || width > 1) && r != 0xFFFE && r != 0xFFFF {
				i += width
				continue
			}
			esc = "\uFFFD"
		}
		dst = append(append(dst, s[last:i]...), esc...)
		i += width
		last = i
	}
	return append(dst, s[last:]...)
}
