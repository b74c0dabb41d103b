package soap

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// The scanners that run over request bodies before any limit on their shape
// applies must take time linear in the body. Each case builds an adversarial
// body of n bytes and times the scan at n and at 4n (up to 4 MiB) in the same
// run: a linear scan takes about 4 times as long, a quadratic one 16 times.
// No absolute timing is asserted, so a slow or busy machine passes too.

// linearSizes are the body sizes compared, each 4 times the one before: a
// quadratic scan fails at the first step, before the large sizes cost it
// seconds.
var linearSizes = []int{64 << 10, 256 << 10, 1 << 20, 4 << 20}

// maxGrowth is the largest accepted time ratio between two sizes 4 times
// apart: 4 when linear, 16 when quadratic, and 8 between them absorbs the
// noise of a shared machine. Where a plain linear pass over the same bytes
// (copying them, counting '<') itself grows more than 4 times, as it does
// once a body no longer fits in the CPU caches, the bound grows in
// proportion; and a step over the bound is measured once more before it
// fails.
const maxGrowth = 8.0

// minDuration times run on b: the fastest of at least 5 runs, and of as
// many as fit in 20 ms (at most 50). The minimum is what the scan costs
// when nothing else competes for the CPU.
func minDuration(b []byte, run func([]byte)) time.Duration {
	best := time.Duration(1<<63 - 1)
	var total time.Duration
	for i := 0; i < 50 && (i < 5 || total < 20*time.Millisecond); i++ {
		start := time.Now()
		run(b)
		d := time.Since(start)
		total += d
		best = min(best, d)
	}
	return max(best, time.Microsecond)
}

// linearPass is the reference linear work: read every byte, write a copy.
func linearPass(b []byte) {
	c := bytes.Clone(b)
	_ = bytes.Count(c, []byte{'<'})
}

// assertLinear fails when run's time on build(n) grows more than maxGrowth
// times (see there) from one of linearSizes to the next.
func assertLinear(t *testing.T, build func(n int) []byte, run func([]byte)) {
	t.Helper()
	assertLinearOver(t, linearSizes, build, run)
}

// assertLinearOver is assertLinear over sizes, each 4 times the one before.
func assertLinearOver(t *testing.T, sizes []int, build func(n int) []byte, run func([]byte)) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the large bodies are skipped")
	}
	for i := 1; i < len(sizes); i++ {
		small, large := build(sizes[i-1]), build(sizes[i])
		var msg string
		for attempt := 0; attempt < 2; attempt++ {
			d0, ref0 := minDuration(small, run), minDuration(small, linearPass)
			d1, ref1 := minDuration(large, run), minDuration(large, linearPass)
			bound := maxGrowth * max(1, float64(ref1)/float64(ref0)/4)
			ratio := float64(d1) / float64(d0)
			if ratio <= bound {
				msg = ""
				break
			}
			msg = fmt.Sprintf("%d → %d bytes: %v → %v, %.1f times longer for 4 times the input (bound %.1f; a copy took %v → %v): not linear",
				len(small), len(large), d0, d1, ratio, bound, ref0, ref1)
		}
		if msg != "" {
			t.Fatal(msg)
		}
	}
}

// repeated returns an n-byte body: head, then unit repeated, then tail.
func repeated(head, unit, tail string) func(n int) []byte {
	return func(n int) []byte {
		count := max(0, (n-len(head)-len(tail))/len(unit))
		var b bytes.Buffer
		b.Grow(n)
		b.WriteString(head)
		for range count {
			b.WriteString(unit)
		}
		b.WriteString(tail)
		return b.Bytes()
	}
}

const (
	linearHead = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SyncUpdates xmlns="urn:x"><parameters>`
	linearTail = `</parameters></SyncUpdates></s:Body></s:Envelope>`
)

func TestScannersAreLinear(t *testing.T) {
	extract := func(b []byte) { ExtractIntArrays(b) }
	cutSpec := func(b []byte) { CutElementContent(b, "SystemSpec") }
	tests := []struct {
		name  string
		build func(n int) []byte
		run   func([]byte)
	}{
		// A start tag that never ends: each candidate once looked for its '>'
		// to the end of the body.
		{"ExtractIntArrays: open start tags", repeated(linearHead, "<CachedDriverIDs ", linearTail), extract},
		{"ExtractIntArrays: open start tags, no tail", repeated("", "<CachedDriverIDs ", ""), extract},
		{"ExtractIntArrays: open prefixed start tags", repeated(linearHead, "<p:OtherCachedUpdateIDs\t", linearTail), extract},
		{"ExtractIntArrays: names without '<'", repeated(linearHead, "InstalledNonLeafUpdateIDs ", linearTail), extract},
		{"ExtractIntArrays: long prefixes", repeated(linearHead, "<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:CachedDriverIDs", linearTail), extract},
		// Start tags whose element never closes.
		{"ExtractIntArrays: unclosed arrays", repeated(linearHead, "<OtherCachedUpdateIDs>", linearTail), extract},
		{"ExtractIntArrays: unclosed items", repeated(linearHead+"<OtherCachedUpdateIDs>", "<int>1</int", linearTail), extract},
		{"ExtractIntArrays: many items", repeated(linearHead+"<OtherCachedUpdateIDs>", "<int>123456</int>", "</OtherCachedUpdateIDs>"+linearTail), extract},
		{"ExtractIntArrays: items without tag ends", repeated(linearHead+"<OtherCachedUpdateIDs>", "<int", "</OtherCachedUpdateIDs>"+linearTail), extract},
		{"CutElementContent: open start tags", repeated(linearHead, "<SystemSpec ", linearTail), cutSpec},
		{"CutElementContent: unclosed elements", repeated(linearHead, "<SystemSpec>", linearTail), cutSpec},
		{"CutElementContent: partial end tags", repeated(linearHead+"<SystemSpec>", "</SystemSpe", "</SystemSpec>"+linearTail), cutSpec},
		{"CutElementContent: many devices", repeated(linearHead+"<SystemSpec>", "<Device><HardwareIDs><string>PCI\\VEN_8086</string></HardwareIDs></Device>", "</SystemSpec>"+linearTail), cutSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assertLinear(t, tt.build, tt.run) })
	}
}
