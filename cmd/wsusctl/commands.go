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
	"text/tabwriter"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// command parses its arguments and returns the action that calls the
// server; an error is a usage error.
type command func(opts *options, args []string) (action, error)

// action calls the server and prints the result on stdout.
type action func(ctx context.Context, c *client, stdout io.Writer) error

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	switch name {
	case "approve":
		return approveCmd, true
	case "approvals":
		return listCmd("approvals", printApprovals), true
	case "computers":
		return computersListCmd, true
	case "computer":
		return computerCmd, true
	case "computer-updates":
		return computerUpdatesCmd, true
	case "updates":
		return updatesListCmd, true
	case "update":
		return updateCmd, true
	case "update-computers":
		return updateComputersCmd, true
	case "compliance":
		return complianceCmd, true
	case "groups":
		return listCmd("groups", printGroups), true
	case "decline":
		return declineCmd("decline"), true
	case "undecline":
		return declineCmd("undecline"), true
	case "create-group":
		return createGroupCmd, true
	case "delete-group":
		return deleteGroupCmd, true
	case "rename-group":
		return renameGroupCmd, true
	case "delete-computer":
		return deleteComputerCmd, true
	case "cleanup-computers":
		return cleanupComputersCmd, true
	case "unapprove":
		return unapproveCmd, true
	case "assign":
		return assignCmd, true
	case "products":
		return categoriesCmd("products"), true
	case "classifications":
		return categoriesCmd("classifications"), true
	case "sync":
		return syncCmd, true
	case "tokens":
		return tokensCmd, true
	case "audit":
		return auditCmd, true
	case "rules":
		return rulesCmd, true
	case "rings":
		return ringsCmd, true
	case "autodecline":
		return autodeclineCmd, true
	case "server":
		return serverCmd, true
	}
	return nil, false
}

// newFlags returns the flag set of a command, with --json bound to opts.
func newFlags(name string, opts *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.BoolVar(&opts.json, "json", opts.json, "")
	return fs
}

// exactArgs checks the number of positional arguments.
func exactArgs(name string, got []string, want ...string) error {
	if len(got) != len(want) {
		if len(want) == 0 {
			return fmt.Errorf("%s takes no arguments, got %q", name, got)
		}
		return fmt.Errorf("%s wants %s, got %d argument(s)", name, strings.Join(want, " "), len(got))
	}
	return nil
}

// listCmd is a command without arguments that GETs the endpoint of the same
// name and prints the answer with print.
func listCmd[T any](name string, print func(io.Writer, *T) error) command {
	return func(opts *options, args []string) (action, error) {
		pos, err := parseArgs(newFlags(name, opts), args)
		if err != nil {
			return nil, err
		}
		if err := exactArgs(name, pos); err != nil {
			return nil, err
		}
		return getAndPrint(opts, name, nil, print), nil
	}
}

// getAndPrint returns the action that GETs endpoint and prints the answer
// with print, or as is with --json.
func getAndPrint[T any](opts *options, endpoint string, query url.Values, print func(io.Writer, *T) error) action {
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		v := new(T)
		raw, err := c.get(ctx, endpoint, query, v)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		return print(stdout, v)
	}
}

// approveCmd is "approve UPDATE-ID... [--group G] [--action A] [--deadline D |
// --no-deadline] [--undecline]", or with filter flags (--kb, --title,
// --type) instead of IDs. Without --deadline or --no-deadline a re-approval
// keeps the deadline it has. More than one ID or a filter is a bulk
// request.
func approveCmd(opts *options, args []string) (action, error) {
	fs := newFlags("approve", opts)
	var req admin.ApprovalRequest
	var deadline string
	var noDeadline bool
	fs.StringVar(&req.Group, "group", "", "target group name or ID")
	fs.StringVar(&req.Action, "action", "", "Install, OptionalInstall, Uninstall or NotApproved")
	fs.StringVar(&deadline, "deadline", "", "RFC 3339 deadline")
	fs.BoolVar(&noDeadline, "no-deadline", false, "remove the deadline the approval has")
	fs.BoolVar(&req.Undecline, "undecline", false, "un-decline a declined update to approve it")
	var f admin.BulkFilter
	filterFlags(fs, &f)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case deadline != "" && noDeadline:
		return nil, errors.New("approve: --deadline and --no-deadline exclude each other")
	case deadline != "":
		req.Deadline = admin.SetDeadline(deadline)
	case noDeadline:
		req.Deadline = admin.SetDeadline("")
	}
	bulk := admin.BulkRequest{Operation: "approve", Group: req.Group, Action: req.Action, Deadline: req.Deadline, Undecline: req.Undecline}
	if many, err := bulkRequest("approve", &bulk, f, pos); err != nil {
		return nil, err
	} else if many {
		return bulkAction(opts, bulk), nil
	}
	req.UpdateID = pos[0]
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var a admin.Approval
		raw, err := c.do(ctx, http.MethodPost, "approvals", nil, req, &a)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		if a.Action == "NotApproved" {
			_, err = fmt.Fprintf(stdout, "Removed the approval of %s for %s.\n", a.UpdateID, a.Group)
			return err
		}
		deadline := ""
		if a.Deadline != nil {
			deadline = ", deadline " + a.Deadline.Format(time.RFC3339)
		}
		_, err = fmt.Fprintf(stdout, "Approved %s for %s: %s%s (deployment %d).\n", a.UpdateID, a.Group, a.Action, deadline, a.ID)
		return err
	}, nil
}

// computerCmd is "computer ID".
func computerCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("computer", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("computer", pos, "ID"); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "computers/"+url.PathEscape(pos[0]), nil, printComputer), nil
}

// optBool is a boolean flag that knows whether it was given: --x is true,
// --x=false false, and without it the filter is left out.
type optBool struct{ set, value bool }

func (b *optBool) String() string {
	if b == nil || !b.set {
		return ""
	}
	return strconv.FormatBool(b.value)
}

func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not true or false")
	}
	b.set, b.value = true, v
	return nil
}

// IsBoolFlag lets the flag be given without a value.
func (b *optBool) IsBoolFlag() bool { return true }

// addTo sets the query parameter key when the flag was given.
func (b *optBool) addTo(query url.Values, key string) {
	if b.set {
		query.Set(key, strconv.FormatBool(b.value))
	}
}

// declineCmd is "decline UPDATE-ID" or "undecline UPDATE-ID" (verb).
func declineCmd(verb string) command {
	return func(opts *options, args []string) (action, error) {
		fs := newFlags(verb, opts)
		var f admin.BulkFilter
		filterFlags(fs, &f)
		pos, err := parseArgs(fs, args)
		if err != nil {
			return nil, err
		}
		bulk := admin.BulkRequest{Operation: verb}
		if many, err := bulkRequest(verb, &bulk, f, pos); err != nil {
			return nil, err
		} else if many {
			return bulkAction(opts, bulk), nil
		}
		endpoint := "updates/" + url.PathEscape(pos[0]) + "/" + verb
		return func(ctx context.Context, c *client, stdout io.Writer) error {
			var d admin.DeclineState
			raw, err := c.do(ctx, http.MethodPost, endpoint, nil, nil, &d)
			if err != nil {
				return err
			}
			if opts.json {
				return writeRaw(stdout, raw)
			}
			if d.Declined {
				_, err = fmt.Fprintf(stdout, "Declined %s: no client is offered it.\n", d.UpdateID)
			} else {
				_, err = fmt.Fprintf(stdout, "Un-declined %s: its approvals, if any, are in force again.\n", d.UpdateID)
			}
			return err
		}, nil
	}
}

// createGroupCmd is "create-group NAME [--parent P]".
func createGroupCmd(opts *options, args []string) (action, error) {
	fs := newFlags("create-group", opts)
	var req admin.GroupRequest
	fs.StringVar(&req.Parent, "parent", "", "parent group name or ID")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("create-group", pos, "NAME"); err != nil {
		return nil, err
	}
	req.Name = pos[0]
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var g admin.Group
		raw, err := c.do(ctx, http.MethodPost, "groups", nil, req, &g)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		parent := "-"
		if g.ParentID != nil {
			parent = g.ParentID.String()
		}
		_, err = fmt.Fprintf(stdout, "Created target group %s with ID %s under %s.\n", g.Name, g.ID, parent)
		return err
	}, nil
}

// assignCmd is "assign COMPUTER-ID GROUP..." or "assign COMPUTER-ID --clear".
func assignCmd(opts *options, args []string) (action, error) {
	fs := newFlags("assign", opts)
	clearAll := fs.Bool("clear", false, "remove the computer from every group")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pos) == 0:
		return nil, errors.New("assign wants COMPUTER-ID GROUP... or COMPUTER-ID --clear, got 0 argument(s)")
	case *clearAll && len(pos) > 1:
		return nil, fmt.Errorf("assign --clear takes only COMPUTER-ID, got %d group(s) too", len(pos)-1)
	case !*clearAll && len(pos) == 1:
		return nil, errors.New("assign wants at least one GROUP after COMPUTER-ID, or --clear")
	}
	endpoint := "computers/" + url.PathEscape(pos[0]) + "/groups"
	// Never null: the server reads null as a mistake, [] as "clear".
	req := admin.ComputerGroupsRequest{Groups: append([]string{}, pos[1:]...)}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var comp admin.Computer
		raw, err := c.do(ctx, http.MethodPut, endpoint, nil, req, &comp)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		if len(comp.Groups) == 0 {
			_, err = fmt.Fprintf(stdout, "%s (%s) is assigned to no target group.\n", comp.ID, orDash(comp.DNSName))
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s (%s) is assigned to %s.\n", comp.ID, orDash(comp.DNSName), groupNames(comp.Groups, ", "))
		return err
	}, nil
}

// writeRaw prints a JSON answer as the server sent it.
func writeRaw(w io.Writer, raw []byte) error {
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		_, err := io.WriteString(w, "\n")
		return err
	}
	return nil
}

// table writes tab-separated rows as aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row writes one row; tabs and newlines inside cells become spaces.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// when formats an optional time for a table.
func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// groupNames joins the names of groups with sep.
func groupNames(groups []admin.GroupRef, sep string) string {
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.Name)
	}
	return strings.Join(names, sep)
}

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printApprovals(w io.Writer, v *admin.ApprovalList) error {
	t := newTable(w, "ID", "UPDATE ID", "GROUP", "ACTION", "DEADLINE", "CHANGED", "IN FORCE")
	for _, a := range v.Approvals {
		inForce := "yes"
		if !a.InForce {
			inForce = "no (declined)"
		}
		t.row(fmt.Sprint(a.ID), a.UpdateID.String(), orDash(a.Group), string(a.Action), when(a.Deadline), when(&a.ChangedAt), inForce)
	}
	return t.flush()
}

func printComputer(w io.Writer, c *admin.ComputerDetail) error {
	t := newTable(w, "ID:", c.ID)
	for _, kv := range [][2]string{
		{"DNS name:", c.DNSName},
		{"Registered:", fmt.Sprint(c.Registered)},
		{"OS:", strings.TrimSpace(c.OSDescription + " " + c.OSVersion)},
		{"Architecture:", c.Architecture},
		{"Manufacturer:", c.Manufacturer},
		{"Model:", c.Model},
		{"Client version:", c.ClientVersion},
		{"Requested groups:", strings.Join(c.RequestedGroups, ", ")},
		{"Assigned groups:", groupNames(c.Groups, ", ")},
		{"First seen:", when(c.FirstSeen)},
		{"Last sync:", when(c.LastSync)},
		{"Last report:", when(c.LastReport)},
		{"Last status:", when(c.LastStatus)},
		{"Events:", fmt.Sprint(c.Events)},
	} {
		t.row(kv[0], orDash(kv[1]))
	}
	if i := c.ComputerInfo; i != nil {
		bios := strings.TrimSpace(i.BiosName + " " + i.BiosVersion)
		if !i.BiosReleaseDate.IsZero() {
			bios += " (" + i.BiosReleaseDate.UTC().Format(time.DateOnly) + ")"
		}
		for _, kv := range [][2]string{
			{"Service pack:", fmt.Sprintf("%d.%d", i.OSServicePackMajorNumber, i.OSServicePackMinorNumber)},
			{"OS locale:", i.OSLocale},
			{"Product type:", fmt.Sprintf("%d (old %d), suite mask %d, system metrics %d",
				i.NewProductType, i.OldProductType, i.SuiteMask, i.SystemMetrics)},
			{"OEM:", i.OEM},
			{"Device type:", i.DeviceType},
			{"BIOS:", strings.TrimSpace(bios)},
			{"Firmware:", i.FirmwareVersion},
			{"Mobile operator:", i.MobileOperator},
		} {
			t.row(kv[0], orDash(kv[1]))
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := printHardware(w, c.Hardware); err != nil {
		return err
	}
	return printComputerUpdates(w, c.Updates)
}

// printHardware writes what the computer's last driver pass reported: its
// computer hardware IDs and one row per device kept.
func printHardware(w io.Writer, h *catalog.HardwareInventory) error {
	if h == nil {
		_, err := fmt.Fprintln(w, "\nNo hardware reported (no driver pass yet).")
		return err
	}
	chids := make([]string, len(h.ComputerHardwareIDs))
	for i, id := range h.ComputerHardwareIDs {
		chids[i] = id.String()
	}
	fmt.Fprintf(w, "\nHardware reported %s: %d device(s), feature score key %s\n", when(&h.ReportedAt), h.DeviceCount,
		orDash(h.FeatureScoreMatchingKey))
	fmt.Fprintf(w, "Computer hardware IDs: %s\n", orDash(strings.Join(chids, ", ")))
	if len(h.Devices) < h.DeviceCount {
		fmt.Fprintf(w, "The first %d devices are kept.\n", len(h.Devices))
	}
	if len(h.Devices) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "HARDWARE ID", "CLASS", "PROVIDER", "MODEL", "VERSION", "DATE")
	for _, d := range h.Devices {
		id := "-"
		if len(d.HardwareIDs) > 0 {
			id = d.HardwareIDs[0]
		}
		inst := d.InstalledDriver
		if inst == nil {
			t.row(id, "-", "-", "-", "-", "-")
			continue
		}
		v := uint64(inst.DriverVerVersion)
		t.row(id, orDash(inst.Class), orDash(inst.Provider), orDash(inst.Model),
			fmt.Sprintf("%d.%d.%d.%d", v>>48, v>>32&0xFFFF, v>>16&0xFFFF, v&0xFFFF),
			inst.DriverVerDate.UTC().Format(time.DateOnly))
	}
	return t.flush()
}

func printGroups(w io.Writer, v *admin.GroupList) error {
	t := newTable(w, "ID", "NAME", "PARENT")
	for _, g := range v.Groups {
		parent := "-"
		if g.ParentID != nil {
			parent = g.ParentID.String()
		}
		t.row(g.ID.String(), g.Name, parent)
	}
	return t.flush()
}
