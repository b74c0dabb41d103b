package s3store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"wsus/storage"
)

// contentType is the Content-Type of every stored object.
const contentType = "application/octet-stream"

// abortTimeout bounds the cleanup of a failed upload, which runs even when
// the Put's context is done.
const abortTimeout = 30 * time.Second

// Put implements storage.BlobStore; see the package documentation.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, want storage.Digests) (storage.ObjectInfo, error) {
	if err := checkCall(ctx, key); err != nil {
		return storage.ObjectInfo{}, err
	}
	v, err := storage.NewVerifier(want)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	first := s.parts.Get().(*[]byte)
	n, last, err := readPart(ctx, r, *first)
	if err != nil {
		s.parts.Put(first)
		return storage.ObjectInfo{}, fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	v.Write((*first)[:n])
	if last {
		err = s.putSmall(ctx, key, (*first)[:n], v)
		s.parts.Put(first)
	} else {
		err = s.putMultipart(ctx, key, r, v, first, n)
	}
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	info, err := s.head(ctx, key)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storage: s3 put %s: stored, but: %w", key, err)
	}
	if s.stats != nil {
		s.stats.Add(key, info)
	}
	return info, nil
}

// readPart fills buf from r. last reports that r ended (n may then be
// anything from 0 to len(buf)).
func readPart(ctx context.Context, r io.Reader, buf []byte) (n int, last bool, err error) {
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		m, err := r.Read(buf[n:min(len(buf), n+1<<20)]) // 1 MiB at a time: notice ctx soon
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, fmt.Errorf("read: %w", err)
		}
	}
	return n, false, nil
}

// putSmall stores an object held in memory whole, once its digests match.
func (s *Store) putSmall(ctx context.Context, key string, data []byte, v *storage.Verifier) error {
	if err := v.Verify(); err != nil {
		return fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	okey := s.objectKey(key)
	err := s.retry(ctx, s.cfg.WriteRetry, "put", func(ctx context.Context) error {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: &okey, Body: bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(contentType),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	return nil
}

// upload is one multipart upload in progress: parts go up concurrently
// while the next ones are read.
type upload struct {
	s        *Store
	key      string // storage key, for errors
	okey     string
	id       string
	ctx      context.Context // canceled at the first part failure
	cancel   context.CancelFunc
	slots    chan struct{} // one per part allowed in flight
	wg       sync.WaitGroup
	mu       sync.Mutex
	parts    []types.CompletedPart
	firstErr error
}

// putMultipart sends first[:n] and the rest of r as a multipart upload to
// the final key and completes it only when v matches the whole input.
func (s *Store) putMultipart(ctx context.Context, key string, r io.Reader, v *storage.Verifier, first *[]byte, n int) (err error) {
	u := &upload{s: s, key: key, okey: s.objectKey(key), slots: make(chan struct{}, s.cfg.Concurrency)}
	err = s.retry(ctx, s.cfg.WriteRetry, "create upload", func(ctx context.Context) error {
		out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
			Bucket: &s.bucket, Key: &u.okey, ContentType: aws.String(contentType),
		})
		if err == nil {
			u.id = aws.ToString(out.UploadId)
		}
		return err
	})
	if err != nil {
		s.parts.Put(first)
		return fmt.Errorf("storage: s3 put %s: start upload: %w", key, err)
	}
	u.ctx, u.cancel = context.WithCancel(ctx)
	defer u.cancel()
	completed := false
	defer func() {
		if !completed {
			u.abort(ctx)
		}
	}()

	var total int64
	buf, last := first, false
	for num := int32(1); ; num++ {
		if num > maxParts {
			s.parts.Put(buf)
			u.wg.Wait()
			return fmt.Errorf("storage: s3 put %s: more than %d parts of %d bytes", key, maxParts, s.cfg.PartSize)
		}
		total += int64(n)
		if !u.send(num, buf, n) {
			break // a part failed: stop reading
		}
		if last {
			break
		}
		buf = s.parts.Get().(*[]byte)
		var err error
		n, last, err = readPart(ctx, r, *buf)
		if err != nil {
			s.parts.Put(buf)
			u.wg.Wait()
			return fmt.Errorf("storage: s3 put %s: %w", key, err)
		}
		if n == 0 { // the input ended exactly at a part boundary
			s.parts.Put(buf)
			break
		}
		v.Write((*buf)[:n])
	}
	u.wg.Wait()
	if u.firstErr != nil {
		return fmt.Errorf("storage: s3 put %s: %w", key, u.firstErr)
	}
	if err := v.Verify(); err != nil {
		return fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	if err := u.complete(ctx, total); err != nil {
		return fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	completed = true
	return nil
}

// send uploads part num from buf[:n] in the background, once a slot is
// free, and gives buf back to the pool when done. It reports false, not
// sending, when an earlier part failed.
func (u *upload) send(num int32, buf *[]byte, n int) bool {
	select {
	case u.slots <- struct{}{}:
	case <-u.ctx.Done():
		u.s.parts.Put(buf)
		return false
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.slots }()
		defer u.s.parts.Put(buf)
		etag, err := u.uploadPart(num, (*buf)[:n])
		u.mu.Lock()
		defer u.mu.Unlock()
		if err != nil {
			if u.firstErr == nil {
				u.firstErr = fmt.Errorf("part %d: %w", num, err)
				u.cancel()
			}
			return
		}
		u.parts = append(u.parts, types.CompletedPart{ETag: etag, PartNumber: aws.Int32(num)})
	}()
	return true
}

// uploadPart sends one part, retrying transient failures.
func (u *upload) uploadPart(num int32, data []byte) (*string, error) {
	var etag *string
	err := u.s.retry(u.ctx, u.s.cfg.WriteRetry, "upload part", func(ctx context.Context) error {
		out, err := u.s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &u.s.bucket, Key: &u.okey, UploadId: &u.id, PartNumber: aws.Int32(num),
			Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		})
		if err == nil {
			etag = out.ETag
		}
		return err
	})
	return etag, err
}

// complete makes the object visible. When a retried Complete finds the
// upload gone, an earlier attempt may have succeeded without our hearing
// it: the object of the expected size at the key says so.
func (u *upload) complete(ctx context.Context, total int64) error {
	slices.SortFunc(u.parts, func(a, b types.CompletedPart) int {
		return cmp.Compare(aws.ToInt32(a.PartNumber), aws.ToInt32(b.PartNumber))
	})
	attempts := 0
	err := u.s.retry(ctx, u.s.cfg.WriteRetry, "complete upload", func(ctx context.Context) error {
		attempts++
		_, err := u.s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &u.s.bucket, Key: &u.okey, UploadId: &u.id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
		})
		return err
	})
	if err != nil && attempts > 1 && errorCode(err) == "NoSuchUpload" {
		if info, herr := u.s.head(ctx, u.key); herr == nil && info.Size == total {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("complete upload: %w", err)
	}
	return nil
}

// abort drops the upload and its parts, even when ctx is done. A failure
// only leaves an invisible incomplete upload (SweepIncomplete removes it),
// so it is logged, not returned.
func (u *upload) abort(ctx context.Context) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	err := u.s.retry(actx, abortTimeout, "abort upload", func(ctx context.Context) error {
		_, err := u.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &u.s.bucket, Key: &u.okey, UploadId: &u.id})
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) && errorCode(err) != "NoSuchUpload" {
		u.s.log.WarnContext(ctx, "storage: s3: could not abort an upload; SweepIncomplete will", "key", u.okey, "upload", u.id, "err", err)
	}
}
