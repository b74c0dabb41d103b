package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// FS is a BlobStore on a local directory: the object at key "49/a3...49" is
// the regular file <dir>/49/a3...49. All access goes through an os.Root, so
// nothing outside the directory is ever touched, symbolic links included.
//
// Put writes a temporary file ".put-<random>" beside the final one, fsyncs
// it, renames it over the key and fsyncs the directory, so readers see
// either the old object or the complete new one. Temporary files left by a
// crash are never listed or served; they can be deleted by hand. FS is safe
// for concurrent use.
type FS struct {
	root *os.Root
}

var _ BlobStore = (*FS)(nil)

// tempPrefix starts the names of Put's temporary files; CheckKey rejects
// every key with a segment starting with a dot, so no key can name one.
const tempPrefix = ".put-"

// copyBufSize is the buffer Put copies with.
const copyBufSize = 256 << 10

// NewFS opens (creating it if needed) the store in directory dir. Close it
// when done.
func NewFS(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	return &FS{root: root}, nil
}

// String names the store for logs: its directory.
func (s *FS) String() string { return s.root.Name() }

// Close releases the directory handle.
func (s *FS) Close() error {
	return s.root.Close()
}

// Stat implements BlobStore. Only regular files are objects.
func (s *FS) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := checkCall(ctx, key); err != nil {
		return ObjectInfo{}, err
	}
	fi, err := s.root.Stat(key)
	if err != nil {
		return ObjectInfo{}, fsError("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, fmt.Errorf("storage: stat %s: not a regular file: %w", key, ErrNotFound)
	}
	return objectInfo(key, fi), nil
}

// OpenRange implements BlobStore. The reader reads with pread, so readers of
// one object do not disturb each other.
func (s *FS) OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := checkCall(ctx, key); err != nil {
		return nil, err
	}
	if offset < 0 || length < -1 {
		return nil, fmt.Errorf("storage: open %s: offset %d length %d: %w", key, offset, length, ErrInvalidRange)
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, fsError("open", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("storage: open %s: not a regular file: %w", key, ErrNotFound)
	}
	size := fi.Size()
	if offset > size {
		f.Close()
		return nil, fmt.Errorf("storage: open %s: offset %d beyond size %d: %w", key, offset, size, ErrInvalidRange)
	}
	if length == -1 || length > size-offset {
		length = size - offset
	}
	return &fileRange{Reader: io.NewSectionReader(f, offset, length), f: f}, nil
}

// fileRange is the reader OpenRange returns.
type fileRange struct {
	io.Reader
	f *os.File
}

func (r *fileRange) Close() error { return r.f.Close() }

// Put implements BlobStore.
func (s *FS) Put(ctx context.Context, key string, r io.Reader, want Digests) (_ ObjectInfo, err error) {
	if err := checkCall(ctx, key); err != nil {
		return ObjectInfo{}, err
	}
	v, err := NewVerifier(want)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	dir := path.Dir(key)
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	tmp := path.Join(dir, tempPrefix+rand.Text())
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	defer func() {
		if err != nil { // undo: close (again, harmlessly) and drop the temp file
			f.Close()
			s.root.Remove(tmp)
		}
	}()

	buf := make([]byte, copyBufSize)
	if _, err := io.CopyBuffer(io.MultiWriter(f, v), &ctxReader{ctx: ctx, r: r}, buf); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	if err := v.Verify(); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: sync: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: close: %w", key, err)
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: rename: %w", key, err)
	}
	// The object is visible now; a failed directory sync only means the
	// rename might not survive a crash. Put is idempotent, so callers retry.
	if err := s.syncDir(dir); err != nil {
		return ObjectInfo{}, fmt.Errorf("storage: put %s: %w", key, err)
	}
	return objectInfo(key, fi), nil
}

// syncDir makes a rename in dir durable.
func (s *FS) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// Delete implements BlobStore.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := checkCall(ctx, key); err != nil {
		return err
	}
	fi, err := s.root.Lstat(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("storage: delete %s: not a regular file", key)
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	return nil
}

// List implements BlobStore. It skips temporary files and anything else
// whose name is not a valid key or that is not a regular file.
func (s *FS) List(ctx context.Context, fn func(ObjectInfo) error) error {
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || CheckKey(p) != nil {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while listing
		}
		if err != nil {
			return err
		}
		return fn(objectInfo(p, fi))
	})
	if err != nil {
		return fmt.Errorf("storage: list: %w", err)
	}
	return nil
}

// SweepIncomplete removes the temporary files of Puts that never finished
// (a crash) last written before cutoff, and returns how many it removed.
func (s *FS) SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // renamed into place meanwhile
		}
		if err != nil {
			return err
		}
		if !fi.ModTime().Before(cutoff) {
			return nil
		}
		if err := s.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("storage: sweep: %w", err)
	}
	return n, nil
}

// checkCall is the common argument check of every FS method.
func checkCall(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %s: %w", key, err)
	}
	return nil
}

// fsError wraps an os error, mapping "does not exist" to ErrNotFound.
func fsError(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: %s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("storage: %s %s: %w", op, key, err)
}

// objectInfo describes the file fi stored at key. The ETag is built like
// IIS's ("<hex>:<n>"), from the modification time in nanoseconds and the
// size: every Put rewrites the file, so a new object gets a new ETag, while
// an untouched object keeps its ETag across restarts. (Two Puts within one
// tick of the file system clock can share a modification time; under a
// KeyForSHA1 key they store the same bytes, so the ETag is still right.)
func objectInfo(key string, fi fs.FileInfo) ObjectInfo {
	mt := fi.ModTime()
	return ObjectInfo{
		Key:     key,
		Size:    fi.Size(),
		ModTime: mt,
		ETag: `"` + strconv.FormatInt(mt.UnixNano(), 16) + ":" +
			strconv.FormatInt(fi.Size(), 16) + `"`,
	}
}

// ctxReader stops a Put copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
