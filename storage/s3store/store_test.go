package s3store_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wsus/internal/syncbuf"
	"wsus/internal/tests3"
	"wsus/storage"
	"wsus/storage/blobtest"
	"wsus/storage/s3store"
)

// raw is a plain SDK client of srv, to look behind the store's back.
func raw(srv *tests3.Server) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.Endpoint),
		Region:       srv.Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
	})
}

// uploads lists the incomplete multipart uploads of a bucket.
func uploads(t *testing.T, c *s3.Client, bucket string) []string {
	t.Helper()
	out, err := c.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

// TestLayout: objects live at <prefix><key>; List shows only valid keys
// under the prefix.
func TestLayout(t *testing.T) {
	srv := tests3.Start(t)
	cfg := config(srv)
	cfg.Prefix = "/a/b" // normalized to "a/b/"
	s := open(t, cfg)
	key, _, _ := blobtest.Put(t, s, blobtest.Pattern{Seed: 1, Size: 10})
	c := raw(srv)
	if _, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &cfg.Bucket, Key: aws.String("a/b/" + key)}); err != nil {
		t.Fatalf("object not at a/b/%s: %v", key, err)
	}
	for _, k := range []string{"elsewhere/x", "a/b/.hidden", "a/b/with space"} {
		if _, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &cfg.Bucket, Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	var listed []string
	if err := s.List(t.Context(), func(o storage.ObjectInfo) error { listed = append(listed, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != key {
		t.Errorf("List gives %v, want just %s", listed, key)
	}
	if got := s.String(); got != "s3://"+cfg.Bucket+"/a/b/" {
		t.Errorf("String() = %q", got)
	}
}

// TestMultipartBoundaries: inputs of exactly one and two parts, and one
// byte more, take the single and multipart paths and leave no upload
// behind; a mismatch aborts its upload.
func TestMultipartBoundaries(t *testing.T) {
	srv := tests3.Start(t)
	cfg := config(srv)
	cfg.PartSize = 5 << 20
	cfg.Concurrency = 2
	s := open(t, cfg)
	c := raw(srv)
	for _, size := range []int64{5 << 20, 10 << 20, 10<<20 + 1} {
		p := blobtest.Pattern{Seed: uint64(size), Size: size}
		key, _, info := blobtest.Put(t, s, p)
		if info.Size != size {
			t.Errorf("%d bytes: stored %d", size, info.Size)
		}
		blobtest.CheckRead(t, s, key, p, 0, -1)
	}
	p := blobtest.Pattern{Seed: 99, Size: 12 << 20}
	d := blobtest.Pattern{Seed: 98, Size: 12 << 20}.Digests()
	if _, err := s.Put(t.Context(), storage.KeyForSHA1(d.SHA1), p.Reader(), d); !errors.Is(err, storage.ErrDigestMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	if u := uploads(t, c, cfg.Bucket); len(u) != 0 {
		t.Errorf("incomplete uploads left: %v", u)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir(), cfg.Bucket, "wsus", storage.KeyForSHA1(d.SHA1))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rejected object is on the server's disk: %v", err)
	}
}

// TestStatCache: a Stat is answered from the cache for StatCacheTTL; an
// object deleted by another replica meanwhile is still reported missing by
// OpenRange, and this store's own Delete forgets it at once.
func TestStatCache(t *testing.T) {
	srv := tests3.Start(t)
	cfg := config(srv)
	cfg.StatCacheTTL = time.Hour
	s := open(t, cfg)
	key, _, info := blobtest.Put(t, s, blobtest.Pattern{Seed: 1, Size: 1000})
	other := open(t, cfg) // another replica
	if err := other.Delete(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Stat(t.Context(), key); err != nil || got != info {
		t.Errorf("cached Stat = %+v, %v; want %+v", got, err, info)
	}
	if _, err := s.OpenRange(t.Context(), key, 0, -1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenRange of an object deleted elsewhere: %v, want ErrNotFound", err)
	}
	if _, err := other.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat on the replica that deleted: %v, want ErrNotFound", err)
	}
}

func TestPresignGet(t *testing.T) {
	srv := tests3.Start(t)
	s := open(t, config(srv))
	p := blobtest.Pattern{Seed: 2, Size: 5000}
	key, _, _ := blobtest.Put(t, s, p)
	u, err := s.PresignGet(t.Context(), key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, p.Bytes(100, 100)) {
		t.Errorf("presigned ranged GET: %d, %d bytes; want 206 and bytes 100-199", resp.StatusCode, len(body))
	}
	if strings.Contains(u, srv.SecretKey) {
		t.Error("the presigned URL contains the secret key")
	}
}

func TestSweepIncomplete(t *testing.T) {
	srv := tests3.Start(t)
	cfg := config(srv)
	s := open(t, cfg)
	c := raw(srv)
	for _, k := range []string{"wsus/ab/interrupted", "other/kept"} {
		if _, err := c.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: &cfg.Bucket, Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.SweepIncomplete(t.Context(), time.Now().Add(-time.Hour)); n != 0 || err != nil {
		t.Errorf("sweep of uploads older than an hour: %d, %v; want 0 (they are new)", n, err)
	}
	if n, err := s.SweepIncomplete(t.Context(), time.Now().Add(time.Minute)); n != 1 || err != nil {
		t.Errorf("sweep: %d, %v; want 1", n, err)
	}
	if u := uploads(t, c, cfg.Bucket); len(u) != 1 || u[0] != "other/kept" {
		t.Errorf("uploads left: %v, want only the one outside the prefix", u)
	}
}

// TestOpen: the bucket is created when missing; bad configurations and
// wrong credentials fail at Open with a clear error.
func TestOpen(t *testing.T) {
	srv := tests3.Start(t)
	cfg := config(srv)
	open(t, cfg)
	if _, err := raw(srv).HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: &cfg.Bucket}); err != nil {
		t.Errorf("bucket not created: %v", err)
	}
	open(t, cfg) // exists already: fine

	wrongSecret := cfg
	wrongSecret.SecretAccessKey = "wrong"
	bad := []struct {
		name string
		cfg  s3store.Config
		want string
	}{
		{"wrong secret", wrongSecret, "access denied"},
		{"no bucket", s3store.Config{Endpoint: srv.Endpoint}, "no bucket"},
		{"prefix escapes", func() s3store.Config { c := cfg; c.Prefix = "../x"; return c }(), "prefix"},
		{"endpoint not a URL", func() s3store.Config { c := cfg; c.Endpoint = "127.0.0.1:9"; return c }(), "endpoint"},
		{"tiny parts", func() s3store.Config { c := cfg; c.PartSize = 1 << 20; return c }(), "part size"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			s, err := s3store.Open(t.Context(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v; want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestOutage: with the server down, reads fail (not "not found") once the
// retry budget is spent, and work again after a restart; a body broken by
// a crash resumes where it broke when the server comes back in time.
func TestOutage(t *testing.T) {
	srv := tests3.Start(t)
	cfg := config(srv)
	cfg.StatCacheTTL = -1
	s := open(t, cfg)
	p := blobtest.Pattern{Seed: 3, Size: 40 << 20}
	key, _, _ := blobtest.Put(t, s, p)

	srv.Stop(t)
	if _, err := s.Stat(t.Context(), key); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat with the server down: %v, want a failure other than not found", err)
	}
	if _, err := s.OpenRange(t.Context(), key, 0, 10); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenRange with the server down: %v, want a failure other than not found", err)
	}
	srv.Restart(t)
	blobtest.CheckRead(t, s, key, p, 0, 1<<20)

	// Kill the server mid-body, restart it: the reader resumes.
	var logs syncbuf.Buffer
	patient := cfg
	patient.ReadRetry = time.Minute
	patient.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ps := open(t, patient)
	rc, err := ps.OpenRange(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	srv.Restart(t)
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading on after a restart: %v", err)
	}
	if int64(len(head)+len(rest)) != p.Size || !bytes.Equal(rest[:100], p.Bytes(1<<20, 100)) || !bytes.Equal(rest[len(rest)-100:], p.Bytes(p.Size-100, 100)) {
		t.Errorf("resumed read gave %d bytes, want %d, the right ones", len(head)+len(rest), p.Size)
	}
	if !strings.Contains(logs.String(), "body broke, resuming") {
		t.Errorf("the read did not resume; log:\n%s", logs.String())
	}

	// Killed for good: the reader reports the failure, never a short EOF.
	rc2, err := s.OpenRange(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	if _, err := io.ReadFull(rc2, head); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	n, err := io.Copy(io.Discard, rc2)
	if err == nil || int64(len(head))+n >= p.Size {
		t.Errorf("read with the server gone: %d more bytes, err %v; want a failure", n, err)
	}
}
