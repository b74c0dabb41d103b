package maintain_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/sqlite"
	"wsus/clientsim/catalogen"
	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/blobtest"
	"wsus/storage/maintain"
	"wsus/storage/s3store"
	"wsus/sync/importer"
)

// store is a blob store under test plus a way to reach its bytes behind
// its back (to damage them).
type store struct {
	storage.BlobStore
	// path is where the bytes of key live on disk.
	path func(key string) string
}

// stores opens one store of each kind.
var stores = []struct {
	name string
	open func(t *testing.T) store
}{
	{"fs", func(t *testing.T) store {
		dir := t.TempDir()
		s, err := storage.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return store{s, func(key string) string { return filepath.Join(dir, key) }}
	}},
	{"s3", func(t *testing.T) store {
		srv := tests3.Start(t)
		bucket := fmt.Sprintf("maintain-%d", rand.Uint64())
		s, err := s3store.Open(t.Context(), s3store.Config{
			Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true, Bucket: bucket, Prefix: "p",
			AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, StatCacheTTL: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		// versitygw's posix backend keeps object <bucket>/<key> as that file.
		return store{s, func(key string) string { return filepath.Join(srv.Dir(), bucket, "p", key) }}
	}},
}

// fixture imports a generated catalog with payloads into a new embedded
// catalog and the store.
func fixture(t *testing.T, blobs storage.BlobStore) *sqlite.Store {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen")
	if _, err := catalogen.Write(ctx, gen, catalogen.Options{Updates: 40, Seed: 7, Payloads: true, Revisions: 0.3}); err != nil {
		t.Fatal(err)
	}
	cat, err := sqlite.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	res, err := importer.Import(ctx, cat, blobs, []string{gen}, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Payloads < 10 {
		t.Fatalf("the generated catalog has %d payloads; the tests need more", res.Payloads)
	}
	return cat
}

// keys lists the store, sorted.
func keys(t *testing.T, s storage.BlobStore) []string {
	t.Helper()
	var out []string
	if err := s.List(t.Context(), func(o storage.ObjectInfo) error { out = append(out, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// putForeign stores an object under a key that names no SHA-1.
func putForeign(t *testing.T, s storage.BlobStore) string {
	t.Helper()
	p := blobtest.Pattern{Seed: 1, Size: 10}
	if _, err := s.Put(t.Context(), "misc/readme", p.Reader(), p.Digests()); err != nil {
		t.Fatal(err)
	}
	return "misc/readme"
}

func TestVerify(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			s := st.open(t)
			cat := fixture(t, s)
			payloads := keys(t, s)

			rep, err := maintain.Verify(ctx, cat, s, maintain.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Checked != len(payloads) || len(rep.Corrupt)+len(rep.Unknown)+len(rep.Foreign) != 0 || rep.Bytes == 0 {
				t.Fatalf("sound store: %+v; want %d checked, no findings", rep, len(payloads))
			}

			// Damage two payloads behind the store's back: one flipped byte,
			// one cut short. Add a payload the catalog does not list, and a
			// foreign object.
			flipped, cut := payloads[0], payloads[1]
			b, err := os.ReadFile(s.path(flipped))
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(s.path(flipped), b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(s.path(cut), 100); err != nil {
				t.Fatal(err)
			}
			unknown, _, _ := blobtest.Put(t, s, blobtest.Pattern{Seed: 2, Size: 1000})
			foreign := putForeign(t, s)

			rep, err = maintain.Verify(ctx, cat, s, maintain.VerifyOptions{Parallel: 2})
			if err != nil {
				t.Fatal(err)
			}
			want := []maintain.Finding{{Key: flipped, Problem: "SHA-1"}, {Key: cut, Problem: "100 bytes, metadata says"}}
			slices.SortFunc(want, func(a, b maintain.Finding) int { return strings.Compare(a.Key, b.Key) })
			if len(rep.Corrupt) != 2 || rep.Checked != len(payloads) {
				t.Fatalf("damaged store: %+v; want %d checked and 2 corrupt", rep, len(payloads))
			}
			for i, f := range rep.Corrupt {
				if f.Key != want[i].Key || !strings.Contains(f.Problem, want[i].Problem) {
					t.Errorf("finding %d: %+v, want %s with a problem mentioning %q", i, f, want[i].Key, want[i].Problem)
				}
			}
			if !slices.Equal(rep.Unknown, []string{unknown}) || !slices.Equal(rep.Foreign, []string{foreign}) {
				t.Errorf("unknown %v foreign %v; want [%s] [%s]", rep.Unknown, rep.Foreign, unknown, foreign)
			}

			rep, err = maintain.Verify(ctx, cat, s, maintain.VerifyOptions{DeleteCorrupt: true})
			if err != nil || rep.Deleted != 2 {
				t.Fatalf("DeleteCorrupt: %+v, %v; want 2 deleted", rep, err)
			}
			for _, k := range []string{flipped, cut} {
				if _, err := s.Stat(ctx, k); err == nil {
					t.Errorf("corrupt %s still stored", k)
				}
			}
			if rep, err := maintain.Verify(ctx, cat, s, maintain.VerifyOptions{}); err != nil || len(rep.Corrupt) != 0 || rep.Checked != len(payloads)-2 {
				t.Errorf("after deleting: %+v, %v", rep, err)
			}
		})
	}
}

// referencedByOthers reports whether a revision of an update other than
// declined lists the file.
func referencedByOthers(t *testing.T, cat catalog.Store, sha1 []byte, declined uuid.UUID) bool {
	t.Helper()
	sums, err := cat.Summaries(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sums {
		if s.UpdateID == declined || !s.HasFiles {
			continue
		}
		files, err := cat.Files(t.Context(), []int32{s.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files[s.ID] {
			if bytes.Equal(f.SHA1, sha1) {
				return true
			}
		}
	}
	return false
}

func TestCollectGarbage(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			s := st.open(t)
			cat := fixture(t, s)
			payloads := keys(t, s)

			// Decline a software update with files: its payloads that no
			// other update lists become garbage.
			sums, err := cat.Summaries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var victim catalog.Summary
			for _, sm := range sums {
				if sm.HasFiles && sm.Type == catalog.TypeSoftware {
					victim = sm
					break
				}
			}
			if err := cat.SetDeclined(ctx, victim.UpdateID, true); err != nil {
				t.Fatal(err)
			}
			var garbage []string
			for _, sm := range sums {
				if sm.UpdateID != victim.UpdateID {
					continue
				}
				files, err := cat.Files(ctx, []int32{sm.ID})
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range files[sm.ID] {
					if k := storage.KeyForSHA1(f.SHA1); !referencedByOthers(t, cat, f.SHA1, victim.UpdateID) && !slices.Contains(garbage, k) {
						garbage = append(garbage, k)
					}
				}
			}
			if len(garbage) == 0 {
				t.Fatal("the declined update's files are all shared; pick another fixture")
			}
			unknown, _, _ := blobtest.Put(t, s, blobtest.Pattern{Seed: 3, Size: 500})
			garbage = append(garbage, unknown)
			slices.Sort(garbage)
			foreign := putForeign(t, s)

			// Everything is young: nothing goes.
			rep, err := maintain.CollectGarbage(ctx, cat, s, maintain.GCOptions{MinAge: time.Hour})
			if err != nil || len(rep.Deleted) != 0 || rep.Young != len(garbage) || rep.Foreign != 1 {
				t.Fatalf("young objects: %+v, %v; want %d young, none deleted", rep, err, len(garbage))
			}
			later := func() time.Time { return time.Now().Add(2 * time.Hour) }
			rep, err = maintain.CollectGarbage(ctx, cat, s, maintain.GCOptions{MinAge: time.Hour, Now: later, DryRun: true})
			if err != nil || !slices.Equal(rep.Deleted, garbage) {
				t.Fatalf("dry run: %+v, %v; want %v listed", rep, err, garbage)
			}
			if got := keys(t, s); len(got) != len(payloads)+2 {
				t.Fatalf("the dry run deleted objects: %d left", len(got))
			}

			rep, err = maintain.CollectGarbage(ctx, cat, s, maintain.GCOptions{MinAge: time.Hour, Now: later})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rep.Deleted, garbage) || rep.Kept != len(payloads)+1-len(garbage) || rep.Foreign != 1 || rep.DeletedBytes == 0 {
				t.Errorf("gc: %+v; want %v deleted, %d kept", rep, garbage, len(payloads)+1-len(garbage))
			}
			left := keys(t, s)
			for _, k := range garbage {
				if slices.Contains(left, k) {
					t.Errorf("%s still stored", k)
				}
			}
			if !slices.Contains(left, foreign) || len(left) != len(payloads)+2-len(garbage) {
				t.Errorf("left %d objects, want %d including %s", len(left), len(payloads)+2-len(garbage), foreign)
			}
			// Every payload a non-declined update lists is still there.
			for _, k := range left {
				sum, err := storage.SHA1FromKey(k)
				if err != nil {
					continue
				}
				if !referencedByOthers(t, cat, sum, victim.UpdateID) {
					t.Errorf("%s kept although no non-declined update lists it", k)
				}
			}
			if rep, err := maintain.CollectGarbage(ctx, cat, s, maintain.GCOptions{Now: later}); err != nil || len(rep.Deleted) != 0 {
				t.Errorf("second gc: %+v, %v; want nothing to do", rep, err)
			}
		})
	}
}

// TestCollectGarbageSweepsIncomplete: leftovers of interrupted Puts older
// than MinAge go too.
func TestCollectGarbageSweepsIncomplete(t *testing.T) {
	dir := t.TempDir()
	s, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cat := fixture(t, s)
	tmp := filepath.Join(dir, "ab", ".put-CRASHED")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := maintain.CollectGarbage(context.Background(), cat, s, maintain.GCOptions{MinAge: time.Hour, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if err != nil || rep.Incomplete != 1 {
		t.Fatalf("gc: %+v, %v; want 1 incomplete write swept", rep, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary file still there: %v", err)
	}
}
