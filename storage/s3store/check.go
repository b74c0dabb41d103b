package s3store

import (
	"context"
	"fmt"
	"net/http"
)

// Check builds a client for cfg and asks S3 about the bucket once, as Ping
// does, creating and changing nothing (wsusd check). A missing bucket is
// an error saying so: Open would try to create it.
func Check(ctx context.Context, cfg Config) error {
	if err := cfg.applyDefaults(); err != nil {
		return err
	}
	client, err := newClient(ctx, cfg)
	if err != nil {
		return err
	}
	s := &Store{client: client, bucket: cfg.Bucket, prefix: normalizePrefix(cfg.Prefix), cfg: cfg, log: cfg.Logger}
	defer s.Close()
	err = s.Ping(ctx)
	if err != nil && httpStatus(err) == http.StatusNotFound {
		return fmt.Errorf("storage: s3: bucket %s does not exist (serve would try to create it): %w", cfg.Bucket, err)
	}
	return err
}
