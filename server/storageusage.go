package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"wsus/catalog/admin"
	"wsus/storage"
)

// Bounds of the content store's measurement (GET /api/v1/storage).
const (
	// storageUsageEvery is the least time between two measurements:
	// counting an S3 bucket is a full listing (a request per 1,000
	// objects), so it runs at most this often, and only when asked.
	storageUsageEvery = 5 * time.Minute
	// storageUsageTimeout bounds one measurement; a listing cut short is
	// a failed measurement, the last good one stays.
	storageUsageTimeout = 10 * time.Minute
)

// storageUsage is the admin API's admin.StorageMeter over the content
// store: Usage answers at once with the last measurement, and starts a new
// one in the background when the last one started storageUsageEvery ago or
// more (or never). A measurement lists every object (storage.BlobStore's
// List), within storageUsageTimeout, and stops when ctx (the server's
// life) ends; no goroutine outlives it, and none runs while nobody looks.
type storageUsage struct {
	ctx     context.Context
	blobs   storage.BlobStore
	log     *slog.Logger
	now     func() time.Time
	every   time.Duration
	timeout time.Duration

	mu sync.Mutex
	// last is the answer: the last good measurement, Measuring and Error.
	last admin.StorageUsage
	// started is when the last measurement started (zero: never).
	started time.Time
	// done is closed when the running measurement ends (tests wait on it).
	done chan struct{}
}

var _ admin.StorageMeter = (*storageUsage)(nil)

// newStorageUsage returns the meter of blobs, the content store cfg
// selects, measuring while ctx lasts.
func newStorageUsage(ctx context.Context, blobs storage.BlobStore, cfg Config, logger *slog.Logger) *storageUsage {
	return &storageUsage{ctx: ctx, blobs: blobs, log: logger, now: time.Now, every: storageUsageEvery, timeout: storageUsageTimeout,
		last: admin.StorageUsage{Store: serverFacts(cfg, time.Time{}).ContentStore}}
}

// Usage returns the last measurement, starting a new one in the
// background when it is due; it never waits for one.
func (u *storageUsage) Usage(context.Context) admin.StorageUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.last.Measuring && u.ctx.Err() == nil && (u.started.IsZero() || u.now().Sub(u.started) >= u.every) {
		u.started = u.now()
		u.last.Measuring = true
		u.done = make(chan struct{})
		go u.measure(u.done)
	}
	out := u.last
	if out.MeasuredAt != nil {
		at := *out.MeasuredAt
		out.MeasuredAt = &at
	}
	return out
}

// measure lists the content store once and records what it counted, or
// why it failed, then closes done.
func (u *storageUsage) measure(done chan struct{}) {
	defer close(done)
	ctx, cancel := context.WithTimeout(u.ctx, u.timeout)
	defer cancel()
	start := time.Now()
	var objects, bytes int64
	err := u.blobs.List(ctx, func(o storage.ObjectInfo) error {
		objects++
		bytes += o.Size
		return nil
	})
	u.mu.Lock()
	defer u.mu.Unlock()
	u.last.Measuring = false
	if err != nil {
		u.last.Error = fmt.Sprintf("the content store could not be listed: %v", err)
		if u.ctx.Err() == nil {
			u.log.Warn("storage usage: measurement failed", "err", err, "duration", time.Since(start).Round(time.Millisecond))
		}
		return
	}
	at := u.now().UTC()
	u.last.Objects, u.last.Bytes, u.last.MeasuredAt, u.last.Error = objects, bytes, &at, ""
	u.log.Debug("storage usage: measured", "objects", objects, "bytes", bytes, "duration", time.Since(start).Round(time.Millisecond))
}
