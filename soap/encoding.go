package soap

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"wsus/internal/xpress"
)

// Answers in Xpress (MS-WUSP.md section 1.4, [MS-WUSP] 2.1.1). The native
// agent sends Accept-Encoding: xpress with every SOAP request, and the real
// WSUS on Windows Server 2025 answers every one of them with
// Content-Encoding: xpress and Vary: Accept-Encoding, in blocks of 16,352
// bytes, a block stored as it is when compression does not make it smaller
// (wsus-m0-native/scan/*/meta.json, response.headers). To a request without
// Accept-Encoding it answers in identity with no Vary
// (wsus-rs docs/fixtures/wsus-m0/000001/response.headers), which is what
// this server has always sent: those answers are unchanged.
//
// Decisions:
//   - [I] Only the token xpress selects it (case-insensitive, with any q
//     above 0); "*" does not: the agent names it, and a client that does
//     not may not decode it.
//   - [I] Vary: Accept-Encoding goes on every answer to a request that
//     carried Accept-Encoding (the answer depended on it), none on those
//     without, as the real WSUS does.
//   - [I] Faults are sent in identity, without Vary: the only captured real
//     fault (wsus-m0/000141, HTTP 500) carries neither Content-Encoding
//     nor Vary, no capture shows a fault to a client asking for Xpress,
//     and identity is what every client reads. A fault is a few hundred
//     bytes.
//   - Payloads under /Content/ never pass here (storage/content serves them).

// acceptsXpress reads the request's Accept-Encoding: listed reports whether
// the header is present, xpress whether it lists xpress with q > 0.
func acceptsXpress(h http.Header) (listed, ok bool) {
	values := h.Values("Accept-Encoding")
	if len(values) == 0 {
		return false, false
	}
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			token, params, _ := strings.Cut(elem, ";")
			if !strings.EqualFold(strings.TrimSpace(token), "xpress") {
				continue
			}
			if qualityAboveZero(params) {
				return true, true
			}
		}
	}
	return true, false
}

// qualityAboveZero reads the q parameter among params ("q=0.5;x=y"); no q
// means 1. A malformed q is taken as 0: the client said something it did
// not mean as yes.
func qualityAboveZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0 && q <= 1
	}
	return true
}

// xpressBufs holds buffers for compressed answers. An answer is compressed
// while its request holds an Admission slot, so at most MaxInFlight are in
// use at once; buffers larger than maxPooledBuffer are left to the
// collector.
var xpressBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuffer = 8 << 20

// encodeXpress returns body framed in Xpress blocks in a pooled buffer,
// and the function that returns the buffer once the answer is written.
func encodeXpress(body []byte) (framed []byte, release func()) {
	bp := xpressBufs.Get().(*[]byte)
	*bp = xpress.Frame((*bp)[:0], body, xpress.BlockSize)
	return *bp, func() {
		if cap(*bp) <= maxPooledBuffer {
			xpressBufs.Put(bp)
		}
	}
}
