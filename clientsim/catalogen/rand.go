package catalogen

import (
	"math/rand/v2"

	"github.com/google/uuid"
)

// Every value of a catalog is a pure function of the seed and the position
// of what it belongs to (stream, index): nothing depends on generation
// order, so a document can be regenerated (a second revision, a payload)
// without keeping state, and the same seed gives the same bytes.

// stream names one independent family of values derived from the seed.
type stream uint64

const (
	streamDetectoid   stream = iota + 1 // a detectoid document
	streamGroupSize                     // leaves per top-level update
	streamTop                           // a top-level update document
	streamLeaf                          // a bundled leaf document
	streamFile                          // a payload file: size and bytes
	streamIDDetectoid                   // UpdateIDs of detectoids
	streamIDTop                         // UpdateIDs of top-level updates
	streamIDLeaf                        // UpdateIDs of leaves
	streamIDCategory                    // UpdateIDs of generated categories
	streamSelect                        // offsets of the revised/expired selection
)

// splitmix64 is the SplitMix64 finalizer: a bijection of uint64 that mixes
// every input bit into every output bit.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// seedKey turns a user seed into the key every derivation starts from.
func seedKey(seed int64) uint64 { return splitmix64(uint64(seed) ^ 0x63617461_6c6f6765) } // "cataloge"

// position packs a stream and an index (below 2^48) into one word, distinct
// for every distinct pair.
func position(s stream, n uint64) uint64 { return uint64(s)<<48 | n&(1<<48-1) }

// newID returns the UpdateID of item n of stream s: a random-looking
// version 4 GUID, the same for the same seed.
func newID(key uint64, s stream, n uint64) uuid.UUID {
	hi := splitmix64(key ^ splitmix64(position(s, n)))
	lo := splitmix64(hi ^ 0x5bd1e9955bd1e995)
	var id uuid.UUID
	for i := range 8 {
		id[i] = byte(hi >> (56 - 8*i))
		id[8+i] = byte(lo >> (56 - 8*i))
	}
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// rng is a reseedable PCG generator: reseed(s, n) starts the value stream
// of item n of stream s.
type rng struct {
	key uint64
	pcg rand.PCG
	*rand.Rand
}

func newRNG(key uint64) *rng {
	r := &rng{key: key}
	r.Rand = rand.New(&r.pcg)
	return r
}

func (r *rng) reseed(s stream, n uint64) *rng {
	r.pcg.Seed(r.key, splitmix64(position(s, n)))
	return r
}

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }

// chacha returns the 32-byte ChaCha8 seed of item n of stream s.
func chachaSeed(key uint64, s stream, n uint64) [32]byte {
	var seed [32]byte
	x := key ^ splitmix64(position(s, n))
	for i := range 4 {
		x = splitmix64(x)
		for j := range 8 {
			seed[8*i+j] = byte(x >> (8 * j))
		}
	}
	return seed
}
