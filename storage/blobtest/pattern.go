package blobtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"io"

	"wsus/storage"
)

// Pattern is a deterministic pseudo-random object of Size bytes that is
// never held in memory: any byte range of it can be generated on demand
// (ReadAt), so that tests can store and check objects of many gigabytes.
// Different seeds give different objects.
type Pattern struct {
	Seed uint64
	Size int64
}

// word returns the i-th 8-byte word of the pattern: a splitmix64 hash of
// seed and index, so that words can be computed in any order.
func (p Pattern) word(i int64) uint64 {
	z := p.Seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// ReadAt implements io.ReaderAt.
func (p Pattern) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= p.Size {
		return 0, io.EOF
	}
	n := len(b)
	var err error
	if rest := p.Size - off; int64(n) > rest {
		n, err = int(rest), io.EOF
	}
	b = b[:n]
	// Head up to the next word boundary, whole words, then the tail.
	i := 0
	if r := off % 8; r != 0 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], p.word(off/8))
		i = copy(b, w[r:])
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], p.word((off+int64(i))/8))
	}
	if i < n {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], p.word((off+int64(i))/8))
		copy(b[i:], w[:])
	}
	return n, err
}

// Reader returns a new reader of the whole pattern.
func (p Pattern) Reader() io.Reader { return io.NewSectionReader(p, 0, p.Size) }

// Bytes returns bytes [off, off+n) of the pattern (cut at the end); for
// small slices only.
func (p Pattern) Bytes(off, n int64) []byte {
	if off >= p.Size {
		return []byte{}
	}
	b := make([]byte, min(n, p.Size-off))
	p.ReadAt(b, off)
	return b
}

// Digests computes the pattern's SHA-1 and SHA-256 in one streaming pass.
func (p Pattern) Digests() storage.Digests {
	h1, h256 := sha1.New(), sha256.New()
	buf := make([]byte, 1<<20)
	io.CopyBuffer(io.MultiWriter(h1, h256), p.Reader(), buf)
	return storage.Digests{SHA1: h1.Sum(nil), SHA256: h256.Sum(nil)}
}
