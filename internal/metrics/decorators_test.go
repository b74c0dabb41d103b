package metrics

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsus/catalog"
	"wsus/catalog/storetest"
	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/blobtest"
	"wsus/storage/s3store"
)

// TestCatalogDecoratorConformance runs the catalog conformance suite on a
// real embedded store through the decorator: it changes no answer.
func TestCatalogDecoratorConformance(t *testing.T) {
	m := New(Options{})
	storetest.Run(t, func(t *testing.T) catalog.Store { return m.Catalog(openSQLite(t)) })
	// The suite made the calls of the request path: they were timed.
	for _, op := range []string{"Summaries", "ChangeSequence", "RegisterComputer", "RecordSync", "Fragments", "Stats"} {
		if n := observations(t, m, "wsus_store_operation_duration_seconds", op); n == 0 {
			t.Errorf("wsus_store_operation_duration_seconds{operation=%q} observed nothing", op)
		}
	}
}

// TestCatalogDecoratorErrors checks the error classes: not found is not
// counted, a closed store's failure is.
func TestCatalogDecoratorErrors(t *testing.T) {
	m := New(Options{})
	s := openSQLite(t)
	c := m.Catalog(s)
	if _, err := c.Computer(t.Context(), "no-such-computer"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("Computer of an unknown ID: %v", err)
	}
	s.Close()
	if _, err := c.ChangeSequence(t.Context()); err == nil {
		t.Fatal("ChangeSequence on a closed store succeeded")
	}
	want := `
# HELP wsus_store_errors_total Calls of the catalog store that failed, by operation and class (unavailable, canceled, other...); not found is not counted.
# TYPE wsus_store_errors_total counter
wsus_store_errors_total{class="other",operation="ChangeSequence"} 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "wsus_store_errors_total"); err != nil {
		t.Fatal(err)
	}
	if n := observations(t, m, "wsus_store_operation_duration_seconds", "Computer"); n != 1 {
		t.Errorf("Computer observed %d times, want 1 (not found is timed, not counted as an error)", n)
	}
}

// TestBlobDecoratorConformance runs the blob store conformance suite on
// the filesystem store through the decorator.
func TestBlobDecoratorConformance(t *testing.T) {
	m := New(Options{})
	blobtest.Run(t, func(t *testing.T) storage.BlobStore {
		s, err := storage.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return m.Blobs(s)
	})
}

// TestBlobDecoratorCapabilities checks that every optional capability
// survives the decorator on both stores (filesystem and S3 on versitygw),
// working, and that PresignGet appears only where the store has it.
func TestBlobDecoratorCapabilities(t *testing.T) {
	fs, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := tests3.Start(t)
	s3, err := s3store.Open(t.Context(), s3store.Config{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		Bucket: "metrics-" + strings.ToLower(rand.Text()[:12]),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		store   storage.BlobStore
		presign bool
	}{
		{"fs", fs, false},
		{"s3", s3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{})
			b := m.Blobs(tc.store)
			ctx := t.Context()
			body := []byte("payload of " + tc.name)
			sum := sha1.Sum(body)
			key := storage.KeyForSHA1(sum[:])
			if _, err := b.Put(ctx, key, bytes.NewReader(body), storage.Digests{SHA1: sum[:]}); err != nil {
				t.Fatal(err)
			}
			if err := b.(blobPinger).Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if _, err := b.(blobSweeper).SweepIncomplete(ctx, time.Now().Add(-time.Hour)); err != nil {
				t.Errorf("SweepIncomplete: %v", err)
			}
			if got, want := b.(fmt.Stringer).String(), tc.store.(fmt.Stringer).String(); got != want {
				t.Errorf("String() = %q, want the store's %q", got, want)
			}
			p, ok := b.(blobPresigner)
			if ok != tc.presign {
				t.Fatalf("decorated store has PresignGet: %v, want %v", ok, tc.presign)
			}
			if ok {
				u, err := p.PresignGet(ctx, key, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Equal(got, body) {
					t.Errorf("presigned URL answered %d %q, want the payload", resp.StatusCode, got)
				}
			}
			if _, err := b.Stat(ctx, "00/no-such-object"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Stat of a missing key: %v", err)
			}
			if _, err := b.Put(ctx, key, strings.NewReader("other bytes"), storage.Digests{SHA1: sum[:]}); !errors.Is(err, storage.ErrDigestMismatch) {
				t.Errorf("Put with a wrong digest: %v", err)
			}
			want := `
# HELP wsus_blob_errors_total Calls of the blob store (payload files) that failed, by operation and class (unavailable, canceled, other...); not found is not counted.
# TYPE wsus_blob_errors_total counter
wsus_blob_errors_total{class="digest_mismatch",operation="Put"} 1
`
			if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "wsus_blob_errors_total"); err != nil {
				t.Error(err)
			}
			wantOps := 5 // Put, Ping, SweepIncomplete, Stat, and PresignGet on S3 or not
			if !tc.presign {
				wantOps = 4
			}
			if n := testutil.CollectAndCount(m.blobs.seconds); n != wantOps {
				t.Errorf("wsus_blob_operation_duration_seconds has %d series, want %d", n, wantOps)
			}
			if err := b.(blobCloser).Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// observations returns the count of the histogram family's series for
// operation op.
func observations(t *testing.T, m *Metrics, family, op string) uint64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "operation" && l.GetValue() == op {
					return s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
