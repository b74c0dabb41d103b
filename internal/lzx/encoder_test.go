package lzx

import (
	"encoding/binary"
	"slices"
	"sort"
)

// A small LZX encoder, for tests only: it writes the block types, trees,
// runs, repeated offsets, E8 translation and frame padding the decoder
// reads, so that the paths the two real samples do not take (verbatim and
// uncompressed blocks, a window that wraps, long codes) are decoded from
// streams made here. Its output was also checked once against cabextract:
// see ../cab/testdata/README.md (synthetic-lzx15.cab).

// bitWriter writes 16-bit little-endian words, most significant bit first.
type bitWriter struct {
	out []byte
	acc uint32
	n   uint // bits in acc, < 16
}

func (w *bitWriter) bits(v uint32, n uint) {
	for n > 0 {
		take := min(n, 16-w.n)
		n -= take
		w.acc = w.acc<<take | (v>>n)&(1<<take-1)
		w.n += take
		if w.n == 16 {
			w.out = append(w.out, byte(w.acc), byte(w.acc>>8))
			w.acc, w.n = 0, 0
		}
	}
}

// align pads with zeros to a 16-bit boundary.
func (w *bitWriter) align() {
	if w.n > 0 {
		w.bits(0, 16-w.n)
	}
}

type encBlock struct {
	typ  int
	size int
}

type encoder struct {
	windowBits int
	slots      int
	e8         bool
	e8Size     int32
	padLate    bool // write an odd uncompressed block's padding byte after a frame cut that ends the block

	w          bitWriter
	chunks     [][]byte // compressed data of each frame
	chunkStart int
	data       []byte // the (E8-translated) input
	pos        int
	r          [3]uint32
	mainLens   []uint8
	lengthLens []uint8
	head       map[uint32]int
	alCodes    []code
}

type token struct {
	lit    bool
	b      byte
	length int
	off    uint32
}

func newEncoder(windowBits int) *encoder {
	slots := numPositionSlots(windowBits)
	return &encoder{
		windowBits: windowBits,
		slots:      slots,
		r:          [3]uint32{1, 1, 1},
		mainLens:   make([]uint8, numChars+8*slots),
		lengthLens: make([]uint8, lengthTreeSize),
		head:       map[uint32]int{},
	}
}

// e8Forward applies the translation [MS-PATCH] 2.2.2 describes for the
// compressor, frame by frame.
func e8Forward(b []byte, size int32) []byte {
	b = slices.Clone(b)
	for start := 0; start < len(b) && start < 1<<30; start += FrameSize {
		f := b[start:min(start+FrameSize, len(b))]
		if len(f) <= 10 {
			continue
		}
		for i := 0; i < len(f)-10; i++ {
			if f[i] != 0xE8 {
				continue
			}
			cur := int64(start + i)
			d := int64(int32(binary.LittleEndian.Uint32(f[i+1:])))
			a := cur + d
			if a >= 0 && a < int64(size)+cur {
				v := a
				if a >= int64(size) {
					v = d - int64(size)
				}
				binary.LittleEndian.PutUint32(f[i+1:], uint32(v))
			}
			i += 4
		}
	}
	return b
}

// encode compresses data in the given blocks (their sizes must add up to
// len(data)) and returns the compressed data of each frame.
func (e *encoder) encode(data []byte, blocks []encBlock) [][]byte {
	if e.e8 {
		data = e8Forward(data, e.e8Size)
	}
	e.data = data
	if e.e8 {
		e.w.bits(1, 1)
		e.w.bits(uint32(e.e8Size)>>16, 16)
		e.w.bits(uint32(e.e8Size)&0xFFFF, 16)
	} else {
		e.w.bits(0, 1)
	}
	for _, b := range blocks {
		if b.typ == blockUncompressed {
			e.uncompressed(b.size)
		} else {
			e.compressed(b.typ, b.size)
		}
	}
	if e.pos%FrameSize != 0 {
		e.cut()
	}
	return e.chunks
}

// cut ends the current frame.
func (e *encoder) cut() {
	e.w.align()
	e.chunks = append(e.chunks, slices.Clone(e.w.out[e.chunkStart:]))
	e.chunkStart = len(e.w.out)
}

func (e *encoder) advance(n int) {
	e.pos += n
	if e.pos%FrameSize == 0 {
		e.cut()
	}
}

func (e *encoder) blockHeader(typ, size int) {
	e.w.bits(uint32(typ), 3)
	e.w.bits(uint32(size)>>8, 16)
	e.w.bits(uint32(size)&0xFF, 8)
}

func (e *encoder) uncompressed(size int) {
	e.blockHeader(blockUncompressed, size)
	if e.w.n == 0 {
		e.w.bits(0, 16)
	} else {
		e.w.align()
	}
	for _, r := range e.r {
		e.w.out = binary.LittleEndian.AppendUint32(e.w.out, r)
	}
	end := e.pos + size
	for e.pos < end {
		n := min(end-e.pos, FrameSize-e.pos%FrameSize)
		e.w.out = append(e.w.out, e.data[e.pos:e.pos+n]...)
		last := e.pos+n == end
		if last && size%2 == 1 && !(e.padLate && end%FrameSize == 0) {
			e.w.out = append(e.w.out, 0)
		}
		e.advance(n)
		if last && size%2 == 1 && e.padLate && end%FrameSize == 0 {
			e.w.out = append(e.w.out, 0)
		}
	}
}

// tokens finds matches greedily within [pos, end), never across a frame end.
func (e *encoder) tokens(end int) []token {
	var toks []token
	maxOff := 1<<e.windowBits - 3
	p := e.pos
	for p < end {
		limit := min(end, (p/FrameSize+1)*FrameSize)
		best, bestOff := 0, 0
		// Prefer the repeated offsets, then the last position of the hash.
		cands := [4]int{int(e.r[0]), int(e.r[1]), int(e.r[2]), 0}
		if p+3 <= len(e.data) {
			h := uint32(e.data[p]) | uint32(e.data[p+1])<<8 | uint32(e.data[p+2])<<16
			if q, ok := e.head[h]; ok {
				cands[3] = p - q
			}
			e.head[h] = p
		}
		for _, off := range cands {
			if off < 1 || off > p || off > maxOff {
				continue
			}
			l := 0
			for l < 257 && p+l < limit && e.data[p+l-off] == e.data[p+l] {
				l++
			}
			if l > best {
				best, bestOff = l, off
			}
		}
		if best >= 3 {
			toks = append(toks, token{length: best, off: uint32(bestOff)})
			p += best
		} else {
			toks = append(toks, token{lit: true, b: e.data[p]})
			p++
		}
	}
	return toks
}

type code struct {
	bits uint32
	n    uint
}

// lengthsFor returns Huffman path lengths of at most maxLen bits for the
// frequencies, complete (Kraft sum 1) when two or more are non-zero.
func lengthsFor(freq []int, maxLen int) []uint8 {
	for {
		lens := huffmanLengths(freq)
		if int(slices.Max(lens)) <= maxLen {
			return lens
		}
		for i := range freq {
			if freq[i] > 0 {
				freq[i] = (freq[i] + 1) / 2
			}
		}
	}
}

func huffmanLengths(freq []int) []uint8 {
	// The two-queue method: leaves sorted by weight once, inner nodes made
	// in order of weight.
	type node struct{ w, left, right, sym int }
	var nodes []node
	for s, f := range freq {
		if f > 0 {
			nodes = append(nodes, node{f, -1, -1, s})
		}
	}
	lens := make([]uint8, len(freq))
	if len(nodes) == 1 {
		lens[nodes[0].sym] = 1
		return lens
	}
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].w < nodes[j].w })
	leaves := len(nodes)
	li, qi := 0, leaves // next leaf, next inner node
	pick := func() int {
		if li < leaves && (qi >= len(nodes) || nodes[li].w <= nodes[qi].w) {
			li++
			return li - 1
		}
		qi++
		return qi - 1
	}
	for range leaves - 1 {
		a, b := pick(), pick()
		nodes = append(nodes, node{nodes[a].w + nodes[b].w, a, b, -1})
	}
	var walk func(i int, depth uint8)
	walk = func(i int, depth uint8) {
		if nodes[i].sym >= 0 {
			lens[nodes[i].sym] = depth
			return
		}
		walk(nodes[i].left, depth+1)
		walk(nodes[i].right, depth+1)
	}
	walk(len(nodes)-1, 0)
	return lens
}

// canonical assigns the canonical codes of [MS-PATCH] (its section on Huffman trees) to lens.
func canonical(lens []uint8) []code {
	codes := make([]code, len(lens))
	next := uint32(0)
	for l := uint8(1); l <= 16; l++ {
		for s, sl := range lens {
			if sl == l {
				codes[s] = code{next, uint(l)}
				next++
			}
		}
		next <<= 1
	}
	return codes
}

// treeSymbols codes new lengths against prev with the pretree alphabet.
func treeSymbols(prev, lens []uint8) (syms []int, extra []code) {
	delta := func(x int, v uint8) int { return (int(prev[x]) - int(v) + 17) % 17 }
	for x := 0; x < len(lens); {
		run := 1
		for x+run < len(lens) && lens[x+run] == lens[x] {
			run++
		}
		switch {
		case lens[x] == 0 && run >= 20:
			n := min(run, 51)
			syms, extra = append(syms, 18), append(extra, code{uint32(n - 20), 5})
			x += n
		case lens[x] == 0 && run >= 4:
			n := min(run, 19)
			syms, extra = append(syms, 17), append(extra, code{uint32(n - 4), 4})
			x += n
		case run >= 4:
			n := min(run, 5)
			syms, extra = append(syms, 19), append(extra, code{uint32(n - 4), 1})
			syms, extra = append(syms, delta(x, lens[x])), append(extra, code{})
			x += n
		default:
			syms, extra = append(syms, delta(x, lens[x])), append(extra, code{})
			x++
		}
	}
	return syms, extra
}

// writeTree writes a pretree and lens coded with it.
func (e *encoder) writeTree(prev, lens []uint8) {
	syms, extra := treeSymbols(prev, lens)
	freq := make([]int, pretreeSize)
	for _, s := range syms {
		freq[s]++
	}
	freq[0]++ // at least two elements, so that the pretree is complete
	freq[1]++
	pl := lengthsFor(freq, 15)
	for _, l := range pl {
		e.w.bits(uint32(l), 4)
	}
	pc := canonical(pl)
	for i, s := range syms {
		e.w.bits(pc[s].bits, pc[s].n)
		if extra[i].n > 0 {
			e.w.bits(extra[i].bits, extra[i].n)
		}
	}
	copy(prev, lens)
}

type coded struct {
	main    int
	length  int // -1: none
	footer  uint32
	extra   uint
	aligned bool
}

func (e *encoder) compressed(typ, size int) {
	end := e.pos + size
	toks := e.tokens(end)
	// Choose the slots (and update the repeated offsets) first, to count
	// the frequencies.
	var cs []coded
	mainFreq := make([]int, len(e.mainLens))
	lenFreq := make([]int, lengthTreeSize)
	alFreq := make([]int, alignedTreeSize)
	for _, t := range toks {
		if t.lit {
			cs = append(cs, coded{main: int(t.b), length: -1})
			mainFreq[t.b]++
			continue
		}
		var slot int
		var footer uint32
		switch t.off {
		case e.r[0]:
			slot = 0
		case e.r[1]:
			slot = 1
			e.r[0], e.r[1] = e.r[1], e.r[0]
		case e.r[2]:
			slot = 2
			e.r[0], e.r[2] = e.r[2], e.r[0]
		default:
			f := t.off + 2
			slot = 3
			for slot+1 < e.slots && positionBase[slot+1] <= f {
				slot++
			}
			footer = f - positionBase[slot]
			e.r[2], e.r[1], e.r[0] = e.r[1], e.r[0], t.off
		}
		c := coded{length: -1, footer: footer, extra: uint(footerBits[slot])}
		if slot < 3 {
			c.extra = 0
		}
		lh := min(t.length-minMatch, numPrimaryLengths)
		c.main = numChars + slot*8 + lh
		if lh == numPrimaryLengths {
			c.length = t.length - minMatch - numPrimaryLengths
			lenFreq[c.length]++
		}
		if typ == blockAligned && c.extra >= 3 {
			c.aligned = true
			alFreq[footer&7]++
		}
		mainFreq[c.main]++
		cs = append(cs, c)
	}
	mainFreq[0]++
	mainFreq[1]++
	lenFreq[0]++
	lenFreq[1]++
	for i := range alFreq {
		alFreq[i]++
	}
	e.blockHeader(typ, size)
	if typ == blockAligned {
		al := lengthsFor(alFreq, 7)
		for _, l := range al {
			e.w.bits(uint32(l), 3)
		}
		alCodes := canonical(al)
		e.alCodes = alCodes
	}
	ml := lengthsFor(mainFreq, 16)
	ll := lengthsFor(lenFreq, 16)
	e.writeTree(e.mainLens[:numChars], ml[:numChars])
	e.writeTree(e.mainLens[numChars:], ml[numChars:])
	e.writeTree(e.lengthLens, ll)
	mc, lc := canonical(ml), canonical(ll)
	for i, c := range cs {
		e.w.bits(mc[c.main].bits, mc[c.main].n)
		n := 1
		if c.length >= 0 {
			e.w.bits(lc[c.length].bits, lc[c.length].n)
		}
		if !toks[i].lit {
			n = toks[i].length
			if c.aligned {
				e.w.bits(c.footer>>3, c.extra-3)
				a := e.alCodes[c.footer&7]
				e.w.bits(a.bits, a.n)
			} else if c.extra > 0 {
				e.w.bits(c.footer, c.extra)
			}
		}
		e.advance(n)
	}
}
