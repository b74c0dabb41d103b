package lzx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// fuzzInput lays out a stream for FuzzLZX: one byte choosing the window
// (15 + b%7 bits), then per frame its uncompressed size - 1 and its
// compressed length as little-endian 16-bit values, then the compressed
// bytes.
func fuzzInput(windowBits int, frames []frame) []byte {
	b := []byte{byte(windowBits - MinWindowBits)}
	for _, f := range frames {
		b = binary.LittleEndian.AppendUint16(b, uint16(f.size-1))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(f.data)))
		b = append(b, f.data...)
	}
	return b
}

func parseFuzzInput(b []byte) (windowBits int, frames []frame) {
	if len(b) == 0 {
		return MinWindowBits, nil
	}
	windowBits = MinWindowBits + int(b[0])%(MaxWindowBits-MinWindowBits+1)
	b = b[1:]
	for len(b) >= 4 && len(frames) < 16 {
		size := int(binary.LittleEndian.Uint16(b))%FrameSize + 1
		n := min(int(binary.LittleEndian.Uint16(b[2:])), len(b)-4)
		frames = append(frames, frame{b[4 : 4+n], size})
		b = b[4+n:]
	}
	return windowBits, frames
}

// FuzzLZX decodes arbitrary frames. Invariants: no panic, no endless loop;
// an error wraps ErrCorrupt and is sticky; success appends exactly the
// declared sizes; the history buffer never exceeds the declared total.
func FuzzLZX(f *testing.F) {
	for _, s := range samples {
		bits, frames := folderFrames(f, s.cab)
		f.Add(fuzzInput(bits, frames))
	}
	for _, rt := range roundTrips {
		if rt.size <= 2*FrameSize {
			_, frames := rt.encode()
			f.Add(fuzzInput(rt.windowBits, frames))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bits, frames := parseFuzzInput(b)
		tot := total(frames)
		d, err := NewDecoder(bits, tot)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(d.window)) > tot || int64(len(d.window)) > 1<<bits {
			t.Fatalf("history of %d bytes for a stream of %d", len(d.window), tot)
		}
		var out []byte
		want := 0
		for _, fr := range frames {
			prev := len(out)
			out, err = d.Decode(out, fr.data, fr.size)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				if len(out) != prev {
					t.Fatalf("failed frame appended %d bytes", len(out)-prev)
				}
				if _, err2 := d.Decode(out, fr.data, fr.size); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				return
			}
			want += fr.size
			if len(out) != want {
				t.Fatalf("decoded %d bytes, want %d", len(out), want)
			}
		}
	})
}

// FuzzRoundTrip compresses arbitrary data with the test encoder, in blocks
// of the types and sizes plan chooses, and decodes it: the decoder must
// give back the data (a differential test against the encoder, itself
// checked against cabextract, see cabextractChecked).
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello, hello, hello world"), uint64(0))
	f.Add(testInput(7, 70000), uint64(0x1234_5678_9abc_def0))
	f.Add(testInput(8, 33000), uint64(0xffff_ffff_ffff_fff3))
	f.Fuzz(func(t *testing.T, data []byte, plan uint64) {
		if len(data) == 0 {
			return
		}
		windowBits := MinWindowBits + int(plan%7)
		plan /= 7
		var blocks []encBlock
		for rest := len(data); rest > 0; {
			typ := blockVerbatim + int(plan%3)
			plan /= 3
			size := rest
			if plan%4 != 0 {
				size = min(rest, 1+int(plan%(2*FrameSize)))
			}
			plan = plan/4 + plan<<61 // keep the bits turning
			blocks = append(blocks, encBlock{typ, size})
			rest -= size
		}
		e := newEncoder(windowBits)
		e.e8, e.e8Size, e.padLate = plan&1 == 1, int32(plan>>1)&0x7FFFFFFF, plan&2 == 2
		chunks := e.encode(data, blocks)
		var frames []frame
		for i, c := range chunks {
			frames = append(frames, frame{c, min(FrameSize, len(data)-i*FrameSize)})
		}
		got, err := decodeAll(windowBits, frames, int64(len(data)))
		if err != nil {
			t.Fatalf("%d bytes in %d blocks, window 2^%d: %v", len(data), len(blocks), windowBits, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%d bytes in %d blocks, window 2^%d: decoded data differ", len(data), len(blocks), windowBits)
		}
	})
}
