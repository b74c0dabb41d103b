package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/rules"
)

// This file is automatic approval rules, rings and automatic declines (see
// package catalog/rules for their semantics):
//
//	GET, POST          /api/v1/rules             list, create
//	GET, PUT, DELETE   /api/v1/rules/{id}        one rule (ID or name)
//	POST               /api/v1/rules/run         run now; {"dry_run": true} plans only
//	GET, POST          /api/v1/rings             list, create
//	GET, PUT, DELETE   /api/v1/rings/{id}        one ring (ID or name)
//	POST               /api/v1/rings/{id}/resume resume a paused ring
//	GET                /api/v1/rings/{id}/status why the ring waits, per update
//	GET                /api/v1/rings/status      the same of every ring, from one plan
//	GET, PUT           /api/v1/autodecline       the automatic decline settings
//
// Products and classifications are named as in the synchronization
// settings (a GUID, a title; "all" or an empty list: any); groups by ID or
// name. A request that does not resolve is refused with 400 and stores
// nothing.

// RulesRunner runs the rules (POST /api/v1/rules/run) and plans them (the
// ring status); a *rules.Runner is one.
type RulesRunner interface {
	Run(ctx context.Context, now time.Time) (rules.Report, error)
	Plan(ctx context.Context, now time.Time) (rules.Report, error)
}

var _ RulesRunner = (*rules.Runner)(nil)

// RuleRequest is the body of POST /api/v1/rules and PUT /api/v1/rules/{id}.
type RuleRequest struct {
	Name string `json:"name"`
	// Enabled defaults to true.
	Enabled         *bool    `json:"enabled"`
	Products        []string `json:"products"`
	Classifications []string `json:"classifications"`
	Groups          []string `json:"groups"`
	// Action is "Install" (the default) or "OptionalInstall".
	Action       string `json:"action"`
	DeadlineDays *int   `json:"deadline_days"`
}

// Rule is an approval rule as the API answers it, with its rings.
type Rule struct {
	ID              uuid.UUID     `json:"id"`
	Name            string        `json:"name"`
	Enabled         bool          `json:"enabled"`
	Products        []CategoryRef `json:"products"`
	Classifications []CategoryRef `json:"classifications"`
	Groups          []GroupRef    `json:"groups"`
	Action          string        `json:"action"`
	DeadlineDays    *int          `json:"deadline_days"`
	ChangedAt       time.Time     `json:"changed_at"`
	Rings           []Ring        `json:"rings"`
}

// RuleList is the answer of GET /api/v1/rules.
type RuleList struct {
	Rules []Rule `json:"rules"`
}

// RingRequest is the body of POST /api/v1/rings and PUT /api/v1/rings/{id}.
type RingRequest struct {
	Name string `json:"name"`
	// Rule is the rule's ID or name.
	Rule     string `json:"rule"`
	Position int    `json:"position"`
	// Group is the group's ID or name.
	Group     string            `json:"group"`
	DelayDays int               `json:"delay_days"`
	DelayFrom string            `json:"delay_from"`
	Gate      *catalog.RingGate `json:"gate"`
}

// Ring is a ring as the API answers it.
type Ring struct {
	ID        uuid.UUID         `json:"id"`
	Name      string            `json:"name"`
	RuleID    uuid.UUID         `json:"rule_id"`
	Rule      string            `json:"rule"`
	Position  int               `json:"position"`
	GroupID   uuid.UUID         `json:"group_id"`
	Group     string            `json:"group"`
	DelayDays int               `json:"delay_days"`
	DelayFrom string            `json:"delay_from"`
	Gate      *catalog.RingGate `json:"gate"`
	// Paused is why the ring paused itself; "" when it runs.
	Paused       string      `json:"paused"`
	PausedAt     *time.Time  `json:"paused_at"`
	PausedUpdate *uuid.UUID  `json:"paused_update"`
	Accepted     []uuid.UUID `json:"accepted_failures"`
	ChangedAt    time.Time   `json:"changed_at"`
}

// RingList is the answer of GET /api/v1/rings.
type RingList struct {
	Rings []Ring `json:"rings"`
}

// RingStatus is the answer of GET /api/v1/rings/{id}/status: what the ring
// would approve now and why it waits for the rest. With the query's limit
// the lists hold their first limit entries; the totals count them all.
type RingStatus struct {
	Ring          Ring            `json:"ring"`
	Approves      []rules.Done    `json:"approves_now"`
	ApprovesTotal int             `json:"approves_total"`
	Waiting       []rules.Waiting `json:"waiting"`
	WaitingTotal  int             `json:"waiting_total"`
}

// RingStatusList is the answer of GET /api/v1/rings/status: every ring's
// status from one plan, in the order of GET /api/v1/rings.
type RingStatusList struct {
	Rings []RingStatus `json:"rings"`
}

// ringStatusParams are the query parameters of the ring status reads.
var ringStatusParams = []string{"limit"}

// maxStatusLimit bounds the limit of the ring status reads.
const maxStatusLimit = 100000

// RunRequest is the optional body of POST /api/v1/rules/run.
type RunRequest struct {
	DryRun bool `json:"dry_run"`
}

func (h *handler) routeRules(runner RulesRunner) {
	rr := &rulesRoutes{h: h, runner: runner}
	rr.rules = &resource[catalog.ApprovalRule, RuleRequest, Rule]{rr: rr, noun: "approval rule",
		all: func(st rulesState) []catalog.ApprovalRule { return st.rules }, find: findRule,
		id: func(x catalog.ApprovalRule) uuid.UUID { return x.ID }, resolve: resolveRule,
		put: h.store.PutApprovalRule, del: h.store.DeleteApprovalRule, putOp: "PutApprovalRule", delOp: "DeleteApprovalRule",
		putIf: h.store.PutApprovalRuleIf, delIf: h.store.DeleteApprovalRuleIf,
		wire: rulesState.wireRule, list: func(l []Rule) any { return RuleList{Rules: l} }}
	rr.rings = &resource[catalog.Ring, RingRequest, Ring]{rr: rr, noun: "ring",
		all: func(st rulesState) []catalog.Ring { return st.rings }, find: findRing,
		id: func(x catalog.Ring) uuid.UUID { return x.ID }, resolve: resolveRing,
		put: h.store.PutRing, del: h.store.DeleteRing, putOp: "PutRing", delOp: "DeleteRing",
		putIf: h.store.PutRingIf, delIf: h.store.DeleteRingIf,
		wire: rulesState.wireRing, list: func(l []Ring) any { return RingList{Rings: l} }}
	h.route("/api/v1/rules", map[string]http.HandlerFunc{http.MethodGet: rr.rules.listAll, http.MethodPost: rr.rules.create})
	h.route("/api/v1/rules/{id}", map[string]http.HandlerFunc{http.MethodGet: rr.rules.get, http.MethodPut: rr.rules.replace, http.MethodDelete: rr.rules.remove})
	// Not h.route: a method-less /api/v1/rules/run would conflict with
	// the methods of /api/v1/rules/{id}; other methods on it reach those
	// (a rule named "run").
	h.mux.HandleFunc("POST /api/v1/rules/run", h.guard(http.MethodPost, "/api/v1/rules/run", rr.run))
	h.route("/api/v1/rings", map[string]http.HandlerFunc{http.MethodGet: rr.rings.listAll, http.MethodPost: rr.rings.create})
	h.route("/api/v1/rings/{id}", map[string]http.HandlerFunc{http.MethodGet: rr.rings.get, http.MethodPut: rr.rings.replace, http.MethodDelete: rr.rings.remove})
	h.route("/api/v1/rings/{id}/resume", map[string]http.HandlerFunc{http.MethodPost: rr.resumeRing})
	h.route("/api/v1/rings/{id}/status", map[string]http.HandlerFunc{http.MethodGet: rr.ringStatus})
	// Not h.route, as /api/v1/rules/run: a method-less
	// /api/v1/rings/status would conflict with /api/v1/rings/{id}'s PUT
	// and DELETE. A ring named "status" is read by its ID.
	h.mux.HandleFunc("GET /api/v1/rings/status", h.guard(http.MethodGet, "/api/v1/rings/status", rr.ringStatuses))
	h.route("/api/v1/autodecline", map[string]http.HandlerFunc{http.MethodGet: rr.getAutoDecline, http.MethodPut: rr.putAutoDecline})
}

// rulesRoutes serve the rules API.
type rulesRoutes struct {
	h      *handler
	runner RulesRunner // nil: this process runs no rules
	rules  *resource[catalog.ApprovalRule, RuleRequest, Rule]
	rings  *resource[catalog.Ring, RingRequest, Ring]
}

// rulesState is what the answers name things with.
type rulesState struct {
	rules  []catalog.ApprovalRule
	rings  []catalog.Ring
	groups []catalog.TargetGroup
	cats   catalog.Categories
}

func (rr *rulesRoutes) load(w http.ResponseWriter, r *http.Request) (rulesState, bool) {
	ctx := r.Context()
	var st rulesState
	var err error
	if st.rules, err = rr.h.store.ApprovalRules(ctx); err != nil {
		rr.h.storeFailed(w, r, "ApprovalRules", err)
		return st, false
	}
	if st.rings, err = rr.h.store.Rings(ctx); err != nil {
		rr.h.storeFailed(w, r, "Rings", err)
		return st, false
	}
	if st.groups, err = rr.h.store.TargetGroups(ctx); err != nil {
		rr.h.storeFailed(w, r, "TargetGroups", err)
		return st, false
	}
	var ok bool
	st.cats, ok = rr.h.categories(w, r)
	return st, ok
}

// findRule finds a rule by ID or name (case-insensitively).
func findRule(list []catalog.ApprovalRule, ref string) (catalog.ApprovalRule, bool) {
	return findNamed(list, ref, func(x catalog.ApprovalRule) (uuid.UUID, string) { return x.ID, x.Name })
}

// findRing finds a ring by ID or name (case-insensitively).
func findRing(list []catalog.Ring, ref string) (catalog.Ring, bool) {
	return findNamed(list, ref, func(x catalog.Ring) (uuid.UUID, string) { return x.ID, x.Name })
}

// findNamed finds the element of list whose ID or name (case-insensitively)
// is ref.
func findNamed[T any](list []T, ref string, key func(T) (uuid.UUID, string)) (T, bool) {
	ref = strings.TrimSpace(ref)
	want, err := uuid.Parse(ref)
	for _, x := range list {
		if id, name := key(x); (err == nil && id == want) || strings.EqualFold(name, ref) {
			return x, true
		}
	}
	var zero T
	return zero, false
}

func groupRef(groups []catalog.TargetGroup, id uuid.UUID) GroupRef {
	for _, g := range groups {
		if g.ID == id {
			return GroupRef{ID: id, Name: g.Name}
		}
	}
	return GroupRef{ID: id}
}

func (st rulesState) wireRing(x catalog.Ring) Ring {
	out := Ring{ID: x.ID, Name: x.Name, RuleID: x.RuleID, Position: x.Position, GroupID: x.Group, Group: groupRef(st.groups, x.Group).Name,
		DelayDays: x.DelayDays, DelayFrom: string(x.EffectiveDelayFrom()), Gate: x.Gate, Paused: x.State.Paused,
		PausedAt: optTime(x.State.PausedAt), Accepted: nonNil(x.State.Accepted), ChangedAt: x.ChangedAt.UTC()}
	if rule, ok := findRule(st.rules, x.RuleID.String()); ok {
		out.Rule = rule.Name
	}
	if x.State.PausedUpdate != uuid.Nil {
		id := x.State.PausedUpdate
		out.PausedUpdate = &id
	}
	return out
}

func (st rulesState) wireRule(x catalog.ApprovalRule) Rule {
	out := Rule{ID: x.ID, Name: x.Name, Enabled: x.Enabled, Products: categoryRefs(st.cats, x.Products),
		Classifications: categoryRefs(st.cats, x.Classifications), Groups: []GroupRef{}, Action: string(x.EffectiveAction()),
		DeadlineDays: x.DeadlineDays, ChangedAt: x.ChangedAt.UTC(), Rings: []Ring{}}
	for _, g := range x.Groups {
		out.Groups = append(out.Groups, groupRef(st.groups, g))
	}
	for _, ring := range st.rings {
		if ring.RuleID == x.ID {
			out.Rings = append(out.Rings, st.wireRing(ring))
		}
	}
	return out
}

// resolveRule decides the rule a request asks for: a pure function of the
// request and the stored state.
func resolveRule(id uuid.UUID, req RuleRequest, st rulesState) (catalog.ApprovalRule, *requestError) {
	x := catalog.ApprovalRule{ID: id, Name: strings.TrimSpace(req.Name), Enabled: req.Enabled == nil || *req.Enabled,
		Action: catalog.ApprovalAction(req.Action), DeadlineDays: req.DeadlineDays}
	if x.Name == "" {
		return x, badRequest("invalid_name", "a rule needs a name")
	}
	if other, ok := findRule(st.rules, x.Name); ok && other.ID != id {
		return x, &requestError{status: http.StatusConflict, code: "conflict", reason: fmt.Sprintf("rule %s is named %q already", other.ID, other.Name)}
	}
	switch strings.ToLower(req.Action) {
	case "", "install":
		x.Action = catalog.ActionInstall
	case "optionalinstall":
		x.Action = catalog.ActionOptionalInstall
	default:
		return x, badRequest("invalid_action", "action %q is not Install or OptionalInstall", req.Action)
	}
	var all bool
	var err error
	if all, x.Products, err = st.cats.Resolve(req.Products, catalog.SelectProducts); err != nil {
		return x, selectionRefused(err)
	} else if all {
		x.Products = nil
	}
	if all, x.Classifications, err = st.cats.Resolve(req.Classifications, catalog.SelectClassifications); err != nil {
		return x, selectionRefused(err)
	} else if all {
		x.Classifications = nil
	}
	for _, ref := range req.Groups {
		g, ok := findGroup(st.groups, ref)
		if !ok || strings.TrimSpace(ref) == "" {
			return x, badRequest("unknown_group", "no target group %q", ref)
		}
		if !slices.Contains(x.Groups, g.ID) {
			x.Groups = append(x.Groups, g.ID)
		}
	}
	if err := x.Validate(); err != nil {
		return x, badRequest("invalid_rule", "%v", err)
	}
	return x, nil
}

// resolveRing decides the ring a request asks for.
func resolveRing(id uuid.UUID, req RingRequest, st rulesState) (catalog.Ring, *requestError) {
	x := catalog.Ring{ID: id, Name: strings.TrimSpace(req.Name), Position: req.Position, DelayDays: req.DelayDays,
		DelayFrom: catalog.RingDelayFrom(strings.ToLower(strings.TrimSpace(req.DelayFrom))), Gate: req.Gate}
	if x.Name == "" {
		return x, badRequest("invalid_name", "a ring needs a name")
	}
	if other, ok := findRing(st.rings, x.Name); ok && other.ID != id {
		return x, &requestError{status: http.StatusConflict, code: "conflict", reason: fmt.Sprintf("ring %s is named %q already", other.ID, other.Name)}
	}
	rule, ok := findRule(st.rules, req.Rule)
	if !ok {
		return x, badRequest("unknown_rule", "no approval rule %q", req.Rule)
	}
	x.RuleID = rule.ID
	g, ok := findGroup(st.groups, req.Group)
	if !ok || strings.TrimSpace(req.Group) == "" {
		return x, badRequest("unknown_group", "no target group %q", req.Group)
	}
	x.Group = g.ID
	for _, other := range st.rings {
		if other.ID != id && other.RuleID == x.RuleID && other.Position == x.Position {
			return x, &requestError{status: http.StatusConflict, code: "conflict",
				reason: fmt.Sprintf("position %d of rule %s is ring %s's", x.Position, rule.Name, other.Name)}
		}
	}
	if err := x.Validate(); err != nil {
		return x, badRequest("invalid_ring", "%v", err)
	}
	return x, nil
}

// resource serves one kind of the rules API's resources, approval rules
// or rings: list, get, create, replace and delete, one implementation for
// both. T is the stored value, Req the request body, W the answer.
type resource[T, Req, W any] struct {
	rr *rulesRoutes
	// noun names the kind in messages ("approval rule").
	noun string
	// all lists the stored values; find finds one by ID or name.
	all  func(rulesState) []T
	find func([]T, string) (T, bool)
	id   func(T) uuid.UUID
	// resolve decides the value a request asks for (see resolveRule).
	resolve func(uuid.UUID, Req, rulesState) (T, *requestError)
	// put and del write the store; putIf and delIf only if the stored
	// value is still the one read (If-Match, etag.go); putOp and delOp
	// name them in errors.
	put          func(context.Context, T) (T, error)
	del          func(context.Context, uuid.UUID) error
	putIf        func(ctx context.Context, want, x T) (T, error)
	delIf        func(ctx context.Context, want T) error
	putOp, delOp string
	// wire answers one value; list answers them all.
	wire func(rulesState, T) W
	list func([]W) any
}

func (res *resource[T, Req, W]) listAll(w http.ResponseWriter, r *http.Request) {
	st, ok := res.rr.load(w, r)
	if !ok {
		return
	}
	out := []W{}
	for _, x := range res.all(st) {
		out = append(out, res.wire(st, x))
	}
	writeJSON(w, http.StatusOK, res.list(out))
}

// byPath loads the state and the value the path's {id} names, answering
// 404 when there is none.
func (res *resource[T, Req, W]) byPath(w http.ResponseWriter, r *http.Request) (rulesState, T, bool) {
	st, ok := res.rr.load(w, r)
	if !ok {
		var zero T
		return st, zero, false
	}
	x, ok := res.find(res.all(st), r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no %s %q", res.noun, r.PathValue("id")))
	}
	return st, x, ok
}

func (res *resource[T, Req, W]) get(w http.ResponseWriter, r *http.Request) {
	if st, x, ok := res.byPath(w, r); ok {
		writeTagged(w, http.StatusOK, res.wire(st, x))
	}
}

func (res *resource[T, Req, W]) create(w http.ResponseWriter, r *http.Request) {
	res.store(w, r, uuid.New(), nil, http.StatusCreated)
}

func (res *resource[T, Req, W]) replace(w http.ResponseWriter, r *http.Request) {
	st, x, ok := res.byPath(w, r)
	if !ok {
		return
	}
	conditional, ok := checkIfMatch(w, r, res.wire(st, x))
	if !ok {
		return
	}
	var want *T
	if conditional {
		want = &x
	}
	res.store(w, r, res.id(x), want, http.StatusOK)
}

// store resolves the request's body as the value with id and stores it
// (only if the stored value is still want, when set), answering status
// with what was stored.
func (res *resource[T, Req, W]) store(w http.ResponseWriter, r *http.Request, id uuid.UUID, want *T, status int) {
	var req Req
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	st, ok := res.rr.load(w, r)
	if !ok {
		return
	}
	x, e := res.resolve(id, req, st)
	if e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	var stored T
	var err error
	if want != nil {
		stored, err = res.putIf(r.Context(), *want, x)
	} else {
		stored, err = res.put(r.Context(), x)
	}
	if err != nil {
		res.rr.h.storeFailed(w, r, res.putOp, err)
		return
	}
	writeTagged(w, status, res.wire(st, stored))
}

func (res *resource[T, Req, W]) remove(w http.ResponseWriter, r *http.Request) {
	st, x, ok := res.byPath(w, r)
	if !ok {
		return
	}
	conditional, ok := checkIfMatch(w, r, res.wire(st, x))
	if !ok {
		return
	}
	del := func(ctx context.Context) error { return res.del(ctx, res.id(x)) }
	if conditional {
		del = func(ctx context.Context) error { return res.delIf(ctx, x) }
	}
	if err := del(r.Context()); err != nil {
		res.rr.h.storeFailed(w, r, res.delOp, err)
		return
	}
	writeJSON(w, http.StatusOK, res.wire(st, x))
}

func (rr *rulesRoutes) resumeRing(w http.ResponseWriter, r *http.Request) {
	st, x, ok := rr.rings.byPath(w, r)
	if !ok {
		return
	}
	if x.State.Paused == "" {
		writeError(w, http.StatusConflict, "not_paused", fmt.Sprintf("ring %s is not paused", x.Name))
		return
	}
	if _, err := rr.h.store.ResumeRing(r.Context(), x.ID); err != nil {
		rr.h.storeFailed(w, r, "ResumeRing", err)
		return
	}
	rings, err := rr.h.store.Rings(r.Context())
	if err != nil {
		rr.h.storeFailed(w, r, "Rings", err)
		return
	}
	if now, ok := findRing(rings, x.ID.String()); ok {
		x = now
	}
	writeJSON(w, http.StatusOK, st.wireRing(x))
}

func (rr *rulesRoutes) noRunner(w http.ResponseWriter) bool {
	if rr.runner != nil {
		return false
	}
	writeError(w, http.StatusServiceUnavailable, "rules_disabled", "this process runs no rules")
	return true
}

// statusLimit reads the ring status reads' query: limit (0 to
// maxStatusLimit; absent: every entry), answering 400 when it is bad.
func statusLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	p := readQuery(r.URL.Query(), ringStatusParams)
	limit := p.integer("limit", 0, maxStatusLimit, -1)
	if p.err != nil {
		writeError(w, p.err.status, p.err.code, p.err.reason)
		return 0, false
	}
	return limit, true
}

// plan answers the runner's plan at now, or answers the failure itself.
func (rr *rulesRoutes) plan(w http.ResponseWriter, r *http.Request) (rules.Report, bool) {
	if rr.noRunner(w) {
		return rules.Report{}, false
	}
	plan, err := rr.runner.Plan(r.Context(), time.Now())
	if err != nil {
		rr.h.storeFailed(w, r, "Plan", err)
		return plan, false
	}
	return plan, true
}

// ringStatus serves GET /api/v1/rings/{id}/status.
func (rr *rulesRoutes) ringStatus(w http.ResponseWriter, r *http.Request) {
	limit, ok := statusLimit(w, r)
	if !ok {
		return
	}
	st, x, ok := rr.rings.byPath(w, r)
	if !ok {
		return
	}
	plan, ok := rr.plan(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, ringStatuses(st, plan, []catalog.Ring{x}, limit)[0])
}

// ringStatuses serves GET /api/v1/rings/status: every ring's status from
// one plan (a plan loads and decides the whole catalog; the per-ring read
// costs one plan per ring).
func (rr *rulesRoutes) ringStatuses(w http.ResponseWriter, r *http.Request) {
	limit, ok := statusLimit(w, r)
	if !ok {
		return
	}
	st, ok := rr.load(w, r)
	if !ok {
		return
	}
	plan, ok := rr.plan(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, RingStatusList{Rings: ringStatuses(st, plan, st.rings, limit)})
}

// ringStatuses is the status of each of rings in plan, in their order:
// what each would approve now and why it waits for the rest, each list
// cut to its first limit entries (limit < 0: all). A pure function.
func ringStatuses(st rulesState, plan rules.Report, rings []catalog.Ring, limit int) []RingStatus {
	waiting := rules.RingStatuses(plan, rings)
	approves := make(map[string][]rules.Done, len(rings))
	for _, d := range plan.Approved {
		approves[d.Actor] = append(approves[d.Actor], d)
	}
	out := make([]RingStatus, 0, len(rings))
	for _, x := range rings {
		a, wt := approves["ring:"+x.Name], waiting[x.ID]
		out = append(out, RingStatus{Ring: st.wireRing(x), Approves: nonNil(cut(a, limit)), ApprovesTotal: len(a),
			Waiting: nonNil(cut(wt, limit)), WaitingTotal: len(wt)})
	}
	return out
}

// cut is the first limit elements of list (limit < 0: all of it).
func cut[T any](list []T, limit int) []T {
	if limit < 0 || len(list) <= limit {
		return list
	}
	return list[:limit]
}

func (rr *rulesRoutes) run(w http.ResponseWriter, r *http.Request) {
	var req RunRequest
	if e := decodeOptionalBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	if rr.noRunner(w) {
		return
	}
	run := rr.runner.Run
	if req.DryRun {
		run = rr.runner.Plan
	}
	rep, err := run(r.Context(), time.Now())
	if err != nil {
		rr.h.storeFailed(w, r, "rules run", err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// AutoDecline is the automatic decline settings as the API answers and
// takes them (PUT replaces them whole; changed_at is ignored).
type AutoDecline struct {
	Superseded          bool      `json:"superseded"`
	SupersededGraceDays int       `json:"superseded_grace_days"`
	Architectures       []string  `json:"architectures"`
	Languages           []string  `json:"languages"`
	Editions            []string  `json:"editions"`
	ChangedAt           time.Time `json:"changed_at,omitzero"`
}

func wireAutoDecline(s catalog.AutoDecline) AutoDecline {
	return AutoDecline{Superseded: s.Superseded, SupersededGraceDays: s.SupersededGraceDays, Architectures: nonNil(s.Architectures),
		Languages: nonNil(s.Languages), Editions: nonNil(s.Editions), ChangedAt: s.ChangedAt.UTC()}
}

func (rr *rulesRoutes) getAutoDecline(w http.ResponseWriter, r *http.Request) {
	s, err := rr.h.store.AutoDecline(r.Context())
	if err != nil {
		rr.h.storeFailed(w, r, "AutoDecline", err)
		return
	}
	writeTagged(w, http.StatusOK, wireAutoDecline(s))
}

func (rr *rulesRoutes) putAutoDecline(w http.ResponseWriter, r *http.Request) {
	var req AutoDecline
	if e := decodeBody(w, r, &req); e != nil {
		writeError(w, e.status, e.code, e.reason)
		return
	}
	s := catalog.AutoDecline{Superseded: req.Superseded, SupersededGraceDays: req.SupersededGraceDays,
		Architectures: req.Architectures, Languages: req.Languages, Editions: req.Editions}
	for i, a := range s.Architectures {
		if n := catalog.NormalizeArchitecture(a); n != "" {
			s.Architectures[i] = n
		}
	}
	for i, l := range s.Languages {
		s.Languages[i] = strings.ToLower(strings.TrimSpace(l))
	}
	if err := s.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_autodecline", err.Error())
		return
	}
	current, err := rr.h.store.AutoDecline(r.Context())
	if err != nil {
		rr.h.storeFailed(w, r, "AutoDecline", err)
		return
	}
	conditional, ok := checkIfMatch(w, r, wireAutoDecline(current))
	if !ok {
		return
	}
	set := rr.h.store.SetAutoDecline
	if conditional {
		set = func(ctx context.Context, s catalog.AutoDecline) (catalog.AutoDecline, error) {
			return rr.h.store.SetAutoDeclineIf(ctx, current, s)
		}
	}
	stored, err := set(r.Context(), s)
	if err != nil {
		rr.h.storeFailed(w, r, "SetAutoDecline", err)
		return
	}
	writeTagged(w, http.StatusOK, wireAutoDecline(stored))
}

// ruleBefore, ringBefore and autoDeclineBefore read what a change replaces,
// for the audit log.
func ruleBefore(ctx context.Context, h *handler, r *http.Request, _ []byte) (any, error) {
	list, err := h.store.ApprovalRules(ctx)
	if err != nil {
		return nil, err
	}
	if x, ok := findRule(list, r.PathValue("id")); ok {
		return x, nil
	}
	return nil, nil
}

func ringBefore(ctx context.Context, h *handler, r *http.Request, _ []byte) (any, error) {
	list, err := h.store.Rings(ctx)
	if err != nil {
		return nil, err
	}
	if x, ok := findRing(list, r.PathValue("id")); ok {
		return x, nil
	}
	return nil, nil
}

func autoDeclineBefore(ctx context.Context, h *handler, _ *http.Request, _ []byte) (any, error) {
	s, err := h.store.AutoDecline(ctx)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	return s, err
}
