package admin

import (
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Defaults of the failed-authentication limiter (Options).
const (
	// DefaultFailureLimit failed authentications from one source within
	// DefaultFailureWindow get it blocked for DefaultBlockFor.
	DefaultFailureLimit  = 10
	DefaultFailureWindow = time.Minute
	DefaultBlockFor      = 5 * time.Minute
	// DefaultMaxSources bounds the sources tracked at once.
	DefaultMaxSources = 4096
)

// authLimiter counts failed authentications per source and blocks a source
// that fails too often.
//
// A source is the client's IP address as the TCP connection shows it
// (http.Request.RemoteAddr; X-Forwarded-For is not trusted, anyone can
// send it), an IPv6 address by its /64, the block one host usually has.
// Counting is a fixed window: the first failure opens a window of
// FailureWindow, and the FailureLimit-th failure within it blocks the
// source for BlockFor; every request from a blocked source, with the right
// token or not, is refused, so that blocking tells a guesser nothing.
// A successful authentication forgets the source's failures.
//
// The state is in memory, per process: each replica counts on its own, so
// an attacker spread by a load balancer over n replicas gets n times the
// limit. That is acceptable for its purpose, which is keeping guessing
// slow and the log quiet, not an exact quota (the token is 192 random
// bits). Memory is bounded: at most MaxSources sources are tracked, the
// least recently seen forgotten first.
type authLimiter struct {
	limit  int
	window time.Duration
	block  time.Duration
	now    func() time.Time

	mu      sync.Mutex
	sources *simplelru.LRU[netip.Prefix, *sourceState]
}

// sourceState is what the limiter knows about one source.
type sourceState struct {
	windowStart  time.Time
	failures     int
	blockedUntil time.Time
}

func newAuthLimiter(opts Options) *authLimiter {
	l := &authLimiter{limit: opts.FailureLimit, window: opts.FailureWindow, block: opts.BlockFor, now: opts.Now}
	if l.limit <= 0 {
		l.limit = DefaultFailureLimit
	}
	if l.window <= 0 {
		l.window = DefaultFailureWindow
	}
	if l.block <= 0 {
		l.block = DefaultBlockFor
	}
	if l.now == nil {
		l.now = time.Now
	}
	max := opts.MaxSources
	if max <= 0 {
		max = DefaultMaxSources
	}
	l.sources, _ = simplelru.NewLRU[netip.Prefix, *sourceState](max, nil) // fails only for size <= 0
	return l
}

// sourceOf returns the source a request's remote address belongs to; the
// zero Prefix when it is not an IP address and port.
func sourceOf(remoteAddr string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	addr := ap.Addr().Unmap().WithZone("")
	bits := addr.BitLen()
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

// blocked reports whether src is blocked, and for how much longer.
func (l *authLimiter) blocked(src netip.Prefix) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sources.Peek(src)
	if !ok {
		return 0, false
	}
	left := s.blockedUntil.Sub(l.now())
	return left, left > 0
}

// failure records a failed authentication from src; it reports whether
// it is the first of its window (worth logging) and whether it blocked
// the source.
func (l *authLimiter) failure(src netip.Prefix) (first, blocked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s, ok := l.sources.Get(src)
	if !ok {
		s = &sourceState{}
		l.sources.Add(src, s)
	}
	if s.failures == 0 || now.Sub(s.windowStart) >= l.window {
		s.windowStart, s.failures = now, 0
	}
	s.failures++
	first = s.failures == 1
	if s.failures >= l.limit {
		s.blockedUntil = now.Add(l.block)
		s.failures = 0
		return first, true
	}
	return first, false
}

// success forgets src's failures (a blocked source never gets this far).
func (l *authLimiter) success(src netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sources.Remove(src)
}
