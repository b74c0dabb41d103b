package lzx

import (
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
