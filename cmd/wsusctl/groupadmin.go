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

	"wsus/catalog/admin"
)

// deleteGroupCmd is "delete-group GROUP" (name or ID).
func deleteGroupCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("delete-group", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("delete-group", pos, "GROUP"); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var d admin.DeletedGroup
		raw, err := c.do(ctx, http.MethodDelete, "groups/"+url.PathEscape(pos[0]), nil, nil, &d)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		_, err = fmt.Fprintf(stdout, "Deleted target group %s (%s), its approvals and its computers' assignments to it.\n", d.Name, d.ID)
		return err
	}, nil
}

// renameGroupCmd is "rename-group GROUP NEW-NAME".
func renameGroupCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("rename-group", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("rename-group", pos, "GROUP", "NEW-NAME"); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var g admin.Group
		raw, err := c.do(ctx, http.MethodPatch, "groups/"+url.PathEscape(pos[0]), nil, admin.GroupRenameRequest{Name: pos[1]}, &g)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		_, err = fmt.Fprintf(stdout, "Renamed target group %s to %s.\n", g.ID, g.Name)
		return err
	}, nil
}

// deleteComputerCmd is "delete-computer COMPUTER" (client ID or DNS name).
func deleteComputerCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("delete-computer", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("delete-computer", pos, "COMPUTER"); err != nil {
		return nil, err
	}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var d admin.DeletedComputers
		raw, err := c.do(ctx, http.MethodDelete, "computers/"+url.PathEscape(pos[0]), nil, nil, &d)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		return printDeleted(stdout, &d)
	}, nil
}

// cleanupComputersCmd is "cleanup-computers --not-contacted-days N [--dry-run]".
func cleanupComputersCmd(opts *options, args []string) (action, error) {
	fs := newFlags("cleanup-computers", opts)
	days := fs.Int("not-contacted-days", 0, "delete computers not contacted for this many days")
	dry := fs.Bool("dry-run", false, "list them, delete nothing")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("cleanup-computers", pos); err != nil {
		return nil, err
	}
	if *days < 1 {
		return nil, errors.New("cleanup-computers needs --not-contacted-days N (N at least 1)")
	}
	req := admin.CleanupRequest{NotContactedDays: days, DryRun: *dry}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var d admin.DeletedComputers
		raw, err := c.do(ctx, http.MethodPost, "cleanup/computers", nil, req, &d)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		return printDeleted(stdout, &d)
	}, nil
}

func printDeleted(w io.Writer, d *admin.DeletedComputers) error {
	verb := "Deleted"
	if d.DryRun {
		verb = "Would delete (dry run)"
	}
	if _, err := fmt.Fprintf(w, "%s %d computer(s).\n", verb, len(d.Computers)); err != nil {
		return err
	}
	if len(d.Computers) == 0 {
		return nil
	}
	t := newTable(w, "ID", "DNS NAME", "LAST CONTACT")
	for _, c := range d.Computers {
		t.row(c.ID, orDash(c.DNSName), when(c.LastContact))
	}
	return t.flush()
}

// filterFlags binds the bulk filter flags to f.
func filterFlags(fs *flag.FlagSet, f *admin.BulkFilter) {
	fs.StringVar(&f.KB, "kb", "", "select the updates of this KB article (bulk)")
	fs.StringVar(&f.Title, "title", "", "select the updates whose title contains this text (bulk)")
	fs.StringVar(&f.Type, "type", "", "select the updates of this type, Software or Driver (bulk)")
}

// bulkRequest completes req with the update IDs or the filter: a filter
// flag or more than one ID makes a bulk request; ok is false for a single
// ID without filter (the caller's single-update request).
func bulkRequest(name string, req *admin.BulkRequest, f admin.BulkFilter, ids []string) (ok bool, err error) {
	filtered := f != (admin.BulkFilter{})
	switch {
	case filtered && len(ids) > 0:
		return false, fmt.Errorf("%s takes UPDATE-ID... or filter flags (--kb, --title, --type), not both", name)
	case filtered:
		req.Filter = &f
		return true, nil
	case len(ids) == 0:
		return false, fmt.Errorf("%s wants UPDATE-ID... or filter flags (--kb, --title, --type)", name)
	case len(ids) == 1:
		return false, nil
	}
	req.UpdateIDs = ids
	return true, nil
}

// bulkAction posts req to /api/v1/bulk and prints one line per update; it
// fails (exit 1) when any update failed.
func bulkAction(opts *options, req admin.BulkRequest) action {
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var res admin.BulkResult
		raw, err := c.do(ctx, http.MethodPost, "bulk", nil, req, &res)
		if err != nil {
			return err
		}
		if opts.json {
			err = writeRaw(stdout, raw)
		} else {
			t := newTable(stdout, "UPDATE ID", "STATUS", "ERROR", "REASON")
			for _, it := range res.Results {
				t.row(it.UpdateID, strconv.Itoa(it.Status), orDash(it.Error), orDash(it.Reason))
			}
			if err = t.flush(); err == nil {
				_, err = fmt.Fprintf(stdout, "%s: %d succeeded, %d failed.\n", res.Operation, res.Succeeded, res.Failed)
			}
		}
		if err == nil && res.Failed > 0 {
			err = fmt.Errorf("%s: %d of %d updates failed", res.Operation, res.Failed, res.Failed+res.Succeeded)
		}
		return err
	}
}

// unapproveCmd is "unapprove UPDATE-ID... [--group G]" or with filter
// flags: removes the approvals of the updates for the group.
func unapproveCmd(opts *options, args []string) (action, error) {
	fs := newFlags("unapprove", opts)
	req := admin.BulkRequest{Operation: "unapprove"}
	var f admin.BulkFilter
	fs.StringVar(&req.Group, "group", "", "target group name or ID")
	filterFlags(fs, &f)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if _, err := bulkRequest("unapprove", &req, f, pos); err != nil {
		return nil, err
	}
	if req.Filter == nil && req.UpdateIDs == nil {
		req.UpdateIDs = pos
	}
	return bulkAction(opts, req), nil
}
