package server

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"wsus/catalog/admin"
)

// serverFacts is what GET /api/v1/server tells about this process beside
// its build: the catalog engine and content store cfg selects (as
// OpenStores opens them) and when it started.
func serverFacts(cfg Config, started time.Time) admin.ServerFacts {
	f := admin.ServerFacts{CatalogEngine: admin.CatalogEmbedded, ContentStore: admin.ContentFilesystem, StartedAt: started}
	if cfg.DatabaseURL != "" {
		f.CatalogEngine = admin.CatalogPostgreSQL
	}
	if cfg.S3.Bucket != "" {
		f.ContentStore = admin.ContentS3
	}
	return f
}

// validateContent checks the settings of content URLs and stores that
// validate can check without I/O: ContentURL is empty or an absolute
// http(s) URL (a relative one made clients ask for paths that 404), the
// SyncUpdates page size is not negative, and no S3 setting comes without
// a bucket.
func (cfg Config) validateContent() error {
	if c := cfg.ContentURL; c != "" {
		u, err := url.Parse(c)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("server: content URL %q: want an absolute http:// or https:// URL", c)
		}
	}
	if cfg.SyncPageSize < 0 {
		return fmt.Errorf("server: negative SyncPageSize (%d)", cfg.SyncPageSize)
	}
	if s := cfg.S3; s.Bucket == "" && (s.Endpoint != "" || s.Prefix != "" || s.Region != "" || s.PathStyle) {
		return errors.New("server: S3 settings (endpoint, prefix, region or path style) given without a bucket")
	}
	return nil
}
