// Command wsusd is the wsus server: `wsusd serve` answers Windows Update
// clients and admins, `wsusd import` loads update metadata and payloads,
// `wsusd sync` synchronizes the catalog from an upstream server,
// `wsusd content verify|gc` checks and cleans the payload store, `wsusd
// check` checks a configuration and reaches its stores without serving,
// `wsusd version` tells which build runs.
//
// Every setting is declared once (config.go, package internal/settings):
// each flag has a WSUS_* environment twin and a key of the same name in the
// optional TOML config file (--config); a flag given on the command line
// wins over the environment, which wins over the file. A bad setting exits
// with status 2 before anything is opened or created.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"wsus/internal/logdedup"
	"wsus/internal/settings"
	"wsus/server"
	"wsus/sync/importer"
)

const usage = `usage: wsusd <command> [flags]

commands:
  serve    serve Windows Update clients, content and the admin API
  import   load update metadata (upd:Update XML) and payload files into the catalog
  sync     synchronize the catalog from an upstream server once (Microsoft Update, a WSUS, another wsusd)
  tls init make a private CA and a server certificate for --tls-cert/--tls-key (labs, small sites)
  content  verify: re-check stored payloads against their metadata
           gc: delete payloads no non-declined update references
  check    check the configuration serve would run with and reach its stores, changing nothing
  version  print the version, commit and Go version (--json: as JSON)

Run 'wsusd <command> -h' for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one wsusd command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "import":
		err = importCmd(ctx, args[1:], stdout, stderr)
	case "sync":
		err = syncCmd(ctx, args[1:], stdout, stderr)
	case "tls":
		err = tlsCmd(args[1:], stdout, stderr)
	case "check":
		err = checkCmd(ctx, args[1:], stdout, stderr)
	case "version":
		err = versionCmd(args[1:], stdout, stderr)
	case "content":
		err = contentCmd(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wsusd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	var fe flagError
	var se *settings.Error
	if errors.As(err, &fe) || errors.As(err, &se) {
		fmt.Fprintf(stderr, "wsusd: %v\n", err)
		return 2
	}
	if errors.Is(err, errChecksFailed) {
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "wsusd: %v\n", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// flagError is a wrong combination or value of flags that the flag package
// cannot see: printed, exit status 2.
type flagError string

func (e flagError) Error() string { return string(e) }

// open builds the logger and opens the stores the configuration names.
func (c *common) open(ctx context.Context, logOut io.Writer) (*slog.Logger, server.Stores, error) {
	logger, err := c.logger(logOut)
	if err != nil {
		return nil, server.Stores{}, err
	}
	c.cfg.S3.Logger = logger
	stores, err := server.OpenStores(ctx, c.cfg)
	return logger, stores, err
}

// logKeyAttrs are the attributes that make two warnings distinct for the
// log's deduplication, beside level and message: the error, the source of
// a failed admin authentication, the dependency /readyz found down.
var logKeyAttrs = []string{"err", "source", "dependency"}

// logger builds the command's logger: identical warnings and errors (a
// store outage makes every request log the same one) are written once a
// minute with their count (internal/logdedup). Call flushLog at the end.
func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.logLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(c.logFormat) {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want text or json", c.logFormat)
	}
	c.dedup = logdedup.New(h, logdedup.Options{KeyAttrs: logKeyAttrs})
	return slog.New(c.dedup), nil
}

// flushLog writes the counts of repeated log records not written yet.
func (c *common) flushLog() {
	if c.dedup != nil {
		_ = c.dedup.Flush(context.Background())
	}
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	var c common
	s := serveSettings("wsusd serve", &c)
	rest, err := parseSettings(s, args, stderr, "usage: wsusd serve [flags]")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return flagError(fmt.Sprintf("serve takes no arguments, got %q", rest))
	}
	if err := checkServe(s, &c); err != nil {
		return err
	}
	if err := checkServeFiles(s, &c); err != nil {
		return err
	}
	if c.cfg.RulesInterval == 0 {
		c.cfg.RulesInterval = -1 // 0 on the command line: no periodic runs
	}
	logger, stores, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.flushLog()
	defer stores.Close()
	srv, err := server.New(ctx, c.cfg, stores, logger)
	if err != nil {
		return err
	}
	var lns server.Listeners
	if lns.Client, err = net.Listen("tcp", c.cfg.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	attrs := []any{"addr", lns.Client.Addr().String()}
	if c.cfg.AdminListen != "" {
		if lns.Admin, err = net.Listen("tcp", c.cfg.AdminListen); err != nil {
			lns.Client.Close()
			return fmt.Errorf("admin listen: %w", err)
		}
		attrs = append(attrs, "admin_addr", lns.Admin.Addr().String())
	}
	if c.cfg.TLSListen != "" {
		if lns.TLS, err = net.Listen("tcp", c.cfg.TLSListen); err != nil {
			lns.Client.Close()
			if lns.Admin != nil {
				lns.Admin.Close()
			}
			return fmt.Errorf("TLS listen: %w", err)
		}
		attrs = append(attrs, "tls_addr", lns.TLS.Addr().String())
	}
	if c.configFile != "" {
		attrs = append(attrs, "config", c.configFile)
	}
	logger.Info("wsusd serving", append(attrs, "data", c.cfg.DataDir, "content", fmt.Sprint(stores.Blobs))...)
	if srv.AdminTokenFile != "" {
		logger.Info("admin API token", "file", srv.AdminTokenFile)
	}
	err = srv.ServeListeners(ctx, lns)
	if err == nil {
		logger.Info("wsusd stopped")
	}
	return err
}

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var approve string
	s := importSettings(&c, &approve)
	paths, err := parseSettings(s, args, stderr, "usage: wsusd import [flags] PATH...\n\nPATH is an upd:Update XML file, a payload file, or a folder of them (walked recursively).")
	if err != nil {
		return err
	}
	if err := c.validate(s); err != nil {
		return err
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "usage: wsusd import [flags] PATH...")
		return errUsage
	}
	logger, stores, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.flushLog()
	defer stores.Close()
	res, err := importer.Import(ctx, stores.Catalog, stores.Blobs, paths, importer.Options{ApproveGroup: approve, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported: %d revisions added, %d unchanged; %d payloads stored, %d already present; %d files skipped; %d updates approved\n",
		res.Added, res.Unchanged, res.Payloads, res.PayloadsPresent, res.Skipped, res.Approved)
	return nil
}
