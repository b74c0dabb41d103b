package lzx

import "errors"

// maxCodeLen is the longest Huffman code LZX uses ([MS-PATCH], on trees: path
// lengths are 0 to 16, 0 meaning the element is absent).
const maxCodeLen = 16

// tableBits is the width of the direct lookup table; longer codes are
// decoded by walking the canonical code lengths.
const tableBits = 10

var (
	errOversubscribed = errors.New("over-subscribed Huffman code lengths")
	errBadCode        = errors.New("bit sequence is no Huffman code of the tree")
)

// huffman is a canonical Huffman decoder built from path lengths alone:
// codes are assigned in order of increasing length, and within one length
// in order of increasing element number ([MS-PATCH], the canonical
// tree). Incomplete trees are accepted (a tree of one element has one code
// of length 1) and a bit sequence that is no code is an error when met;
// an over-subscribed tree is refused when built.
type huffman struct {
	table  [1 << tableBits]uint16 // element<<5 | length, 0 when no code of ≤ tableBits bits starts so
	count  [maxCodeLen + 1]uint16 // number of codes of each length
	first  [maxCodeLen + 1]uint32 // first canonical code of each length
	offset [maxCodeLen + 1]uint16 // index in syms of the first element of each length
	syms   []uint16               // elements ordered by (length, element)
	maxLen uint
}

func newHuffman(elements int) *huffman {
	return &huffman{syms: make([]uint16, elements)}
}

// build rebuilds the decoder from lens, one path length per element.
func (h *huffman) build(lens []uint8) error {
	h.count = [maxCodeLen + 1]uint16{}
	for _, l := range lens {
		if l > maxCodeLen {
			return errOversubscribed // cannot happen: lengths are decoded mod 17
		}
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	h.maxLen = 0
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return errOversubscribed
		}
		if h.count[l] != 0 {
			h.maxLen = uint(l)
		}
	}
	code := uint32(0)
	var next [maxCodeLen + 1]uint16
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + uint32(h.count[l-1])) << 1
		h.first[l] = code
		if l > 1 {
			h.offset[l] = h.offset[l-1] + h.count[l-1]
		}
		next[l] = h.offset[l]
	}
	for s, l := range lens {
		if l != 0 {
			h.syms[next[l]] = uint16(s)
			next[l]++
		}
	}
	h.table = [1 << tableBits]uint16{}
	for l := 1; l <= tableBits && l <= int(h.maxLen); l++ {
		shift := tableBits - l
		for k := 0; k < int(h.count[l]); k++ {
			c := int(h.first[l]) + k
			e := h.syms[int(h.offset[l])+k]<<5 | uint16(l)
			lo, hi := c<<shift, (c+1)<<shift
			for j := lo; j < hi; j++ {
				h.table[j] = e
			}
		}
	}
	return nil
}

// decode reads one element. br must hold at least 16 unread bits (refill).
func (h *huffman) decode(br *bitReader) (int, error) {
	if e := h.table[br.buf>>(64-tableBits)]; e != 0 {
		br.skip(uint(e & 31))
		return int(e >> 5), nil
	}
	for l := uint(tableBits + 1); l <= h.maxLen; l++ {
		c := uint32(br.buf>>(64-l)) - h.first[l]
		if c < uint32(h.count[l]) {
			br.skip(l)
			return int(h.syms[uint32(h.offset[l])+c]), nil
		}
	}
	return 0, errBadCode
}
