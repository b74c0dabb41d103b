package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"wsus/catalog"
	"wsus/catalog/postgres"
	"wsus/catalog/scan"
	"wsus/internal/logdedup"
	"wsus/internal/metrics"
	"wsus/internal/settings"
	"wsus/server"
	"wsus/soap/cookie"
	"wsus/storage/maintain"
	"wsus/sync/syncer"
	"wsus/sync/upstream"
)

// This file declares every setting of every wsusd command, once (package
// internal/settings): flag name and config file key, WSUS_* twin,
// default, help, validation, and the variable it fills. The flag names and
// twins are a contract with operators' scripts and units: never rename one.

// maxSyncPageSize bounds --sync-page-size. The soap layer bounds a
// SyncUpdates page's Core fragments (wusp.DefaultMaxPageBytes, 8 MiB), not
// the rest of each UpdateInfo (ID, Deployment, flags: a few hundred bytes
// [I]) nor the per-update work for updates whose Core the client has
// cached and is not sent again; the count is what bounds those. The
// smallest Core fragment of testdata/catalog/microsoft is 199 bytes (a
// category), so a page of small updates can reach the count before the
// byte bound. 10,000 keeps that part of an answer to a few MB [I], while
// larger pages would save few rounds: a first scan of 50,000 revisions
// takes 5 rounds at 10,000 against 250 at the default of 200.
const maxSyncPageSize = 10000

// maxInt is the largest int, the upper bound of unbounded integer settings.
const maxInt = int(^uint(0) >> 1)

// common holds the settings of every command that opens the stores: where
// the catalog and the content are, and how to log.
type common struct {
	cfg        server.Config
	logLevel   string
	logFormat  string
	configFile string
	// dedup is the logger's deduplicating handler, flushed by flushLog.
	dedup *logdedup.Handler
}

// declareConfig declares --config, the optional TOML file of settings.
func declareConfig(s *settings.Set, p *string) {
	s.Config(p, "config", "WSUS_CONFIG", "TOML file of settings, keyed by flag name (see deploy/wsusd.toml); flags and WSUS_* variables win over it")
}

// declare declares the settings every store-opening command shares.
func (c *common) declare(s *settings.Set) {
	declareConfig(s, &c.configFile)
	s.String(&c.cfg.DataDir, "data", "WSUS_DATA", "./data", "state directory: embedded catalog, content, keys", nonEmpty)
	s.String(&c.cfg.DatabaseURL, "database", "WSUS_DATABASE_URL", "", "PostgreSQL URL of the catalog, shared by every replica; empty means the embedded store in <data>/catalog.db", databaseURL)
	s.String(&c.logLevel, "log-level", "WSUS_LOG_LEVEL", "info", "log level", settings.OneOf("debug", "info", "warn", "error"))
	s.String(&c.logFormat, "log-format", "WSUS_LOG_FORMAT", "text", "log format", settings.OneOf("text", "json"))
	s.String(&c.cfg.S3.Bucket, "s3-bucket", "WSUS_S3_BUCKET", "", "S3 bucket holding the payloads (created if missing and allowed); empty means <data>/content", bucketName)
	s.String(&c.cfg.S3.Endpoint, "s3-endpoint", "WSUS_S3_ENDPOINT", "", "S3 service URL; empty means Amazon S3", httpURL(true, "http://127.0.0.1:7070"))
	s.String(&c.cfg.S3.Region, "s3-region", "WSUS_S3_REGION", "", "S3 region; empty means the AWS SDK's (AWS_REGION, profile), else us-east-1")
	s.String(&c.cfg.S3.Prefix, "s3-prefix", "WSUS_S3_PREFIX", "", "prefix of the payload keys in the bucket (e.g. wsus/)", s3Prefix)
	s.Bool(&c.cfg.S3.PathStyle, "s3-path-style", "WSUS_S3_PATH_STYLE", false, "address the bucket as <endpoint>/<bucket> (most S3-compatible servers need it)")
}

// validate refuses the combinations of the shared settings that cannot
// work, before any store is opened.
func (c *common) validate(s *settings.Set) error {
	if c.cfg.S3.Bucket == "" {
		for _, name := range []string{"s3-endpoint", "s3-region", "s3-prefix", "s3-path-style"} {
			if st := s.Lookup(name); st.Value() != st.Default {
				return settings.Errorf("%s is given without %s: the S3 settings need a bucket (or drop them to store payloads in <data>/content)",
					s.Label(name), s.Label("s3-bucket"))
			}
		}
	}
	return nil
}

// databaseURL checks a PostgreSQL connection string without connecting.
var databaseURL = settings.Check{
	Want: "empty or a PostgreSQL URL (postgres://user:password@host:5432/wsus) or key=value connection string",
	OK: func(v string) error {
		if v == "" {
			return nil
		}
		return postgres.CheckURL(v)
	},
}

// s3Prefix refuses what s3store refuses in a key prefix.
var s3Prefix = settings.Check{Want: `a prefix without "..", backslash or NUL`, OK: func(v string) error {
	if strings.Contains(v, "..") || strings.ContainsAny(v, "\\\x00") {
		return errors.New("bad prefix")
	}
	return nil
}}

// nonEmpty refuses an empty value.
var nonEmpty = settings.Check{Want: "a non-empty value", OK: func(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty")
	}
	return nil
}}

// bucketRE is Amazon S3's general purpose bucket naming rule: 3 to 63
// lower-case letters, digits, dots and hyphens, beginning and ending with a
// letter or digit
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// bucketName checks an S3 bucket name (empty: no bucket).
var bucketName = settings.Check{
	Want: "empty or an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit, no two dots in a row, not an IP address",
	OK: func(v string) error {
		if v == "" {
			return nil
		}
		if !bucketRE.MatchString(v) || strings.Contains(v, "..") || net.ParseIP(v) != nil {
			return errors.New("not a bucket name")
		}
		return nil
	},
}

// httpURL checks an absolute http(s) URL with a host and no query (empty
// accepted when optional).
func httpURL(optional bool, example string) settings.Check {
	want := "an absolute http:// or https:// URL without query, e.g. " + example
	if optional {
		want = "empty or " + want
	}
	return settings.Check{Want: want, OK: func(v string) error {
		if v == "" && optional {
			return nil
		}
		return checkHTTPURL(v)
	}}
}

func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("not an absolute http(s) URL")
	}
	return nil
}

// hostPort checks a listen address (empty accepted when optional).
func hostPort(optional bool) settings.Check {
	want := "host:port with a port from 0 to 65535, e.g. 0.0.0.0:8530 or [::1]:8530 (an empty host listens on every address)"
	if optional {
		want = "empty or " + want
	}
	return settings.Check{Want: want, OK: func(v string) error {
		if v == "" && optional {
			return nil
		}
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			return err
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return errors.New("bad port")
		}
		return nil
	}}
}

// minAdminToken is the shortest admin token accepted from configuration.
const minAdminToken = 16

// adminToken checks an admin token given in configuration.
var adminToken = settings.Check{
	Want: fmt.Sprintf("empty (the token in <data>/admin-token) or at least %d characters without whitespace", minAdminToken),
	OK: func(v string) error {
		if v == "" {
			return nil
		}
		return checkToken(v)
	},
}

func checkToken(v string) error {
	if len(v) < minAdminToken || strings.IndexFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }) >= 0 {
		return fmt.Errorf("a token of %d characters", len(v))
	}
	return nil
}

// cookieKeyCheck checks a cookie key: 64 hex digits.
var cookieKeyCheck = settings.Check{Want: "empty or 64 hex digits (32 bytes: openssl rand -hex 32)", OK: func(v string) error {
	if v == "" {
		return nil
	}
	_, err := cookie.ParseKey(v)
	return err
}}

// cookieKeyList checks comma-separated cookie keys.
var cookieKeyList = settings.Check{Want: "empty or comma-separated keys of 64 hex digits", OK: func(v string) error {
	_, err := parseKeyList(v, ",")
	return err
}}

// parseKeyList parses the keys of v separated by sep (blank entries skipped).
func parseKeyList(v, sep string) ([][]byte, error) {
	var keys [][]byte
	for part := range strings.SplitSeq(v, sep) {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		k, err := cookie.ParseKey(part)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// scheduleCheck checks a synchronization schedule.
var scheduleCheck = settings.Check{Want: `empty (the saved schedule), "off", "N" (N times a day, 1 to 24) or "HH:MM/N"`, OK: func(v string) error {
	_, _, err := syncer.ParseSchedule(v)
	return err
}}

// proxiesCheck checks the trusted proxies.
var proxiesCheck = settings.Check{Want: "comma-separated IP addresses or CIDR prefixes (e.g. 10.0.0.0/8,192.0.2.7)", OK: func(v string) error {
	_, err := server.ParseTrustedProxies(v)
	return err
}}

// redirectCheck checks --content-redirect.
var redirectCheck = settings.Check{Want: `empty, "presign" or an absolute http(s) URL without query`, OK: func(v string) error {
	if v == "" || v == server.ContentRedirectPresign {
		return nil
	}
	return checkHTTPURL(v)
}}

// declareSyncLease declares --sync-lease (serve and sync).
func declareSyncLease(s *settings.Set, p *time.Duration) {
	s.Duration(p, "sync-lease", "WSUS_SYNC_LEASE", syncer.DefaultLease, 1, "how long a synchronization that stopped renewing its lease (its process died) blocks the next one")
}

// declareUpstreamCA declares --upstream-ca-file (serve and sync).
func declareUpstreamCA(s *settings.Set, p *string) {
	s.String(p, "upstream-ca-file", "WSUS_UPSTREAM_CA_FILE", "", "PEM file of certificates trusted for the upstream server beside the system roots")
}

// serveSettings declares the settings of `wsusd serve` (and of `wsusd
// check`, which checks what serve would run with).
func serveSettings(command string, c *common) *settings.Set {
	s := settings.New(command)
	c.declare(s)
	cfg := &c.cfg
	s.String(&cfg.Listen, "listen", "WSUS_LISTEN", server.DefaultListen, "address to serve HTTP on", hostPort(false))
	s.String(&cfg.AdminToken, "admin-token", "WSUS_ADMIN_TOKEN", "", "bearer token of the admin API; empty means the one in <data>/admin-token, created on first start", adminToken).Secret = true
	s.String(&cfg.CookieKey, "cookie-key", "WSUS_COOKIE_KEY", "", "64 hex digits: AES-256 key sealing client cookies, shared by all replicas; empty means <data>/cookie.key, created on first start", cookieKeyCheck).Secret = true
	s.String(&cfg.ContentURL, "content-url", "WSUS_CONTENT_URL", "", "base URL of content handed to clients (e.g. http://wsus.example.com:8530); empty means the Host each client used", httpURL(true, "http://wsus.example.com:8530"))
	s.Int(&cfg.SyncPageSize, "sync-page-size", "WSUS_SYNC_PAGE_SIZE", scan.DefaultPageSize, 1, maxSyncPageSize, "most updates (ChangedUpdates and NewUpdates together) per SyncUpdates response before it is truncated (the spec says WSUS uses 200; WS2025 was seen using 30); a page also ends once its metadata passes 8 MiB")
	s.Duration(&cfg.SnapshotMaxAge, "snapshot-max-age", "WSUS_SNAPSHOT_MAX_AGE", server.DefaultSnapshotMaxAge, 0, "how long scans are served from this process's catalog snapshot before it checks the store for changes: an approval or assignment made on any replica reaches scans within it; 0 checks on every scan")
	s.String(&cfg.ContentRedirect, "content-redirect", "WSUS_CONTENT_REDIRECT", "", `send content clients elsewhere: "presign" (302 to a presigned S3 URL; S3 store only) or the base URL of an alternate download server mirroring /Content/; empty serves the bytes`, redirectCheck)
	s.String(&cfg.ContentMUURLs, "content-mu-urls", "WSUS_CONTENT_MU_URLS", "", "file or folder of MS-WSUSSS GetUpdateData responses: files not stored here are redirected to their Microsoft Update URL (MUUrl) found there")
	s.String(&cfg.AdminListen, "admin-listen", "WSUS_ADMIN_LISTEN", "", "address to serve the admin API on, alone (the client address then answers 404 under /api/v1/); empty serves it on --listen", hostPort(true))
	s.String(&cfg.AdminTokenFile, "admin-token-file", "WSUS_ADMIN_TOKEN_FILE", "", "file holding the admin API bearer token (keeps it out of the process list; white space around it is trimmed); excludes --admin-token")
	s.String(&cfg.CookieKeyFile, "cookie-key-file", "WSUS_COOKIE_KEY_FILE", "", "file holding the cookie key (64 hex digits); excludes --cookie-key")
	s.String(&cfg.CookieKeyPrevious, "cookie-key-previous", "WSUS_COOKIE_KEY_PREVIOUS", "", "earlier cookie keys (64 hex digits each, comma separated) still accepted to open client cookies, never to seal new ones: rotate the key without logging clients out", cookieKeyList).Secret = true
	s.String(&cfg.CookieKeyPreviousFile, "cookie-key-previous-file", "WSUS_COOKIE_KEY_PREVIOUS_FILE", "", "file holding the earlier cookie keys, one per line; excludes --cookie-key-previous")
	s.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", "WSUS_SHUTDOWN_TIMEOUT", server.DefaultShutdownTimeout, 0, "on SIGINT/SIGTERM, how long requests in flight may finish before their connections are closed")
	s.Int(&cfg.MaxInflight, "max-inflight", "WSUS_MAX_INFLIGHT", 0, 0, maxInt, "most SOAP requests read or answered at once (more wait briefly, then get ServerBusy); 0 means the default (64)")
	s.Int64(&cfg.MaxBufferedBytes, "max-buffered-bytes", "WSUS_MAX_BUFFERED_BYTES", 0, 0, 1<<63-1, "most bytes of SOAP request bodies held in memory at once (a body that does not fit gets ServerBusy); 0 means the default (128 MiB)")
	s.String(&cfg.SyncSchedule, "sync-schedule", "WSUS_SYNC_SCHEDULE", "", `synchronize from the upstream automatically: "off", "N" (N times a day from 00:00 UTC) or "HH:MM/N" (N a day from HH:MM UTC), saved for every replica; empty keeps the saved schedule (wsusctl sync settings)`, scheduleCheck)
	declareSyncLease(s, &cfg.SyncLease)
	declareUpstreamCA(s, &cfg.UpstreamCAFile)
	s.String(&cfg.TLSListen, "tls-listen", "WSUS_TLS_LISTEN", "", "address to serve HTTPS on besides --listen (WSUS's 8531, e.g. 0.0.0.0:8531); needs --tls-cert and --tls-key", hostPort(true))
	s.String(&cfg.TLSCert, "tls-cert", "WSUS_TLS_CERT", "", "PEM certificate (chain) of the HTTPS listener, reloaded when the file changes")
	s.String(&cfg.TLSKey, "tls-key", "WSUS_TLS_KEY", "", "PEM private key of --tls-cert, reloaded when the file changes")
	s.String(&cfg.TrustedProxies, "trusted-proxies", "WSUS_TRUSTED_PROXIES", "", "comma-separated IPs or CIDR prefixes of TLS-terminating proxies whose X-Forwarded-Proto and X-Forwarded-Host are believed", proxiesCheck)
	s.Duration(&cfg.RulesInterval, "rules-interval", "WSUS_RULES_INTERVAL", server.DefaultRulesInterval, 0, "how often the approval rules, rings and automatic declines run (also after each synchronization and on demand); 0 turns the periodic runs off")
	s.String(&cfg.AccessLog, "access-log", "WSUS_ACCESS_LOG", server.AccessLogOn, "access log: one line per request, successful content ranges rate limited (on), every line (all), none (off)",
		settings.OneOf(server.AccessLogOn, server.AccessLogAll, server.AccessLogOff))
	s.Duration(&cfg.MetricsStatsMaxAge, "metrics-stats-max-age", "WSUS_METRICS_STATS_MAX_AGE", metrics.DefaultStatsMaxAge, time.Second, "how long one read of the catalog's statistics (catalog size, computers by last contact, synchronization runs) serves scrapes of /metrics; one read costs about 0.1-0.2 s at 100,000 computers")
	return s
}

// checkServe refuses the combinations of serve's settings that cannot
// work, naming them, before anything is opened or created. It reads the
// admin token file (reading changes nothing).
func checkServe(s *settings.Set, c *common) error {
	if err := c.validate(s); err != nil {
		return err
	}
	cfg := c.cfg
	for _, p := range []struct{ value, file string }{
		{"admin-token", "admin-token-file"},
		{"cookie-key", "cookie-key-file"},
		{"cookie-key-previous", "cookie-key-previous-file"},
	} {
		// An empty value (WSUS_ADMIN_TOKEN= clearing the variable) is none.
		if s.Lookup(p.value).Value() != "" && s.Lookup(p.file).Value() != "" {
			return settings.Errorf("%s and %s are both given; give one", s.Label(p.value), s.Label(p.file))
		}
	}
	if cfg.AdminTokenFile != "" {
		raw, err := os.ReadFile(cfg.AdminTokenFile)
		if err != nil {
			return settings.Errorf("%s: %v", s.Label("admin-token-file"), err)
		}
		token := strings.TrimSpace(string(raw))
		if token == "" {
			return settings.Errorf("%s: %s is empty", s.Label("admin-token-file"), cfg.AdminTokenFile)
		}
		if err := checkToken(token); err != nil {
			return settings.Errorf("%s: %s holds %v: want %s", s.Label("admin-token-file"), cfg.AdminTokenFile, err, adminToken.Want)
		}
	}
	if cfg.ContentRedirect == server.ContentRedirectPresign && cfg.S3.Bucket == "" {
		return settings.Errorf("%s %q needs the S3 content store: give %s", s.Label("content-redirect"), cfg.ContentRedirect, s.Label("s3-bucket"))
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return settings.Errorf("%s and %s go together; give both", s.Label("tls-cert"), s.Label("tls-key"))
	}
	if cfg.TLSListen != "" && cfg.TLSCert == "" {
		return settings.Errorf("%s needs %s and %s (wsusd tls init makes a pair)", s.Label("tls-listen"), s.Label("tls-cert"), s.Label("tls-key"))
	}
	return nil
}

// checkServeFiles reads the files serve's settings name and refuses the
// ones serve would fail on only after opening (and migrating) the stores:
// the TLS certificate and key, the cookie key files, the upstream CA file,
// the MUUrl responses. Reading changes nothing. wsusd check reports the
// same as lines instead.
func checkServeFiles(s *settings.Set, c *common) error {
	cfg := c.cfg
	if cfg.TLSCert != "" {
		if _, err := loadTLS(cfg.TLSCert, cfg.TLSKey); err != nil {
			return settings.Errorf("%s, %s: %v", s.Label("tls-cert"), s.Label("tls-key"), err)
		}
	}
	if cfg.CookieKeyFile != "" {
		if err := parseKeyFile(cfg.CookieKeyFile); err != nil {
			return settings.Errorf("%s: %v", s.Label("cookie-key-file"), err)
		}
	}
	if cfg.CookieKeyPreviousFile != "" {
		if _, err := previousKeyFile(cfg.CookieKeyPreviousFile); err != nil {
			return settings.Errorf("%s: %v", s.Label("cookie-key-previous-file"), err)
		}
	}
	if cfg.UpstreamCAFile != "" {
		if _, err := loadCA(cfg.UpstreamCAFile); err != nil {
			return settings.Errorf("%s: %v", s.Label("upstream-ca-file"), err)
		}
	}
	if cfg.ContentMUURLs != "" {
		if _, err := os.Stat(cfg.ContentMUURLs); err != nil {
			return settings.Errorf("%s: %v", s.Label("content-mu-urls"), err)
		}
	}
	return nil
}

// importSettings declares the settings of `wsusd import`.
func importSettings(c *common, approve *string) *settings.Set {
	s := settings.New("wsusd import")
	c.declare(s)
	s.String(approve, "approve", "WSUS_IMPORT_APPROVE", "", "approve every imported top-level software update for Install in this target group")
	return s
}

// syncOptions are the settings of `wsusd sync` beside the shared ones.
type syncOptions struct {
	upstreamURL, caFile, content string
	products, classes, langs     []string
	productsSet, classesSet      bool
	langsSet                     bool
	lease                        time.Duration
	replica                      bool
}

// syncSettings declares the settings of `wsusd sync`.
func syncSettings(c *common, o *syncOptions) *settings.Set {
	s := settings.New("wsusd sync")
	c.declare(s)
	s.String(&o.upstreamURL, "upstream", "WSUS_UPSTREAM_URL", "", "upstream server to synchronize from (https://sws.update.microsoft.com, http://wsus:8530); empty means the saved one", settings.Check{
		Want: "empty or an http(s) URL", OK: func(v string) error {
			if v == "" {
				return nil
			}
			_, err := upstream.New(upstream.Config{URL: v, AccountName: "check"})
			return err
		}})
	declareUpstreamCA(s, &o.caFile)
	s.String(&o.content, "content", "WSUS_SYNC_CONTENT", "", "when payload files are stored: approved (after each sync, the files of approved updates), on-demand (when a client first asks), never (clients download from Microsoft Update); empty means the saved choice (approved at first)",
		settings.OneOf("", string(catalog.ContentApproved), string(catalog.ContentOnDemand), string(catalog.ContentNever)))
	s.Bool(&o.replica, "replica", "WSUS_SYNC_REPLICA", false, "replica mode: also mirror the upstream's target groups, approvals and declines (saved); --replica=false returns to autonomous mode")
	s.List(&o.products, &o.productsSet, "product", "WSUS_SYNC_PRODUCTS", "product to synchronize: GUID, exact title, or all; repeat for several (saved for later runs)")
	s.List(&o.classes, &o.classesSet, "classification", "WSUS_SYNC_CLASSIFICATIONS", "classification to synchronize: GUID, exact title, or all; repeat for several (saved)")
	s.List(&o.langs, &o.langsSet, "language", "WSUS_SYNC_LANGUAGES", "language of the updates to synchronize (en, de, ...), or all; repeat for several (saved)")
	declareSyncLease(s, &o.lease)
	return s
}

// verifySettings declares the settings of `wsusd content verify`.
func verifySettings(c *common, o *maintain.VerifyOptions) *settings.Set {
	s := settings.New("wsusd content verify")
	c.declare(s)
	s.Bool(&o.DeleteCorrupt, "delete-corrupt", "WSUS_CONTENT_DELETE_CORRUPT", false, "delete the corrupt payloads, so that the next import stores them again")
	s.Int(&o.Parallel, "parallel", "WSUS_CONTENT_VERIFY_PARALLEL", 4, 1, 256, "payloads read at once")
	return s
}

// gcSettings declares the settings of `wsusd content gc`.
func gcSettings(c *common, o *maintain.GCOptions) *settings.Set {
	s := settings.New("wsusd content gc")
	c.declare(s)
	s.Bool(&o.DryRun, "dry-run", "WSUS_CONTENT_GC_DRY_RUN", false, "only list what would be deleted")
	s.Duration(&o.MinAge, "min-age", "WSUS_CONTENT_GC_MIN_AGE", time.Hour, 0, "spare payloads (and interrupted writes) younger than this")
	return s
}

// tlsOptions are the settings of `wsusd tls init`.
type tlsOptions struct{ configFile, out, hosts string }

// tlsSettings declares the settings of `wsusd tls init`.
func tlsSettings(o *tlsOptions) *settings.Set {
	s := settings.New("wsusd tls init")
	declareConfig(s, &o.configFile)
	s.String(&o.out, "out", "WSUS_TLS_DIR", "./data/tls", "folder of the CA and server certificate (an existing CA there is reused)", nonEmpty)
	s.String(&o.hosts, "host", "WSUS_TLS_HOSTS", "", "comma-separated DNS names and IP addresses clients use to reach the server (the host of the intranet update service URL); the first is the subject")
	return s
}

// allSettings declares every command's settings over throwaway variables:
// the config file's known keys and the README table come from it.
func allSettings() []*settings.Set {
	return []*settings.Set{
		serveSettings("wsusd serve", &common{}),
		serveSettings("wsusd check", &common{}),
		importSettings(&common{}, new(string)),
		syncSettings(&common{}, &syncOptions{}),
		verifySettings(&common{}, &maintain.VerifyOptions{}),
		gcSettings(&common{}, &maintain.GCOptions{}),
		tlsSettings(&tlsOptions{}),
	}
}

// knownKeys returns the config file keys some wsusd command declares.
func knownKeys() map[string]bool {
	keys := map[string]bool{}
	for _, s := range allSettings() {
		for _, st := range s.Settings() {
			keys[st.Name] = true
		}
	}
	return keys
}

// parseSettings parses one command's settings: the flags in args, the
// environment, the config file. It returns the positional arguments.
func parseSettings(s *settings.Set, args []string, stderr io.Writer, usage string) ([]string, error) {
	known := knownKeys()
	s.Known = func(key string) bool { return known[key] }
	rest, err := s.Parse(args, nil, stderr, usage)
	if errors.Is(err, settings.ErrUsage) {
		return nil, errUsage
	}
	return rest, err
}
