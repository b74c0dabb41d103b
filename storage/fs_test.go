package storage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// testData returns n deterministic, non-repeating-looking bytes.
func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func digestsOf(data []byte) Digests {
	s1, s256 := sha1.Sum(data), sha256.Sum256(data)
	return Digests{SHA1: s1[:], SHA256: s256[:]}
}

func newTestFS(t *testing.T) (*FS, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// putData stores data under its SHA-1 key and returns the key.
func putData(t *testing.T, s *FS, data []byte) string {
	t.Helper()
	want := digestsOf(data)
	key := KeyForSHA1(want.SHA1)
	if _, err := s.Put(context.Background(), key, bytes.NewReader(data), want); err != nil {
		t.Fatal(err)
	}
	return key
}

// filesIn lists every file under dir, dot files included, as slash paths.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func TestFSPut(t *testing.T) {
	ctx := context.Background()
	data := testData(300_000) // more than one copy buffer
	good := digestsOf(data)
	bad := digestsOf([]byte("something else"))
	key := KeyForSHA1(good.SHA1)
	tests := []struct {
		name     string
		want     Digests
		r        io.Reader
		mismatch bool // error wraps ErrDigestMismatch
		fails    bool // any error
	}{
		{"sha1 only", Digests{SHA1: good.SHA1}, bytes.NewReader(data), false, false},
		{"sha1 and sha256", good, bytes.NewReader(data), false, false},
		{"one byte at a time", good, iotest.OneByteReader(bytes.NewReader(data)), false, false},
		{"wrong sha1", Digests{SHA1: bad.SHA1}, bytes.NewReader(data), true, true},
		{"wrong sha256", Digests{SHA1: good.SHA1, SHA256: bad.SHA256}, bytes.NewReader(data), true, true},
		{"truncated stream", good, bytes.NewReader(data[:len(data)-1]), true, true},
		{"reader fails", good, io.MultiReader(bytes.NewReader(data[:200_000]), iotest.ErrReader(errors.New("network down"))), false, true},
		{"missing sha1", Digests{SHA256: good.SHA256}, bytes.NewReader(data), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newTestFS(t)
			info, err := s.Put(ctx, key, tt.r, tt.want)
			if errors.Is(err, ErrDigestMismatch) != tt.mismatch || (err != nil) != tt.fails {
				t.Fatalf("Put = %v; want mismatch %v, failure %v", err, tt.mismatch, tt.fails)
			}
			if tt.fails {
				if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
					t.Errorf("Stat after failed Put = %v, want ErrNotFound", err)
				}
				if files := filesIn(t, dir); len(files) != 0 {
					t.Errorf("files left after failed Put: %q", files)
				}
				return
			}
			if info.Key != key || info.Size != int64(len(data)) {
				t.Errorf("Put info = %+v, want key %s size %d", info, key, len(data))
			}
			if files := filesIn(t, dir); !slices.Equal(files, []string{key}) {
				t.Errorf("files = %q, want just %s", files, key)
			}
			stored, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
			if err != nil || !bytes.Equal(stored, data) {
				t.Errorf("stored file differs from data (err %v)", err)
			}
			st, err := s.Stat(ctx, key)
			if err != nil || st != info {
				t.Errorf("Stat = %+v, %v; want %+v (what Put returned)", st, err, info)
			}
		})
	}
}

func TestFSPutMismatchKeepsOldObject(t *testing.T) {
	ctx := context.Background()
	s, dir := newTestFS(t)
	data := testData(1000)
	key := putData(t, s, data)
	before, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(ctx, key, strings.NewReader("corrupt download"), digestsOf(data))
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Put of corrupt bytes = %v, want ErrDigestMismatch", err)
	}
	after, err := s.Stat(ctx, key)
	if err != nil || after != before {
		t.Errorf("Stat after failed Put = %+v, %v; want unchanged %+v", after, err, before)
	}
	if files := filesIn(t, dir); !slices.Equal(files, []string{key}) {
		t.Errorf("files = %q, want just %s", files, key)
	}
}

func TestFSPutTwice(t *testing.T) {
	ctx := context.Background()
	s, dir := newTestFS(t)
	data := testData(4096)
	key := putData(t, s, data)
	info, err := s.Put(ctx, key, bytes.NewReader(data), digestsOf(data))
	if err != nil {
		t.Fatalf("second Put: %v", err)
	}
	if info.Size != 4096 {
		t.Errorf("size %d, want 4096", info.Size)
	}
	if files := filesIn(t, dir); !slices.Equal(files, []string{key}) {
		t.Errorf("files = %q, want just %s", files, key)
	}
}

func TestFSPutCanceled(t *testing.T) {
	s, dir := newTestFS(t)
	data := testData(100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Put(ctx, KeyForSHA1(digestsOf(data).SHA1), bytes.NewReader(data), digestsOf(data))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with canceled context = %v, want context.Canceled", err)
	}
	if files := filesIn(t, dir); len(files) != 0 {
		t.Errorf("files left: %q", files)
	}
}

func TestFSStat(t *testing.T) {
	ctx := context.Background()
	s, dir := newTestFS(t)
	key := putData(t, s, testData(10))
	info, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	wantETag := fmt.Sprintf(`"%x:a"`, fi.ModTime().UnixNano())
	if info.Key != key || info.Size != 10 || !info.ModTime.Equal(fi.ModTime()) || info.ETag != wantETag {
		t.Errorf("Stat = %+v, want size 10, mtime %v, ETag %s", info, fi.ModTime(), wantETag)
	}

	// A fresh FS on the same directory (a restart) reports the same validators.
	s2, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if again, err := s2.Stat(ctx, key); err != nil || again != info {
		t.Errorf("Stat after reopen = %+v, %v; want %+v", again, err, info)
	}

	if err := os.Mkdir(filepath.Join(dir, "dironly"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, missing := range []string{"00/0000000000000000000000000000000000000000", "dironly"} {
		if _, err := s.Stat(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", missing, err)
		}
	}
}

func TestFSOpenRange(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFS(t)
	data := testData(1000)
	key := putData(t, s, data)
	emptyKey := putData(t, s, nil)
	tests := []struct {
		name           string
		key            string
		offset, length int64
		want           []byte
		err            error
	}{
		{"whole", key, 0, -1, data, nil},
		{"middle", key, 100, 50, data[100:150], nil},
		{"first byte", key, 0, 1, data[:1], nil},
		{"last byte", key, 999, 1, data[999:], nil},
		{"to end", key, 990, -1, data[990:], nil},
		{"length past end is cut", key, 990, 100, data[990:], nil},
		{"zero length", key, 10, 0, []byte{}, nil},
		{"offset at end", key, 1000, -1, []byte{}, nil},
		{"empty object", emptyKey, 0, -1, []byte{}, nil},
		{"offset past end", key, 1001, -1, nil, ErrInvalidRange},
		{"offset past end of empty object", emptyKey, 1, 1, nil, ErrInvalidRange},
		{"negative offset", key, -1, 10, nil, ErrInvalidRange},
		{"negative length", key, 0, -2, nil, ErrInvalidRange},
		{"missing", "00/0000000000000000000000000000000000000000", 0, -1, nil, ErrNotFound},
		{"invalid key", "../etc/passwd", 0, -1, nil, ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := s.OpenRange(ctx, tt.key, tt.offset, tt.length)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("OpenRange = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("read %d bytes (err %v), want %d bytes data[%d:]", len(got), err, len(tt.want), tt.offset)
			}
		})
	}
}

// Readers of one object must not disturb each other, nor be disturbed by
// the object being put again.
func TestFSConcurrentReaders(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFS(t)
	data := testData(256 << 10)
	key := putData(t, s, data)
	const piece = 16 << 10
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range len(data) / piece {
				off := int64((i*5 + g) % (len(data) / piece) * piece)
				rc, err := s.OpenRange(ctx, key, off, piece)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data[off:off+piece]) {
					errs <- fmt.Errorf("piece at %d: %d bytes, err %v, wrong content", off, len(got), err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 4 {
			if _, err := s.Put(ctx, key, bytes.NewReader(data), digestsOf(data)); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFSList(t *testing.T) {
	ctx := context.Background()
	s, dir := newTestFS(t)
	want := map[string]int64{}
	for _, n := range []int{0, 10, 5000} {
		want[putData(t, s, testData(n+1))] = int64(n + 1)
	}
	// Not objects: a crashed Put's temp file, a dot directory, a name that
	// is not a valid key, a symbolic link.
	for name, content := range map[string]string{
		"ab/.put-CRASHED": "partial",
		".trash/old":      "x",
		"ab/bad name.exe": "x",
		"ab/also:bad":     "x",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	got := map[string]int64{}
	err := s.List(ctx, func(info ObjectInfo) error {
		st, err := s.Stat(ctx, info.Key)
		if err != nil || st != info {
			t.Errorf("listed %+v, Stat says %+v, %v", info, st, err)
		}
		got[info.Key] = info.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List = %v, want %v", got, want)
	}

	stop := errors.New("stop")
	calls := 0
	err = s.List(ctx, func(ObjectInfo) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with failing fn = %v after %d calls, want stop after 1", err, calls)
	}
}

func TestFSDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFS(t)
	key := putData(t, s, testData(10))
	other := putData(t, s, testData(11))
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if _, err := s.Stat(ctx, other); err != nil {
		t.Errorf("other object: %v", err)
	}
	if err := s.Delete(ctx, "../x"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Delete(../x) = %v, want ErrInvalidKey", err)
	}
}

// No key reaches outside the store: invalid keys are refused, and symbolic
// links inside the directory are not followed out of it.
func TestFSKeysCannotEscape(t *testing.T) {
	ctx := context.Background()
	s, dir := newTestFS(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	for _, key := range []string{"../secret", "/etc/passwd", "evil/../../secret", `..\secret`} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.OpenRange(ctx, key, 0, -1); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("OpenRange(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Put(ctx, key, bytes.NewReader(data), digestsOf(data)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	// "evil/secret" is a valid key, but resolves outside through the link.
	if info, err := s.Stat(ctx, "evil/secret"); err == nil {
		t.Errorf("Stat through symlink = %+v, want an error", info)
	}
	if rc, err := s.OpenRange(ctx, "evil/secret", 0, -1); err == nil {
		rc.Close()
		t.Error("OpenRange through symlink succeeded")
	}
	if _, err := s.Put(ctx, "evil/new", bytes.NewReader(data), digestsOf(data)); err == nil {
		t.Error("Put through symlink succeeded")
	}
	if err := s.Delete(ctx, "evil/secret"); err == nil {
		t.Error("Delete through symlink succeeded")
	}
	if files := filesIn(t, outside); !slices.Equal(files, []string{"secret"}) {
		t.Errorf("outside dir now holds %q", files)
	}
}

func TestFSSweepIncomplete(t *testing.T) {
	s, dir := newTestFS(t)
	key := putData(t, s, testData(100))
	old, fresh := filepath.Join(dir, "ab", ".put-OLD"), filepath.Join(dir, "ab", ".put-NEW")
	for _, p := range []string{old, fresh} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepIncomplete(context.Background(), time.Now().Add(-24*time.Hour))
	if n != 1 || err != nil {
		t.Fatalf("SweepIncomplete = %d, %v; want 1", n, err)
	}
	want := []string{"ab/.put-NEW", key}
	slices.Sort(want)
	if got := filesIn(t, dir); !slices.Equal(got, want) {
		t.Errorf("files left %v, want %v", got, want)
	}
}
