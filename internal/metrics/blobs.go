package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"wsus/storage"
)

// The optional capabilities of a blob store that callers check at run
// time: health's Ping, Stores.Close, maintain.Sweeper and the presigned
// redirect of server.contentOptions.
type (
	blobPinger interface {
		Ping(ctx context.Context) error
	}
	blobCloser interface {
		Close() error
	}
	blobSweeper interface {
		SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error)
	}
	blobPresigner interface {
		PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	}
)

// Blobs returns s with every call timed (wsus_blob_operation_duration_seconds)
// and its failures counted (wsus_blob_errors_total). Nothing else changes:
//
//   - Ping, Close, SweepIncomplete and String are always there and call
//     s's when it has them; without, they do what callers do for a store
//     without the capability (ready, nothing to close, nothing swept).
//   - PresignGet is there only when s has it, since its absence means
//     something (a presigned redirect needs the S3 store).
//   - OpenRange is timed to the open (the first byte on S3), not the
//     read, and its reader is s's own: a file still goes out with sendfile.
//     A failure mid-read is the reader's and is not counted here.
func (m *Metrics) Blobs(s storage.BlobStore) storage.BlobStore {
	b := &blobStore{s: s, m: m.blobs}
	if p, ok := s.(blobPresigner); ok {
		return &presignBlobStore{blobStore: b, p: p}
	}
	return b
}

// blobStore is the decorator of a store without PresignGet.
type blobStore struct {
	s storage.BlobStore
	m *opMetrics
}

// presignBlobStore is the decorator of a store with PresignGet.
type presignBlobStore struct {
	*blobStore
	p blobPresigner
}

var (
	_ blobPinger    = (*blobStore)(nil)
	_ blobCloser    = (*blobStore)(nil)
	_ blobSweeper   = (*blobStore)(nil)
	_ fmt.Stringer  = (*blobStore)(nil)
	_ blobPresigner = (*presignBlobStore)(nil)
)

// blobClass names a blob store failure; "" for what is no failure of the
// store (no such object, a range outside it).
func blobClass(err error) string {
	switch {
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrInvalidRange):
		return ""
	case errors.Is(err, storage.ErrDigestMismatch):
		return "digest_mismatch"
	case errors.Is(err, storage.ErrInvalidKey):
		return "invalid_key"
	}
	if c := contextClass(err); c != "" {
		return c
	}
	return "other"
}

// Stat is s's, timed.
func (b *blobStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	start := time.Now()
	info, err := b.s.Stat(ctx, key)
	b.m.observe("Stat", start, err, blobClass)
	return info, err
}

// OpenRange is s's, timed to the open.
func (b *blobStore) OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	start := time.Now()
	r, err := b.s.OpenRange(ctx, key, offset, length)
	b.m.observe("OpenRange", start, err, blobClass)
	return r, err
}

// Put is s's, timed to the object's visibility.
func (b *blobStore) Put(ctx context.Context, key string, r io.Reader, want storage.Digests) (storage.ObjectInfo, error) {
	start := time.Now()
	info, err := b.s.Put(ctx, key, r, want)
	b.m.observe("Put", start, err, blobClass)
	return info, err
}

// Delete is s's, timed.
func (b *blobStore) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := b.s.Delete(ctx, key)
	b.m.observe("Delete", start, err, blobClass)
	return err
}

// List is s's, timed over the whole listing (fn's time included).
func (b *blobStore) List(ctx context.Context, fn func(storage.ObjectInfo) error) error {
	start := time.Now()
	err := b.s.List(ctx, fn)
	b.m.observe("List", start, err, blobClass)
	return err
}

// Ping is s's, timed; nil when s cannot tell.
func (b *blobStore) Ping(ctx context.Context) error {
	p, ok := b.s.(blobPinger)
	if !ok {
		return nil
	}
	start := time.Now()
	err := p.Ping(ctx)
	b.m.observe("Ping", start, err, blobClass)
	return err
}

// Close is s's; nil when s has nothing to close.
func (b *blobStore) Close() error {
	if c, ok := b.s.(blobCloser); ok {
		return c.Close()
	}
	return nil
}

// SweepIncomplete is s's, timed; 0 when s leaves nothing behind to sweep.
func (b *blobStore) SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error) {
	sw, ok := b.s.(blobSweeper)
	if !ok {
		return 0, nil
	}
	start := time.Now()
	n, err := sw.SweepIncomplete(ctx, cutoff)
	b.m.observe("SweepIncomplete", start, err, blobClass)
	return n, err
}

// String names s as s does (its directory, its bucket).
func (b *blobStore) String() string {
	if st, ok := b.s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", b.s)
}

// PresignGet is s's, timed.
func (b *presignBlobStore) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	start := time.Now()
	u, err := b.p.PresignGet(ctx, key, ttl)
	b.m.observe("PresignGet", start, err, blobClass)
	return u, err
}
