package lineartest

import (
	"strings"
	"testing"
)

// quadratic does work that grows with the square of n.
func quadratic(s string) {
	n := 0
	for i := range len(s) {
		n += strings.Count(s[i:], "a")
	}
	_ = n
}

// fakeT records a failure instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Fatal(args ...any)     { f.failed = true }
func (f *fakeT) Skip(args ...any)      {}
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }

func TestBound(t *testing.T) {
	for _, tc := range []struct{ growth, want float64 }{{4, 8}, {16, 64}} {
		if got := Bound(tc.growth); got != tc.want {
			t.Errorf("Bound(%v) = %v, want %v", tc.growth, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	build := func(n int) string { return strings.Repeat("a", n) }
	Check(t, []int{16 << 10, 256 << 10}, build, func(s string) { _ = strings.Count(s, "a") })
	f := &fakeT{TB: t}
	Check(f, []int{1 << 10, 16 << 10}, build, quadratic)
	if !f.failed {
		t.Fatal("Check passed quadratic work")
	}
}
