package lzx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// The real LZX streams live in the cabinets of ../cab/testdata (see the
// README there): two CAB_LZX folders with a 2^21 window, of one and of
// three CFDATA blocks, and what cabextract extracted from them.
var samples = []struct {
	name   string
	cab    string
	oracle string
	blocks int
}{
	{"leaf one block", "../cab/testdata/leaf-266f6222-r200.cab", "../cab/testdata/leaf-266f6222-r200.blob", 1},
	{"bundle three blocks", "../cab/testdata/bundle-a2fef9b0-r200.cab", "../cab/testdata/bundle-a2fef9b0-r200.blob", 3},
}

type frame struct {
	data []byte
	size int
}

// folderFrames cuts the single folder of a cabinet without reserved areas
// into its CFDATA blocks: a minimal reader, enough for these tests
// ([MS-CAB] 2.1, 2.2, 2.4).
func folderFrames(t testing.TB, path string) (windowBits int, frames []frame) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "MSCF" || binary.LittleEndian.Uint16(b[30:]) != 0 {
		t.Fatalf("%s: not a plain cabinet", path)
	}
	off := int(binary.LittleEndian.Uint32(b[36:]))
	n := int(binary.LittleEndian.Uint16(b[40:]))
	comp := binary.LittleEndian.Uint16(b[42:])
	if comp&0xF != 3 {
		t.Fatalf("%s: compression %#x, not LZX", path, comp)
	}
	for range n {
		cb := int(binary.LittleEndian.Uint16(b[off+4:]))
		un := int(binary.LittleEndian.Uint16(b[off+6:]))
		frames = append(frames, frame{b[off+8 : off+8+cb], un})
		off += 8 + cb
	}
	return int(comp>>8) & 0x1F, frames
}

func total(frames []frame) int64 {
	var n int64
	for _, f := range frames {
		n += int64(f.size)
	}
	return n
}

func decodeAll(windowBits int, frames []frame, total int64) ([]byte, error) {
	d, err := NewDecoder(windowBits, total)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, f := range frames {
		if out, err = d.Decode(out, f.data, f.size); err != nil {
			return out, err
		}
	}
	return out, nil
}

func TestRealSamples(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			bits, frames := folderFrames(t, s.cab)
			if bits != 21 || len(frames) != s.blocks {
				t.Fatalf("window 2^%d, %d blocks; want 2^21, %d", bits, len(frames), s.blocks)
			}
			want, err := os.ReadFile(s.oracle)
			if err != nil {
				t.Fatal(err)
			}
			for _, tot := range []int64{total(frames), -1} {
				got, err := decodeAll(bits, frames, tot)
				if err != nil {
					t.Fatalf("total %d: %v", tot, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("total %d: decoded %d bytes differ from cabextract's %d", tot, len(got), len(want))
				}
			}
		})
	}
}

// TestTruncatedAndCorrupted: every truncation of every frame of the real
// streams is an error; bit flips end in an error or in exactly the declared
// number of bytes, never in a panic.
func TestTruncatedAndCorrupted(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			bits, frames := folderFrames(t, s.cab)
			for fi := range frames {
				orig := frames[fi].data
				for n := 0; n < len(orig); n++ {
					frames[fi].data = orig[:n]
					if _, err := decodeAll(bits, frames, total(frames)); !errors.Is(err, ErrCorrupt) {
						t.Fatalf("frame %d cut to %d of %d bytes: err %v, want ErrCorrupt", fi, n, len(orig), err)
					}
				}
				frames[fi].data = orig
			}
			for fi := range frames {
				orig := frames[fi].data
				flipped := bytes.Clone(orig)
				step := max(1, len(orig)/500)
				for i := 0; i < len(orig); i += step {
					bit := byte(1) << (i % 8)
					flipped[i] ^= bit
					frames[fi].data = flipped
					out, err := decodeAll(bits, frames, total(frames))
					if err == nil && int64(len(out)) != total(frames) {
						t.Fatalf("frame %d byte %d flipped: %d bytes, want %d", fi, i, len(out), total(frames))
					}
					if err != nil && !errors.Is(err, ErrCorrupt) {
						t.Fatalf("frame %d byte %d flipped: %v does not wrap ErrCorrupt", fi, i, err)
					}
					flipped[i] ^= bit
				}
				frames[fi].data = orig
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	bits, frames := folderFrames(b, samples[1].cab)
	tot := total(frames)
	b.SetBytes(tot)
	out := make([]byte, 0, tot)
	for b.Loop() {
		d, err := NewDecoder(bits, tot)
		if err != nil {
			b.Fatal(err)
		}
		out = out[:0]
		for _, f := range frames {
			if out, err = d.Decode(out, f.data, f.size); err != nil {
				b.Fatal(err)
			}
		}
	}
}
