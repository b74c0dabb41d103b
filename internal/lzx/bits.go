package lzx

// bitReader reads the LZX bitstream of one frame: 16-bit little-endian
// words whose bits are taken most significant first ([MS-PATCH] section 3,
// Structure Examples: "a sequence of aligned 16-bit integers stored in the
// order least significant byte to most significant byte"). Past the end of
// src it loads zero words, so that a lookup may peek further than the
// stream reaches; consumed reports how far the decoder really read, and the
// frame is refused when that passes the end.
type bitReader struct {
	src []byte
	i   int    // next byte of src to load into buf; may pass len(src)
	buf uint64 // unread bits, the next one at bit 63
	n   uint   // number of unread bits in buf
}

func (br *bitReader) reset(src []byte) {
	*br = bitReader{src: src}
}

// refill loads words until at least 49 bits are unread, enough for a
// Huffman code (16 bits) followed by a footer (17 bits).
func (br *bitReader) refill() {
	for br.n <= 48 {
		var w uint64
		if br.i+1 < len(br.src) {
			w = uint64(br.src[br.i]) | uint64(br.src[br.i+1])<<8
		} else if br.i < len(br.src) {
			w = uint64(br.src[br.i])
		}
		br.i += 2
		br.buf |= w << (48 - br.n)
		br.n += 16
	}
}

// bits reads n ≤ 32 bits; n may be 0.
func (br *bitReader) bits(n uint) uint32 {
	if br.n < n {
		br.refill()
	}
	v := uint32(br.buf >> (64 - n))
	br.skip(n)
	return v
}

func (br *bitReader) skip(n uint) {
	br.buf <<= n
	br.n -= n
}

// consumed is the number of bytes of src read so far, rounded up to a
// whole byte; it exceeds len(src) when the decoder read past the end.
func (br *bitReader) consumed() int {
	return br.i - int(br.n/8)
}

// overrun tells whether bits past the end of src were consumed.
func (br *bitReader) overrun() bool {
	return br.i*8-int(br.n) > len(br.src)*8
}

// alignWord drops the unread bits of the current 16-bit word, the padding
// that ends a frame ([MS-PATCH] 2.2.1: "padded with up to 15 bits of zeros
// to realign the bitstream on a 16-bit boundary").
func (br *bitReader) alignWord() {
	br.skip(br.n % 16)
}

// toBytes leaves the bitstream for the byte stream of an uncompressed
// block: it drops 1 to 16 bits of padding ([MS-PATCH] 2.3.2.1) and gives
// back the whole words read ahead, so that br.i is the next byte.
func (br *bitReader) toBytes() {
	if br.n%16 == 0 {
		if br.n == 0 {
			br.refill()
		}
		br.skip(16)
	} else {
		br.skip(br.n % 16)
	}
	br.i -= int(br.n / 8)
	br.buf, br.n = 0, 0
}
