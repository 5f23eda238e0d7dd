package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// uploadPartSize is the multipart part size: with uploadConcurrency parts in
// flight, an upload holds at most 64 MiB in memory whatever the file's size.
const (
	uploadPartSize    = 16 << 20
	uploadConcurrency = 4
)

// Upload puts body under key in the template's bucket (multipart, streamed,
// for bodies larger than one part) and then does what S3's bucket
// notification would: it sends the S3 event AWS sends for the object to the
// queue whose prefix matches the key, if any. Neither local S3 emits
// notifications, so the path after the upload is the production one. size
// is the body's length, or -1 when unknown.
func (r *Resources) Upload(ctx context.Context, key string, body io.Reader, size int64) error {
	ids := sortedKeys(r.tpl.Buckets)
	if len(ids) != 1 {
		return fmt.Errorf("upload %s: the template has %d buckets; use UploadTo", key, len(ids))
	}
	return r.UploadTo(ctx, ids[0], key, body, size)
}

// UploadTo is Upload into the bucket with the given logical ID.
func (r *Resources) UploadTo(ctx context.Context, bucketID, key string, body io.Reader, size int64) error {
	tb, ok := r.tpl.Buckets[bucketID]
	if !ok {
		return fmt.Errorf("upload %s: no bucket %s in the template", key, bucketID)
	}
	bucket := r.Buckets[bucketID]
	client := r.s3(r.cfg)
	up := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = uploadPartSize
		u.Concurrency = uploadConcurrency
	})
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: body}
	if size >= 0 && size < uploadPartSize {
		in.ContentLength = aws.Int64(size)
	}
	if _, err := up.Upload(ctx, in); err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", bucket, key, err)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s: head: %w", bucket, key, err)
	}
	if size >= 0 && aws.ToInt64(head.ContentLength) != size {
		return fmt.Errorf("upload s3://%s/%s: stored %d bytes, sent %d", bucket, key, aws.ToInt64(head.ContentLength), size)
	}
	queueID := tb.QueueFor(key)
	if queueID == "" {
		r.log.Info("uploaded; no notification matches the key", "bucket", bucket, "key", key)
		return nil
	}
	q, ok := r.Queues[queueID]
	if !ok {
		return fmt.Errorf("upload %s: notification queue %s not provisioned", key, queueID)
	}
	ev := NewS3Event(r.Region, bucket, key, aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), time.Now())
	msg, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("upload %s: event: %w", key, err)
	}
	if _, err := r.sqs(r.cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(msg))}); err != nil {
		return fmt.Errorf("upload %s: notify %s: %w", key, q.Name, err)
	}
	r.log.Info("uploaded and notified", "bucket", bucket, "key", key, "size", aws.ToInt64(head.ContentLength), "queue", q.Name)
	return nil
}

// S3Event is the JSON S3 sends for bucket notifications, field for field
// (events.S3Event reads it; marshalling that type instead would add fields
// AWS does not send, such as urlDecodedKey).
type S3Event struct {
	Records []S3EventRecord `json:"Records"`
}

// S3EventRecord is one record of an S3Event.
type S3EventRecord struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AWSRegion         string            `json:"awsRegion"`
	EventTime         string            `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      map[string]string `json:"userIdentity"`
	RequestParameters map[string]string `json:"requestParameters"`
	ResponseElements  map[string]string `json:"responseElements"`
	S3                S3Entity          `json:"s3"`
}

// S3Entity is the s3 part of a record.
type S3Entity struct {
	SchemaVersion   string   `json:"s3SchemaVersion"`
	ConfigurationID string   `json:"configurationId"`
	Bucket          S3Bucket `json:"bucket"`
	Object          S3Object `json:"object"`
}

// S3Bucket names the bucket.
type S3Bucket struct {
	Name          string            `json:"name"`
	OwnerIdentity map[string]string `json:"ownerIdentity"`
	ARN           string            `json:"arn"`
}

// S3Object describes the object.
type S3Object struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"eTag"`
	Sequencer string `json:"sequencer"`
}

var sequencer atomic.Uint64

// NewS3Event builds the ObjectCreated:Put event S3 sends for an object: the
// key URL-encoded as S3 encodes it, the ETag without quotes, a sequencer
// that grows with every event.
func NewS3Event(region, bucket, key string, size int64, etag string, now time.Time) S3Event {
	seq := uint64(now.UnixNano())
	for {
		old := sequencer.Load()
		if seq <= old {
			seq = old + 1
		}
		if sequencer.CompareAndSwap(old, seq) {
			break
		}
	}
	return S3Event{Records: []S3EventRecord{{
		EventVersion:      "2.1",
		EventSource:       "aws:s3",
		AWSRegion:         region,
		EventTime:         now.UTC().Format("2006-01-02T15:04:05.000Z"),
		EventName:         "ObjectCreated:Put",
		UserIdentity:      map[string]string{"principalId": "AWS:LOCAL"},
		RequestParameters: map[string]string{"sourceIPAddress": "127.0.0.1"},
		ResponseElements:  map[string]string{"x-amz-request-id": fmt.Sprintf("%016X", seq), "x-amz-id-2": "local"},
		S3: S3Entity{
			SchemaVersion:   "1.0",
			ConfigurationID: "local-notification",
			Bucket:          S3Bucket{Name: bucket, OwnerIdentity: map[string]string{"principalId": "LOCAL"}, ARN: "arn:aws:s3:::" + bucket},
			Object:          S3Object{Key: EncodeEventKey(key), Size: size, ETag: strings.Trim(etag, `"`), Sequencer: fmt.Sprintf("%018X", seq)},
		},
	}}}
}

// EncodeEventKey encodes an object key the way S3 event notifications do:
// form encoding (a space is "+", UTF-8 is %XX) with "/" kept.
func EncodeEventKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, "/")
}

// UploadFile uploads the file at path under key, streamed, and returns its
// size.
func (r *Resources) UploadFile(ctx context.Context, key, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("upload %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("upload %s: %w", path, err)
	}
	if err := r.Upload(ctx, key, f, st.Size()); err != nil {
		return 0, fmt.Errorf("upload %s: %w", path, err)
	}
	return st.Size(), nil
}
