// Package server assembles a wsus server from its configuration: it opens
// the catalog store (embedded or PostgreSQL) and the blob store (filesystem
// or S3), builds the client-facing SOAP services, content serving and the
// admin REST API, routes them on the paths WSUS uses, and serves them until
// its context ends.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	"wsus/internal/secretfile"
	"wsus/soap/cookie"
	"wsus/soap/wusp"
	"wsus/storage"
	"wsus/storage/content"
	"wsus/storage/muurl"
	"wsus/storage/s3store"
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
func contentOptions(cfg Config, blobs storage.BlobStore, mu *muurl.Index, logger *slog.Logger) (content.Options, error) {
	opts := content.Options{Logger: logger}
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
	if mu != nil {
		opts.Fallback = mu.URL
	}
	return opts, nil
}

// microsoftUpdateLocator sends clients to Microsoft Update for the files
// this server does not store and whose Microsoft Update URL is known, as
// WSUS does when "clients download from Microsoft Update". When the blob
// store cannot tell (it is down), the client gets this server's URL, which
// answers 503 until the store is back.
func microsoftUpdateLocator(blobs storage.BlobStore, mu *muurl.Index, logger *slog.Logger) wusp.FileLocator {
	return func(ctx context.Context, f catalog.File) (string, bool, error) {
		_, err := blobs.Stat(ctx, storage.KeyForSHA1(f.SHA1))
		if !errors.Is(err, storage.ErrNotFound) {
			if err != nil {
				logger.Warn("content store unavailable; FileLocation stays local", "err", err)
			}
			return "", false, nil
		}
		u, err := mu.URL(ctx, f.SHA1)
		if err != nil || u == "" {
			return "", false, err
		}
		return u, true, nil
	}
}

// Server is a configured wsus server.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	stores  Stores
	handler http.Handler
	// AdminTokenFile is where the generated admin token is, "" when the
	// token came from configuration.
	AdminTokenFile string
}

// New builds a server over opened stores.
func New(ctx context.Context, cfg Config, stores Stores, logger *slog.Logger) (*Server, error) {
	key, err := cookieKey(cfg)
	if err != nil {
		return nil, err
	}
	sealer, err := cookie.NewSealer(key)
	if err != nil {
		return nil, err
	}
	srv := &Server{cfg: cfg, logger: logger, stores: stores}
	token := cfg.AdminToken
	if token == "" {
		srv.AdminTokenFile = filepath.Join(cfg.DataDir, "admin-token")
		if token, err = loadOrCreateToken(srv.AdminTokenFile); err != nil {
			return nil, err
		}
	}
	var mu *muurl.Index
	if cfg.ContentMUURLs != "" {
		if mu, err = muurl.Load(cfg.ContentMUURLs); err != nil {
			return nil, fmt.Errorf("server: Microsoft Update URLs: %w", err)
		}
		logger.Info("content not stored here goes to Microsoft Update", "urls", mu.Len(), "from", cfg.ContentMUURLs)
	}
	wcfg := wusp.Config{
		Store:      stores.Catalog,
		Engine:     scan.NewEngine(stores.Catalog),
		Sealer:     sealer,
		Logger:     logger,
		ContentURL: cfg.ContentURL,
		PageSize:   cfg.SyncPageSize,
	}
	if mu != nil {
		wcfg.Locate = microsoftUpdateLocator(stores.Blobs, mu, logger)
	}
	services, err := wusp.New(ctx, wcfg)
	if err != nil {
		return nil, err
	}
	copts, err := contentOptions(cfg, stores.Blobs, mu, logger)
	if err != nil {
		return nil, err
	}
	srv.handler = routes(services, content.NewHandlerWith(stores.Blobs, copts), admin.New(stores.Catalog, token, logger))
	return srv, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// routes maps the paths WSUS serves, matched case-insensitively as IIS does
// (MS-WUSP.md section 1.1).
func routes(services *wusp.Services, contentHandler, adminHandler http.Handler) http.Handler {
	exact := map[string]http.Handler{
		"/clientwebservice/client.asmx":                 services.Client(),
		"/simpleauthwebservice/simpleauth.asmx":         services.SimpleAuth(),
		"/reportingwebservice/reportingwebservice.asmx": services.Reporting(),
		"/reportingwebservice/webservice.asmx":          services.Reporting(),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.ToLower(r.URL.Path)
		if h, ok := exact[p]; ok {
			h.ServeHTTP(w, r)
			return
		}
		switch {
		case strings.HasPrefix(p, "/content/"):
			contentHandler.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/api/v1/"):
			adminHandler.ServeHTTP(w, r)
		case p == "/healthz":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		default:
			// Includes /selfupdate/: Windows 10 and later never use it
			// (MS-WUSP.md section 1.1), so 404 is what they expect.
			http.NotFound(w, r)
		}
	})
}

// Serve serves on ln until ctx ends, then shuts down gracefully, letting
// requests in flight finish for up to 30 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 15 * time.Second,
		// Delivery Optimization keeps up to 7 connections per client and
		// expects them to live longer than 30 s (MS-WUSP.md section 9, item 18).
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: serve: %w", err)
	}
	return nil
}

func cookieKey(cfg Config) ([]byte, error) {
	if cfg.CookieKey != "" {
		return cookie.ParseKey(cfg.CookieKey)
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
