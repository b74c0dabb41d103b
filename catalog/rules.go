package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// This file is the model of automatic approvals and declines (issue 11):
// approval rules as WSUS has them, rings beyond what WSUS offers, and the
// automatic decline settings. The stores keep them (RuleStore); package
// catalog/rules decides and applies them.
//
// What a ring applies to: a ring belongs to one approval rule, and handles
// the updates that rule's products and classifications select. The rule
// approves them to its own groups at once (WSUS's automatic approval rule);
// the rule's rings, in the order of their Position, approve them to each
// ring's group after the ring's delay and, optionally, once the previous
// ring passed the ring's success gate. A rule without groups is a pure ring
// pipeline.

// RingDelayFrom is what a ring's delay counts from.
type RingDelayFrom string

// The origins of a ring's delay.
const (
	// DelayFromRelease counts from the update's release date (its newest
	// revision's CreationDate).
	DelayFromRelease RingDelayFrom = "release"
	// DelayFromPrevious counts from the previous ring's approval of the
	// update. The first ring of a rule has no previous ring: it counts from
	// the release.
	DelayFromPrevious RingDelayFrom = "previous"
)

// Bounds of the rules' fields.
const (
	// MaxRuleDays bounds delays, deadlines and grace periods, in days.
	MaxRuleDays = 3650
	// maxRuleName bounds names, in bytes.
	maxRuleName = 256
	// maxRuleList bounds each list of a rule or of the decline settings.
	maxRuleList = 1000
)

// ApprovalRule is a WSUS automatic approval rule: the updates of its
// products and classifications are approved for its groups.
type ApprovalRule struct {
	ID      uuid.UUID `json:"id"`
	Name    string    `json:"name"` // unique, case-insensitively
	Enabled bool      `json:"enabled"`
	// Products and Classifications are category UpdateIDs; an update
	// matches when it names one of each list (an empty list: any).
	Products        []uuid.UUID `json:"products"`
	Classifications []uuid.UUID `json:"classifications"`
	// Groups are approved at once (may be empty when rings do the work).
	Groups []uuid.UUID `json:"groups"`
	// Action is ActionInstall (the zero value means it) or
	// ActionOptionalInstall; the rule's rings approve with it too.
	Action ApprovalAction `json:"action"`
	// DeadlineDays, when set, gives every approval the rule or its rings
	// make a deadline that many days after the approval.
	DeadlineDays *int `json:"deadline_days"`
	// ChangedAt is set by the store.
	ChangedAt time.Time `json:"changed_at"`
}

// RingGate is a ring's success gate on the previous ring, per update,
// counted over the previous ring's group's computers that the update
// applies to (installed + needed + failed). When no computer of the
// previous ring reported the update applicable, the percentages hold
// (there is nothing to measure) and only MinInstalls can hold the ring.
type RingGate struct {
	// MinInstalledPercent: at least this percent installed it (0-100).
	MinInstalledPercent float64 `json:"min_installed_percent"`
	// MinInstalls: at least this many installed it.
	MinInstalls int `json:"min_installs"`
	// MaxFailedPercent: when more than this percent failed, the ring
	// pauses itself (nil: failures never pause it).
	MaxFailedPercent *float64 `json:"max_failed_percent"`
}

// Ring is one stage of a rule's rollout: it approves the rule's updates for
// Group after its delay and once its gate holds.
type Ring struct {
	ID     uuid.UUID `json:"id"`
	RuleID uuid.UUID `json:"rule_id"`
	Name   string    `json:"name"` // unique, case-insensitively
	// Position orders the rule's rings (ascending, unique within the rule).
	Position int       `json:"position"`
	Group    uuid.UUID `json:"group_id"`
	// DelayDays after DelayFrom (zero: DelayFromRelease).
	DelayDays int           `json:"delay_days"`
	DelayFrom RingDelayFrom `json:"delay_from"`
	// Gate, when set, must hold on the previous ring (ignored on the first).
	Gate *RingGate `json:"gate"`
	// ChangedAt is set by the store.
	ChangedAt time.Time `json:"changed_at"`
	// State is the ring's run-time state: kept by PauseRing and ResumeRing,
	// never by PutRing.
	State RingState `json:"state"`
}

// RingState is what a ring's runs decided: whether it is paused and which
// failures an admin accepted when resuming it.
type RingState struct {
	// Paused is the reason the ring paused itself; empty when it runs.
	Paused   string    `json:"paused,omitempty"`
	PausedAt time.Time `json:"paused_at,omitzero"`
	// PausedUpdate is the update whose failures paused it.
	PausedUpdate uuid.UUID `json:"paused_update,omitzero"`
	// Accepted are the updates whose failures an admin accepted by
	// resuming: they no longer pause the ring.
	Accepted []uuid.UUID `json:"accepted,omitempty"`
}

// AutoDecline is the automatic decline settings.
type AutoDecline struct {
	// Superseded declines superseded updates SupersededGraceDays after
	// their superseding updates were approved (see package catalog/rules
	// for the exact conditions).
	Superseded          bool `json:"superseded"`
	SupersededGraceDays int  `json:"superseded_grace_days"`
	// Architectures ("x86", "x64", "arm64", "ia64"), Languages ("ja",
	// "pt-br") and Editions (substrings of titles, "Itanium", "Windows
	// Server 2008") to decline when no computer has them.
	Architectures []string `json:"architectures"`
	Languages     []string `json:"languages"`
	Editions      []string `json:"editions"`
	// ChangedAt is set by the store.
	ChangedAt time.Time `json:"changed_at"`
}

// RuleAction records one automatic approval or decline, so that it is
// made once: an admin who removes it is not overruled by the next run.
type RuleAction struct {
	// Source is "rule:<id>", "ring:<id>" or "auto-decline".
	Source   string    `json:"source"`
	UpdateID uuid.UUID `json:"update_id"`
	// GroupID is the approval's group; uuid.Nil for a decline.
	GroupID uuid.UUID `json:"group_id"`
	// Action is the approval's action or "decline".
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

// RuleStore is the part of Store that keeps rules, rings, the automatic
// decline settings, what they did, and the lease of their runs.
type RuleStore interface {
	// ApprovalRules returns every rule, by name.
	ApprovalRules(ctx context.Context) ([]ApprovalRule, error)
	// PutApprovalRule creates or replaces the rule of r.ID and returns it
	// as stored; a name taken by another rule: ErrConflict; r failing
	// Validate: ErrInvalid.
	PutApprovalRule(ctx context.Context, r ApprovalRule) (ApprovalRule, error)
	// DeleteApprovalRule deletes a rule with its rings; unknown: ErrNotFound.
	DeleteApprovalRule(ctx context.Context, id uuid.UUID) error

	// Rings returns every ring, by rule then position.
	Rings(ctx context.Context) ([]Ring, error)
	// PutRing creates or replaces the ring of r.ID (its State kept as
	// stored) and returns it as stored; an unknown rule: ErrNotFound; a
	// name or a rule's position taken: ErrConflict; failing Validate:
	// ErrInvalid.
	PutRing(ctx context.Context, r Ring) (Ring, error)
	// DeleteRing deletes a ring; unknown: ErrNotFound.
	DeleteRing(ctx context.Context, id uuid.UUID) error
	// PauseRing pauses a running ring with reason, naming the update whose
	// failures paused it; a paused ring is left as it is (false).
	PauseRing(ctx context.Context, id uuid.UUID, reason string, update uuid.UUID) (bool, error)
	// ResumeRing clears the pause and accepts the failures of the update
	// that paused it, and returns the ring as it was before; unknown:
	// ErrNotFound.
	ResumeRing(ctx context.Context, id uuid.UUID) (Ring, error)

	// AutoDecline returns the automatic decline settings (zero before any
	// were set).
	AutoDecline(ctx context.Context) (AutoDecline, error)
	// SetAutoDecline replaces them and returns them as stored; failing
	// Validate: ErrInvalid.
	SetAutoDecline(ctx context.Context, s AutoDecline) (AutoDecline, error)

	// RuleActions returns every recorded automatic action.
	RuleActions(ctx context.Context) ([]RuleAction, error)
	// RecordRuleActions stores actions (At set to now when zero); an
	// action already recorded (same source, update and group) is kept.
	RecordRuleActions(ctx context.Context, actions []RuleAction) error

	// AcquireRulesLease takes the one lease of rule runs for holder until
	// ttl from now, when it is free, expired or already holder's, and
	// reports whether it did.
	AcquireRulesLease(ctx context.Context, holder string, ttl time.Duration) (bool, error)
	// ReleaseRulesLease frees the lease if holder holds it.
	ReleaseRulesLease(ctx context.Context, holder string) error
}

// Validate reports what is wrong with r (a zero ID is refused: the caller
// assigns it).
func (r ApprovalRule) Validate() error {
	var errs []error
	if r.ID == uuid.Nil {
		errs = append(errs, errors.New("rule: nil ID"))
	}
	errs = append(errs, checkRuleName("rule", r.Name))
	switch r.Action {
	case "", ActionInstall, ActionOptionalInstall:
	default:
		errs = append(errs, fmt.Errorf("rule: action %q is not Install or OptionalInstall", r.Action))
	}
	if r.DeadlineDays != nil && (*r.DeadlineDays < 0 || *r.DeadlineDays > MaxRuleDays) {
		errs = append(errs, fmt.Errorf("rule: deadline_days %d is not 0 to %d", *r.DeadlineDays, MaxRuleDays))
	}
	for _, l := range []struct {
		name string
		ids  []uuid.UUID
	}{{"products", r.Products}, {"classifications", r.Classifications}, {"groups", r.Groups}} {
		if len(l.ids) > maxRuleList {
			errs = append(errs, fmt.Errorf("rule: %s has %d entries, more than %d", l.name, len(l.ids), maxRuleList))
		}
		for _, id := range l.ids {
			if id == uuid.Nil {
				errs = append(errs, fmt.Errorf("rule: %s holds the nil UUID", l.name))
			}
		}
	}
	return MarkInvalid(errors.Join(errs...))
}

// EffectiveAction is the rule's action, ActionInstall when unset.
func (r ApprovalRule) EffectiveAction() ApprovalAction {
	if r.Action == "" {
		return ActionInstall
	}
	return r.Action
}

// Validate reports what is wrong with r.
func (r Ring) Validate() error {
	var errs []error
	if r.ID == uuid.Nil || r.RuleID == uuid.Nil {
		errs = append(errs, errors.New("ring: nil ID or rule ID"))
	}
	if r.Group == uuid.Nil {
		errs = append(errs, errors.New("ring: no group"))
	}
	errs = append(errs, checkRuleName("ring", r.Name))
	if r.Position < 0 || r.Position > 1000 {
		errs = append(errs, fmt.Errorf("ring: position %d is not 0 to 1000", r.Position))
	}
	if r.DelayDays < 0 || r.DelayDays > MaxRuleDays {
		errs = append(errs, fmt.Errorf("ring: delay_days %d is not 0 to %d", r.DelayDays, MaxRuleDays))
	}
	switch r.DelayFrom {
	case "", DelayFromRelease, DelayFromPrevious:
	default:
		errs = append(errs, fmt.Errorf("ring: delay_from %q is not %q or %q", r.DelayFrom, DelayFromRelease, DelayFromPrevious))
	}
	if g := r.Gate; g != nil {
		if !(g.MinInstalledPercent >= 0 && g.MinInstalledPercent <= 100) {
			errs = append(errs, fmt.Errorf("ring: gate min_installed_percent %v is not 0 to 100", g.MinInstalledPercent))
		}
		if g.MinInstalls < 0 || g.MinInstalls > 1_000_000 {
			errs = append(errs, fmt.Errorf("ring: gate min_installs %d is not 0 to 1000000", g.MinInstalls))
		}
		if f := g.MaxFailedPercent; f != nil && !(*f >= 0 && *f <= 100) {
			errs = append(errs, fmt.Errorf("ring: gate max_failed_percent %v is not 0 to 100", *f))
		}
	}
	return MarkInvalid(errors.Join(errs...))
}

// EffectiveDelayFrom is the ring's delay origin, DelayFromRelease when
// unset.
func (r Ring) EffectiveDelayFrom() RingDelayFrom {
	if r.DelayFrom == "" {
		return DelayFromRelease
	}
	return r.DelayFrom
}

// Validate reports what is wrong with s.
func (s AutoDecline) Validate() error {
	var errs []error
	if s.SupersededGraceDays < 0 || s.SupersededGraceDays > MaxRuleDays {
		errs = append(errs, fmt.Errorf("autodecline: superseded_grace_days %d is not 0 to %d", s.SupersededGraceDays, MaxRuleDays))
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"architectures", s.Architectures}, {"languages", s.Languages}, {"editions", s.Editions}} {
		if len(l.v) > maxRuleList {
			errs = append(errs, fmt.Errorf("autodecline: %s has %d entries, more than %d", l.name, len(l.v), maxRuleList))
		}
		for _, v := range l.v {
			if strings.TrimSpace(v) == "" || len(v) > maxRuleName {
				errs = append(errs, fmt.Errorf("autodecline: %s holds an empty or overlong entry", l.name))
				continue
			}
			errs = append(errs, CheckText("autodecline "+l.name, v))
		}
	}
	for _, a := range s.Architectures {
		if NormalizeArchitecture(a) == "" {
			errs = append(errs, fmt.Errorf("autodecline: architecture %q is not x86, x64, arm64 or ia64", a))
		}
	}
	return MarkInvalid(errors.Join(errs...))
}

func checkRuleName(kind, name string) error {
	if strings.TrimSpace(name) == "" || len(name) > maxRuleName {
		return fmt.Errorf("%s: name must have 1 to %d bytes, not only spaces", kind, maxRuleName)
	}
	return CheckText(kind+" name", name)
}

// NormalizeArchitecture returns the architecture name the rules compare
// ("x86", "x64", "arm64", "ia64") for the spellings of update titles
// ("x64-based") and of computers' ProcessorArchitecture ("AMD64", "X86"),
// or "" for an unknown one.
func NormalizeArchitecture(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "x86", "i386", "i686", "x86-based", "32-bit":
		return "x86"
	case "x64", "amd64", "x86_64", "x64-based", "64-bit":
		return "x64"
	case "arm64", "aarch64", "arm64-based":
		return "arm64"
	case "ia64", "itanium", "itanium-based":
		return "ia64"
	}
	return ""
}
