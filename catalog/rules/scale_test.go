package rules

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// countsNeededSlow is CountsNeeded as first written: each ID checked
// against the group's list so far (quadratic in the updates: 30 s at
// 50,000 updates and five gated rings). The reference of
// TestCountsNeededDifferential.
func countsNeededSlow(in Input) map[uuid.UUID][]uuid.UUID {
	out := map[uuid.UUID][]uuid.UUID{}
	rings := ringsOf(in.Rings)
	for _, rule := range in.Rules {
		if !rule.Enabled {
			continue
		}
		rs := rings[rule.ID]
		for i := 1; i < len(rs); i++ {
			if rs[i].Gate == nil {
				continue
			}
			for _, u := range in.Updates {
				if Matches(rule, u) && !slices.Contains(out[rs[i-1].Group], u.UpdateID) {
					out[rs[i-1].Group] = append(out[rs[i-1].Group], u.UpdateID)
				}
			}
		}
	}
	return out
}

// scaleInput is n updates under rules of two products, each rule with
// rings over groups (some shared between rules), gated or not, from seed.
func scaleInput(seed uint64, n, rulesN, ringsN, groupsN int) Input {
	rng := rand.New(rand.NewPCG(seed, 1))
	var in Input
	groups := make([]uuid.UUID, groupsN)
	for i := range groups {
		groups[i] = uuid.New()
	}
	prods := []uuid.UUID{prodWin, prodOther}
	for i := range n {
		id := uuid.New()
		in.Updates = append(in.Updates, update(id, func(u *catalog.UpdateView) {
			u.Products = []uuid.UUID{prods[rng.IntN(2)]}
			u.Declined = rng.IntN(10) == 0
			u.Title = fmt.Sprint("Update ", i)
		}))
	}
	for r := range rulesN {
		rule := catalog.ApprovalRule{ID: uuid.New(), Name: fmt.Sprint("Rule ", r), Enabled: rng.IntN(5) != 0}
		if rng.IntN(2) == 0 {
			rule.Products = []uuid.UUID{prods[rng.IntN(2)]}
		}
		in.Rules = append(in.Rules, rule)
		for p := range ringsN {
			ring := catalog.Ring{ID: uuid.New(), Name: fmt.Sprintf("Ring %d.%d", r, p), RuleID: rule.ID, Position: p + 1,
				Group: groups[rng.IntN(groupsN)]}
			if rng.IntN(3) != 0 {
				ring.Gate = &catalog.RingGate{MinInstalls: 1}
			}
			in.Rings = append(in.Rings, ring)
		}
	}
	return in
}

// TestCountsNeededDifferential checks CountsNeeded against the quadratic
// reference on random rules, rings and updates: the same groups, the same
// updates in the same order.
func TestCountsNeededDifferential(t *testing.T) {
	for seed := range uint64(50) {
		in := scaleInput(seed, 1+int(seed)*7, 1+int(seed%4), 1+int(seed%5), 1+int(seed%3))
		got, want := CountsNeeded(in), countsNeededSlow(in)
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d groups, want %d", seed, len(got), len(want))
		}
		for g, ids := range want {
			if !slices.Equal(got[g], ids) {
				t.Fatalf("seed %d, group %s: %d updates, want %d (or another order)", seed, g, len(got[g]), len(ids))
			}
		}
	}
}

// BenchmarkCountsNeeded is CountsNeeded at the scale of issue 13: 50,000
// updates, one rule with six gated rings over six groups.
func BenchmarkCountsNeeded(b *testing.B) {
	in := scaleInput(1, 50000, 1, 6, 1)
	in.Rules[0].Enabled = true
	groups := make([]uuid.UUID, len(in.Rings))
	for i := range in.Rings {
		groups[i] = uuid.New()
		in.Rings[i].Group, in.Rings[i].Gate = groups[i], &catalog.RingGate{MinInstalls: 1}
	}
	for b.Loop() {
		CountsNeeded(in)
	}
}

// TestUpdateByIDIndexed checks updateByID through Load's index against
// the search it replaces: every update, an ID listed twice, and one not
// in the catalog.
func TestUpdateByIDIndexed(t *testing.T) {
	in := scaleInput(7, 500, 1, 1, 1)
	in.Updates = append(in.Updates, update(in.Updates[3].UpdateID, func(u *catalog.UpdateView) { u.Title = "a second listing" }))
	indexed := in
	indexed.indexUpdates()
	for _, id := range append([]uuid.UUID{uuid.New()}, func() []uuid.UUID {
		var ids []uuid.UUID
		for _, u := range in.Updates {
			ids = append(ids, u.UpdateID)
		}
		return ids
	}()...) {
		if got, want := updateByID(indexed, id), updateByID(in, id); got != want {
			t.Fatalf("update %s: indexed %p, searched %p", id, got, want)
		}
	}
}

// BenchmarkReport is a plan's report at the scale of issue 13: 50,000
// updates, six rings each waiting on every one, named through Load's
// index.
func BenchmarkReport(b *testing.B) {
	in := scaleInput(1, 50000, 1, 6, 6)
	in.indexUpdates()
	var d Decision
	for _, ring := range in.Rings {
		for _, u := range in.Updates {
			d.Waits = append(d.Waits, Wait{Source: "ring:" + ring.Name, RingID: ring.ID, UpdateID: u.UpdateID, Reason: "delay"})
		}
	}
	r := &Runner{} // a report without approvals reads no store
	for b.Loop() {
		r.report(context.Background(), in, d)
	}
}
