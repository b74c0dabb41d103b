// Package testseed reads recorded files (captures, metadata samples) for
// tests and fuzz targets to use as seeds.
package testseed

import (
	"os"
	"path/filepath"
	"testing"
)

// Files returns the contents of every file matching the glob patterns, in
// pattern order, then name order. A pattern matching nothing adds nothing:
// callers check that they got what they need. A malformed pattern or an
// unreadable file fails tb.
func Files(tb testing.TB, patterns ...string) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, pattern := range patterns {
		names, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatalf("testseed: %v", err)
		}
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				tb.Fatalf("testseed: %v", err)
			}
			out = append(out, b)
		}
	}
	return out
}
