package load

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The arrival process of a fleet run.
//
// A Windows Update Agent scans every DetectionFrequency hours (default 22)
// and randomizes each next scan to between 0.8 and 1.0 times the interval
// (MS-WUSP.md section 1.3, [MS-WUSP] notes <60> and <61>), so each computer's
// scans are a renewal process with a mean interval of 0.9 x 22 h = 19.8 h.
// The scans of N independent computers, superposed, approach a Poisson
// process of rate N / 19.8 h (the Palm-Khintchine theorem); a fleet run
// generates that Poisson process. On Patch Tuesday every computer scans
// once within the window, at a uniformly random time: a Poisson process of
// rate N / window conditioned on N arrivals, which over a part of the
// window is again Poisson at that rate.

// Defaults of the arrival process.
const (
	// DefaultDetectionInterval is Windows' default DetectionFrequency.
	DefaultDetectionInterval = 22 * time.Hour
	// DefaultPatchWindow is the window in which every computer scans on a
	// Patch Tuesday.
	DefaultPatchWindow = 2 * time.Hour
)

// Bounds of the randomized detection interval, as fractions of it
// (MS-WUSP.md section 1.3).
const (
	intervalLow  = 0.8
	intervalHigh = 1.0
)

// MeanScanInterval is the mean time between two scans of one computer
// whose DetectionFrequency is interval.
func MeanScanInterval(interval time.Duration) time.Duration {
	return time.Duration(float64(interval) * (intervalLow + intervalHigh) / 2)
}

// Arrival is one scheduled scan: when, counted from the start of the run,
// and by which computer (an index in [0, N)).
type Arrival struct {
	At       time.Duration
	Computer int
}

// Schedule returns the arrivals of a Poisson process of rate perSecond over
// [0, d), each by a distinct computer of n taken in the order of a seeded
// permutation, so that no computer scans twice in a run (a run is shorter
// than the 0.8 x 22 h a computer waits between scans). It stops early after
// n arrivals. The same arguments give the same schedule.
func Schedule(seed uint64, n int, perSecond float64, d time.Duration) ([]Arrival, error) {
	if n <= 0 || perSecond <= 0 || math.IsInf(perSecond, 0) || math.IsNaN(perSecond) || d <= 0 {
		return nil, fmt.Errorf("load: schedule: want n > 0, a finite rate > 0 and d > 0; got %d, %g, %s", n, perSecond, d)
	}
	rng := rand.New(rand.NewPCG(seed, 0x61727269766c73)) // "arrivls"
	perm := newPermutation(seed, n)
	out := make([]Arrival, 0, min(n, int(perSecond*d.Seconds()*1.1)+16))
	t := 0.0
	for len(out) < n {
		t += rng.ExpFloat64() / perSecond
		at := time.Duration(t * float64(time.Second))
		if at >= d {
			break
		}
		out = append(out, Arrival{At: at, Computer: perm.at(len(out))})
	}
	return out, nil
}

// permutation is the bijection k -> (a*k + b) mod n of [0, n), with a
// coprime to n: which computer makes the k-th arrival. It costs nothing per
// computer, so a run over a million computers holds no table of them.
type permutation struct {
	a, b, n uint64
}

func newPermutation(seed uint64, n int) permutation {
	rng := rand.New(rand.NewPCG(seed, 0x7065726d)) // "perm"
	p := permutation{n: uint64(n)}
	if n == 1 {
		return p
	}
	p.b = rng.Uint64N(p.n)
	for {
		p.a = 1 + rng.Uint64N(p.n-1)
		if gcd(p.a, p.n) == 1 {
			return p
		}
	}
}

// at returns the computer of the k-th arrival.
func (p permutation) at(k int) int {
	if p.n <= 1 {
		return 0
	}
	hi, lo := mulMod(p.a, uint64(k)%p.n, p.n), p.b
	return int((hi + lo) % p.n)
}

// mulMod is a*b mod n without overflow for n < 2^63.
func mulMod(a, b, n uint64) uint64 {
	if a < 1<<32 && b < 1<<32 {
		return a * b % n
	}
	var r uint64
	a %= n
	for b > 0 {
		if b&1 == 1 {
			r = (r + a) % n
		}
		a = (a << 1) % n
		b >>= 1
	}
	return r
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ComputerID returns the SusClientId of computer i of the fleet seed: a
// random-looking version-4 GUID that only (seed, i) decides, so a
// computer is the same one from run to run without any stored state.
func ComputerID(seed uint64, i int) string {
	rng := rand.New(rand.NewPCG(seed^0x636f6d7075746572, uint64(i))) // "computer"
	hi, lo := rng.Uint64(), rng.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// ComputerName returns the DNS name of computer i: "fleet-" and its index.
func ComputerName(i int) string {
	return fmt.Sprintf("fleet-%07d.fleet.test", i)
}

// lastScanAge returns how long before the run computer i of the fleet
// seed last scanned in steady state: uniform in [0.8, 1.0) x interval.
func lastScanAge(seed uint64, i int, interval time.Duration) time.Duration {
	rng := rand.New(rand.NewPCG(seed^0x6c61737473636e, uint64(i))) // "lastscn"
	f := intervalLow + (intervalHigh-intervalLow)*rng.Float64()
	return time.Duration(f * float64(interval))
}
