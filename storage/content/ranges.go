package content

import (
	"cmp"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wsus/storage"
)

// rangeKind is the outcome of reading a request's Range header.
type rangeKind int

const (
	// rangeWhole: no usable Range; send the whole file with 200.
	rangeWhole rangeKind = iota
	// rangePartial: one or more satisfiable ranges; send them with 206,
	// several as multipart/byteranges.
	rangePartial
	// rangeUnsatisfiable: send 416.
	rangeUnsatisfiable
)

// MaxRanges is the most ranges one request may ask for: a Range header
// with more byte-range-specs is ignored and the whole file sent with 200,
// which RFC 9110 section 14.2 allows ("many small ranges"). [I] IIS's own
// limit is not documented; no Windows client sends more than one range
// (content-headers captures), so the bound only matters for hostile input:
// it caps the parts of a multipart answer, and so the store reads (one
// ranged read per part) and the framing a request can cost.
const MaxRanges = 64

// byteRange is one satisfiable range: length bytes from start.
type byteRange struct {
	start, length int64
}

// contentRange is the Content-Range value of r in an object of size bytes.
func (r byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.start+r.length-1, 10) +
		"/" + strconv.FormatInt(size, 10)
}

// requestedRanges applies the Range and If-Range headers to an object. It
// returns the ranges to send, in the order asked, when the kind is
// rangePartial.
//
// Range is honoured on HEAD as on GET, so that HEAD answers exactly what GET
// would (net/http's ServeContent does the same), although RFC 9110 section
// 14.2 defines range handling for GET only.
func requestedRanges(r *http.Request, info storage.ObjectInfo) ([]byteRange, rangeKind) {
	values := r.Header.Values("Range")
	if len(values) != 1 {
		return nil, rangeWhole // absent, or several field lines [I]
	}
	if ifRange := r.Header.Get("If-Range"); ifRange != "" && !ifRangeMatches(ifRange, info) {
		return nil, rangeWhole
	}
	return parseRanges(values[0], info.Size)
}

// parseRanges reads a Range header value (RFC 9110 section 14.1.2) for an
// object of size bytes:
//
//   - a malformed value, another unit, a malformed byte-range-spec among
//     the others or more than MaxRanges specs: rangeWhole;
//   - specs that lie beyond the end are dropped; none left:
//     rangeUnsatisfiable (every range of an empty file is);
//   - the satisfiable ones, in the order asked, not merged; when together
//     they ask for more bytes than the file has (overlapping ranges):
//     rangeWhole, as net/http's ServeContent does, one answer no larger
//     than the file instead of a multipart body that is (RFC 9110 section
//     15.3.7.2 lets a server coalesce or ignore such ranges). [I] What IIS
//     does with overlapping ranges is not established.
func parseRanges(v string, size int64) ([]byteRange, rangeKind) {
	unit, set, ok := strings.Cut(v, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, rangeWhole
	}
	var out []byteRange
	count := 0
	var total int64
	for spec := range strings.SplitSeq(set, ",") {
		if spec = strings.Trim(spec, " \t"); spec == "" {
			continue // empty list elements are allowed
		}
		if count++; count > MaxRanges {
			return nil, rangeWhole
		}
		r, kind := parseSpec(spec, size)
		switch kind {
		case rangeWhole:
			return nil, rangeWhole
		case rangePartial:
			if r.length > size-total { // total+r.length > size, without overflow
				return nil, rangeWhole
			}
			total += r.length
			out = append(out, r)
		}
	}
	switch {
	case count == 0:
		return nil, rangeWhole
	case len(out) == 0:
		return nil, rangeUnsatisfiable
	}
	return out, rangePartial
}

// parseSpec reads one byte-range-spec: closed "a-b", open "a-" or suffix
// "-n". rangeWhole means malformed.
func parseSpec(spec string, size int64) (byteRange, rangeKind) {
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return byteRange{}, rangeWhole
	}
	if first == "" { // suffix range "-n": the last n bytes
		n, ok := parseDigits(last)
		switch {
		case !ok:
			return byteRange{}, rangeWhole
		case n == 0 || size == 0:
			return byteRange{}, rangeUnsatisfiable
		}
		n = min(n, size)
		return byteRange{size - n, n}, rangePartial
	}
	a, ok := parseDigits(first)
	if !ok {
		return byteRange{}, rangeWhole
	}
	b := int64(math.MaxInt64) // open range "a-"
	if last != "" {
		// last < first makes the range invalid (RFC 9110 section 14.1.1);
		// compared exactly, as saturated values may be equal.
		if b, ok = parseDigits(last); !ok || compareDigits(last, first) < 0 {
			return byteRange{}, rangeWhole
		}
	}
	if a >= size {
		return byteRange{}, rangeUnsatisfiable
	}
	b = min(b, size-1)
	return byteRange{a, b - a + 1}, rangePartial
}

// parseDigits parses a non-empty run of ASCII digits; values beyond int64
// saturate at math.MaxInt64 (they are still well-formed byte positions).
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-9)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + int64(c-'0')
		}
	}
	return n, true
}

// compareDigits compares two runs of ASCII digits as the integers they
// spell, whatever their size: -1, 0 or +1.
func compareDigits(x, y string) int {
	x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
	if len(x) != len(y) {
		return cmp.Compare(len(x), len(y))
	}
	return strings.Compare(x, y)
}

// notModified evaluates If-None-Match (weak comparison) or, without it,
// If-Modified-Since (RFC 9110 section 13.2.2).
func notModified(r *http.Request, info storage.ObjectInfo) bool {
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		return info.ETag != "" && etagListMatches(strings.Join(inm, ","), info.ETag)
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || info.ModTime.IsZero() {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	return !info.ModTime.Truncate(time.Second).After(t)
}

// etagListMatches reports whether the If-None-Match list contains "*" or an
// entity-tag weakly equal to etag.
func etagListMatches(list, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for tag := range strings.SplitSeq(list, ",") {
		tag = strings.Trim(tag, " \t")
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// ifRangeMatches reports whether an If-Range value still designates the
// object: a strong entity-tag equal to its ETag, or its exact Last-Modified
// date (RFC 9110 section 13.1.5).
func ifRangeMatches(v string, info storage.ObjectInfo) bool {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, `"`) {
		return v == info.ETag
	}
	if strings.HasPrefix(v, "W/") || info.ModTime.IsZero() {
		return false
	}
	t, err := http.ParseTime(v)
	return err == nil && info.ModTime.Truncate(time.Second).Equal(t)
}
