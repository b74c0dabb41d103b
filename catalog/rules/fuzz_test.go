package rules

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// randomInput builds a small catalog, rules, rings, approvals, actions and
// counts from seed: few IDs, so that they collide often.
func randomInput(seed uint64) Input {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ids := func(pool []uuid.UUID, max int) []uuid.UUID {
		var out []uuid.UUID
		for range r.IntN(max + 1) {
			out = append(out, pool[r.IntN(len(pool))])
		}
		return out
	}
	prods := []uuid.UUID{prodWin, prodOther}
	classes := []uuid.UUID{clsSec, clsDrv}
	groups := []uuid.UUID{grpPilot, grpBroad, grpRule}
	var upds []uuid.UUID
	for i := range 5 {
		upds = append(upds, uuid.UUID{0xf0, byte(i)})
	}
	counts := func() catalog.ComplianceCounts {
		return catalog.ComplianceCounts{Installed: r.IntN(4), Needed: r.IntN(3) * r.IntN(2), Failed: r.IntN(3) * r.IntN(2), NotApplicable: r.IntN(3)}
	}
	in := Input{Now: release.Add(time.Duration(r.IntN(20*24)) * time.Hour),
		AutoDecline: catalog.AutoDecline{Superseded: r.IntN(2) == 0, SupersededGraceDays: r.IntN(5),
			Architectures: []string{"arm64", "x86"}[:r.IntN(3)], Languages: []string{"ja"}[:r.IntN(2)], Editions: []string{"Itanium"}[:r.IntN(2)]},
		Counts: map[uuid.UUID]map[uuid.UUID]catalog.ComplianceCounts{}}
	titles := []string{"Update for x64-based Systems", "Update for ARM64-based Systems", "Update for Itanium-based Systems", "Defender"}
	for _, id := range upds {
		u := catalog.UpdateView{UpdateID: id, Type: catalog.TypeSoftware, Title: titles[r.IntN(len(titles))], KBArticleID: "1",
			Products: ids(prods, 2), Classifications: ids(classes, 2), Released: release.Add(time.Duration(r.IntN(5*24)) * time.Hour),
			Declined: r.IntN(5) == 0, SupersededBy: ids(upds, 2), Computers: counts()}
		if r.IntN(3) == 0 {
			u.Languages = []string{"ja"}
		}
		in.Updates = append(in.Updates, u)
	}
	for _, g := range groups {
		in.Counts[g] = map[uuid.UUID]catalog.ComplianceCounts{}
		for _, id := range upds {
			in.Counts[g][id] = counts()
		}
	}
	for i := range 1 + r.IntN(2) {
		rule := catalog.ApprovalRule{ID: uuid.UUID{0xd0, byte(i)}, Name: string(rune('A' + i)), Enabled: r.IntN(4) != 0,
			Products: ids(prods, 1), Classifications: ids(classes, 1), Groups: ids(groups, 2)}
		in.Rules = append(in.Rules, rule)
		for j := range r.IntN(3) {
			ring := catalog.Ring{ID: uuid.UUID{0xe0, byte(i), byte(j)}, RuleID: rule.ID, Name: rule.Name + string(rune('0'+j)), Position: j,
				Group: groups[r.IntN(len(groups))], DelayDays: r.IntN(4)}
			if r.IntN(2) == 0 {
				ring.DelayFrom = catalog.DelayFromPrevious
			}
			if r.IntN(2) == 0 {
				f := float64(r.IntN(60))
				ring.Gate = &catalog.RingGate{MinInstalledPercent: float64(r.IntN(101)), MinInstalls: r.IntN(3), MaxFailedPercent: &f}
			}
			in.Rings = append(in.Rings, ring)
		}
	}
	for _, id := range upds {
		for _, g := range groups {
			if r.IntN(4) == 0 {
				in.Approvals = append(in.Approvals, catalog.Approval{UpdateID: id, GroupID: g, Action: catalog.ActionInstall,
					ChangedAt: release.Add(time.Duration(r.IntN(10*24)) * time.Hour)})
			}
		}
	}
	for range r.IntN(4) {
		in.Computers = append(in.Computers, catalog.Computer{ID: uuid.NewString(), Architecture: []string{"AMD64", "ARM64", ""}[r.IntN(3)],
			OSLocale: []string{"en-US", "ja-JP", ""}[r.IntN(3)], OSDescription: []string{"Windows 11 Pro", ""}[r.IntN(2)]})
	}
	return in
}

// apply returns in after d was applied, as the runner applies it.
func apply(in Input, d Decision) Input {
	for _, a := range d.Approvals {
		ap := a.Approval
		ap.ChangedAt = in.Now
		in.Approvals = append(in.Approvals, ap)
		in.Actions = append(in.Actions, catalog.RuleAction{Source: a.Source, UpdateID: ap.UpdateID, GroupID: ap.GroupID, Action: string(ap.Action), At: in.Now})
	}
	for _, dc := range d.Declines {
		for i := range in.Updates {
			if in.Updates[i].UpdateID == dc.UpdateID {
				in.Updates[i].Declined = true
			}
		}
		in.Actions = append(in.Actions, catalog.RuleAction{Source: AutoDeclineActor, UpdateID: dc.UpdateID, Action: "decline", At: in.Now})
	}
	for _, p := range d.Pauses {
		for i := range in.Rings {
			if in.Rings[i].ID == p.Ring.ID {
				in.Rings[i].State.Paused, in.Rings[i].State.PausedUpdate = p.Reason, p.UpdateID
			}
		}
	}
	return in
}

// FuzzDecide: whatever the state, a decision never approves what is
// approved already, twice in one run, or a declined update; never declines
// what a computer needs or failed (nor, by architecture, language or
// edition, what one installed) or what is declined; pauses a ring at most
// once; and applying it leaves nothing for the same run to do again.
func FuzzDecide(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		in := randomInput(seed)
		d := Decide(in)
		byID := map[uuid.UUID]catalog.UpdateView{}
		for _, u := range in.Updates {
			byID[u.UpdateID] = u
		}
		seen := map[[2]uuid.UUID]bool{}
		for _, a := range in.Approvals {
			seen[[2]uuid.UUID{a.UpdateID, a.GroupID}] = true
		}
		for _, a := range d.Approvals {
			k := [2]uuid.UUID{a.Approval.UpdateID, a.Approval.GroupID}
			if seen[k] {
				t.Fatalf("approved %v, approved already or twice", k)
			}
			seen[k] = true
			if byID[k[0]].Declined {
				t.Fatalf("approved declined update %v", k[0])
			}
			if !a.Approval.ChangedAt.IsZero() {
				t.Fatalf("approval %v sets its own time", k)
			}
		}
		declined := map[uuid.UUID]bool{}
		for _, dc := range d.Declines {
			u := byID[dc.UpdateID]
			if u.Declined || declined[dc.UpdateID] {
				t.Fatalf("declined %v again", dc.UpdateID)
			}
			declined[dc.UpdateID] = true
			if u.Computers.Needed+u.Computers.Failed > 0 {
				t.Fatalf("declined %v, needed or failed on %+v", dc.UpdateID, u.Computers)
			}
			if len(u.SupersededBy) == 0 && u.Computers.Installed > 0 {
				t.Fatalf("declined %v by rule, installed on %d computers", dc.UpdateID, u.Computers.Installed)
			}
		}
		paused := map[uuid.UUID]bool{}
		for _, p := range d.Pauses {
			if paused[p.Ring.ID] || p.Ring.State.Paused != "" {
				t.Fatalf("ring %s paused twice", p.Ring.Name)
			}
			paused[p.Ring.ID] = true
		}
		again := Decide(apply(in, d))
		if len(again.Approvals)+len(again.Declines)+len(again.Pauses) != 0 {
			t.Fatalf("a second decision at the same time still does %+v after %+v", again, d)
		}
	})
}
