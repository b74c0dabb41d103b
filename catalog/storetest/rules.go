package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// The rules part of the suite (catalog.RuleStore): rules and rings round
// trip with unique names, a ring's state is kept by PauseRing and
// ResumeRing only, recorded actions are kept once, and the lease of rule
// runs has one holder at a time.

var rulesTests = []test{
	{"ApprovalRules", testApprovalRules},
	{"Rings", testRings},
	{"AutoDeclineSettings", testAutoDeclineSettings},
	{"RuleActions", testRuleActions},
	{"RulesLease", testRulesLease},
}

func testApprovalRules(t *testing.T, s catalog.Store) {
	days := 3
	r := catalog.ApprovalRule{ID: uuid.New(), Name: "Security", Enabled: true, Products: []uuid.UUID{uuid.New()},
		Classifications: []uuid.UUID{}, Groups: []uuid.UUID{catalog.AllComputersGroupID}, Action: catalog.ActionInstall, DeadlineDays: &days}
	got, err := s.PutApprovalRule(ctx(t), r)
	must(t, "PutApprovalRule", err)
	storedTime(t, "ChangedAt", got.ChangedAt)
	list, err := s.ApprovalRules(ctx(t))
	must(t, "ApprovalRules", err)
	check(t, "ApprovalRules", list, []catalog.ApprovalRule{got})

	other := catalog.ApprovalRule{ID: uuid.New(), Name: "SECURITY"}
	_, err = s.PutApprovalRule(ctx(t), other)
	mustConflict(t, "a second rule named SECURITY", err)
	_, err = s.PutApprovalRule(ctx(t), catalog.ApprovalRule{ID: uuid.New(), Name: " "})
	mustInvalid(t, "a rule without a name", err)
	_, err = s.PutApprovalRule(ctx(t), catalog.ApprovalRule{ID: uuid.New(), Name: "x", Action: catalog.ActionUninstall})
	mustInvalid(t, "a rule that uninstalls", err)

	r.Enabled, r.DeadlineDays, r.Name = false, nil, "Security updates"
	got, err = s.PutApprovalRule(ctx(t), r)
	must(t, "PutApprovalRule replace", err)
	list, err = s.ApprovalRules(ctx(t))
	must(t, "ApprovalRules", err)
	check(t, "ApprovalRules after replace", list, []catalog.ApprovalRule{got})

	ring := catalog.Ring{ID: uuid.New(), RuleID: r.ID, Name: "Pilot", Position: 1, Group: catalog.AllComputersGroupID}
	_, err = s.PutRing(ctx(t), ring)
	must(t, "PutRing", err)
	must(t, "DeleteApprovalRule", s.DeleteApprovalRule(ctx(t), r.ID))
	mustNotFound(t, "DeleteApprovalRule again", s.DeleteApprovalRule(ctx(t), r.ID))
	rings, err := s.Rings(ctx(t))
	must(t, "Rings", err)
	if len(rings) != 0 {
		t.Errorf("rings of a deleted rule remain: %+v", rings)
	}
}

func testRings(t *testing.T, s catalog.Store) {
	rule := catalog.ApprovalRule{ID: uuid.New(), Name: "Monthly", Enabled: true}
	_, err := s.PutApprovalRule(ctx(t), rule)
	must(t, "PutApprovalRule", err)
	max := 10.0
	broad := catalog.Ring{ID: uuid.New(), RuleID: rule.ID, Name: "Broad", Position: 2, Group: catalog.AllComputersGroupID,
		DelayDays: 7, DelayFrom: catalog.DelayFromPrevious, Gate: &catalog.RingGate{MinInstalledPercent: 80, MinInstalls: 2, MaxFailedPercent: &max}}
	pilot := catalog.Ring{ID: uuid.New(), RuleID: rule.ID, Name: "Pilot", Position: 1, Group: catalog.UnassignedComputersGroupID, DelayDays: 1}
	gotBroad, err := s.PutRing(ctx(t), broad)
	must(t, "PutRing broad", err)
	gotPilot, err := s.PutRing(ctx(t), pilot)
	must(t, "PutRing pilot", err)
	rings, err := s.Rings(ctx(t))
	must(t, "Rings", err)
	check(t, "Rings by position", rings, []catalog.Ring{gotPilot, gotBroad})

	_, err = s.PutRing(ctx(t), catalog.Ring{ID: uuid.New(), RuleID: rule.ID, Name: "pilot", Position: 3, Group: pilot.Group})
	mustConflict(t, "a ring named pilot", err)
	_, err = s.PutRing(ctx(t), catalog.Ring{ID: uuid.New(), RuleID: rule.ID, Name: "Third", Position: 1, Group: pilot.Group})
	mustConflict(t, "a ring at a taken position", err)
	_, err = s.PutRing(ctx(t), catalog.Ring{ID: uuid.New(), RuleID: uuid.New(), Name: "Orphan", Position: 1, Group: pilot.Group})
	mustNotFound(t, "a ring of an unknown rule", err)
	bad := 120.0
	_, err = s.PutRing(ctx(t), catalog.Ring{ID: uuid.New(), RuleID: rule.ID, Name: "Bad", Position: 5, Group: pilot.Group, Gate: &catalog.RingGate{MaxFailedPercent: &bad}})
	mustInvalid(t, "a gate above 100%", err)

	upd := uuid.New()
	paused, err := s.PauseRing(ctx(t), broad.ID, "paused: 3 of 10 failed", upd)
	must(t, "PauseRing", err)
	if !paused {
		t.Errorf("PauseRing of a running ring = false")
	}
	paused, err = s.PauseRing(ctx(t), broad.ID, "again", uuid.New())
	must(t, "PauseRing again", err)
	if paused {
		t.Errorf("PauseRing of a paused ring = true")
	}
	// An admin's edit keeps the state.
	broad.DelayDays = 2
	_, err = s.PutRing(ctx(t), broad)
	must(t, "PutRing edit", err)
	rings, err = s.Rings(ctx(t))
	must(t, "Rings", err)
	st := rings[1].State
	if st.Paused != "paused: 3 of 10 failed" || st.PausedUpdate != upd || rings[1].DelayDays != 2 {
		t.Errorf("ring after pause and edit: %+v", rings[1])
	}
	storedTime(t, "PausedAt", st.PausedAt)

	before, err := s.ResumeRing(ctx(t), broad.ID)
	must(t, "ResumeRing", err)
	check(t, "ResumeRing's before", before.State.Paused, "paused: 3 of 10 failed")
	rings, err = s.Rings(ctx(t))
	must(t, "Rings", err)
	check(t, "state after resume", rings[1].State, catalog.RingState{Accepted: []uuid.UUID{upd}})
	_, err = s.ResumeRing(ctx(t), uuid.New())
	mustNotFound(t, "ResumeRing of an unknown ring", err)

	must(t, "DeleteRing", s.DeleteRing(ctx(t), pilot.ID))
	mustNotFound(t, "DeleteRing again", s.DeleteRing(ctx(t), pilot.ID))
}

func testAutoDeclineSettings(t *testing.T, s catalog.Store) {
	got, err := s.AutoDecline(ctx(t))
	must(t, "AutoDecline", err)
	check(t, "AutoDecline before any", got, catalog.AutoDecline{})
	want := catalog.AutoDecline{Superseded: true, SupersededGraceDays: 30, Architectures: []string{"arm64"}, Languages: []string{"ja"}, Editions: []string{"Itanium"}}
	set, err := s.SetAutoDecline(ctx(t), want)
	must(t, "SetAutoDecline", err)
	storedTime(t, "ChangedAt", set.ChangedAt)
	got, err = s.AutoDecline(ctx(t))
	must(t, "AutoDecline", err)
	check(t, "AutoDecline", got, set)
	_, err = s.SetAutoDecline(ctx(t), catalog.AutoDecline{Architectures: []string{"sparc"}})
	mustInvalid(t, "an unknown architecture", err)
	_, err = s.SetAutoDecline(ctx(t), catalog.AutoDecline{SupersededGraceDays: -1})
	mustInvalid(t, "a negative grace", err)
	got, err = s.AutoDecline(ctx(t))
	must(t, "AutoDecline", err)
	check(t, "AutoDecline after refused sets", got, set)
}

func testRuleActions(t *testing.T, s catalog.Store) {
	upd, grp := uuid.New(), uuid.New()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	a := catalog.RuleAction{Source: "ring:x", UpdateID: upd, GroupID: grp, Action: "Install", At: at}
	d := catalog.RuleAction{Source: "auto-decline", UpdateID: upd, Action: "decline", At: at.Add(time.Hour)}
	must(t, "RecordRuleActions", s.RecordRuleActions(ctx(t), []catalog.RuleAction{a, d}))
	again := a
	again.At, again.Action = at.Add(2*time.Hour), "OptionalInstall"
	must(t, "RecordRuleActions again", s.RecordRuleActions(ctx(t), []catalog.RuleAction{again}))
	got, err := s.RuleActions(ctx(t))
	must(t, "RuleActions", err)
	check(t, "RuleActions (the first record kept)", got, []catalog.RuleAction{a, d})
	mustInvalid(t, "an action without a source", s.RecordRuleActions(ctx(t), []catalog.RuleAction{{UpdateID: upd, Action: "x"}}))
}

func testRulesLease(t *testing.T, s catalog.Store) {
	ok, err := s.AcquireRulesLease(ctx(t), "a", time.Hour)
	must(t, "AcquireRulesLease a", err)
	if !ok {
		t.Fatal("a free lease was not taken")
	}
	ok, err = s.AcquireRulesLease(ctx(t), "b", time.Hour)
	must(t, "AcquireRulesLease b", err)
	if ok {
		t.Error("b took a's live lease")
	}
	ok, err = s.AcquireRulesLease(ctx(t), "a", time.Hour)
	must(t, "AcquireRulesLease a again", err)
	if !ok {
		t.Error("a could not renew its lease")
	}
	must(t, "ReleaseRulesLease by b", s.ReleaseRulesLease(ctx(t), "b"))
	ok, err = s.AcquireRulesLease(ctx(t), "b", time.Hour)
	must(t, "AcquireRulesLease b", err)
	if ok {
		t.Error("b's release freed a's lease")
	}
	must(t, "ReleaseRulesLease", s.ReleaseRulesLease(ctx(t), "a"))
	ok, err = s.AcquireRulesLease(ctx(t), "b", time.Millisecond)
	must(t, "AcquireRulesLease b", err)
	if !ok {
		t.Error("a released lease was not taken")
	}
	// An expired lease is free: "c" waits on the store's clock, not on a
	// timer of the test (a millisecond lease expires before the next
	// write's clock reading on every engine's precision).
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err = s.AcquireRulesLease(ctx(t), "c", time.Hour)
		must(t, "AcquireRulesLease c", err)
		if ok || time.Now().After(deadline) {
			break
		}
	}
	if !ok {
		t.Error("an expired lease was not taken")
	}
}
