// Command clientsim is a simulated Windows Update Agent for testing a WSUS
// server without Windows.
//
//	clientsim scan   [--server URL] [--client-id GUID] [--dns-name NAME] [--target-group NAME]
//	                 [--parallel N] [--download-dir DIR] [--scans N] [--verbose]
//	                 [--install [--install-optional] [--fail KB|GUID[=HRESULT]]...
//	                  [--reboot-pending KB|GUID]... [--fail-fraction F [--fail-hresult HRESULT]]]
//	clientsim replay DIR [--server URL] [--all] [--verbose]
//
// scan runs the native scan sequence (see package wsus/clientsim) and prints
// a summary; replay replays a capture folder and compares every answer with
// the recorded real-WSUS answer (see package wsus/clientsim/replay). The
// server defaults to $WSUS_SERVER, else http://127.0.0.1:8530. The exit
// status is 0 on success, 1 on any protocol error, fault, digest mismatch or
// replay difference, and 2 on a usage error.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"wsus/clientsim"
	"wsus/clientsim/replay"
)

const defaultServer = "http://127.0.0.1:8530"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv("WSUS_SERVER"))
	stop()
	os.Exit(code)
}

const usage = `usage:
  clientsim scan   [flags]        run a full Windows Update scan against a server
  clientsim replay DIR [flags]    replay a capture folder and compare the answers
  clientsim load   [flags]        many simulated clients at once: latency, throughput, errors
  clientsim gencatalog --out DIR  write a synthetic update catalog for wsusd import

Run "clientsim scan -h" or "clientsim replay -h" for the flags.
The server defaults to $WSUS_SERVER, else ` + defaultServer + `.
`

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, envServer string) int {
	server := defaultServer
	if envServer != "" {
		server = envServer
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "scan":
		return scan(ctx, args[1:], server, stdout, stderr)
	case "replay":
		return replayCmd(ctx, args[1:], server, stdout, stderr)
	case "load":
		return loadCmd(ctx, args[1:], server, stdout, stderr)
	case "gencatalog":
		return gencatalog(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "clientsim: unknown command %q\n%s", args[0], usage)
	return 2
}

func logger(verbose bool, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// parse parses flags, also after positional arguments ("replay DIR --server URL").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// failFlag collects --fail KB|GUID[=HRESULT] into an install plan.
type failFlag map[string]clientsim.HResult

func (f failFlag) String() string { return "" }

func (f failFlag) Set(v string) error {
	name, hr, ok := strings.Cut(v, "=")
	var code clientsim.HResult
	if ok {
		var err error
		if code, err = clientsim.ParseHResult(hr); err != nil {
			return err
		}
	}
	f[name] = code
	return nil
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// hresultFlag is an HRESULT flag value.
type hresultFlag clientsim.HResult

func (h *hresultFlag) String() string {
	if *h == 0 {
		return ""
	}
	return clientsim.HResult(*h).String()
}

func (h *hresultFlag) Set(v string) error {
	code, err := clientsim.ParseHResult(v)
	*h = hresultFlag(code)
	return err
}

func scan(ctx context.Context, args []string, server string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clientsim scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg clientsim.Config
	fs.StringVar(&cfg.ServerURL, "server", server, "base URL of the update server (env WSUS_SERVER)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "client id GUID (default: a random one)")
	fs.StringVar(&cfg.DNSName, "dns-name", "", `DNS name to register (default "clientsim-<first 8 of client id>")`)
	fs.StringVar(&cfg.TargetGroup, "target-group", "", "target group name(s) for client-side targeting (targetGroupName)")
	fs.IntVar(&cfg.Parallel, "parallel", 4, "content pieces downloaded in parallel")
	fs.StringVar(&cfg.DownloadDir, "download-dir", "", "keep downloaded files here (default: a temporary directory, removed)")
	fs.BoolVar(&cfg.Identity, "identity", false, "leave Accept-Encoding: xpress out of the SOAP requests (answers come uncompressed)")
	caFile := fs.String("ca-file", "", "PEM file of certificate authorities trusted for an https --server, besides the system's (wsusd tls init writes ca.crt)")
	scans := fs.Int("scans", 1, "scans to run as one agent: the later ones as a real agent's later scans (cookie and cache kept, earlier installs reported in the status)")
	var opts clientsim.ScanOptions
	fs.BoolVar(&opts.Install, "install", false, "install the updates approved for Install whose files verified and report the results (183 installed, 182 failed, 184 restart required)")
	fs.BoolVar(&opts.InstallOptional, "install-optional", false, "with --install, also install the updates approved for OptionalInstall")
	fail := failFlag{}
	cfg.Install.Fail = fail
	fs.Var(fail, "fail", "with --install, the install of this update (KB number or UpdateID) fails, with HRESULT (hex 0x80070643 or signed decimal; default 0x80070643); repeatable")
	var reboot listFlag
	fs.Var(&reboot, "reboot-pending", "with --install, the install of this update (KB number or UpdateID) succeeds but needs a restart; repeatable")
	fs.Float64Var(&cfg.Install.FailFraction, "fail-fraction", 0, "with --install, the fraction (0 to 1) of the other installs that fail")
	fs.Var((*hresultFlag)(&cfg.Install.FailHResult), "fail-hresult", "HRESULT of the --fail-fraction failures (default 0x80070643)")
	verbose := fs.Bool("verbose", false, "log every step to stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: clientsim scan [flags]\n\nRuns GetConfig, authorization, RegisterComputer, SyncUpdates, GetExtendedUpdateInfo,\ndownloads and verifies every offered file and reports events, like Windows Update Agent;\nwith --install it then installs the approved updates and reports the results.\n\n")
		fs.PrintDefaults()
	}
	if status, done := parseNoArgs(fs, args, stderr); done {
		return status
	}
	cfg.Install.RebootPending = reboot
	if *scans < 1 {
		fmt.Fprintf(stderr, "clientsim scan: --scans %d: want at least 1\n", *scans)
		return 2
	}
	if !opts.Install && (len(fail) > 0 || len(reboot) > 0 || cfg.Install.FailFraction != 0 || cfg.Install.FailHResult != 0 || opts.InstallOptional) {
		fmt.Fprintln(stderr, "clientsim scan: --fail, --reboot-pending, --fail-fraction, --fail-hresult and --install-optional need --install")
		return 2
	}
	cfg.Logger = logger(*verbose, stderr)
	if *caFile != "" {
		roots, err := rootsWith(*caFile)
		if err != nil {
			fmt.Fprintf(stderr, "clientsim scan: --ca-file: %v\n", err)
			return 2
		}
		cfg.RootCAs = roots
	}

	agent, err := clientsim.NewAgent(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	opts.Download, opts.Report = true, true
	for i := range *scans {
		res, err := agent.Scan(ctx, opts)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		sum := res.Summary
		if *scans > 1 {
			fmt.Fprintf(stdout, "scan %d of %d\n", i+1, *scans)
		}
		fmt.Fprintf(stdout, "clientsim scan of %s as client %s (%s)\n", cfg.ServerURL, sum.ClientID, sum.DNSName)
		fmt.Fprintf(stdout, "sync rounds:      %d software, %d driver\n", sum.SoftwareRounds, sum.DriverRounds)
		fmt.Fprintf(stdout, "updates offered:  %d\n", sum.UpdatesOffered)
		fmt.Fprintf(stdout, "files downloaded: %d\n", sum.FilesDownloaded)
		fmt.Fprintf(stdout, "bytes downloaded: %d\n", sum.BytesDownloaded)
		fmt.Fprintf(stdout, "bytes verified:   %d\n", sum.BytesVerified)
		if opts.Install {
			fmt.Fprintf(stdout, "installs:         %d installed, %d failed, %d restart required\n", sum.Installed, sum.InstallsFailed, sum.RebootRequired)
		}
		fmt.Fprintf(stdout, "events reported:  %d\n", sum.EventsReported)
	}
	return 0
}

// parseNoArgs parses a subcommand that takes flags only. done is true, with
// the exit status, when the command must stop here: help was asked for,
// a flag was bad, or an argument was left over.
func parseNoArgs(fs *flag.FlagSet, args []string, stderr io.Writer) (status int, done bool) {
	pos, err := parse(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0, true
	case err != nil:
		return 2, true
	case len(pos) > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), pos[0])
		return 2, true
	}
	return 0, false
}

func replayCmd(ctx context.Context, args []string, server string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clientsim replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := replay.Config{}
	fs.StringVar(&cfg.ServerURL, "server", server, "base URL of the server under test (env WSUS_SERVER)")
	all := fs.Bool("all", false, "list every difference, not only the first per exchange")
	verbose := fs.Bool("verbose", false, "log every exchange to stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: clientsim replay DIR [flags]\n\nReplays the exchange folders (NNNNNN/) of a capture DIR against the server and compares\neach answer's structure with the recorded one. Exit status 1 if any differs.\n\n")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	cfg.Logger = logger(*verbose, stderr)

	exchanges, err := replay.Load(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "clientsim: %v\n", err)
		return 1
	}
	results, err := replay.Run(ctx, cfg, exchanges)
	if err != nil {
		// The exchanges replayed before the failure are still worth seeing.
		for _, r := range results {
			io.WriteString(stdout, r.Format(*all))
		}
		fmt.Fprintf(stderr, "clientsim: %v\n", err)
		return 1
	}
	differ, err := replay.Report(stdout, results, *all)
	if err != nil {
		fmt.Fprintf(stderr, "clientsim: %v\n", err)
		return 1
	}
	if differ > 0 {
		return 1
	}
	return 0
}

// rootsWith returns the system's certificate authorities plus those of a
// PEM file.
func rootsWith(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return roots, nil
}
