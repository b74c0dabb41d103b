// Command wsusd is the wsus server: `wsusd serve` answers Windows Update
// clients and admins, `wsusd import` loads update metadata and payloads,
// `wsusd sync` synchronizes the catalog from an upstream server,
// `wsusd content verify|gc` checks and cleans the payload store.
// Every flag has a WSUS_* environment twin; a flag given on the command line
// wins over the environment.
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
	"strconv"
	"strings"
	"syscall"

	"wsus/catalog/scan"
	"wsus/internal/logdedup"
	"wsus/server"
	"wsus/sync/importer"
	"wsus/sync/syncer"
)

const usage = `usage: wsusd <command> [flags]

commands:
  serve    serve Windows Update clients, content and the admin API
  import   load update metadata (upd:Update XML) and payload files into the catalog
  sync     synchronize the catalog from an upstream server once (Microsoft Update, a WSUS, another wsusd)
  tls init make a private CA and a server certificate for --tls-cert/--tls-key (labs, small sites)
  content  verify: re-check stored payloads against their metadata
           gc: delete payloads no non-declined update references

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
	if errors.As(err, &fe) {
		fmt.Fprintf(stderr, "wsusd: %v\n", fe)
		return 2
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

// common holds the flags every command shares: where the catalog and the
// content are.
type common struct {
	cfg       server.Config
	logLevel  string
	logFormat string
	// dedup is the logger's deduplicating handler, flushed by flushLog.
	dedup *logdedup.Handler
}

// bind registers the shared flags; env lists flag name → environment twin.
func (c *common) bind(fs *flag.FlagSet, env map[string]string) {
	fs.StringVar(&c.cfg.DataDir, "data", "./data", "state directory: embedded catalog, content, keys")
	fs.StringVar(&c.cfg.DatabaseURL, "database", "", "PostgreSQL URL of the catalog; empty means the embedded store")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.cfg.S3.Bucket, "s3-bucket", "", "S3 bucket holding the payloads (created if missing and allowed); empty means <data>/content")
	fs.StringVar(&c.cfg.S3.Endpoint, "s3-endpoint", "", "S3 service URL (e.g. http://127.0.0.1:7070); empty means Amazon S3")
	fs.StringVar(&c.cfg.S3.Region, "s3-region", "", "S3 region; empty means the AWS SDK's (AWS_REGION, profile), else us-east-1")
	fs.StringVar(&c.cfg.S3.Prefix, "s3-prefix", "", "prefix of the payload keys in the bucket (e.g. wsus/)")
	fs.BoolVar(&c.cfg.S3.PathStyle, "s3-path-style", false, "address the bucket as <endpoint>/<bucket> (most S3-compatible servers need it)")
	env["data"] = "WSUS_DATA"
	env["database"] = "WSUS_DATABASE_URL"
	env["log-level"] = "WSUS_LOG_LEVEL"
	env["log-format"] = "WSUS_LOG_FORMAT"
	env["s3-bucket"] = "WSUS_S3_BUCKET"
	env["s3-endpoint"] = "WSUS_S3_ENDPOINT"
	env["s3-region"] = "WSUS_S3_REGION"
	env["s3-prefix"] = "WSUS_S3_PREFIX"
	env["s3-path-style"] = "WSUS_S3_PATH_STYLE"
}

// parse parses args, then fills every flag not given on the command line
// from its environment twin.
func parse(fs *flag.FlagSet, args []string, env map[string]string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, variable := range env {
		v, ok := os.LookupEnv(variable)
		if !ok || given[name] {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%s=%q: %w", variable, v, err)
		}
	}
	return nil
}

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
	fs := flag.NewFlagSet("wsusd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	env := map[string]string{}
	c.bind(fs, env)
	fs.StringVar(&c.cfg.Listen, "listen", server.DefaultListen, "address to serve HTTP on")
	fs.StringVar(&c.cfg.AdminToken, "admin-token", "", "bearer token of the admin API; empty means the one in <data>/admin-token, created on first start")
	fs.StringVar(&c.cfg.CookieKey, "cookie-key", "", "64 hex digits: AES-256 key sealing client cookies, shared by all replicas; empty means <data>/cookie.key, created on first start")
	fs.StringVar(&c.cfg.ContentURL, "content-url", "", "base URL of content handed to clients (e.g. http://wsus.example.com:8530); empty means the Host each client used")
	fs.IntVar(&c.cfg.SyncPageSize, "sync-page-size", scan.DefaultPageSize, "most updates (ChangedUpdates and NewUpdates together) per SyncUpdates response before it is truncated (the spec says WSUS uses 200; WS2025 was seen using 30); a page also ends once its metadata passes 8 MiB")
	env["listen"] = "WSUS_LISTEN"
	env["admin-token"] = "WSUS_ADMIN_TOKEN"
	env["cookie-key"] = "WSUS_COOKIE_KEY"
	env["content-url"] = "WSUS_CONTENT_URL"
	fs.StringVar(&c.cfg.ContentRedirect, "content-redirect", "", `send content clients elsewhere: "presign" (302 to a presigned S3 URL; S3 store only) or the base URL of an alternate download server mirroring /Content/; empty serves the bytes`)
	fs.StringVar(&c.cfg.ContentMUURLs, "content-mu-urls", "", "file or folder of MS-WSUSSS GetUpdateData responses: files not stored here are redirected to their Microsoft Update URL (MUUrl) found there")
	env["sync-page-size"] = "WSUS_SYNC_PAGE_SIZE"
	fs.DurationVar(&c.cfg.SnapshotMaxAge, "snapshot-max-age", server.DefaultSnapshotMaxAge, "how long scans are served from this process's catalog snapshot before it checks the store for changes: an approval or assignment made on any replica reaches scans within it; 0 checks on every scan")
	env["snapshot-max-age"] = "WSUS_SNAPSHOT_MAX_AGE"
	env["content-redirect"] = "WSUS_CONTENT_REDIRECT"
	env["content-mu-urls"] = "WSUS_CONTENT_MU_URLS"
	fs.StringVar(&c.cfg.AdminListen, "admin-listen", "", "address to serve the admin API on, alone (the client address then answers 404 under /api/v1/); empty serves it on --listen")
	fs.StringVar(&c.cfg.AdminTokenFile, "admin-token-file", "", "file holding the admin API bearer token (keeps it out of the process list); excludes --admin-token")
	fs.StringVar(&c.cfg.CookieKeyFile, "cookie-key-file", "", "file holding the cookie key (64 hex digits); excludes --cookie-key")
	fs.DurationVar(&c.cfg.ShutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "on SIGINT/SIGTERM, how long requests in flight may finish before their connections are closed")
	fs.IntVar(&c.cfg.MaxInflight, "max-inflight", 0, "most SOAP requests read or answered at once (more wait briefly, then get ServerBusy); 0 means the default")
	fs.Int64Var(&c.cfg.MaxBufferedBytes, "max-buffered-bytes", 0, "most bytes of SOAP request bodies held in memory at once (a body that does not fit gets ServerBusy); 0 means the default")
	env["admin-listen"] = "WSUS_ADMIN_LISTEN"
	env["admin-token-file"] = "WSUS_ADMIN_TOKEN_FILE"
	env["cookie-key-file"] = "WSUS_COOKIE_KEY_FILE"
	env["shutdown-timeout"] = "WSUS_SHUTDOWN_TIMEOUT"
	env["max-inflight"] = "WSUS_MAX_INFLIGHT"
	env["max-buffered-bytes"] = "WSUS_MAX_BUFFERED_BYTES"
	fs.StringVar(&c.cfg.SyncSchedule, "sync-schedule", "", `synchronize from the upstream automatically: "off", "N" (N times a day from 00:00 UTC) or "HH:MM/N" (N a day from HH:MM UTC), saved for every replica; empty keeps the saved schedule (wsusctl sync settings)`)
	fs.DurationVar(&c.cfg.SyncLease, "sync-lease", syncer.DefaultLease, "how long a synchronization that stopped renewing its lease (its process died) blocks the next one")
	fs.StringVar(&c.cfg.UpstreamCAFile, "upstream-ca-file", "", "PEM file of certificates trusted for the upstream server beside the system roots")
	fs.StringVar(&c.cfg.TLSListen, "tls-listen", "", "address to serve HTTPS on besides --listen (WSUS's 8531, e.g. 0.0.0.0:8531); needs --tls-cert and --tls-key")
	fs.StringVar(&c.cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) of the HTTPS listener, reloaded when the file changes")
	fs.StringVar(&c.cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert, reloaded when the file changes")
	fs.StringVar(&c.cfg.TrustedProxies, "trusted-proxies", "", "comma-separated IPs or CIDR prefixes of TLS-terminating proxies whose X-Forwarded-Proto and X-Forwarded-Host are believed")
	env["tls-listen"] = "WSUS_TLS_LISTEN"
	env["tls-cert"] = "WSUS_TLS_CERT"
	env["tls-key"] = "WSUS_TLS_KEY"
	env["trusted-proxies"] = "WSUS_TRUSTED_PROXIES"
	env["sync-schedule"] = "WSUS_SYNC_SCHEDULE"
	env["sync-lease"] = "WSUS_SYNC_LEASE"
	env["upstream-ca-file"] = "WSUS_UPSTREAM_CA_FILE"
	fs.DurationVar(&c.cfg.RulesInterval, "rules-interval", server.DefaultRulesInterval, "how often the approval rules, rings and automatic declines run (also after each synchronization and on demand); 0 turns the periodic runs off")
	env["rules-interval"] = "WSUS_RULES_INTERVAL"
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wsusd serve [flags]")
		printFlags(fs, env)
	}
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if err := checkServeFlags(c.cfg, env); err != nil {
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

// checkServeFlags refuses the combinations and values of serve's flags
// (or their environment twins) that cannot work, naming the flags.
func checkServeFlags(cfg server.Config, env map[string]string) error {
	name := func(flag string) string { return "--" + flag + " (" + env[flag] + ")" }
	for _, p := range []struct{ flag, fileFlag, value, file string }{
		{"admin-token", "admin-token-file", cfg.AdminToken, cfg.AdminTokenFile},
		{"cookie-key", "cookie-key-file", cfg.CookieKey, cfg.CookieKeyFile},
	} {
		if p.value != "" && p.file != "" {
			return flagError(fmt.Sprintf("%s and %s are both given; give one", name(p.flag), name(p.fileFlag)))
		}
	}
	for _, n := range []struct {
		flag  string
		value int64
	}{
		{"max-inflight", int64(cfg.MaxInflight)},
		{"max-buffered-bytes", cfg.MaxBufferedBytes},
		{"shutdown-timeout", int64(cfg.ShutdownTimeout)},
	} {
		if n.value < 0 {
			return flagError(fmt.Sprintf("%s must not be negative", name(n.flag)))
		}
	}
	if cfg.SyncLease <= 0 {
		return flagError(fmt.Sprintf("%s must be positive", name("sync-lease")))
	}
	if cfg.RulesInterval < 0 {
		return flagError(fmt.Sprintf("%s must not be negative", name("rules-interval")))
	}
	if _, _, err := syncer.ParseSchedule(cfg.SyncSchedule); err != nil {
		return flagError(fmt.Sprintf("%s: %v", name("sync-schedule"), err))
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return flagError(fmt.Sprintf("%s and %s go together; give both", name("tls-cert"), name("tls-key")))
	}
	if cfg.TLSListen != "" && cfg.TLSCert == "" {
		return flagError(fmt.Sprintf("%s needs %s and %s (wsusd tls init makes a pair)", name("tls-listen"), name("tls-cert"), name("tls-key")))
	}
	if _, err := server.ParseTrustedProxies(cfg.TrustedProxies); err != nil {
		return flagError(fmt.Sprintf("%s: %v", name("trusted-proxies"), err))
	}
	return nil
}

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wsusd import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	env := map[string]string{}
	c.bind(fs, env)
	var approve string
	fs.StringVar(&approve, "approve", "", "approve every imported top-level software update for Install in this target group")
	env["approve"] = "WSUS_IMPORT_APPROVE"
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wsusd import [flags] PATH...\n\nPATH is an upd:Update XML file, a payload file, or a folder of them (walked recursively).")
		printFlags(fs, env)
	}
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	logger, stores, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.flushLog()
	defer stores.Close()
	res, err := importer.Import(ctx, stores.Catalog, stores.Blobs, fs.Args(), importer.Options{ApproveGroup: approve, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported: %d revisions added, %d unchanged; %d payloads stored, %d already present; %d files skipped; %d updates approved\n",
		res.Added, res.Unchanged, res.Payloads, res.PayloadsPresent, res.Skipped, res.Approved)
	return nil
}

// printFlags prints the flag defaults with their environment twins.
func printFlags(fs *flag.FlagSet, env map[string]string) {
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = " (default " + strconv.Quote(f.DefValue) + ")"
		}
		fmt.Fprintf(fs.Output(), "  --%s  [%s]\n      %s%s\n", f.Name, env[f.Name], f.Usage, def)
	})
}
