package admin

import (
	"net/netip"
	"testing"
	"time"
)

func TestSourceOf(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:50123":                   "192.0.2.7/32",
		"[::ffff:192.0.2.7]:50123":          "192.0.2.7/32",
		"[2001:db8:1:2:a:b:c:d]:443":        "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443":   "2001:db8:1:2::/64",
		"[2001:db8:1:3:a:b:c:d]:443":        "2001:db8:1:3::/64",
		"not an address":                    "invalid Prefix",
		"@":                                 "invalid Prefix",
		"[fe80::1]:1":                       "fe80::/64",
		"127.0.0.1:1":                       "127.0.0.1/32",
		"[::1]:8530":                        "::/64",
		"10.0.0.1":                          "invalid Prefix",
		"[2001:db8:1:2:a:b:c:d]:notaport":   "invalid Prefix",
		"[2001:db8:1:2:a:b:c:d]:65535":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:a:b:c:d]:0":          "2001:db8:1:2::/64",
		"192.0.2.255:0":                     "192.0.2.255/32",
		"[::ffff:10.1.2.3]:8":               "10.1.2.3/32",
		"[2001:db8:ffff:ffff:1:1:1:1]:8530": "2001:db8:ffff:ffff::/64",
	} {
		if got := sourceOf(addr).String(); got != want {
			t.Errorf("sourceOf(%q) = %s, want %s", addr, got, want)
		}
	}
}

// At most MaxSources sources are tracked: the least recently seen is
// forgotten, blocked or not.
func TestLimiterMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	l := newAuthLimiter(Options{FailureLimit: 2, MaxSources: 2, Now: func() time.Time { return now }})
	a, b, c := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32"), netip.MustParsePrefix("192.0.2.3/32")
	for _, src := range []netip.Prefix{a, a, b, b} {
		l.failure(src)
	}
	if _, blocked := l.blocked(a); !blocked {
		t.Fatal("a not blocked after 2 failures")
	}
	for i := range 1000 {
		var p [4]byte
		p[0], p[1], p[2], p[3] = 10, byte(i>>16), byte(i>>8), byte(i)
		l.failure(netip.PrefixFrom(netip.AddrFrom4(p), 32))
	}
	if n := l.sources.Len(); n != 2 {
		t.Errorf("%d sources tracked, want at most 2", n)
	}
	if _, blocked := l.blocked(a); blocked {
		t.Error("a still tracked after 1000 other sources")
	}
	if first, blocked := l.failure(c); !first || blocked {
		t.Errorf("a new source's first failure: first %v blocked %v, want true false", first, blocked)
	}
}
