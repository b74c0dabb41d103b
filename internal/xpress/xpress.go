// Package xpress is the Xpress compression of WSUS SOAP answers: the "Plain
// LZ77" format of [MS-XCA] sections 2.3 (compression) and 2.4
// (decompression), and the block framing of [MS-WUSP] section 2.1.1 that
// carries it over HTTP as Content-Encoding: xpress (MS-WUSP.md section 1.4).
//
// What callers may rely on:
//
//   - Decompress(Compress(x)) is x, for any x; Compress is deterministic.
//   - Compress output for the worked examples of [MS-XCA] section 3.1 is
//     byte for byte the one the specification prints (xpress_test.go).
//   - Decompress and Unframe take hostile input: they never panic, never
//     allocate more than the size the caller allows (Decompress: size;
//     Unframe: max, and each block's declared size), and run in time linear
//     in their input and output.
//
// Plain LZ77 ([MS-XCA] 2.3): 32-bit little-endian flag words, read most
// significant bit first, say for the next 32 symbols whether each is a
// literal byte (0) or a match (1). A match is a 16-bit little-endian word,
// distance-1 in its 13 high bits and length-3 in its 3 low bits; the value 7
// there continues into a half byte (shared by two matches), then a byte, a
// 16-bit and a 32-bit length. Distances reach 8,192 bytes back, lengths are
// at least 3. Extra flag bits after the last symbol are ones.
//
// No Go module implements this format (checked in the Go module proxy's
// package list on 2026-12-06); the code here was written from the
// specification's text.
package xpress

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"sync"
)

// Errors of Decompress and Unframe; the returned error wraps one of them.
var (
	// ErrCorrupt: the input is not a valid stream (a distance before the
	// start of the output, a match longer than the output left, input that
	// ends early, a malformed block header).
	ErrCorrupt = errors.New("xpress: corrupt input")
	// ErrTooLarge: the declared output exceeds the limit the caller gave.
	ErrTooLarge = errors.New("xpress: output exceeds the limit")
)

const (
	maxDistance = 8192 // 13 bits of distance-1
	minMatch    = 3    // the shortest match the format encodes
	// hashBytes is how many bytes the match finder hashes: a match it
	// finds is at least that long (a 3-byte match saves only one byte and
	// two flag bits over three literals).
	hashBytes = 4
	hashBits  = 15
	// chainDepth bounds the candidates tried per position; niceLength
	// ends the search early: longer matches gain little.
	chainDepth = 24
	niceLength = 128
)

// encoder is the state of the match finder, reused between calls through
// a pool. Positions are stored offset by base, which grows with every call,
// so that entries of earlier inputs read as too far back and the tables
// need no clearing.
type encoder struct {
	head [1 << hashBits]int32
	prev [maxDistance]int32
	base int32
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// Compress appends the Plain LZ77 compression of src to dst and returns the
// extended slice. Any length of src is allowed; WUSP blocks are at most
// MaxBlockSize (see Frame).
func Compress(dst, src []byte) []byte {
	e := encoders.Get().(*encoder)
	dst = e.compress(dst, src)
	encoders.Put(e)
	return dst
}

// MaxCompressedLen is the most Compress may write for n input bytes: every
// byte a literal, one 4-byte flag word per 32 of them and one more.
func MaxCompressedLen(n int) int { return n + 4*(n/32) + 4 }

func hash4(u uint32) uint32 { return (u * 2654435761) >> (32 - hashBits) }

func (e *encoder) compress(dst, src []byte) []byte {
	// Restart the position space well before int32 overflows; entries of
	// earlier inputs must all be at least maxDistance below base.
	if int64(e.base)+int64(len(src))+2*maxDistance > 1<<31-1 || len(src) > 1<<30 {
		e.head = [1 << hashBits]int32{}
		e.prev = [maxDistance]int32{}
		e.base = 0
	}
	base := e.base + maxDistance + 1 // every stored entry is now out of reach
	e.base = base + int32(len(src))

	dst = growCap(dst, MaxCompressedLen(len(src)))
	w := writer{out: dst, flagPos: len(dst), nibblePos: -1}
	w.out = append(w.out, 0, 0, 0, 0)

	ins := 0 // positions below ins are in the chains
	insert := func(i int) {
		ins = i + 1
		h := hash4(binary.LittleEndian.Uint32(src[i:]))
		e.prev[i&(maxDistance-1)] = e.head[h]
		e.head[h] = base + int32(i)
	}
	// find returns the longest match at i among the chain's candidates
	// (inserting i), or length 0.
	find := func(i int) (length, dist int) {
		if i+hashBytes > len(src) {
			return 0, 0
		}
		ins = i + 1
		h := hash4(binary.LittleEndian.Uint32(src[i:]))
		cand := e.head[h]
		e.prev[i&(maxDistance-1)] = cand
		e.head[h] = base + int32(i)
		limit := len(src) - i
		for depth := 0; depth < chainDepth; depth++ {
			p := int(cand - base)
			if p < 0 || i-p > maxDistance || p >= i {
				break
			}
			if src[p+length] == src[i+length] || length == 0 {
				if n := matchLen(src[p:], src[i:], limit); n > length {
					length, dist = n, i-p
					if n >= niceLength || n == limit {
						break
					}
				}
			}
			next := e.prev[p&(maxDistance-1)]
			if next >= cand {
				break
			}
			cand = next
		}
		if length < hashBytes {
			return 0, 0
		}
		return length, dist
	}

	i := 0
	length, dist := find(0)
	for i < len(src) {
		if length == 0 {
			w.literal(src[i])
			i++
			length, dist = find(i)
			continue
		}
		// One step of lazy evaluation: a longer match at the next byte
		// is worth a literal here.
		if length < niceLength && i+1 < len(src) {
			if l2, d2 := find(i + 1); l2 > length {
				w.literal(src[i])
				i++
				length, dist = l2, d2
				continue
			}
		}
		w.match(length, dist)
		end := i + length
		// Positions inside the match join the chains.
		for j := max(i+1, ins); j < end && j+hashBytes <= len(src); j++ {
			insert(j)
		}
		i = end
		length, dist = find(i)
	}
	return w.finish()
}

// matchLen returns how many leading bytes a and b share, at most limit
// (both are at least limit long).
func matchLen(a, b []byte, limit int) int {
	n := 0
	for n+8 <= limit {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < limit && a[n] == b[n] {
		n++
	}
	return n
}

// writer emits the symbols of one Plain LZ77 stream ([MS-XCA] 2.3).
type writer struct {
	out       []byte
	flags     uint32
	nflags    int
	flagPos   int // where the current flag word goes
	nibblePos int // the byte whose high half-byte is free, or -1
}

func (w *writer) flag(bit uint32) {
	w.flags = w.flags<<1 | bit
	w.nflags++
	if w.nflags == 32 {
		binary.LittleEndian.PutUint32(w.out[w.flagPos:], w.flags)
		w.flagPos = len(w.out)
		w.out = append(w.out, 0, 0, 0, 0)
		w.flags, w.nflags = 0, 0
	}
}

func (w *writer) literal(b byte) {
	w.out = append(w.out, b)
	w.flag(0)
}

// match writes a match of length ≥ 3 at distance 1..maxDistance.
func (w *writer) match(length, dist int) {
	l := length - minMatch
	code := min(l, 7)
	w.out = binary.LittleEndian.AppendUint16(w.out, uint16((dist-1)<<3|code))
	if l >= 7 {
		l -= 7
		nib := min(l, 15)
		if w.nibblePos < 0 {
			w.nibblePos = len(w.out)
			w.out = append(w.out, byte(nib))
		} else {
			w.out[w.nibblePos] |= byte(nib) << 4
			w.nibblePos = -1
		}
		if l >= 15 {
			l -= 15
			if l < 255 {
				w.out = append(w.out, byte(l))
			} else {
				w.out = append(w.out, 255)
				l += 15 + 7 // the 16- and 32-bit forms carry length-3
				if l < 1<<16 {
					w.out = binary.LittleEndian.AppendUint16(w.out, uint16(l))
				} else {
					w.out = binary.LittleEndian.AppendUint16(w.out, 0)
					w.out = binary.LittleEndian.AppendUint32(w.out, uint32(l))
				}
			}
		}
	}
	w.flag(1)
}

// finish fills the last flag word with ones and returns the stream.
func (w *writer) finish() []byte {
	free := 32 - w.nflags
	flags := uint32(uint64(w.flags)<<free | (uint64(1)<<free - 1))
	binary.LittleEndian.PutUint32(w.out[w.flagPos:], flags)
	return w.out
}

// growCap returns b with room for n more bytes.
func growCap(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// Decompress appends to dst the size bytes that the Plain LZ77 stream src
// decodes to ([MS-XCA] 2.4) and returns the extended slice. It stops once
// size bytes are out (input left over is ignored: an encoder that ended on
// a full flag word writes one more); input that ends before is ErrCorrupt.
// It allocates at most size bytes beyond dst's capacity, so size must come
// from a bound the caller trusts (a block header already checked against
// a limit).
func Decompress(dst, src []byte, size int) ([]byte, error) {
	if size < 0 {
		return dst, corrupt("negative size")
	}
	start := len(dst)
	dst = growCap(dst, size)
	out := dst[:start+size]
	o, end := start, start+size
	in := 0
	var flags uint32
	nflags := 0
	nibblePos := -1
	for o < end {
		if nflags == 0 {
			if in+4 > len(src) {
				return dst[:o], corrupt("input ends in a flag word")
			}
			flags = binary.LittleEndian.Uint32(src[in:])
			in += 4
			nflags = 32
		}
		nflags--
		if flags&(1<<nflags) == 0 {
			if in >= len(src) {
				return dst[:o], corrupt("input ends before the output")
			}
			out[o] = src[in]
			o++
			in++
			continue
		}
		if in+2 > len(src) {
			return dst[:o], corrupt("input ends in a match")
		}
		tok := int(binary.LittleEndian.Uint16(src[in:]))
		in += 2
		dist := tok>>3 + 1
		length := tok & 7
		if length == 7 {
			if nibblePos < 0 {
				if in >= len(src) {
					return dst[:o], corrupt("input ends in a match length")
				}
				length = int(src[in] & 15)
				nibblePos = in
				in++
			} else {
				length = int(src[nibblePos] >> 4)
				nibblePos = -1
			}
			if length == 15 {
				if in >= len(src) {
					return dst[:o], corrupt("input ends in a match length")
				}
				length = int(src[in])
				in++
				if length == 255 {
					if in+2 > len(src) {
						return dst[:o], corrupt("input ends in a match length")
					}
					length = int(binary.LittleEndian.Uint16(src[in:]))
					in += 2
					if length == 0 {
						if in+4 > len(src) {
							return dst[:o], corrupt("input ends in a match length")
						}
						length = int(binary.LittleEndian.Uint32(src[in:]))
						in += 4
					}
					if length < 15+7 {
						return dst[:o], corrupt("match length below its form's minimum")
					}
					length -= 15 + 7
				}
				length += 15
			}
			length += 7
		}
		length += minMatch
		if dist > o-start {
			return dst[:o], corrupt("match reaches before the start")
		}
		if length > end-o {
			return dst[:o], corrupt("match runs past the declared size")
		}
		from := o - dist
		if dist >= length {
			copy(out[o:o+length], out[from:from+length])
			o += length
			continue
		}
		// Overlapping: the match repeats its last dist bytes.
		for k := 0; k < length; k++ {
			out[o+k] = out[from+k]
		}
		o += length
	}
	return out, nil
}

func corrupt(why string) error { return &formatError{why} }

type formatError struct{ why string }

func (e *formatError) Error() string { return "xpress: corrupt input: " + e.why }
func (e *formatError) Unwrap() error { return ErrCorrupt }
