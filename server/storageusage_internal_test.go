package server

import (
	"context"
	"crypto/sha1"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wsus/storage"
)

// putObjects stores payloads in blobs under their SHA-1 keys.
func putObjects(t *testing.T, blobs storage.BlobStore, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		sum := sha1.Sum([]byte(p))
		if _, err := blobs.Put(t.Context(), storage.KeyForSHA1(sum[:]), strings.NewReader(p), storage.Digests{SHA1: sum[:]}); err != nil {
			t.Fatal(err)
		}
	}
}

// wait waits for the running measurement of u, if any.
func (u *storageUsage) wait() {
	u.mu.Lock()
	done := u.done
	u.mu.Unlock()
	if done != nil {
		<-done
	}
}

// TestStorageUsage measures a filesystem content store: nothing before
// the first ask, the first ask starts a measurement without waiting for it
// (measured_at null, measuring), then the counts; a new object counts only
// once the interval passed; a failed listing keeps the last good counts
// and says why; once the server's context ends nothing starts.
func TestStorageUsage(t *testing.T) {
	blobs, err := storage.NewFS(filepath.Join(t.TempDir(), "content"))
	if err != nil {
		t.Fatal(err)
	}
	putObjects(t, blobs, "one", "three", "fifteen bytes!!")
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	clock := time.Date(2026, 11, 12, 10, 0, 0, 0, time.UTC)
	gate := &gatedList{BlobStore: blobs, open: make(chan struct{})}
	u := newStorageUsage(ctx, gate, Config{}, slog.New(slog.DiscardHandler))
	u.now = func() time.Time { return clock }

	first := u.Usage(ctx)
	if first.Store != "filesystem" || first.MeasuredAt != nil || !first.Measuring || first.Objects != 0 {
		t.Errorf("first answer %+v, want filesystem, not measured yet, measuring", first)
	}
	close(gate.open) // the listing was waiting: Usage did not
	u.wait()
	got := u.Usage(ctx)
	if got.Objects != 3 || got.Bytes != 3+5+15 || got.MeasuredAt == nil || !got.MeasuredAt.Equal(clock) || got.Measuring || got.Error != "" {
		t.Errorf("after the measurement %+v, want 3 objects, 23 bytes, measured at %s", got, clock)
	}

	putObjects(t, blobs, "four")
	clock = clock.Add(storageUsageEvery - time.Second)
	if got := u.Usage(ctx); got.Objects != 3 || got.Measuring {
		t.Errorf("before the interval %+v, want the last measurement and none running", got)
	}
	clock = clock.Add(time.Second)
	u.Usage(ctx)
	u.wait()
	if got := u.Usage(ctx); got.Objects != 4 || got.Bytes != 27 || !got.MeasuredAt.Equal(clock) {
		t.Errorf("after the interval %+v, want 4 objects, 27 bytes", got)
	}

	gate.fail = errors.New("access denied")
	clock = clock.Add(storageUsageEvery)
	u.Usage(ctx)
	u.wait()
	if got := u.Usage(ctx); got.Objects != 4 || !strings.Contains(got.Error, "access denied") || got.MeasuredAt == nil {
		t.Errorf("after a failed listing %+v, want the last counts and the reason", got)
	}

	stop()
	clock = clock.Add(storageUsageEvery)
	if got := u.Usage(ctx); got.Measuring {
		t.Errorf("after the server stopped %+v, want no measurement started", got)
	}
}

// TestStorageUsageStopsWithServer: a measurement under way ends when the
// server's context does.
func TestStorageUsageStopsWithServer(t *testing.T) {
	blobs, err := storage.NewFS(filepath.Join(t.TempDir(), "content"))
	if err != nil {
		t.Fatal(err)
	}
	putObjects(t, blobs, "one")
	ctx, stop := context.WithCancel(t.Context())
	gate := &gatedList{BlobStore: blobs, open: make(chan struct{}), wantCtx: true}
	u := newStorageUsage(ctx, gate, Config{}, slog.New(slog.DiscardHandler))
	u.Usage(ctx)
	stop()
	u.wait()
	if got := u.Usage(ctx); got.MeasuredAt != nil || got.Measuring || !strings.Contains(got.Error, "context canceled") {
		t.Errorf("after the server stopped mid-measurement %+v, want no measurement and the reason", got)
	}
}

// gatedList is a blob store whose List waits until open is closed (or,
// with wantCtx, its context ends), then fails with fail if set.
type gatedList struct {
	storage.BlobStore
	open    chan struct{}
	wantCtx bool
	mu      sync.Mutex
	fail    error
}

func (g *gatedList) List(ctx context.Context, fn func(storage.ObjectInfo) error) error {
	if g.wantCtx {
		<-ctx.Done()
		return ctx.Err()
	}
	<-g.open
	g.mu.Lock()
	fail := g.fail
	g.mu.Unlock()
	if fail != nil {
		return fail
	}
	return g.BlobStore.List(ctx, fn)
}
