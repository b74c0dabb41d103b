package soap

import (
	"bytes"
	"testing"

	"wsus/internal/lineartest"
)

// The scanners that run over request bodies before any limit on their shape
// applies must take time linear in the body. Each case builds an adversarial
// body of n bytes and times the scan at 64 KiB and 1 MiB in the same run
// (see lineartest). No absolute timing is asserted, so a slow or busy
// machine passes too.

// linearSizes are the body sizes compared: 16 times apart, the smaller
// large enough not to fit in the CPU caches (which would make it faster per
// byte than the larger).
var linearSizes = []int{64 << 10, 1 << 20}

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
		t.Run(tt.name, func(t *testing.T) { lineartest.Check(t, linearSizes, tt.build, tt.run) })
	}
}
