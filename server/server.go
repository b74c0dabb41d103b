// Package server assembles a wsus server from its configuration: it opens
// the catalog store (embedded or PostgreSQL) and the blob store (filesystem
// or S3), builds the client-facing SOAP services, content serving and the
// admin REST API, routes them on the paths WSUS uses, and serves them until
// its context ends.
//
// Operations: /healthz answers 200 while the process serves (liveness);
// /readyz answers 200 only while both stores answer (readiness), else 503
// naming the one that does not. Both are served on every listener. The
// admin API is served on the client listener, or only on a listener of its
// own when Config.AdminListen is set. Timeouts suit each path: no global
// read or write timeout (downloads last as long as they move); content
// writes each get a deadline (storage/content), the SOAP services bound
// their bodies themselves (soap), and every other path (admin API, health,
// 404) gets a read deadline of 30 s and a write deadline of 60 s.
//
// Every answer of every listener carries X-Request-Id: the client's own
// when sane, else a fresh one; every line logged with the request's context
// carries it as request_id (internal/requestid). SOAP bodies do not change.
//
// Every request answered gives one access-log line (Config.AccessLog;
// accesslog.go) and one reqinfo.Record to the metrics (observe.go); a
// failure the operator must act on (a store unreachable, credentials
// refused, a disk full) gives an ERROR line saying what to do (opslog.go).
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/postgres"
	"wsus/catalog/scan"
	"wsus/catalog/sqlite"
	"wsus/console"
	"wsus/internal/reqinfo"
	"wsus/internal/requestid"
	"wsus/internal/secretfile"
	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/soap/serversync"
	"wsus/soap/wusp"
	"wsus/storage"
	"wsus/storage/content"
	"wsus/storage/s3store"
	"wsus/sync/syncer"
)

// Config is the server configuration; cmd/wsusd fills it from flags and
// WSUS_* environment variables.
type Config struct {
	// Listen is the address to serve on (default 127.0.0.1:8530).
	Listen string
	// DataDir holds the embedded catalog, the filesystem blob store, the
	// cookie key and the generated admin token.
	DataDir string
	// DatabaseURL selects the PostgreSQL catalog shared by every replica;
	// empty means the embedded store in DataDir.
	DatabaseURL string
	// AdminToken is the bearer token of the admin API; empty means the one
	// stored in DataDir/admin-token (created on first start).
	AdminToken string
	// CookieKey is the hex AES-256 key cookies are sealed with; replicas
	// must share it. Empty means the one in DataDir/cookie.key (created on
	// first start).
	CookieKey string
	// ContentURL is the base of content URLs handed to clients; empty means
	// the scheme and Host of each client request.
	ContentURL string
	// SyncPageSize is the SyncUpdates page size; zero means
	// scan.DefaultPageSize.
	SyncPageSize int
	// SnapshotMaxAge is how long scans are served from this process's
	// catalog snapshot before the store's change sequence is read again: a
	// change made on any replica reaches scans within it. Zero reads it on
	// every scan.
	SnapshotMaxAge time.Duration
	// S3 selects the S3 blob store for payloads when S3.Bucket is set
	// (every replica then serves the same content); otherwise payloads live
	// in DataDir/content.
	S3 s3store.Config
	// ContentRedirect sends content clients elsewhere instead of serving
	// the bytes: "" serves them; "presign" redirects to a presigned S3 URL
	// (S3 store only); an http(s) URL redirects to that alternate download
	// server, which must mirror the /Content/ tree.
	ContentRedirect string
	// ContentMUURLs names a file or folder of MS-WSUSSS GetUpdateData
	// responses; a content request for a file not stored here is redirected
	// to the file's Microsoft Update URL (MUUrl) found there. Empty: 404.
	ContentMUURLs string
	// AdminListen is the address of the admin API's own listener; when
	// set, the admin API is served only there (ServeListeners needs that
	// listener) and the client listener answers 404 under /api/v1/. Empty
	// serves it on the client listener.
	AdminListen string
	// AdminTokenFile names a file holding the admin token (trimmed; an
	// empty file is refused), as an alternative to AdminToken that keeps
	// the token out of the process list. At most one of the two is set.
	AdminTokenFile string
	// CookieKeyFile names a file holding the cookie key (64 hex digits), as
	// an alternative to CookieKey. At most one of the two is set.
	CookieKeyFile string
	// ShutdownTimeout is how long requests in flight may finish once the
	// context ends; then the connections still open are closed. Zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// MaxInflight bounds the SOAP requests being read or answered at once;
	// zero means the soap package's default (see wusp.Config).
	MaxInflight int
	// MaxBufferedBytes bounds the SOAP request bodies held in memory at
	// once; zero means the soap package's default (see wusp.Config).
	MaxBufferedBytes int64
	// SyncSchedule, when set, is saved as the synchronization schedule at
	// start (syncer.ParseSchedule: "off", "N", "HH:MM/N"); empty keeps the
	// one in the store (set through the admin API).
	SyncSchedule string
	// SyncLease is how long a synchronization whose process died blocks
	// the next; zero means syncer.DefaultLease.
	SyncLease time.Duration
	// RulesInterval is how often the approval rules, rings and automatic
	// declines run while serving (they also run after each successful
	// synchronization and on demand); zero means DefaultRulesInterval,
	// negative never periodically.
	RulesInterval time.Duration
	// UpstreamCAFile is a PEM file of certificates trusted for the upstream
	// server beside the system roots.
	UpstreamCAFile string
	// TLSListen is the HTTPS address (WSUS's 8531) `wsusd serve` opens
	// besides Listen; TLSCert and TLSKey are its PEM certificate (chain)
	// and key, reloaded when the files change. Empty TLSListen serves no
	// HTTPS.
	TLSListen, TLSCert, TLSKey string
	// TrustedProxies are the addresses (IPs, CIDR prefixes, comma
	// separated) whose X-Forwarded-Proto and X-Forwarded-Host are believed:
	// TLS-terminating proxies in front of the server.
	TrustedProxies string
	// CookieKeyPrevious lists earlier cookie keys (64 hex digits each,
	// comma separated) that still open cookies but never seal new ones, so
	// that the cookie key can be rotated without sending every client
	// through authentication again. CookieKeyPreviousFile names a file
	// holding them (one per line) instead; at most one of the two is set.
	CookieKeyPrevious, CookieKeyPreviousFile string
	// AccessLog selects the access log: "" or AccessLogOn writes one line
	// per request, successful content requests rate limited; AccessLogAll
	// writes every line; AccessLogOff none.
	AccessLog string
	// MetricsStatsMaxAge is how long one read of the catalog's statistics
	// (catalog size, computers by last contact, sync runs) serves scrapes
	// of /metrics; zero means metrics.DefaultStatsMaxAge.
	MetricsStatsMaxAge time.Duration
}

// The values of Config.AccessLog.
const (
	AccessLogOn  = "on"
	AccessLogAll = "all"
	AccessLogOff = "off"
)

// DefaultSnapshotMaxAge is the snapshot age `wsusd serve` allows by
// default: a steady-state scan then makes no store call, and one check a
// second per replica is all the store sees of idle clients.
const DefaultSnapshotMaxAge = time.Second

// DefaultShutdownTimeout is the default Config.ShutdownTimeout.
const DefaultShutdownTimeout = 10 * time.Second

// validate checks what can be checked before any side effect.
func (cfg Config) validate() error {
	if cfg.AdminToken != "" && cfg.AdminTokenFile != "" {
		return errors.New("server: an admin token and an admin token file are both configured; give one")
	}
	if cfg.CookieKey != "" && cfg.CookieKeyFile != "" {
		return errors.New("server: a cookie key and a cookie key file are both configured; give one")
	}
	if err := validateCookieKeys(cfg); err != nil {
		return err
	}
	if cfg.MaxInflight < 0 || cfg.MaxBufferedBytes < 0 || cfg.ShutdownTimeout < 0 || cfg.SyncLease < 0 {
		return fmt.Errorf("server: negative MaxInflight (%d), MaxBufferedBytes (%d), ShutdownTimeout (%v) or SyncLease (%v)",
			cfg.MaxInflight, cfg.MaxBufferedBytes, cfg.ShutdownTimeout, cfg.SyncLease)
	}
	if _, _, err := syncer.ParseSchedule(cfg.SyncSchedule); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("server: a TLS certificate needs its key and a key its certificate; give both")
	}
	if cfg.TLSListen != "" && cfg.TLSCert == "" {
		return errNoTLSCert
	}
	if _, err := ParseTrustedProxies(cfg.TrustedProxies); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return cfg.validateContent()
}

// ContentRedirectPresign is the ContentRedirect value selecting presigned
// S3 URLs.
const ContentRedirectPresign = "presign"

// presignTTL is how long a presigned content URL stays valid: each request
// to /Content/ gets a fresh one, so it only needs to outlive one transfer's
// start.
const presignTTL = 15 * time.Minute

// DefaultListen is the default listen address: the WSUS HTTP port on loopback.
const DefaultListen = "127.0.0.1:8530"

// Stores is the state a server runs on.
type Stores struct {
	Catalog catalog.Store
	Blobs   storage.BlobStore
}

// Close closes both stores.
func (s Stores) Close() error {
	err := s.Catalog.Close()
	if c, ok := s.Blobs.(interface{ Close() error }); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

// OpenStores opens the catalog and blob stores cfg names (wsusd serve and
// wsusd import share it).
func OpenStores(ctx context.Context, cfg Config) (Stores, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return Stores{}, fmt.Errorf("server: create data dir: %w", err)
	}
	var cat catalog.Store
	var err error
	if cfg.DatabaseURL != "" {
		cat, err = postgres.Open(ctx, cfg.DatabaseURL)
	} else {
		cat, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "catalog.db"))
	}
	if err != nil {
		return Stores{}, fmt.Errorf("server: open catalog: %w", err)
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		cat.Close()
		return Stores{}, fmt.Errorf("server: open content store: %w", err)
	}
	return Stores{Catalog: cat, Blobs: blobs}, nil
}

// openBlobs opens the S3 store when cfg names a bucket, else the
// filesystem store in DataDir/content.
func openBlobs(ctx context.Context, cfg Config) (storage.BlobStore, error) {
	if cfg.S3.Bucket != "" {
		s, err := s3store.Open(ctx, cfg.S3)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if s := cfg.S3; s.Endpoint != "" || s.Prefix != "" || s.Region != "" || s.PathStyle {
		return nil, errors.New("S3 settings (endpoint, prefix, region or path style) given without a bucket")
	}
	s, err := storage.NewFS(filepath.Join(cfg.DataDir, "content"))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// contentOptions builds the content handler's modes from cfg.
func contentOptions(cfg Config, blobs storage.BlobStore, mu *microsoftUpdateURLs, fetch *content.OnDemand, logger *slog.Logger) (content.Options, error) {
	opts := content.Options{Logger: logger, Fallback: mu.url, OnDemand: fetch}
	switch r := cfg.ContentRedirect; {
	case r == "":
	case r == ContentRedirectPresign:
		p, ok := blobs.(interface {
			PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
		})
		if !ok {
			return opts, errors.New("server: content redirect \"presign\" needs the S3 content store")
		}
		opts.Redirect = func(ctx context.Context, _ *http.Request, key string) (string, error) {
			return p.PresignGet(ctx, key, presignTTL)
		}
	default:
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return opts, fmt.Errorf("server: content redirect %q: want \"presign\" or an http(s) URL without query", r)
		}
		opts.Redirect = content.RedirectToBase(r)
	}
	return opts, nil
}

// fileModified gives the content handler each file's Modified date from
// its metadata, sent as Last-Modified (zero when the catalog does not list
// the file).
func fileModified(store catalog.Store) content.ModifiedFunc {
	return func(ctx context.Context, sha1 []byte) (time.Time, error) {
		f, err := store.FileBySHA1(ctx, sha1)
		if errors.Is(err, catalog.ErrNotFound) {
			return time.Time{}, nil
		}
		return f.Modified, err
	}
}

// Server is a configured wsus server.
type Server struct {
	cfg    Config
	logger *slog.Logger
	stores Stores
	// engine is the scan engine of the SOAP services.
	engine *scan.Engine
	// sync runs synchronizations from the upstream while serving.
	sync *syncJobs
	// rules runs the approval rules while serving.
	rules *rulesJobs
	// certs serves the HTTPS listener's certificate; nil without one.
	certs *certReloader
	// client serves the client listener; admin the admin listener, nil
	// when the admin API is served on the client listener.
	client, admin *router
	// access is the access log of both listeners; nil when off.
	access *accessLog
	// AdminTokenFile is the file the admin token was read from (generated
	// there on first start unless configured), "" when the token came from
	// configuration.
	AdminTokenFile string
}

// New builds a server over opened stores.
func New(ctx context.Context, cfg Config, stores Stores, logger *slog.Logger) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Every line logged with a request's context names its request ID
	// (router.ServeHTTP puts it there).
	// A warning or error carrying a failure the operator must act on is
	// followed by a line saying what to do (opslog.go).
	logger = slog.New(newOpsHandler(requestid.NewLogHandler(logger.Handler()), newOpsTargets(cfg)))
	sealer, key, previousKeys, err := newSealer(cfg, logger)
	if err != nil {
		return nil, err
	}
	// One admission control for every SOAP service of the server: the
	// client services and the upstream role share its bounds.
	admission := soap.NewAdmission(cfg.MaxInflight, cfg.MaxBufferedBytes, 0)
	// Metrics: one registry per server, served at /metrics on the admin
	// listener when there is one, else on the client listener. What the
	// server's parts call of the stores is timed through its decorators.
	met := newMetrics(cfg, stores, admission, logger)
	stores = Stores{Catalog: met.Catalog(stores.Catalog), Blobs: met.Blobs(stores.Blobs)}
	srv := &Server{cfg: cfg, logger: logger, stores: stores}
	token := cfg.AdminToken
	switch {
	case cfg.AdminTokenFile != "":
		srv.AdminTokenFile = cfg.AdminTokenFile
		if token, err = readSecretFile(cfg.AdminTokenFile, "admin token", logger); err != nil {
			return nil, err
		}
	case token == "":
		srv.AdminTokenFile = filepath.Join(cfg.DataDir, "admin-token")
		if token, err = loadOrCreateToken(srv.AdminTokenFile); err != nil {
			return nil, err
		}
	}
	if cfg.ContentMUURLs != "" {
		if err := loadMicrosoftUpdateURLs(ctx, cfg.ContentMUURLs, stores.Catalog, logger); err != nil {
			return nil, err
		}
	}
	if cfg.TLSCert != "" {
		if srv.certs, err = newCertReloader(cfg.TLSCert, cfg.TLSKey, logger); err != nil {
			return nil, err
		}
	}
	// Checked by validate.
	trusted, _ := ParseTrustedProxies(cfg.TrustedProxies)
	view := &syncView{store: stores.Catalog}
	mu := &microsoftUpdateURLs{view: view, store: stores.Catalog, blobs: stores.Blobs, always: cfg.ContentMUURLs != "", log: logger}
	fetch, err := onDemand(view, stores.Catalog, stores.Blobs, logger)
	if err != nil {
		return nil, err
	}
	if srv.rules, err = newRulesJobs(cfg, stores, logger); err != nil {
		return nil, err
	}
	if srv.sync, err = newSyncJobs(ctx, cfg, stores, logger, srv.rules.afterSync); err != nil {
		return nil, err
	}
	srv.engine = scan.NewEngine(stores.Catalog, cfg.SnapshotMaxAge)
	wcfg := wusp.Config{
		Store:       stores.Catalog,
		Engine:      srv.engine,
		Sealer:      sealer,
		Logger:      logger,
		ContentBase: contentBaseFunc(cfg.ContentURL, cfg.Listen, trusted),
		PageSize:    cfg.SyncPageSize,
		Admission:   admission,
		Scans:       met,
	}
	wcfg.Locate = mu.locator()
	services, err := wusp.New(ctx, wcfg)
	if err != nil {
		return nil, err
	}
	// The upstream role (MS-WSUSSS), for downstream servers.
	upstreamRole, err := serversync.New(ctx, serversync.Config{
		Store:             stores.Catalog,
		Blobs:             stores.Blobs,
		CookieKey:         key,
		CookieKeyPrevious: previousKeys,
		Admission:         admission,
		Logger:            logger,
	})
	if err != nil {
		return nil, err
	}
	copts, err := contentOptions(cfg, stores.Blobs, mu, fetch, logger)
	if err != nil {
		return nil, err
	}
	copts.Modified = fileModified(stores.Catalog)
	adminHandler := admin.NewWith(stores.Catalog, admin.Options{Token: token, Logger: logger, Sync: srv.sync, Rules: srv.rules.runner,
		Server: serverFacts(cfg, time.Now()), Storage: newStorageUsage(ctx, stores.Blobs, cfg, logger)})
	webConsole, err := console.New(console.Config{API: adminHandler, Sealer: sealer, Logger: logger})
	if err != nil {
		return nil, err
	}
	health := newHealth(stores, logger)
	if srv.access, err = newAccessLog(cfg.AccessLog, logger); err != nil {
		return nil, err
	}
	client := &router{
		soap: map[string]http.Handler{
			"/clientwebservice/client.asmx":                   services.Client(),
			"/simpleauthwebservice/simpleauth.asmx":           services.SimpleAuth(),
			"/reportingwebservice/reportingwebservice.asmx":   services.Reporting(),
			"/reportingwebservice/webservice.asmx":            services.Reporting(),
			"/serversyncwebservice/serversyncwebservice.asmx": upstreamRole.ServerSync(),
			"/dssauthwebservice/dssauthwebservice.asmx":       upstreamRole.DssAuth(),
		},
		content:      content.NewHandlerWith(stores.Blobs, copts),
		health:       health,
		access:       srv.access,
		observe:      met,
		readTimeout:  shortReadTimeout,
		writeTimeout: shortWriteTimeout,
	}
	declareOperations(met, client.soap)
	if cfg.AdminListen == "" {
		client.admin = adminHandler
		client.console = webConsole
		client.metrics = met.Handler()
	} else {
		srv.admin = &router{admin: adminHandler, console: webConsole, health: health, access: srv.access, observe: met, metrics: met.Handler(),
			readTimeout: shortReadTimeout, writeTimeout: shortWriteTimeout}
	}
	srv.client = client
	return srv, nil
}

// Handler returns the handler of the client listener (with the admin API
// unless Config.AdminListen is set).
func (s *Server) Handler() http.Handler { return s.client }

// AdminHandler returns the handler of the admin listener, nil unless
// Config.AdminListen is set.
func (s *Server) AdminHandler() http.Handler {
	if s.admin == nil {
		return nil
	}
	return s.admin
}

// router maps the paths one listener serves, matched case-insensitively as
// IIS does (MS-WUSP.md section 1.1). A nil handler's paths answer 404.
type router struct {
	soap    map[string]http.Handler // by lower-case path
	content http.Handler
	admin   http.Handler
	// console is the web console (/console/), served beside the admin API.
	console http.Handler
	health  *health
	// metrics is served at /metrics (GET and HEAD); nil answers 404.
	metrics http.Handler
	// observe receives a Record of every request answered; nil: none.
	observe requestObserver
	// access writes the access log; nil writes none.
	access *accessLog
	// Deadlines of the short paths: shortReadTimeout, shortWriteTimeout.
	readTimeout, writeTimeout time.Duration
}

// Short-path deadlines: paths whose requests and answers are small (the
// admin API, health, 404) get these read and write deadlines.
// The read deadline bounds reading the body; net/http clears it once the
// body is read to its end, and for a request without body it cancels the
// request's context when it passes (net/http's background read fails),
// which bounds how long such a request may work. The write deadline bounds
// everything until the answer is written.
const (
	shortReadTimeout  = 30 * time.Second
	shortWriteTimeout = 60 * time.Second
)

// ServeHTTP routes r. Every answer of every path carries X-Request-Id, the
// ID r's context carries for the log (internal/requestid). Handlers find a
// reqinfo.Info in r's context to say what they learned; once the handler
// returns (or panics, as the content handler does to abort a body), the
// request's reqinfo.Record goes to the access log and the observer.
func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r = requestid.Bind(w, r)
	ctx, info := reqinfo.Attach(r.Context())
	r = r.WithContext(ctx)
	p := strings.ToLower(r.URL.Path)
	kind, h := rt.classify(p, r.URL.Path)
	ow := &observedWriter{w: w}
	aborted := true
	defer func() {
		rt.finish(r, ow, info, kind, start, requestid.From(ctx), aborted)
	}()
	rt.route(ow, r, p, kind, h)
	aborted = false
}

// route serves r with h, the handler classify chose for path p (lower
// case), or answers health and 404 itself.
func (rt *router) route(w http.ResponseWriter, r *http.Request, p string, kind reqinfo.Kind, h http.Handler) {
	if kind == reqinfo.KindSOAP || kind == reqinfo.KindContent {
		// The SOAP services bound their bodies themselves; the content
		// handler sets its own write deadlines.
		h.ServeHTTP(w, r)
		return
	}
	rc := http.NewResponseController(w)
	now := time.Now()
	_ = rc.SetReadDeadline(now.Add(rt.readTimeout))
	_ = rc.SetWriteDeadline(now.Add(rt.writeTimeout))
	switch {
	case kind == reqinfo.KindAdmin || kind == reqinfo.KindConsole:
		h.ServeHTTP(w, r)
	case kind == reqinfo.KindMetrics:
		rt.serveMetrics(w, r)
	case p == "/healthz":
		rt.health.live(w, r)
	case p == "/readyz":
		rt.health.ready(w, r)
	default:
		// Includes /selfupdate/: Windows 10 and later never use it
		// (MS-WUSP.md section 1.1), so 404 is what they expect; and
		// /api/v1/ on the client listener when the admin API has its own.
		http.NotFound(w, r)
	}
}

func cookieKey(cfg Config, logger *slog.Logger) ([]byte, error) {
	switch {
	case cfg.CookieKey != "":
		return cookie.ParseKey(cfg.CookieKey)
	case cfg.CookieKeyFile != "":
		s, err := readSecretFile(cfg.CookieKeyFile, "cookie key", logger)
		if err != nil {
			return nil, err
		}
		key, err := cookie.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("server: cookie key file %s: %w", cfg.CookieKeyFile, err)
		}
		return key, nil
	}
	return cookie.LoadOrCreateKey(filepath.Join(cfg.DataDir, "cookie.key"))
}

// loadOrCreateToken reads the admin token file, creating it with a random
// token on first start.
func loadOrCreateToken(path string) (string, error) {
	return secretfile.LoadOrCreate(path, func() (string, error) {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return "", err
		}
		return hex.EncodeToString(raw), nil
	})
}
