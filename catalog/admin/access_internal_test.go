package admin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"wsus/catalog"
	"wsus/catalog/sqlite"
)

// TestAccessTablesNameRealRoutes: every key of minRoles and auditSpecs is a
// route the handler serves, so that a renamed route cannot leave its role
// or its audit action behind silently.
func TestAccessTablesNameRealRoutes(t *testing.T) {
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := NewWith(store, Options{Token: "t"}).(*handler)
	var keys []string
	for k := range minRoles {
		keys = append(keys, k)
	}
	for k := range auditSpecs {
		keys = append(keys, k)
	}
	for _, k := range keys {
		method, path, _ := strings.Cut(k, " ")
		r := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "0f6a2b4c-0000-4000-8000-00000000000a"), nil)
		if _, pattern := h.mux.Handler(r); pattern != k {
			t.Errorf("%s is served by pattern %q, not by itself", k, pattern)
		}
	}
}

func TestRequiredRole(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         catalog.Role
	}{
		{http.MethodGet, "/api/v1/groups", catalog.RoleViewer},
		{http.MethodHead, "/api/v1/groups", catalog.RoleViewer},
		{http.MethodPost, "/api/v1/approvals", catalog.RoleApprover},
		{http.MethodPost, "/api/v1/updates/{id}/decline", catalog.RoleApprover},
		{http.MethodPost, "/api/v1/groups", catalog.RoleAdmin},
		{http.MethodPost, "/api/v1/some-new-route", catalog.RoleAdmin},
		{http.MethodGet, "/api/v1/tokens", catalog.RoleAdmin},
		{http.MethodGet, "/api/v1/audit", catalog.RoleAdmin},
	} {
		if got := requiredRole(c.method, c.path); got != c.want {
			t.Errorf("%s %s needs %s, want %s", c.method, c.path, got, c.want)
		}
	}
	for _, c := range []struct {
		role, need catalog.Role
		want       bool
	}{
		{catalog.RoleAdmin, catalog.RoleApprover, true},
		{catalog.RoleApprover, catalog.RoleApprover, true},
		{catalog.RoleViewer, catalog.RoleApprover, false},
		{catalog.RoleApprover, catalog.RoleAdmin, false},
		{"", catalog.RoleViewer, false},
		{"root", catalog.RoleViewer, false},
	} {
		if got := c.role.Allows(c.need); got != c.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", c.role, c.need, got, c.want)
		}
	}
}

// TestParseAuditFilterBeforeID: before_id is a positive ID, refused with a
// reason otherwise.
func TestParseAuditFilterBeforeID(t *testing.T) {
	for _, c := range []struct {
		query  string
		want   int64
		reason string
	}{
		{"", 0, ""},
		{"before_id=42", 42, ""},
		{"before_id=9223372036854775807&actor=alice", 1<<63 - 1, ""},
		{"before_id=0", 0, `before_id "0" is not a positive integer`},
		{"before_id=-3", 0, `before_id "-3" is not a positive integer`},
		{"before_id=abc", 0, `before_id "abc" is not a positive integer`},
		{"before_id=1&before_id=2", 0, `parameter "before_id" is given 2 times`},
		{"before=1", 0, `unknown parameter "before"; known: actor, action, target, since, until, before_id, limit`},
	} {
		q, _ := url.ParseQuery(c.query)
		f, e := parseAuditFilter(q)
		switch {
		case c.reason == "" && e != nil:
			t.Errorf("%q: refused: %+v", c.query, e)
		case c.reason == "" && f.BeforeID != c.want:
			t.Errorf("%q: BeforeID %d, want %d", c.query, f.BeforeID, c.want)
		case c.reason != "" && (e == nil || e.status != http.StatusBadRequest || e.code != "invalid_filter" || e.reason != c.reason):
			t.Errorf("%q: got %+v, want 400 invalid_filter %q", c.query, e, c.reason)
		}
	}
}

// FuzzAuditFilter: any query either is refused as invalid_filter with a
// reason, or gives a filter within the bounds the store is promised.
func FuzzAuditFilter(f *testing.F) {
	for _, s := range []string{"", "actor=alice", "limit=1000", "limit=0", "since=2026-01-01T00:00:00Z&until=x", "a=b", "limit=1&limit=2", "before_id=7", "before_id=0", "before_id=-1&limit=5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		filter, e := parseAuditFilter(q)
		if e != nil {
			if e.status != http.StatusBadRequest || e.code != "invalid_filter" || e.reason == "" {
				t.Fatalf("%q: refused with %+v", raw, e)
			}
			return
		}
		if filter.Limit < 0 || filter.Limit > catalog.MaxAuditLimit {
			t.Fatalf("%q: limit %d", raw, filter.Limit)
		}
		if filter.BeforeID < 0 || (filter.BeforeID == 0) != (q.Get("before_id") == "") {
			t.Fatalf("%q: before_id %d", raw, filter.BeforeID)
		}
		if filter.Actor != q.Get("actor") || filter.Action != q.Get("action") || filter.Target != q.Get("target") {
			t.Fatalf("%q: filter %+v", raw, filter)
		}
	})
}
