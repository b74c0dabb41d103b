package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/rules"
)

func TestRulesCommands(t *testing.T) {
	s := newServer(t)
	runner, err := rules.New(rules.Config{Store: s.store, Holder: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.NewWith(s.store, admin.Options{Token: token, Rules: runner}))
	t.Cleanup(srv.Close)
	s.srv = srv

	code, out, errOut := s.wsusctl(t, "rules", "create", "Monthly", "--product", "Windows 11", "--group", "Pilot", "--deadline-days", "3")
	if code != 0 || !strings.HasPrefix(out, "Created approval rule Monthly (") {
		t.Fatalf("rules create: exit %d, %q, %q", code, out, errOut)
	}
	code, _, errOut = s.wsusctl(t, "rules", "create", "Other", "--product", "Windows 95")
	if code != 1 || !strings.Contains(errOut, "unknown_product") {
		t.Errorf("rules create with an unknown product: exit %d, %q", code, errOut)
	}
	code, out, errOut = s.wsusctl(t, "rings", "create", "Broad", "--rule", "Monthly", "--group", "All Computers", "--position", "1",
		"--min-installs", "1", "--max-failed-percent", "10")
	if code != 0 || !strings.HasPrefix(out, "Created ring Broad (") || !strings.HasSuffix(out, ") of rule Monthly for group All Computers.\n") {
		t.Fatalf("rings create: exit %d, %q, %q", code, out, errOut)
	}

	code, out, _ = s.wsusctl(t, "rules", "list")
	if code != 0 || !strings.Contains(out, "Monthly  true     Windows 11  any              Pilot   Install  3d        Broad") {
		t.Errorf("rules list: exit %d:\n%s", code, out)
	}
	code, out, _ = s.wsusctl(t, "rings", "list")
	if code != 0 || !strings.Contains(out, "Broad  Monthly  1    All Computers  0d after release  >=0% installed, >=1 installs, pause above 10% failed  running") {
		t.Errorf("rings list: exit %d:\n%s", code, out)
	}
	code, out, _ = s.wsusctl(t, "rules", "run", "--dry-run")
	if code != 0 || !strings.HasPrefix(out, "Would do: 2 approvals") {
		t.Errorf("rules run --dry-run: exit %d:\n%s", code, out)
	}
	if as, _ := s.store.Approvals(t.Context()); len(as) != 0 {
		t.Fatalf("a dry run approved %+v", as)
	}
	code, out, _ = s.wsusctl(t, "rules", "run")
	if code != 0 || !strings.HasPrefix(out, "Did: 2 approvals, 0 declines, 0 rings paused") ||
		!strings.Contains(out, "rule:Monthly  Install  KB5050001  Pilot") || !strings.Contains(out, "ring:Broad    Install  KB5050001  All Computers") {
		t.Errorf("rules run: exit %d:\n%s", code, out)
	}
	code, out, _ = s.wsusctl(t, "--json", "rules", "run")
	if code != 0 || !strings.Contains(out, `"approved":[]`) {
		t.Errorf("a second rules run --json: exit %d: %s", code, out)
	}
	code, out, _ = s.wsusctl(t, "rings", "status", "Broad")
	if code != 0 || !strings.Contains(out, "Ring Broad of rule Monthly") || !strings.Contains(out, "Nothing waits.") {
		t.Errorf("rings status: exit %d:\n%s", code, out)
	}
	code, _, errOut = s.wsusctl(t, "rings", "resume", "Broad")
	if code != 1 || !strings.Contains(errOut, "not_paused") {
		t.Errorf("rings resume of a running ring: exit %d, %q", code, errOut)
	}

	code, out, _ = s.wsusctl(t, "autodecline", "set", "--superseded", "--grace-days", "14", "--architecture", "arm64")
	if code != 0 || !strings.Contains(out, "on, 14 days of grace") || !strings.Contains(out, "arm64") {
		t.Errorf("autodecline set: exit %d:\n%s", code, out)
	}
	code, out, _ = s.wsusctl(t, "autodecline", "set", "--architecture", "none")
	if code != 0 || !strings.Contains(out, "on, 14 days of grace") || strings.Contains(out, "arm64") {
		t.Errorf("autodecline set --architecture none: exit %d:\n%s", code, out)
	}
	code, out, _ = s.wsusctl(t, "autodecline", "show")
	if code != 0 || !strings.Contains(out, "Superseded updates:  on, 14 days of grace") {
		t.Errorf("autodecline show: exit %d:\n%s", code, out)
	}

	s.wantRun(t, "Deleted ring Broad.\n", "rings", "delete", "Broad")
	s.wantRun(t, "Deleted approval rule Monthly with its rings.\n", "rules", "delete", "Monthly")
	entries, err := s.store.Audit(t.Context(), catalog.AuditFilter{Actor: "ring:Broad"})
	if err != nil || len(entries) != 1 || entries[0].Action != "approval.set" {
		t.Errorf("the ring's audit entries: %+v, %v", entries, err)
	}

	for _, args := range [][]string{
		{"rules"}, {"rules", "frobnicate"}, {"rules", "create"}, {"rules", "delete"}, {"rules", "run", "extra"},
		{"rings", "create", "X"}, {"rings", "create", "X", "--rule", "R", "--group", "G", "--min-installs", "many"},
		{"rings", "status"}, {"autodecline"}, {"autodecline", "set", "--superseded=maybe"},
	} {
		if code, _, _ := s.wsusctl(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
}
