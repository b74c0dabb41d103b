package cab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"wsus/internal/lzx"
)

// The real samples (testdata/README.md): the cabinets of two GetUpdateData
// answers, what cabextract extracted from them, and the UTF-8 documents.
var samples = []struct {
	name   string
	file   string // testdata/<file>.cab, .blob, .xml
	blocks int
}{
	{"leaf, one CFDATA block", "leaf-266f6222-r200", 1},
	{"bundle, three CFDATA blocks", "bundle-a2fef9b0-r200", 3},
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRealSamples(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			cab := readTestdata(t, s.file+".cab")
			c, err := OpenBytes(cab, MaxUpdateBlobSize)
			if err != nil {
				t.Fatal(err)
			}
			files := c.Files()
			oracle := readTestdata(t, s.file+".blob")
			if len(files) != 1 || files[0].Name != "blob" || files[0].Size != int64(len(oracle)) {
				t.Fatalf("files %+v, want one \"blob\" of %d bytes", files, len(oracle))
			}
			if len(c.folders) != 1 || c.folders[0].typeCompress != 0x1503 || len(c.folders[0].blocks) != s.blocks {
				t.Fatalf("folders %+v, want one LZX 2^21 of %d blocks", c.folders, s.blocks)
			}
			got, err := c.Extract("blob")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, oracle) {
				t.Fatal("extracted blob differs from cabextract's")
			}
			doc, err := DecodeUpdateBlob(cab)
			if err != nil {
				t.Fatal(err)
			}
			if want := readTestdata(t, s.file+".xml"); !bytes.Equal(doc, want) {
				t.Fatalf("document of %d bytes differs from testdata/%s.xml (%d bytes)", len(doc), s.file, len(want))
			}
			if !bytes.HasPrefix(doc, []byte("<upd:Update ")) || !bytes.HasSuffix(doc, []byte("</upd:Update>")) {
				t.Fatalf("document starts %q, ends %q", doc[:20], doc[len(doc)-20:])
			}
		})
	}
}

// TestSyntheticLZX: a cabinet made by internal/lzx's test encoder and
// extracted by cabextract (testdata/README.md): a verbatim LZX block, and a
// CFDATA checksum over a length that is no multiple of 4.
func TestSyntheticLZX(t *testing.T) {
	c, err := OpenBytes(readTestdata(t, "synthetic-lzx15-verbatim.cab"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if b := c.folders[0].blocks[0]; b.cbData%4 == 0 || b.csum == 0 || c.folders[0].typeCompress != 0x0F03 {
		t.Fatalf("block %+v, folder %#x: not the vector described", b, c.folders[0].typeCompress)
	}
	got, err := c.Extract("data")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, readTestdata(t, "synthetic-lzx15-verbatim.data")) {
		t.Fatal("extracted data differ from cabextract's")
	}
}

// The leaf answer lists the SHA-1 of its one file in FileDigestList; the
// decoded document must name the same digest (an independent check of the
// decoder on a sample without a document beside it).
func TestLeafDocumentNamesTheAnswersDigest(t *testing.T) {
	doc, err := DecodeUpdateBlob(readTestdata(t, "leaf-266f6222-r200.cab"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`UpdateID="266f6222-c89d-43f2-9f8a-69340271e677" RevisionNumber="200"`, `<upd:File Digest="h/W9BGlYUAaqXTp30cZi/SiV3c0="`} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("document lacks %s", want)
		}
	}
}

func compressible(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	var b []byte
	for len(b) < n {
		if len(b) > 1000 && rng.IntN(3) == 0 {
			from := rng.IntN(len(b) - 500)
			b = append(b, b[from:from+rng.IntN(500)]...)
		} else {
			fmt.Fprintf(&sliceWriter{&b}, "<line n=\"%d\" v=\"%x\"/>", len(b), rng.Uint32()&0xFF)
		}
	}
	return b[:n]
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

// TestSynthetic: cabinets made by the test writer, stored and MSZIP, decode
// to what went in.
func TestSynthetic(t *testing.T) {
	big := compressible(1, 150000) // five MSZIP blocks, each using the last's dictionary
	small := compressible(2, 1000)
	utf := []byte("naïve ☃")
	cases := []struct {
		name string
		spec cabSpec
	}{
		{"stored one file", cabSpec{folders: []uint16{compNone}, files: []wFile{{name: "a", data: small}}}},
		{"stored many blocks", cabSpec{folders: []uint16{compNone}, files: []wFile{{name: "a", data: big}}}},
		{"stored empty file", cabSpec{folders: []uint16{compNone}, files: []wFile{{name: "empty"}}}},
		{"mszip one block", cabSpec{folders: []uint16{compMSZIP}, files: []wFile{{name: "a", data: small}}}},
		{"mszip dictionary across blocks", cabSpec{folders: []uint16{compMSZIP}, files: []wFile{{name: "a", data: big}}}},
		{"mszip small blocks", cabSpec{folders: []uint16{compMSZIP}, blockSize: 1000, files: []wFile{{name: "a", data: big[:20000]}}}},
		{"files and folders", cabSpec{folders: []uint16{compMSZIP, compNone, compMSZIP}, files: []wFile{
			{name: "x/1", data: big[:40000], folder: 0}, {name: "x/2", data: small, folder: 1}, {name: "x/3", data: big[40000:], folder: 0},
			{name: "x/4", data: big[:70000], folder: 2}, {name: "x/5", folder: 1}, {name: "x/6", data: small[:7], folder: 2},
		}}},
		{"utf-8 name", cabSpec{folders: []uint16{compNone}, files: []wFile{{name: string(utf), data: small, attribs: attribNameIsUTF}}}},
		{"reserved areas", cabSpec{folders: []uint16{compMSZIP}, reserveHeader: 100, reserveFolder: 7, reserveData: 3, files: []wFile{{name: "a", data: big}}}},
		{"reserved areas, checksum over them", cabSpec{folders: []uint16{compMSZIP}, reserveData: 5, checksumWithReserve: true, files: []wFile{{name: "a", data: big}}}},
		{"header reserve only", cabSpec{folders: []uint16{compNone}, reserveHeader: 1, files: []wFile{{name: "a", data: small}}}},
		{"no checksums", cabSpec{folders: []uint16{compMSZIP}, noChecksum: true, files: []wFile{{name: "a", data: big}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cab := buildCab(tc.spec)
			c, err := OpenBytes(cab, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			files := c.Files()
			if len(files) != len(tc.spec.files) {
				t.Fatalf("%d files, want %d", len(files), len(tc.spec.files))
			}
			for i, wf := range tc.spec.files {
				if files[i].Name != wf.name || files[i].Size != int64(len(wf.data)) || files[i].Folder != wf.folder {
					t.Fatalf("file %d: %+v, want %q of %d bytes in folder %d", i, files[i], wf.name, len(wf.data), wf.folder)
				}
				got, err := c.Extract(wf.name)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, wf.data) {
					t.Fatalf("file %q: %d bytes differ from the %d written", wf.name, len(got), len(wf.data))
				}
			}
		})
	}
}

// patch returns a copy of b with a little-endian value of n bytes at off.
func patch(b []byte, off int, v uint32, n int) []byte {
	b = bytes.Clone(b)
	for i := range n {
		b[off+i] = byte(v >> (8 * i))
	}
	return b
}

// TestMalformed: each cabinet is refused with the error kind given, at
// Open or at Extract.
func TestMalformed(t *testing.T) {
	small := compressible(3, 3000)
	one := func(tc uint16) []byte {
		return buildCab(cabSpec{folders: []uint16{tc}, files: []wFile{{name: "f", data: small}}})
	}
	stored, mszip := one(compNone), one(compMSZIP)
	// Offsets in a cabinet without reserve of one folder and one file "f".
	const folderAt, fileAt, dataAt = 36, 44, 44 + 16 + 2
	lzxCab := readTestdata(t, "leaf-266f6222-r200.cab")
	huge := hugeDeclaration(4096) // 4096 blocks of 32768: 128 MiB declared
	cases := []struct {
		name string
		cab  []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"signature", patch(stored, 0, 'X', 1), ErrFormat},
		{"version 2", patch(stored, 25, 2, 1), ErrFormat},
		{"cbCabinet past the end", patch(stored, 8, uint32(len(stored)+1), 4), ErrFormat},
		{"cbCabinet shorter than the header", patch(stored, 8, 10, 4), ErrFormat},
		{"previous cabinet", patch(stored, 30, flagPrevCabinet, 2), ErrUnsupported},
		{"next cabinet", patch(stored, 30, flagNextCabinet, 2), ErrUnsupported},
		{"reserve sizes past the end", patch(stored, 8, 38, 4), ErrFormat},
		{"no folder for a file", patch(stored, 26, 0, 2), ErrFormat},
		{"folder entries past the end", patch(stored, 26, 5000, 2), ErrFormat},
		{"file entries past the end", patch(stored, 28, 5000, 2), ErrFormat},
		{"coffFiles past the end", patch(stored, 16, 1<<30, 4), ErrFormat},
		{"Quantum", patch(stored, folderAt+6, compQuantum, 2), ErrUnsupported},
		{"compression type 5", patch(stored, folderAt+6, 5, 2), ErrFormat},
		{"LZX window 2^22", patch(lzxCab, folderAt+6, 0x1603, 2), ErrFormat},
		{"LZX window 2^14", patch(lzxCab, folderAt+6, 0x0E03, 2), ErrFormat},
		{"CFDATA past the end", patch(stored, folderAt, uint32(len(stored)), 4), ErrFormat},
		{"more CFDATA than present", patch(stored, folderAt+4, 2, 2), ErrFormat},
		{"file continued from the previous cabinet", patch(stored, fileAt+8, 0xFFFD, 2), ErrUnsupported},
		{"file continued into the next cabinet", patch(stored, fileAt+8, 0xFFFE, 2), ErrUnsupported},
		{"file in folder 1 of 1", patch(stored, fileAt+8, 1, 2), ErrFormat},
		{"file of 4 GiB", patch(stored, fileAt, 0xFFFFFFFF, 4), ErrFormat},
		{"file past its folder", patch(stored, fileAt+4, 1, 4), ErrFormat},
		{"name without NUL", patch(stored, fileAt+16+1, 'g', 1), ErrFormat},
		{"name not UTF-8", patch(patch(stored, fileAt+14, attribNameIsUTF, 2), fileAt+16, 0xFF, 1), ErrFormat},
		{"block continued into the next cabinet", patch(stored, dataAt+6, 0, 2), ErrUnsupported},
		{"block of 32769 bytes", patch(stored, dataAt+6, 32769, 2), ErrFormat},
		{"stored block sizes differ", patch(stored, dataAt+6, 2999, 2), ErrFormat},
		{"checksum", patch(stored, dataAt, 0x12345678, 4), ErrChecksum},
		{"stored data changed", patch(stored, dataAt+8+5, 'Z', 1), ErrChecksum},
		{"mszip without CK", patch(patch(mszip, dataAt+8, 'X', 1), dataAt, 0, 4), ErrFormat},
		{"mszip shorter than declared", patch(patch(mszip, dataAt+6, 3001, 2), dataAt, 0, 4), ErrFormat},
		{"mszip longer than declared", patch(patch(mszip, dataAt+6, 2999, 2), dataAt, 0, 4), ErrFormat},
		{"mszip corrupt", patch(patch(mszip, dataAt+8+3, 0xFF, 1), dataAt, 0, 4), ErrFormat},
		{"lzx data corrupt", patch(patch(lzxCab, 0x41+8+100, 0x5A, 1), 0x41, 0, 4), ErrFormat},
		{"128 MiB declared, limit 1 MiB", huge, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := extractAll(tc.cab, 1<<20)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "cab: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

// extractAll opens a cabinet and extracts every file.
func extractAll(cab []byte, limit int64) error {
	c, err := OpenBytes(cab, limit)
	if err != nil {
		return err
	}
	for _, f := range c.Files() {
		b, err := c.ExtractFile(f)
		if err != nil {
			return err
		}
		if int64(len(b)) != f.Size {
			return fmt.Errorf("cab: %q: %d bytes, declared %d", f.Name, len(b), f.Size)
		}
	}
	return nil
}

// hugeDeclaration makes a cabinet whose one stored folder has n CFDATA
// headers of 32,768 declared bytes each but no data: 8 bytes of cabinet
// declare 32 KiB.
func hugeDeclaration(n int) []byte {
	b := buildCab(cabSpec{folders: []uint16{compMSZIP}, files: []wFile{{name: "f", data: []byte("x")}}})
	const folderAt, fileAt, dataAt = 36, 44, 44 + 16 + 2
	b = b[:dataAt]
	for range n {
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, 32768)
	}
	b = patch(b, 8, uint32(len(b)), 4)
	b = patch(b, folderAt+4, uint32(n), 2)
	return patch(b, fileAt, uint32(n*32768), 4)
}

// TestHugeDeclarationAllocatesNothing: a cabinet of 32 KiB declaring 128
// MiB is refused at Open before any buffer of that size exists.
func TestHugeDeclarationAllocatesNothing(t *testing.T) {
	huge := hugeDeclaration(4096)
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const runs = 10
		for range runs {
			f()
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	if per := allocated(func() {
		if _, err := OpenBytes(huge, 64<<20); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
	}); per > 1<<20 {
		t.Fatalf("Open allocated %d bytes to refuse the cabinet", per)
	}
	// With a limit above the declaration the cabinet opens, and extraction
	// fails at the first block without allocating the 128 MiB.
	if per := allocated(func() {
		if err := extractAll(huge, 256<<20); !errors.Is(err, ErrFormat) {
			t.Fatalf("err %v, want ErrFormat", err)
		}
	}); per > 2<<20 {
		t.Fatalf("a failed extraction allocated %d bytes", per)
	}
}

// TestTruncated: every truncation of the three-block sample fails, both as
// is (cbCabinet then exceeds the data) and with cbCabinet set to the
// shorter length, so that the folder and CFDATA checks must catch it.
func TestTruncated(t *testing.T) {
	cab := readTestdata(t, "bundle-a2fef9b0-r200.cab")
	for n := range len(cab) {
		if _, err := DecodeUpdateBlob(cab[:n]); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut to %d bytes: err %v, want ErrFormat", n, err)
		}
		if n < 12 {
			continue
		}
		cut := patch(cab[:n], 8, uint32(n), 4)
		if _, err := DecodeUpdateBlob(cut); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut to %d bytes, cbCabinet %d: err %v, want ErrFormat", n, n, err)
		}
	}
}

// TestTruncatedBlock: the leaf's one CFDATA block cut short, with cbData,
// cbCabinet and the checksum made to agree, reaches the LZX decoder, which
// must refuse every length.
func TestTruncatedBlock(t *testing.T) {
	cab := readTestdata(t, "leaf-266f6222-r200.cab")
	const blockAt = 0x41
	for n := blockAt + 8; n < len(cab); n++ {
		cut := patch(cab[:n], 8, uint32(n), 4)
		cut = patch(cut, blockAt, 0, 4)
		cut = patch(cut, blockAt+4, uint32(n-blockAt-8), 2)
		if _, err := DecodeUpdateBlob(cut); !errors.Is(err, ErrFormat) || !errors.Is(err, lzx.ErrCorrupt) {
			t.Fatalf("block cut to %d bytes: err %v, want ErrFormat and lzx.ErrCorrupt", n-blockAt-8, err)
		}
	}
}

// TestBitFlips: a cabinet with one bit flipped decodes to an error or to
// the very same document (flips in fields that do not matter: reserved
// fields, dates, the name, the set ID), never to another document, and
// never panics.
func TestBitFlips(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			cab := readTestdata(t, s.file+".cab")
			want := readTestdata(t, s.file+".xml")
			step := 1
			if len(cab) > 4000 {
				step = 3 // every third byte of the larger sample, its bits in turn
			}
			flipped := bytes.Clone(cab)
			for i := 0; i < len(cab); i += step {
				bits := []int{i % 8}
				if step == 1 {
					bits = []int{0, 1, 2, 3, 4, 5, 6, 7}
				}
				for _, bit := range bits {
					flipped[i] ^= 1 << bit
					doc, err := DecodeUpdateBlob(flipped)
					if err == nil && !bytes.Equal(doc, want) {
						t.Fatalf("byte %d bit %d flipped: a different document of %d bytes", i, bit, len(doc))
					}
					flipped[i] ^= 1 << bit
				}
			}
		})
	}
}

func TestUpdateBlob(t *testing.T) {
	u16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			if r > 0xFFFF {
				r -= 0x10000
				b = binary.LittleEndian.AppendUint16(b, uint16(0xD800+r>>10))
				b = binary.LittleEndian.AppendUint16(b, uint16(0xDC00+r&0x3FF))
				continue
			}
			b = binary.LittleEndian.AppendUint16(b, uint16(r))
		}
		return b
	}
	blob := func(files ...wFile) []byte {
		return buildCab(cabSpec{folders: []uint16{compMSZIP, compNone}, files: files})
	}
	doc := "<upd:Update a=\"\u00a0é☃😀\">\r\n</upd:Update>"
	cases := []struct {
		name string
		cab  []byte
		want string
		err  error
	}{
		{"utf-16 with all widths", blob(wFile{name: "blob", data: u16(doc)}), doc, nil},
		{"byte order mark dropped", blob(wFile{name: "blob", data: append([]byte{0xFF, 0xFE}, u16(doc)...)}), doc, nil},
		{"any name", blob(wFile{name: "other", data: u16("<a/>")}), "<a/>", nil},
		{"empty", blob(wFile{name: "blob"}), "", nil},
		{"odd length", blob(wFile{name: "blob", data: []byte("<\x00a")}), "", ErrFormat},
		{"lone high surrogate", blob(wFile{name: "blob", data: append(u16("a"), 0x00, 0xD8, 'b', 0)}), "", ErrFormat},
		{"high surrogate at the end", blob(wFile{name: "blob", data: append(u16("a"), 0x00, 0xD8)}), "", ErrFormat},
		{"lone low surrogate", blob(wFile{name: "blob", data: append(u16("a"), 0x00, 0xDC)}), "", ErrFormat},
		{"two files", blob(wFile{name: "blob", data: u16("<a/>")}, wFile{name: "b", data: u16("<b/>")}), "", ErrFormat},
		{"file not filling its folder", blob(wFile{name: "blob", data: u16("<a/>")}, wFile{name: "b", folder: 0}), "", ErrFormat},
	}
	// "file not filling its folder" needs a second file to share the folder; make it so.
	cases[len(cases)-1].cab = buildCab(cabSpec{folders: []uint16{compNone}, files: []wFile{{name: "blob", data: u16("<a/>")}}})
	cases[len(cases)-1].cab = patch(cases[len(cases)-1].cab, 44, 6, 4) // cbFile 6 of 8
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeUpdateBlob(tc.cab)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := decodeUpdateBlob(readTestdata(t, "bundle-a2fef9b0-r200.cab"), 69569); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit one byte below the blob: err %v, want ErrTooLarge", err)
	}
}

func BenchmarkDecodeUpdateBlob(b *testing.B) {
	cab := readTestdata(b, "bundle-a2fef9b0-r200.cab")
	doc := readTestdata(b, "bundle-a2fef9b0-r200.xml")
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeUpdateBlob(cab); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOverlaps: overlapping folders are refused, so that Open's walk is
// bounded by the cabinet; overlapping files count in full against the
// limit, so that extracting them all is too.
func TestOverlaps(t *testing.T) {
	data := compressible(5, 20000)
	two := buildCab(cabSpec{folders: []uint16{compNone, compNone}, files: []wFile{{name: "a", data: data}, {name: "b", data: data, folder: 1}}})
	start := binary.LittleEndian.Uint32(two[36:])
	if _, err := OpenBytes(patch(two, 44, start, 4), 1<<20); !errors.Is(err, ErrFormat) {
		t.Fatalf("folders sharing their data: err %v, want ErrFormat", err)
	}
	var files []wFile
	for i := range 30 {
		files = append(files, wFile{name: fmt.Sprint(i), data: []byte{byte(i)}})
	}
	many := buildCab(cabSpec{folders: []uint16{compNone}, files: files})
	off := 36 + 8
	for i := range files {
		many = patch(many, off, 30, 4) // every file: the whole folder
		many = patch(many, off+4, 0, 4)
		off += 16 + len(files[i].name) + 1
	}
	if err := extractAll(many, 30*30); err != nil {
		t.Fatalf("limit equal to the files' sum: %v", err)
	}
	if _, err := OpenBytes(many, 30*30-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit below the files' sum: err %v, want ErrTooLarge", err)
	}
}
