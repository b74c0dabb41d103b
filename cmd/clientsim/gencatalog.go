package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"wsus/clientsim/catalogen"
)

// gencatalog runs "clientsim gencatalog": it writes a synthetic catalog
// (package wsus/clientsim/catalogen) into a folder that `wsusd import`
// loads.
//
//	clientsim gencatalog --updates N --seed S --out DIR [--payloads] [--revisions F]
//	                     [--payload-min BYTES] [--payload-max BYTES]
func gencatalog(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clientsim gencatalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts catalogen.Options
	fs.IntVar(&opts.Updates, "updates", 2000, fmt.Sprintf("number of update documents (revisions), %d to %d", catalogen.MinUpdates, catalogen.MaxUpdates))
	fs.Int64Var(&opts.Seed, "seed", 1, "seed: the same seed writes the same catalog, byte for byte")
	out := fs.String("out", "", "folder to write the catalog into (required; created if needed)")
	fs.BoolVar(&opts.Payloads, "payloads", false, "also write payload files whose digests and sizes the metadata lists")
	fs.Float64Var(&opts.Revisions, "revisions", 0.1, "fraction of top-level updates that get a second, newer revision")
	fs.IntVar(&opts.PayloadMinSize, "payload-min", 1<<10, "smallest payload in bytes (with --payloads)")
	fs.IntVar(&opts.PayloadMaxSize, "payload-max", 64<<10, "largest payload in bytes (with --payloads)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: clientsim gencatalog --out DIR [flags]\n\nWrites a synthetic update catalog in the shape of Microsoft's metadata (Windows 11, Office\n"+
			"and Defender categories, detectoids, bundles, leaves, supersedence), marked as generated in every\ndocument, for `wsusd import DIR`.\n\n")
		fs.PrintDefaults()
	}
	if status, done := parseNoArgs(fs, args, stderr); done {
		return status
	}
	if *out == "" {
		fmt.Fprintln(stderr, "clientsim gencatalog: --out is required")
		fs.Usage()
		return 2
	}

	start := time.Now()
	st, err := catalogen.Write(ctx, *out, opts)
	if err != nil {
		fmt.Fprintf(stderr, "clientsim: gencatalog: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "clientsim gencatalog: %d documents (seed %d) in %s in %s\n", st.Documents, opts.Seed, *out, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "categories:       %d\n", st.Categories)
	fmt.Fprintf(stdout, "detectoids:       %d\n", st.Detectoids)
	fmt.Fprintf(stdout, "bundles:          %d (%d leaves)\n", st.Bundles, st.Leaves)
	fmt.Fprintf(stdout, "standalone:       %d\n", st.Standalone)
	fmt.Fprintf(stdout, "second revisions: %d (%d expired)\n", st.Revised+st.Expired, st.Expired)
	fmt.Fprintf(stdout, "files:            %d\n", st.Files)
	fmt.Fprintf(stdout, "supersedence:     %d edges\n", st.SupersededEdges)
	fmt.Fprintf(stdout, "metadata bytes:   %d\n", st.XMLBytes)
	fmt.Fprintf(stdout, "payloads:         %d (%d bytes)\n", st.Payloads, st.PayloadBytes)
	return 0
}
