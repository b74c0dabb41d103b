package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/rules"
)

// This file holds the automatic approval commands: rules, rings and the
// automatic decline settings (see package catalog/rules).

// subcommands dispatches "NAME SUB ..." to subs.
func subcommands(name string, subs map[string]command, order string) command {
	return func(opts *options, args []string) (action, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("%s wants a subcommand: %s", name, order)
		}
		if sub, ok := subs[args[0]]; ok {
			return sub(opts, args[1:])
		}
		return nil, fmt.Errorf("unknown %s subcommand %q; want %s", name, args[0], order)
	}
}

// rulesCmd is "rules list|create|delete|run".
var rulesCmd = subcommands("rules", map[string]command{
	"list":   rulesListCmd,
	"create": rulesCreateCmd,
	"delete": deleteCmd("rules delete", "RULE", "rules", "Deleted approval rule %s with its rings.\n"),
	"run":    rulesRunCmd,
}, "list, create, delete or run")

// ringsCmd is "rings list|create|delete|resume|status".
var ringsCmd = subcommands("rings", map[string]command{
	"list":   ringsListCmd,
	"create": ringsCreateCmd,
	"delete": deleteCmd("rings delete", "RING", "rings", "Deleted ring %s.\n"),
	"resume": ringsResumeCmd,
	"status": ringsStatusCmd,
}, "list, create, delete, resume or status")

// autodeclineCmd is "autodecline show|set".
var autodeclineCmd = subcommands("autodecline", map[string]command{
	"show": autodeclineShowCmd,
	"set":  autodeclineSetCmd,
}, "show or set")

func rulesListCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("rules list", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rules list", pos); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "rules", nil, printRules), nil
}

func categoryTitles(refs []admin.CategoryRef) string {
	if len(refs) == 0 {
		return "any"
	}
	var out []string
	for _, r := range refs {
		out = append(out, cmpDash(r.Title))
	}
	return strings.Join(out, ", ")
}

func ruleGroupNames(refs []admin.GroupRef) string {
	if len(refs) == 0 {
		return "-"
	}
	var out []string
	for _, r := range refs {
		out = append(out, r.Name)
	}
	return strings.Join(out, ", ")
}

func days(d *int) string {
	if d == nil {
		return "-"
	}
	return strconv.Itoa(*d) + "d"
}

func printRules(w io.Writer, l *admin.RuleList) error {
	t := newTable(w, "NAME", "ENABLED", "PRODUCTS", "CLASSIFICATIONS", "GROUPS", "ACTION", "DEADLINE", "RINGS")
	for _, r := range l.Rules {
		var rings []string
		for _, g := range r.Rings {
			rings = append(rings, g.Name)
		}
		t.row(r.Name, strconv.FormatBool(r.Enabled), categoryTitles(r.Products), categoryTitles(r.Classifications),
			ruleGroupNames(r.Groups), r.Action, days(r.DeadlineDays), cmpDash(strings.Join(rings, " > ")))
	}
	return t.flush()
}

// rulesCreateCmd is "rules create NAME [--product P]... [--classification
// C]... [--group G]... [--action Install|OptionalInstall] [--deadline-days
// N] [--disabled]".
func rulesCreateCmd(opts *options, args []string) (action, error) {
	fs := newFlags("rules create", opts)
	var products, classes, groups stringList
	var act string
	var disabled bool
	deadline := -1
	fs.Var(&products, "product", "product: GUID or title (repeatable; none: any)")
	fs.Var(&classes, "classification", "classification: GUID or title (repeatable; none: any)")
	fs.Var(&groups, "group", "target group approved at once: name or ID (repeatable)")
	fs.StringVar(&act, "action", "Install", "Install or OptionalInstall")
	fs.IntVar(&deadline, "deadline-days", -1, "deadline N days after each approval")
	fs.BoolVar(&disabled, "disabled", false, "create the rule disabled")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rules create", pos, "NAME"); err != nil {
		return nil, err
	}
	enabled := !disabled
	req := admin.RuleRequest{Name: pos[0], Enabled: &enabled, Products: products, Classifications: classes, Groups: groups, Action: act}
	if deadline >= 0 {
		req.DeadlineDays = &deadline
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var r admin.Rule
		raw, err := c.do(ctx, http.MethodPost, "rules", nil, req, &r)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		_, err = fmt.Fprintf(stdout, "Created approval rule %s (%s).\n", r.Name, r.ID)
		return err
	}, nil
}

// deleteCmd is "NAME REF": DELETE endpoint/REF, printing done with REF.
func deleteCmd(name, arg, endpoint, done string) command {
	return func(opts *options, args []string) (action, error) {
		pos, err := parseArgs(newFlags(name, opts), args)
		if err != nil {
			return nil, err
		}
		if err := exactArgs(name, pos, arg); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *client, stdout io.Writer) error {
			var deleted map[string]any
			raw, err := c.do(ctx, http.MethodDelete, endpoint+"/"+url.PathEscape(pos[0]), nil, nil, &deleted)
			if err != nil {
				return err
			}
			if opts.json {
				return writeRaw(stdout, raw)
			}
			_, err = fmt.Fprintf(stdout, done, pos[0])
			return err
		}, nil
	}
}

// rulesRunCmd is "rules run [--dry-run]".
func rulesRunCmd(opts *options, args []string) (action, error) {
	fs := newFlags("rules run", opts)
	dry := fs.Bool("dry-run", false, "only say what a run would do")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rules run", pos); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var rep rules.Report
		raw, err := c.do(ctx, http.MethodPost, "rules/run", nil, admin.RunRequest{DryRun: *dry}, &rep)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		return printReport(stdout, &rep)
	}, nil
}

func printReport(w io.Writer, rep *rules.Report) error {
	if rep.Skipped != "" {
		_, err := fmt.Fprintf(w, "Not run: %s.\n", rep.Skipped)
		return err
	}
	verb := "Did"
	if rep.DryRun {
		verb = "Would do"
	}
	if _, err := fmt.Fprintf(w, "%s: %d approvals, %d declines, %d rings paused; %d waiting.\n",
		verb, len(rep.Approved), len(rep.Declined), len(rep.Paused), len(rep.Waiting)); err != nil {
		return err
	}
	done := append(append(append([]rules.Done{}, rep.Approved...), rep.Declined...), rep.Paused...)
	if len(done) > 0 {
		t := newTable(w, "BY", "ACTION", "UPDATE", "GROUP", "DEADLINE", "WHY")
		for _, d := range done {
			deadline := "-"
			if d.Deadline != nil {
				deadline = d.Deadline.UTC().Format(time.RFC3339)
			}
			t.row(d.Actor, d.Action, d.Update, cmpDash(d.Group), deadline, d.Reason)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(rep.Waiting) > 0 {
		if err := printWaiting(w, rep.Waiting); err != nil {
			return err
		}
	}
	for _, e := range rep.Errors {
		if _, err := fmt.Fprintf(w, "failed: %s\n", e); err != nil {
			return err
		}
	}
	if len(rep.Errors) > 0 {
		return errors.New("some actions failed; the next run tries them again")
	}
	return nil
}

func printWaiting(w io.Writer, waits []rules.Waiting) error {
	t := newTable(w, "WAITING", "UPDATE", "WHY")
	for _, x := range waits {
		t.row(x.Source, x.Update, x.Reason)
	}
	return t.flush()
}

func ringsListCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("rings list", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rings list", pos); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "rings", nil, printRings), nil
}

func gateText(g *catalog.RingGate) string {
	if g == nil {
		return "-"
	}
	s := fmt.Sprintf(">=%s%% installed, >=%d installs", strconv.FormatFloat(g.MinInstalledPercent, 'f', -1, 64), g.MinInstalls)
	if g.MaxFailedPercent != nil {
		s += fmt.Sprintf(", pause above %s%% failed", strconv.FormatFloat(*g.MaxFailedPercent, 'f', -1, 64))
	}
	return s
}

func ringState(r admin.Ring) string {
	if r.Paused != "" {
		return r.Paused
	}
	return "running"
}

func printRings(w io.Writer, l *admin.RingList) error {
	t := newTable(w, "NAME", "RULE", "POS", "GROUP", "DELAY", "GATE", "STATE")
	for _, r := range l.Rings {
		t.row(r.Name, r.Rule, strconv.Itoa(r.Position), r.Group, fmt.Sprintf("%dd after %s", r.DelayDays, r.DelayFrom), gateText(r.Gate), ringState(r))
	}
	return t.flush()
}

// ringsCreateCmd is "rings create NAME --rule R --group G --position N
// [--delay-days N] [--after-previous] [--min-installed-percent P]
// [--min-installs M] [--max-failed-percent F]".
func ringsCreateCmd(opts *options, args []string) (action, error) {
	fs := newFlags("rings create", opts)
	var req admin.RingRequest
	var afterPrevious, gate bool
	var g catalog.RingGate
	maxFailed := -1.0
	fs.StringVar(&req.Rule, "rule", "", "the approval rule whose updates the ring approves (name or ID)")
	fs.StringVar(&req.Group, "group", "", "the target group the ring approves for (name or ID)")
	fs.IntVar(&req.Position, "position", 0, "the ring's place in the rule's order")
	fs.IntVar(&req.DelayDays, "delay-days", 0, "days to wait after the release (or after the previous ring's approval)")
	fs.BoolVar(&afterPrevious, "after-previous", false, "count the delay from the previous ring's approval")
	setGate := func(f func(string) error) func(string) error {
		return func(v string) error { gate = true; return f(v) }
	}
	fs.Func("min-installed-percent", "gate: percent of the previous ring's computers needing it that installed it", setGate(func(v string) error {
		var err error
		g.MinInstalledPercent, err = strconv.ParseFloat(v, 64)
		return err
	}))
	fs.Func("min-installs", "gate: installs in the previous ring", setGate(func(v string) error {
		var err error
		g.MinInstalls, err = strconv.Atoi(v)
		return err
	}))
	fs.Func("max-failed-percent", "pause when more than this percent failed in the previous ring", setGate(func(v string) error {
		var err error
		maxFailed, err = strconv.ParseFloat(v, 64)
		return err
	}))
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rings create", pos, "NAME"); err != nil {
		return nil, err
	}
	if req.Rule == "" || req.Group == "" {
		return nil, errors.New("rings create wants --rule and --group")
	}
	req.Name = pos[0]
	if afterPrevious {
		req.DelayFrom = string(catalog.DelayFromPrevious)
	}
	if gate {
		if maxFailed >= 0 {
			g.MaxFailedPercent = &maxFailed
		}
		req.Gate = &g
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var r admin.Ring
		raw, err := c.do(ctx, http.MethodPost, "rings", nil, req, &r)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		_, err = fmt.Fprintf(stdout, "Created ring %s (%s) of rule %s for group %s.\n", r.Name, r.ID, r.Rule, r.Group)
		return err
	}, nil
}

func ringsResumeCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("rings resume", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rings resume", pos, "RING"); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var r admin.Ring
		raw, err := c.do(ctx, http.MethodPost, "rings/"+url.PathEscape(pos[0])+"/resume", nil, nil, &r)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		_, err = fmt.Fprintf(stdout, "Resumed ring %s; the failures of %d update(s) are accepted.\n", r.Name, len(r.Accepted))
		return err
	}, nil
}

func ringsStatusCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("rings status", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rings status", pos, "RING"); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "rings/"+url.PathEscape(pos[0])+"/status", nil, func(w io.Writer, st *admin.RingStatus) error {
		r := st.Ring
		if _, err := fmt.Fprintf(w, "Ring %s of rule %s: group %s, %d days after %s, gate %s; %s.\n",
			r.Name, r.Rule, r.Group, r.DelayDays, r.DelayFrom, gateText(r.Gate), ringState(r)); err != nil {
			return err
		}
		for _, d := range st.Approves {
			if _, err := fmt.Fprintf(w, "Approves %s at the next run: %s\n", d.Update, d.Reason); err != nil {
				return err
			}
		}
		if len(st.Waiting) == 0 {
			_, err := fmt.Fprintln(w, "Nothing waits.")
			return err
		}
		return printWaiting(w, st.Waiting)
	}), nil
}

func autodeclineShowCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("autodecline show", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("autodecline show", pos); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "autodecline", nil, printAutoDecline), nil
}

func listText(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ", ")
}

func printAutoDecline(w io.Writer, s *admin.AutoDecline) error {
	sup := "off"
	if s.Superseded {
		sup = fmt.Sprintf("on, %d days of grace", s.SupersededGraceDays)
	}
	_, err := fmt.Fprintf(w, "Superseded updates:  %s\nArchitectures:       %s\nLanguages:           %s\nEditions:            %s\n",
		sup, listText(s.Architectures), listText(s.Languages), listText(s.Editions))
	return err
}

// autodeclineSetCmd is "autodecline set [--superseded[=false]]
// [--grace-days N] [--architecture A]... [--language L]... [--edition
// E]...": the given settings change, the others stay ("none" clears a
// list).
func autodeclineSetCmd(opts *options, args []string) (action, error) {
	fs := newFlags("autodecline set", opts)
	var sup optionalBoolFlag
	var archs, langs, editions stringList
	grace := -1
	fs.Var(&sup, "superseded", "decline superseded updates")
	fs.IntVar(&grace, "grace-days", -1, "days after the superseding updates' approval")
	fs.Var(&archs, "architecture", "x86, x64, arm64 or ia64 (repeatable; none clears)")
	fs.Var(&langs, "language", "language (repeatable; none clears)")
	fs.Var(&editions, "edition", "edition named in titles (repeatable; none clears)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("autodecline set", pos); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var s admin.AutoDecline
		if _, err := c.get(ctx, "autodecline", nil, &s); err != nil {
			return err
		}
		if sup.set {
			s.Superseded = sup.value
		}
		if grace >= 0 {
			s.SupersededGraceDays = grace
		}
		if set["architecture"] {
			s.Architectures = archs.entries()
		}
		if set["language"] {
			s.Languages = langs.entries()
		}
		if set["edition"] {
			s.Editions = editions.entries()
		}
		s.ChangedAt = time.Time{}
		var out admin.AutoDecline
		raw, err := c.do(ctx, http.MethodPut, "autodecline", nil, s, &out)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		return printAutoDecline(stdout, &out)
	}, nil
}

// optionalBoolFlag is a boolean flag that tells whether it was given.
type optionalBoolFlag struct{ value, set bool }

func (b *optionalBoolFlag) String() string   { return strconv.FormatBool(b.value) }
func (b *optionalBoolFlag) IsBoolFlag() bool { return true }
func (b *optionalBoolFlag) Set(v string) error {
	parsed, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	b.value, b.set = parsed, true
	return nil
}
