package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// The tokens and audit log pages, an admin's only: the API refuses them
// to the other roles (403), and the error page shows its reason. They
// read GET /api/v1/tokens and /api/v1/audit; the forms write POST
// /api/v1/tokens and DELETE /api/v1/tokens/{id}.

// routeAccess registers the tokens and audit log pages (admin only).
func (c *Console) routeAccess() {
	c.get("GET /console/tokens", c.tokensPage)
	c.post("POST /console/tokens", c.createToken)
	c.post("POST /console/tokens/{id}/revoke", c.revokeToken)
	c.get("GET /console/audit", c.auditPage)
}

// tokensData is the tokens page's data.
type tokensData struct {
	Tokens []admin.Token
	// Roles are the roles the create form offers, least first.
	Roles []catalog.Role
}

// tokensPage serves GET /console/tokens.
func (c *Console) tokensPage(q *request) error {
	var list admin.TokenList
	if err := q.get("/api/v1/tokens", nil, &list); err != nil {
		return err
	}
	d := tokensData{Tokens: list.Tokens, Roles: []catalog.Role{catalog.RoleViewer, catalog.RoleApprover, catalog.RoleAdmin}}
	return q.render("tokens", "Tokens", "tokens", d)
}

// createToken serves the create form: the new token's secret is shown
// once, in the flash, and never again.
func (c *Console) createToken(q *request) (string, flash, error) {
	req := admin.TokenRequest{Name: strings.TrimSpace(q.r.PostForm.Get("name")), Role: catalog.Role(q.r.PostForm.Get("role"))}
	var tok admin.NewToken
	if err := q.api(http.MethodPost, "/api/v1/tokens", nil, req, &tok); err != nil {
		return "/console/tokens", flash{}, err
	}
	f := flashOK(fmt.Sprintf("Token %q (%s) created. Copy its secret now: it is shown this once.", tok.Name, tok.Role))
	f.Secret = tok.Secret
	return "/console/tokens", f, nil
}

// revokeToken serves a token's revoke form.
func (c *Console) revokeToken(q *request) (string, flash, error) {
	var tok admin.Token
	if err := q.api(http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(q.r.PathValue("id")), nil, nil, &tok); err != nil {
		return "/console/tokens", flash{}, err
	}
	return "/console/tokens", flashOK(fmt.Sprintf("Token %q revoked: it signs nothing in any more.", tok.Name)), nil
}

// Paging of the audit log: the API answers the newest entries matching
// the filters up to a limit, newest (highest ID) first; going further back
// asks for those with an ID below the oldest shown (before_id), so entries
// sharing a timestamp are neither skipped nor shown twice.
const defaultAuditLimit = 100

// auditLimits are the page sizes the audit page offers.
var auditLimits = []int{50, 100, 500, 1000}

// auditData is the audit page's data.
type auditData struct {
	// Q holds the filters as asked (actor, action, target, since, until,
	// before_id, limit).
	Q       listQuery
	Entries []auditRow
	Limits  []int
	Limit   int
	// Older is the URL of the entries before the oldest shown, "" when
	// this page holds the oldest.
	Older string
	// Newest is the URL of the first page with the same filters, "" on
	// the first page.
	Newest string
}

// auditRow is one entry as the page shows it: its before and after JSON
// indented.
type auditRow struct {
	admin.AuditEntry
	BeforeJSON, AfterJSON string
}

// auditPage serves GET /console/audit.
func (c *Console) auditPage(q *request) error {
	d := auditData{Q: newListQuery("/console/audit", q.r.URL.Query(), "actor", "action", "target", "since", "until", "before_id", "limit"),
		Limits: auditLimits, Limit: defaultAuditLimit}
	query := url.Values{}
	for _, k := range []string{"actor", "action", "target"} {
		if v := strings.TrimSpace(d.Q.Get(k)); v != "" {
			query.Set(k, v)
		}
	}
	for _, k := range []string{"since", "until"} {
		if v := d.Q.Get(k); v != "" {
			query.Set(k, rfc3339(v))
		}
	}
	// The API says what is wrong with a bad limit or before_id.
	if v := d.Q.Get("before_id"); v != "" {
		query.Set("before_id", v)
		d.Newest = d.Q.With("before_id", "")
	}
	if v := d.Q.Get("limit"); v != "" {
		query.Set("limit", v)
		if n, err := strconv.Atoi(v); err == nil {
			d.Limit = n
		}
	}
	var list admin.AuditList
	if err := q.get("/api/v1/audit", query, &list); err != nil {
		return err
	}
	for _, e := range list.Entries {
		d.Entries = append(d.Entries, auditRow{AuditEntry: e, BeforeJSON: indentJSON(e.Before), AfterJSON: indentJSON(e.After)})
	}
	if n := len(list.Entries); n > 0 && n >= d.Limit {
		d.Older = d.Q.With("before_id", strconv.FormatInt(list.Entries[n-1].ID, 10))
	}
	return q.render("audit", "Audit log", "audit", d)
}

// rfc3339 is a time filter as the API takes it: RFC 3339 as it is, the
// browser's datetime-local ("2026-12-06T18:30") read as UTC; anything
// else goes as typed, for the API to say what is wrong with it.
func rfc3339(s string) string {
	s = strings.TrimSpace(s)
	if _, err := time.Parse(time.RFC3339, s); err == nil {
		return s
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return s
}

// indentJSON is raw indented for reading, "" for null or none.
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
