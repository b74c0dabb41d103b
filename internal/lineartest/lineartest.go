// Package lineartest checks that work grows linearly with its input, the
// guard every parser of untrusted input needs against super-linear inputs.
// It times the work at two or more sizes in the same run and compares the
// growth of the time with the growth of the input; it asserts no absolute
// timing, so a slow or busy machine passes too.
package lineartest

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// attempts is how often a step over the bound is measured before it fails:
// a busy machine slows one measurement, not three in a row.
const attempts = 3

// Fastest times run: the shortest of at least 5 runs, and of as many as
// fit in 50 ms (at most 50). The minimum is what the work costs when
// nothing else competes for the CPU.
func Fastest(run func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	var total time.Duration
	for i := 0; i < 50 && (i < 5 || total < 50*time.Millisecond); i++ {
		start := time.Now()
		run()
		d := time.Since(start)
		total += d
		best = min(best, d)
	}
	return max(best, time.Microsecond)
}

// Bound is the largest accepted time ratio between two inputs whose sizes
// are growth times apart: growth^1.5, halfway (on a log scale) between
// linear work (growth) and quadratic work (growth²). Sizes 16 times apart
// give 64, between 16 and 256: room for caches and garbage collection to
// slow large inputs down 4 times and still catch quadratic work with the
// same margin. Sizes only 4 times apart give 8, between 4 and 16: use them
// only where request limits leave no wider range.
func Bound(growth float64) float64 { return math.Pow(growth, 1.5) }

// Check fails t when the time of run(build(n)) grows more than Bound from
// one of sizes to the next. Check skips under -short.
func Check[T any](t testing.TB, sizes []int, build func(n int) T, run func(T)) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the large inputs are skipped")
	}
	for i := 1; i < len(sizes); i++ {
		small, large := build(sizes[i-1]), build(sizes[i])
		bound := Bound(float64(sizes[i]) / float64(sizes[i-1]))
		var msg string
		for range attempts {
			d0 := Fastest(func() { run(small) })
			d1 := Fastest(func() { run(large) })
			ratio := float64(d1) / float64(d0)
			if ratio <= bound {
				msg = ""
				break
			}
			msg = fmt.Sprintf("size %d → %d: %v → %v, %.1f times longer (bound %.1f): not linear",
				sizes[i-1], sizes[i], d0, d1, ratio, bound)
		}
		if msg != "" {
			t.Fatal(msg)
		}
	}
}
