package content

import (
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"wsus/internal/testseed"
	"wsus/storage"
)

// Fuzzing the Range header parser against a reference reading of RFC 9110
// section 14.1.2 in arbitrary precision. Invariants: an accepted range lies
// within the object (0 <= start, 1 <= length, start+length <= size), a
// rangeUnsatisfiable answer only comes for a well-formed single range, and
// every outcome is the reference's.

// rangeSpec is one byte-range-spec: "first-last" or the suffix "-n".
var rangeSpec = regexp.MustCompile(`^([0-9]*)-([0-9]*)$`)

// referenceRange is parseRange written for clarity: exact integers, the
// same tolerances (unit in any case and with white space around it, OWS and
// empty elements in the list).
func referenceRange(v string, size int64) (start, length int64, kind rangeKind) {
	unit, set, ok := strings.Cut(v, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return 0, 0, rangeWhole
	}
	var specs []string
	for _, elem := range strings.Split(set, ",") {
		if elem = strings.Trim(elem, " \t"); elem != "" {
			specs = append(specs, elem)
		}
	}
	if len(specs) != 1 {
		return 0, 0, rangeWhole
	}
	m := rangeSpec.FindStringSubmatch(specs[0])
	if m == nil || m[1] == "" && m[2] == "" {
		return 0, 0, rangeWhole
	}
	n := big.NewInt(size)
	num := func(s string) *big.Int { x, _ := new(big.Int).SetString(s, 10); return x }
	if m[1] == "" { // the last m[2] bytes
		suffix := num(m[2])
		if suffix.Sign() == 0 || size == 0 {
			return 0, 0, rangeUnsatisfiable
		}
		if suffix.Cmp(n) > 0 {
			suffix = n
		}
		return size - suffix.Int64(), suffix.Int64(), rangePartial
	}
	first := num(m[1])
	last := new(big.Int).Sub(n, big.NewInt(1)) // open range: to the end
	if m[2] != "" {
		l := num(m[2])
		if l.Cmp(first) < 0 {
			return 0, 0, rangeWhole // last < first: invalid, ignored
		}
		if l.Cmp(last) < 0 {
			last = l
		}
	}
	if first.Cmp(n) >= 0 {
		return 0, 0, rangeUnsatisfiable
	}
	return first.Int64(), last.Int64() - first.Int64() + 1, rangePartial
}

func FuzzParseRange(f *testing.F) {
	for _, v := range []string{
		"bytes=0-99", "bytes=500-", "bytes=-1", "bytes=-5000", "Bytes = 1-2 ,", "bytes=1-2,5-6", "bytes=5-1",
		"bytes=0-99999999999999999999999", "bytes=99999999999999999999-9223372036854775807", "bytes=9223372036854775807-",
		"bytes=-9223372036854775808", "bytes=--1", "bytes=1-2-3", "items=0-1", "bytes 0-1", "bytes=\t3-4\t", "",
	} {
		for _, size := range []int64{0, 1, 1000, math.MaxInt64} {
			f.Add(v, size)
		}
	}
	// The Range headers real clients sent (content-headers captures).
	for _, v := range captureRanges(f) {
		f.Add(v, int64(204745168))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		if size < 0 {
			return // object sizes are never negative
		}
		start, length, kind := parseRange(v, size)
		switch kind {
		case rangePartial:
			if start < 0 || length < 1 || start > size-length {
				t.Fatalf("parseRange(%q, %d) = [%d, +%d): outside the object", v, size, start, length)
			}
		case rangeWhole, rangeUnsatisfiable:
			if start != 0 || length != 0 {
				t.Fatalf("parseRange(%q, %d) = %d, %d with kind %v", v, size, start, length, kind)
			}
		default:
			t.Fatalf("parseRange(%q, %d): kind %v", v, size, kind)
		}
		ws, wl, wk := referenceRange(v, size)
		if start != ws || length != wl || kind != wk {
			t.Fatalf("parseRange(%q, %d) = %d, %d, %v; the reference gives %d, %d, %v", v, size, start, length, kind, ws, wl, wk)
		}
	})
}

func FuzzRequestedRange(f *testing.F) {
	etag := `"5d41402abc4b2a76b9719d911017c592"`
	mod := time.Date(2026, 10, 4, 15, 3, 35, 0, time.UTC)
	f.Add("bytes=0-1048575", "", "", int64(3000000))
	f.Add("bytes=0-1", "bytes=2-3", "", int64(10))
	f.Add("bytes=0-1", "", etag, int64(10))
	f.Add("bytes=0-1", "", `W/`+etag, int64(10))
	f.Add("bytes=0-1", "", mod.Format(http.TimeFormat), int64(10))
	f.Add("bytes=0-1", "", mod.Add(time.Second).Format(http.TimeFormat), int64(10))
	f.Add("bytes=5-", "", `"other"`, int64(10))
	f.Fuzz(func(t *testing.T, rng, rng2, ifRange string, size int64) {
		if size < 0 {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/Content/AB/X.exe", nil)
		if rng != "" {
			r.Header.Add("Range", rng)
		}
		if rng2 != "" {
			r.Header.Add("Range", rng2)
		}
		if ifRange != "" {
			r.Header.Set("If-Range", ifRange)
		}
		info := storage.ObjectInfo{Size: size, ETag: etag, ModTime: mod}
		start, length, kind := requestedRange(r, info)
		if kind == rangePartial && (start < 0 || length < 1 || start > size-length) {
			t.Fatalf("range [%d, +%d) outside an object of %d bytes", start, length, size)
		}
		want := rangeWhole
		if len(r.Header.Values("Range")) == 1 && (ifRange == "" || ifRangeMatches(ifRange, info)) {
			_, _, want = parseRange(r.Header.Get("Range"), size)
		}
		if kind != want {
			t.Fatalf("kind %v, want %v (Range %q, If-Range %q)", kind, want, r.Header.Values("Range"), ifRange)
		}
	})
}

// captureRanges returns the Range values of the recorded content requests
// (testdata/content/captures and, when present, ../shared/protocol).
func captureRanges(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, b := range testseed.Files(tb,
		"../../testdata/content/captures/*/request.headers",
		"../../../shared/protocol/captures/wsus-rs/wsus-m0-native/content-headers/*/request.headers",
		"../../../shared/protocol/examples/*.request.headers.txt",
	) {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Range") {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// FuzzConditionals fuzzes If-None-Match, If-Modified-Since and If-Range.
// Invariants: a list field sent as several field lines means what the lines
// joined with commas mean (RFC 9110 section 5.3); "*" and the object's own
// entity-tag always match If-None-Match; If-Range matches only the exact
// strong entity-tag or Last-Modified date.
func FuzzConditionals(f *testing.F) {
	etag := `"5d41402abc4b2a76b9719d911017c592"`
	mod := time.Date(2026, 10, 4, 15, 3, 35, 0, time.UTC)
	f.Add(etag, `W/"x", `+etag, mod.Format(http.TimeFormat))
	f.Add(`*`, ``, `Sun, 04 Oct 2026 15:03:34 GMT`)
	f.Add(`"a"`, `"b"`, `garbage`)
	f.Add(``, ``, mod.Format(http.TimeFormat))
	f.Add(`W/`+etag, ``, `Sunday, 04-Oct-26 15:03:35 GMT`)
	f.Fuzz(func(t *testing.T, line1, line2, date string) {
		for _, s := range []string{line1, line2, date} {
			if strings.ContainsAny(s, "\r\n\x00") {
				return // not a field value a client can send
			}
		}
		info := storage.ObjectInfo{Size: 10, ETag: etag, ModTime: mod}
		req := func(values ...string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/Content/AB/X.exe", nil)
			for _, v := range values {
				r.Header.Add("If-None-Match", v)
			}
			if date != "" {
				r.Header.Set("If-Modified-Since", date)
			}
			return r
		}
		split, joined := notModified(req(line1, line2), info), notModified(req(line1+","+line2), info)
		if split != joined {
			t.Fatalf("If-None-Match %q + %q: %v as two lines, %v joined", line1, line2, split, joined)
		}
		if !notModified(req(line1+", *"), info) || !notModified(req(etag+","+line1), info) {
			t.Fatalf("If-None-Match with * or the entity-tag did not match (%q)", line1)
		}
		if ifRangeMatches(line1, info) {
			v := strings.TrimSpace(line1)
			if t1, err := http.ParseTime(v); v != etag && (err != nil || !t1.Equal(mod)) {
				t.Fatalf("If-Range %q matched neither the entity-tag nor the date", line1)
			}
		}
	})
}
