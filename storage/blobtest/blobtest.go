// Package blobtest is the conformance suite of storage.BlobStore: the
// filesystem store and the S3 store both run it, so that the content
// handler, the importer and the maintenance commands can rely on the
// contract in package storage whatever the store.
//
// Objects are Patterns: generated on demand, streamed into Put and compared
// piece by piece when read back, never held in memory, so the suite can
// store objects of 600 MB (run with -short to skip that one).
//
//	func TestConformance(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) storage.BlobStore { return newEmptyStore(t) })
//	}
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"wsus/storage"
)

// NewStore returns a new, empty store for t (closed by t's cleanup).
type NewStore func(t *testing.T) storage.BlobStore

// Object sizes of the round trip: 1 KB, 50 MB and 600 MB (the last one
// skipped with -short). None is a multiple of a power of two, so the last
// piece of a multipart upload is a partial one.
var roundTripSizes = []int64{0, 1000, 50_000_000, 600_000_000}

// maxPutAlloc bounds what a Put of a large object may allocate in total:
// far less than the object, so it is streamed, not buffered.
const maxPutAlloc = 200 << 20

// mib is the Delivery Optimization piece size.
const mib = 1 << 20

// Run runs every conformance test against stores from newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, newStore(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalidArguments(t, newStore(t)) })
	t.Run("DigestMismatch", func(t *testing.T) { testDigestMismatch(t, newStore) })
	t.Run("FailingInput", func(t *testing.T) { testFailingInput(t, newStore(t)) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, newStore(t)) })
	t.Run("ListAndDelete", func(t *testing.T) { testListAndDelete(t, newStore(t)) })
}

// Put stores p under its content key, streaming it, and returns the key,
// digests and ObjectInfo. It fails t on error.
func Put(t *testing.T, s storage.BlobStore, p Pattern) (string, storage.Digests, storage.ObjectInfo) {
	t.Helper()
	d := p.Digests()
	key := storage.KeyForSHA1(d.SHA1)
	info, err := s.Put(t.Context(), key, p.Reader(), d)
	if err != nil {
		t.Fatalf("Put %s (%d bytes): %v", key, p.Size, err)
	}
	return key, d, info
}

// CheckRead reads length bytes (-1: to the end) at offset of the object at
// key and compares them with p, streaming.
func CheckRead(t *testing.T, s storage.BlobStore, key string, p Pattern, offset, length int64) {
	t.Helper()
	rc, err := s.OpenRange(t.Context(), key, offset, length)
	if err != nil {
		t.Fatalf("OpenRange(%d, %d): %v", offset, length, err)
	}
	defer rc.Close()
	want := p.Size - offset
	if length >= 0 {
		want = min(length, want)
	}
	n, err := io.CopyBuffer(&comparer{p: p, off: offset}, rc, make([]byte, 256<<10))
	if err != nil {
		t.Fatalf("OpenRange(%d, %d): after %d bytes: %v", offset, length, n, err)
	}
	if n != want {
		t.Fatalf("OpenRange(%d, %d): %d bytes, want %d", offset, length, n, want)
	}
}

// comparer is a writer that checks what it gets against a pattern.
type comparer struct {
	p   Pattern
	off int64
	buf []byte
}

func (c *comparer) Write(b []byte) (int, error) {
	if cap(c.buf) < len(b) {
		c.buf = make([]byte, len(b))
	}
	want := c.buf[:len(b)]
	n, _ := c.p.ReadAt(want, c.off)
	if n < len(b) {
		return 0, fmt.Errorf("%d bytes past the object's end at %d", len(b)-n, c.off+int64(n))
	}
	if !bytes.Equal(b, want) {
		i := 0
		for b[i] == want[i] {
			i++
		}
		return 0, fmt.Errorf("byte %d is %#x, want %#x", c.off+int64(i), b[i], want[i])
	}
	c.off += int64(len(b))
	return len(b), nil
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// checkInfo checks what Put or Stat said about an object.
func checkInfo(t *testing.T, what string, got storage.ObjectInfo, key string, size int64) {
	t.Helper()
	if got.Key != key || got.Size != size {
		t.Errorf("%s: key %q size %d, want %q %d", what, got.Key, got.Size, key, size)
	}
	if len(got.ETag) < 3 || !strings.HasPrefix(got.ETag, `"`) || !strings.HasSuffix(got.ETag, `"`) || strings.HasPrefix(got.ETag, "W/") {
		t.Errorf("%s: ETag %q is not a quoted strong entity-tag", what, got.ETag)
	}
	if got.ModTime.IsZero() {
		t.Errorf("%s: no ModTime", what)
	}
}

// sameInfo reports whether two ObjectInfos describe the same stored object.
func sameInfo(a, b storage.ObjectInfo) bool {
	return a.Key == b.Key && a.Size == b.Size && a.ETag == b.ETag && a.ModTime.Equal(b.ModTime)
}

func testRoundTrip(t *testing.T, newStore NewStore) {
	for _, size := range roundTripSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			if size > 100_000_000 && testing.Short() {
				t.Skip("600 MB object skipped in -short mode")
			}
			s := newStore(t)
			p := Pattern{Seed: uint64(size) + 1, Size: size}
			d := p.Digests()
			key := storage.KeyForSHA1(d.SHA1)
			before := totalAlloc()
			info, err := s.Put(t.Context(), key, p.Reader(), d)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if alloc := totalAlloc() - before; size >= 50_000_000 && alloc > maxPutAlloc {
				t.Errorf("Put of %d bytes allocated %d bytes: it must stream, not buffer", size, alloc)
			}
			checkInfo(t, "Put", info, key, size)
			st, err := s.Stat(t.Context(), key)
			if err != nil || !sameInfo(st, info) {
				t.Errorf("Stat = %+v, %v; want %+v as Put said", st, err, info)
			}

			CheckRead(t, s, key, p, 0, -1)
			ranges := []struct{ off, n int64 }{
				{size, -1},               // at the end: empty
				{size, 10},               // at the end, closed: empty
				{0, 0},                   // nothing
				{max(size-100, 0), 1000}, // past the end: cut
				{max(size-10, 0), math.MaxInt64},
			}
			if size > 0 {
				ranges = append(ranges, []struct{ off, n int64 }{
					{0, 1}, {size - 1, 1}, {size - 1, -1}, {size / 2, 1}, {0, min(size, mib)},
					{size / 3, min(size-size/3, mib)}, {max(size-3*mib, 0), -1},
				}...)
			}
			for _, r := range ranges {
				CheckRead(t, s, key, p, r.off, r.n)
			}
			if _, err := s.OpenRange(t.Context(), key, size+1, -1); !errors.Is(err, storage.ErrInvalidRange) {
				t.Errorf("OpenRange past the end: %v, want ErrInvalidRange", err)
			}
			if size >= 50_000_000 {
				checkShuffledPieces(t, s, key, p, 8)
			}
		})
	}
}

// checkShuffledPieces reads the object as Delivery Optimization does: 1
// MiB pieces aligned to 1 MiB in shuffled order, by several readers at once.
func checkShuffledPieces(t *testing.T, s storage.BlobStore, key string, p Pattern, readers int) {
	t.Helper()
	var pieces []int64
	for off := int64(0); off < p.Size; off += mib {
		pieces = append(pieces, off)
	}
	rand.New(rand.NewPCG(uint64(p.Size), 1)).Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
	work := make(chan int64)
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			buf := make([]byte, mib)
			want := make([]byte, mib)
			for off := range work {
				if err := readPiece(t.Context(), s, key, p, off, buf, want); err != nil {
					errs <- err
					for range work { // drain
					}
					return
				}
			}
		})
	}
	for _, off := range pieces {
		work <- off
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func readPiece(ctx context.Context, s storage.BlobStore, key string, p Pattern, off int64, buf, want []byte) error {
	n := min(int64(mib), p.Size-off)
	rc, err := s.OpenRange(ctx, key, off, mib)
	if err != nil {
		return fmt.Errorf("piece at %d: %w", off, err)
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, buf[:n])
	if err != nil {
		return fmt.Errorf("piece at %d: %d bytes: %w", off, got, err)
	}
	if extra, _ := rc.Read(buf[:1]); extra != 0 {
		return fmt.Errorf("piece at %d: more than %d bytes", off, n)
	}
	p.ReadAt(want[:n], off)
	if !bytes.Equal(buf[:n], want[:n]) {
		return fmt.Errorf("piece at %d: wrong bytes", off)
	}
	return nil
}

func testMissing(t *testing.T, s storage.BlobStore) {
	ctx := t.Context()
	key := storage.KeyForSHA1(bytes.Repeat([]byte{0xab}, 20))
	if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat: %v, want ErrNotFound", err)
	}
	for _, r := range [][2]int64{{0, -1}, {5, 10}, {0, 0}} {
		if rc, err := s.OpenRange(ctx, key, r[0], r[1]); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OpenRange(%d, %d): %v, want ErrNotFound", r[0], r[1], err)
			if rc != nil {
				rc.Close()
			}
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("Delete of a missing object: %v, want nil", err)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("an empty store lists %v", keys)
	}
}

func testInvalidArguments(t *testing.T, s storage.BlobStore) {
	ctx := t.Context()
	p := Pattern{Seed: 3, Size: 100}
	key, d, _ := Put(t, s, p)
	for _, bad := range []string{"", "../x", "a/../../b", ".put-x", "a/.put-x", "a//b", "/a", "a/", "a b", "a\\b", strings.Repeat("a", 256)} {
		if _, err := s.Stat(ctx, bad); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q): %v, want ErrInvalidKey", bad, err)
		}
		if _, err := s.OpenRange(ctx, bad, 0, -1); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("OpenRange(%q): %v, want ErrInvalidKey", bad, err)
		}
		if _, err := s.Put(ctx, bad, p.Reader(), d); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", bad, err)
		}
		if err := s.Delete(ctx, bad); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q): %v, want ErrInvalidKey", bad, err)
		}
	}
	for _, r := range [][2]int64{{-1, 5}, {0, -2}, {101, -1}} {
		if _, err := s.OpenRange(ctx, key, r[0], r[1]); !errors.Is(err, storage.ErrInvalidRange) {
			t.Errorf("OpenRange(%d, %d): %v, want ErrInvalidRange", r[0], r[1], err)
		}
	}
	other := storage.KeyForSHA1(bytes.Repeat([]byte{1}, 20))
	for _, want := range []storage.Digests{{}, {SHA1: d.SHA1[:19]}, {SHA1: d.SHA1, SHA256: d.SHA256[:31]}} {
		if _, err := s.Put(ctx, other, p.Reader(), want); err == nil {
			t.Errorf("Put with digests of %d and %d bytes succeeded", len(want.SHA1), len(want.SHA256))
		}
	}
	if _, err := s.Stat(ctx, other); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after rejected Puts, Stat: %v, want ErrNotFound", err)
	}
}

// testDigestMismatch: input that does not match the expected digests is
// rejected with ErrDigestMismatch and leaves nothing visible; an object
// already at the key stays as it was.
func testDigestMismatch(t *testing.T, newStore NewStore) {
	for _, size := range []int64{1000, 20_000_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			good := Pattern{Seed: 7, Size: size}
			gd := good.Digests()
			key := storage.KeyForSHA1(gd.SHA1)
			other := Pattern{Seed: 8, Size: size}
			bad := []struct {
				name string
				r    func() io.Reader
				want storage.Digests
			}{
				{"other bytes", other.Reader, gd},
				{"wrong SHA-256", good.Reader, storage.Digests{SHA1: gd.SHA1, SHA256: other.Digests().SHA256}},
				{"one byte short", func() io.Reader { return io.LimitReader(good.Reader(), size-1) }, gd},
				{"one byte more", func() io.Reader { return io.MultiReader(good.Reader(), strings.NewReader("x")) }, gd},
			}
			check := func(stage string, previous *storage.ObjectInfo) {
				for _, b := range bad {
					_, err := s.Put(ctx, key, b.r(), b.want)
					if !errors.Is(err, storage.ErrDigestMismatch) {
						t.Errorf("%s, %s: Put: %v, want ErrDigestMismatch", stage, b.name, err)
					}
					st, err := s.Stat(ctx, key)
					switch {
					case previous == nil && !errors.Is(err, storage.ErrNotFound):
						t.Errorf("%s, %s: rejected object visible: Stat %+v, %v", stage, b.name, st, err)
					case previous != nil && (err != nil || !sameInfo(st, *previous)):
						t.Errorf("%s, %s: previous object changed: Stat %+v, %v; want %+v", stage, b.name, st, err, *previous)
					}
				}
				keys := listKeys(t, s)
				if previous == nil && len(keys) != 0 || previous != nil && !slices.Equal(keys, []string{key}) {
					t.Errorf("%s: List gives %v", stage, keys)
				}
			}
			check("empty store", nil)
			info, err := s.Put(ctx, key, good.Reader(), gd)
			if err != nil {
				t.Fatal(err)
			}
			check("over a stored object", &info)
			CheckRead(t, s, key, good, 0, -1)
		})
	}
}

// failingReader gives n bytes of p, then fails with err (after calling
// before, when set).
type failingReader struct {
	r      io.Reader
	n      int64
	err    error
	before func()
}

func (f *failingReader) Read(b []byte) (int, error) {
	if f.n <= 0 {
		if f.before != nil {
			f.before()
		}
		return 0, f.err
	}
	if int64(len(b)) > f.n {
		b = b[:f.n]
	}
	n, err := f.r.Read(b)
	f.n -= int64(n)
	return n, err
}

func testFailingInput(t *testing.T, s storage.BlobStore) {
	p := Pattern{Seed: 11, Size: 30_000_000}
	d := p.Digests()
	key := storage.KeyForSHA1(d.SHA1)
	broken := errors.New("disk on fire")
	for _, at := range []int64{100, 20_000_000} {
		_, err := s.Put(t.Context(), key, &failingReader{r: p.Reader(), n: at, err: broken}, d)
		if !errors.Is(err, broken) || errors.Is(err, storage.ErrDigestMismatch) {
			t.Errorf("input failing after %d bytes: Put: %v, want the input's error", at, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, err := s.Put(ctx, key, &failingReader{r: p.Reader(), n: 20_000_000, before: cancel, err: context.Canceled}, d)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled mid-way: Put: %v, want context.Canceled", err)
	}
	if _, err := s.Put(ctx, key, p.Reader(), d); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled before: Put: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after failed Puts, Stat: %v, want ErrNotFound", err)
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("after failed Puts, List gives %v", keys)
	}
}

func testReplace(t *testing.T, s storage.BlobStore) {
	p := Pattern{Seed: 5, Size: 12345}
	key, _, first := Put(t, s, p)
	_, _, second := Put(t, s, p)
	checkInfo(t, "second Put", second, key, p.Size)
	st, err := s.Stat(t.Context(), key)
	if err != nil || !sameInfo(st, second) {
		t.Errorf("Stat after the second Put = %+v, %v; want %+v (first was %+v)", st, err, second, first)
	}
	CheckRead(t, s, key, p, 0, -1)
	if keys := listKeys(t, s); !slices.Equal(keys, []string{key}) {
		t.Errorf("List gives %v, want just %s", keys, key)
	}
}

// listKeys lists the store, sorted.
func listKeys(t *testing.T, s storage.BlobStore) []string {
	t.Helper()
	var keys []string
	if err := s.List(t.Context(), func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	slices.Sort(keys)
	return keys
}

func testListAndDelete(t *testing.T, s storage.BlobStore) {
	ctx := t.Context()
	want := map[string]storage.ObjectInfo{}
	for i := range 25 {
		key, _, info := Put(t, s, Pattern{Seed: uint64(100 + i), Size: int64(i * 37)})
		want[key] = info
	}
	got := map[string]storage.ObjectInfo{}
	err := s.List(ctx, func(o storage.ObjectInfo) error {
		if _, dup := got[o.Key]; dup {
			t.Errorf("List gave %s twice", o.Key)
		}
		got[o.Key] = o
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("List gave %d objects, want %d", len(got), len(want))
	}
	for key, w := range want {
		g, ok := got[key]
		if !ok || g.Size != w.Size || g.ETag != w.ETag || !g.ModTime.Equal(w.ModTime) {
			t.Errorf("List: %s is %+v, want %+v", key, g, w)
		}
	}

	stop := errors.New("stop here")
	calls := 0
	if err := s.List(ctx, func(storage.ObjectInfo) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing callback: %v after %d calls, want the callback's error after 1", err, calls)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.List(canceled, func(storage.ObjectInfo) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context: %v", err)
	}

	var deleted []string
	for key := range want {
		if len(deleted) == 5 {
			break
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("second Delete of %s: %v", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
		}
		if _, err := s.OpenRange(ctx, key, 0, -1); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OpenRange after Delete: %v, want ErrNotFound", err)
		}
		deleted = append(deleted, key)
	}
	keys := listKeys(t, s)
	if len(keys) != len(want)-len(deleted) {
		t.Errorf("after 5 Deletes List gives %d objects, want %d", len(keys), len(want)-5)
	}
	for _, key := range deleted {
		if slices.Contains(keys, key) {
			t.Errorf("deleted %s still listed", key)
		}
	}
}
