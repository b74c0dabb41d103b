package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"wsus/catalog"
)

func TestTokensAndAuditCommands(t *testing.T) {
	s := newServer(t)
	code, out, errOut := s.wsusctl(t, "tokens", "create", "helpdesk", "--role", "viewer")
	if code != 0 || errOut != "" {
		t.Fatalf("tokens create: exit %d, stderr %q", code, errOut)
	}
	m := regexp.MustCompile(`^Created viewer token helpdesk with ID ([0-9a-f-]{36})\. Its secret, shown this once:\n(wsus_\S+)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tokens create printed %q", out)
	}
	id, secret := m[1], m[2]

	code, out, _ = s.wsusctl(t, "tokens", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "helpdesk  viewer") || strings.Contains(out, secret) {
		t.Errorf("tokens list: exit %d:\n%s", code, out)
	}

	// The viewer reads but cannot approve.
	code, _, _ = runCLI(t, "--server", s.srv.URL, "--token", secret, "groups")
	if code != 0 {
		t.Errorf("groups as the viewer: exit %d", code)
	}
	code, _, errOut = runCLI(t, "--server", s.srv.URL, "--token", secret, "approve", softwareID.String())
	if code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Errorf("approve as the viewer: exit %d, stderr %q", code, errOut)
	}

	s.wantRun(t, "Revoked token "+id+" (helpdesk, viewer).\n", "tokens", "revoke", id)
	code, _, errOut = runCLI(t, "--server", s.srv.URL, "--token", secret, "groups")
	if code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("groups with a revoked token: exit %d, stderr %q", code, errOut)
	}

	code, out, _ = s.wsusctl(t, "audit", "--action", "token.revoke")
	if code != 0 || !strings.Contains(out, "bootstrap  token.revoke  "+id) || strings.Count(out, "\n") != 2 {
		t.Errorf("audit --action token.revoke: exit %d:\n%s", code, out)
	}
	code, out, _ = s.wsusctl(t, "--json", "audit", "--limit", "1")
	if code != 0 || !strings.HasPrefix(out, `{"entries":[{`) || strings.Count(out, `"action"`) != 1 {
		t.Errorf("audit --json --limit 1: exit %d: %s", code, out)
	}
	entries, err := s.store.Audit(context.Background(), catalog.AuditFilter{})
	if err != nil || len(entries) != 2 {
		t.Errorf("audit entries %+v, %v; want the creation and the revocation", entries, err)
	}
	if len(entries) == 2 {
		// Paging back from the newest entry (the revocation) prints the
		// creation alone, with its ID first.
		code, out, _ = s.wsusctl(t, "audit", "--before-id", strconv.FormatInt(entries[0].ID, 10))
		if code != 0 || !strings.HasPrefix(out, "ID  AT") || !strings.Contains(out, "\n"+strconv.FormatInt(entries[1].ID, 10)+"  ") ||
			!strings.Contains(out, "token.create") || strings.Contains(out, "token.revoke") || strings.Count(out, "\n") != 2 {
			t.Errorf("audit --before-id %d: exit %d:\n%s", entries[0].ID, code, out)
		}
	}

	for _, args := range [][]string{
		{"tokens"}, {"tokens", "rotate"}, {"tokens", "create", "x"}, {"tokens", "create", "x", "--role", "root"},
		{"tokens", "revoke"}, {"audit", "--since", "yesterday"}, {"audit", "--limit", "1001"}, {"audit", "extra"},
		{"audit", "--before-id", "0x"}, {"audit", "--before-id", "-2"},
	} {
		if code, _, _ := s.wsusctl(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, code)
		}
	}
}
