// Package lzx decodes LZX as Microsoft Cabinet files use it: the
// compression of a CAB folder whose CFFOLDER.typeCompress is LZX
// ([MS-CAB] section 2.2, typeCompress 0x0003 with the window size in bits
// 8 to 12), one continuous stream per folder, fed one CFDATA block at a
// time.
//
// # Contract
//
// A Decoder decodes one stream. Decode takes the compressed bytes of one
// CFDATA block and the uncompressed size that block declares and appends
// exactly that many bytes to dst, or fails. Each block is one frame of
// 32,768 uncompressed bytes; only the last block of a folder may be shorter,
// and a Decoder refuses any block after a short one. The window, the
// repeated offsets, the path lengths the next trees are coded against and a
// block that is not finished carry from one frame to the next.
//
// Decoding never panics and allocates nothing beyond NewDecoder's history
// buffer (the window, or the whole declared output when that is smaller),
// four fixed-size Huffman decoders and the bytes appended to dst. Every loop
// ends within the output it must produce or the input it was given.
// Malformed input returns an error wrapping ErrCorrupt; after an error the
// Decoder keeps returning it.
//
// # Format
//
// The format is the one Microsoft documents twice: "Microsoft LZX Data
// Compression Format" in the Cabinet SDK, and [MS-PATCH] "LZX DELTA
// Compression and Decompression", of which cabinet LZX is the subset
// without reference data. The sections of [MS-PATCH] this package follows:
//   - 2.2.1 Chunk Size: output is cut in 32 KB chunks (frames) and the
//     bitstream is padded to a 16-bit boundary after each. In a cabinet the
//     chunk size prefix of LZXD is absent: CFDATA.cbData is the chunk size.
//   - 2.2.2 E8 Call Translation: the stream header is one bit, and if it is
//     set, the 32-bit translation size; the translation is reversed on each
//     frame of more than 10 bytes that starts before 1 GiB (frame 32,768),
//     on the output only, never in the window.
//   - 2.3.1 Block Header: 3 bits of block type, 24 bits of uncompressed size.
//     Blocks may span frames and frames may hold several blocks.
//   - 2.3.2.1 Uncompressed Block: 1 to 16 bits of padding, R0, R1 and R2 as
//     little-endian 32-bit values, the bytes, one padding byte after an odd
//     size.
//   - 2.3.2.2 Verbatim Block and 2.3.2.3 Aligned Offset Block: pretrees of
//     20 4-bit lengths that code the main tree (256 literals plus 8 length
//     headers per position slot) in two parts and the length tree (249
//     elements) as deltas against the previous lengths, runs of zeros (17,
//     18) and runs of one value (19); the aligned offset tree is 8 3-bit
//     lengths.
//   - 2.6, the token sequence: match lengths 2 to 257, offsets by position slot
//     with footer bits (aligned blocks code the low 3 bits of footers of 3
//     or more bits with the aligned tree), slots 0 to 2 use the repeated
//     offsets R0, R1, R2 (initially 1) with LRU swaps. The LZXD-only
//     extended match lengths are not part of cabinet LZX.
//
// Windows of 2^15 to 2^21 bytes have 30, 32, 34, 36, 38, 42 and 50
// position slots, so a CAB_LZX folder codes offsets up to the window size
// minus 3.
//
// Where the descriptions are silent this package is strict and says so
// with [I]: a match may not cross the end of its block or frame, a tree's
// runs may not pass the end of the tree, a frame's compressed bytes must be
// used up exactly after the padding, and a match may not reach before the
// first byte of the stream (cabinet LZX has no reference data). It is
// lenient in one place: the padding byte of an odd uncompressed block that
// ends a frame may be the last byte of that frame's data or the first of
// the next frame's (cabextract, which reads a folder as one byte stream,
// accepts both; the round trip tests write both).
//
// The two real cabinets of ../cab/testdata use aligned offset blocks and E8
// translation (translation size 12,000,000), one of them a block spanning
// three frames; the other paths are tested on streams a test encoder makes,
// which cabextract decodes to the same bytes (roundtrip_test.go).
package lzx

import (
	"errors"
	"fmt"
)

// FrameSize is the uncompressed size of every frame (CFDATA block) of a
// stream but the last.
const FrameSize = 32768

// The window sizes a cabinet may declare, as powers of two ([MS-CAB] 2.2:
// LZX window 15 to 21).
const (
	MinWindowBits = 15
	MaxWindowBits = 21
)

// ErrCorrupt is wrapped by every error about the compressed data.
var ErrCorrupt = errors.New("lzx: corrupt data")

const (
	blockVerbatim     = 1
	blockAligned      = 2
	blockUncompressed = 3

	numChars          = 256
	lengthTreeSize    = 249
	alignedTreeSize   = 8
	pretreeSize       = 20
	minMatch          = 2
	numPrimaryLengths = 7
	maxMainTreeSize   = numChars + 8*50
)

// footerBits and positionBase give, per position slot, the number of footer
// bits and the formatted offset of the slot's first position.
var (
	footerBits   [50]uint8
	positionBase [51]uint32
)

func init() {
	for s := range footerBits {
		switch {
		case s < 4:
			footerBits[s] = 0
		case s >= 36:
			footerBits[s] = 17
		default:
			footerBits[s] = uint8(s/2 - 1)
		}
		positionBase[s+1] = positionBase[s] + 1<<footerBits[s]
	}
}

// numPositionSlots is the number of slots whose positions lie within a
// window of 1<<bits bytes.
func numPositionSlots(bits int) int {
	n := 0
	for positionBase[n] < 1<<bits {
		n++
	}
	return n
}

// Decoder decodes the LZX stream of one cabinet folder, frame by frame.
type Decoder struct {
	window     []byte // history; index = stream position & mask
	mask       int64
	windowSize int64
	limit      int64 // total output allowed; -1 when unknown
	pos        int64 // bytes decoded so far
	frames     int
	ended      bool // a short frame was decoded: the stream is over
	err        error

	headerRead bool
	e8Size     int32 // translation size, when e8 is set
	e8         bool

	r0, r1, r2     uint32
	blockType      int
	blockRemaining int
	blockOdd       bool // the current uncompressed block has an odd size
	padPending     bool // the padding byte after an odd uncompressed block is still unread

	mainSize    int
	mainLens    [maxMainTreeSize]uint8
	lengthLens  [lengthTreeSize]uint8
	alignedLens [alignedTreeSize]uint8
	main        *huffman
	length      *huffman
	aligned     *huffman
	pretree     *huffman
	preLens     [pretreeSize]uint8
	br          bitReader
}

// NewDecoder returns a Decoder for a stream compressed with a window of
// 1<<windowBits bytes. total is the stream's declared uncompressed size
// (the sum of its CFDATA.cbUncomp), or -1 when unknown: with it, a stream
// smaller than the window gets a history buffer of its own size, and
// decoding more than total bytes is an error.
func NewDecoder(windowBits int, total int64) (*Decoder, error) {
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return nil, fmt.Errorf("%w: window of 2^%d bytes, want 2^%d to 2^%d", ErrCorrupt, windowBits, MinWindowBits, MaxWindowBits)
	}
	size := int64(1) << windowBits
	buf := size
	if total >= 0 && total < size {
		buf = total
	}
	slots := numPositionSlots(windowBits)
	d := &Decoder{
		window:     make([]byte, buf),
		mask:       size - 1,
		windowSize: size,
		limit:      total,
		r0:         1, r1: 1, r2: 1,
		mainSize: numChars + 8*slots,
		main:     newHuffman(numChars + 8*slots),
		length:   newHuffman(lengthTreeSize),
		aligned:  newHuffman(alignedTreeSize),
		pretree:  newHuffman(pretreeSize),
	}
	return d, nil
}

// Decode decodes one frame: src is the compressed data of one CFDATA block
// (CFDATA.ab), size its declared uncompressed size (CFDATA.cbUncomp, 1 to
// FrameSize). It appends the size bytes to dst and returns the extended
// slice.
func (d *Decoder) Decode(dst, src []byte, size int) ([]byte, error) {
	if d.err != nil {
		return dst, d.err
	}
	switch {
	case size < 1 || size > FrameSize:
		d.err = fmt.Errorf("%w: frame %d: uncompressed size %d, want 1 to %d", ErrCorrupt, d.frames, size, FrameSize)
	case d.ended:
		d.err = fmt.Errorf("%w: frame %d follows a frame shorter than %d bytes", ErrCorrupt, d.frames, FrameSize)
	case d.limit >= 0 && d.pos+int64(size) > d.limit:
		d.err = fmt.Errorf("%w: frame %d: %d bytes pass the declared total of %d", ErrCorrupt, d.frames, size, d.limit)
	}
	if d.err != nil {
		return dst, d.err
	}
	start := d.pos
	if err := d.frame(src, size); err != nil {
		d.err = fmt.Errorf("%w: frame %d: %w", ErrCorrupt, d.frames, err)
		return dst, d.err
	}
	i := int(start & d.mask)
	n := len(dst)
	dst = append(dst, d.window[i:i+size]...)
	if d.e8 && start < 1<<30 {
		undoE8(dst[n:], int32(start), d.e8Size)
	}
	d.frames++
	if size < FrameSize {
		d.ended = true
	}
	return dst, nil
}

// frame decodes size bytes into the window.
func (d *Decoder) frame(src []byte, size int) error {
	br := &d.br
	br.reset(src)
	if !d.headerRead {
		d.headerRead = true
		if br.bits(1) == 1 {
			hi := br.bits(16)
			lo := br.bits(16)
			d.e8 = true
			d.e8Size = int32(hi<<16 | lo)
		}
	}
	todo := size
	for todo > 0 {
		if d.blockRemaining == 0 {
			if err := d.readBlockHeader(); err != nil {
				return err
			}
		}
		run := min(d.blockRemaining, todo)
		var err error
		if d.blockType == blockUncompressed {
			err = d.copyUncompressed(run)
		} else {
			err = d.decodeTokens(run)
		}
		if err != nil {
			return err
		}
		d.blockRemaining -= run
		todo -= run
	}
	if d.blockType == blockUncompressed {
		if d.blockRemaining == 0 && d.padPending && br.i < len(src) {
			br.i++ // the padding byte of an odd block that ended with the frame
			d.padPending = false
		}
	} else {
		br.alignWord()
	}
	if br.overrun() {
		return fmt.Errorf("compressed data ends %d bytes early", br.consumed()-len(src))
	}
	if c := br.consumed(); c != len(src) {
		return fmt.Errorf("%d bytes left after the frame [I]", len(src)-c)
	}
	return nil
}

func (d *Decoder) readBlockHeader() error {
	br := &d.br
	if d.padPending {
		// [I] The padding byte of an odd uncompressed block that ended
		// with the previous frame, when that frame's data did not hold it.
		if br.n != 0 || br.i >= len(br.src) {
			return errors.New("padding byte after an uncompressed block missing")
		}
		br.i++
		d.padPending = false
	}
	d.blockType = int(br.bits(3))
	hi := br.bits(16)
	lo := br.bits(8)
	d.blockRemaining = int(hi<<8 | lo)
	if d.blockRemaining == 0 {
		return errors.New("block of 0 bytes [I]")
	}
	switch d.blockType {
	case blockAligned:
		for i := range d.alignedLens {
			d.alignedLens[i] = uint8(br.bits(3))
		}
		if err := d.aligned.build(d.alignedLens[:]); err != nil {
			return fmt.Errorf("aligned offset tree: %w", err)
		}
		fallthrough
	case blockVerbatim:
		if err := d.readLengths(d.mainLens[:numChars]); err != nil {
			return fmt.Errorf("main tree: %w", err)
		}
		if err := d.readLengths(d.mainLens[numChars:d.mainSize]); err != nil {
			return fmt.Errorf("main tree: %w", err)
		}
		if err := d.main.build(d.mainLens[:d.mainSize]); err != nil {
			return fmt.Errorf("main tree: %w", err)
		}
		if err := d.readLengths(d.lengthLens[:]); err != nil {
			return fmt.Errorf("length tree: %w", err)
		}
		if err := d.length.build(d.lengthLens[:]); err != nil {
			return fmt.Errorf("length tree: %w", err)
		}
	case blockUncompressed:
		br.toBytes()
		if br.i+12 > len(br.src) {
			return errors.New("uncompressed block header truncated")
		}
		d.r0 = le32(br.src[br.i:])
		d.r1 = le32(br.src[br.i+4:])
		d.r2 = le32(br.src[br.i+8:])
		br.i += 12
		d.blockOdd = d.blockRemaining&1 == 1
	default:
		return fmt.Errorf("block type %d", d.blockType)
	}
	if br.overrun() {
		return errors.New("compressed data ends within a block header")
	}
	return nil
}

// readLengths reads a pretree and, coded with it, new path lengths for
// lens as deltas against the lengths lens holds ([MS-PATCH] 2.3.2.2, the pretree fields).
func (d *Decoder) readLengths(lens []uint8) error {
	br := &d.br
	for i := range d.preLens {
		d.preLens[i] = uint8(br.bits(4))
	}
	if err := d.pretree.build(d.preLens[:]); err != nil {
		return fmt.Errorf("pretree: %w", err)
	}
	for x := 0; x < len(lens); {
		br.refill()
		z, err := d.pretree.decode(br)
		if err != nil {
			return fmt.Errorf("pretree: %w", err)
		}
		var run int
		var v uint8
		switch z {
		case 17:
			run = 4 + int(br.bits(4))
		case 18:
			run = 20 + int(br.bits(5))
		case 19:
			run = 4 + int(br.bits(1))
			br.refill()
			z, err = d.pretree.decode(br)
			if err != nil {
				return fmt.Errorf("pretree: %w", err)
			}
			if z > 16 {
				return fmt.Errorf("pretree element %d after a run of equal lengths", z)
			}
			v = uint8((int(lens[x]) + 17 - z) % 17)
		default:
			lens[x] = uint8((int(lens[x]) + 17 - z) % 17)
			x++
			continue
		}
		if run > len(lens)-x {
			return fmt.Errorf("run of %d lengths passes the end of the tree at %d of %d [I]", run, x, len(lens))
		}
		for end := x + run; x < end; x++ {
			lens[x] = v
		}
	}
	return nil
}

// copyUncompressed copies n bytes of an uncompressed block into the window.
func (d *Decoder) copyUncompressed(n int) error {
	br := &d.br
	if br.i+n > len(br.src) {
		return fmt.Errorf("uncompressed block: %d bytes wanted, %d left", n, max(len(br.src)-br.i, 0))
	}
	i := int(d.pos & d.mask)
	copy(d.window[i:i+n], br.src[br.i:br.i+n])
	br.i += n
	d.pos += int64(n)
	if n == d.blockRemaining && d.blockOdd {
		// The block ends here: its padding byte follows, possibly only at
		// the start of the next frame's data.
		d.padPending = true
		if br.i < len(br.src) {
			br.i++
			d.padPending = false
		}
	}
	return nil
}

// decodeTokens decodes literals and matches of a verbatim or aligned
// offset block that produce exactly n bytes.
func (d *Decoder) decodeTokens(n int) error {
	br := &d.br
	win := d.window
	mask := d.mask
	pos := d.pos
	aligned := d.blockType == blockAligned
	for n > 0 {
		br.refill()
		sym, err := d.main.decode(br)
		if err != nil {
			d.pos = pos
			return fmt.Errorf("main tree: %w", err)
		}
		if sym < numChars {
			win[pos&mask] = byte(sym)
			pos++
			n--
			continue
		}
		sym -= numChars
		length := sym&7 + minMatch
		slot := sym >> 3
		if sym&7 == numPrimaryLengths {
			br.refill()
			l, err := d.length.decode(br)
			if err != nil {
				d.pos = pos
				return fmt.Errorf("length tree: %w", err)
			}
			length += l
		}
		var off uint32
		switch slot {
		case 0:
			off = d.r0
		case 1:
			off = d.r1
			d.r1 = d.r0
			d.r0 = off
		case 2:
			off = d.r2
			d.r2 = d.r0
			d.r0 = off
		default:
			extra := uint(footerBits[slot])
			formatted := positionBase[slot]
			if aligned && extra >= 3 {
				formatted += br.bits(extra-3) << 3
				br.refill()
				a, err := d.aligned.decode(br)
				if err != nil {
					d.pos = pos
					return fmt.Errorf("aligned offset tree: %w", err)
				}
				formatted += uint32(a)
			} else {
				formatted += br.bits(extra)
			}
			off = formatted - 2
			d.r2 = d.r1
			d.r1 = d.r0
			d.r0 = off
		}
		if length > n {
			d.pos = pos
			return fmt.Errorf("match of %d bytes passes the end of its block or frame, %d bytes away [I]", length, n)
		}
		if off == 0 || int64(off) > pos || int64(off) > d.windowSize {
			d.pos = pos
			return fmt.Errorf("match offset %d with %d bytes decoded", off, pos)
		}
		src := (pos - int64(off)) & mask
		dst := pos & mask
		if length >= 16 && int(off) >= length && src+int64(length) <= int64(len(win)) {
			copy(win[dst:dst+int64(length)], win[src:src+int64(length)])
		} else {
			for k := 0; k < length; k++ {
				win[dst] = win[src]
				dst = (dst + 1) & mask
				src = (src + 1) & mask
			}
		}
		pos += int64(length)
		n -= length
	}
	d.pos = pos
	return nil
}

// undoE8 reverses the E8 call translation on one frame that starts at
// stream position start ([MS-PATCH] 2.2.2).
func undoE8(b []byte, start, size int32) {
	if len(b) <= 10 {
		return
	}
	for i := 0; i < len(b)-10; i++ {
		if b[i] != 0xE8 {
			continue
		}
		cur := int64(start) + int64(i)
		v := int64(int32(le32(b[i+1:])))
		if v >= -cur && v < int64(size) {
			var rel int64
			if v >= 0 {
				rel = v - cur
			} else {
				rel = v + int64(size)
			}
			u := uint32(rel)
			b[i+1] = byte(u)
			b[i+2] = byte(u >> 8)
			b[i+3] = byte(u >> 16)
			b[i+4] = byte(u >> 24)
		}
		i += 4
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
