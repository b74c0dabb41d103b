package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// The access part of the suite (catalog.AccessStore): tokens are found by
// hash until revoked, names are unique, a token's change and its audit
// entry are stored together or not at all, and the audit log reads newest
// first through its filters.

var accessTests = []test{
	{"AccessTokenLifecycle", testAccessTokenLifecycle},
	{"AccessTokenRejectsInvalid", testAccessTokenRejectsInvalid},
	{"AuditFilters", testAuditFilters},
}

func newToken(name string, role catalog.Role) catalog.AccessToken {
	return catalog.AccessToken{ID: uuid.New(), Name: name, Role: role, Hash: sha256.Sum256([]byte("secret of " + name)), CreatedBy: "bootstrap"}
}

func auditOf(action, target string) catalog.AuditEntry {
	return catalog.AuditEntry{Actor: "bootstrap", Action: action, Target: target, After: json.RawMessage(`{"k":1}`), RemoteAddr: "192.0.2.1"}
}

func testAccessTokenLifecycle(t *testing.T, s catalog.Store) {
	alice := newToken("alice", catalog.RoleApprover)
	got, err := s.CreateAccessToken(ctx(t), alice, auditOf("token.create", alice.ID.String()))
	must(t, "CreateAccessToken", err)
	storedTime(t, "Created", got.Created)
	byHash, err := s.AccessTokenByHash(ctx(t), alice.Hash)
	must(t, "AccessTokenByHash", err)
	check(t, "AccessTokenByHash", byHash, got)
	_, err = s.AccessTokenByHash(ctx(t), sha256.Sum256([]byte("nobody")))
	mustNotFound(t, "AccessTokenByHash of an unknown hash", err)

	dup := newToken("alice", catalog.RoleViewer)
	_, err = s.CreateAccessToken(ctx(t), dup, auditOf("token.create", dup.ID.String()))
	mustConflict(t, "a second token named alice", err)

	bob := newToken("bob", catalog.RoleViewer)
	_, err = s.CreateAccessToken(ctx(t), bob, auditOf("token.create", bob.ID.String()))
	must(t, "CreateAccessToken bob", err)
	list, err := s.AccessTokens(ctx(t))
	must(t, "AccessTokens", err)
	if len(list) != 2 || list[0].Name != "alice" || list[1].Name != "bob" {
		t.Errorf("AccessTokens = %+v, want alice then bob", list)
	}

	revoked, err := s.RevokeAccessToken(ctx(t), alice.ID, auditOf("token.revoke", alice.ID.String()))
	must(t, "RevokeAccessToken", err)
	check(t, "revoked token", revoked.Name, "alice")
	_, err = s.AccessTokenByHash(ctx(t), alice.Hash)
	mustNotFound(t, "AccessTokenByHash after revocation", err)
	_, err = s.RevokeAccessToken(ctx(t), alice.ID, auditOf("token.revoke", alice.ID.String()))
	mustNotFound(t, "RevokeAccessToken twice", err)

	// The name of a revoked token is free again.
	_, err = s.CreateAccessToken(ctx(t), newToken("alice", catalog.RoleViewer), auditOf("token.create", "x"))
	must(t, "CreateAccessToken of a revoked name", err)

	entries, err := s.Audit(ctx(t), catalog.AuditFilter{})
	must(t, "Audit", err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		storedTime(t, "audit At", e.At)
	}
	// Two creations, one revocation, one creation; the refused ones left
	// nothing.
	check(t, "audit actions", strings.Join(actions, ","), "token.create,token.revoke,token.create,token.create")
}

func testAccessTokenRejectsInvalid(t *testing.T, s catalog.Store) {
	bad := []struct {
		what  string
		tok   catalog.AccessToken
		audit catalog.AuditEntry
	}{
		{"unknown role", newToken("x", "root"), auditOf("token.create", "x")},
		{"empty name", newToken(" ", catalog.RoleViewer), auditOf("token.create", "x")},
		{"NUL in name", newToken("a\x00b", catalog.RoleViewer), auditOf("token.create", "x")},
		{"zero hash", func() catalog.AccessToken { t := newToken("x", catalog.RoleViewer); t.Hash = [32]byte{}; return t }(), auditOf("token.create", "x")},
		{"audit without actor", newToken("x", catalog.RoleViewer), catalog.AuditEntry{Action: "token.create"}},
		{"audit with bad JSON", newToken("x", catalog.RoleViewer), catalog.AuditEntry{Actor: "a", Action: "b", After: json.RawMessage("{")}},
	}
	for _, b := range bad {
		_, err := s.CreateAccessToken(ctx(t), b.tok, b.audit)
		mustInvalid(t, b.what, err)
	}
	_, err := s.AppendAudit(ctx(t), catalog.AuditEntry{Actor: "a"})
	mustInvalid(t, "AppendAudit without action", err)
	list, err := s.AccessTokens(ctx(t))
	must(t, "AccessTokens", err)
	entries, err := s.Audit(ctx(t), catalog.AuditFilter{})
	must(t, "Audit", err)
	if len(list) != 0 || len(entries) != 0 {
		t.Errorf("refused input left tokens %+v and audit entries %+v", list, entries)
	}
}

func testAuditFilters(t *testing.T, s catalog.Store) {
	var stored []catalog.AuditEntry
	for i, e := range []catalog.AuditEntry{
		{Actor: "alice", Action: "approval.set", Target: "u1", Before: json.RawMessage(`null`), After: json.RawMessage(`{"action":"Install"}`), RemoteAddr: "192.0.2.1"},
		{Actor: "bob", Action: "update.decline", Target: "u2", Before: json.RawMessage(`{"declined":false}`), After: json.RawMessage(`{"declined":true}`), RemoteAddr: "2001:db8::1"},
		{Actor: "alice", Action: "update.decline", Target: "u1", RemoteAddr: "192.0.2.1"},
	} {
		got, err := s.AppendAudit(ctx(t), e)
		must(t, "AppendAudit", err)
		storedTime(t, "At", got.At)
		if i > 0 && got.ID <= stored[i-1].ID {
			t.Errorf("audit IDs do not grow: %d after %d", got.ID, stored[i-1].ID)
		}
		stored = append(stored, got)
	}
	a, b, c := stored[0].ID, stored[1].ID, stored[2].ID
	check(t, "all, newest first", auditIDs(t, s, catalog.AuditFilter{}), []int64{c, b, a})
	check(t, "actor alice", auditIDs(t, s, catalog.AuditFilter{Actor: "alice"}), []int64{c, a})
	check(t, "action update.decline", auditIDs(t, s, catalog.AuditFilter{Action: "update.decline"}), []int64{c, b})
	check(t, "target u1 by bob", auditIDs(t, s, catalog.AuditFilter{Target: "u1", Actor: "bob"}), []int64{})
	check(t, "limit 1", auditIDs(t, s, catalog.AuditFilter{Limit: 1}), []int64{c})
	check(t, "since the first", auditIDs(t, s, catalog.AuditFilter{Since: stored[0].At}), []int64{c, b, a})
	check(t, "until the first", auditIDs(t, s, catalog.AuditFilter{Until: stored[0].At}), []int64{})
	check(t, "until later", auditIDs(t, s, catalog.AuditFilter{Until: stored[2].At.Add(time.Hour)}), []int64{c, b, a})
	check(t, "since later", auditIDs(t, s, catalog.AuditFilter{Since: stored[2].At.Add(time.Hour)}), []int64{})

	es, err := s.Audit(ctx(t), catalog.AuditFilter{Actor: "bob"})
	must(t, "Audit bob", err)
	if len(es) != 1 || string(es[0].Before) != `{"declined":false}` || string(es[0].After) != `{"declined":true}` || es[0].RemoteAddr != "2001:db8::1" {
		t.Errorf("bob's entry = %+v", es)
	}
	if es, _ := s.Audit(ctx(t), catalog.AuditFilter{Target: "u1", Action: "update.decline"}); len(es) != 1 || es[0].Before != nil {
		t.Errorf("an entry without before reads back %+v, want Before nil", es)
	}
}

// auditIDs are the IDs of the audit entries f selects, in the store's order.
func auditIDs(t *testing.T, s catalog.Store, f catalog.AuditFilter) []int64 {
	t.Helper()
	es, err := s.Audit(ctx(t), f)
	must(t, "Audit", err)
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
