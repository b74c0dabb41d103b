// Package maintain keeps a blob store in step with the catalog, whatever
// the store: Verify re-reads every stored payload and checks it against its
// metadata (size, SHA-1, SHA-256); CollectGarbage deletes the payloads that
// no non-declined update references any more, and the leftovers of writes
// that never finished. `wsusd content verify` and `wsusd content gc` run
// them.
package maintain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/storage"
)

// Catalog is the part of the catalog store maintenance reads.
type Catalog interface {
	Summaries(ctx context.Context) ([]catalog.Summary, error)
	UpdateStates(ctx context.Context) ([]catalog.UpdateState, error)
	Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error)
	FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error)
}

// Blobs is the part of a blob store maintenance uses.
type Blobs interface {
	List(ctx context.Context, fn func(storage.ObjectInfo) error) error
	OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// Sweeper is a store that can remove what interrupted writes left behind
// (storage.FS temporary files, S3 incomplete multipart uploads).
type Sweeper interface {
	SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error)
}

// Finding is one object that is not what the catalog says.
type Finding struct {
	Key     string
	Problem string
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// DeleteCorrupt deletes the objects found corrupt, so that the next
	// import stores them again (clients never get bytes that fail their
	// digest check; they get 404 until then).
	DeleteCorrupt bool
	// Parallel is how many objects are read at once; zero means 4.
	Parallel int
	// Logger receives one line per finding; nil discards them.
	Logger *slog.Logger
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	// Checked counts the objects read and hashed, Bytes their bytes.
	Checked int
	Bytes   int64
	// Corrupt lists objects whose size or digests differ from the metadata.
	Corrupt []Finding
	// Unknown lists objects whose SHA-1 the catalog does not list (gc
	// deletes them); Foreign, keys that do not name a SHA-1 at all.
	Unknown []string
	Foreign []string
	// Deleted counts the corrupt objects deleted (DeleteCorrupt).
	Deleted int
}

// batchSize is how many revision IDs one Files call asks for.
const batchSize = 500

// Verify reads every stored object and checks its size, SHA-1 and SHA-256
// against the catalog's metadata of the file its key names. Objects that
// vanish while it runs are skipped; any other read failure (the store is
// down) stops it with an error.
func Verify(ctx context.Context, cat Catalog, blobs Blobs, opts VerifyOptions) (VerifyReport, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	objects, err := listAll(ctx, blobs)
	if err != nil {
		return VerifyReport{}, err
	}
	var (
		mu   sync.Mutex
		rep  VerifyReport
		work = make(chan storage.ObjectInfo)
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	for range parallel {
		wg.Go(func() {
			for o := range work {
				res, err := verifyObject(ctx, cat, blobs, o)
				if err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				switch {
				case res.foreign:
					rep.Foreign = append(rep.Foreign, o.Key)
				case res.unknown:
					rep.Unknown = append(rep.Unknown, o.Key)
				case res.checked:
					rep.Checked++
					rep.Bytes += res.bytes
				}
				if res.problem != "" {
					rep.Corrupt = append(rep.Corrupt, Finding{Key: o.Key, Problem: res.problem})
				}
				mu.Unlock()
				if res.problem != "" {
					log.WarnContext(ctx, "content: corrupt object", "key", o.Key, "problem", res.problem)
				}
			}
		})
	}
	for _, o := range objects {
		if ctx.Err() != nil {
			break
		}
		work <- o
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return rep, fmt.Errorf("maintain: verify: %w", err)
	}
	slices.SortFunc(rep.Corrupt, func(a, b Finding) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(rep.Unknown)
	slices.Sort(rep.Foreign)
	if opts.DeleteCorrupt {
		for _, f := range rep.Corrupt {
			if err := blobs.Delete(ctx, f.Key); err != nil {
				return rep, fmt.Errorf("maintain: verify: delete corrupt %s: %w", f.Key, err)
			}
			log.InfoContext(ctx, "content: deleted corrupt object", "key", f.Key)
			rep.Deleted++
		}
	}
	return rep, nil
}

// verified is the outcome of checking one object.
type verified struct {
	foreign, unknown, checked bool
	bytes                     int64
	problem                   string // empty when the object is sound
}

// verifyObject checks one object against its metadata.
func verifyObject(ctx context.Context, cat Catalog, blobs Blobs, o storage.ObjectInfo) (verified, error) {
	sum, err := storage.SHA1FromKey(o.Key)
	if err != nil {
		return verified{foreign: true}, nil
	}
	meta, err := cat.FileBySHA1(ctx, sum)
	if errors.Is(err, catalog.ErrNotFound) {
		return verified{unknown: true}, nil
	}
	if err != nil {
		return verified{}, fmt.Errorf("look up %s: %w", o.Key, err)
	}
	v, err := storage.NewVerifier(storage.Digests{SHA1: meta.SHA1, SHA256: meta.SHA256})
	if err != nil {
		return verified{}, fmt.Errorf("metadata of %s: %w", o.Key, err)
	}
	rc, err := blobs.OpenRange(ctx, o.Key, 0, -1)
	if errors.Is(err, storage.ErrNotFound) {
		return verified{}, nil // deleted meanwhile
	}
	if err != nil {
		return verified{}, err
	}
	defer rc.Close()
	n, err := io.CopyBuffer(v, rc, make([]byte, 256<<10))
	if err != nil {
		return verified{}, fmt.Errorf("read %s: %w", o.Key, err)
	}
	res := verified{checked: true, bytes: n}
	if n != meta.Size {
		res.problem = fmt.Sprintf("%d bytes, metadata says %d", n, meta.Size)
	} else if err := v.Verify(); err != nil {
		res.problem = err.Error()
	}
	return res, nil
}

// listAll lists the store.
func listAll(ctx context.Context, blobs Blobs) ([]storage.ObjectInfo, error) {
	var objects []storage.ObjectInfo
	err := blobs.List(ctx, func(o storage.ObjectInfo) error {
		objects = append(objects, o)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("maintain: %w", err)
	}
	return objects, nil
}

// GCOptions tune CollectGarbage.
type GCOptions struct {
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// MinAge spares objects (and incomplete writes) younger than it,
	// whatever the catalog says.
	MinAge time.Duration
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// GCReport is what CollectGarbage did (or, with DryRun, would do).
type GCReport struct {
	// Referenced counts the distinct files of non-declined updates.
	Referenced int
	// Kept counts stored objects still referenced.
	Kept int
	// Deleted lists the unreferenced objects deleted, DeletedBytes their size.
	Deleted      []string
	DeletedBytes int64
	// Young counts unreferenced objects spared by MinAge.
	Young int
	// Foreign counts objects whose key names no SHA-1; they are left alone.
	Foreign int
	// Incomplete counts the leftovers of interrupted writes removed.
	Incomplete int
}

// CollectGarbage deletes the stored payloads that no revision of a
// non-declined update lists (declined updates are offered to nobody;
// their approvals stay, and un-declining one needs its payloads imported
// again). Objects younger than MinAge are spared.
//
// The store is listed before the catalog is read: the importer adds
// revisions before it stores their payloads, so every payload listed
// belongs to a revision the catalog already holds, and an import running
// meanwhile loses nothing.
func CollectGarbage(ctx context.Context, cat Catalog, blobs Blobs, opts GCOptions) (GCReport, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	cutoff := now().Add(-opts.MinAge)
	objects, err := listAll(ctx, blobs)
	if err != nil {
		return GCReport{}, err
	}
	referenced, err := referencedFiles(ctx, cat)
	if err != nil {
		return GCReport{}, err
	}
	rep := GCReport{Referenced: len(referenced)}
	for _, o := range objects {
		sum, err := storage.SHA1FromKey(o.Key)
		switch {
		case err != nil:
			rep.Foreign++
			continue
		case referenced[[20]byte(sum)]:
			rep.Kept++
			continue
		case !o.ModTime.Before(cutoff):
			rep.Young++
			continue
		}
		if !opts.DryRun {
			if err := blobs.Delete(ctx, o.Key); err != nil {
				return rep, fmt.Errorf("maintain: gc: %w", err)
			}
			log.InfoContext(ctx, "content: deleted unreferenced object", "key", o.Key, "size", o.Size)
		}
		rep.Deleted = append(rep.Deleted, o.Key)
		rep.DeletedBytes += o.Size
	}
	if sw, ok := blobs.(Sweeper); ok && !opts.DryRun {
		n, err := sw.SweepIncomplete(ctx, cutoff)
		rep.Incomplete = n
		if err != nil {
			return rep, fmt.Errorf("maintain: gc: %w", err)
		}
	}
	slices.Sort(rep.Deleted)
	return rep, nil
}

// referencedFiles returns the SHA-1 of every file of every revision of a
// non-declined update.
func referencedFiles(ctx context.Context, cat Catalog) (map[[20]byte]bool, error) {
	states, err := cat.UpdateStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("maintain: update states: %w", err)
	}
	declined := map[uuid.UUID]bool{}
	for _, s := range states {
		if s.Declined {
			declined[s.UpdateID] = true
		}
	}
	sums, err := cat.Summaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("maintain: revisions: %w", err)
	}
	var ids []int32
	for _, s := range sums {
		if s.HasFiles && !declined[s.UpdateID] {
			ids = append(ids, s.ID)
		}
	}
	referenced := map[[20]byte]bool{}
	for batch := range slices.Chunk(ids, batchSize) {
		files, err := cat.Files(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("maintain: files: %w", err)
		}
		for _, fs := range files {
			for _, f := range fs {
				if len(f.SHA1) == 20 {
					referenced[[20]byte(f.SHA1)] = true
				}
			}
		}
	}
	return referenced, nil
}
