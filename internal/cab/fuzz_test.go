package cab

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzCabinet opens arbitrary cabinets and extracts every file.
// Invariants: no panic, no endless loop; every error wraps one of the
// package's errors; a file extracts to exactly its declared size; an
// update blob decodes to valid UTF-8 or fails.
func FuzzCabinet(f *testing.F) {
	for _, s := range samples {
		f.Add(readTestdata(f, s.file+".cab"))
	}
	f.Add(readTestdata(f, "synthetic-lzx15-verbatim.cab"))
	small := compressible(4, 5000)
	f.Add(buildCab(cabSpec{folders: []uint16{compNone}, files: []wFile{{name: "a", data: small[:300]}}}))
	f.Add(buildCab(cabSpec{folders: []uint16{compMSZIP}, blockSize: 2000, files: []wFile{{name: "a", data: small}}}))
	f.Add(buildCab(cabSpec{folders: []uint16{compMSZIP, compNone}, reserveHeader: 4, reserveFolder: 2, reserveData: 1,
		files: []wFile{{name: "a", data: small[:100]}, {name: "b", data: small[100:300], folder: 1}, {name: "c", data: small[300:400]}}}))
	kinds := []error{ErrFormat, ErrChecksum, ErrTooLarge, ErrUnsupported, ErrNotFound}
	known := func(err error) bool {
		for _, k := range kinds {
			if errors.Is(err, k) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 1 << 20
		c, err := OpenBytes(b, limit)
		if err != nil {
			if !known(err) {
				t.Fatalf("Open: error %v wraps none of the package's errors", err)
			}
		} else {
			for _, file := range c.Files() {
				data, err := c.ExtractFile(file)
				if err != nil {
					if !known(err) {
						t.Fatalf("Extract: error %v wraps none of the package's errors", err)
					}
					continue
				}
				if int64(len(data)) != file.Size {
					t.Fatalf("%q: %d bytes, declared %d", file.Name, len(data), file.Size)
				}
			}
		}
		doc, err := decodeUpdateBlob(b, limit)
		if err != nil {
			if !known(err) {
				t.Fatalf("DecodeUpdateBlob: error %v wraps none of the package's errors", err)
			}
			return
		}
		if !utf8.Valid(doc) {
			t.Fatal("DecodeUpdateBlob returned invalid UTF-8")
		}
	})
}
