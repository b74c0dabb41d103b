package catalogen

import (
	"fmt"
	"math"
)

// family is the product line a top-level update belongs to.
type family int

const (
	famWindows family = iota
	famDefender
	famOffice
	numFamilies
)

// Series shape: every top-level update supersedes the older members of its
// series, at most maxSupersede of them; series are sized so that a catalog
// holds about seriesLength updates per series.
const (
	seriesLength = 48
	maxSupersede = seriesLength - 1
	// rootDetectoidShare is the share of detectoids that other detectoids
	// name as prerequisite (real Windows 11: 277 non-leaf of 3,710).
	rootDetectoidShare = 0.075
)

// meanLeaves is the expected number of bundled leaves per top-level update
// of each family (see leafCount).
var meanLeaves = [numFamilies]float64{famWindows: 1.05, famDefender: 12.5, famOffice: 2.5}

// secondKind is what newer revision a top-level update gets.
type secondKind int

const (
	secondNone secondKind = iota
	secondRevised
	secondExpired
)

// series is one line of top-level updates.
type series struct {
	fam family
	// variant numbers the series within its family.
	variant int
}

// plan is the layout of a catalog: how many documents of each kind, and
// which family each top-level update belongs to. It is computed before
// anything is emitted so that the document count is exact.
type plan struct {
	categories []category
	detectoids int
	// roots is the number of detectoids other detectoids depend on: the
	// first roots ones.
	roots  int
	series []series
	// tops is the number of top-level updates; the last one may be cut
	// short to fit the count: lastLeaves leaves, a second revision only if
	// lastSecond.
	tops       int
	lastLeaves int
	lastSecond bool

	revisions, expired float64
	// pickOffset and kindOffset shift the revised/expired selections (seeded).
	pickOffset, kindOffset float64
}

// newPlan lays out a catalog of opts.Updates documents.
func newPlan(opts Options, key uint64, r *rng) (*plan, error) {
	m := opts.Mix
	n := opts.Updates
	p := &plan{revisions: opts.Revisions, expired: m.Expired}
	r.reseed(streamSelect, 0)
	p.pickOffset, p.kindOffset = r.Float64(), r.Float64()

	nCats := max(fixedCategories, int(math.Round(float64(n)*m.Categories)))
	p.categories = categoryTree(key, nCats-fixedCategories)
	p.detectoids = int(math.Round(float64(n) * m.Detectoids))
	if m.Detectoids > 0 && p.detectoids == 0 {
		p.detectoids = 1
	}
	p.roots = int(math.Ceil(float64(p.detectoids) * rootDetectoidShare))
	software := n - nCats - p.detectoids
	if software < 1 {
		return nil, fmt.Errorf("catalogen: %d updates leave no room for software after %d categories and %d detectoids",
			n, nCats, p.detectoids)
	}

	weights := [numFamilies]float64{famWindows: m.Windows, famDefender: m.Defender, famOffice: m.Office}
	total, perTop := 0.0, 0.0
	for f, w := range weights {
		total += w
		perTop += w * (1 + meanLeaves[f])
	}
	perTop = perTop/total + opts.Revisions + m.Expired
	nSeries := max(1, int(math.Ceil(float64(software)/perTop/seriesLength)))
	p.series = assignSeries(weights, nSeries)

	left := software
	for k := 0; ; k++ {
		leaves := p.leafCount(r, k)
		extra := 0
		if p.second(k) != secondNone {
			extra = 1
		}
		size := 1 + leaves + extra
		if size < left {
			left -= size
			continue
		}
		p.tops = k + 1
		if size == left {
			p.lastLeaves, p.lastSecond = leaves, extra == 1
		} else {
			p.lastLeaves = left - 1
		}
		return p, nil
	}
}

// assignSeries spreads n series over the families in proportion to their
// weights (smooth weighted round robin: deterministic and evenly mixed).
func assignSeries(weights [numFamilies]float64, n int) []series {
	var current [numFamilies]float64
	var counts [numFamilies]int
	total := 0.0
	for _, w := range weights {
		total += w
	}
	out := make([]series, n)
	for i := range out {
		best := family(-1)
		for f, w := range weights {
			if w == 0 {
				continue
			}
			current[f] += w
			if best < 0 || current[f] > current[best] {
				best = family(f)
			}
		}
		current[best] -= total
		out[i] = series{fam: best, variant: counts[best]}
		counts[best]++
	}
	return out
}

// top returns where top-level update k sits: its series and its position
// in that series.
func (p *plan) top(k int) (series, int) {
	return p.series[k%len(p.series)], k / len(p.series)
}

// leafCount returns how many leaves top-level update k bundles (0: a
// standalone update carrying its own files).
func (p *plan) leafCount(r *rng, k int) int {
	if p.tops > 0 && k == p.tops-1 {
		return p.lastLeaves
	}
	s, _ := p.top(k)
	r.reseed(streamGroupSize, uint64(k))
	switch s.fam {
	case famWindows:
		// Real Windows 11: 525 bundles with 561 children, 8 standalone
		// updates (WindowsInstaller) among 533 top-level updates.
		switch x := r.IntN(1000); {
		case x < 15:
			return 0
		case x < 80:
			return 2
		default:
			return 1
		}
	case famDefender:
		// The real Defender engine bundle holds 24 leaves.
		return 1 + r.IntN(24)
	default:
		return 1 + r.IntN(4) // unverified: no real Office sample
	}
}

// second returns which newer revision top-level update k gets. The
// selection is a low-discrepancy sequence, so exactly about
// (Revisions+Expired)·tops updates get one, evenly spread; among those, the
// expired ones are spread the same way.
func (p *plan) second(k int) secondKind {
	if p.tops > 0 && k == p.tops-1 && !p.lastSecond {
		return secondNone
	}
	rate := p.revisions + p.expired
	if rate == 0 {
		return secondNone
	}
	a := float64(k)*rate + p.pickOffset
	if math.Floor(a+rate) == math.Floor(a) {
		return secondNone
	}
	if p.expired == 0 {
		return secondRevised
	}
	q := p.expired / rate
	b := math.Floor(a)*q + p.kindOffset
	if math.Floor(b+q) > math.Floor(b) {
		return secondExpired
	}
	return secondRevised
}
