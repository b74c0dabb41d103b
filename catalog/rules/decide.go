// Package rules decides and applies automatic approvals and declines (issue
// 11): WSUS's automatic approval rules, rings with delays and success gates,
// and automatic declines of superseded updates and of architectures,
// languages and editions no computer has.
//
// Decide is a pure function over the loaded state (Input); a Runner loads
// the state from the store, decides, and applies the decisions, recording
// each in the audit log as a person's change would be, under the actor
// "rule:<name>", "ring:<name>" or "auto-decline".
//
// What callers may rely on:
//
//   - A run never sets an approval that is in force already (in any way:
//     an admin's decision wins), and never repeats an approval or decline
//     it made before (catalog.RuleAction records them): an admin who
//     removes an automatic approval or un-declines an update is not
//     overruled by the next run. Setting an approval again would give it a
//     new deployment ID, and every client would fetch the update again.
//   - Rules and rings consider the Software and Driver updates of the
//     catalog that are neither declined nor expired and that name one of
//     the rule's products and one of its classifications (an empty list
//     matches any). A rule approves them to its groups at once. A ring (see
//     catalog.Ring: rings belong to a rule) approves them to its group
//     once, in this order:
//     1. the ring is not paused;
//     2. with a gate, the previous ring's failures for the update are not
//     above MaxFailedPercent (else the ring pauses itself, naming the
//     update, until an admin resumes it, which accepts that update's
//     failures);
//     3. its delay passed: DelayDays after the update's release date, or
//     after the previous ring's approval of it (its recorded automatic
//     approval, else the approval in force for the previous ring's group);
//     4. with a gate, the previous ring approved it, at least MinInstalls
//     computers of the previous ring's group installed it, and at least
//     MinInstalledPercent of those it applies to there (installed, needed
//     or failed) installed it. A gate on the first ring of a rule is
//     ignored: there is no previous ring.
//     Percentages compare exactly: installed*100 >= P*applicable, and a
//     ring pauses when failed*100 > F*applicable. When nothing in the
//     previous ring applies, the percentages hold.
//   - Superseded updates are declined SupersededGraceDays after the latest
//     first approval of their superseding updates, when at that time every
//     superseding update is in the catalog, not declined, approved for at
//     least one group, and needed or failed on no computer (installed where
//     needed), and the superseded update itself is needed or failed on no
//     computer.
//   - An update is declined by architecture, language or edition only when
//     no computer needs it, installed it or failed to (its counts), no
//     approval of it is in force, and no computer has what it is for:
//     architecture from its title ("x64-based") against the computers'
//     ProcessorArchitecture, languages from its metadata (every one listed)
//     against the primary subtag of the computers' OSLocale, editions as
//     substrings of its title against the computers' OSDescription. A
//     computer that did not report the field (empty) may have anything: it
//     holds the decline back.
package rules

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Day is the unit of every delay, deadline and grace period.
const Day = 24 * time.Hour

// AutoDeclineActor is the audit actor and action source of automatic
// declines.
const AutoDeclineActor = "auto-decline"

// RuleSource is the catalog.RuleAction source of a rule's approvals.
func RuleSource(id uuid.UUID) string { return "rule:" + id.String() }

// RingSource is the catalog.RuleAction source of a ring's approvals.
func RingSource(id uuid.UUID) string { return "ring:" + id.String() }

// Input is everything one decision looks at.
type Input struct {
	Now         time.Time
	Rules       []catalog.ApprovalRule
	Rings       []catalog.Ring
	AutoDecline catalog.AutoDecline
	// Updates are the Software and Driver updates of the catalog, with
	// their counts over every computer.
	Updates []catalog.UpdateView
	// Approvals are the approvals in force.
	Approvals []catalog.Approval
	// Actions are the automatic actions made before.
	Actions   []catalog.RuleAction
	Computers []catalog.Computer
	// Counts are the counts of a group's computers per update
	// (catalog.ComplianceStore.GroupCounts), for the groups and updates
	// CountsNeeded names.
	Counts map[uuid.UUID]map[uuid.UUID]catalog.ComplianceCounts
	// updateAt indexes Updates by ID (Load builds it); nil: updateByID
	// searches Updates.
	updateAt map[uuid.UUID]int
}

// Approve is an approval a decision sets.
type Approve struct {
	// Actor is "rule:<name>" or "ring:<name>"; Source is the RuleAction's.
	Actor    string
	Source   string
	Approval catalog.Approval
	Reason   string
}

// Decline is a decline a decision makes.
type Decline struct {
	UpdateID uuid.UUID
	Reason   string
}

// Pause is a ring a decision pauses.
type Pause struct {
	Ring     catalog.Ring
	UpdateID uuid.UUID
	Reason   string
}

// Wait is why a ring (or the automatic decline) has not acted on an update
// yet. Until is when the wait ends by time alone (zero: it waits for
// something else).
type Wait struct {
	Source   string // "ring:<name>" or "auto-decline"
	RingID   uuid.UUID
	UpdateID uuid.UUID
	Reason   string
	Until    time.Time
}

// Decision is what Decide decided.
type Decision struct {
	Approvals []Approve
	Declines  []Decline
	Pauses    []Pause
	Waits     []Wait
}

// index is the state Decide looks things up in.
type index struct {
	in       Input
	approved map[uuid.UUID]map[uuid.UUID]catalog.Approval // update, group
	done     map[string]map[uuid.UUID]map[uuid.UUID]catalog.RuleAction
	declined map[uuid.UUID]bool // recorded automatic declines
	updates  map[uuid.UUID]*catalog.UpdateView
}

func newIndex(in Input) *index {
	x := &index{in: in, approved: map[uuid.UUID]map[uuid.UUID]catalog.Approval{},
		done: map[string]map[uuid.UUID]map[uuid.UUID]catalog.RuleAction{}, declined: map[uuid.UUID]bool{},
		updates: map[uuid.UUID]*catalog.UpdateView{}}
	for _, a := range in.Approvals {
		if a.Action == catalog.ActionNotApproved {
			continue
		}
		if x.approved[a.UpdateID] == nil {
			x.approved[a.UpdateID] = map[uuid.UUID]catalog.Approval{}
		}
		x.approved[a.UpdateID][a.GroupID] = a
	}
	for _, a := range in.Actions {
		if a.Source == AutoDeclineActor {
			x.declined[a.UpdateID] = true
			continue
		}
		if x.done[a.Source] == nil {
			x.done[a.Source] = map[uuid.UUID]map[uuid.UUID]catalog.RuleAction{}
		}
		if x.done[a.Source][a.UpdateID] == nil {
			x.done[a.Source][a.UpdateID] = map[uuid.UUID]catalog.RuleAction{}
		}
		x.done[a.Source][a.UpdateID][a.GroupID] = a
	}
	for i := range in.Updates {
		x.updates[in.Updates[i].UpdateID] = &in.Updates[i]
	}
	return x
}

// Matches reports whether rule r selects update u (see the package doc).
func Matches(r catalog.ApprovalRule, u catalog.UpdateView) bool {
	if u.Type != catalog.TypeSoftware && u.Type != catalog.TypeDriver {
		return false
	}
	if u.Declined || strings.EqualFold(u.PublicationState, "Expired") {
		return false
	}
	return intersects(r.Products, u.Products) && intersects(r.Classifications, u.Classifications)
}

// intersects reports whether want is empty or shares an ID with have.
func intersects(want, have []uuid.UUID) bool {
	if len(want) == 0 {
		return true
	}
	for _, id := range want {
		if slices.Contains(have, id) {
			return true
		}
	}
	return false
}

// ringsOf returns the rings of each rule, ordered by position.
func ringsOf(rings []catalog.Ring) map[uuid.UUID][]catalog.Ring {
	out := map[uuid.UUID][]catalog.Ring{}
	for _, r := range rings {
		out[r.RuleID] = append(out[r.RuleID], r)
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b catalog.Ring) int {
			return cmp.Or(cmp.Compare(a.Position, b.Position), strings.Compare(a.ID.String(), b.ID.String()))
		})
	}
	return out
}

// CountsNeeded returns, per group, the updates whose counts Decide reads
// in Input.Counts: for every ring with a gate after the first, the
// previous ring's group and the updates the ring's rule matches.
//
// Each group's updates are in the order of Input.Updates, each once (a
// set per group: checking each against the list so far took 2 s at 50,000
// updates and five gated rings, on every plan and run).
func CountsNeeded(in Input) map[uuid.UUID][]uuid.UUID {
	out := map[uuid.UUID][]uuid.UUID{}
	listed := map[uuid.UUID]map[uuid.UUID]bool{}
	rings := ringsOf(in.Rings)
	for _, rule := range in.Rules {
		if !rule.Enabled {
			continue
		}
		rs := rings[rule.ID]
		for i := 1; i < len(rs); i++ {
			if rs[i].Gate == nil {
				continue
			}
			g := rs[i-1].Group
			if listed[g] == nil {
				listed[g] = map[uuid.UUID]bool{}
			}
			for _, u := range in.Updates {
				if !listed[g][u.UpdateID] && Matches(rule, u) {
					listed[g][u.UpdateID] = true
					out[g] = append(out[g], u.UpdateID)
				}
			}
		}
	}
	return out
}

// Decide decides what one run does (see the package doc).
func Decide(in Input) Decision {
	x := newIndex(in)
	var d Decision
	rings := ringsOf(in.Rings)
	rules := slices.Clone(in.Rules)
	slices.SortFunc(rules, func(a, b catalog.ApprovalRule) int { return strings.Compare(a.Name, b.Name) })
	for _, rule := range rules {
		if !rule.Enabled {
			continue
		}
		var matched []*catalog.UpdateView
		for i := range in.Updates {
			if Matches(rule, in.Updates[i]) {
				matched = append(matched, &in.Updates[i])
			}
		}
		slices.SortFunc(matched, func(a, b *catalog.UpdateView) int {
			return cmp.Or(a.Released.Compare(b.Released), strings.Compare(a.UpdateID.String(), b.UpdateID.String()))
		})
		src := RuleSource(rule.ID)
		for _, u := range matched {
			for _, g := range rule.Groups {
				if _, ok := x.approved[u.UpdateID][g]; ok {
					continue
				}
				if _, ok := x.done[src][u.UpdateID][g]; ok {
					continue
				}
				d.Approvals = append(d.Approvals, x.approve(rule, "rule:"+rule.Name, src, u.UpdateID, g,
					fmt.Sprintf("rule %s matches its products and classifications", rule.Name)))
			}
		}
		x.decideRings(&d, rule, rings[rule.ID], matched)
	}
	x.decideDeclines(&d)
	return d
}

// approve builds the approval rule's action makes (and notes it in x, so
// that a later ring of the same run sees it).
func (x *index) approve(rule catalog.ApprovalRule, actor, src string, update, group uuid.UUID, reason string) Approve {
	// ChangedAt stays zero: the store sets it by its shared clock, which
	// clients' sync anchors compare with (a time of the runner's own could
	// hide the change from them).
	a := catalog.Approval{UpdateID: update, GroupID: group, Action: rule.EffectiveAction(), By: actor}
	if rule.DeadlineDays != nil {
		a.Deadline = x.in.Now.Add(time.Duration(*rule.DeadlineDays) * Day)
	}
	if x.done[src] == nil {
		x.done[src] = map[uuid.UUID]map[uuid.UUID]catalog.RuleAction{}
	}
	if x.done[src][update] == nil {
		x.done[src][update] = map[uuid.UUID]catalog.RuleAction{}
	}
	x.done[src][update][group] = catalog.RuleAction{Source: src, UpdateID: update, GroupID: group, Action: string(a.Action), At: x.in.Now}
	if x.approved[update] == nil {
		x.approved[update] = map[uuid.UUID]catalog.Approval{}
	}
	seen := a
	seen.ChangedAt = x.in.Now
	x.approved[update][group] = seen
	return Approve{Actor: actor, Source: src, Approval: a, Reason: reason}
}

// ringApproved returns when ring approved update: its recorded automatic
// approval, else the approval in force for its group.
func (x *index) ringApproved(r catalog.Ring, update uuid.UUID) (time.Time, bool) {
	if a, ok := x.done[RingSource(r.ID)][update][r.Group]; ok {
		return a.At, true
	}
	if a, ok := x.approved[update][r.Group]; ok {
		return a.ChangedAt, true
	}
	return time.Time{}, false
}

// UpdateName is how messages name an update: its KB article, else its
// title, else its ID.
func UpdateName(u *catalog.UpdateView) string {
	switch {
	case u == nil:
		return "?"
	case u.KBArticleID != "":
		return "KB" + strings.TrimPrefix(u.KBArticleID, "KB")
	case u.Title != "":
		return u.Title
	}
	return u.UpdateID.String()
}

func pct(n, of int) string {
	return strconv.FormatFloat(float64(n)*100/float64(of), 'f', -1, 64)
}

func fmtPct(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

// FailuresAbove reports whether failed of applicable is more than max
// percent (exactly: failed*100 > max*applicable; never with nothing
// applicable).
func FailuresAbove(c catalog.ComplianceCounts, max float64) bool {
	n := c.Applicable()
	return n > 0 && float64(c.Failed)*100 > max*float64(n)
}

// GateHolds reports whether c passes g's install thresholds, and why not.
func GateHolds(g catalog.RingGate, c catalog.ComplianceCounts, prev string) (bool, string) {
	if c.Installed < g.MinInstalls {
		return false, fmt.Sprintf("%d of %d required installs in ring %s", c.Installed, g.MinInstalls, prev)
	}
	n := c.Applicable()
	if n > 0 && float64(c.Installed)*100 < g.MinInstalledPercent*float64(n) {
		return false, fmt.Sprintf("installed on %d of %d computers (%s%%) in ring %s, below %s%%",
			c.Installed, n, pct(c.Installed, n), prev, fmtPct(g.MinInstalledPercent))
	}
	return true, ""
}

// decideRings decides the rings of one rule over its matched updates.
func (x *index) decideRings(d *Decision, rule catalog.ApprovalRule, rings []catalog.Ring, matched []*catalog.UpdateView) {
	for i, ring := range rings {
		var prev *catalog.Ring
		if i > 0 {
			prev = &rings[i-1]
		}
		src := RingSource(ring.ID)
		paused := ring.State.Paused
		wait := func(u *catalog.UpdateView, until time.Time, format string, args ...any) {
			d.Waits = append(d.Waits, Wait{Source: "ring:" + ring.Name, RingID: ring.ID, UpdateID: u.UpdateID,
				Reason: fmt.Sprintf(format, args...), Until: until})
		}
		for _, u := range matched {
			if _, ok := x.ringApproved(ring, u.UpdateID); ok {
				continue
			}
			if _, ok := x.done[src][u.UpdateID]; ok {
				continue // approved once for another group, since moved: not again
			}
			if paused != "" {
				wait(u, time.Time{}, "%s", paused)
				continue
			}
			var prevAt time.Time
			prevDone := false
			var counts catalog.ComplianceCounts
			if prev != nil {
				prevAt, prevDone = x.ringApproved(*prev, u.UpdateID)
				counts = x.in.Counts[prev.Group][u.UpdateID]
			}
			gate := ring.Gate
			if prev == nil {
				gate = nil
			}
			if gate != nil && prevDone && gate.MaxFailedPercent != nil && FailuresAbove(counts, *gate.MaxFailedPercent) &&
				!slices.Contains(ring.State.Accepted, u.UpdateID) {
				n := counts.Applicable()
				paused = fmt.Sprintf("paused: %d of %d computers (%s%%) failed %s in ring %s, above %s%%",
					counts.Failed, n, pct(counts.Failed, n), UpdateName(u), prev.Name, fmtPct(*gate.MaxFailedPercent))
				d.Pauses = append(d.Pauses, Pause{Ring: ring, UpdateID: u.UpdateID, Reason: paused})
				wait(u, time.Time{}, "%s", paused)
				continue
			}
			origin := u.Released
			from := "release"
			if ring.EffectiveDelayFrom() == catalog.DelayFromPrevious && prev != nil {
				if !prevDone {
					wait(u, time.Time{}, "waiting for ring %s to approve it", prev.Name)
					continue
				}
				origin, from = prevAt, "ring "+prev.Name+"'s approval"
			}
			if origin.IsZero() {
				wait(u, time.Time{}, "its release date is unknown")
				continue
			}
			if due := origin.Add(time.Duration(ring.DelayDays) * Day); x.in.Now.Before(due) {
				wait(u, due, "delay: %d days after %s, until %s", ring.DelayDays, from, due.UTC().Format(time.RFC3339))
				continue
			}
			if gate != nil {
				if !prevDone {
					wait(u, time.Time{}, "waiting for ring %s to approve it", prev.Name)
					continue
				}
				if ok, why := GateHolds(*gate, counts, prev.Name); !ok {
					wait(u, time.Time{}, "gate: %s", why)
					continue
				}
			}
			reason := fmt.Sprintf("ring %s of rule %s: %d days after %s", ring.Name, rule.Name, ring.DelayDays, from)
			if gate != nil {
				reason += fmt.Sprintf("; gate held: %d of %d installed in ring %s", counts.Installed, counts.Applicable(), prev.Name)
			}
			d.Approvals = append(d.Approvals, x.approve(rule, "ring:"+ring.Name, src, u.UpdateID, ring.Group, reason))
		}
	}
}

// archPattern finds the architectures an update's title names.
var archPattern = regexp.MustCompile(`(?i)\b(x86|x64|arm64|amd64|itanium|ia64)-based\b`)

// TitleArchitectures returns the architectures a title names ("for
// x64-based Systems"), normalized, without duplicates.
func TitleArchitectures(title string) []string {
	var out []string
	for _, m := range archPattern.FindAllStringSubmatch(title, -1) {
		if a := catalog.NormalizeArchitecture(m[1]); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// primaryLanguage is the primary subtag of a language tag or locale,
// lowered ("pt-BR" -> "pt").
func primaryLanguage(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	return s
}

// decideDeclines decides the automatic declines.
func (x *index) decideDeclines(d *Decision) {
	s := x.in.AutoDecline
	updates := slices.Clone(x.in.Updates)
	slices.SortFunc(updates, func(a, b catalog.UpdateView) int { return strings.Compare(a.UpdateID.String(), b.UpdateID.String()) })
	for i := range updates {
		u := &updates[i]
		if u.Declined || x.declined[u.UpdateID] {
			continue
		}
		if s.Superseded && len(u.SupersededBy) > 0 {
			if reason, until, ok := x.supersededDecline(u, s.SupersededGraceDays); ok {
				d.Declines = append(d.Declines, Decline{UpdateID: u.UpdateID, Reason: reason})
				x.declined[u.UpdateID] = true
				continue
			} else if reason != "" {
				d.Waits = append(d.Waits, Wait{Source: AutoDeclineActor, UpdateID: u.UpdateID, Reason: reason, Until: until})
			}
		}
		if reason, ok := x.ruleDecline(u, s); ok {
			d.Declines = append(d.Declines, Decline{UpdateID: u.UpdateID, Reason: reason})
			x.declined[u.UpdateID] = true
		}
	}
}

// supersededDecline decides the decline of a superseded update: ok, or
// why it waits ("" when it is not a candidate at all).
func (x *index) supersededDecline(u *catalog.UpdateView, graceDays int) (reason string, until time.Time, ok bool) {
	var since time.Time
	var names []string
	for _, id := range u.SupersededBy {
		s := x.updates[id]
		if s == nil {
			return "", time.Time{}, false
		}
		name := UpdateName(s)
		names = append(names, name)
		if s.Declined {
			return "", time.Time{}, false
		}
		first := time.Time{}
		for _, a := range x.approved[id] {
			if first.IsZero() || a.ChangedAt.Before(first) {
				first = a.ChangedAt
			}
		}
		if first.IsZero() {
			return fmt.Sprintf("superseded by %s, which is not approved", name), time.Time{}, false
		}
		if n := s.Computers.Needed + s.Computers.Failed; n > 0 {
			return fmt.Sprintf("superseded by %s, still needed or failed on %d computers", name, n), time.Time{}, false
		}
		if first.After(since) {
			since = first
		}
	}
	if n := u.Computers.Needed + u.Computers.Failed; n > 0 {
		return fmt.Sprintf("superseded, but still needed or failed on %d computers", n), time.Time{}, false
	}
	due := since.Add(time.Duration(graceDays) * Day)
	if x.in.Now.Before(due) {
		return fmt.Sprintf("superseded by %s: grace of %d days until %s", strings.Join(names, ", "), graceDays, due.UTC().Format(time.RFC3339)), due, false
	}
	return fmt.Sprintf("superseded by %s, approved and installed where needed, %d days of grace passed", strings.Join(names, ", "), graceDays), time.Time{}, true
}

// ruleDecline decides the decline of u by architecture, language or
// edition.
func (x *index) ruleDecline(u *catalog.UpdateView, s catalog.AutoDecline) (string, bool) {
	if len(s.Architectures)+len(s.Languages)+len(s.Editions) == 0 {
		return "", false
	}
	if u.Computers.Installed+u.Computers.Needed+u.Computers.Failed > 0 || len(x.approved[u.UpdateID]) > 0 {
		return "", false
	}
	comps := x.in.Computers
	if archs := TitleArchitectures(u.Title); len(archs) > 0 {
		all := true
		for _, a := range archs {
			listed := slices.ContainsFunc(s.Architectures, func(v string) bool { return catalog.NormalizeArchitecture(v) == a })
			had := slices.ContainsFunc(comps, func(c catalog.Computer) bool {
				ca := catalog.NormalizeArchitecture(c.Architecture)
				return ca == "" || ca == a
			})
			all = all && listed && !had
		}
		if all {
			return fmt.Sprintf("for %s, which no computer has", strings.Join(archs, ", ")), true
		}
	}
	if len(u.Languages) > 0 && len(s.Languages) > 0 {
		all := true
		for _, l := range u.Languages {
			listed := slices.ContainsFunc(s.Languages, func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), l) })
			had := slices.ContainsFunc(comps, func(c catalog.Computer) bool {
				return c.OSLocale == "" || primaryLanguage(c.OSLocale) == primaryLanguage(l)
			})
			all = all && listed && !had
		}
		if all {
			return fmt.Sprintf("in %s, which no computer uses", strings.Join(u.Languages, ", ")), true
		}
	}
	for _, e := range s.Editions {
		e = strings.TrimSpace(e)
		if e == "" || !strings.Contains(strings.ToLower(u.Title), strings.ToLower(e)) {
			continue
		}
		had := slices.ContainsFunc(comps, func(c catalog.Computer) bool {
			return c.OSDescription == "" || strings.Contains(strings.ToLower(c.OSDescription), strings.ToLower(e))
		})
		if !had {
			return fmt.Sprintf("for %s, which no computer runs", e), true
		}
	}
	return "", false
}
