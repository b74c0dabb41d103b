package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// This file holds the synchronization commands: WSUS's "Update Source",
// "Products and Classifications" and "Synchronizations".

// defaultPoll is how often "sync start --wait" asks for the run's progress.
const defaultPoll = 2 * time.Second

// syncCmd is "sync status|start|history|settings ...".
func syncCmd(opts *options, args []string) (action, error) {
	if len(args) == 0 {
		return nil, errors.New("sync wants a subcommand: status, start, history or settings")
	}
	switch args[0] {
	case "status":
		return syncStatusCmd(opts, args[1:])
	case "start":
		return syncStartCmd(opts, args[1:])
	case "history":
		return syncHistoryCmd(opts, args[1:])
	case "settings":
		return syncSettingsCmd(opts, args[1:])
	}
	return nil, fmt.Errorf("unknown sync subcommand %q; want status, start, history or settings", args[0])
}

// syncStatusCmd is "sync status".
func syncStatusCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("sync status", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("sync status", pos); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "sync", nil, printSyncStatus), nil
}

// syncHistoryCmd is "sync history [--limit N] [--before-id ID]": --before-id
// pages back (the runs with a lower ID: the last ID a page printed).
func syncHistoryCmd(opts *options, args []string) (action, error) {
	fs := newFlags("sync history", opts)
	limit := fs.Int("limit", admin.DefaultRunsLimit, "how many runs, newest first")
	beforeID := fs.Int64("before-id", 0, "only runs with a lower ID (the last ID of the previous page)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("sync history", pos); err != nil {
		return nil, err
	}
	if *limit < 1 || *limit > admin.MaxRunsLimit {
		return nil, fmt.Errorf("sync history: --limit %d is not from 1 to %d", *limit, admin.MaxRunsLimit)
	}
	query := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *beforeID != 0 {
		if *beforeID < 1 {
			return nil, fmt.Errorf("sync history: --before-id %d is not a positive ID", *beforeID)
		}
		query.Set("before_id", strconv.FormatInt(*beforeID, 10))
	}
	return getAndPrint(opts, "sync/runs", query, printSyncHistory), nil
}

// syncStartCmd is "sync start [--wait] [--poll D]".
func syncStartCmd(opts *options, args []string) (action, error) {
	fs := newFlags("sync start", opts)
	wait := fs.Bool("wait", false, "wait until the run finishes, printing its progress")
	poll := fs.Duration("poll", defaultPoll, "how often --wait asks for progress")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("sync start", pos); err != nil {
		return nil, err
	}
	if *poll <= 0 {
		return nil, fmt.Errorf("sync start: --poll %s is not positive", *poll)
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var run admin.SyncRun
		raw, err := c.do(ctx, http.MethodPost, "sync/runs", nil, nil, &run)
		if err != nil {
			return err
		}
		if !*wait {
			if opts.json {
				return writeRaw(stdout, raw)
			}
			_, err = fmt.Fprintf(stdout, "Started synchronization run %d; follow it with: wsusctl sync status\n", run.ID)
			return err
		}
		if !opts.json {
			fmt.Fprintf(stdout, "Started synchronization run %d.\n", run.ID)
		}
		return waitRun(ctx, c, stdout, opts.json, run.ID, *poll)
	}, nil
}

// waitRun polls run id until it finishes, printing each change of its
// progress, then its outcome (with asJSON, only the final answer). A failed
// run is an error.
func waitRun(ctx context.Context, c *client, stdout io.Writer, asJSON bool, id int64, poll time.Duration) error {
	endpoint := "sync/runs/" + strconv.FormatInt(id, 10)
	last := ""
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var run admin.SyncRun
		raw, err := c.get(ctx, endpoint, nil, &run)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("stopped waiting; run %d goes on on the server: %w", id, ctx.Err())
			}
			return err
		}
		if run.State != catalog.SyncRunning {
			if asJSON {
				if err := writeRaw(stdout, raw); err != nil {
					return err
				}
			} else if _, err := fmt.Fprintln(stdout, runOutcome(run)); err != nil {
				return err
			}
			if run.State == catalog.SyncFailed {
				return fmt.Errorf("synchronization run %d failed: %s", run.ID, orDash(run.Error))
			}
			return nil
		}
		if line := runProgress(run); !asJSON && line != last {
			fmt.Fprintf(stdout, "  %s\n", line)
			last = line
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting; run %d goes on on the server: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// syncSettingsCmd is "sync settings [--upstream URL] [--product P]...
// [--classification C]... [--language L]... [--content M] [--replica[=B]]
// [--syncs-per-day N] [--first-sync HH:MM]": it reads the settings, changes
// the given ones and stores them. Without flags it shows them.
func syncSettingsCmd(opts *options, args []string) (action, error) {
	fs := newFlags("sync settings", opts)
	upstream := fs.String("upstream", "", "upstream server URL (empty: none)")
	var products, classifications, languages stringList
	fs.Var(&products, "product", "product or product family: GUID, title or all (repeatable)")
	fs.Var(&classifications, "classification", "classification: GUID, title or all (repeatable)")
	fs.Var(&languages, "language", "language short name, or all (repeatable)")
	content := fs.String("content", "", "approved, on-demand or never")
	var replica optBool
	fs.Var(&replica, "replica", "replica mode (mirror the upstream's approvals)")
	syncsPerDay := fs.Int("syncs-per-day", 0, "scheduled synchronizations a day (0: manually only)")
	firstSync := fs.String("first-sync", "", "UTC time of day of the first scheduled synchronization, HH:MM")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("sync settings", pos); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	delete(set, "json")
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var cur admin.SyncSettings
		raw, err := c.get(ctx, "sync/settings", nil, &cur)
		if err != nil {
			return err
		}
		if len(set) == 0 {
			if opts.json {
				return writeRaw(stdout, raw)
			}
			return printSyncSettings(stdout, &cur)
		}
		req := settingsRequest(cur)
		if set["upstream"] {
			req.UpstreamURL = *upstream
		}
		if set["product"] {
			req.Products = products.entries()
		}
		if set["classification"] {
			req.Classifications = classifications.entries()
		}
		if set["language"] {
			req.Languages = languages.entries()
		}
		if set["content"] {
			req.Content = *content
		}
		if replica.set {
			req.Replica = replica.value
		}
		if set["syncs-per-day"] {
			req.SyncsPerDay = *syncsPerDay
		}
		if set["first-sync"] {
			req.FirstSync = *firstSync
		}
		var stored admin.SyncSettings
		raw, err = c.do(ctx, http.MethodPut, "sync/settings", nil, req, &stored)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		return printSyncSettings(stdout, &stored)
	}, nil
}

// settingsRequest returns the request that stores s unchanged.
func settingsRequest(s admin.SyncSettings) admin.SyncSettingsRequest {
	ids := func(all bool, refs []admin.CategoryRef) []string {
		if all {
			return []string{"all"}
		}
		out := make([]string, 0, len(refs))
		for _, r := range refs {
			out = append(out, r.ID.String())
		}
		return out
	}
	return admin.SyncSettingsRequest{
		UpstreamURL:     s.UpstreamURL,
		Replica:         s.Replica,
		Products:        ids(s.AllProducts, s.Products),
		Classifications: ids(s.AllClassifications, s.Classifications),
		Languages:       s.Languages,
		Content:         string(s.Content),
		SyncsPerDay:     s.SyncsPerDay,
		FirstSync:       s.FirstSync,
	}
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// entries returns the list as a request sends it: "none" alone is the
// empty list.
func (l stringList) entries() []string {
	if len(l) == 1 && strings.EqualFold(strings.TrimSpace(l[0]), "none") {
		return []string{}
	}
	return l
}

// categoriesCmd is "products" or "classifications" (name, the endpoint).
func categoriesCmd(name string) command {
	return listCmd(name, func(w io.Writer, v *admin.CategoryList) error {
		return printCategories(w, v, name == "products")
	})
}

// printCategories prints products as WSUS's tree does (each family, then
// its products indented), or classifications, each with a check box.
func printCategories(w io.Writer, v *admin.CategoryList, products bool) error {
	box := func(selected bool) string {
		if selected {
			return "[x]"
		}
		return "[ ]"
	}
	t := newTable(w, "SEL", "TITLE", "ID")
	for _, c := range v.Categories {
		if products && c.Family != nil {
			continue // listed under its family
		}
		t.row(box(c.Selected), c.Title, c.ID.String())
		if c.Type != "ProductFamily" {
			continue
		}
		for _, p := range v.Categories {
			if p.Family != nil && p.Family.ID == c.ID {
				t.row(box(p.Selected), "  "+p.Title, p.ID.String())
			}
		}
	}
	// A product whose family is not listed would be lost: list it last.
	for _, p := range v.Categories {
		if p.Family != nil && !hasCategory(v.Categories, p.Family.ID) {
			t.row(box(p.Selected), p.Title, p.ID.String())
		}
	}
	return t.flush()
}

func hasCategory(cats []admin.Category, id uuid.UUID) bool {
	for _, c := range cats {
		if c.ID == id {
			return true
		}
	}
	return false
}

// refTitles joins the titles (or IDs, for unknown categories) of refs, or
// says "all" or "none".
func refTitles(all bool, refs []admin.CategoryRef) string {
	if all {
		return "all"
	}
	if len(refs) == 0 {
		return "none"
	}
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, cmp.Or(r.Title, r.ID.String()))
	}
	return strings.Join(names, ", ")
}

// settingsRows are the lines of a settings summary.
func settingsRows(s *admin.SyncSettings) [][2]string {
	upstream := "none"
	if s.UpstreamURL != "" {
		upstream = s.UpstreamURL
		if s.Replica {
			upstream += " (replica)"
		}
	}
	languages := "all"
	if len(s.Languages) > 0 {
		languages = strings.Join(s.Languages, ", ")
	}
	schedule := "manually only"
	if s.SyncsPerDay > 0 {
		schedule = fmt.Sprintf("%d a day from %s UTC", s.SyncsPerDay, s.FirstSync)
	}
	return [][2]string{
		{"Update source:", upstream},
		{"Products:", refTitles(s.AllProducts, s.Products)},
		{"Classifications:", refTitles(s.AllClassifications, s.Classifications)},
		{"Languages:", languages},
		{"Update files:", string(s.Content)},
		{"Schedule:", schedule},
	}
}

func printSyncSettings(w io.Writer, s *admin.SyncSettings) error {
	t := newTable(w, settingsRows(s)[0][:]...)
	for _, kv := range settingsRows(s)[1:] {
		t.row(kv[0], kv[1])
	}
	return t.flush()
}

func printSyncStatus(w io.Writer, v *admin.SyncStatus) error {
	rows := settingsRows(&v.Settings)
	upstream := "not reached yet"
	if u := v.Upstream; u != nil {
		upstream = fmt.Sprintf("%s: protocol %s, %d languages", u.URL, orDash(u.ProtocolVersion), len(u.Languages))
		if u.CatalogOnlySync {
			upstream += ", catalog only (files come from Microsoft Update)"
		}
	}
	rows = append(rows, [2]string{"Upstream server:", upstream})
	running := "none"
	if r := v.Running; r != nil {
		running = fmt.Sprintf("run %d (%s, %s) since %s: %s", r.ID, r.Trigger, r.Holder, when(&r.Started), runProgress(*r))
	}
	rows = append(rows, [2]string{"Running:", running})
	last := "none"
	if r := v.LastRun; r != nil {
		last = runOutcome(*r)
	}
	rows = append(rows, [2]string{"Last run:", last})
	t := newTable(w, rows[0][:]...)
	for _, kv := range rows[1:] {
		t.row(kv[0], kv[1])
	}
	return t.flush()
}

// runProgress describes a running run's progress: phase, done of total,
// and with both known, the rate and the time left at that rate (measured
// between its start and its last heartbeat, both the server's clock).
func runProgress(r admin.SyncRun) string {
	var b strings.Builder
	b.WriteString(cmp.Or(r.Phase, "starting"))
	if r.Total > 0 {
		fmt.Fprintf(&b, " %d/%d (%d%%)", r.Done, r.Total, r.Done*100/r.Total)
		if r.Heartbeat != nil {
			if elapsed := r.Heartbeat.Sub(r.Started).Seconds(); elapsed > 0 && r.Done > 0 {
				rate := float64(r.Done) / elapsed
				left := time.Duration(float64(r.Total-r.Done) / rate * float64(time.Second))
				fmt.Fprintf(&b, ", %.1f/s, about %s left", rate, left.Round(time.Second))
			}
		}
	}
	if r.FilesTotal > 0 {
		fmt.Fprintf(&b, "; files %d/%d, %s of %s", r.Files, r.FilesTotal, size(r.Bytes), size(r.BytesTotal))
	}
	if r.New+r.Revised+r.Expired > 0 {
		fmt.Fprintf(&b, "; %d new, %d revised, %d expired so far", r.New, r.Revised, r.Expired)
	}
	return b.String()
}

// runOutcome describes a finished run.
func runOutcome(r admin.SyncRun) string {
	s := fmt.Sprintf("run %d %s at %s after %s: %d new, %d revised, %d expired, %d files (%s)",
		r.ID, r.State, when(r.Finished), duration(r.DurationSeconds), r.New, r.Revised, r.Expired, r.Files, size(r.Bytes))
	if r.Error != "" {
		s += ": " + r.Error
	}
	return s
}

func printSyncHistory(w io.Writer, v *admin.SyncRunList) error {
	t := newTable(w, "ID", "STARTED", "DURATION", "STATE", "TRIGGER", "NEW", "REVISED", "EXPIRED", "FILES", "ERROR")
	for _, r := range v.Runs {
		t.row(strconv.FormatInt(r.ID, 10), when(&r.Started), duration(r.DurationSeconds), string(r.State), r.Trigger,
			strconv.Itoa(r.New), strconv.Itoa(r.Revised), strconv.Itoa(r.Expired), strconv.Itoa(r.Files), orDash(r.Error))
	}
	return t.flush()
}

// duration formats a run's duration in seconds; null is a running run.
func duration(secs *float64) string {
	if secs == nil {
		return "-"
	}
	d := time.Duration(math.Round(*secs * float64(time.Second)))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// size formats a byte count in binary units.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
