package xpress

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The worked examples of [MS-XCA] section 3.1 ("LZ77"), byte for byte.
var xcaExamples = []struct {
	name       string
	plain      string
	compressed string // hex, as the specification prints it
}{
	{
		name:       "26 literals",
		plain:      "abcdefghijklmnopqrstuvwxyz",
		compressed: "3f000000" + hex.EncodeToString([]byte("abcdefghijklmnopqrstuvwxyz")),
	},
	{
		// abc[match: distance = 3, length = 297]: the length goes through
		// the 3 bits, the half byte, the byte and the 16-bit form.
		name:       "abc x 100",
		plain:      strings.Repeat("abc", 100),
		compressed: "ffffff1f616263" + "1700" + "0f" + "ff" + "2601",
	},
}

func TestMSXCAExamples(t *testing.T) {
	for _, ex := range xcaExamples {
		t.Run(ex.name, func(t *testing.T) {
			want, _ := hex.DecodeString(ex.compressed)
			if got := Compress(nil, []byte(ex.plain)); !bytes.Equal(got, want) {
				t.Errorf("Compress = % x\nwant       % x", got, want)
			}
			got, err := Decompress(nil, want, len(ex.plain))
			if err != nil || string(got) != ex.plain {
				t.Errorf("Decompress = %q, %v; want %q", got, err, ex.plain)
			}
		})
	}
}

// Streams written by hand for the parts of the format the examples above
// do not reach: the second half of a shared half byte, the 32-bit length,
// an overlapping match of distance 1, the longest distance.
func TestDecompressForms(t *testing.T) {
	const flagsLLMM = "ffffff3f" // two literals, then matches
	cases := []struct {
		name, stream string
		want         string
	}{
		{"shared half byte", flagsLLMM + "6161" + "0700" + "32" + "0700",
			"aa" + strings.Repeat("a", 3+7+2) + strings.Repeat("a", 3+7+3)},
		{"32-bit length", "ffffff7f" + "61" + "0700" + "0f" + "ff" + "0000" + "a0860100",
			strings.Repeat("a", 1+100000+3)},
		{"distance 1 overlap", "ffffff7f" + "78" + "0400", strings.Repeat("x", 1+7)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := hex.DecodeString(c.stream)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decompress(nil, src, len(c.want))
			if err != nil || string(got) != c.want {
				t.Fatalf("Decompress = %d bytes, %v; want %d bytes", len(got), err, len(c.want))
			}
			if re, err := Decompress(nil, Compress(nil, []byte(c.want)), len(c.want)); err != nil || string(re) != c.want {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
	// The farthest distance, 8,192.
	src := make([]byte, 8192+50)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 8192 {
		src[i] = byte(r.Uint32())
	}
	copy(src[8192:], src[:50])
	c := Compress(nil, src)
	if len(c) >= MaxCompressedLen(len(src))-40 {
		t.Errorf("a match at distance 8192 was not found: %d bytes", len(c))
	}
	if got, err := Decompress(nil, c, len(src)); err != nil || !bytes.Equal(got, src) {
		t.Fatalf("distance 8192 round trip: %v", err)
	}
}

func TestDecompressRejects(t *testing.T) {
	cases := []struct {
		name, stream string
		size         int
	}{
		{"empty input", "", 1},
		{"ends in flags", "0000", 1},
		{"ends in literals", "00000000" + "61", 2},
		{"distance before start", "ffffff7f" + "61" + "0800", 4},
		{"match past size", "ffffff7f" + "61" + "0000", 3},
		{"ends in match", "ffffff7f" + "61" + "00", 4},
		{"ends in half byte", "ffffff7f" + "61" + "0700", 20},
		{"16-bit length below minimum", "ffffff7f" + "61" + "0700" + "0f" + "ff" + "1000", 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, _ := hex.DecodeString(c.stream)
			if _, err := Decompress(nil, src, c.size); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decompress: %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := Decompress(nil, nil, -1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("negative size: %v", err)
	}
	if got, err := Decompress([]byte("keep"), nil, 0); err != nil || string(got) != "keep" {
		t.Fatalf("size 0: %q, %v", got, err)
	}
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	inputs := [][]byte{nil, {0}, []byte("ab"), []byte("abcd"), bytes.Repeat([]byte{0}, 1<<20)}
	for _, n := range []int{31, 32, 33, 64, 1000, 65535, 70000} {
		random := make([]byte, n)
		for i := range random {
			random[i] = byte(r.Uint32())
		}
		inputs = append(inputs, random)
		text := make([]byte, n) // few symbols: many short matches
		for i := range text {
			text[i] = "<a>/b c"[r.IntN(7)]
		}
		inputs = append(inputs, text)
	}
	inputs = append(inputs, captureBodies(t)...)
	for i, in := range inputs {
		c := Compress([]byte("prefix"), in)
		if !bytes.HasPrefix(c, []byte("prefix")) {
			t.Fatalf("input %d: Compress lost dst", i)
		}
		if len(c)-6 > MaxCompressedLen(len(in)) {
			t.Fatalf("input %d: %d bytes compressed to %d, over MaxCompressedLen", i, len(in), len(c)-6)
		}
		got, err := Decompress([]byte("x"), c[6:], len(in))
		if err != nil || !bytes.Equal(got[1:], in) || got[0] != 'x' {
			t.Fatalf("input %d (%d bytes): round trip failed: %v", i, len(in), err)
		}
		f := Frame(nil, in, BlockSize)
		if len(f) > MaxFramedLen(len(in), BlockSize) {
			t.Fatalf("input %d: framed %d > MaxFramedLen", i, len(f))
		}
		got, err = Unframe(nil, f, len(in))
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("input %d: Unframe(Frame) failed: %v", i, err)
		}
	}
}

// Compress gives the same bytes whatever the encoder compressed before
// (the pooled state is invisible).
func TestCompressDeterministic(t *testing.T) {
	bodies := captureBodies(t)
	want := make([][]byte, len(bodies))
	for i, b := range bodies {
		want[i] = Compress(nil, b)
	}
	e := new(encoder)
	for round := range 3 {
		for i := len(bodies) - 1; i >= 0; i-- {
			if got := e.compress(nil, bodies[i]); !bytes.Equal(got, want[i]) {
				t.Fatalf("round %d body %d: output differs after other inputs", round, i)
			}
		}
	}
	// Across the restart of the position space.
	e.base = 1<<31 - 1 - 3*maxDistance
	for i, b := range bodies {
		if got := e.compress(nil, b); !bytes.Equal(got, want[i]) {
			t.Fatalf("body %d: output differs after the position space restarted", i)
		}
	}
}

func TestFrame(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 40000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	text := bytes.Repeat([]byte("<UpdateInfo><ID>1</ID></UpdateInfo>"), 2000) // 70,000 bytes
	for _, c := range []struct {
		name      string
		in        []byte
		blockSize int
		blocks    []int // original sizes
		raw       bool
	}{
		{"random stays raw", random, BlockSize, []int{16352, 16352, 7296}, true},
		{"text in WS2025 blocks", text, 0, []int{16352, 16352, 16352, 16352, 4592}, false},
		{"text in largest blocks", text, 1 << 20, []int{65535, 4465}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := Frame(nil, c.in, c.blockSize)
			var sizes []int
			for rest := f; len(rest) > 0; {
				o, comp, err := blockHeader(rest)
				if err != nil {
					t.Fatal(err)
				}
				if (comp == o) != c.raw {
					t.Errorf("block of %d bytes stored as %d", o, comp)
				}
				sizes = append(sizes, o)
				rest = rest[headerSize+comp:]
			}
			if !equalInts(sizes, c.blocks) {
				t.Errorf("blocks %v, want %v", sizes, c.blocks)
			}
			got, err := Unframe(nil, f, len(c.in))
			if err != nil || !bytes.Equal(got, c.in) {
				t.Fatalf("Unframe: %v", err)
			}
			if _, err := Unframe(nil, f, len(c.in)-1); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Unframe under the limit: %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestUnframeRejects(t *testing.T) {
	good := Frame(nil, bytes.Repeat([]byte("abcdefgh"), 100), BlockSize)
	for _, c := range []struct {
		name string
		body string // hex
	}{
		{"short header", "0100000001"},
		{"zero size", "0000000000000000"},
		{"block over 65535", "0000010001000000" + "00"},
		{"compressed over original", "0100000002000000" + "6161"},
		{"zero compressed", "0100000000000000"},
		{"ends in block", "0300000003000000" + "6161"},
		{"compressed does not decode", "0300000002000000" + "0000"},
		{"truncated good body", hex.EncodeToString(good[:len(good)-1])},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(c.body)
			if _, err := Unframe(nil, b, 1<<20); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Unframe: %v, want ErrCorrupt", err)
			}
		})
	}
	// A raw block decodes as it is.
	if got, err := Unframe(nil, []byte("\x03\x00\x00\x00\x03\x00\x00\x00abc"), 3); err != nil || string(got) != "abc" {
		t.Fatalf("raw block: %q, %v", got, err)
	}
}

// The captured answers of the real WSUS (testdata/clientsim/scan: the
// bodies as tshark decoded them, so not Xpress test vectors themselves):
// each round-trips, and its framed size is printed beside the size the
// real WS2025 sent on the wire (meta.json wire_response_content_length).
func TestCaptureSizes(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/clientsim/scan/0*")
	if len(dirs) == 0 {
		t.Fatal("no captures in testdata/clientsim/scan")
	}
	var ours, theirs, plain int
	for _, d := range dirs {
		body, err := os.ReadFile(filepath.Join(d, "response.body"))
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Wire int `json:"wire_response_content_length"`
			Size int `json:"response_body_size"`
		}
		mb, _ := os.ReadFile(filepath.Join(d, "meta.json"))
		if err := json.Unmarshal(mb, &meta); err != nil {
			t.Fatal(err)
		}
		f := Frame(nil, body, BlockSize)
		if got, err := Unframe(nil, f, len(body)); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: round trip: %v", d, err)
		}
		t.Logf("%s: %d bytes: ours %d, WS2025 %d (of %d before sanitizing)", filepath.Base(d), len(body), len(f), meta.Wire, meta.Size)
		ours += len(f)
		theirs += meta.Wire
		plain += len(body)
	}
	t.Logf("all: %d bytes: ours %d, WS2025 %d", plain, ours, theirs)
	// The real server's encoder is no yardstick to beat, but a ratio far
	// worse than its would mean a broken match finder.
	if ours > theirs+theirs/10 {
		t.Errorf("framed %d bytes, the real WSUS %d", ours, theirs)
	}
}

func captureBodies(t testing.TB) [][]byte {
	files, _ := filepath.Glob("../../testdata/clientsim/scan/0*/response.body")
	extra, _ := filepath.Glob("../../testdata/clientsim/flow/*.body")
	var out [][]byte
	for _, f := range append(files, extra...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		t.Fatal("no capture bodies")
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
