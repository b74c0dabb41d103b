package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"wsus/clientsim/load"
)

// loadCmd runs `clientsim load`: many simulated agents against one server
// (package wsus/clientsim/load). It prints the summary table, or with --json
// the JSON report on stdout and the table on stderr. The exit status is 1
// when any scan failed (unless --allow-errors), when the run was interrupted
// or could not start, and 2 on a usage error.
func loadCmd(ctx context.Context, args []string, server string, stdout, stderr io.Writer) int {
	if hasArrivalFlag(args) { // the open-loop fleet run: clientsim load --arrival -h
		return fleetCmd(ctx, args, server, stdout, stderr)
	}
	fs := flag.NewFlagSet("clientsim load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg load.Config
	fs.StringVar(&cfg.ServerURL, "server", server, "base URL of the server under test (env WSUS_SERVER); loopback only unless --allow-remote")
	fs.IntVar(&cfg.Clients, "clients", load.DefaultClients, "concurrent simulated clients")
	mode := fs.String("mode", string(load.ModeBoth), "first-scan (every scan by a new client), delta (all first scans, then delta scans) or both (each client: first scan, then delta scans)")
	fs.DurationVar(&cfg.Duration, "duration", load.DefaultDuration, "stop starting scans after this long (in delta mode: after the first scans)")
	fs.IntVar(&cfg.Iterations, "iterations", 0, "also stop after this many scans per client (first scans in first-scan mode, delta scans otherwise); 0: no bound")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "server process id: report its VmRSS and VmHWM before and after")
	fs.BoolVar(&cfg.Downloads, "downloads", false, "also run GetExtendedUpdateInfo and download and verify content")
	fs.BoolVar(&cfg.Report, "report", false, "end every scan with ReportEventBatch")
	fs.BoolVar(&cfg.Install, "install", false, "every scan installs the approved updates and reports the results (implies --downloads and --report)")
	fs.Float64Var(&cfg.InstallPlan.FailFraction, "fail-fraction", 0, "with --install, the fraction (0 to 1) of installs that fail with 0x80070643")
	fs.StringVar(&cfg.TargetGroup, "target-group", "", "target group name(s) of every client (client-side targeting)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", load.DefaultRequestTimeout, "bound on each HTTP request")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a server that is not on a loopback address")
	fs.BoolVar(&cfg.Identity, "identity", false, "leave Accept-Encoding: xpress out of the SOAP requests (answers come uncompressed)")
	wire := fs.Bool("wire-bytes", false, "count the bytes sent and received on the clients' connections and print them")
	jsonOut := fs.Bool("json", false, "print the report as JSON on stdout (the table goes to stderr)")
	allowErrors := fs.Bool("allow-errors", false, "exit 0 even when scans failed")
	verbose := fs.Bool("verbose", false, "debug logs")
	closeAcks := acksFlag(fs, &cfg)
	defer closeAcks()
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: clientsim load [flags]\n\nRuns many simulated Windows Update Agents against a server and reports first-scan and\ndelta-scan latency (p50/p90/p99/max), throughput and errors by kind.\nWith --arrival, an open-loop fleet run instead (clientsim load --arrival -h).\n\n")
		fs.PrintDefaults()
	}
	if status, done := parseNoArgs(fs, args, stderr); done {
		return status
	}
	cfg.Mode = load.Mode(*mode)
	cfg.Logger = logger(*verbose, stderr)

	var counted *countingDialer
	if *wire {
		counted = &countingDialer{}
		cfg.HTTPClient = countingClient(cfg, counted)
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "clientsim: %v\n", err)
		return 1
	}
	if counted != nil {
		fmt.Fprintf(stderr, "wire bytes: %d received, %d sent (HTTP on TCP, all connections)\n", counted.read.Load(), counted.written.Load())
	}
	if !printReport(rep, *jsonOut, stdout, stderr) {
		return 1
	}
	switch {
	case rep.Interrupted:
		fmt.Fprintln(stderr, "clientsim load: interrupted")
		return 1
	case rep.Failed() > 0 && !*allowErrors:
		fmt.Fprintf(stderr, "clientsim load: %d scans failed (error rate %.2f%%)\n", rep.Failed(), 100*rep.ErrorRate())
		return 1
	}
	return 0
}

// countingDialer counts the bytes read and written on the connections it
// dials.
type countingDialer struct {
	net.Dialer
	read, written atomic.Int64
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, d: d}, nil
}

type countingConn struct {
	net.Conn
	d *countingDialer
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.d.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.d.written.Add(int64(n))
	return n, err
}

// countingClient is the client load.Run would build for cfg (see
// load.Config.HTTPClient), dialing through d.
func countingClient(cfg load.Config, d *countingDialer) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true // clientsim sets Accept-Encoding itself
	t.DialContext = d.DialContext
	clients := cfg.Clients
	if clients <= 0 {
		clients = load.DefaultClients
	}
	conns := clients
	if cfg.Downloads {
		conns *= 5
	}
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = load.DefaultRequestTimeout
	}
	return &http.Client{Transport: t, Timeout: timeout}
}

// textReport is a load report that prints itself as a table.
type textReport interface {
	WriteText(w io.Writer) error
}

// printReport prints rep: the table on stdout, or with asJSON the JSON
// report on stdout and the table on stderr. It reports whether both were
// written; an error is printed on stderr.
func printReport(rep textReport, asJSON bool, stdout, stderr io.Writer) bool {
	table := stdout
	if asJSON {
		table = stderr
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "clientsim: %v\n", err)
			return false
		}
	}
	if err := rep.WriteText(table); err != nil {
		fmt.Fprintf(stderr, "clientsim: %v\n", err)
		return false
	}
	return true
}
