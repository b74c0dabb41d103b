package admin

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The OpenAPI document (openapi.json, served at OpenAPIPath) is generated
// from the table operations below: a route added to the handler fails
// TestOpenAPI until it has an entry here and the document is regenerated:
//
//	go test ./catalog/admin -run TestOpenAPI -update
//
// Schemas come from the wire types by reflection (encoding/json's rules:
// tags, omitempty and omitzero fields not required, pointers nullable), so
// a changed wire type changes the document too.

var update = flag.Bool("update", false, "rewrite openapi.json from the operations table")

// param is a query parameter.
type param struct {
	name string
	// typ is a JSON schema type: string, integer, boolean; "[]string" for
	// a parameter that may be repeated.
	typ  string
	desc string
}

// operation documents one "METHOD path" the handler registers.
type operation struct {
	method, path, summary string
	query                 []param
	req                   any // a value of the request body's type; nil: no body
	resp                  any // a value of the answer's type; nil: a JSON object
	status                int // of success; zero means 200
	// tagged: a GET answers an ETag; a write takes If-Match (etag.go).
	tagged bool
	// csv: the answer is text/csv with ?format=csv or Accept: text/csv.
	csv bool
}

var (
	auditQuery = []param{{"actor", "string", "the token's name"}, {"action", "string", "e.g. approval.set"},
		{"target", "string", "what changed"}, {"since", "string", "RFC 3339"}, {"until", "string", "RFC 3339"},
		{"before_id", "integer", "entries with a lower ID: the last ID of the previous page"},
		{"limit", "integer", "1 to 1000, default 100"}, {"format", "string", "csv for CSV"}}
	ringStatusQuery = []param{{"limit", "integer", "at most this many entries in approves_now and in waiting, per ring (0 to 100000; absent: all); the totals count them all"}}
)

// operations are the routes of the API, as documented.
var operations = []operation{
	{method: "GET", path: OpenAPIPath, summary: "This document (needs no token)", resp: map[string]any{}},

	{method: "GET", path: "/api/v1/tokens", summary: "List the API tokens (never their secrets)", resp: TokenList{}},
	{method: "POST", path: "/api/v1/tokens", summary: "Create an API token; its secret is answered this once", req: TokenRequest{}, resp: NewToken{}, status: 201},
	{method: "GET", path: "/api/v1/tokens/{id}", summary: "One API token", resp: Token{}, tagged: true},
	{method: "DELETE", path: "/api/v1/tokens/{id}", summary: "Revoke an API token", resp: Token{}, tagged: true},
	{method: "GET", path: "/api/v1/audit", summary: "The audit log, newest (highest ID) first", query: auditQuery, resp: AuditList{}, csv: true},

	{method: "GET", path: "/api/v1/approvals", summary: "List the approvals", resp: ApprovalList{}},
	{method: "POST", path: "/api/v1/approvals", summary: "Approve an update for a group (NotApproved removes the approval: 200 with an Unapproval)", req: ApprovalRequest{}, resp: Approval{}, status: 201},
	{method: "POST", path: "/api/v1/bulk", summary: "Approve, unapprove, decline or undecline a list of updates or those a filter selects", req: map[string]any{}},
	{method: "POST", path: "/api/v1/updates/{id}/decline", summary: "Decline an update", resp: DeclineState{}},
	{method: "POST", path: "/api/v1/updates/{id}/undecline", summary: "Lift an update's decline", resp: DeclineState{}},

	{method: "GET", path: "/api/v1/computers", summary: "List the computers with their update counts, filtered, sorted and paged", query: names(computerParams, []string{"group"}), resp: ComputerList{}, csv: true},
	{method: "GET", path: "/api/v1/computers/{id}", summary: "One computer (client ID, DNS name or host name) with its update states", resp: ComputerDetail{}},
	{method: "DELETE", path: "/api/v1/computers/{id}", summary: "Delete a computer and what it reported", resp: DeletedComputers{}},
	{method: "PUT", path: "/api/v1/computers/{id}/groups", summary: "Assign a computer to target groups, replacing its groups", req: ComputerGroupsRequest{}},
	{method: "POST", path: "/api/v1/cleanup/computers", summary: "Delete the computers not contacted for N days (WSUS's clean up obsolete computers)", req: CleanupRequest{}, resp: DeletedComputers{}},

	{method: "GET", path: "/api/v1/groups", summary: "List the target groups", resp: GroupList{}},
	{method: "POST", path: "/api/v1/groups", summary: "Create a target group", req: GroupRequest{}, resp: Group{}, status: 201},
	{method: "GET", path: "/api/v1/groups/{id}", summary: "One target group (ID or name)", resp: Group{}, tagged: true},
	{method: "PATCH", path: "/api/v1/groups/{id}", summary: "Rename a target group", req: GroupRenameRequest{}, resp: Group{}, tagged: true},
	{method: "DELETE", path: "/api/v1/groups/{id}", summary: "Delete a target group with its approvals and assignments", resp: DeletedGroup{}, tagged: true},

	{method: "GET", path: "/api/v1/updates", summary: "List the updates as WSUS lists them, filtered, searched (title, KB, CVE), sorted and paged", query: names(updateParams), resp: UpdateList{}, csv: true},
	{method: "GET", path: "/api/v1/updates/{id}", summary: "One update with its approvals and computer counts", resp: UpdateDetail{}},
	{method: "GET", path: "/api/v1/updates/{id}/computers", summary: "Which computers are in which state for an update, sorted and paged", query: names(statusParams), resp: UpdateComputerList{}, csv: true},
	{method: "GET", path: "/api/v1/computers/{id}/updates", summary: "A computer's per-update states, sorted and paged", query: names(computerUpdateParams), resp: ComputerUpdateList{}, csv: true},
	{method: "GET", path: "/api/v1/groups/{id}/computers", summary: "The computers of a target group", query: names(computerParams), resp: GroupComputerList{}, csv: true},
	{method: "GET", path: "/api/v1/compliance/summary", summary: "The server's compliance summary, for dashboards", query: names(complianceParams), resp: ComplianceSummary{}},
	{method: "GET", path: "/api/v1/compliance/groups", summary: "The compliance of each target group", query: names(complianceParams, formatParams), resp: GroupComplianceList{}, csv: true},
	{method: "GET", path: InstallsPath, summary: "Installs over time: the install results (succeeded, failed) the computers reported per UTC day", query: []param{{"days", "integer", "1 to 366 days ending today, default 30"}}, resp: InstallHistory{}},

	{method: "GET", path: "/api/v1/rules", summary: "List the automatic approval rules with their rings", resp: RuleList{}},
	{method: "POST", path: "/api/v1/rules", summary: "Create an automatic approval rule", req: RuleRequest{}, resp: Rule{}, status: 201},
	{method: "GET", path: "/api/v1/rules/{id}", summary: "One approval rule", resp: Rule{}},
	{method: "PUT", path: "/api/v1/rules/{id}", summary: "Replace an approval rule", req: RuleRequest{}, resp: Rule{}},
	{method: "DELETE", path: "/api/v1/rules/{id}", summary: "Delete an approval rule"},
	{method: "POST", path: "/api/v1/rules/run", summary: "Run the approval rules and rings now (dry_run: only say what they would do)", req: RunRequest{}},
	{method: "GET", path: "/api/v1/rings", summary: "List the rings", resp: RingList{}},
	{method: "POST", path: "/api/v1/rings", summary: "Create a ring of a rule", req: RingRequest{}, resp: Ring{}, status: 201},
	{method: "GET", path: "/api/v1/rings/{id}", summary: "One ring", resp: Ring{}},
	{method: "PUT", path: "/api/v1/rings/{id}", summary: "Replace a ring", req: RingRequest{}, resp: Ring{}},
	{method: "DELETE", path: "/api/v1/rings/{id}", summary: "Delete a ring"},
	{method: "POST", path: "/api/v1/rings/{id}/resume", summary: "Resume a ring that paused itself", resp: Ring{}},
	{method: "GET", path: "/api/v1/rings/{id}/status", summary: "What a ring would approve now and why it waits for the rest", query: ringStatusQuery, resp: RingStatus{}},
	{method: "GET", path: "/api/v1/rings/status", summary: "Every ring's status from one plan (a ring named status is read by its ID)", query: ringStatusQuery, resp: RingStatusList{}},
	{method: "GET", path: "/api/v1/autodecline", summary: "The automatic decline settings", resp: AutoDecline{}},
	{method: "PUT", path: "/api/v1/autodecline", summary: "Replace the automatic decline settings", req: AutoDecline{}, resp: AutoDecline{}},

	{method: "GET", path: "/api/v1/whoami", summary: "Who the request's token is: its name and role", resp: Principal{}},
	{method: "GET", path: "/api/v1/server", summary: "This replica's build, the installation's ID and the stores it runs on", resp: ServerInfo{}},
	{method: "GET", path: StoragePath, summary: "The content store's use (objects, bytes) as last measured in the background; 503 when this process does not measure it", resp: StorageUsage{}},

	{method: "GET", path: "/api/v1/sync", summary: "Synchronization status: settings, upstream, running and last run", resp: SyncStatus{}},
	{method: "GET", path: "/api/v1/sync/settings", summary: "The synchronization settings", resp: SyncSettings{}, tagged: true},
	{method: "PUT", path: "/api/v1/sync/settings", summary: "Replace the synchronization settings", req: SyncSettingsRequest{}, resp: SyncSettings{}, tagged: true},
	{method: "GET", path: "/api/v1/sync/runs", summary: "The synchronization runs, newest first", query: []param{{"limit", "integer", "1 to 1000, default 20"},
		{"before_id", "integer", "runs with a lower ID: the last ID of the previous page"}}, resp: SyncRunList{}},
	{method: "POST", path: "/api/v1/sync/runs", summary: "Start a synchronization now", resp: SyncRun{}, status: 202},
	{method: "GET", path: "/api/v1/sync/runs/{id}", summary: "One synchronization run", resp: SyncRun{}},
	{method: "GET", path: "/api/v1/products", summary: "The products the upstream offers"},
	{method: "GET", path: "/api/v1/classifications", summary: "The update classifications the upstream offers"},
}

// paramTypes are the schema types of query parameters that are not
// strings.
var paramTypes = map[string]string{
	"limit": "integer", "offset": "integer", "min_needed": "integer", "min_failed": "integer", "not_reported_days": "integer",
	"approved": "boolean", "declined": "boolean", "superseded": "boolean", "needing": "boolean", "failing": "boolean",
	"type": "[]string", "product": "[]string", "classification": "[]string", "severity": "[]string", "state": "[]string",
}

// names documents the query parameters of the handler's own lists.
func names(lists ...[]string) []param {
	var out []param
	for _, l := range lists {
		for _, n := range l {
			typ := paramTypes[n]
			if typ == "" {
				typ = "string"
			}
			out = append(out, param{name: n, typ: typ})
		}
	}
	return out
}

// noStore is a Store whose every method panics: routes are registered
// without calling the store, and the document is served without it.
type noStore struct{ Store }

// registered returns the "METHOD path" patterns the handler registers.
func registered(t *testing.T) []string {
	t.Helper()
	h, ok := NewWith(noStore{}, Options{Token: "t"}).(*handler)
	if !ok {
		t.Fatal("NewWith did not return *handler")
	}
	out := slices.Clone(h.mux.patterns)
	slices.Sort(out)
	return out
}

func TestOpenAPI(t *testing.T) {
	routes := registered(t)
	var documented []string
	for _, op := range operations {
		documented = append(documented, op.method+" "+op.path)
	}
	slices.Sort(documented)
	for _, r := range routes {
		if _, ok := slices.BinarySearch(documented, r); !ok {
			t.Errorf("%s is served but not documented: add it to operations in openapi_test.go and run go test ./catalog/admin -run TestOpenAPI -update", r)
		}
	}
	for _, d := range documented {
		if _, ok := slices.BinarySearch(routes, d); !ok {
			t.Errorf("%s is documented but not served", d)
		}
	}
	doc, err := openAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(doc, openAPI) {
		t.Errorf("openapi.json is not what the operations table gives; run go test ./catalog/admin -run TestOpenAPI -update")
	}

	// The document served, without a token, names exactly the routes.
	srv := httptest.NewServer(NewWith(noStore{}, Options{Token: "t"}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var served struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET %s without a token: %d, Content-Type %q, ETag %q", OpenAPIPath, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("ETag"))
	}
	if err := json.NewDecoder(resp.Body).Decode(&served); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(served.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", served.OpenAPI)
	}
	var inDoc []string
	for path, methods := range served.Paths {
		for m := range methods {
			inDoc = append(inDoc, strings.ToUpper(m)+" "+path)
		}
	}
	slices.Sort(inDoc)
	if !slices.Equal(inDoc, routes) {
		t.Errorf("the served document describes\n%s\nthe handler serves\n%s", strings.Join(inDoc, "\n"), strings.Join(routes, "\n"))
	}
	// A client that has it gets 304.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+OpenAPIPath, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotModified || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("GET %s with If-None-Match: %d, X-Request-Id %q; want 304 and an ID", OpenAPIPath, resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	// Other methods still need a token.
	req, _ = http.NewRequest(http.MethodPost, srv.URL+OpenAPIPath, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST %s without a token: %d, want 401", OpenAPIPath, resp.StatusCode)
	}
}

// openAPIDocument renders the operations table.
func openAPIDocument() ([]byte, error) {
	g := &schemas{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	pathParam := regexp.MustCompile(`\{([a-z_]+)\}`)
	errorRef := g.of(reflect.TypeFor[Error]())
	for _, op := range operations {
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range op.query {
			var s map[string]any
			if elem, ok := strings.CutPrefix(q.typ, "[]"); ok {
				s = map[string]any{"type": "array", "items": map[string]any{"type": elem}}
			} else {
				s = map[string]any{"type": q.typ}
			}
			qp := map[string]any{"name": q.name, "in": "query", "schema": s}
			if q.desc != "" {
				qp["description"] = q.desc
			}
			if q.typ != "" && strings.HasPrefix(q.typ, "[]") {
				qp["explode"] = true
			}
			params = append(params, qp)
		}
		write := op.method != http.MethodGet
		if op.tagged && write {
			params = append(params, map[string]any{"$ref": "#/components/parameters/IfMatch"})
		}
		desc := fmt.Sprintf("Needs the %s role.", requiredRole(op.method, op.path))
		if op.path == OpenAPIPath {
			desc = "Needs no token: the document is no secret."
		}
		if op.tagged {
			if write {
				desc += " With If-Match, changes only the resource whose ETag is listed (else 412 precondition_failed)."
			} else {
				desc += " Answers a strong ETag for If-Match."
			}
		}
		status := op.status
		if status == 0 {
			status = http.StatusOK
		}
		body := map[string]any{"type": "object"}
		if op.resp != nil {
			body = g.of(reflect.TypeOf(op.resp))
		}
		content := map[string]any{"application/json": map[string]any{"schema": body}}
		if op.csv {
			content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		headers := map[string]any{"X-Request-Id": map[string]any{"$ref": "#/components/headers/XRequestId"}}
		if op.tagged {
			headers["ETag"] = map[string]any{"$ref": "#/components/headers/ETag"}
		}
		responses := map[string]any{
			strconv.Itoa(status): map[string]any{"description": http.StatusText(status), "headers": headers, "content": content},
			"default":            map[string]any{"$ref": "#/components/responses/Error"},
		}
		if op.tagged && write {
			responses["412"] = map[string]any{"$ref": "#/components/responses/Error"}
		}
		o := map[string]any{
			"operationId": operationID(op.method, op.path),
			"summary":     op.summary,
			"description": desc,
			"responses":   responses,
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.req != nil {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.of(reflect.TypeOf(op.req))}}}
		}
		if op.path == OpenAPIPath {
			o["security"] = []any{}
		}
		if paths[op.path] == nil {
			paths[op.path] = map[string]any{}
		}
		paths[op.path][strings.ToLower(op.method)] = o
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "wsus admin API",
			"version": "1",
			"description": "The administration API of wsus (catalog/admin). Every request but GET " + OpenAPIPath +
				" needs Authorization: Bearer <token>; a token's role (viewer, approver, admin) bounds what it may do. " +
				"Every answer carries X-Request-Id (the request's own when sane, else a fresh one; the server's log lines name it). " +
				"Mutable resources answer a strong ETag; a write with If-Match that lists none of the current tags is refused with 412. " +
				"Errors are {\"error\": code, \"reason\": text}. GET routes answer HEAD too.",
		},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"headers": map[string]any{
				"XRequestId": map[string]any{"description": "the request's ID, as the server's log names it", "schema": map[string]any{"type": "string"}},
				"ETag":       map[string]any{"description": "strong entity tag of the resource's JSON representation", "schema": map[string]any{"type": "string"}},
			},
			"parameters": map[string]any{
				"IfMatch": map[string]any{"name": "If-Match", "in": "header", "description": "ETags of the resource as read; * or absent: unconditional", "schema": map[string]any{"type": "string"}},
			},
			"responses": map[string]any{
				"Error": map[string]any{"description": "an error, with a code and a reason",
					"headers": map[string]any{"X-Request-Id": map[string]any{"$ref": "#/components/headers/XRequestId"}},
					"content": map[string]any{"application/json": map[string]any{"schema": errorRef}}},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// operationID is "get_api_v1_groups_id" for GET /api/v1/groups/{id}.
func operationID(method, path string) string {
	id := strings.ToLower(method) + strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_", "-", "_").Replace(path)
	return id
}

// schemas builds JSON schemas of Go types as encoding/json writes them.
type schemas struct {
	defs map[string]any
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	uuidType      = reflect.TypeFor[uuid.UUID]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// of returns the schema of t: a $ref for a named struct (defined once in
// defs), inline otherwise.
func (g *schemas) of(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == uuidType:
		return map[string]any{"type": "string", "format": "uuid"}
	case t == rawType:
		return map[string]any{"description": "any JSON value"}
	case t.Implements(marshalerType) && t.Kind() != reflect.Pointer:
		return map[string]any{"description": "see the Go type " + t.String()}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.of(t.Elem())
		if typ, ok := s["type"].(string); ok {
			c := map[string]any{}
			for k, v := range s {
				c[k] = v
			}
			c["type"] = []any{typ, "null"}
			return c
		}
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.object(t)
		}
		if p := t.PkgPath(); !strings.HasSuffix(p, "/admin") {
			name = p[strings.LastIndex(p, "/")+1:] + "." + name
		}
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // recursion guard
			g.defs[name] = g.object(t)
		}
		return ref
	}
	return map[string]any{}
}

// object is the schema of struct t's fields.
func (g *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sort.Strings(required)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemas) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}
