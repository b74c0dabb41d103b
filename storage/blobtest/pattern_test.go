package blobtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"io"
	"testing"
)

func TestPattern(t *testing.T) {
	p := Pattern{Seed: 42, Size: 1001}
	whole, err := io.ReadAll(p.Reader())
	if err != nil || len(whole) != 1001 {
		t.Fatalf("ReadAll: %d bytes, %v", len(whole), err)
	}
	for _, tc := range []struct{ off, n int64 }{{0, 8}, {3, 5}, {3, 20}, {8, 16}, {999, 2}, {1000, 1}, {7, 994}} {
		b := make([]byte, tc.n)
		n, err := p.ReadAt(b, tc.off)
		if n != int(tc.n) || (err != nil && err != io.EOF) || !bytes.Equal(b, whole[tc.off:tc.off+tc.n]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v; bytes differ from the sequential read", tc.off, tc.n, n, err)
		}
	}
	if n, err := p.ReadAt(make([]byte, 10), 995); n != 6 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v; want 6, EOF", n, err)
	}
	if n, err := p.ReadAt(make([]byte, 1), 1001); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v; want 0, EOF", n, err)
	}
	if got := p.Bytes(10, 5); !bytes.Equal(got, whole[10:15]) {
		t.Errorf("Bytes(10, 5) = %x", got)
	}
	s1, s256 := sha1.Sum(whole), sha256.Sum256(whole)
	if d := p.Digests(); !bytes.Equal(d.SHA1, s1[:]) || !bytes.Equal(d.SHA256, s256[:]) {
		t.Errorf("Digests differ from the hashes of the bytes")
	}
	if other, _ := io.ReadAll(Pattern{Seed: 43, Size: 1001}.Reader()); bytes.Equal(other, whole) {
		t.Error("two seeds give the same bytes")
	}
	if bytes.Count(whole, whole[:8]) != 1 {
		t.Error("the pattern repeats")
	}
}

// BenchmarkPattern: how fast objects are generated (it bounds how long the
// 600 MB cases take).
func BenchmarkPattern(b *testing.B) {
	buf := make([]byte, 1<<20)
	p := Pattern{Seed: 1, Size: 1 << 40}
	b.SetBytes(int64(len(buf)))
	off := int64(0)
	for b.Loop() {
		p.ReadAt(buf, off)
		off += int64(len(buf))
	}
}
