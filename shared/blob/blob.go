// Package blob reads and writes objects of the feed bucket in S3, as
// streams: a bank's 200 MB statement is never held in memory.
package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// API is the part of the S3 client a Bucket uses.
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Bucket is one S3 bucket.
type Bucket struct {
	api  API
	name string
}

// NewBucket returns the bucket called name.
func NewBucket(api API, name string) *Bucket { return &Bucket{api: api, name: name} }

// Name returns the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Open streams an object. The caller closes the reader.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	out, err := b.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return nil, 0, fmt.Errorf("get s3://%s/%s: %w", b.name, key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

// Put writes a small object (a report, a manifest).
func (b *Bucket) Put(ctx context.Context, key, contentType string, body []byte) error {
	_, err := b.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", b.name, key, err)
	}
	return nil
}

// PutStream writes an object of known size from a stream (a report as long
// as the file it reports on), without holding it in memory.
func (b *Bucket) PutStream(ctx context.Context, key, contentType string, body io.Reader, size int64) error {
	_, err := b.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", b.name, key, err)
	}
	return nil
}
