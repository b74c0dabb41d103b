package soap

import (
	"context"
	"sync"
	"time"
)

// Defaults of an Admission.
const (
	// DefaultMaxInflight is how many requests may be parsed and answered at
	// once: enough to keep two cores busy while others wait on the store.
	DefaultMaxInflight = 64
	// DefaultMaxBufferedBytes bounds the estimated memory of the requests in
	// flight (bodies plus their parsed trees): a little over ten 8 MiB
	// SyncUpdates bodies, or thousands of ordinary requests.
	DefaultMaxBufferedBytes = 128 << 20
	// DefaultMaxWait is how long a request waits for a free slot before it
	// is answered ServerBusy: long enough to ride out a burst, short enough
	// that nothing queues without limit.
	DefaultMaxWait = 2 * time.Second
)

// Admission bounds the work the SOAP services hold at once, across every
// Service that shares it: a number of requests being parsed and answered
// (a slot each, waited for at most MaxWait) and an estimate of the memory
// their bodies and trees hold (reserved before it is allocated, never
// waited for). A request that cannot be admitted is answered at once with
// the ServerBusy fault, which Windows clients retry soon (MS-WUSP.md section
// 3.3), instead of queueing without limit. The zero value is not usable; use
// NewAdmission. An Admission is safe for concurrent use.
type Admission struct {
	slots   chan struct{}
	maxWait time.Duration

	mu     sync.Mutex
	budget int64
	used   int64
}

// NewAdmission returns an Admission with maxInflight slots, maxBytes of
// memory and waits of at most maxWait; zero values mean the defaults.
func NewAdmission(maxInflight int, maxBytes int64, maxWait time.Duration) *Admission {
	if maxInflight <= 0 {
		maxInflight = DefaultMaxInflight
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBufferedBytes
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	return &Admission{slots: make(chan struct{}, maxInflight), maxWait: maxWait, budget: maxBytes}
}

// enter takes a slot, waiting at most the Admission's maxWait (less if ctx
// ends first); it reports whether it got one. Each successful enter needs
// one leave.
func (a *Admission) enter(ctx context.Context) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(a.maxWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// leave gives back a slot taken by enter.
func (a *Admission) leave() { <-a.slots }

// reserve takes n bytes of the memory budget if they are free, without
// waiting; it reports whether it did. Each successful reserve needs a
// release of the same n.
func (a *Admission) reserve(n int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n < 0 || a.used+n > a.budget {
		return false
	}
	a.used += n
	return true
}

// release gives back n bytes taken by reserve.
func (a *Admission) release(n int64) {
	a.mu.Lock()
	a.used -= n
	a.mu.Unlock()
}

// Reserved returns the bytes reserved now (for tests and metrics).
func (a *Admission) Reserved() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used
}

// Inflight returns the request slots taken now: requests being parsed or
// answered (for metrics).
func (a *Admission) Inflight() int { return len(a.slots) }

// Capacity returns how many request slots there are (MaxInflight).
func (a *Admission) Capacity() int { return cap(a.slots) }

// Budget returns the bytes of memory requests may reserve at once
// (MaxBufferedBytes).
func (a *Admission) Budget() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.budget
}
