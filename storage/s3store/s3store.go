// Package s3store is a storage.BlobStore on S3-compatible object storage
// (Amazon S3, versitygw, MinIO, Ceph RGW, ...), built on aws-sdk-go-v2, so
// that every server replica serves the same content and storage is not
// bounded by one disk.
//
// # Layout
//
// The object at storage key k is the S3 object <Prefix>k in Bucket, for
// instance "wsus/49/a379d5526fb3a7a0423da1cd7fc3182a8d448449":
// content-addressed by SHA-1 like the filesystem store. Nothing else is
// written under the prefix; incomplete multipart uploads (invisible to
// GetObject and ListObjectsV2) are the only other trace Put can leave, and
// SweepIncomplete aborts old ones.
//
// # Ingest
//
// Put never lets a client see a partial or wrong object. It reads its
// input in parts of PartSize bytes, hashing every byte (SHA-1, SHA-256) as
// it goes:
//
//   - an input of at most one part is checked in memory, then stored with
//     one PutObject;
//   - a larger one is sent as a multipart upload to its final key, at most
//     Concurrency parts in flight, and completed only once the digests of
//     the whole input match; on a mismatch or any failure the upload is
//     aborted. S3 makes a multipart object visible only at
//     CompleteMultipartUpload, all at once, so readers see the previous
//     object or the complete new one.
//
// Memory per Put is bounded by (Concurrency+1) × PartSize, whatever the
// object's size (the default 8 MiB parts allow objects up to 78 GiB).
//
// # Reads
//
// Stat is HeadObject, OpenRange a GetObject with a Range header ("bytes=a-b"
// or "bytes=a-"). Should the connection break mid-body, the reader resumes
// with a ranged GET of the remaining bytes, If-Match the first answer's
// ETag. Successful Stats are cached for StatCacheTTL: keys are
// content-addressed, so a cached answer can only be stale about an object
// deleted meanwhile, which OpenRange then reports as not found.
//
// # Failures
//
// Every request is retried with exponential backoff
// (github.com/cenkalti/backoff/v4) while its error is transient (connection
// refused or reset, timeouts, 5xx, throttling: the SDK's own classification;
// the SDK's retryer is off so that retries do not multiply). Reads give up
// after ReadRetry so that a client waiting for bytes gets an answer (the
// content handler's 503) soon; writes after WriteRetry.
//
// # Credentials
//
// From AccessKeyID and SecretAccessKey when set, else the SDK's default
// chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, shared config and
// profiles (AWS_PROFILE), web identity, ECS and EC2 instance roles.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"wsus/storage"
)

// Defaults of the Config knobs left zero.
const (
	DefaultPartSize     = 8 << 20
	DefaultConcurrency  = 4
	DefaultStatCacheTTL = 10 * time.Second
	DefaultReadRetry    = 2 * time.Second
	DefaultWriteRetry   = 30 * time.Second
	// DefaultRegion is used when neither Config.Region nor the SDK's
	// configuration (AWS_REGION, profile) names one.
	DefaultRegion = "us-east-1"
)

// Limits S3 puts on multipart uploads.
const (
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
	maxParts    = 10000
)

// statCacheSize is how many Stat answers the cache keeps.
const statCacheSize = 8192

// attemptTimeout bounds one read attempt until the answer's headers arrive,
// so that a server that accepts connections but does not answer is retried
// (or given up on) like one that refuses them.
const attemptTimeout = 5 * time.Second

// Config selects the bucket and tunes the store. Bucket is required; every
// other field has a default.
type Config struct {
	// Bucket is the bucket holding the objects; it is created when missing
	// and the credentials allow it.
	Bucket string
	// Prefix is put before every key ("wsus" and "wsus/" both give
	// "wsus/49/a3..."); empty means none.
	Prefix string
	// Endpoint is the S3 service URL ("http://127.0.0.1:7070",
	// "https://minio.example.com"); empty means Amazon S3 of Region.
	Endpoint string
	// Region signs the requests; empty means the SDK's (AWS_REGION,
	// profile), else DefaultRegion.
	Region string
	// PathStyle addresses buckets as http://host/bucket/key instead of
	// http://bucket.host/key; most S3-compatible servers need it.
	PathStyle bool
	// AccessKeyID and SecretAccessKey are static credentials; empty means
	// the SDK's default chain (see the package documentation).
	AccessKeyID, SecretAccessKey string

	// PartSize is the multipart part size in bytes (5 MiB to 5 GiB); zero
	// means DefaultPartSize. Objects up to this size go in one PutObject.
	PartSize int64
	// Concurrency is how many parts of one Put are uploaded at once; zero
	// means DefaultConcurrency.
	Concurrency int
	// StatCacheTTL is how long a successful Stat is reused; zero means
	// DefaultStatCacheTTL, negative disables the cache.
	StatCacheTTL time.Duration
	// ReadRetry is how long Stat, OpenRange and a reader's resumption
	// retry transient errors; zero means DefaultReadRetry.
	ReadRetry time.Duration
	// WriteRetry is how long Put, Delete, List and the rest retry
	// transient errors; zero means DefaultWriteRetry.
	WriteRetry time.Duration
	// ListPageSize is the ListObjectsV2 page size; zero means the server's
	// (1000 on S3).
	ListPageSize int32
	// Logger receives retries (debug) and cleanup failures (warn); nil
	// discards them.
	Logger *slog.Logger
}

// Store is the S3 BlobStore; safe for concurrent use. Create it with Open.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	prefix  string
	cfg     Config // defaults applied
	log     *slog.Logger
	stats   *expirable.LRU[string, storage.ObjectInfo] // nil when disabled
	parts   sync.Pool                                  // of *[]byte, PartSize long
}

var _ storage.BlobStore = (*Store)(nil)

// Open checks cfg, builds the S3 client and makes sure the bucket exists,
// creating it when it is missing and the credentials allow it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	client, err := newClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{
		client:  client,
		presign: s3.NewPresignClient(client),
		bucket:  cfg.Bucket,
		prefix:  normalizePrefix(cfg.Prefix),
		cfg:     cfg,
		log:     cfg.Logger,
	}
	if cfg.StatCacheTTL > 0 {
		s.stats = expirable.NewLRU[string, storage.ObjectInfo](statCacheSize, nil, cfg.StatCacheTTL)
	}
	s.parts.New = func() any {
		b := make([]byte, cfg.PartSize)
		return &b
	}
	if err := s.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// applyDefaults fills zero knobs and rejects impossible values.
func (c *Config) applyDefaults() error {
	if c.Bucket == "" {
		return errors.New("storage: s3: no bucket given")
	}
	if strings.Contains(c.Prefix, "..") || strings.ContainsAny(c.Prefix, "\\\x00") {
		return fmt.Errorf("storage: s3: prefix %q: no '..', backslash or NUL", c.Prefix)
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		return fmt.Errorf("storage: s3: endpoint %q: want an http:// or https:// URL", c.Endpoint)
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < minPartSize || c.PartSize > maxPartSize {
		return fmt.Errorf("storage: s3: part size %d: want %d to %d bytes", c.PartSize, minPartSize, maxPartSize)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.StatCacheTTL == 0 {
		c.StatCacheTTL = DefaultStatCacheTTL
	}
	if c.ReadRetry <= 0 {
		c.ReadRetry = DefaultReadRetry
	}
	if c.WriteRetry <= 0 {
		c.WriteRetry = DefaultWriteRetry
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// normalizePrefix turns "wsus", "/wsus/" into "wsus/", and "" or "/" into "".
func normalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// newClient builds the S3 client: SDK defaults and credential chain, our
// endpoint and addressing, no SDK retries (ours are in retry), a connection
// pool sized for many concurrent ranged reads, and checksums only where S3
// requires them (SigV4 already signs every payload's SHA-256, and Put
// verifies SHA-1 and SHA-256 itself).
func newClient(ctx context.Context, cfg Config) (*s3.Client, error) {
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = attemptTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = 1024
			t.MaxIdleConnsPerHost = 1024
			t.IdleConnTimeout = 90 * time.Second
		})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage: s3: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.PathStyle
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// Close releases the store's idle connections.
func (s *Store) Close() error {
	if c, ok := s.client.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	return nil
}

// String names the store for logs: "s3://bucket/prefix".
func (s *Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// objectKey is the S3 key of a storage key.
func (s *Store) objectKey(key string) string { return s.prefix + key }

// ensureBucket creates the bucket when HeadBucket says it is missing.
// Credentials that may use a bucket but not look at it (403 on HeadBucket)
// are given the benefit of the doubt.
func (s *Store) ensureBucket(ctx context.Context) error {
	err := s.retry(ctx, s.cfg.ReadRetry*5, "head bucket", func(ctx context.Context) error {
		_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
		return err
	})
	switch status := httpStatus(err); {
	case err == nil:
		return nil
	case status == http.StatusForbidden:
		// HeadBucket answers 403 without a reason. Listing (which verify
		// and gc need anyway) tells a policy without s3:ListBucket on the
		// bucket from wrong credentials, with S3's error code.
		lerr := s.retry(ctx, s.cfg.ReadRetry*5, "list", func(ctx context.Context) error {
			_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix), MaxKeys: aws.Int32(1)})
			return err
		})
		if lerr != nil {
			return fmt.Errorf("storage: s3: bucket %s: access denied: %w", s.bucket, lerr)
		}
		return nil
	case status != http.StatusNotFound:
		return fmt.Errorf("storage: s3: bucket %s: %w", s.bucket, err)
	}
	in := &s3.CreateBucketInput{Bucket: &s.bucket}
	if region := s.client.Options().Region; region != DefaultRegion {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	err = s.retry(ctx, s.cfg.WriteRetry, "create bucket", func(ctx context.Context) error {
		_, err := s.client.CreateBucket(ctx, in)
		return err
	})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("storage: s3: bucket %s does not exist and could not be created: %w", s.bucket, err)
	}
	s.log.InfoContext(ctx, "storage: s3: created bucket", "bucket", s.bucket)
	return nil
}

// errAttemptTimeout is what an attempt that got no answer in
// attemptTimeout fails with; it is retried.
var errAttemptTimeout = fmt.Errorf("no answer within %v", attemptTimeout)

// retryables is the SDK's classification of transient errors.
var retryables = retry.IsErrorRetryables(retry.DefaultRetryables)

// retry runs op until it succeeds, fails for good, ctx ends or budget has
// passed, with exponential backoff between attempts.
func (s *Store) retry(ctx context.Context, budget time.Duration, what string, op func(context.Context) error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 50 * time.Millisecond
	b.MaxInterval = time.Second
	b.MaxElapsedTime = budget
	return backoff.RetryNotify(func() error {
		err := op(ctx)
		if err != nil && (ctx.Err() != nil || !errors.Is(err, errAttemptTimeout) && retryables.IsErrorRetryable(err) != aws.TrueTernary) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, ctx), func(err error, wait time.Duration) {
		s.log.DebugContext(ctx, "storage: s3: retrying", "op", what, "in", wait, "err", err)
	})
}

// httpStatus returns the HTTP status of a failed S3 call, 0 when there was
// no answer.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// errorCode returns the S3 error code ("NoSuchKey", "InvalidRange"), "" when
// there is none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err says the object does not exist (and not,
// say, that the bucket does not).
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	return httpStatus(err) == http.StatusNotFound && errorCode(err) != "NoSuchBucket"
}

// wrap adds context to an S3 error, mapping "no such object" to
// storage.ErrNotFound.
func wrap(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("storage: s3 %s %s: %w", op, key, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: s3 %s %s: %w", op, key, err)
}

// checkCall is the common argument check of every method.
func checkCall(ctx context.Context, key string) error {
	if err := storage.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: s3 %s: %w", key, err)
	}
	return nil
}

// quoteETag makes an S3 ETag a quoted entity-tag (S3 quotes them; some
// compatible servers do not).
func quoteETag(etag *string) string {
	e := aws.ToString(etag)
	if e == "" || strings.HasPrefix(e, `"`) {
		return e
	}
	return `"` + e + `"`
}

// Stat implements storage.BlobStore with HeadObject, or the cache.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := checkCall(ctx, key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if s.stats != nil {
		if info, ok := s.stats.Get(key); ok {
			return info, nil
		}
	}
	info, err := s.head(ctx, key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if s.stats != nil {
		s.stats.Add(key, info)
	}
	return info, nil
}

// head asks S3 about the object at key.
func (s *Store) head(ctx context.Context, key string) (storage.ObjectInfo, error) {
	okey := s.objectKey(key)
	var out *s3.HeadObjectOutput
	err := s.retry(ctx, s.cfg.ReadRetry, "head", func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		var err error
		out, err = s.client.HeadObject(actx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &okey})
		if err != nil && ctx.Err() == nil && actx.Err() != nil {
			return errAttemptTimeout
		}
		return err
	})
	if err != nil {
		return storage.ObjectInfo{}, wrap("stat", key, err)
	}
	return storage.ObjectInfo{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
		ETag:    quoteETag(out.ETag),
	}, nil
}

// Delete implements storage.BlobStore with DeleteObject.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkCall(ctx, key); err != nil {
		return err
	}
	if s.stats != nil {
		s.stats.Remove(key)
	}
	okey := s.objectKey(key)
	err := s.retry(ctx, s.cfg.WriteRetry, "delete", func(ctx context.Context) error {
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &okey})
		return err
	})
	if err != nil && !isNotFound(err) {
		return wrap("delete", key, err)
	}
	return nil
}

// List implements storage.BlobStore with ListObjectsV2 under the prefix.
// Objects whose key (the prefix removed) is not a valid storage key are
// skipped: they are not the store's.
func (s *Store) List(ctx context.Context, fn func(storage.ObjectInfo) error) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket}
	if s.prefix != "" {
		in.Prefix = aws.String(s.prefix)
	}
	if s.cfg.ListPageSize > 0 {
		in.MaxKeys = aws.Int32(s.cfg.ListPageSize)
	}
	for {
		var out *s3.ListObjectsV2Output
		err := s.retry(ctx, s.cfg.WriteRetry, "list", func(ctx context.Context) error {
			var err error
			out, err = s.client.ListObjectsV2(ctx, in)
			return err
		})
		if err != nil {
			return fmt.Errorf("storage: s3 list %s: %w", s, err)
		}
		for _, o := range out.Contents {
			key, ok := strings.CutPrefix(aws.ToString(o.Key), s.prefix)
			if !ok || storage.CheckKey(key) != nil {
				continue
			}
			info := storage.ObjectInfo{Key: key, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified), ETag: quoteETag(o.ETag)}
			if err := fn(info); err != nil {
				return fmt.Errorf("storage: s3 list %s: %w", s, err)
			}
		}
		if !aws.ToBool(out.IsTruncated) || aws.ToString(out.NextContinuationToken) == "" {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// PresignGet returns a URL that lets anyone GET the object at key (Range
// requests included) for ttl, without credentials: the content handler's
// redirect mode sends clients there.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := checkCall(ctx, key); err != nil {
		return "", err
	}
	okey := s.objectKey(key)
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &okey}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("storage: s3 presign %s: %w", key, err)
	}
	return req.URL, nil
}

// SweepIncomplete aborts the multipart uploads under the prefix started
// before cutoff: what a Put interrupted by a crash leaves behind (invisible,
// but billed). It returns how many it aborted.
func (s *Store) SweepIncomplete(ctx context.Context, cutoff time.Time) (int, error) {
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket}
	if s.prefix != "" {
		in.Prefix = aws.String(s.prefix)
	}
	n := 0
	for {
		var out *s3.ListMultipartUploadsOutput
		err := s.retry(ctx, s.cfg.WriteRetry, "list uploads", func(ctx context.Context) error {
			var err error
			out, err = s.client.ListMultipartUploads(ctx, in)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("storage: s3 list uploads %s: %w", s, err)
		}
		for _, u := range out.Uploads {
			if !aws.ToTime(u.Initiated).Before(cutoff) {
				continue
			}
			err := s.retry(ctx, s.cfg.WriteRetry, "abort upload", func(ctx context.Context) error {
				_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId})
				return err
			})
			if err != nil && errorCode(err) != "NoSuchUpload" {
				return n, fmt.Errorf("storage: s3 abort upload %s: %w", aws.ToString(u.Key), err)
			}
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			return n, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
