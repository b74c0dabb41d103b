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

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// This file holds the update catalog and compliance commands (issue 11):
// updates, update, update-computers, computers, computer-updates and
// compliance. Each is a GET of the admin API's views; --csv prints the
// server's CSV export as is (every row the filters select, up to the
// server's bound, unless --limit is given).

// viewFlags binds the flags every view shares: --csv, and paging.
type viewFlags struct {
	csv    bool
	limit  int
	offset int
	query  url.Values
}

// newViewFlags returns the flag set of a view command; paged adds --limit
// and --offset.
func newViewFlags(name string, opts *options, paged bool) (*flag.FlagSet, *viewFlags) {
	fs := newFlags(name, opts)
	v := &viewFlags{query: url.Values{}}
	fs.BoolVar(&v.csv, "csv", false, "print the server's CSV export")
	if paged {
		fs.IntVar(&v.limit, "limit", 0, "")
		fs.IntVar(&v.offset, "offset", 0, "")
	}
	return fs, v
}

// str binds a string flag (under each name given) to query parameter key.
func (v *viewFlags) str(fs *flag.FlagSet, key string, names ...string) {
	for _, name := range names {
		fs.Func(name, "", func(s string) error { v.query.Set(key, s); return nil })
	}
}

// list binds a repeatable flag to query parameter key.
func (v *viewFlags) list(fs *flag.FlagSet, key, name string) {
	fs.Func(name, "", func(s string) error { v.query.Add(key, s); return nil })
}

// finish checks the paging flags and sets them into the query.
func (v *viewFlags) finish(name string, opts *options) error {
	if v.csv && opts.json {
		return fmt.Errorf("%s: --csv and --json exclude each other", name)
	}
	if v.limit != 0 {
		if v.limit < 1 || v.limit > catalog.MaxPageSize {
			return fmt.Errorf("%s: --limit must be 1 to %d", name, catalog.MaxPageSize)
		}
		v.query.Set("limit", strconv.Itoa(v.limit))
	}
	if v.offset < 0 {
		return fmt.Errorf("%s: --offset must not be negative", name)
	}
	if v.offset > 0 {
		v.query.Set("offset", strconv.Itoa(v.offset))
	}
	return nil
}

// csvAction GETs endpoint as CSV and prints it as is.
func csvAction(endpoint string, query url.Values) action {
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("format", "csv")
		data, err := c.call(ctx, http.MethodGet, endpoint, q, nil)
		if err != nil {
			return err
		}
		_, err = stdout.Write(data)
		return err
	}
}

// viewAction is csvAction with --csv, else getAndPrint.
func viewAction[T any](opts *options, v *viewFlags, endpoint string, print func(io.Writer, *T) error) action {
	if v.csv {
		return csvAction(endpoint, v.query)
	}
	return getAndPrint(opts, endpoint, v.query, print)
}

// updatesListCmd is "updates [filters] [--sort S] [--desc|--asc] [--limit N]
// [--offset N] [--csv]".
func updatesListCmd(opts *options, args []string) (action, error) {
	fs, v := newViewFlags("updates", opts, true)
	v.str(fs, "q", "q", "search")
	v.str(fs, "kb", "kb")
	v.str(fs, "group", "group")
	v.str(fs, "sort", "sort")
	v.str(fs, "released_after", "released-after")
	v.str(fs, "released_before", "released-before")
	v.str(fs, "min_needed", "min-needed")
	v.str(fs, "min_failed", "min-failed")
	v.list(fs, "type", "type")
	v.list(fs, "product", "product")
	v.list(fs, "classification", "classification")
	v.list(fs, "severity", "severity")
	var approved, declined, superseded optBool
	fs.Var(&approved, "approved", "only approved (or with =false, unapproved) updates")
	fs.Var(&declined, "declined", "only declined (or with =false, not declined) updates")
	fs.Var(&superseded, "superseded", "only superseded (or with =false, not superseded) updates")
	desc := fs.Bool("desc", false, "descending order")
	asc := fs.Bool("asc", false, "ascending order")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("updates", pos); err != nil {
		return nil, err
	}
	approved.addTo(v.query, "approved")
	declined.addTo(v.query, "declined")
	superseded.addTo(v.query, "superseded")
	if err := order("updates", v.query, *desc, *asc); err != nil {
		return nil, err
	}
	if err := v.finish("updates", opts); err != nil {
		return nil, err
	}
	return viewAction(opts, v, "updates", printUpdateList), nil
}

// order sets ?order= from --desc or --asc.
func order(name string, q url.Values, desc, asc bool) error {
	switch {
	case desc && asc:
		return fmt.Errorf("%s: --desc and --asc exclude each other", name)
	case desc:
		q.Set("order", "desc")
	case asc:
		q.Set("order", "asc")
	}
	return nil
}

// categoryNames joins category titles (IDs for unknown ones) with sep.
func categoryNames(refs []admin.CategoryRef, sep string) string {
	out := make([]string, 0, len(refs))
	for _, c := range refs {
		if c.Title != "" {
			out = append(out, c.Title)
		} else {
			out = append(out, c.ID.String())
		}
	}
	return strings.Join(out, sep)
}

// approvedGroups joins the groups an update is approved for ("Pilot",
// "All Computers (OptionalInstall)").
func approvedGroups(approvals []admin.UpdateApproval) string {
	out := make([]string, 0, len(approvals))
	for _, a := range approvals {
		name := orDash(a.Group)
		if a.Action != catalog.ActionInstall {
			name += " (" + string(a.Action) + ")"
		}
		out = append(out, name)
	}
	return strings.Join(out, ", ")
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// more says which rows of how many a page showed, unless it showed all.
func more(w io.Writer, shown, offset, total int) error {
	var err error
	switch {
	case offset == 0 && shown >= total:
	case shown == 0:
		_, err = fmt.Fprintf(w, "(no rows from offset %d: %d in all)\n", offset, total)
	default:
		_, err = fmt.Fprintf(w, "(rows %d-%d of %d; see --offset and --limit)\n", offset+1, offset+shown, total)
	}
	return err
}

func printUpdateList(w io.Writer, v *admin.UpdateList) error {
	t := newTable(w, "UPDATE ID", "KB", "CLASSIFICATION", "SEVERITY", "NEEDED", "INSTALLED", "FAILED", "APPROVED FOR", "DECLINED", "TITLE")
	for _, u := range v.Updates {
		kb := "-"
		if u.KBArticleID != "" {
			kb = "KB" + u.KBArticleID
		}
		t.row(u.UpdateID.String(), kb, orDash(categoryNames(u.Classifications, ", ")), orDash(u.MsrcSeverity),
			strconv.Itoa(u.Computers.Needed), strconv.Itoa(u.Computers.Installed), strconv.Itoa(u.Computers.Failed),
			orDash(approvedGroups(u.Approvals)), yesNo(u.Declined), u.Title)
	}
	if err := t.flush(); err != nil {
		return err
	}
	return more(w, len(v.Updates), v.Offset, v.Total)
}

// resolveUpdate returns the update ID ref names: a GUID as is, or a KB
// article ("KB5031356" or "5031356") that names one update.
func resolveUpdate(ctx context.Context, c *client, ref string) (uuid.UUID, error) {
	if id, err := uuid.Parse(ref); err == nil {
		return id, nil
	}
	kb := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(ref), "KB"), "kb")
	var list admin.UpdateList
	if _, err := c.get(ctx, "updates", url.Values{"kb": {kb}}, &list); err != nil {
		return uuid.Nil, err
	}
	switch len(list.Updates) {
	case 0:
		return uuid.Nil, fmt.Errorf("no update has KB article %s", kb)
	case 1:
		return list.Updates[0].UpdateID, nil
	}
	ids := make([]string, 0, len(list.Updates))
	for _, u := range list.Updates {
		ids = append(ids, u.UpdateID.String()+" ("+u.Title+")")
	}
	return uuid.Nil, fmt.Errorf("KB%s names %d updates; give one's ID: %s", kb, list.Total, strings.Join(ids, ", "))
}

// checkUpdateRef is the usage check of an update argument.
func checkUpdateRef(name, ref string) error {
	if _, err := uuid.Parse(ref); err == nil {
		return nil
	}
	kb := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(ref), "KB"), "kb")
	if kb == "" || strings.ContainsFunc(kb, func(r rune) bool { return r < '0' || r > '9' }) {
		return fmt.Errorf("%s: %q is neither an update ID nor a KB article (KB5031356)", name, ref)
	}
	return nil
}

// updateCmd is "update KB|UPDATE-ID".
func updateCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("update", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("update", pos, "KB|UPDATE-ID"); err != nil {
		return nil, err
	}
	if err := checkUpdateRef("update", pos[0]); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		id, err := resolveUpdate(ctx, c, pos[0])
		if err != nil {
			return err
		}
		return getAndPrint(opts, "updates/"+id.String(), nil, printUpdateDetail)(ctx, c, stdout)
	}, nil
}

func printUpdateDetail(w io.Writer, u *admin.UpdateDetail) error {
	kb := ""
	if u.KBArticleID != "" {
		kb = "KB" + u.KBArticleID
	}
	released := "-"
	if u.Released != nil {
		released = when(u.Released)
	}
	t := newTable(w, "Title:", u.Title)
	for _, kv := range [][2]string{
		{"Update ID:", fmt.Sprintf("%s (revision %d)", u.UpdateID, u.RevisionNumber)},
		{"Type:", string(u.Type)},
		{"KB:", kb},
		{"Products:", categoryNames(u.Products, ", ")},
		{"Classification:", categoryNames(u.Classifications, ", ")},
		{"MSRC severity:", u.MsrcSeverity},
		{"CVEs:", strings.Join(u.CVEs, ", ")},
		{"Released:", released},
		{"Languages:", strings.Join(u.Languages, ", ")},
		{"Declined:", yesNo(u.Declined)},
		{"Superseded:", yesNo(u.Superseded)},
		{"Computers:", fmt.Sprintf("%d needed, %d installed, %d failed, %d not applicable, %d no status",
			u.Computers.Needed, u.Computers.Installed, u.Computers.Failed, u.Computers.NotApplicable, u.Computers.NoStatus)},
	} {
		t.row(kv[0], orDash(kv[1]))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, refs := range []struct {
		title string
		list  []admin.UpdateRef
	}{{"Bundled updates", u.BundledUpdates}, {"Supersedes", u.Supersedes}, {"Superseded by", u.SupersededBy}} {
		if len(refs.list) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", refs.title)
		t := newTable(w, "UPDATE ID", "TITLE")
		for _, r := range refs.list {
			t.row(r.UpdateID.String(), orDash(r.Title))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(u.Approvals) == 0 {
		_, err := fmt.Fprintln(w, "\nNot approved for any group.")
		return err
	}
	fmt.Fprintln(w, "\nApprovals:")
	t = newTable(w, "GROUP", "ACTION", "DEADLINE")
	for _, a := range u.Approvals {
		t.row(orDash(a.Group), string(a.Action), when(a.Deadline))
	}
	return t.flush()
}

// updateComputersCmd is "update-computers KB|UPDATE-ID [--state S]...
// [--group G] [--sort S] [--desc|--asc] [--limit N] [--offset N] [--csv]".
func updateComputersCmd(opts *options, args []string) (action, error) {
	fs, v := newViewFlags("update-computers", opts, true)
	v.list(fs, "state", "state")
	v.str(fs, "group", "group")
	v.str(fs, "sort", "sort")
	desc := fs.Bool("desc", false, "descending order")
	asc := fs.Bool("asc", false, "ascending order")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("update-computers", pos, "KB|UPDATE-ID"); err != nil {
		return nil, err
	}
	if err := checkUpdateRef("update-computers", pos[0]); err != nil {
		return nil, err
	}
	if err := order("update-computers", v.query, *desc, *asc); err != nil {
		return nil, err
	}
	if err := v.finish("update-computers", opts); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		id, err := resolveUpdate(ctx, c, pos[0])
		if err != nil {
			return err
		}
		return viewAction(opts, v, "updates/"+id.String()+"/computers", printUpdateComputers)(ctx, c, stdout)
	}, nil
}

func printUpdateComputers(w io.Writer, v *admin.UpdateComputerList) error {
	t := newTable(w, "DNS NAME", "CLIENT ID", "STATE", "ERROR", "CHANGED", "LAST STATUS")
	for _, s := range v.Computers {
		t.row(orDash(s.DNSName), s.ClientID, s.State, orDash(s.ErrorCode), when(s.ChangedAt), when(s.LastStatus))
	}
	if err := t.flush(); err != nil {
		return err
	}
	return more(w, len(v.Computers), v.Offset, v.Total)
}

// computersListCmd is "computers [--q TEXT] [--group G] [--needing]
// [--failing] [--not-reported-days N] [--sort S] [--desc|--asc] [--limit N]
// [--offset N] [--csv]".
func computersListCmd(opts *options, args []string) (action, error) {
	fs, v := newViewFlags("computers", opts, true)
	v.str(fs, "q", "q", "search")
	v.str(fs, "group", "group")
	v.str(fs, "sort", "sort")
	v.str(fs, "not_reported_days", "not-reported-days")
	var needing, failing optBool
	fs.Var(&needing, "needing", "only computers that need (or failed) an update")
	fs.Var(&failing, "failing", "only computers with a failed update")
	desc := fs.Bool("desc", false, "descending order")
	asc := fs.Bool("asc", false, "ascending order")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("computers", pos); err != nil {
		return nil, err
	}
	needing.addTo(v.query, "needing")
	failing.addTo(v.query, "failing")
	if err := order("computers", v.query, *desc, *asc); err != nil {
		return nil, err
	}
	if err := v.finish("computers", opts); err != nil {
		return nil, err
	}
	return viewAction(opts, v, "computers", printComputerList), nil
}

func printComputerList(w io.Writer, v *admin.ComputerList) error {
	t := newTable(w, "ID", "DNS NAME", "OS VERSION", "GROUPS", "NEEDED", "INSTALLED", "FAILED", "LAST SYNC", "LAST STATUS")
	for _, c := range v.Computers {
		t.row(c.ID, orDash(c.DNSName), orDash(c.OSVersion), orDash(groupNames(c.Groups, ",")),
			strconv.Itoa(c.Updates.Needed), strconv.Itoa(c.Updates.Installed), strconv.Itoa(c.Updates.Failed),
			when(c.LastSync), when(c.LastStatus))
	}
	if err := t.flush(); err != nil {
		return err
	}
	return more(w, len(v.Computers), v.Offset, v.Total)
}

// computerUpdatesCmd is "computer-updates COMPUTER [--state S]... [--sort
// S] [--desc|--asc] [--limit N] [--offset N] [--csv]".
func computerUpdatesCmd(opts *options, args []string) (action, error) {
	fs, v := newViewFlags("computer-updates", opts, true)
	v.list(fs, "state", "state")
	v.str(fs, "sort", "sort")
	desc := fs.Bool("desc", false, "descending order")
	asc := fs.Bool("asc", false, "ascending order")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("computer-updates", pos, "COMPUTER"); err != nil {
		return nil, err
	}
	if err := order("computer-updates", v.query, *desc, *asc); err != nil {
		return nil, err
	}
	if err := v.finish("computer-updates", opts); err != nil {
		return nil, err
	}
	return viewAction(opts, v, "computers/"+url.PathEscape(pos[0])+"/updates", printComputerUpdateList), nil
}

func printComputerUpdateList(w io.Writer, v *admin.ComputerUpdateList) error {
	t := newTable(w, "KB", "STATE", "ERROR", "CHANGED", "UPDATE ID", "TITLE")
	for _, s := range v.Updates {
		t.row(kbCell(s.KBArticleID), s.State, orDash(s.ErrorCode), when(s.ChangedAt), s.UpdateID.String(), orDash(s.Title))
	}
	if err := t.flush(); err != nil {
		return err
	}
	return more(w, len(v.Updates), v.Offset, v.Total)
}

// kbCell is "KB" and the article, or "-".
func kbCell(kb string) string {
	if kb == "" {
		return "-"
	}
	return "KB" + kb
}

// printComputerUpdates writes the per-update states of a computer's
// detail.
func printComputerUpdates(w io.Writer, updates []admin.ComputerUpdate) error {
	if len(updates) == 0 {
		_, err := fmt.Fprintln(w, "\nNo update states reported.")
		return err
	}
	fmt.Fprintln(w)
	t := newTable(w, "KB", "STATE", "ERROR", "CHANGED", "UPDATE ID", "TITLE")
	for _, u := range updates {
		t.row(kbCell(u.KBArticleID), u.State, orDash(u.ErrorCode), when(&u.ChangedAt), u.UpdateID.String(), orDash(u.Title))
	}
	return t.flush()
}

// complianceCmd is "compliance [--not-reported-days N]" (the summary) or
// "compliance groups [--not-reported-days N] [--csv]".
func complianceCmd(opts *options, args []string) (action, error) {
	fs, v := newViewFlags("compliance", opts, false)
	v.str(fs, "not_reported_days", "not-reported-days")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := v.finish("compliance", opts); err != nil {
		return nil, err
	}
	switch {
	case len(pos) == 0:
		if v.csv {
			return nil, errors.New("compliance: the summary has no CSV; try compliance groups --csv")
		}
		return getAndPrint(opts, "compliance/summary", v.query, printComplianceSummary), nil
	case len(pos) == 1 && pos[0] == "groups":
		return viewAction(opts, v, "compliance/groups", printGroupCompliance), nil
	}
	return nil, fmt.Errorf("compliance wants no argument (the summary) or groups, got %q", pos)
}

func printComplianceSummary(w io.Writer, s *admin.ComplianceSummary) error {
	t := newTable(w, "Computers:", strconv.Itoa(s.Computers))
	for _, kv := range [][2]string{
		{"  needing updates:", strconv.Itoa(s.NeedingUpdates)},
		{"  with failures:", strconv.Itoa(s.WithFailures)},
		{"  up to date:", strconv.Itoa(s.UpToDate)},
		{"  not reported since " + s.NotReportedSince.UTC().Format("2006-01-02") + ":", strconv.Itoa(s.NotReported)},
		{"Updates:", strconv.Itoa(s.Updates)},
		{"  needing approval:", strconv.Itoa(s.NeedingApproval)},
		{"  approved:", strconv.Itoa(s.Approved)},
		{"  declined:", strconv.Itoa(s.Declined)},
		{"  superseded:", strconv.Itoa(s.Superseded)},
		{"Computer-update pairs:", fmt.Sprintf("%d needed, %d installed, %d failed, %d not applicable",
			s.Pairs.Needed, s.Pairs.Installed, s.Pairs.Failed, s.Pairs.NotApplicable)},
	} {
		t.row(kv[0], kv[1])
	}
	return t.flush()
}

func printGroupCompliance(w io.Writer, v *admin.GroupComplianceList) error {
	t := newTable(w, "GROUP", "COMPUTERS", "NEEDING", "FAILING", "UP TO DATE", "NOT REPORTED", "NEEDED", "INSTALLED", "FAILED")
	for _, g := range v.Groups {
		t.row(g.Name, strconv.Itoa(g.Computers), strconv.Itoa(g.NeedingUpdates), strconv.Itoa(g.WithFailures),
			strconv.Itoa(g.UpToDate), strconv.Itoa(g.NotReported),
			strconv.Itoa(g.Updates.Needed), strconv.Itoa(g.Updates.Installed), strconv.Itoa(g.Updates.Failed))
	}
	return t.flush()
}
