package content

import (
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"wsus/internal/testseed"
	"wsus/storage"
)

// Fuzzing the Range header parser against a reference reading of RFC 9110
// section 14.1.2 in arbitrary precision. Invariants: every accepted range
// lies within the object (0 <= start, 1 <= length, start+length <= size),
// there are at most MaxRanges of them and together no more bytes than the
// object, and every outcome is the reference's.

// rangeSpec is one byte-range-spec: "first-last" or the suffix "-n".
var rangeSpec = regexp.MustCompile(`^([0-9]*)-([0-9]*)$`)

// referenceRanges is parseRanges written for clarity: exact integers, the
// same tolerances (unit in any case and with white space around it, OWS and
// empty elements in the list) and the same rules for several ranges.
func referenceRanges(v string, size int64) ([]byteRange, rangeKind) {
	unit, set, ok := strings.Cut(v, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, rangeWhole
	}
	var specs []string
	for _, elem := range strings.Split(set, ",") {
		if elem = strings.Trim(elem, " \t"); elem != "" {
			specs = append(specs, elem)
		}
	}
	if len(specs) == 0 || len(specs) > MaxRanges {
		return nil, rangeWhole
	}
	var out []byteRange
	total := new(big.Int)
	for _, spec := range specs {
		r, kind := referenceSpec(spec, size)
		switch kind {
		case rangeWhole:
			return nil, rangeWhole
		case rangePartial:
			out = append(out, r)
			total.Add(total, big.NewInt(r.length))
		}
	}
	switch {
	case len(out) == 0:
		return nil, rangeUnsatisfiable
	case total.Cmp(big.NewInt(size)) > 0:
		return nil, rangeWhole
	}
	return out, rangePartial
}

// referenceSpec reads one byte-range-spec in arbitrary precision.
func referenceSpec(spec string, size int64) (byteRange, rangeKind) {
	m := rangeSpec.FindStringSubmatch(spec)
	if m == nil || m[1] == "" && m[2] == "" {
		return byteRange{}, rangeWhole
	}
	n := big.NewInt(size)
	num := func(s string) *big.Int { x, _ := new(big.Int).SetString(s, 10); return x }
	if m[1] == "" { // the last m[2] bytes
		suffix := num(m[2])
		if suffix.Sign() == 0 || size == 0 {
			return byteRange{}, rangeUnsatisfiable
		}
		if suffix.Cmp(n) > 0 {
			suffix = n
		}
		return byteRange{size - suffix.Int64(), suffix.Int64()}, rangePartial
	}
	first := num(m[1])
	last := new(big.Int).Sub(n, big.NewInt(1)) // open range: to the end
	if m[2] != "" {
		l := num(m[2])
		if l.Cmp(first) < 0 {
			return byteRange{}, rangeWhole // last < first: invalid, ignored
		}
		if l.Cmp(last) < 0 {
			last = l
		}
	}
	if first.Cmp(n) >= 0 {
		return byteRange{}, rangeUnsatisfiable
	}
	return byteRange{first.Int64(), last.Int64() - first.Int64() + 1}, rangePartial
}

func FuzzParseRanges(f *testing.F) {
	for _, v := range []string{
		"bytes=0-99", "bytes=500-", "bytes=-1", "bytes=-5000", "Bytes = 1-2 ,", "bytes=1-2,5-6", "bytes=5-1",
		"bytes=0-99999999999999999999999", "bytes=99999999999999999999-9223372036854775807", "bytes=9223372036854775807-",
		"bytes=-9223372036854775808", "bytes=--1", "bytes=1-2-3", "items=0-1", "bytes 0-1", "bytes=\t3-4\t", "",
		"bytes=0-1,1-2,-1", "bytes=0-,0-", "bytes=2000-,0-0", "bytes=" + strings.Repeat("1-1,", MaxRanges+1),
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
		got, kind := parseRanges(v, size)
		switch kind {
		case rangePartial:
			var total int64
			for _, r := range got {
				if r.start < 0 || r.length < 1 || r.start > size-r.length {
					t.Fatalf("parseRanges(%q, %d) = %v: [%d, +%d) outside the object", v, size, got, r.start, r.length)
				}
				total += r.length
			}
			if len(got) == 0 || len(got) > MaxRanges || total > size {
				t.Fatalf("parseRanges(%q, %d) = %d ranges of %d bytes in all", v, size, len(got), total)
			}
		case rangeWhole, rangeUnsatisfiable:
			if got != nil {
				t.Fatalf("parseRanges(%q, %d) = %v with kind %v", v, size, got, kind)
			}
		default:
			t.Fatalf("parseRanges(%q, %d): kind %v", v, size, kind)
		}
		want, wk := referenceRanges(v, size)
		if !slices.Equal(got, want) || kind != wk {
			t.Fatalf("parseRanges(%q, %d) = %v, %v; the reference gives %v, %v", v, size, got, kind, want, wk)
		}
	})
}

func FuzzRequestedRanges(f *testing.F) {
	etag := `"5d41402abc4b2a76b9719d911017c592"`
	mod := time.Date(2026, 10, 4, 15, 3, 35, 0, time.UTC)
	f.Add("bytes=0-1048575", "", "", int64(3000000))
	f.Add("bytes=0-1", "bytes=2-3", "", int64(10))
	f.Add("bytes=0-1", "", etag, int64(10))
	f.Add("bytes=0-1", "", `W/`+etag, int64(10))
	f.Add("bytes=0-1", "", mod.Format(http.TimeFormat), int64(10))
	f.Add("bytes=0-1", "", mod.Add(time.Second).Format(http.TimeFormat), int64(10))
	f.Add("bytes=5-", "", `"other"`, int64(10))
	f.Add("bytes=0-1,3-4", "", etag, int64(10))
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
		got, kind := requestedRanges(r, info)
		for _, br := range got {
			if br.start < 0 || br.length < 1 || br.start > size-br.length {
				t.Fatalf("range [%d, +%d) outside an object of %d bytes", br.start, br.length, size)
			}
		}
		want := rangeWhole
		if len(r.Header.Values("Range")) == 1 && (ifRange == "" || ifRangeMatches(ifRange, info)) {
			_, want = parseRanges(r.Header.Get("Range"), size)
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
