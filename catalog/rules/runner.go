package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Store is the part of catalog.Store a Runner uses: the updates and the
// group counts come from the compliance views (catalog.ComplianceStore).
type Store interface {
	catalog.RuleStore
	ListUpdates(ctx context.Context, q catalog.UpdateQuery) ([]catalog.UpdateView, int, error)
	GroupCounts(ctx context.Context, group uuid.UUID, updateIDs []uuid.UUID) (map[uuid.UUID]catalog.ComplianceCounts, error)
	TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error)
	SetApproval(ctx context.Context, a catalog.Approval) (catalog.Approval, error)
	Approvals(ctx context.Context) ([]catalog.Approval, error)
	SetDeclined(ctx context.Context, updateID uuid.UUID, declined bool) error
	UpdateStates(ctx context.Context) ([]catalog.UpdateState, error)
	Computers(ctx context.Context) ([]catalog.Computer, error)
	AppendAudit(ctx context.Context, e catalog.AuditEntry) (catalog.AuditEntry, error)
}

var _ Store = catalog.Store(nil)

// DefaultLease is how long a run holds the lease of rule runs when
// Config.Lease is zero: far longer than a run takes, so that a run's
// replica dying mid-run blocks the others for at most that long.
const DefaultLease = 10 * time.Minute

// Config configures a Runner; only Store is required.
type Config struct {
	Store Store
	// Holder names this process in the lease; zero means "hostname:pid".
	Holder string
	// Lease is how long a run holds the lease; zero means DefaultLease.
	Lease time.Duration
	// Logger receives what runs did; nil discards.
	Logger *slog.Logger
}

// Runner loads the state, decides (Decide) and applies the decisions. It
// keeps no state between runs: everything lives in the store, so any
// replica may run it; the store's lease lets one run at a time.
type Runner struct {
	cfg Config
	log *slog.Logger
}

// New validates cfg and returns a Runner.
func New(cfg Config) (*Runner, error) {
	if cfg.Store == nil {
		return nil, errors.New("rules: no store")
	}
	if cfg.Lease < 0 {
		return nil, errors.New("rules: negative lease")
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, log: log}, nil
}

// Done is one action a run made, for its report.
type Done struct {
	Actor    string     `json:"actor"`
	UpdateID uuid.UUID  `json:"update_id"`
	Update   string     `json:"update"` // KB or title
	GroupID  *uuid.UUID `json:"group_id,omitempty"`
	Group    string     `json:"group,omitempty"`
	Action   string     `json:"action"`
	Deadline *time.Time `json:"deadline,omitempty"`
	Reason   string     `json:"reason"`
}

// Waiting is why a ring or the automatic decline has not acted on an
// update yet.
type Waiting struct {
	Source   string     `json:"source"`
	RingID   *uuid.UUID `json:"ring_id,omitempty"`
	UpdateID uuid.UUID  `json:"update_id"`
	Update   string     `json:"update"`
	Reason   string     `json:"reason"`
	Until    *time.Time `json:"until,omitempty"`
}

// Report is what a run did and why the rest waits.
type Report struct {
	At time.Time `json:"at"`
	// Skipped says why the run did nothing (another run holds the lease).
	Skipped  string    `json:"skipped,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	Approved []Done    `json:"approved"`
	Declined []Done    `json:"declined"`
	Paused   []Done    `json:"paused"`
	Waiting  []Waiting `json:"waiting"`
	// Errors are actions that failed; the next run tries them again.
	Errors []string `json:"errors,omitempty"`
}

// Load reads everything a decision at now looks at.
func (r *Runner) Load(ctx context.Context, now time.Time) (Input, error) {
	s := r.cfg.Store
	in := Input{Now: now}
	var err error
	if in.Rules, err = s.ApprovalRules(ctx); err != nil {
		return in, fmt.Errorf("rules: load rules: %w", err)
	}
	if in.Rings, err = s.Rings(ctx); err != nil {
		return in, fmt.Errorf("rules: load rings: %w", err)
	}
	if in.AutoDecline, err = s.AutoDecline(ctx); err != nil {
		return in, fmt.Errorf("rules: load autodecline settings: %w", err)
	}
	if len(in.Rules) == 0 && !in.AutoDecline.Superseded && len(in.AutoDecline.Architectures)+len(in.AutoDecline.Languages)+len(in.AutoDecline.Editions) == 0 {
		return in, nil // nothing to decide: leave the catalog unread
	}
	// A group deleted since a rule or ring named it: the rule approves for
	// its other groups, the ring waits (nothing is stored: editing the
	// ring to another group is the admin's call).
	groups, err := s.TargetGroups(ctx)
	if err != nil {
		return in, fmt.Errorf("rules: load groups: %w", err)
	}
	known := map[uuid.UUID]bool{}
	for _, g := range groups {
		known[g.ID] = true
	}
	for i := range in.Rules {
		in.Rules[i].Groups = slices.DeleteFunc(slices.Clone(in.Rules[i].Groups), func(g uuid.UUID) bool { return !known[g] })
	}
	for i := range in.Rings {
		if !known[in.Rings[i].Group] && in.Rings[i].State.Paused == "" {
			in.Rings[i].State.Paused = "waiting: the ring's target group no longer exists"
		}
	}
	v := storeViews{s}
	if in.Updates, err = v.updates(ctx); err != nil {
		return in, fmt.Errorf("rules: load updates: %w", err)
	}
	in.indexUpdates()
	if in.Approvals, err = s.Approvals(ctx); err != nil {
		return in, fmt.Errorf("rules: load approvals: %w", err)
	}
	if in.Actions, err = s.RuleActions(ctx); err != nil {
		return in, fmt.Errorf("rules: load actions: %w", err)
	}
	if in.Computers, err = s.Computers(ctx); err != nil {
		return in, fmt.Errorf("rules: load computers: %w", err)
	}
	in.Counts = map[uuid.UUID]map[uuid.UUID]catalog.ComplianceCounts{}
	for g, ids := range CountsNeeded(in) {
		if in.Counts[g], err = v.groupCounts(ctx, g, ids); err != nil {
			return in, fmt.Errorf("rules: load counts of group %s: %w", g, err)
		}
	}
	return in, nil
}

// Plan decides what a run at now would do, changing nothing.
func (r *Runner) Plan(ctx context.Context, now time.Time) (Report, error) {
	in, err := r.Load(ctx, now)
	if err != nil {
		return Report{}, err
	}
	rep := r.report(ctx, in, Decide(in))
	rep.DryRun = true
	return rep, nil
}

// Run decides and applies what is due at now, once across every replica
// sharing the store: while another run holds the lease, it returns a report
// that says so (Skipped) and changes nothing. An action that fails is
// reported in Errors and the run goes on; the next run tries it again.
func (r *Runner) Run(ctx context.Context, now time.Time) (Report, error) {
	s := r.cfg.Store
	ok, err := s.AcquireRulesLease(ctx, r.cfg.Holder, r.cfg.Lease)
	if err != nil {
		return Report{}, fmt.Errorf("rules: lease: %w", err)
	}
	if !ok {
		return Report{At: now, Skipped: "another run holds the lease", Approved: []Done{}, Declined: []Done{}, Paused: []Done{}, Waiting: []Waiting{}}, nil
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.ReleaseRulesLease(ctx, r.cfg.Holder); err != nil {
			r.log.WarnContext(ctx, "rules: lease not released; it expires by itself", "err", err)
		}
	}()
	in, err := r.Load(ctx, now)
	if err != nil {
		return Report{}, err
	}
	d := Decide(in)
	rep := r.report(ctx, in, Decision{Waits: d.Waits})
	names := groupNames(ctx, s)
	// A long run renews its lease every quarter of it, and stops when it
	// lost it (another replica took it over after it expired).
	renewed := time.Now()
	keep := func() bool {
		if time.Since(renewed) < r.cfg.Lease/4 {
			return true
		}
		ok, err := s.AcquireRulesLease(ctx, r.cfg.Holder, r.cfg.Lease)
		if err != nil || !ok {
			rep.Errors = append(rep.Errors, fmt.Sprintf("rules: lease lost (%v); the rest is left to the next run", err))
			return false
		}
		renewed = time.Now()
		return true
	}
	for _, a := range d.Approvals {
		if !keep() {
			return rep, nil
		}
		done, err := r.applyApproval(ctx, in, a, names)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		rep.Approved = append(rep.Approved, done)
	}
	for _, dc := range d.Declines {
		if !keep() {
			return rep, nil
		}
		done, err := r.applyDecline(ctx, in, dc)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		rep.Declined = append(rep.Declined, done)
	}
	for _, p := range d.Pauses {
		done, err := r.applyPause(ctx, in, p)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		rep.Paused = append(rep.Paused, done)
	}
	if n := len(rep.Approved) + len(rep.Declined) + len(rep.Paused) + len(rep.Errors); n > 0 {
		r.log.InfoContext(ctx, "rules: run", "approved", len(rep.Approved), "declined", len(rep.Declined),
			"paused", len(rep.Paused), "errors", len(rep.Errors), "waiting", len(rep.Waiting))
	}
	return rep, nil
}

func groupNames(ctx context.Context, s Store) map[uuid.UUID]string {
	out := map[uuid.UUID]string{}
	if gs, err := s.TargetGroups(ctx); err == nil {
		for _, g := range gs {
			out[g.ID] = g.Name
		}
	}
	return out
}

// indexUpdates indexes in's updates by ID for updateByID (the first of an
// ID listed twice, as a search finds).
func (in *Input) indexUpdates() {
	in.updateAt = make(map[uuid.UUID]int, len(in.Updates))
	for i, u := range in.Updates {
		if _, ok := in.updateAt[u.UpdateID]; !ok {
			in.updateAt[u.UpdateID] = i
		}
	}
}

// updateByID is the update id of in, nil when in has none: by the index
// Load builds (a plan names each update it approves or waits on: searching
// every one took 8.6 s at 50,000 updates and six rings), else by a search.
func updateByID(in Input, id uuid.UUID) *catalog.UpdateView {
	if in.updateAt != nil {
		if i, ok := in.updateAt[id]; ok {
			return &in.Updates[i]
		}
		return nil
	}
	for i := range in.Updates {
		if in.Updates[i].UpdateID == id {
			return &in.Updates[i]
		}
	}
	return nil
}

// report is the report of decision d without its actions applied: what
// it plans (for Plan) and why the rest waits.
func (r *Runner) report(ctx context.Context, in Input, d Decision) Report {
	rep := Report{At: in.Now, Approved: []Done{}, Declined: []Done{}, Paused: []Done{}, Waiting: []Waiting{}}
	names := map[uuid.UUID]string{}
	if len(d.Approvals) > 0 {
		names = groupNames(ctx, r.cfg.Store)
	}
	for _, a := range d.Approvals {
		rep.Approved = append(rep.Approved, approvalDone(in, a, a.Approval, names))
	}
	for _, dc := range d.Declines {
		rep.Declined = append(rep.Declined, Done{Actor: AutoDeclineActor, UpdateID: dc.UpdateID, Update: UpdateName(updateByID(in, dc.UpdateID)), Action: "decline", Reason: dc.Reason})
	}
	for _, p := range d.Pauses {
		rep.Paused = append(rep.Paused, Done{Actor: "ring:" + p.Ring.Name, UpdateID: p.UpdateID, Update: UpdateName(updateByID(in, p.UpdateID)), Action: "pause", Reason: p.Reason})
	}
	for _, w := range d.Waits {
		wt := Waiting{Source: w.Source, UpdateID: w.UpdateID, Update: UpdateName(updateByID(in, w.UpdateID)), Reason: w.Reason}
		if w.RingID != uuid.Nil {
			id := w.RingID
			wt.RingID = &id
		}
		if !w.Until.IsZero() {
			u := w.Until
			wt.Until = &u
		}
		rep.Waiting = append(rep.Waiting, wt)
	}
	return rep
}

func approvalDone(in Input, a Approve, set catalog.Approval, names map[uuid.UUID]string) Done {
	g := set.GroupID
	d := Done{Actor: a.Actor, UpdateID: set.UpdateID, Update: UpdateName(updateByID(in, set.UpdateID)), GroupID: &g,
		Group: names[g], Action: string(set.Action), Reason: a.Reason}
	if !set.Deadline.IsZero() {
		t := set.Deadline
		d.Deadline = &t
	}
	return d
}

// wireApproval is an approval as the audit log records it, as the admin
// API answers one.
type wireApproval struct {
	ID       int32      `json:"id,omitempty"`
	UpdateID uuid.UUID  `json:"update_id"`
	GroupID  uuid.UUID  `json:"group_id"`
	Action   string     `json:"action"`
	Deadline *time.Time `json:"deadline"`
	By       string     `json:"by,omitempty"`
}

func wireOf(a catalog.Approval) wireApproval {
	w := wireApproval{ID: a.ID, UpdateID: a.UpdateID, GroupID: a.GroupID, Action: string(a.Action), By: a.By}
	if !a.Deadline.IsZero() {
		t := a.Deadline
		w.Deadline = &t
	}
	return w
}

// before is the audit log's "before" of a change to update: its approvals
// and whether it is declined, as the admin API records them.
func before(in Input, update uuid.UUID) json.RawMessage {
	out := []wireApproval{}
	for _, a := range in.Approvals {
		if a.UpdateID == update {
			out = append(out, wireOf(a))
		}
	}
	u := updateByID(in, update)
	b, _ := json.Marshal(map[string]any{"approvals": out, "declined": u != nil && u.Declined})
	return b
}

func (r *Runner) applyApproval(ctx context.Context, in Input, a Approve, names map[uuid.UUID]string) (Done, error) {
	s := r.cfg.Store
	prior := before(in, a.Approval.UpdateID)
	set, err := s.SetApproval(ctx, a.Approval)
	if err != nil {
		return Done{}, fmt.Errorf("rules: %s: approve %s for %s: %w", a.Actor, a.Approval.UpdateID, a.Approval.GroupID, err)
	}
	act := catalog.RuleAction{Source: a.Source, UpdateID: set.UpdateID, GroupID: set.GroupID, Action: string(set.Action), At: in.Now}
	if err := s.RecordRuleActions(ctx, []catalog.RuleAction{act}); err != nil {
		return Done{}, fmt.Errorf("rules: %s: record the approval of %s: %w", a.Actor, set.UpdateID, err)
	}
	after, _ := json.Marshal(struct {
		wireApproval
		Reason string `json:"reason"`
	}{wireOf(set), a.Reason})
	r.audit(ctx, catalog.AuditEntry{Actor: a.Actor, Action: "approval.set", Target: set.UpdateID.String(), Before: prior, After: after})
	return approvalDone(in, a, set, names), nil
}

func (r *Runner) applyDecline(ctx context.Context, in Input, dc Decline) (Done, error) {
	s := r.cfg.Store
	prior := before(in, dc.UpdateID)
	if err := s.SetDeclined(ctx, dc.UpdateID, true); err != nil {
		return Done{}, fmt.Errorf("rules: decline %s: %w", dc.UpdateID, err)
	}
	if err := s.RecordRuleActions(ctx, []catalog.RuleAction{{Source: AutoDeclineActor, UpdateID: dc.UpdateID, Action: "decline", At: in.Now}}); err != nil {
		return Done{}, fmt.Errorf("rules: record the decline of %s: %w", dc.UpdateID, err)
	}
	after, _ := json.Marshal(map[string]any{"update_id": dc.UpdateID, "declined": true, "reason": dc.Reason})
	r.audit(ctx, catalog.AuditEntry{Actor: AutoDeclineActor, Action: "update.decline", Target: dc.UpdateID.String(), Before: prior, After: after})
	return Done{Actor: AutoDeclineActor, UpdateID: dc.UpdateID, Update: UpdateName(updateByID(in, dc.UpdateID)), Action: "decline", Reason: dc.Reason}, nil
}

func (r *Runner) applyPause(ctx context.Context, in Input, p Pause) (Done, error) {
	actor := "ring:" + p.Ring.Name
	paused, err := r.cfg.Store.PauseRing(ctx, p.Ring.ID, p.Reason, p.UpdateID)
	if err != nil {
		return Done{}, fmt.Errorf("rules: pause ring %s: %w", p.Ring.Name, err)
	}
	if !paused {
		return Done{}, fmt.Errorf("rules: pause ring %s: %w", p.Ring.Name, catalog.MarkConflict(errors.New("paused already")))
	}
	prior, _ := json.Marshal(map[string]any{"id": p.Ring.ID, "name": p.Ring.Name, "paused": p.Ring.State.Paused})
	after, _ := json.Marshal(map[string]any{"id": p.Ring.ID, "name": p.Ring.Name, "paused": p.Reason, "update_id": p.UpdateID})
	r.audit(ctx, catalog.AuditEntry{Actor: actor, Action: "ring.pause", Target: p.Ring.ID.String(), Before: prior, After: after})
	return Done{Actor: actor, UpdateID: p.UpdateID, Update: UpdateName(updateByID(in, p.UpdateID)), Action: "pause", Reason: p.Reason}, nil
}

// audit stores e, even when ctx was cancelled; a failure is logged with the
// entry, as the admin API does.
func (r *Runner) audit(ctx context.Context, e catalog.AuditEntry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := r.cfg.Store.AppendAudit(ctx, e); err != nil {
		r.log.ErrorContext(ctx, "rules: audit entry not stored; the change was made", "actor", e.Actor,
			"action", e.Action, "target", e.Target, "after", string(e.After), "err", err)
	}
}

// RingStatus is the part of a plan that concerns one ring: why it waits
// for each update it has not approved.
func RingStatus(rep Report, ring catalog.Ring) []Waiting {
	return RingStatuses(rep, []catalog.Ring{ring})[ring.ID]
}

// RingStatuses is RingStatus of each of rings from one plan, in one pass
// over it (a page showing every ring's status plans once, not once per
// ring): ring ID to why the ring waits for each update it has not
// approved, sorted by update name, never nil. A ring that paused itself
// for an update in this plan waits on that update for the pause's reason.
func RingStatuses(rep Report, rings []catalog.Ring) map[uuid.UUID][]Waiting {
	out := make(map[uuid.UUID][]Waiting, len(rings))
	byActor := make(map[string]uuid.UUID, len(rings))
	for _, r := range rings {
		out[r.ID] = []Waiting{}
		byActor["ring:"+r.Name] = r.ID
	}
	// listed[ring][update]: the update is among the ring's waits already.
	listed := map[uuid.UUID]map[uuid.UUID]bool{}
	add := func(id uuid.UUID, w Waiting) {
		if listed[id] == nil {
			listed[id] = map[uuid.UUID]bool{}
		}
		listed[id][w.UpdateID] = true
		out[id] = append(out[id], w)
	}
	for _, w := range rep.Waiting {
		if w.RingID == nil {
			continue
		}
		if _, ok := out[*w.RingID]; ok {
			add(*w.RingID, w)
		}
	}
	for _, p := range rep.Paused {
		id, ok := byActor[p.Actor]
		if !ok || listed[id][p.UpdateID] {
			continue
		}
		ringID := id
		add(id, Waiting{Source: p.Actor, RingID: &ringID, UpdateID: p.UpdateID, Update: p.Update, Reason: p.Reason})
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b Waiting) int { return strings.Compare(a.Update, b.Update) })
	}
	return out
}
