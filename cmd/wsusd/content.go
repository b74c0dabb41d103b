package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"wsus/storage/maintain"
)

const contentUsage = `usage: wsusd content <verify|gc> [flags]

  verify  read every stored payload and check its size, SHA-1 and SHA-256
          against the catalog's metadata; exit status 1 when one is corrupt
  gc      delete stored payloads that no non-declined update references
          (and what interrupted writes left behind)

Run 'wsusd content <verify|gc> -h' for the flags.
`

// contentCmd runs `wsusd content verify|gc`.
func contentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, contentUsage)
		return errUsage
	}
	switch args[0] {
	case "verify":
		return verifyCmd(ctx, args[1:], stdout, stderr)
	case "gc":
		return gcCmd(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, contentUsage)
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "wsusd content: unknown command %q\n\n%s", args[0], contentUsage)
	return errUsage
}

func verifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var opts maintain.VerifyOptions
	s := verifySettings(&c, &opts)
	rest, err := parseSettings(s, args, stderr, "usage: wsusd content verify [flags]")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return flagError(fmt.Sprintf("content verify takes no arguments, got %q", rest))
	}
	if err := c.validate(s); err != nil {
		return err
	}
	logger, stores, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.flushLog()
	defer stores.Close()
	opts.Logger = logger
	rep, err := maintain.Verify(ctx, stores.Catalog, stores.Blobs, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verified: %d payloads, %d bytes; %d corrupt, %d not in the catalog, %d foreign; %d deleted\n",
		rep.Checked, rep.Bytes, len(rep.Corrupt), len(rep.Unknown), len(rep.Foreign), rep.Deleted)
	for _, f := range rep.Corrupt {
		fmt.Fprintf(stdout, "corrupt %s: %s\n", f.Key, f.Problem)
	}
	for _, k := range rep.Unknown {
		fmt.Fprintf(stdout, "not in the catalog %s\n", k)
	}
	for _, k := range rep.Foreign {
		fmt.Fprintf(stdout, "foreign %s\n", k)
	}
	if len(rep.Corrupt) > 0 {
		return fmt.Errorf("%d corrupt payloads", len(rep.Corrupt))
	}
	return nil
}

func gcCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var opts maintain.GCOptions
	s := gcSettings(&c, &opts)
	rest, err := parseSettings(s, args, stderr, "usage: wsusd content gc [flags]")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return flagError(fmt.Sprintf("content gc takes no arguments, got %q", rest))
	}
	if err := c.validate(s); err != nil {
		return err
	}
	logger, stores, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.flushLog()
	defer stores.Close()
	opts.Logger = logger
	rep, err := maintain.CollectGarbage(ctx, stores.Catalog, stores.Blobs, opts)
	if err != nil {
		return err
	}
	verb := "deleted"
	if opts.DryRun {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "gc: %d files referenced; %d payloads kept, %s %d (%d bytes), %d spared by --min-age, %d foreign; %d interrupted writes removed\n",
		rep.Referenced, rep.Kept, verb, len(rep.Deleted), rep.DeletedBytes, rep.Young, rep.Foreign, rep.Incomplete)
	for _, k := range rep.Deleted {
		fmt.Fprintf(stdout, "%s %s\n", verb, k)
	}
	return nil
}
