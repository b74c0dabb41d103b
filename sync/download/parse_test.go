package download

import (
	"fmt"
	"testing"
	"time"
)

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in                string
		first, last, size int64
		ok                bool
	}{
		{"bytes 100-199/1000", 100, 199, 1000, true},
		{"bytes 0-0/1", 0, 0, 1, true},
		{"bytes 5-9/*", 5, 9, -1, true},
		{"bytes 5-10/10", 0, 0, 0, false}, // last beyond the end
		{"bytes 9-5/10", 0, 0, 0, false},
		{"bytes */10", 0, 0, 0, false},
		{"items 0-1/2", 0, 0, 0, false},
		{"bytes -1-5/10", 0, 0, 0, false},
		{"bytes 1-5", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	} {
		first, last, size, ok := parseContentRange(tc.in)
		if first != tc.first || last != tc.last || size != tc.size || ok != tc.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %d, %v; want %d, %d, %d, %v",
				tc.in, first, last, size, ok, tc.first, tc.last, tc.size, tc.ok)
		}
	}
}

// FuzzParseContentRange: an accepted Content-Range is a non-empty range
// inside the object, and formats back to what was parsed.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 100-199/1000", "bytes 5-9/*", "bytes 0-0/1", "bytes +1-2/3", "bytes 01-2/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, last, size, ok := parseContentRange(s)
		if !ok {
			return
		}
		if first < 0 || last < first || size < -1 || (size >= 0 && last >= size) {
			t.Fatalf("%q: accepted %d-%d/%d", s, first, last, size)
		}
		sz := "*"
		if size >= 0 {
			sz = fmt.Sprint(size)
		}
		again := fmt.Sprintf("bytes %d-%d/%s", first, last, sz)
		if f2, l2, s2, ok2 := parseContentRange(again); !ok2 || f2 != first || l2 != last || s2 != size {
			t.Fatalf("%q parsed as %d-%d/%d, but %q does not parse back", s, first, last, size, again)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-3": 0, "soon": 0, "Mon, 01 Jan 2001 00:00:00 GMT": 0} {
		if got := parseRetryAfter(in); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC1123)
	future = future[:len(future)-3] + "GMT"
	if got := parseRetryAfter(future); got < 59*time.Minute || got > time.Hour {
		t.Errorf("parseRetryAfter(%q) = %v, want about an hour", future, got)
	}
}
