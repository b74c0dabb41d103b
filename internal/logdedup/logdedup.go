// Package logdedup is a slog.Handler that keeps a flood of identical
// warnings and errors from drowning the log: a store that is down makes
// every request log the same error, hundreds of times a second.
//
// What callers may rely on:
//
//   - Records below slog.LevelWarn always pass through unchanged.
//   - Two records are identical when their level, message and the text of
//     their key attributes (by default only "err") are equal; other
//     attributes (durations, keys, paths) do not count.
//   - The first of identical records in an interval (default one minute)
//     passes through unchanged; the following ones within the interval are
//     counted and dropped.
//   - No record goes uncounted: the first identical record after the
//     interval passes through carrying the count, its message followed by
//     " (repeated N times in the last D)" and the attribute repeated=N,
//     where N is the number of identical records not written since the
//     previous line and D the time since that line. Should no identical
//     record come, the last one dropped is written instead (with N the
//     others dropped before it) once the interval is over, by the next
//     call of the handler whatever its level, or by Flush. So the records
//     logged are always the lines written plus the sum of their repeated
//     counts. The handler starts no goroutine: call Flush when the program
//     ends.
//   - Memory is bounded: at most MaxKeys distinct records are tracked; when
//     that many are, further distinct records pass through uncounted.
package logdedup

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// MinLevel is the lowest level that is deduplicated.
const MinLevel = slog.LevelWarn

// Defaults of Options.
const (
	DefaultInterval = time.Minute
	DefaultMaxKeys  = 1024
)

// DefaultKeyAttrs are the attributes whose text makes records distinct
// when Options.KeyAttrs is nil.
var DefaultKeyAttrs = []string{"err"}

// sweepEvery bounds how often the handler looks for intervals that ended.
const sweepEvery = time.Second

// Options tune a Handler; the zero value is the default.
type Options struct {
	// Interval is how long identical records are counted after the one
	// that passed; zero means DefaultInterval.
	Interval time.Duration
	// MaxKeys bounds the distinct records tracked at once; zero means
	// DefaultMaxKeys.
	MaxKeys int
	// KeyAttrs names the attributes (top-level of the record, or added
	// with WithAttrs outside any group) whose text is part of what makes
	// two records identical; nil means DefaultKeyAttrs.
	KeyAttrs []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler is the deduplicating slog.Handler. Handlers derived from it with
// WithAttrs and WithGroup share its counts.
type Handler struct {
	inner slog.Handler
	st    *state
	// pre holds the key attributes added with WithAttrs, by name.
	pre map[string]string
	// grouped is set once WithGroup was called: attributes added after
	// that are inside a group and are not key attributes.
	grouped bool
}

var _ slog.Handler = (*Handler)(nil)

// state is what a Handler and the handlers derived from it share.
type state struct {
	interval time.Duration
	maxKeys  int
	keyAttrs []string
	now      func() time.Time

	mu        sync.Mutex
	entries   map[string]*entry
	nextSweep time.Time
}

// entry counts the identical records of one interval.
type entry struct {
	start      time.Time // when the record that passed was written
	suppressed int
	last       slog.Record  // the last suppressed record
	lastAt     time.Time    // when it came
	lastTo     slog.Handler // the inner handler it was meant for
}

// New wraps inner.
func New(inner slog.Handler, opts Options) *Handler {
	st := &state{
		interval: opts.Interval,
		maxKeys:  opts.MaxKeys,
		keyAttrs: opts.KeyAttrs,
		now:      opts.Now,
		entries:  map[string]*entry{},
	}
	if st.interval <= 0 {
		st.interval = DefaultInterval
	}
	if st.maxKeys <= 0 {
		st.maxKeys = DefaultMaxKeys
	}
	if st.keyAttrs == nil {
		st.keyAttrs = DefaultKeyAttrs
	}
	if st.now == nil {
		st.now = time.Now
	}
	return &Handler{inner: inner, st: st}
}

// Enabled reports whether the wrapped handler handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// WithAttrs returns a handler adding attrs, sharing h's counts.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	d := &Handler{inner: h.inner.WithAttrs(attrs), st: h.st, pre: h.pre, grouped: h.grouped}
	if h.grouped {
		return d
	}
	cloned := false
	for _, a := range attrs {
		if !slices.Contains(h.st.keyAttrs, a.Key) {
			continue
		}
		if !cloned {
			d.pre = maps.Clone(h.pre)
			if d.pre == nil {
				d.pre = map[string]string{}
			}
			cloned = true
		}
		d.pre[a.Key] = a.Value.Resolve().String()
	}
	return d
}

// WithGroup returns a handler opening group name, sharing h's counts.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{inner: h.inner.WithGroup(name), st: h.st, pre: h.pre, grouped: true}
}

// Handle writes r, or counts it when an identical record was written less
// than the interval ago.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	st := h.st
	now := st.now()
	var out []pending
	pass := true
	if r.Level >= MinLevel {
		key := h.key(r)
		st.mu.Lock()
		e, ok := st.entries[key]
		switch {
		case ok && now.Sub(e.start) < st.interval:
			e.suppressed++
			e.last, e.lastAt, e.lastTo = r.Clone(), now, h.inner
			pass = false
		case ok:
			r = withCount(r, e.suppressed, now.Sub(e.start))
			*e = entry{start: now}
		default:
			if len(st.entries) >= st.maxKeys {
				out = st.sweepLocked(now, out)
			}
			if len(st.entries) < st.maxKeys {
				st.entries[key] = &entry{start: now}
			}
		}
		out = st.maybeSweepLocked(now, out)
		st.mu.Unlock()
	} else {
		st.mu.Lock()
		out = st.maybeSweepLocked(now, out)
		st.mu.Unlock()
	}
	err := emit(ctx, out)
	if pass {
		if herr := h.inner.Handle(ctx, r); herr != nil {
			return herr
		}
	}
	return err
}

// Flush writes the last dropped record of every interval, over or not,
// with its count. Call it when the program ends.
func (h *Handler) Flush(ctx context.Context) error {
	st := h.st
	st.mu.Lock()
	var out []pending
	for key, e := range st.entries {
		if e.suppressed > 0 {
			out = append(out, e.dropped())
		}
		delete(st.entries, key)
	}
	st.mu.Unlock()
	return emit(ctx, out)
}

// pending is a record to write once the lock is released.
type pending struct {
	to slog.Handler
	r  slog.Record
}

func emit(ctx context.Context, out []pending) error {
	var first error
	for _, p := range out {
		if err := p.to.Handle(ctx, p.r); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// maybeSweepLocked sweeps at most every sweepEvery.
func (st *state) maybeSweepLocked(now time.Time, out []pending) []pending {
	if now.Before(st.nextSweep) {
		return out
	}
	return st.sweepLocked(now, out)
}

// sweepLocked forgets the entries whose interval is over, adding the last
// record dropped (with its count) to out for those that dropped some.
func (st *state) sweepLocked(now time.Time, out []pending) []pending {
	st.nextSweep = now.Add(sweepEvery)
	for key, e := range st.entries {
		if now.Sub(e.start) < st.interval {
			continue
		}
		if e.suppressed > 0 {
			out = append(out, e.dropped())
		}
		delete(st.entries, key)
	}
	return out
}

// dropped is the last record e dropped, carrying the count of the others.
func (e *entry) dropped() pending {
	return pending{to: e.lastTo, r: withCount(e.last, e.suppressed-1, e.lastAt.Sub(e.start))}
}

// withCount returns r saying that n identical records were dropped over
// the last d; r itself when n is 0.
func withCount(r slog.Record, n int, d time.Duration) slog.Record {
	if n == 0 {
		return r
	}
	times := "times"
	if n == 1 {
		times = "time"
	}
	c := slog.NewRecord(r.Time, r.Level, fmt.Sprintf("%s (repeated %d %s in the last %v)", r.Message, n, times, d.Round(time.Second)), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		c.AddAttrs(a)
		return true
	})
	c.AddAttrs(slog.Int("repeated", n))
	return c
}

// key is what identical records share: level, message and key attributes.
func (h *Handler) key(r slog.Record) string {
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteByte(0)
	b.WriteString(r.Message)
	vals := maps.Clone(h.pre)
	if vals == nil {
		vals = make(map[string]string, len(h.st.keyAttrs))
	}
	r.Attrs(func(a slog.Attr) bool {
		if slices.Contains(h.st.keyAttrs, a.Key) {
			vals[a.Key] = a.Value.Resolve().String()
		}
		return true
	})
	for _, k := range h.st.keyAttrs {
		b.WriteByte(0)
		if v, ok := vals[k]; ok {
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}
