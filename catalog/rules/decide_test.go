package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

var (
	prodWin   = uuid.MustParse("a0000000-0000-4000-8000-000000000001")
	prodOther = uuid.MustParse("a0000000-0000-4000-8000-000000000002")
	clsSec    = uuid.MustParse("b0000000-0000-4000-8000-000000000001")
	clsDrv    = uuid.MustParse("b0000000-0000-4000-8000-000000000002")
	grpPilot  = uuid.MustParse("c0000000-0000-4000-8000-000000000001")
	grpBroad  = uuid.MustParse("c0000000-0000-4000-8000-000000000002")
	grpRule   = uuid.MustParse("c0000000-0000-4000-8000-000000000003")
	ruleID    = uuid.MustParse("d0000000-0000-4000-8000-000000000001")
	ringPilot = uuid.MustParse("e0000000-0000-4000-8000-000000000001")
	ringBroad = uuid.MustParse("e0000000-0000-4000-8000-000000000002")
	upd1      = uuid.MustParse("f0000000-0000-4000-8000-000000000001")
	upd2      = uuid.MustParse("f0000000-0000-4000-8000-000000000002")
)

var release = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func update(id uuid.UUID, mods ...func(*catalog.UpdateView)) catalog.UpdateView {
	u := catalog.UpdateView{UpdateID: id, Type: catalog.TypeSoftware, Title: "Update " + id.String()[:4], KBArticleID: "5031356",
		Products: []uuid.UUID{prodWin}, Classifications: []uuid.UUID{clsSec}, Released: release, PublicationState: "Published"}
	for _, m := range mods {
		m(&u)
	}
	return u
}

func ptr[T any](v T) *T { return &v }

func TestMatches(t *testing.T) {
	rule := catalog.ApprovalRule{Products: []uuid.UUID{prodWin}, Classifications: []uuid.UUID{clsSec}}
	cases := []struct {
		name string
		rule catalog.ApprovalRule
		u    catalog.UpdateView
		want bool
	}{
		{"product and classification", rule, update(upd1), true},
		{"other product", rule, update(upd1, func(u *catalog.UpdateView) { u.Products = []uuid.UUID{prodOther} }), false},
		{"other classification", rule, update(upd1, func(u *catalog.UpdateView) { u.Classifications = []uuid.UUID{clsDrv} }), false},
		{"one of several products", rule, update(upd1, func(u *catalog.UpdateView) { u.Products = []uuid.UUID{prodOther, prodWin} }), true},
		{"empty lists match any", catalog.ApprovalRule{}, update(upd1, func(u *catalog.UpdateView) { u.Products = nil }), true},
		{"declined", rule, update(upd1, func(u *catalog.UpdateView) { u.Declined = true }), false},
		{"expired", rule, update(upd1, func(u *catalog.UpdateView) { u.PublicationState = "Expired" }), false},
		{"category", rule, update(upd1, func(u *catalog.UpdateView) { u.Type = catalog.TypeCategory }), false},
		{"driver", rule, update(upd1, func(u *catalog.UpdateView) { u.Type = catalog.TypeDriver }), true},
	}
	for _, c := range cases {
		if got := Matches(c.rule, c.u); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRuleApprovesOnceAndRespectsAdmins(t *testing.T) {
	rule := catalog.ApprovalRule{ID: ruleID, Name: "Security", Enabled: true, Products: []uuid.UUID{prodWin}, Groups: []uuid.UUID{grpRule}, DeadlineDays: ptr(3)}
	now := release.Add(Day)
	cases := []struct {
		name      string
		approvals []catalog.Approval
		actions   []catalog.RuleAction
		enabled   bool
		want      int
	}{
		{"new update approved", nil, nil, true, 1},
		{"disabled rule", nil, nil, false, 0},
		{"approved by an admin already (another action)", []catalog.Approval{{UpdateID: upd1, GroupID: grpRule, Action: catalog.ActionOptionalInstall}}, nil, true, 0},
		{"approved by the rule before, removed by an admin", nil, []catalog.RuleAction{{Source: RuleSource(ruleID), UpdateID: upd1, GroupID: grpRule}}, true, 0},
		{"approved for another group only", []catalog.Approval{{UpdateID: upd1, GroupID: grpPilot, Action: catalog.ActionInstall}}, nil, true, 1},
	}
	for _, c := range cases {
		r := rule
		r.Enabled = c.enabled
		d := Decide(Input{Now: now, Rules: []catalog.ApprovalRule{r}, Updates: []catalog.UpdateView{update(upd1)}, Approvals: c.approvals, Actions: c.actions})
		if len(d.Approvals) != c.want {
			t.Errorf("%s: %d approvals, want %d: %+v", c.name, len(d.Approvals), c.want, d.Approvals)
			continue
		}
		if c.want == 1 {
			a := d.Approvals[0].Approval
			if a.GroupID != grpRule || a.Action != catalog.ActionInstall || !a.Deadline.Equal(now.Add(3*Day)) || d.Approvals[0].Actor != "rule:Security" {
				t.Errorf("%s: approval %+v by %s", c.name, a, d.Approvals[0].Actor)
			}
		}
	}
}

// pipeline is a rule with a pilot ring (2 days after release) and a broad
// ring (delay after the pilot, gated).
func pipeline(delayFrom catalog.RingDelayFrom, delay int, gate *catalog.RingGate) Input {
	return Input{
		Rules: []catalog.ApprovalRule{{ID: ruleID, Name: "Monthly", Enabled: true}},
		Rings: []catalog.Ring{
			{ID: ringBroad, RuleID: ruleID, Name: "Broad", Position: 2, Group: grpBroad, DelayDays: delay, DelayFrom: delayFrom, Gate: gate},
			{ID: ringPilot, RuleID: ruleID, Name: "Pilot", Position: 1, Group: grpPilot, DelayDays: 2},
		},
		Updates: []catalog.UpdateView{update(upd1)},
	}
}

func approvedGroups(d Decision) []uuid.UUID {
	var out []uuid.UUID
	for _, a := range d.Approvals {
		out = append(out, a.Approval.GroupID)
	}
	return out
}

func TestRingDelay(t *testing.T) {
	pilotAt := release.Add(2 * Day)
	pilotApproved := []catalog.Approval{{UpdateID: upd1, GroupID: grpPilot, Action: catalog.ActionInstall, ChangedAt: pilotAt}}
	cases := []struct {
		name      string
		from      catalog.RingDelayFrom
		now       time.Time
		approvals []catalog.Approval
		want      []uuid.UUID
		wait      string // a substring of the broad ring's wait
	}{
		{"before the pilot's delay", catalog.DelayFromPrevious, release.Add(2*Day - time.Second), nil, nil, "waiting for ring Pilot"},
		{"pilot's delay ends exactly", catalog.DelayFromPrevious, release.Add(2 * Day), nil, []uuid.UUID{grpPilot}, "delay: 3 days after ring Pilot"},
		{"broad one second early", catalog.DelayFromPrevious, pilotAt.Add(3*Day - time.Second), pilotApproved, nil, "delay: 3 days"},
		{"broad on time", catalog.DelayFromPrevious, pilotAt.Add(3 * Day), pilotApproved, []uuid.UUID{grpBroad}, ""},
		{"broad from release", catalog.DelayFromRelease, release.Add(3 * Day), nil, []uuid.UUID{grpPilot, grpBroad}, ""},
		{"broad from release, early", catalog.DelayFromRelease, release.Add(3*Day - time.Second), pilotApproved, nil, "after release"},
	}
	for _, c := range cases {
		in := pipeline(c.from, 3, nil)
		in.Now, in.Approvals = c.now, c.approvals
		d := Decide(in)
		if got := approvedGroups(d); !equalIDs(got, c.want) {
			t.Errorf("%s: approved %v, want %v", c.name, got, c.want)
		}
		if c.wait != "" && !hasWait(d, ringBroad, c.wait) {
			t.Errorf("%s: no broad wait with %q in %+v", c.name, c.wait, d.Waits)
		}
	}
}

func equalIDs(a, b []uuid.UUID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hasWait(d Decision, ring uuid.UUID, sub string) bool {
	for _, w := range d.Waits {
		if w.RingID == ring && strings.Contains(w.Reason, sub) {
			return true
		}
	}
	return false
}

func TestRingGate(t *testing.T) {
	pilotApproved := []catalog.Approval{{UpdateID: upd1, GroupID: grpPilot, Action: catalog.ActionInstall, ChangedAt: release}}
	gate := &catalog.RingGate{MinInstalledPercent: 80, MinInstalls: 3, MaxFailedPercent: ptr(10.0)}
	cases := []struct {
		name     string
		counts   catalog.ComplianceCounts
		accepted bool
		approve  bool
		pause    bool
		wait     string
	}{
		{"80% exactly passes", catalog.ComplianceCounts{Installed: 8, Needed: 2}, false, true, false, ""},
		{"79.x% waits", catalog.ComplianceCounts{Installed: 79, Needed: 21}, false, false, false, "below 80%"},
		{"too few installs", catalog.ComplianceCounts{Installed: 2}, false, false, false, "2 of 3 required installs"},
		{"10% failures exactly does not pause", catalog.ComplianceCounts{Installed: 9, Failed: 1}, false, true, false, ""},
		{"above 10% failures pauses", catalog.ComplianceCounts{Installed: 7, Failed: 3}, false, false, true, "paused: 3 of 10 computers (30%) failed KB5031356 in ring Pilot, above 10%"},
		{"accepted failures do not pause", catalog.ComplianceCounts{Installed: 8, Failed: 2}, true, true, false, ""},
		{"nothing applicable: only min installs holds", catalog.ComplianceCounts{NotApplicable: 5}, false, false, false, "0 of 3 required installs"},
		{"not-applicable computers do not count", catalog.ComplianceCounts{Installed: 4, Needed: 1, NotApplicable: 50, NoStatus: 9}, false, true, false, ""},
	}
	for _, c := range cases {
		in := pipeline(catalog.DelayFromPrevious, 0, gate)
		in.Now, in.Approvals = release.Add(30*Day), pilotApproved
		in.Counts = map[uuid.UUID]map[uuid.UUID]catalog.ComplianceCounts{grpPilot: {upd1: c.counts}}
		if c.accepted {
			in.Rings[0].State.Accepted = []uuid.UUID{upd1}
		}
		d := Decide(in)
		if got := len(d.Approvals) == 1; got != c.approve {
			t.Errorf("%s: approved %v, want %v (%+v)", c.name, got, c.approve, d.Waits)
		}
		if got := len(d.Pauses) == 1; got != c.pause {
			t.Errorf("%s: paused %v, want %v", c.name, got, c.pause)
		}
		if c.wait != "" && !hasWait(d, ringBroad, c.wait) {
			t.Errorf("%s: no wait with %q in %+v", c.name, c.wait, d.Waits)
		}
	}
}

func TestPausedRingWaits(t *testing.T) {
	in := pipeline(catalog.DelayFromRelease, 0, nil)
	in.Now = release.Add(30 * Day)
	in.Rings[0].State.Paused = "paused: by test"
	d := Decide(in)
	if got := approvedGroups(d); !equalIDs(got, []uuid.UUID{grpPilot}) {
		t.Fatalf("approved %v, want the pilot only", got)
	}
	if !hasWait(d, ringBroad, "paused: by test") {
		t.Errorf("waits %+v", d.Waits)
	}
}

func TestCountsNeeded(t *testing.T) {
	in := pipeline(catalog.DelayFromPrevious, 0, &catalog.RingGate{MinInstalls: 1})
	got := CountsNeeded(in)
	if len(got) != 1 || !equalIDs(got[grpPilot], []uuid.UUID{upd1}) {
		t.Errorf("CountsNeeded = %v, want the pilot group's counts of the update", got)
	}
	in.Rings[0].Gate = nil
	if got := CountsNeeded(in); len(got) != 0 {
		t.Errorf("without a gate CountsNeeded = %v", got)
	}
}

func TestSupersededDecline(t *testing.T) {
	older := update(upd1, func(u *catalog.UpdateView) { u.SupersededBy = []uuid.UUID{upd2} })
	approvedAt := release.Add(Day)
	newer := func(mods ...func(*catalog.UpdateView)) catalog.UpdateView {
		return update(upd2, append([]func(*catalog.UpdateView){func(u *catalog.UpdateView) { u.Supersedes = []uuid.UUID{upd1} }}, mods...)...)
	}
	approved := []catalog.Approval{{UpdateID: upd2, GroupID: grpBroad, Action: catalog.ActionInstall, ChangedAt: approvedAt}}
	cases := []struct {
		name      string
		now       time.Time
		older     catalog.UpdateView
		newer     catalog.UpdateView
		approvals []catalog.Approval
		actions   []catalog.RuleAction
		decline   bool
		wait      string
	}{
		{"grace passed", approvedAt.Add(7 * Day), older, newer(), approved, nil, true, ""},
		{"grace not passed", approvedAt.Add(7*Day - time.Second), older, newer(), approved, nil, false, "grace of 7 days"},
		{"superseding not approved", approvedAt.Add(30 * Day), older, newer(), nil, nil, false, "not approved"},
		{"superseding still needed", approvedAt.Add(30 * Day), older, newer(func(u *catalog.UpdateView) { u.Computers.Needed = 1 }), approved, nil, false, "still needed"},
		{"superseding failed somewhere", approvedAt.Add(30 * Day), older, newer(func(u *catalog.UpdateView) { u.Computers.Failed = 1 }), approved, nil, false, "still needed or failed"},
		{"superseded still needed", approvedAt.Add(30 * Day), update(upd1, func(u *catalog.UpdateView) {
			u.SupersededBy = []uuid.UUID{upd2}
			u.Computers.Needed = 2
		}), newer(), approved, nil, false, "still needed"},
		{"superseding declined", approvedAt.Add(30 * Day), older, newer(func(u *catalog.UpdateView) { u.Declined = true }), approved, nil, false, ""},
		{"declined once, un-declined by an admin", approvedAt.Add(30 * Day), older, newer(), approved, []catalog.RuleAction{{Source: AutoDeclineActor, UpdateID: upd1}}, false, ""},
	}
	for _, c := range cases {
		in := Input{Now: c.now, AutoDecline: catalog.AutoDecline{Superseded: true, SupersededGraceDays: 7},
			Updates: []catalog.UpdateView{c.older, c.newer}, Approvals: c.approvals, Actions: c.actions}
		d := Decide(in)
		if got := len(d.Declines) == 1 && d.Declines[0].UpdateID == upd1; got != c.decline || len(d.Declines) > 1 {
			t.Errorf("%s: declines %+v, want decline %v", c.name, d.Declines, c.decline)
		}
		if c.wait != "" {
			found := false
			for _, w := range d.Waits {
				found = found || (w.UpdateID == upd1 && strings.Contains(w.Reason, c.wait))
			}
			if !found {
				t.Errorf("%s: no wait with %q in %+v", c.name, c.wait, d.Waits)
			}
		}
	}
	// Off: nothing.
	in := Input{Now: approvedAt.Add(30 * Day), Updates: []catalog.UpdateView{older, newer()}, Approvals: approved}
	if d := Decide(in); len(d.Declines) != 0 {
		t.Errorf("auto-decline off declined %+v", d.Declines)
	}
}

func TestRuleDeclineNeverDeclinesWhatSomeoneHas(t *testing.T) {
	settings := catalog.AutoDecline{Architectures: []string{"arm64", "x86"}, Languages: []string{"ja"}, Editions: []string{"Itanium"}}
	x64 := catalog.Computer{ID: "a", Architecture: "AMD64", OSLocale: "en-US", OSDescription: "Windows 10 Enterprise"}
	arm := catalog.Computer{ID: "b", Architecture: "ARM64", OSLocale: "ja-JP", OSDescription: "Windows 11 Pro"}
	unknown := catalog.Computer{ID: "c"}
	armUpdate := update(upd1, func(u *catalog.UpdateView) {
		u.Title = "2026-03 Cumulative Update for Windows 11 for ARM64-based Systems"
	})
	cases := []struct {
		name      string
		u         catalog.UpdateView
		computers []catalog.Computer
		approvals []catalog.Approval
		decline   bool
	}{
		{"arm64 nobody has", armUpdate, []catalog.Computer{x64}, nil, true},
		{"arm64 a computer has", armUpdate, []catalog.Computer{x64, arm}, nil, false},
		{"computer without architecture holds it back", armUpdate, []catalog.Computer{x64, unknown}, nil, false},
		{"needed somewhere", update(upd1, func(u *catalog.UpdateView) {
			u.Title = armUpdate.Title
			u.Computers.Needed = 1
		}), []catalog.Computer{x64}, nil, false},
		{"installed somewhere", update(upd1, func(u *catalog.UpdateView) {
			u.Title = armUpdate.Title
			u.Computers.Installed = 1
		}), []catalog.Computer{x64}, nil, false},
		{"failed somewhere", update(upd1, func(u *catalog.UpdateView) {
			u.Title = armUpdate.Title
			u.Computers.Failed = 1
		}), []catalog.Computer{x64}, nil, false},
		{"approved by an admin", armUpdate, []catalog.Computer{x64}, []catalog.Approval{{UpdateID: upd1, GroupID: grpPilot, Action: catalog.ActionInstall}}, false},
		{"x64 not listed", update(upd1, func(u *catalog.UpdateView) { u.Title = "Update for x64-based Systems" }), nil, nil, false},
		{"japanese nobody uses", update(upd1, func(u *catalog.UpdateView) { u.Languages = []string{"ja"} }), []catalog.Computer{x64}, nil, true},
		{"japanese a computer uses", update(upd1, func(u *catalog.UpdateView) { u.Languages = []string{"ja"} }), []catalog.Computer{x64, arm}, nil, false},
		{"languages not all listed", update(upd1, func(u *catalog.UpdateView) { u.Languages = []string{"ja", "ko"} }), []catalog.Computer{x64}, nil, false},
		{"edition nobody runs", update(upd1, func(u *catalog.UpdateView) { u.Title = "Update for Windows Server 2008 for Itanium-based Systems" }), []catalog.Computer{x64}, nil, true},
		{"no architecture, language or edition", update(upd1), []catalog.Computer{x64}, nil, false},
	}
	for _, c := range cases {
		d := Decide(Input{Now: release, AutoDecline: settings, Updates: []catalog.UpdateView{c.u}, Computers: c.computers, Approvals: c.approvals})
		if got := len(d.Declines) == 1; got != c.decline {
			t.Errorf("%s: declines %+v, want decline %v", c.name, d.Declines, c.decline)
		}
	}
}

func TestTitleArchitectures(t *testing.T) {
	for title, want := range map[string]string{
		"Update for Windows 10 Version 22H2 for x64-based Systems (KB1)": "x64",
		"Update for ARM64-based Systems":                                 "arm64",
		"Security Update for Windows Server 2008 for Itanium-based":      "ia64",
		"Update for x86-based and x64-based Systems":                     "x86,x64",
		"Microsoft Defender update":                                      "",
	} {
		if got := strings.Join(TitleArchitectures(title), ","); got != want {
			t.Errorf("TitleArchitectures(%q) = %q, want %q", title, got, want)
		}
	}
}
