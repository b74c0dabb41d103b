package xpress

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// FuzzDecompress: any input and size either decodes to exactly size bytes
// or fails with ErrCorrupt, without panicking, and never leaves more than
// size bytes of output; dst's bytes are kept.
func FuzzDecompress(f *testing.F) {
	for _, ex := range xcaExamples {
		b, _ := hex.DecodeString(ex.compressed)
		f.Add(b, len(ex.plain))
	}
	for _, b := range captureBodies(f)[:3] {
		f.Add(Compress(nil, b), len(b))
	}
	f.Add([]byte("\xff\xff\xff\x7f\x61\x07\x00\x0f\xff\x00\x00\xa0\x86\x01\x00"), 100004)
	f.Fuzz(func(t *testing.T, src []byte, size int) {
		if size < 0 || size > 1<<20 {
			return
		}
		out, err := Decompress([]byte("dst"), src, size)
		if string(out[:3]) != "dst" {
			t.Fatal("dst clobbered")
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			if len(out)-3 > size {
				t.Fatalf("%d bytes out for size %d", len(out)-3, size)
			}
			return
		}
		if len(out)-3 != size {
			t.Fatalf("%d bytes out for size %d", len(out)-3, size)
		}
	})
}

// FuzzUnframe: a hostile body decodes within the limit or fails with
// ErrCorrupt or ErrTooLarge; a body that decodes frames back to a body
// decoding to the same bytes.
func FuzzUnframe(f *testing.F) {
	for _, b := range captureBodies(f) {
		f.Add(Frame(nil, b, BlockSize), 1<<16)
	}
	f.Add([]byte("\x03\x00\x00\x00\x03\x00\x00\x00abc"), 3)
	f.Fuzz(func(t *testing.T, body []byte, limit int) {
		if limit < 0 || limit > 1<<20 {
			return
		}
		out, err := Unframe(nil, body, limit)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither ErrCorrupt nor ErrTooLarge", err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("%d bytes out over the limit %d", len(out), limit)
		}
		again, err := Unframe(nil, Frame(nil, out, BlockSize), len(out))
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("re-framed body does not decode to the same bytes: %v", err)
		}
	})
}

// FuzzRoundTrip: Decompress(Compress(x)) is x, Unframe(Frame(x)) is x, for
// any block size.
func FuzzRoundTrip(f *testing.F) {
	for _, ex := range xcaExamples {
		f.Add([]byte(ex.plain), 0)
	}
	for _, b := range captureBodies(f)[:3] {
		f.Add(b, 100)
	}
	f.Fuzz(func(t *testing.T, in []byte, blockSize int) {
		c := Compress(nil, in)
		if len(c) > MaxCompressedLen(len(in)) {
			t.Fatalf("%d bytes compressed to %d", len(in), len(c))
		}
		out, err := Decompress(nil, c, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip: %v", err)
		}
		fr := Frame(nil, in, blockSize%(2*MaxBlockSize))
		out, err = Unframe(nil, fr, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("framed round trip: %v", err)
		}
	})
}
