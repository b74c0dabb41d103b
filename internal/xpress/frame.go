package xpress

import (
	"encoding/binary"
	"fmt"
)

// The body of an HTTP answer with Content-Encoding: xpress ([MS-WUSP]
// 2.1.1, MS-WUSP.md section 1.4) is a sequence of blocks, each holding at
// most 65,535 bytes of the answer: two little-endian 32-bit integers, the
// block's original size and its compressed size, then that many bytes.
// A block whose compressed size equals its original size is stored as it
// is (the real WS2025 does so when compression does not make it smaller).
// Every block is compressed on its own: matches never reach into the
// block before.

const (
	// MaxBlockSize is the most bytes of the answer one block may hold
	// ([MS-WUSP] 2.1.1).
	MaxBlockSize = 65535
	// BlockSize is the block size the real WSUS on Windows Server 2025
	// uses: 16,352 bytes of the answer a block [O] (MS-WUSP.md 1.4).
	BlockSize = 16352
	// headerSize is the two int32 of a block header.
	headerSize = 8
)

// MaxFramedLen is the most Frame may write for n bytes in blocks of
// blockSize: n, plus a header per block (blocks that do not shrink are
// stored as they are).
func MaxFramedLen(n, blockSize int) int {
	blockSize = clampBlock(blockSize)
	return n + headerSize*((n+blockSize-1)/blockSize)
}

func clampBlock(blockSize int) int {
	if blockSize <= 0 {
		return BlockSize
	}
	return min(blockSize, MaxBlockSize)
}

// Frame appends src to dst as an xpress-encoded body: blocks of blockSize
// bytes of src (the last one shorter), each compressed with Compress, or
// stored as it is when compression does not make it smaller. blockSize ≤ 0
// means BlockSize; more than MaxBlockSize means MaxBlockSize. An empty src
// appends nothing.
func Frame(dst, src []byte, blockSize int) []byte {
	blockSize = clampBlock(blockSize)
	dst = growCap(dst, MaxFramedLen(len(src), blockSize)+MaxCompressedLen(blockSize)-blockSize)
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	for len(src) > 0 {
		block := src[:min(blockSize, len(src))]
		src = src[len(block):]
		h := len(dst)
		dst = append(dst, make([]byte, headerSize)...)
		dst = e.compress(dst, block)
		n := len(dst) - h - headerSize
		if n >= len(block) {
			dst = append(dst[:h+headerSize], block...)
			n = len(block)
		}
		binary.LittleEndian.PutUint32(dst[h:], uint32(len(block)))
		binary.LittleEndian.PutUint32(dst[h+4:], uint32(n))
	}
	return dst
}

// Unframe appends to dst the answer an xpress-encoded body src holds and
// returns the extended slice. The blocks' declared sizes must add up to at
// most max bytes (else ErrTooLarge, before anything is allocated); a block
// declaring more than MaxBlockSize or nothing, a compressed size larger
// than its original size or than the bytes left, or a block that does not
// decode to its declared size is ErrCorrupt. Memory and time are linear in
// len(src) and max.
func Unframe(dst, src []byte, max int) ([]byte, error) {
	// First the headers alone: the total is known, and bounded, before
	// any allocation.
	total := 0
	for rest := src; len(rest) > 0; {
		orig, comp, err := blockHeader(rest)
		if err != nil {
			return dst, err
		}
		total += orig
		if total > max {
			return dst, fmt.Errorf("%w: the blocks declare more than %d bytes", ErrTooLarge, max)
		}
		rest = rest[headerSize+comp:]
	}
	dst = growCap(dst, total)
	for len(src) > 0 {
		orig, comp, _ := blockHeader(src)
		payload := src[headerSize : headerSize+comp]
		src = src[headerSize+comp:]
		if comp == orig {
			dst = append(dst, payload...)
			continue
		}
		var err error
		if dst, err = Decompress(dst, payload, orig); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// blockHeader reads and checks the header of the block src starts with.
func blockHeader(src []byte) (orig, comp int, err error) {
	if len(src) < headerSize {
		return 0, 0, corrupt("body ends in a block header")
	}
	o := binary.LittleEndian.Uint32(src)
	c := binary.LittleEndian.Uint32(src[4:])
	switch {
	case o == 0 || o > MaxBlockSize:
		return 0, 0, corrupt(fmt.Sprintf("block of %d bytes", o))
	case c == 0 || c > o:
		return 0, 0, corrupt(fmt.Sprintf("block of %d bytes compressed to %d", o, c))
	case int64(c) > int64(len(src)-headerSize):
		return 0, 0, corrupt("body ends in a block")
	}
	return int(o), int(c), nil
}
