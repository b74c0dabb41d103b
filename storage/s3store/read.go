package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"wsus/storage"
)

// maxResumes is how often one reader resumes a broken body before it
// reports the failure.
const maxResumes = 3

// OpenRange implements storage.BlobStore with a ranged GetObject.
func (s *Store) OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := checkCall(ctx, key); err != nil {
		return nil, err
	}
	if offset < 0 || length < -1 {
		return nil, fmt.Errorf("storage: s3 open %s: offset %d length %d: %w", key, offset, length, storage.ErrInvalidRange)
	}
	if length == 0 {
		return s.emptyAt(ctx, key, offset)
	}
	if length > math.MaxInt64-offset {
		length = -1 // to the end, whatever the end is
	}
	r := &rangeReader{s: s, ctx: ctx, key: key, okey: s.objectKey(key), next: offset}
	if err := r.get(offset, length, ""); err != nil {
		if errorCode(err) == "InvalidRange" || httpStatus(err) == http.StatusRequestedRangeNotSatisfiable {
			// S3 refuses ranges starting at the end, which BlobStore
			// allows (an empty read); beyond the end is an error.
			return s.emptyAt(ctx, key, offset)
		}
		return nil, wrap("open", key, err)
	}
	return r, nil
}

// emptyAt returns an empty reader when offset is within the object or at
// its end.
func (s *Store) emptyAt(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	info, err := s.head(ctx, key)
	if err != nil {
		return nil, err
	}
	if offset > info.Size {
		return nil, fmt.Errorf("storage: s3 open %s: offset %d beyond size %d: %w", key, offset, info.Size, storage.ErrInvalidRange)
	}
	return io.NopCloser(eofReader{}), nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// rangeReader reads bytes [next, end) of an object, resuming with a new
// ranged GET (If-Match the first answer's ETag, so that the bytes all come
// from one object) when the connection breaks.
type rangeReader struct {
	s         *Store
	ctx       context.Context
	key, okey string
	etag      string
	next, end int64
	body      io.ReadCloser
	cancel    context.CancelFunc // of the body's request
	resumes   int
}

// get issues the GET for length bytes (-1: to the end) from offset, with
// retries, and makes its body the reader's.
func (r *rangeReader) get(offset, length int64, ifMatch string) error {
	in := &s3.GetObjectInput{Bucket: &r.s.bucket, Key: &r.okey}
	if offset > 0 || length >= 0 {
		rng := "bytes=" + strconv.FormatInt(offset, 10) + "-"
		if length >= 0 {
			rng += strconv.FormatInt(offset+length-1, 10)
		}
		in.Range = aws.String(rng)
	}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	var out *s3.GetObjectOutput
	var cancel context.CancelFunc
	err := r.s.retry(r.ctx, r.s.cfg.ReadRetry, "get", func(ctx context.Context) error {
		// The request's context lives as long as its body; only the wait
		// for the answer's headers is bounded.
		actx, c := context.WithCancel(ctx)
		timer := time.AfterFunc(attemptTimeout, c)
		o, err := r.s.client.GetObject(actx, in)
		if !timer.Stop() { // fired: whatever came back is canceled
			if err == nil {
				o.Body.Close()
			}
			c()
			return errAttemptTimeout
		}
		if err != nil {
			c()
			return err
		}
		out, cancel = o, c
		return nil
	})
	if err != nil {
		return err
	}
	r.body, r.cancel = out.Body, cancel
	if r.etag == "" {
		r.etag = aws.ToString(out.ETag)
		r.end = offset + aws.ToInt64(out.ContentLength)
	}
	return nil
}

// Read implements io.Reader.
func (r *rangeReader) Read(p []byte) (int, error) {
	if r.next >= r.end {
		return 0, io.EOF
	}
	if rest := r.end - r.next; int64(len(p)) > rest {
		p = p[:rest]
	}
	for {
		if r.body == nil {
			if err := r.resume(); err != nil {
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.next += int64(n)
		switch {
		case r.next >= r.end:
			return n, nil
		case err == nil:
			return n, nil
		}
		// The body ended or broke before the range did.
		r.closeBody()
		if r.ctx.Err() != nil {
			return n, fmt.Errorf("storage: s3 read %s: %w", r.key, r.ctx.Err())
		}
		if r.resumes >= maxResumes {
			return n, fmt.Errorf("storage: s3 read %s at %d: %w (after %d resumptions)", r.key, r.next, errOrShort(err), r.resumes)
		}
		r.s.log.DebugContext(r.ctx, "storage: s3: body broke, resuming", "key", r.key, "at", r.next, "err", err)
		if n > 0 {
			return n, nil // resume on the next call
		}
	}
}

// errOrShort names an early EOF.
func errOrShort(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// resume fetches the rest of the range.
func (r *rangeReader) resume() error {
	r.resumes++
	if err := r.get(r.next, r.end-r.next, r.etag); err != nil {
		return fmt.Errorf("storage: s3 read %s: resume at %d: %w", r.key, r.next, err)
	}
	return nil
}

func (r *rangeReader) closeBody() {
	if r.body != nil {
		r.body.Close()
		r.cancel()
		r.body, r.cancel = nil, nil
	}
}

// Close implements io.Closer.
func (r *rangeReader) Close() error {
	r.closeBody()
	return nil
}
