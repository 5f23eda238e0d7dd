package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
)

// Integration tests against the local stack (dynalite, fauxqs, s3local).
// stacktest.EnsureLocal starts it when it is not running.

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func provisionTemplate(t *testing.T) (aws.Config, *Resources) {
	t.Helper()
	cfg := stacktest.EnsureLocal(t)
	ctx := context.Background()
	ns := NewNamespace()
	r, err := Provision(ctx, cfg, loadModel(t), ns, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Teardown(context.Background(), cfg, ns); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return cfg, r
}

func TestProvision(t *testing.T) {
	cfg, r := provisionTemplate(t)
	ctx := context.Background()
	tpl := r.Template()
	// Idempotent: provisioning again keeps the same names and URLs.
	again, err := Provision(ctx, cfg, tpl, r.Namespace, nil)
	if err != nil {
		t.Fatalf("second provision: %v", err)
	}
	if fmt.Sprint(again.Tables, again.Queues, again.Buckets) != fmt.Sprint(r.Tables, r.Queues, r.Buckets) {
		t.Errorf("second provision resolved other resources")
	}
	if len(r.Tables) != 6 || len(r.Queues) != 14 || len(r.Buckets) != 1 {
		t.Fatalf("provisioned %d tables, %d queues, %d buckets", len(r.Tables), len(r.Queues), len(r.Buckets))
	}
	db := r.ddb(cfg)
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.Tables["AlertsTable"])})
	if err != nil {
		t.Fatal(err)
	}
	var gsis []string
	for _, g := range d.Table.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(g.IndexName))
	}
	slices.Sort(gsis)
	if !slices.Equal(gsis, []string{"gsi1", "gsi2"}) {
		t.Errorf("AlertsTable GSIs %v", gsis)
	}
	ga, err := r.sqs(cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(r.Queues["UploadQueue"].URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(ga.Attributes["RedrivePolicy"]), &rp); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", ga.Attributes["RedrivePolicy"], err)
	}
	if rp.DeadLetterTargetArn != r.Queues["UploadQueueDLQ"].ARN || fmt.Sprint(rp.MaxReceiveCount) != "5" {
		t.Errorf("UploadQueue redrive %+v, want to %s after 5", rp, r.Queues["UploadQueueDLQ"].ARN)
	}
	if ga.Attributes["VisibilityTimeout"] != "1800" {
		t.Errorf("UploadQueue VisibilityTimeout %s, want 1800", ga.Attributes["VisibilityTimeout"])
	}
	if _, err := r.s3(cfg).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(r.Buckets["FeedBucket"])}); err != nil {
		t.Errorf("bucket: %v", err)
	}

	env, err := r.EnvFor("ingest-feed")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"WW_FEED_BUCKET":       r.Buckets["FeedBucket"],
		"WW_FILES_TABLE":       r.Tables["FilesTable"],
		"WW_ENTRIES_QUEUE_URL": r.Queues["EntriesQueue"].URL,
		"WW_PII_KEY_PARAM":     "/wagewatch/pii-key",
		"WW_PII_KEY":           r.PIIKey,
		"WW_S3_PATH_STYLE":     "true",
		"AWS_ENDPOINT_URL_SQS": r.Endpoints.SQS,
	}
	for k, v := range want {
		if env[k] != v || v == "" {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["WW_LEDGER_TABLE"]; ok {
		t.Error("ingest-feed gets WW_LEDGER_TABLE, which the template does not give it")
	}
	if env2 := r.Env("AttendanceApiFunction"); !strings.HasPrefix(env2["WW_SECRETS_ARN"], "arn:aws:secretsmanager:") {
		t.Errorf("attendance-api WW_SECRETS_ARN = %q", env2["WW_SECRETS_ARN"])
	}
	if _, err := r.EnvFor("no-such-function"); err == nil {
		t.Error("EnvFor of an unknown function: no error")
	}

	// Save / LoadResources round trip.
	path := filepath.Join(t.TempDir(), "resources.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadResources(path, cfg, tpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Env("scan")) != fmt.Sprint(r.Env("scan")) {
		t.Errorf("loaded resources resolve another env")
	}

	// Teardown removes the namespace's resources, and only those.
	other, err := Provision(ctx, cfg, tpl, NewNamespace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer Teardown(ctx, cfg, other.Namespace)
	if err := Teardown(ctx, cfg, r.Namespace); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.Tables["AlertsTable"])}); err == nil {
		t.Error("table still there after teardown")
	}
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(other.Tables["AlertsTable"])}); err != nil {
		t.Errorf("teardown removed another namespace's table: %v", err)
	}
	lq, err := r.sqs(cfg).ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(r.Namespace + "-")})
	if err != nil || len(lq.QueueUrls) != 0 {
		t.Errorf("queues after teardown: %v %v", lq, err)
	}
}

// patternReader yields n deterministic pseudo-random bytes without holding
// them.
type patternReader struct {
	rng  *rand.ChaCha8
	left int64
}

func newPatternReader(seed byte, n int64) *patternReader {
	var s [32]byte
	s[0] = seed
	return &patternReader{rng: rand.NewChaCha8(s), left: n}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, _ := p.rng.Read(b)
	p.left -= int64(n)
	return n, nil
}

func receiveOne(t *testing.T, cfg aws.Config, r *Resources, queueID string) events.S3Event {
	t.Helper()
	out, err := r.sqs(cfg).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(r.Queues[queueID].URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%s holds %d messages, want 1", queueID, len(out.Messages))
	}
	var ev events.S3Event
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &ev); err != nil {
		t.Fatalf("body is not an S3 event: %v", err)
	}
	return ev
}

// TestUploadLarge sends a 200 MB bank file through Upload (multipart,
// streamed) and streams it back.
func TestUploadLarge(t *testing.T) {
	cfg, r := provisionTemplate(t)
	ctx := context.Background()
	const size = 200 << 20
	key := "bank/2026/11/27/icbc-31010001.csv"

	sent := sha256.New()
	if err := r.Upload(ctx, key, io.TeeReader(newPatternReader(7, size), sent), size); err != nil {
		t.Fatal(err)
	}
	obj, err := r.s3(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.Buckets["FeedBucket"]), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	got := sha256.New()
	n, err := io.Copy(got, obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	if n != size || string(got.Sum(nil)) != string(sent.Sum(nil)) {
		t.Fatalf("read back %d bytes (sha256 equal: %v), want %d identical", n, string(got.Sum(nil)) == string(sent.Sum(nil)), size)
	}
	ev := receiveOne(t, cfg, r, "UploadQueue")
	rec := ev.Records[0]
	if rec.EventVersion != "2.1" || rec.EventSource != "aws:s3" || rec.EventName != "ObjectCreated:Put" || rec.AWSRegion != cfg.Region {
		t.Errorf("record %+v", rec)
	}
	if rec.S3.Bucket.Name != r.Buckets["FeedBucket"] || rec.S3.Bucket.Arn != "arn:aws:s3:::"+r.Buckets["FeedBucket"] {
		t.Errorf("bucket %+v", rec.S3.Bucket)
	}
	if rec.S3.Object.Key != key || rec.S3.Object.Size != size || rec.S3.Object.ETag == "" || strings.Contains(rec.S3.Object.ETag, `"`) || rec.S3.Object.Sequencer == "" {
		t.Errorf("object %+v", rec.S3.Object)
	}
}

func TestUploadRouting(t *testing.T) {
	cfg, r := provisionTemplate(t)
	ctx := context.Background()
	tests := []struct {
		key, queue, encoded string
	}{
		{"registry/项目 名册.csv", "RegistryQueue", "registry/%E9%A1%B9%E7%9B%AE+%E5%90%8D%E5%86%8C.csv"},
		{"attendance/2026-11-27/site gate=1.csv", "AttendanceFileQueue", "attendance/2026-11-27/site+gate%3D1.csv"},
		{"bank/a.csv", "UploadQueue", "bank/a.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			body := "project_id,name\n"
			if err := r.Upload(ctx, tc.key, strings.NewReader(body), int64(len(body))); err != nil {
				t.Fatal(err)
			}
			ev := receiveOne(t, cfg, r, tc.queue)
			if got := ev.Records[0].S3.Object; got.Key != tc.encoded || got.URLDecodedKey != tc.key || got.Size != int64(len(body)) {
				t.Errorf("object key %q (decoded %q) size %d, want %q (%q) %d", got.Key, got.URLDecodedKey, got.Size, tc.encoded, tc.key, len(body))
			}
		})
	}
	// A key no notification matches is stored, and no queue hears of it.
	if err := r.Upload(ctx, "reports/x.json", strings.NewReader("{}"), 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UploadQueue", "RegistryQueue", "AttendanceFileQueue"} {
		out, err := r.sqs(cfg).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.Queues[q].URL), WaitTimeSeconds: 0})
		if err != nil || len(out.Messages) != 0 {
			t.Errorf("%s: %d messages after an unrouted upload (err %v)", q, len(out.Messages), err)
		}
	}
}

// runnerTemplate is a one-queue template whose messages come back after 1 s.
const runnerTemplate = `
Resources:
  WorkFunction:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 5
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkQueueDLQ.Arn
        maxReceiveCount: 5
  WorkQueueDLQ:
    Type: AWS::SQS::Queue
`

func provisionRunner(t *testing.T) (aws.Config, *Resources) {
	t.Helper()
	cfg := stacktest.EnsureLocal(t)
	tpl, err := ParseTemplate([]byte(runnerTemplate))
	if err != nil {
		t.Fatal(err)
	}
	ns := NewNamespace()
	r, err := Provision(context.Background(), cfg, tpl, ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Teardown(context.Background(), cfg, ns) })
	return cfg, r
}

func send(t *testing.T, cfg aws.Config, r *Resources, queueID string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := r.sqs(cfg).SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(r.Queues[queueID].URL), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

func drainBodies(t *testing.T, cfg aws.Config, r *Resources, queueID string) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := r.sqs(cfg).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.Queues[queueID].URL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			slices.Sort(bodies)
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
}

// TestRunnerPartialBatchFailure: the handler reports the "fail" messages as
// failed every time; the others are deleted after one invocation, the failed
// ones are received 5 times and then land in the DLQ by the emulator's
// redrive.
func TestRunnerPartialBatchFailure(t *testing.T) {
	cfg, r := provisionRunner(t)
	var mu sync.Mutex
	seen := map[string][]string{} // body -> ApproximateReceiveCount of each delivery
	var badEvent error
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ev.Records {
			if m.EventSource != "aws:sqs" || m.EventSourceARN != r.Queues["WorkQueue"].ARN || m.AWSRegion != cfg.Region || m.ReceiptHandle == "" || m.MessageId == "" {
				badEvent = fmt.Errorf("record %+v", m)
			}
			seen[m.Body] = append(seen[m.Body], m.Attributes["ApproximateReceiveCount"])
			if strings.HasPrefix(m.Body, "fail") {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
	run := NewRunner(cfg, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
	run.WaitTime = time.Second
	send(t, cfg, r, "WorkQueue", "ok-1", "fail-1", "ok-2", "ok-3", "fail-2")
	runUntilDrained(t, run, 60*time.Second)
	if badEvent != nil {
		t.Errorf("malformed SQS event: %v", badEvent)
	}
	for _, b := range []string{"ok-1", "ok-2", "ok-3"} {
		if got := seen[b]; !slices.Equal(got, []string{"1"}) {
			t.Errorf("%s delivered with receive counts %v, want [1]", b, got)
		}
	}
	for _, b := range []string{"fail-1", "fail-2"} {
		if got := seen[b]; !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
			t.Errorf("%s delivered with receive counts %v, want 1..5", b, got)
		}
	}
	if got := drainBodies(t, cfg, r, "WorkQueueDLQ"); !slices.Equal(got, []string{"fail-1", "fail-2"}) {
		t.Errorf("DLQ holds %v, want [fail-1 fail-2]", got)
	}
}

// TestRunnerBatchError: a returned error (or a panic) fails the whole batch:
// nothing is deleted, and every message comes again.
func TestRunnerBatchError(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			cfg, r := provisionRunner(t)
			var mu sync.Mutex
			calls := 0
			deliveries := map[string]int{}
			h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				for _, m := range ev.Records {
					deliveries[m.Body]++
				}
				if calls == 1 {
					if mode == "panic" {
						panic("first call fails")
					}
					return events.SQSEventResponse{}, errors.New("first call fails")
				}
				return events.SQSEventResponse{}, nil
			}
			send(t, cfg, r, "WorkQueue", "a", "b", "c")
			time.Sleep(200 * time.Millisecond) // all three in the first receive
			run := NewRunner(cfg, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
			run.WaitTime = time.Second
			runUntilDrained(t, run, 30*time.Second)
			for _, b := range []string{"a", "b", "c"} {
				if deliveries[b] != 2 {
					t.Errorf("%s delivered %d times, want 2 (failed batch, then success)", b, deliveries[b])
				}
			}
			if got := drainBodies(t, cfg, r, "WorkQueueDLQ"); len(got) != 0 {
				t.Errorf("DLQ holds %v", got)
			}
		})
	}
}

func TestRunnerRejectsUnknownHandler(t *testing.T) {
	tpl, err := ParseTemplate([]byte(runnerTemplate))
	if err != nil {
		t.Fatal(err)
	}
	r := &Resources{tpl: tpl, Queues: map[string]QueueRef{}}
	run := NewRunner(aws.Config{}, r, map[string]SQSHandler{"NoFunction": nil}, nil)
	if err := run.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "NoFunction") {
		t.Errorf("Start with a handler for an unknown function: %v", err)
	}
}

func TestEncodeEventKey(t *testing.T) {
	for key, want := range map[string]string{
		"bank/a.csv":           "bank/a.csv",
		"bank/a b.csv":         "bank/a+b.csv",
		"registry/名册.csv":      "registry/%E5%90%8D%E5%86%8C.csv",
		"attendance/x+y&z.csv": "attendance/x%2By%26z.csv",
	} {
		if got := EncodeEventKey(key); got != want {
			t.Errorf("EncodeEventKey(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestMain(m *testing.M) {
	// The local stack is reached with local credentials whatever the
	// developer's environment holds.
	os.Setenv("AWS_ACCESS_KEY_ID", "local")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	os.Exit(m.Run())
}

// TestRunnerRetryVisibility: with RetryVisibility set, a failed message comes
// back after that long, not after the queue's 60 s visibility timeout.
func TestRunnerRetryVisibility(t *testing.T) {
	cfg, r := runnerNamespace(t, 60)
	var mu sync.Mutex
	calls := 0
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}}, nil
		}
		return events.SQSEventResponse{}, nil
	}
	send(t, cfg, r, "WorkQueue", "x")
	run := NewRunner(cfg, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
	run.WaitTime = time.Second
	run.RetryVisibility = time.Second
	runUntilDrained(t, run, 20*time.Second)
	if calls != 2 || run.Invocations() != 2 {
		t.Errorf("handler called %d times (%d invocations), want 2", calls, run.Invocations())
	}
}

// TestRunnerStopLosesNothing: a message sent just after Stop is not taken by
// a long poll the stopped runner left behind (the emulator does not notice a
// client that went away), so a later runner gets it at once.
func TestRunnerStopLosesNothing(t *testing.T) {
	cfg, r := runnerNamespace(t, 60)
	var mu sync.Mutex
	var got []string
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ev.Records {
			got = append(got, m.Body)
		}
		return events.SQSEventResponse{}, nil
	}
	first := NewRunner(cfg, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
	first.WaitTime = 3 * time.Second
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the first runner is in a long poll
	first.Stop()
	send(t, cfg, r, "WorkQueue", "after-stop")
	second := NewRunner(cfg, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
	second.WaitTime = time.Second
	runUntilDrained(t, second, 15*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []string{"after-stop"}) {
		t.Errorf("handled %v, want [after-stop]", got)
	}
}

// TestRunnerPollers: with several pollers a mapping's batches are handled at
// once, and every message is still handled exactly once.
func TestRunnerPollers(t *testing.T) {
	cfg, r := provisionRunner(t)
	var mu sync.Mutex
	seen := map[string]int{}
	var inFlight, peak int
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		for _, m := range ev.Records {
			seen[m.Body]++
		}
		mu.Unlock()
		time.Sleep(300 * time.Millisecond) // hold the batch, so that others overlap it
		mu.Lock()
		inFlight--
		mu.Unlock()
		return events.SQSEventResponse{}, nil
	}
	run := NewRunner(cfg, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
	run.WaitTime = time.Second
	run.Pollers = 3
	var bodies []string
	for i := range 60 {
		bodies = append(bodies, fmt.Sprintf("m-%02d", i))
	}
	send(t, cfg, r, "WorkQueue", bodies...)
	runUntilDrained(t, run, 60*time.Second)
	for _, b := range bodies {
		if seen[b] != 1 {
			t.Errorf("%s handled %d times, want once", b, seen[b])
		}
	}
	if peak < 2 {
		t.Errorf("at most %d batches at once, want several with 3 pollers", peak)
	}
}

// losingTransport loses the response of the first ReceiveMessage that
// brings messages, after the emulator sent it, as a broken connection does:
// the SDK retries the receive and the first one's messages stay invisible at
// the emulator, held by nobody.
type losingTransport struct {
	mu   sync.Mutex
	lost bool
}

func (l *losingTransport) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Header.Get("X-Amz-Target") != "AmazonSQS.ReceiveMessage" {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	lose := !l.lost && bytes.Contains(body, []byte(`"Messages"`))
	l.lost = l.lost || lose
	l.mu.Unlock()
	if lose {
		return nil, errors.New("read: connection reset by peer (lost by the test)")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// TestRunnerLeaseRecoversLostReceive: a receive lost on the way back costs
// the runner's lease, not the queue's visibility timeout (10 minutes here).
func TestRunnerLeaseRecoversLostReceive(t *testing.T) {
	cfg, r := runnerNamespace(t, 600)
	var mu sync.Mutex
	var got []string
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ev.Records {
			got = append(got, m.Body+"@"+m.Attributes["ApproximateReceiveCount"])
		}
		return events.SQSEventResponse{}, nil
	}
	send(t, cfg, r, "WorkQueue", "x")
	lossy := cfg.Copy()
	tr := &losingTransport{}
	lossy.HTTPClient = tr
	run := NewRunner(lossy, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
	run.WaitTime = time.Second
	run.RetryVisibility = time.Second
	run.Lease = 3 * time.Second
	start := time.Now()
	runUntilDrained(t, run, 30*time.Second)
	if !tr.lost {
		t.Fatal("no receive was lost: the test tested nothing")
	}
	if want := []string{"x@2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("handled %v, want %v (the lost receive was the first)", got, want)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the lost message came back after %s, want about the 3 s lease", took.Round(time.Second))
	}
}

// TestRunnerLeaseHeldWhileHandling: a handler that runs past the lease
// keeps its messages; nobody else gets them meanwhile.
func TestRunnerLeaseHeldWhileHandling(t *testing.T) {
	cfg, r := runnerNamespace(t, 600)
	var calls atomic.Int64
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		calls.Add(1)
		time.Sleep(7 * time.Second) // more than twice the lease
		return events.SQSEventResponse{}, nil
	}
	send(t, cfg, r, "WorkQueue", "slow")
	run := NewRunner(cfg, r, map[string]SQSHandler{"WorkFunction": h}, testLog(t))
	run.WaitTime = time.Second
	run.RetryVisibility = time.Second
	run.Lease = 3 * time.Second
	run.Pollers = 3
	runUntilDrained(t, run, 30*time.Second)
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1: the lease ran out while it ran", n)
	}
}

// runnerNamespace provisions runnerTemplate, its queue's visibility timeout
// set to visibility seconds, in a fresh namespace torn down after the test.
func runnerNamespace(t *testing.T, visibility int) (aws.Config, *Resources) {
	t.Helper()
	cfg := stacktest.EnsureLocal(t)
	tpl, err := ParseTemplate([]byte(strings.Replace(runnerTemplate, "VisibilityTimeout: 1", fmt.Sprintf("VisibilityTimeout: %d", visibility), 1)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Provision(context.Background(), cfg, tpl, NewNamespace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Teardown(context.Background(), cfg, r.Namespace) })
	return cfg, r
}

// runUntilDrained starts the runner, waits until its queues are drained
// (at most timeout) and stops it.
func runUntilDrained(t *testing.T, run *Runner, timeout time.Duration) {
	t.Helper()
	if err := run.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := run.WaitDrained(context.Background(), timeout)
	run.Stop()
	if err != nil {
		t.Fatal(err)
	}
}
