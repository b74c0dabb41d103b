package s3store

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Ping checks that S3 answers for the bucket, once and without retries
// (ctx bounds it): HeadBucket, or, when that is refused with 403 (a policy
// that may use the bucket but not look at it, which Open accepts too),
// listing at most one key under the prefix.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	if err != nil && httpStatus(err) == http.StatusForbidden {
		_, err = s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix), MaxKeys: aws.Int32(1)})
	}
	if err != nil {
		return fmt.Errorf("storage: s3: ping bucket %s: %w", s.bucket, err)
	}
	return nil
}
