package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// This file holds the people-and-access commands: API tokens and the audit
// log.

// tokensCmd is "tokens create|list|revoke ...".
func tokensCmd(opts *options, args []string) (action, error) {
	if len(args) == 0 {
		return nil, errors.New("tokens wants a subcommand: create, list or revoke")
	}
	switch args[0] {
	case "create":
		return tokensCreateCmd(opts, args[1:])
	case "list":
		return tokensListCmd(opts, args[1:])
	case "revoke":
		return tokensRevokeCmd(opts, args[1:])
	}
	return nil, fmt.Errorf("unknown tokens subcommand %q; want create, list or revoke", args[0])
}

// tokensCreateCmd is "tokens create NAME --role admin|approver|viewer".
func tokensCreateCmd(opts *options, args []string) (action, error) {
	fs := newFlags("tokens create", opts)
	var role string
	fs.StringVar(&role, "role", "", "admin, approver or viewer")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("tokens create", pos, "NAME"); err != nil {
		return nil, err
	}
	if !catalog.Role(role).Valid() {
		return nil, fmt.Errorf("tokens create wants --role admin, approver or viewer, got %q", role)
	}
	req := admin.TokenRequest{Name: pos[0], Role: catalog.Role(role)}
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var tok admin.NewToken
		raw, err := c.do(ctx, http.MethodPost, "tokens", nil, req, &tok)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		_, err = fmt.Fprintf(stdout, "Created %s token %s with ID %s. Its secret, shown this once:\n%s\n",
			tok.Role, tok.Name, tok.ID, tok.Secret)
		return err
	}, nil
}

// tokensListCmd is "tokens list".
func tokensListCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("tokens list", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("tokens list", pos); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "tokens", nil, printTokens), nil
}

func printTokens(w io.Writer, l *admin.TokenList) error {
	t := newTable(w, "ID", "NAME", "ROLE", "CREATED", "CREATED BY")
	for _, tok := range l.Tokens {
		t.row(tok.ID.String(), tok.Name, string(tok.Role), tok.Created.UTC().Format(time.RFC3339), tok.CreatedBy)
	}
	return t.flush()
}

// tokensRevokeCmd is "tokens revoke ID".
func tokensRevokeCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("tokens revoke", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("tokens revoke", pos, "ID"); err != nil {
		return nil, err
	}
	id := pos[0]
	return func(ctx context.Context, c *client, stdout io.Writer) error {
		var tok admin.Token
		raw, err := c.do(ctx, http.MethodDelete, "tokens/"+url.PathEscape(id), nil, nil, &tok)
		if err != nil {
			return err
		}
		if opts.json {
			return writeRaw(stdout, raw)
		}
		_, err = fmt.Fprintf(stdout, "Revoked token %s (%s, %s).\n", tok.ID, tok.Name, tok.Role)
		return err
	}, nil
}

// auditCmd is "audit [--actor A] [--action X] [--target T] [--since RFC3339]
// [--until RFC3339] [--before-id ID] [--limit N] [--csv]": --before-id pages
// back (the entries with a lower ID: the last ID a page printed).
func auditCmd(opts *options, args []string) (action, error) {
	fs := newFlags("audit", opts)
	q := url.Values{}
	var limit int
	for _, name := range []string{"actor", "action", "target", "since", "until"} {
		fs.Func(name, "", func(v string) error { q.Set(name, v); return nil })
	}
	fs.IntVar(&limit, "limit", 0, "")
	beforeID := fs.Int64("before-id", 0, "only entries with a lower ID (the last ID of the previous page)")
	asCSV := fs.Bool("csv", false, "print the server's CSV export")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("audit", pos); err != nil {
		return nil, err
	}
	for _, name := range []string{"since", "until"} {
		if v := q.Get(name); v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return nil, fmt.Errorf("audit: --%s %q is not an RFC 3339 time", name, v)
			}
		}
	}
	if limit != 0 {
		if limit < 1 || limit > catalog.MaxAuditLimit {
			return nil, fmt.Errorf("audit: --limit must be 1 to %d", catalog.MaxAuditLimit)
		}
		q.Set("limit", strconv.Itoa(limit))
	}
	if *beforeID != 0 {
		if *beforeID < 1 {
			return nil, fmt.Errorf("audit: --before-id %d is not a positive ID", *beforeID)
		}
		q.Set("before_id", strconv.FormatInt(*beforeID, 10))
	}
	if *asCSV {
		return csvAction("audit", q), nil
	}
	return getAndPrint(opts, "audit", q, printAudit), nil
}

func printAudit(w io.Writer, l *admin.AuditList) error {
	t := newTable(w, "ID", "AT", "ACTOR", "ACTION", "TARGET", "FROM", "BEFORE", "AFTER")
	for _, e := range l.Entries {
		t.row(strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, cmpDash(e.Target), e.RemoteAddr,
			clip(string(e.Before)), clip(string(e.After)))
	}
	return t.flush()
}

func cmpDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens JSON for a table cell; --json shows it whole.
func clip(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
