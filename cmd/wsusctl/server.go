package main

import (
	"io"
	"time"

	"wsus/catalog/admin"
)

// serverCmd is "server": which build the replica that answered runs, the
// installation's ID and the stores it runs on (GET /api/v1/server).
func serverCmd(opts *options, args []string) (action, error) {
	pos, err := parseArgs(newFlags("server", opts), args)
	if err != nil {
		return nil, err
	}
	if err := exactArgs("server", pos); err != nil {
		return nil, err
	}
	return getAndPrint(opts, "server", nil, printServer), nil
}

// printServer prints the server's description, one field a row.
func printServer(w io.Writer, v *admin.ServerInfo) error {
	commit := orDash(v.Commit)
	if v.Modified {
		commit += " (modified)"
	}
	t := newTable(w, "Version:", v.Version)
	t.row("Commit:", commit)
	t.row("Go:", v.GoVersion)
	t.row("Server ID:", v.ServerID)
	t.row("Catalog:", orDash(v.Catalog))
	t.row("Content:", orDash(v.Content))
	t.row("Started:", v.StartedAt.UTC().Format(time.RFC3339))
	return t.flush()
}
