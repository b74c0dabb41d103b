package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseIfMatch(t *testing.T) {
	const cur = `"abc"`
	for _, tc := range []struct {
		headers     []string
		conditional bool
		match       bool
	}{
		{nil, false, true},
		{[]string{"*"}, false, true},
		{[]string{`"x", *`}, false, true},
		{[]string{cur}, true, true},
		{[]string{`"x",` + cur}, true, true},
		{[]string{`"x"`, ` ` + cur + ` `}, true, true},
		{[]string{`"x"`}, true, false},
		{[]string{`W/` + cur}, true, false},
		{[]string{`abc`}, true, false},
		{[]string{` , `}, false, true},
	} {
		r := httptest.NewRequest(http.MethodPut, "/", nil)
		for _, h := range tc.headers {
			r.Header.Add("If-Match", h)
		}
		m := parseIfMatch(r)
		if m.conditional != tc.conditional || m.matches(cur) != tc.match {
			t.Errorf("If-Match %q: conditional %v, matches %v; want %v, %v", tc.headers, m.conditional, m.matches(cur), tc.conditional, tc.match)
		}
	}
}

func TestETagOf(t *testing.T) {
	a, b := etagOf(Group{Name: "a"}), etagOf(Group{Name: "b"})
	if a == b || a != etagOf(Group{Name: "a"}) || !strings.HasPrefix(a, `"`) || len(a) != 34 {
		t.Errorf("etagOf: %s, %s", a, b)
	}
}

// FuzzIfMatch: whatever If-Match says, the current tag listed verbatim
// matches, a header without it and without * does not, and parsing never
// panics.
func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{"", "*", `"a"`, `W/"a", "b"`, `"a",,"b"`, "\x00,*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		const cur = `"0123456789abcdef0123456789abcdef"`
		r := httptest.NewRequest(http.MethodPut, "/", nil)
		r.Header["If-Match"] = []string{header}
		m := parseIfMatch(r)
		listed, star := false, false
		for _, tag := range strings.Split(header, ",") {
			switch strings.TrimSpace(tag) {
			case cur:
				listed = true
			case "*":
				star = true
			}
		}
		if got := m.matches(cur); got != (listed || star || !m.conditional) {
			t.Errorf("If-Match %q: matches %v (conditional %v)", header, got, m.conditional)
		}
		if star && m.conditional {
			t.Errorf("If-Match %q lists * but is conditional", header)
		}
	})
}
