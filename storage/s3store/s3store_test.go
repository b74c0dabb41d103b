package s3store_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/blobtest"
	"wsus/storage/s3store"
)

// config is a store configuration for a new bucket on srv, with a prefix
// (so that the suite runs through the key mapping) and small list pages
// (so that List pages).
func config(srv *tests3.Server) s3store.Config {
	return s3store.Config{
		Endpoint:        srv.Endpoint,
		Region:          srv.Region,
		PathStyle:       true,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
		Bucket:          "test-" + strings.ToLower(rand.Text()[:16]),
		Prefix:          "wsus/",
		ListPageSize:    7,
	}
}

func open(t *testing.T, cfg s3store.Config) *s3store.Store {
	t.Helper()
	s, err := s3store.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the BlobStore conformance suite on versitygw, each
// test in a bucket of its own that Open creates.
func TestConformance(t *testing.T) {
	srv := tests3.Start(t)
	blobtest.Run(t, func(t *testing.T) storage.BlobStore { return open(t, config(srv)) })
}
