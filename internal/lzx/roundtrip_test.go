package lzx

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// testInput makes n bytes that compress: phrases repeated at short and long
// distances, runs, random bytes, and x86-like E8 calls.
func testInput(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := []string{"<upd:Update ", "xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\"", "UpdateID=\"", "</upd:", "RevisionNumber=\"200\" ", "\u00e8\u00e9 ", "Microsoft Defender Antivirus "}
	var b []byte
	for len(b) < n {
		switch k := rng.IntN(10); {
		case k < 4:
			b = append(b, words[rng.IntN(len(words))]...)
		case k < 5 && len(b) > 100:
			// a copy from far back, up to ~80 KiB
			from := rng.IntN(len(b))
			l := min(rng.IntN(300)+3, len(b)-from)
			b = append(b, b[from:from+l]...)
		case k < 6:
			b = append(b, bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(400)+1)...)
		case k < 7:
			b = append(b, 0xE8)
			b = binary.LittleEndian.AppendUint32(b, uint32(rng.Int32N(1<<20)-1<<19))
		default:
			for range rng.IntN(40) + 1 {
				b = append(b, byte(rng.IntN(256)))
			}
		}
	}
	return b[:n]
}

type roundTrip struct {
	name       string
	windowBits int
	size       int
	blocks     []encBlock // nil: one verbatim block
	e8         bool
	padLate    bool
}

func (rt roundTrip) plan() []encBlock {
	if rt.blocks != nil {
		return rt.blocks
	}
	return []encBlock{{blockVerbatim, rt.size}}
}

var roundTrips = []roundTrip{
	{name: "verbatim one short frame", windowBits: 15, size: 1000},
	{name: "verbatim many frames window wraps", windowBits: 15, size: 5*FrameSize + 123},
	{name: "verbatim exact frames", windowBits: 16, size: 3 * FrameSize},
	{name: "aligned spanning frames", windowBits: 17, size: 100000, blocks: []encBlock{{blockAligned, 70000}, {blockAligned, 30000}}},
	{name: "uncompressed odd sizes", windowBits: 15, size: 70001, blocks: []encBlock{{blockUncompressed, 3}, {blockVerbatim, 5}, {blockUncompressed, 40001}, {blockAligned, 29992}}},
	{name: "uncompressed odd block ending a frame", windowBits: 15, size: FrameSize + 100, blocks: []encBlock{{blockVerbatim, 1001}, {blockUncompressed, FrameSize - 1001}, {blockVerbatim, 100}}},
	{name: "uncompressed odd block ending a frame, late padding", windowBits: 15, size: FrameSize + 100, padLate: true, blocks: []encBlock{{blockVerbatim, 1001}, {blockUncompressed, FrameSize - 1001}, {blockVerbatim, 100}}},
	{name: "e8 translation", windowBits: 21, size: 4*FrameSize + 7, e8: true, blocks: []encBlock{{blockVerbatim, 50000}, {blockUncompressed, 20001}, {blockAligned, 4*FrameSize + 7 - 70001}}},
	{name: "e8 short frame of 11 bytes", windowBits: 15, size: FrameSize + 11, e8: true},
	{name: "all block types, every window", windowBits: 18, size: 300000, e8: true, blocks: []encBlock{{blockAligned, 1}, {blockUncompressed, 1}, {blockVerbatim, 1}, {blockAligned, 299997}}},
}

func (rt roundTrip) encode() (data []byte, frames []frame) {
	data = testInput(uint64(rt.size), rt.size)
	e := newEncoder(rt.windowBits)
	e.e8, e.e8Size, e.padLate = rt.e8, 12000000, rt.padLate
	chunks := e.encode(data, rt.plan())
	for i, c := range chunks {
		size := min(FrameSize, rt.size-i*FrameSize)
		frames = append(frames, frame{c, size})
	}
	return data, frames
}

func TestRoundTrip(t *testing.T) {
	for _, rt := range roundTrips {
		t.Run(rt.name, func(t *testing.T) {
			data, frames := rt.encode()
			for _, tot := range []int64{int64(len(data)), -1} {
				got, err := decodeAll(rt.windowBits, frames, tot)
				if err != nil {
					t.Fatalf("total %d: %v", tot, err)
				}
				if !bytes.Equal(got, data) {
					i := 0
					for i < len(got) && got[i] == data[i] {
						i++
					}
					t.Fatalf("total %d: %d bytes decoded, want %d; first difference at %d", tot, len(got), len(data), i)
				}
			}
		})
	}
}

// cabextractChecked are the SHA-256 digests of the cabinets TestWriteSynthetic
// writes, each of which cabextract 1.9 (Debian's, libmspack) extracted to
// exactly the input the round trip compressed:
//
//	LZX_WRITE_CABS=/tmp/rt go test -run WriteSynthetic ./internal/lzx/
//	cd /tmp/rt; for c in rt*.cab; do mkdir -p x; cabextract -q -d x $c && cmp x/data ${c%.cab}.want; done
//
// So these streams, and with them this package's reading of verbatim,
// aligned and uncompressed blocks, the padding byte on either side of a
// frame cut, E8 translation and a wrapping window, agree with an
// independent decoder. When the encoder or a round trip changes, run those
// commands again before updating a digest.
var cabextractChecked = []string{
	"2622bff6e7b9c93dd7ef82e082752002155119275ef9165e5618b4d3b2c747e6",
	"f7267dba39affb0e5674e080b58fd21e1bdece560730f298c3fa6f769bd9b9fa",
	"8adb8b7d38bd212626ef96994f97ffc17b05671d81c00913ebb1a7f31c2ad664",
	"907a34904291f3d802acb0d04b1f563dc796e21945736a6d3e1f3e9acbd8a686",
	"9d18e847303f2cd4f6f05eec47c1b4e5c162a7fe3be5f24cc54675dc7533f6bd",
	"c01d82a02f56ef16272bf398971f61dcaaf43665c8b83cb07a4cb5880a603b13",
	"618ffc1307a74f0c713265aef72d75063e054bfce703f1058aeb1aba631666b6",
	"3e286948633f27a6d55d9f5f6936ceaff24bcbd20f46117c84d4288d10df8825",
	"3f94dc1bd0aeaca1619d8ba72c5b8f0df9354be096be0e20931978ce083c2c1a",
	"d6b05c4974554207b9e5b914f06af3a2011bae886b0c0145f26a48c743521289",
}

func TestRoundTripsCheckedByCabextract(t *testing.T) {
	if len(cabextractChecked) != len(roundTrips) {
		t.Fatalf("%d digests for %d round trips", len(cabextractChecked), len(roundTrips))
	}
	for i, rt := range roundTrips {
		data, frames := rt.encode()
		sum := sha256.Sum256(writeLZXCab(rt.windowBits, frames, len(data)))
		if got := hex.EncodeToString(sum[:]); got != cabextractChecked[i] {
			t.Errorf("%s: cabinet digest %s, checked by cabextract was %s", rt.name, got, cabextractChecked[i])
		}
	}
}

// TestWriteSynthetic writes the round trips as cabinets into the directory
// $LZX_WRITE_CABS, for checking with cabextract (see ../cab/testdata).
func TestWriteSynthetic(t *testing.T) {
	dir := os.Getenv("LZX_WRITE_CABS")
	if dir == "" {
		t.Skip("LZX_WRITE_CABS not set")
	}
	for i, rt := range roundTrips {
		data, frames := rt.encode()
		cab := writeLZXCab(rt.windowBits, frames, len(data))
		if err := os.WriteFile(fmt.Sprintf("%s/rt%02d.cab", dir, i), cab, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fmt.Sprintf("%s/rt%02d.want", dir, i), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeLZXCab wraps frames in a cabinet of one folder holding one file
// "data" ([MS-CAB] 2.1 to 2.4), with CFDATA checksums.
func writeLZXCab(windowBits int, frames []frame, size int) []byte {
	name := "data\x00"
	hdr := 36
	folder := 8
	file := 16 + len(name)
	dataStart := hdr + folder + file
	var b []byte
	b = append(b, "MSCF"...)
	b = binary.LittleEndian.AppendUint32(b, 0)
	total := dataStart
	for _, f := range frames {
		total += 8 + len(f.data)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(hdr+folder)) // coffFiles
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, 3, 1)                             // version 1.3
	b = binary.LittleEndian.AppendUint16(b, 1)      // cFolders
	b = binary.LittleEndian.AppendUint16(b, 1)      // cFiles
	b = binary.LittleEndian.AppendUint16(b, 0)      // flags
	b = binary.LittleEndian.AppendUint16(b, 0x1234) // setID
	b = binary.LittleEndian.AppendUint16(b, 0)      // iCabinet
	b = binary.LittleEndian.AppendUint32(b, uint32(dataStart))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(frames)))
	b = binary.LittleEndian.AppendUint16(b, uint16(3|windowBits<<8))
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint16(b, 0)      // iFolder
	b = binary.LittleEndian.AppendUint16(b, 0x5A21) // 2025-01-01
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, 0x20)
	b = append(b, name...)
	for _, f := range frames {
		var h [4]byte
		binary.LittleEndian.PutUint16(h[0:], uint16(len(f.data)))
		binary.LittleEndian.PutUint16(h[2:], uint16(f.size))
		sum := checksum(h[:], checksum(f.data, 0))
		b = binary.LittleEndian.AppendUint32(b, sum)
		b = append(b, h[:]...)
		b = append(b, f.data...)
	}
	return b
}

// checksum is the CFDATA checksum of [MS-CAB] 2.4 (see package cab).
func checksum(b []byte, seed uint32) uint32 {
	c := seed
	for len(b) >= 4 {
		c ^= binary.LittleEndian.Uint32(b)
		b = b[4:]
	}
	var u uint32
	for _, x := range b {
		u = u<<8 | uint32(x)
	}
	return c ^ u
}
