package xpress

import (
	"bytes"
	"testing"
)

// benchInput is the captured answers, concatenated and repeated to 256 KiB:
// SOAP XML as the server sends it.
func benchInput(b *testing.B) []byte {
	all := bytes.Join(captureBodies(b), nil)
	var in []byte
	for len(in) < 256<<10 {
		in = append(in, all...)
	}
	return in[:256<<10]
}

func BenchmarkFrame(b *testing.B) {
	in := benchInput(b)
	out := Frame(nil, in, BlockSize)
	b.ReportMetric(float64(len(out))/float64(len(in)), "ratio")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		out = Frame(out[:0], in, BlockSize)
	}
}

func BenchmarkFrameMaxBlock(b *testing.B) {
	in := benchInput(b)
	out := Frame(nil, in, MaxBlockSize)
	b.ReportMetric(float64(len(out))/float64(len(in)), "ratio")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		out = Frame(out[:0], in, MaxBlockSize)
	}
}

func BenchmarkUnframe(b *testing.B) {
	in := benchInput(b)
	f := Frame(nil, in, BlockSize)
	out := make([]byte, 0, len(in))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		var err error
		if out, err = Unframe(out[:0], f, len(in)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameSmall frames a 1,008-byte answer, the size of a delta
// SyncUpdates answer: the fixed costs of a call.
func BenchmarkFrameSmall(b *testing.B) {
	in := benchInput(b)[:1008]
	out := Frame(nil, in, BlockSize)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		out = Frame(out[:0], in, BlockSize)
	}
}
