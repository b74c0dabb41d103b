package content

import (
	"cmp"
	"math"
	"net/http"
	"strings"
	"time"

	"wsus/storage"
)

// rangeKind is the outcome of reading a request's Range header.
type rangeKind int

const (
	// rangeWhole: no usable Range; send the whole file with 200.
	rangeWhole rangeKind = iota
	// rangePartial: one satisfiable range; send it with 206.
	rangePartial
	// rangeUnsatisfiable: send 416.
	rangeUnsatisfiable
)

// requestedRange applies the Range and If-Range headers to an object. It
// returns the range to send as start and length when the kind is
// rangePartial.
//
// Range is honoured on HEAD as on GET, so that HEAD answers exactly what GET
// would (net/http's ServeContent does the same), although RFC 9110 section
// 14.2 defines range handling for GET only.
func requestedRange(r *http.Request, info storage.ObjectInfo) (start, length int64, kind rangeKind) {
	values := r.Header.Values("Range")
	if len(values) != 1 {
		return 0, 0, rangeWhole // absent, or several field lines: several ranges
	}
	if ifRange := r.Header.Get("If-Range"); ifRange != "" && !ifRangeMatches(ifRange, info) {
		return 0, 0, rangeWhole
	}
	return parseRange(values[0], info.Size)
}

// parseRange reads a Range header value (RFC 9110 section 14.1.2) for an
// object of size bytes. Malformed values, other units and more than one
// range give rangeWhole.
func parseRange(v string, size int64) (start, length int64, kind rangeKind) {
	unit, set, ok := strings.Cut(v, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return 0, 0, rangeWhole
	}
	var spec string
	count := 0
	for elem := range strings.SplitSeq(set, ",") {
		if elem = strings.Trim(elem, " \t"); elem != "" { // empty list elements are allowed
			spec = elem
			count++
		}
	}
	if count != 1 {
		return 0, 0, rangeWhole
	}

	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, rangeWhole
	}
	if first == "" { // suffix range "-n": the last n bytes
		n, ok := parseDigits(last)
		switch {
		case !ok:
			return 0, 0, rangeWhole
		case n == 0 || size == 0:
			return 0, 0, rangeUnsatisfiable
		}
		n = min(n, size)
		return size - n, n, rangePartial
	}
	a, ok := parseDigits(first)
	if !ok {
		return 0, 0, rangeWhole
	}
	b := int64(math.MaxInt64) // open range "a-"
	if last != "" {
		// last < first makes the range invalid (RFC 9110 section 14.1.1);
		// compared exactly, as saturated values may be equal.
		if b, ok = parseDigits(last); !ok || compareDigits(last, first) < 0 {
			return 0, 0, rangeWhole
		}
	}
	if a >= size {
		return 0, 0, rangeUnsatisfiable
	}
	b = min(b, size-1)
	return a, b - a + 1, rangePartial
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
