// Package accesstest tests the admin API's tokens, roles and audit log
// through a real listener on both engines (the embedded store and
// PostgreSQL), as a client would use them.
package accesstest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/postgres"
	"wsus/catalog/sqlite"
	"wsus/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

const bootstrapToken = "bootstrap-admin-token"

var (
	updateID = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	pilotID  = uuid.MustParse("55555555-5555-4555-8555-555555555555")
)

const clientA = "0f6a2b4c-0000-4000-8000-00000000000a"

// server is the admin API over a fresh store of one engine.
type server struct {
	t     *testing.T
	store catalog.Store
	srv   *httptest.Server
}

// eachEngine runs fn on a fresh server per engine.
func eachEngine(t *testing.T, fn func(t *testing.T, s *server)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var store catalog.Store
			var err error
			if engine == "sqlite" {
				store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
			} else {
				store, err = postgres.Open(ctx, testpg.URL(t))
			}
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			t.Cleanup(func() { store.Close() })
			rev := &catalog.Revision{
				Identity: catalog.Identity{UpdateID: updateID, RevisionNumber: 300}, Type: catalog.TypeSoftware,
				Title: "2026-03 Cumulative Update", PublicationState: "Published", CreationDate: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
				CoreXML:   `<UpdateIdentity UpdateID="` + updateID.String() + `" />`,
				SourceXML: `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" />`,
				Localized: map[string]string{"en": "<LocalizedProperties><Language>en</Language><Title>x</Title></LocalizedProperties>"},
			}
			if _, err := store.ImportRevisions(ctx, []*catalog.Revision{rev}); err != nil {
				t.Fatalf("import: %v", err)
			}
			if err := store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilotID, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
				t.Fatal(err)
			}
			if err := store.RecordAuthorization(ctx, clientA, "alpha.contoso.test", nil, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(admin.NewWith(store, admin.Options{Token: bootstrapToken, FailureLimit: 1 << 20}))
			t.Cleanup(srv.Close)
			fn(t, &server{t: t, store: store, srv: srv})
		})
	}
}

type answer struct {
	status int
	body   []byte
}

// do sends a request with token (none when empty) and a JSON body (none
// when empty).
func (s *server) do(token, method, path, body string) answer {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return answer{resp.StatusCode, b}
}

// want fails unless a has status and, for an error, the code.
func (s *server) want(what string, a answer, status int, code string) {
	s.t.Helper()
	if a.status != status {
		s.t.Errorf("%s: status %d, want %d: %s", what, a.status, status, a.body)
		return
	}
	if code == "" {
		return
	}
	var e struct{ Error, Reason string }
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error != code || e.Reason == "" {
		s.t.Errorf("%s: answer %s, want error %q with a reason", what, a.body, code)
	}
}

// create makes a token through the API as the bootstrap admin.
func (s *server) create(name string, role catalog.Role) admin.NewToken {
	s.t.Helper()
	a := s.do(bootstrapToken, http.MethodPost, "/api/v1/tokens", fmt.Sprintf(`{"name":%q,"role":%q}`, name, role))
	if a.status != http.StatusCreated {
		s.t.Fatalf("create token %s: %d %s", name, a.status, a.body)
	}
	var tok admin.NewToken
	if err := json.Unmarshal(a.body, &tok); err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *server) approvals() []catalog.Approval {
	s.t.Helper()
	as, err := s.store.Approvals(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return as
}

func (s *server) audit(query string) []admin.AuditEntry {
	s.t.Helper()
	a := s.do(bootstrapToken, http.MethodGet, "/api/v1/audit"+query, "")
	if a.status != http.StatusOK {
		s.t.Fatalf("GET /api/v1/audit%s: %d %s", query, a.status, a.body)
	}
	var list admin.AuditList
	if err := json.Unmarshal(a.body, &list); err != nil {
		s.t.Fatal(err)
	}
	return list.Entries
}

var approveBody = `{"update_id":"` + updateID.String() + `","group":"Pilot"}`

func TestRoles(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		viewer := s.create("helpdesk", catalog.RoleViewer).Secret
		approver := s.create("alice", catalog.RoleApprover).Secret

		s.want("viewer reads groups", s.do(viewer, http.MethodGet, "/api/v1/groups", ""), http.StatusOK, "")
		s.want("viewer approves", s.do(viewer, http.MethodPost, "/api/v1/approvals", approveBody), http.StatusForbidden, "forbidden")
		s.want("viewer declines", s.do(viewer, http.MethodPost, "/api/v1/updates/"+updateID.String()+"/decline", ""), http.StatusForbidden, "forbidden")
		s.want("viewer creates a group", s.do(viewer, http.MethodPost, "/api/v1/groups", `{"name":"Ring 2"}`), http.StatusForbidden, "forbidden")
		s.want("viewer reads the audit log", s.do(viewer, http.MethodGet, "/api/v1/audit", ""), http.StatusForbidden, "forbidden")
		if as := s.approvals(); len(as) != 0 {
			t.Errorf("a refused approval left %+v", as)
		}

		s.want("approver approves", s.do(approver, http.MethodPost, "/api/v1/approvals", approveBody), http.StatusCreated, "")
		if as := s.approvals(); len(as) != 1 || as[0].GroupID != pilotID {
			t.Errorf("approvals after the approver's = %+v", as)
		}
		s.want("approver declines", s.do(approver, http.MethodPost, "/api/v1/updates/"+updateID.String()+"/decline", ""), http.StatusOK, "")
		s.want("approver creates a token", s.do(approver, http.MethodPost, "/api/v1/tokens", `{"name":"mallory","role":"admin"}`), http.StatusForbidden, "forbidden")
		s.want("approver lists tokens", s.do(approver, http.MethodGet, "/api/v1/tokens", ""), http.StatusForbidden, "forbidden")
		s.want("approver changes sync settings", s.do(approver, http.MethodPut, "/api/v1/sync/settings", `{}`), http.StatusForbidden, "forbidden")
		s.want("approver assigns a computer", s.do(approver, http.MethodPut, "/api/v1/computers/"+clientA+"/groups", `{"groups":["Pilot"]}`), http.StatusForbidden, "forbidden")

		s.want("viewer bulk-approves", s.do(viewer, http.MethodPost, "/api/v1/bulk",
			`{"operation":"undecline","update_ids":["`+updateID.String()+`"]}`), http.StatusForbidden, "forbidden")
		s.want("approver bulk-undeclines", s.do(approver, http.MethodPost, "/api/v1/bulk",
			`{"operation":"undecline","update_ids":["`+updateID.String()+`"]}`), http.StatusOK, "")
		if es := s.audit("?action=bulk.undecline"); len(es) != 1 || es[0].Actor != "alice" || es[0].Target != "updates" || !strings.Contains(string(es[0].After), updateID.String()) {
			t.Errorf("bulk entries %+v", es)
		}
		admin2 := s.create("bob", catalog.RoleAdmin).Secret
		s.want("an admin token creates a token", s.do(admin2, http.MethodPost, "/api/v1/tokens", `{"name":"carol","role":"viewer"}`), http.StatusCreated, "")
		toks, _ := s.store.AccessTokens(context.Background())
		if len(toks) != 4 {
			t.Errorf("tokens = %+v, want helpdesk, alice, bob, carol", toks)
		}
		for _, e := range s.audit("?action=token.create") {
			if e.Target == "" || (e.Actor != "bootstrap" && e.Actor != "bob") {
				t.Errorf("token.create entry %+v", e)
			}
		}
	})
}

func TestTokenSecretShownOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		tok := s.create("ci-pipeline", catalog.RoleViewer)
		if !strings.HasPrefix(tok.Secret, "wsus_") || len(tok.Secret) < 40 || tok.Name != "ci-pipeline" || tok.Role != catalog.RoleViewer || tok.ID == uuid.Nil {
			t.Errorf("created token = %+v", tok)
		}
		list := s.do(bootstrapToken, http.MethodGet, "/api/v1/tokens", "")
		s.want("list", list, http.StatusOK, "")
		if strings.Contains(string(list.body), tok.Secret) || strings.Contains(string(list.body), `"token"`) {
			t.Errorf("the list shows the secret: %s", list.body)
		}
		var tl admin.TokenList
		if err := json.Unmarshal(list.body, &tl); err != nil || len(tl.Tokens) != 1 || tl.Tokens[0].ID != tok.ID || tl.Tokens[0].CreatedBy != "bootstrap" {
			t.Errorf("list = %s", list.body)
		}
		stored, err := s.store.AccessTokens(context.Background())
		if err != nil || len(stored) != 1 {
			t.Fatalf("stored tokens %+v, %v", stored, err)
		}
		if string(stored[0].Hash[:]) == tok.Secret || stored[0].Hash != sha256.Sum256([]byte(tok.Secret)) {
			t.Errorf("stored hash %x is not the SHA-256 of the secret", stored[0].Hash)
		}
		for _, e := range s.audit("") {
			if strings.Contains(string(e.After), tok.Secret) || strings.Contains(string(e.Before), tok.Secret) {
				t.Errorf("the audit log holds the secret: %+v", e)
			}
		}
		s.want("the secret works", s.do(tok.Secret, http.MethodGet, "/api/v1/groups", ""), http.StatusOK, "")
	})
}

func TestRevokedTokenIsRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		tok := s.create("temp", catalog.RoleApprover)
		s.want("before revocation", s.do(tok.Secret, http.MethodGet, "/api/v1/groups", ""), http.StatusOK, "")
		s.want("revoke", s.do(bootstrapToken, http.MethodDelete, "/api/v1/tokens/"+tok.ID.String(), ""), http.StatusOK, "")
		s.want("after revocation", s.do(tok.Secret, http.MethodGet, "/api/v1/groups", ""), http.StatusUnauthorized, "unauthorized")
		s.want("approve after revocation", s.do(tok.Secret, http.MethodPost, "/api/v1/approvals", approveBody), http.StatusUnauthorized, "unauthorized")
		s.want("revoke again", s.do(bootstrapToken, http.MethodDelete, "/api/v1/tokens/"+tok.ID.String(), ""), http.StatusNotFound, "unknown_token")
		s.want("revoke a bad ID", s.do(bootstrapToken, http.MethodDelete, "/api/v1/tokens/nope", ""), http.StatusBadRequest, "invalid_token_id")
		es := s.audit("?action=token.revoke")
		if len(es) != 1 || es[0].Target != tok.ID.String() || !strings.Contains(string(es[0].Before), `"temp"`) {
			t.Errorf("revocation entries %+v", es)
		}
		if len(s.approvals()) != 0 {
			t.Error("a revoked token approved")
		}
	})
}

// TestRevocationReachesOtherReplicas: a second handler over the same store
// (another replica) that cached the token refuses it within TokenCacheTTL.
func TestRevocationReachesOtherReplicas(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		other := httptest.NewServer(admin.NewWith(s.store, admin.Options{Token: bootstrapToken}))
		defer other.Close()
		replica := &server{t: t, store: s.store, srv: other}
		tok := s.create("replicated", catalog.RoleViewer)
		s.want("replica accepts", replica.do(tok.Secret, http.MethodGet, "/api/v1/groups", ""), http.StatusOK, "")
		s.want("revoke", s.do(bootstrapToken, http.MethodDelete, "/api/v1/tokens/"+tok.ID.String(), ""), http.StatusOK, "")
		deadline := time.Now().Add(admin.TokenCacheTTL + 2*time.Second)
		for replica.do(tok.Secret, http.MethodGet, "/api/v1/groups", "").status != http.StatusUnauthorized {
			if time.Now().After(deadline) {
				t.Fatalf("the replica still accepts a token revoked %s ago", admin.TokenCacheTTL+2*time.Second)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestTokenBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		s.create("taken", catalog.RoleViewer)
		for _, c := range []struct {
			what, body string
			status     int
			code       string
		}{
			{"malformed JSON", `{"name":"x",`, http.StatusBadRequest, "bad_json"},
			{"unknown field", `{"name":"x","role":"viewer","secret":"mine"}`, http.StatusBadRequest, "bad_json"},
			{"unknown role", `{"name":"x","role":"root"}`, http.StatusBadRequest, "invalid_role"},
			{"no role", `{"name":"x"}`, http.StatusBadRequest, "invalid_role"},
			{"no name", `{"role":"viewer"}`, http.StatusBadRequest, "invalid_name"},
			{"control character", `{"name":"a\u0000b","role":"viewer"}`, http.StatusBadRequest, "invalid_name"},
			{"bootstrap's name", `{"name":"Bootstrap","role":"admin"}`, http.StatusBadRequest, "invalid_name"},
			{"too long a name", `{"name":"` + strings.Repeat("n", 257) + `","role":"viewer"}`, http.StatusBadRequest, "invalid_name"},
			{"oversized body", `{"name":"` + strings.Repeat("n", 2<<20) + `","role":"viewer"}`, http.StatusRequestEntityTooLarge, "body_too_large"},
			{"name taken", `{"name":"taken","role":"admin"}`, http.StatusConflict, "token_exists"},
		} {
			s.want(c.what, s.do(bootstrapToken, http.MethodPost, "/api/v1/tokens", c.body), c.status, c.code)
		}
		toks, _ := s.store.AccessTokens(context.Background())
		if len(toks) != 1 {
			t.Errorf("refused requests stored tokens: %+v", toks)
		}
		if es := s.audit(""); len(es) != 1 {
			t.Errorf("refused requests left audit entries: %+v", es)
		}
	})
}

// entryOf returns the newest entry of action, failing when there is none.
func entryOf(t *testing.T, es []admin.AuditEntry, action string) admin.AuditEntry {
	t.Helper()
	for _, e := range es {
		if e.Action == action {
			return e
		}
	}
	t.Fatalf("no %s entry in %+v", action, es)
	return admin.AuditEntry{}
}

func TestAuditRecordsEveryChange(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		alice := s.create("alice", catalog.RoleApprover).Secret
		s.want("approve", s.do(alice, http.MethodPost, "/api/v1/approvals", approveBody), http.StatusCreated, "")
		s.want("decline", s.do(alice, http.MethodPost, "/api/v1/updates/"+updateID.String()+"/decline", ""), http.StatusOK, "")
		s.want("undecline", s.do(alice, http.MethodPost, "/api/v1/updates/"+updateID.String()+"/undecline", ""), http.StatusOK, "")
		s.want("create group", s.do(bootstrapToken, http.MethodPost, "/api/v1/groups", `{"name":"Ring 2"}`), http.StatusCreated, "")
		s.want("assign", s.do(bootstrapToken, http.MethodPut, "/api/v1/computers/"+clientA+"/groups", `{"groups":["Pilot"]}`), http.StatusOK, "")
		s.want("sync settings", s.do(bootstrapToken, http.MethodPut, "/api/v1/sync/settings", `{"syncs_per_day":2,"first_sync":"03:00"}`), http.StatusOK, "")
		// Refused changes leave nothing.
		s.want("approve an unknown update", s.do(alice, http.MethodPost, "/api/v1/approvals", `{"update_id":"`+uuid.New().String()+`"}`), http.StatusNotFound, "")
		s.want("malformed approval", s.do(alice, http.MethodPost, "/api/v1/approvals", `{"update_id":`), http.StatusBadRequest, "bad_json")
		s.want("oversized approval", s.do(alice, http.MethodPost, "/api/v1/approvals",
			`{"update_id":"`+updateID.String()+`","group":"`+strings.Repeat("g", 2<<20)+`"}`), http.StatusRequestEntityTooLarge, "body_too_large")
		s.want("assign an unknown computer", s.do(bootstrapToken, http.MethodPut, "/api/v1/computers/nobody/groups", `{"groups":["Pilot"]}`), http.StatusNotFound, "")
		s.want("an unknown group", s.do(bootstrapToken, http.MethodPut, "/api/v1/computers/"+clientA+"/groups", `{"groups":["Nope"]}`), http.StatusNotFound, "unknown_group")

		es := s.audit("")
		var actions []string
		for i, e := range es {
			actions = append(actions, e.Action)
			if e.RemoteAddr != "127.0.0.1" || e.At.IsZero() {
				t.Errorf("entry %+v: want remote_addr 127.0.0.1 and a time", e)
			}
			if i > 0 && e.At.After(es[i-1].At) {
				t.Errorf("entries are not newest first: %v after %v", e.At, es[i-1].At)
			}
		}
		want := "sync.settings,computer.groups,group.create,update.undecline,update.decline,approval.set,token.create"
		if got := strings.Join(actions, ","); got != want {
			t.Errorf("actions %s, want %s", got, want)
		}

		ap := entryOf(t, es, "approval.set")
		if ap.Actor != "alice" || ap.Target != updateID.String() || string(ap.Before) != `{"approvals":[],"declined":false}` || !strings.Contains(string(ap.After), `"Install"`) {
			t.Errorf("approval entry %+v", ap)
		}
		de := entryOf(t, es, "update.decline")
		if de.Actor != "alice" || !strings.Contains(string(de.Before), `"declined":false`) || !strings.Contains(string(de.After), `"declined":true`) {
			t.Errorf("decline entry before %s after %s", de.Before, de.After)
		}
		cg := entryOf(t, es, "computer.groups")
		if cg.Actor != "bootstrap" || cg.Target != clientA || string(cg.Before) != `{"groups":[]}` || !strings.Contains(string(cg.After), pilotID.String()) {
			t.Errorf("computer.groups entry %+v (before %s after %s)", cg, cg.Before, cg.After)
		}
		ss := entryOf(t, es, "sync.settings")
		if string(ss.Before) == "null" || !strings.Contains(string(ss.After), `"syncs_per_day":2`) {
			t.Errorf("sync.settings entry before %s after %s", ss.Before, ss.After)
		}
		if g := entryOf(t, es, "group.create"); g.Target != "Ring 2" || string(g.Before) != "null" {
			t.Errorf("group.create entry %+v", g)
		}

		// Renaming and deleting a group, deleting a computer.
		s.want("rename", s.do(bootstrapToken, http.MethodPatch, "/api/v1/groups/Ring%202", `{"name":"Ring Two"}`), http.StatusOK, "")
		s.want("delete group", s.do(bootstrapToken, http.MethodDelete, "/api/v1/groups/Ring%20Two", ""), http.StatusOK, "")
		s.want("delete computer", s.do(bootstrapToken, http.MethodDelete, "/api/v1/computers/alpha.contoso.test", ""), http.StatusOK, "")
		es = s.audit("?limit=3")
		if len(es) != 3 || es[2].Action != "group.rename" || !strings.Contains(string(es[2].Before), `"name":"Ring 2"`) ||
			es[1].Action != "group.delete" || !strings.Contains(string(es[1].Before), `"name":"Ring Two"`) ||
			es[0].Action != "computer.delete" || !strings.Contains(string(es[0].Before), clientA) || es[0].Target != "alpha.contoso.test" {
			t.Errorf("rename, delete group, delete computer entries: %+v", es)
		}

		// An approval that un-declines says so in its before.
		s.want("decline again", s.do(alice, http.MethodPost, "/api/v1/updates/"+updateID.String()+"/decline", ""), http.StatusOK, "")
		s.want("approve and undecline", s.do(alice, http.MethodPost, "/api/v1/approvals",
			`{"update_id":"`+updateID.String()+`","group":"All Computers","undecline":true}`), http.StatusCreated, "")
		if ap := s.audit("?limit=1")[0]; ap.Action != "approval.set" || !strings.Contains(string(ap.Before), `"declined":true`) ||
			!strings.Contains(string(ap.Before), pilotID.String()) {
			t.Errorf("the un-declining approval's entry %+v (before %s)", ap, ap.Before)
		}
	})
}

func TestAuditFilters(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		alice := s.create("alice", catalog.RoleApprover).Secret
		s.want("approve", s.do(alice, http.MethodPost, "/api/v1/approvals", approveBody), http.StatusCreated, "")
		s.want("decline", s.do(alice, http.MethodPost, "/api/v1/updates/"+updateID.String()+"/decline", ""), http.StatusOK, "")

		count := func(q string) int { t.Helper(); return len(s.audit(q)) }
		if n := count("?actor=alice"); n != 2 {
			t.Errorf("actor=alice: %d entries, want 2", n)
		}
		if n := count("?actor=bootstrap&action=token.create"); n != 1 {
			t.Errorf("actor=bootstrap&action=token.create: %d, want 1", n)
		}
		if n := count("?target=" + updateID.String()); n != 2 {
			t.Errorf("target=update: %d, want 2", n)
		}
		if es := s.audit("?limit=1"); len(es) != 1 || es[0].Action != "update.decline" {
			t.Errorf("limit=1: %+v, want the decline", es)
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		if n := count("?since=" + future); n != 0 {
			t.Errorf("since the future: %d entries", n)
		}
		if n := count("?since=" + past + "&until=" + future); n != 3 {
			t.Errorf("within the hour: %d entries, want 3", n)
		}
		for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?since=yesterday", "?until=2026-13-01T00:00:00Z", "?user=alice", "?actor=a&actor=b"} {
			s.want("GET /api/v1/audit"+q, s.do(bootstrapToken, http.MethodGet, "/api/v1/audit"+q, ""), http.StatusBadRequest, "invalid_filter")
		}
	})
}

// TestWhoAmI checks that GET /api/v1/whoami names each token and its role,
// and refuses a request without a valid token.
func TestWhoAmI(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		viewer := s.create("ops-viewer", catalog.RoleViewer)
		approver := s.create("ops-approver", catalog.RoleApprover)
		for _, c := range []struct {
			token string
			want  admin.Principal
		}{
			{bootstrapToken, admin.Principal{Name: admin.BootstrapActor, Role: catalog.RoleAdmin}},
			{viewer.Secret, admin.Principal{Name: "ops-viewer", Role: catalog.RoleViewer}},
			{approver.Secret, admin.Principal{Name: "ops-approver", Role: catalog.RoleApprover}},
		} {
			a := s.do(c.token, http.MethodGet, admin.WhoAmIPath, "")
			var got admin.Principal
			if a.status != http.StatusOK || json.Unmarshal(a.body, &got) != nil || got != c.want {
				t.Errorf("whoami as %s: %d %s, want %+v", c.want.Name, a.status, a.body, c.want)
			}
		}
		s.want("whoami without token", s.do("", http.MethodGet, admin.WhoAmIPath, ""), http.StatusUnauthorized, "unauthorized")
	})
}
