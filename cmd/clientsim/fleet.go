package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"wsus/clientsim/load"
	"wsus/soap/cookie"
)

// arrivalFlag is the flag of `clientsim load` that selects the open-loop
// fleet run (fleetCmd) instead of the closed-loop clients.
const arrivalFlag = "arrival"

// hasArrivalFlag reports whether args ask for the fleet run: --arrival (or
// -arrival, =true) anywhere before "--". No flag of `clientsim load` takes
// a value that starts with "-arrival".
func hasArrivalFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == arrivalFlag {
			return !hasValue || value == "true" || value == "1"
		}
	}
	return false
}

// fleetCmd runs `clientsim load --arrival`: an open-loop fleet run
// (load.RunFleet). It prints the summary, or with --json the JSON report on
// stdout and the summary on stderr. The exit status is 1 when the run could
// not start or prepare, was interrupted, or (unless --allow-errors) a scan
// or report failed, a scan was dropped or missed a Patch Tuesday update; 2
// on a usage error.
// A p99 over the target is reported but does not fail the command: the
// search of scripts/bench-fleet.sh reads it from the JSON.
func fleetCmd(ctx context.Context, args []string, server string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clientsim load --arrival", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg load.FleetConfig
	fs.Bool(arrivalFlag, true, "open-loop fleet run (this mode)")
	fs.StringVar(&cfg.ServerURL, "server", server, "base URL of the server under test (env WSUS_SERVER); loopback only unless --allow-remote")
	fs.IntVar(&cfg.Computers, "fleet", 0, "N: computers in the fleet (required)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the computers' IDs and of the arrivals")
	fs.DurationVar(&cfg.Duration, "duration", load.DefaultFleetDuration, "how long arrivals are generated (a window of the cycle: the rate is what matters)")
	fs.DurationVar(&cfg.Interval, "interval", load.DefaultDetectionInterval, "the computers' detection frequency; each scans every 0.8 to 1.0 times it: rate N / (0.9 x interval)")
	fs.BoolVar(&cfg.PatchTuesday, "patch-tuesday", false, "approve --patch-updates updates at the start; every computer scans within --window: rate N / window")
	fs.DurationVar(&cfg.Window, "window", load.DefaultPatchWindow, "with --patch-tuesday, the window in which every computer scans")
	fs.IntVar(&cfg.PatchUpdates, "patch-updates", load.DefaultPatchUpdates, "with --patch-tuesday, how many of the newest unapproved software updates to approve for All Computers")
	fs.StringVar(&cfg.AdminURL, "admin-url", "", "base URL of the admin API (default --server)")
	fs.StringVar(&cfg.AdminToken, "admin-token", os.Getenv("WSUS_ADMIN_TOKEN"), "approver token for --patch-tuesday (env WSUS_ADMIN_TOKEN)")
	keyHex := fs.String("cookie-key", "", "the server's cookie key, 64 hex digits (or --cookie-key-file)")
	keyFile := fs.String("cookie-key-file", "", "file holding the server's cookie key (e.g. <data>/cookie.key)")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", load.DefaultMaxInFlight, "generator limit on concurrent scans; an arrival beyond it is dropped (and counted)")
	register := fs.String("register", string(load.RegisterAll), "computers registered (RegisterComputer) before the arrivals: all, arriving (only those scanning in this run) or none (an earlier run did)")
	fs.IntVar(&cfg.RegisteredBefore, "registered", 0, "with --register all: computers 0 to this-1 were registered by an earlier run with the same --seed; register only the rest")
	fs.IntVar(&cfg.RegisterConcurrency, "register-concurrency", load.DefaultRegisterConcurrency, "RegisterComputer calls at once in the preparation phase")
	fs.StringVar(&cfg.TargetGroup, "target-group", "", "target group name(s) of every computer (client-side targeting)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", load.DefaultRequestTimeout, "bound on each HTTP request")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "server process id: report its CPU and memory during the arrivals")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a server that is not on a loopback address")
	fs.BoolVar(&cfg.Identity, "identity", false, "leave Accept-Encoding: xpress out of the SOAP requests")
	fs.BoolVar(&cfg.PrepareOnly, "prepare-only", false, "stop after the reference scan and the registration (then seed with scripts/fleetseed, and run again with --register none)")
	jsonOut := fs.Bool("json", false, "print the report as JSON on stdout (the summary goes to stderr)")
	allowErrors := fs.Bool("allow-errors", false, "exit 0 even when scans failed, were dropped or missed an update")
	verbose := fs.Bool("verbose", false, "debug logs")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: clientsim load --arrival --fleet N --cookie-key-file FILE [flags]

An open-loop fleet run: N computers that already know the server, each scanning
about every 22 hours (Windows' default detection frequency, randomized to 0.8-1.0
of it), arrive as a Poisson process whatever the server's speed; with
--patch-tuesday, new updates are approved first and every computer scans within
the window. Each scan is a returning computer's: GetAuthorizationCookie,
GetCookie with its expired cookie, SyncUpdates (software, whole cache, and the
driver pass), GetExtendedUpdateInfo for new updates, ReportEventBatch. Reports
scans started, completed, failed and dropped, latency p50/p90/p99/max, SOAP
calls/s and the CPU of this generator and of the server (--server-pid).

`)
		fs.PrintDefaults()
	}
	if status, done := parseNoArgs(fs, args, stderr); done {
		return status
	}
	cfg.Register = load.RegisterMode(*register)
	cfg.Logger = logger(*verbose, stderr)
	key, err := fleetCookieKey(*keyHex, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "clientsim load --arrival: %v\n", err)
		return 2
	}
	cfg.CookieKey = key

	rep, err := load.RunFleet(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "clientsim: %v\n", err)
		return 1
	}
	if !printReport(rep, *jsonOut, stdout, stderr) {
		return 1
	}
	missing := 0
	if rep.PatchTuesday != nil {
		missing = rep.PatchTuesday.ScansMissingNew
	}
	switch {
	case rep.Interrupted:
		fmt.Fprintln(stderr, "clientsim load --arrival: interrupted")
		return 1
	case (rep.Failed > 0 || rep.ReportsFailed > 0 || rep.Dropped > 0 || missing > 0) && !*allowErrors:
		fmt.Fprintf(stderr, "clientsim load --arrival: %d scans failed, %d reports failed, %d dropped, %d missed a new update\n",
			rep.Failed, rep.ReportsFailed, rep.Dropped, missing)
		return 1
	}
	return 0
}

// fleetCookieKey reads the server's cookie key from exactly one of hex and
// file.
func fleetCookieKey(hex, file string) ([]byte, error) {
	switch {
	case hex != "" && file != "":
		return nil, fmt.Errorf("--cookie-key and --cookie-key-file exclude each other")
	case hex != "":
		return cookie.ParseKey(hex)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("cookie key file: %w", err)
		}
		key, err := cookie.ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("cookie key file %s: %w", file, err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("the server's cookie key is required (--cookie-key-file FILE or --cookie-key HEX): each computer's old cookie is sealed with it")
}
