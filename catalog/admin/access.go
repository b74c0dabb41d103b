package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"wsus/catalog"
)

// This file is people and access: API tokens with roles, the role each
// route needs (checked in one place, guard), and the audit log of every
// change made through the API.
//
// A token is "wsus_" and 32 random bytes in base64url; the store keeps its
// SHA-256 only. A fast hash is enough: the secret is random, not a password
// a person chose, so there is nothing for a slow KDF to protect against
// (2^256 guesses either way), and every request looks its token up.
//
// Looked-up tokens are cached per process for TokenCacheTTL: a revocation
// takes effect at once on the replica that made it and within
// TokenCacheTTL on every other replica sharing the store.
//
// Audit entries of token changes are written in the transaction of the
// change (the store's CreateAccessToken and RevokeAccessToken take them).
// Every other change is recorded by guard right after its handler answered
// 2xx, in a transaction of its own: those handlers call store methods that
// each run their own transaction, and threading the entry through every
// one of them would change the whole store contract. The window is
// small (a store failure between the two writes) and it is logged at Error
// with the entry, so the change is never silent.

// BootstrapActor is the actor name of the bootstrap admin token
// (Options.Token).
const BootstrapActor = "bootstrap"

// TokenCacheTTL is how long a looked-up token is believed without asking
// the store again: the longest a revocation takes to reach another replica.
const TokenCacheTTL = 5 * time.Second

// maxCachedTokens bounds the token cache.
const maxCachedTokens = 1024

// tokenPrefix starts every token this API issues.
const tokenPrefix = "wsus_"

// maxTokenName bounds a token's name, in characters.
const maxTokenName = 256

// principal is who made a request.
type principal struct {
	name string
	role catalog.Role
}

type principalKey struct{}

func principalOf(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// tokenCache holds recently looked-up tokens by hash.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedToken
	now     func() time.Time
}

type cachedToken struct {
	p       principal
	expires time.Time
}

func (c *tokenCache) get(hash [32]byte) (principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !c.now().Before(e.expires) {
		return principal{}, false
	}
	return e.p, true
}

func (c *tokenCache) put(hash [32]byte, p principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[hash] = cachedToken{p: p, expires: c.now().Add(TokenCacheTTL)}
}

func (c *tokenCache) forget(hash [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, hash)
}

// authenticate returns who holds token: the bootstrap admin, or a stored
// token. ok is false for an unknown token; err is a store failure.
func (h *handler) authenticate(ctx context.Context, token string) (p principal, ok bool, err error) {
	got := sha256.Sum256([]byte(token))
	// Comparing digests keeps the comparison constant-time whatever the
	// length of the presented token.
	if subtle.ConstantTimeCompare(got[:], h.digest[:]) == 1 {
		return principal{name: BootstrapActor, role: catalog.RoleAdmin}, true, nil
	}
	if !strings.HasPrefix(token, tokenPrefix) {
		return principal{}, false, nil
	}
	if p, ok := h.tokens.get(got); ok {
		return p, true, nil
	}
	tok, err := h.store.AccessTokenByHash(ctx, got)
	if errors.Is(err, catalog.ErrNotFound) {
		return principal{}, false, nil
	}
	if err != nil {
		return principal{}, false, err
	}
	p = principal{name: tok.Name, role: tok.Role}
	h.tokens.put(got, p)
	return p, true, nil
}

// minRoles is the role each route needs, by "METHOD path" as routed. A
// route not listed needs RoleViewer to read (GET) and RoleAdmin for
// anything else, so a route added without thought is closed, not open.
var minRoles = map[string]catalog.Role{
	"POST /api/v1/approvals":              catalog.RoleApprover,
	"POST /api/v1/updates/{id}/decline":   catalog.RoleApprover,
	"POST /api/v1/updates/{id}/undecline": catalog.RoleApprover,
	"POST /api/v1/bulk":                   catalog.RoleApprover,
	"POST /api/v1/rules":                  catalog.RoleApprover,
	"PUT /api/v1/rules/{id}":              catalog.RoleApprover,
	"DELETE /api/v1/rules/{id}":           catalog.RoleApprover,
	"POST /api/v1/rules/run":              catalog.RoleApprover,
	"POST /api/v1/rings":                  catalog.RoleApprover,
	"PUT /api/v1/rings/{id}":              catalog.RoleApprover,
	"DELETE /api/v1/rings/{id}":           catalog.RoleApprover,
	"POST /api/v1/rings/{id}/resume":      catalog.RoleApprover,
	"PUT /api/v1/autodecline":             catalog.RoleApprover,
	"GET /api/v1/tokens":                  catalog.RoleAdmin,
	"GET /api/v1/tokens/{id}":             catalog.RoleAdmin,
	"GET /api/v1/audit":                   catalog.RoleAdmin,
}

// requiredRole is the role method on path needs.
func requiredRole(method, path string) catalog.Role {
	if r, ok := minRoles[method+" "+path]; ok {
		return r
	}
	if method == http.MethodGet || method == http.MethodHead {
		return catalog.RoleViewer
	}
	return catalog.RoleAdmin
}

// auditSpec says how guard records a change: its action, its target and
// what it was before.
type auditSpec struct {
	action string
	// subAction, when set, names the operation within action from the
	// request ("bulk.approve").
	subAction func(r *http.Request, body []byte) string
	// target names what changed, from the request (body is its JSON, or
	// nil); nil means the path's {id}, else the path.
	target func(r *http.Request, body []byte) string
	// before reads the state the change replaces; nil records none. An
	// error is a store failure: the request is refused before any change.
	before func(ctx context.Context, h *handler, r *http.Request, body []byte) (any, error)
	// self: the handler records its entry itself, in its own transaction.
	self bool
}

// auditSpecs are the changes the API makes, by "METHOD path". A mutating
// route not listed is recorded with the action "METHOD path" and the path
// as its target.
var auditSpecs = map[string]auditSpec{
	"POST /api/v1/approvals":              {action: "approval.set", target: bodyField("update_id"), before: approvalsBefore},
	"POST /api/v1/updates/{id}/decline":   {action: "update.decline", before: declinedBefore},
	"POST /api/v1/updates/{id}/undecline": {action: "update.undecline", before: declinedBefore},
	"PUT /api/v1/computers/{id}/groups":   {action: "computer.groups", before: computerGroupsBefore},
	"POST /api/v1/groups":                 {action: "group.create", target: bodyField("name")},
	"PUT /api/v1/sync/settings":           {action: "sync.settings", target: fixed("sync"), before: syncSettingsBefore},
	"POST /api/v1/sync/runs":              {action: "sync.start", target: fixed("sync")},
	"PATCH /api/v1/groups/{id}":           {action: "group.rename", before: groupBefore},
	"DELETE /api/v1/groups/{id}":          {action: "group.delete", before: groupBefore},
	"DELETE /api/v1/computers/{id}":       {action: "computer.delete", before: computerBefore},
	"POST /api/v1/cleanup/computers":      {action: "computers.cleanup", target: fixed("computers")},
	"POST /api/v1/bulk":                   {action: "bulk", subAction: bodyField("operation"), target: fixed("updates")},
	"POST /api/v1/rules":                  {action: "rule.create", target: bodyField("name")},
	"PUT /api/v1/rules/{id}":              {action: "rule.update", before: ruleBefore},
	"DELETE /api/v1/rules/{id}":           {action: "rule.delete", before: ruleBefore},
	"POST /api/v1/rules/run":              {action: "rules.run", target: fixed("rules")},
	"POST /api/v1/rings":                  {action: "ring.create", target: bodyField("name")},
	"PUT /api/v1/rings/{id}":              {action: "ring.update", before: ringBefore},
	"DELETE /api/v1/rings/{id}":           {action: "ring.delete", before: ringBefore},
	"POST /api/v1/rings/{id}/resume":      {action: "ring.resume", before: ringBefore},
	"PUT /api/v1/autodecline":             {action: "autodecline.set", target: fixed("autodecline"), before: autoDeclineBefore},
	"POST /api/v1/tokens":                 {action: "token.create", self: true},
	"DELETE /api/v1/tokens/{id}":          {action: "token.revoke", self: true},
}

func fixed(s string) func(*http.Request, []byte) string {
	return func(*http.Request, []byte) string { return s }
}

// bodyField is the target named by a string field of the JSON body.
func bodyField(name string) func(*http.Request, []byte) string {
	return func(_ *http.Request, body []byte) string {
		var m map[string]json.RawMessage
		var s string
		if json.Unmarshal(body, &m) == nil && json.Unmarshal(m[name], &s) == nil {
			return s
		}
		return ""
	}
}

func approvalsBefore(ctx context.Context, h *handler, _ *http.Request, body []byte) (any, error) {
	id, err := uuid.Parse(bodyField("update_id")(nil, body))
	if err != nil {
		return nil, nil // the handler refuses the request
	}
	all, err := h.store.Approvals(ctx)
	if err != nil {
		return nil, err
	}
	type approval struct {
		GroupID  uuid.UUID  `json:"group_id"`
		Action   string     `json:"action"`
		Deadline *time.Time `json:"deadline"`
	}
	out := []approval{}
	for _, a := range all {
		if a.UpdateID == id {
			out = append(out, approval{a.GroupID, string(a.Action), optTime(a.Deadline)})
		}
	}
	// An approval may un-decline the update ("undecline": true), so the
	// decline is part of what it replaces.
	declined, err := isDeclined(ctx, h, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"approvals": out, "declined": declined}, nil
}

// isDeclined reports whether the update is declined.
func isDeclined(ctx context.Context, h *handler, id uuid.UUID) (bool, error) {
	states, err := h.store.UpdateStates(ctx)
	if err != nil {
		return false, err
	}
	for _, st := range states {
		if st.UpdateID == id {
			return st.Declined, nil
		}
	}
	return false, nil
}

func declinedBefore(ctx context.Context, h *handler, r *http.Request, _ []byte) (any, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return nil, nil
	}
	declined, err := isDeclined(ctx, h, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"update_id": id, "declined": declined}, nil
}

func computerGroupsBefore(ctx context.Context, h *handler, r *http.Request, _ []byte) (any, error) {
	c, e, err := h.resolveComputer(ctx, r.PathValue("id"))
	if e != nil || err != nil {
		return nil, err // a refused reference: the handler answers it
	}
	return map[string]any{"groups": nonNil(c.Groups)}, nil
}

func computerBefore(ctx context.Context, h *handler, r *http.Request, _ []byte) (any, error) {
	c, e, err := h.resolveComputer(ctx, r.PathValue("id"))
	if e != nil || err != nil {
		return nil, err
	}
	return map[string]any{"id": c.ID, "dns_name": c.DNSName, "groups": nonNil(c.Groups)}, nil
}

func groupBefore(ctx context.Context, h *handler, r *http.Request, _ []byte) (any, error) {
	groups, err := h.store.TargetGroups(ctx)
	if err != nil {
		return nil, err
	}
	g, ok := findGroup(groups, r.PathValue("id"))
	if !ok {
		return nil, nil
	}
	return map[string]any{"id": g.ID, "name": g.Name, "parent_id": g.ParentID}, nil
}

func syncSettingsBefore(ctx context.Context, h *handler, _ *http.Request, _ []byte) (any, error) {
	return h.store.SyncSettings(ctx)
}

// guard wraps the handler of method on path: it refuses a principal whose
// role is below the route's (403 forbidden) and records the audit entry of
// a change that succeeded.
func (h *handler) guard(method, path string, fn http.HandlerFunc) http.HandlerFunc {
	key := method + " " + path
	need := requiredRole(method, path)
	if method == http.MethodGet {
		return func(w http.ResponseWriter, r *http.Request) {
			if h.allowed(w, r, need) {
				fn(w, r)
			}
		}
	}
	spec, ok := auditSpecs[key]
	if !ok {
		spec = auditSpec{action: key, target: func(r *http.Request, _ []byte) string { return r.URL.Path }}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.allowed(w, r, need) {
			return
		}
		if spec.self {
			fn(w, r)
			return
		}
		h.audited(w, r, spec, fn)
	}
}

// allowed answers 403 unless the request's principal has at least need.
func (h *handler) allowed(w http.ResponseWriter, r *http.Request, need catalog.Role) bool {
	p := principalOf(r.Context())
	if p.role.Allows(need) {
		return true
	}
	writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("%s %s needs the %s role; token %q is %s",
		r.Method, r.URL.Path, need, p.name, p.role))
	return false
}

// audited runs fn and records its change when it answered 2xx.
func (h *handler) audited(w http.ResponseWriter, r *http.Request, spec auditSpec, fn http.HandlerFunc) {
	// Read the body ahead (the handler reads it again) so that target and
	// before can look at it; one byte over the limit is enough for the
	// handler to refuse it.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "the body could not be read: "+err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var before json.RawMessage
	if spec.before != nil {
		v, err := spec.before(r.Context(), h, r, body)
		if err != nil {
			h.storeFailed(w, r, "audit before "+spec.action, err)
			return
		}
		if v != nil {
			before, _ = json.Marshal(v)
		}
	}
	rec := &recorder{ResponseWriter: w}
	fn(rec, r)
	if rec.status < 200 || rec.status > 299 {
		return
	}
	target := r.PathValue("id")
	if spec.target != nil {
		target = spec.target(r, body)
	}
	var after json.RawMessage
	if b := bytes.TrimSpace(rec.body.Bytes()); json.Valid(b) {
		after = b
	}
	action := spec.action
	if spec.subAction != nil {
		action += "." + spec.subAction(r, body)
	}
	h.record(r, catalog.AuditEntry{Action: action, Target: target, Before: before, After: after})
}

// record stores an audit entry of r's principal and peer, even when r was
// cancelled; a failure is logged with the entry.
func (h *handler) record(r *http.Request, e catalog.AuditEntry) {
	e = h.entry(r, e)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if _, err := h.store.AppendAudit(ctx, e); err != nil {
		h.log.ErrorContext(ctx, "admin: audit entry not stored; the change was made", "actor", e.Actor,
			"action", e.Action, "target", e.Target, "before", string(e.Before), "after", string(e.After),
			"remote_addr", e.RemoteAddr, "err", err)
	}
}

// entry fills e's actor and remote address from r.
func (h *handler) entry(r *http.Request, e catalog.AuditEntry) catalog.AuditEntry {
	e.Actor = principalOf(r.Context()).name
	e.RemoteAddr = remoteHost(r)
	return e
}

// recorder keeps the status and a copy of the body (up to maxBodyBytes) of
// an answer while writing it.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.body.Len() < maxBodyBytes {
		rec.body.Write(p[:min(len(p), maxBodyBytes-rec.body.Len())])
	}
	return rec.ResponseWriter.Write(p)
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string       `json:"name"`
	Role catalog.Role `json:"role"`
}

// Token is a token as listed: never its secret.
type Token struct {
	ID        uuid.UUID    `json:"id"`
	Name      string       `json:"name"`
	Role      catalog.Role `json:"role"`
	Created   time.Time    `json:"created"`
	CreatedBy string       `json:"created_by"`
}

// NewToken is the answer of POST /api/v1/tokens: the token with its secret,
// shown this once.
type NewToken struct {
	Token
	Secret string `json:"token"`
}

// TokenList is the answer of GET /api/v1/tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// AuditEntry is one entry of the audit log.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	RemoteAddr string          `json:"remote_addr"`
}

// AuditList is the answer of GET /api/v1/audit.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
}

func wireToken(t catalog.AccessToken) Token {
	return Token{ID: t.ID, Name: t.Name, Role: t.Role, Created: t.Created, CreatedBy: t.CreatedBy}
}

func nullJSON(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// routeAccess registers the token and audit routes.
func (h *handler) routeAccess() {
	h.route("/api/v1/tokens", map[string]http.HandlerFunc{
		http.MethodGet:  h.listTokens,
		http.MethodPost: h.createToken,
	})
	h.route("/api/v1/tokens/{id}", map[string]http.HandlerFunc{
		http.MethodGet:    h.getToken,
		http.MethodDelete: h.revokeToken,
	})
	h.route("/api/v1/audit", map[string]http.HandlerFunc{http.MethodGet: h.listAudit})
	h.route(WhoAmIPath, map[string]http.HandlerFunc{http.MethodGet: h.whoAmI})
}

// WhoAmIPath is the route that tells who a request's token is.
const WhoAmIPath = "/api/v1/whoami"

// whoAmI serves GET /api/v1/whoami (viewer role): the token's name and
// role, so that a client (the web console) can show only what the role
// allows. The server enforces the role on every route anyway.
func (h *handler) whoAmI(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	writeJSON(w, http.StatusOK, Principal{Name: p.name, Role: p.role})
}

// parseTokenName checks a token's name: 1–256 characters, printable, not
// only spaces, not the bootstrap actor's.
func parseTokenName(name string) *requestError {
	switch {
	case strings.TrimSpace(name) == "":
		return badRequest("invalid_name", "a token needs a name (1 to %d characters)", maxTokenName)
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxTokenName:
		return badRequest("invalid_name", "a token's name has 1 to %d characters of UTF-8", maxTokenName)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return badRequest("invalid_name", "a token's name holds no control characters")
	case strings.EqualFold(strings.TrimSpace(name), BootstrapActor):
		return badRequest("invalid_name", "%q is the bootstrap token's name", BootstrapActor)
	}
	return nil
}

// createToken serves POST /api/v1/tokens.
func (h *handler) createToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if e := parseTokenName(req.Name); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if !req.Role.Valid() {
		writeError(w, http.StatusBadRequest, "invalid_role", fmt.Sprintf("role %q is not one of admin, approver, viewer", req.Role))
		return
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	tok := catalog.AccessToken{ID: uuid.New(), Name: req.Name, Role: req.Role, Hash: sha256.Sum256([]byte(secret)),
		CreatedBy: principalOf(r.Context()).name}
	after, _ := json.Marshal(map[string]any{"id": tok.ID, "name": tok.Name, "role": tok.Role})
	stored, err := h.store.CreateAccessToken(r.Context(), tok,
		h.entry(r, catalog.AuditEntry{Action: "token.create", Target: tok.ID.String(), After: after}))
	if errors.Is(err, catalog.ErrConflict) {
		writeError(w, http.StatusConflict, "token_exists", fmt.Sprintf("a token is named %q", req.Name))
		return
	}
	if err != nil {
		h.storeFailed(w, r, "CreateAccessToken", err)
		return
	}
	writeJSON(w, http.StatusCreated, NewToken{Token: wireToken(stored), Secret: secret})
}

// listTokens serves GET /api/v1/tokens.
func (h *handler) listTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := h.store.AccessTokens(r.Context())
	if err != nil {
		h.storeFailed(w, r, "AccessTokens", err)
		return
	}
	out := TokenList{Tokens: []Token{}}
	for _, t := range toks {
		out.Tokens = append(out.Tokens, wireToken(t))
	}
	writeJSON(w, http.StatusOK, out)
}

// pathToken finds the token the path's {id} names among those not
// revoked, answering 400 or 404 itself when there is none.
func (h *handler) pathToken(w http.ResponseWriter, r *http.Request) (catalog.AccessToken, bool) {
	ref := r.PathValue("id")
	id, err := uuid.Parse(ref)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_token_id", fmt.Sprintf("token ID %q is not a GUID", ref))
		return catalog.AccessToken{}, false
	}
	toks, err := h.store.AccessTokens(r.Context())
	if err != nil {
		h.storeFailed(w, r, "AccessTokens", err)
		return catalog.AccessToken{}, false
	}
	i := slices.IndexFunc(toks, func(t catalog.AccessToken) bool { return t.ID == id })
	if i < 0 {
		writeError(w, http.StatusNotFound, "unknown_token", fmt.Sprintf("no token %s", id))
		return catalog.AccessToken{}, false
	}
	return toks[i], true
}

// getToken serves GET /api/v1/tokens/{id}: the token (never its secret)
// with its ETag (etag.go).
func (h *handler) getToken(w http.ResponseWriter, r *http.Request) {
	if tok, ok := h.pathToken(w, r); ok {
		writeTagged(w, http.StatusOK, wireToken(tok))
	}
}

// revokeToken serves DELETE /api/v1/tokens/{id}: 200 the token revoked.
// With If-Match the token is revoked only if it is as tagged; a token's
// representation never changes until it is revoked, so the comparison
// needs no conditional write (etag.go).
func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	cur, ok := h.pathToken(w, r)
	if !ok {
		return
	}
	if _, ok := checkIfMatch(w, r, wireToken(cur)); !ok {
		return
	}
	id := cur.ID
	before, _ := json.Marshal(map[string]any{"id": id, "name": cur.Name, "role": cur.Role})
	tok, err := h.store.RevokeAccessToken(r.Context(), id,
		h.entry(r, catalog.AuditEntry{Action: "token.revoke", Target: id.String(), Before: before}))
	if errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown_token", fmt.Sprintf("no token %s", id))
		return
	}
	if err != nil {
		h.storeFailed(w, r, "RevokeAccessToken", err)
		return
	}
	h.tokens.forget(tok.Hash)
	writeJSON(w, http.StatusOK, wireToken(tok))
}

// auditParams are the query parameters GET /api/v1/audit knows.
var auditParams = []string{"actor", "action", "target", "since", "until", "before_id", "limit"}

// parseAuditFilter reads the filters of GET /api/v1/audit.
func parseAuditFilter(q url.Values) (catalog.AuditFilter, *requestError) {
	var f catalog.AuditFilter
	for k, v := range q {
		if !slices.Contains(auditParams, k) {
			return f, badRequest("invalid_filter", "unknown parameter %q; known: %s", k, strings.Join(auditParams, ", "))
		}
		if len(v) != 1 {
			return f, badRequest("invalid_filter", "parameter %q is given %d times", k, len(v))
		}
	}
	f.Actor, f.Action, f.Target = q.Get("actor"), q.Get("action"), q.Get("target")
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if s := q.Get(t.name); s != "" {
			v, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return f, badRequest("invalid_filter", "%s %q is not an RFC 3339 time", t.name, s)
			}
			*t.dst = v
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > catalog.MaxAuditLimit {
			return f, badRequest("invalid_filter", "limit %q is not a number from 1 to %d", s, catalog.MaxAuditLimit)
		}
		f.Limit = n
	}
	if s := q.Get("before_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, badRequest("invalid_filter", "before_id %q is not a positive integer", s)
		}
		f.BeforeID = n
	}
	return f, nil
}

// listAudit serves GET /api/v1/audit.
func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	asCSV, e := auditFormat(r, q)
	if e == nil {
		q.Del("format")
	}
	f, fe := parseAuditFilter(q)
	if e == nil {
		e = fe
	}
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if asCSV {
		h.auditCSV(w, r, f, q.Get("limit") != "")
		return
	}
	entries, err := h.store.Audit(r.Context(), f)
	if err != nil {
		h.storeFailed(w, r, "Audit", err)
		return
	}
	out := AuditList{Entries: []AuditEntry{}}
	for _, e := range entries {
		out.Entries = append(out.Entries, AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Before: nullJSON(e.Before), After: nullJSON(e.After), RemoteAddr: e.RemoteAddr})
	}
	writeJSON(w, http.StatusOK, out)
}
