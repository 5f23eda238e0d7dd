package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/logging"
)

// Endpoints are the local stack's service endpoints.
type Endpoints struct {
	DynamoDB string `json:"dynamodb"`
	SQS      string `json:"sqs"`
	S3       string `json:"s3"`
	SNS      string `json:"sns"`
}

// LocalEndpoints reads AWS_ENDPOINT_URL_<SERVICE>, falling back to
// 127.0.0.1 on the ports infra/stack.sh uses (WW_DDB_PORT, WW_SQS_PORT,
// WW_S3_PORT; defaults 18000, 18001, 18002).
func LocalEndpoints() Endpoints {
	port := func(env, def string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		return def
	}
	pick := func(env, p string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		return "http://127.0.0.1:" + p
	}
	sqsPort := port("WW_SQS_PORT", "18001")
	return Endpoints{
		DynamoDB: pick("AWS_ENDPOINT_URL_DYNAMODB", port("WW_DDB_PORT", "18000")),
		SQS:      pick("AWS_ENDPOINT_URL_SQS", sqsPort),
		S3:       pick("AWS_ENDPOINT_URL_S3", port("WW_S3_PORT", "18002")),
		SNS:      pick("AWS_ENDPOINT_URL_SNS", sqsPort),
	}
}

// QueueRef names a provisioned queue.
type QueueRef struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	ARN  string `json:"arn"`
}

// Resources are the template's resources as provisioned in the local stack,
// by logical ID.
type Resources struct {
	Namespace  string              `json:"namespace"`
	Region     string              `json:"region"`
	Endpoints  Endpoints           `json:"endpoints"`
	Tables     map[string]string   `json:"tables"`
	Queues     map[string]QueueRef `json:"queues"`
	Buckets    map[string]string   `json:"buckets"`
	Secrets    map[string]string   `json:"secrets"` // logical ID -> a local ARN (there is no local Secrets Manager)
	Parameters map[string]string   `json:"parameters"`
	PIIKey     string              `json:"pii_key"` // hex; WW_PII_KEY of every function

	tpl *Template
	cfg aws.Config
	log *slog.Logger
}

// Template is the template the resources were provisioned from.
func (r *Resources) Template() *Template { return r.tpl }

var namespaceRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// NewNamespace returns a fresh namespace: "ww" and 8 random hex digits.
func NewNamespace() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "ww" + hex.EncodeToString(b[:])
}

func (r *Resources) ddb(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(r.Endpoints.DynamoDB) })
}

func (r *Resources) sqs(cfg aws.Config) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(r.Endpoints.SQS) })
}

func (r *Resources) s3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(r.Endpoints.S3)
		o.UsePathStyle = true
	})
}

// Provision creates every table (with its GSIs), queue (dead-letter queues
// first, then the queues that redrive to them) and bucket of the template in
// the local stack at LocalEndpoints, named "<namespace>-<LogicalID>" (buckets
// in lower case). Creating what exists already is not an error. TTL is not
// set: dynalite has none; the log says so.
func Provision(ctx context.Context, cfg aws.Config, t *Template, namespace string, log *slog.Logger) (*Resources, error) {
	if !namespaceRE.MatchString(namespace) {
		return nil, fmt.Errorf("provision: namespace %q: want 1-20 of a-z, 0-9, - starting with a letter", namespace)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("provision: pii key: %w", err)
	}
	r := &Resources{
		Namespace:  namespace,
		Region:     cfg.Region,
		Endpoints:  LocalEndpoints(),
		Tables:     map[string]string{},
		Queues:     map[string]QueueRef{},
		Buckets:    map[string]string{},
		Secrets:    map[string]string{},
		Parameters: map[string]string{},
		PIIKey:     hex.EncodeToString(key),
		tpl:        t,
		cfg:        cfg,
		log:        log,
	}
	for k, v := range t.Parameters {
		r.Parameters[k] = v
	}
	for _, id := range t.Secrets {
		r.Secrets[id] = fmt.Sprintf("arn:aws:secretsmanager:%s:000000000000:secret:%s-%s", cfg.Region, namespace, id)
	}
	if err := r.createTables(ctx, cfg); err != nil {
		return nil, err
	}
	if err := r.createQueues(ctx, cfg); err != nil {
		return nil, err
	}
	if err := r.createBuckets(ctx, cfg); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Resources) createTables(ctx context.Context, cfg aws.Config) error {
	db := r.ddb(cfg)
	ids := sortedKeys(r.tpl.Tables)
	for _, id := range ids {
		tb := r.tpl.Tables[id]
		name := r.Namespace + "-" + id
		in := &dynamodb.CreateTableInput{
			TableName:   aws.String(name),
			BillingMode: ddbtypes.BillingModePayPerRequest,
			KeySchema:   keySchemaOf(tb.HashKey, tb.RangeKey),
		}
		for _, a := range sortedKeys(tb.Attributes) {
			in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
				AttributeName: aws.String(a), AttributeType: ddbtypes.ScalarAttributeType(tb.Attributes[a]),
			})
		}
		for _, g := range tb.GSIs {
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
				IndexName:  aws.String(g.Name),
				KeySchema:  keySchemaOf(g.HashKey, g.RangeKey),
				Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(g.Projection)},
			})
		}
		_, err := db.CreateTable(ctx, in)
		var inUse *ddbtypes.ResourceInUseException
		switch {
		case errors.As(err, &inUse):
			r.log.Info("table exists", "table", name)
		case err != nil:
			return fmt.Errorf("provision: create table %s: %w", name, err)
		default:
			r.log.Info("table created", "table", name, "gsis", len(tb.GSIs))
		}
		if tb.TTLAttribute != "" {
			r.log.Info("TTL not set locally: dynalite has no TTL", "table", name, "ttl_attribute", tb.TTLAttribute)
		}
		r.Tables[id] = name
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	for _, id := range ids {
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.Tables[id])}, 30*time.Second); err != nil {
			return fmt.Errorf("provision: table %s active: %w", r.Tables[id], err)
		}
	}
	return nil
}

func keySchemaOf(hash, rng string) []ddbtypes.KeySchemaElement {
	ks := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: ddbtypes.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, ddbtypes.KeySchemaElement{AttributeName: aws.String(rng), KeyType: ddbtypes.KeyTypeRange})
	}
	return ks
}

func (r *Resources) createQueues(ctx context.Context, cfg aws.Config) error {
	c := r.sqs(cfg)
	ids := sortedKeys(r.tpl.Queues)
	// Dead-letter queues first: the others' redrive policies name them.
	sort.SliceStable(ids, func(i, j int) bool {
		return r.tpl.Queues[ids[i]].DLQ == "" && r.tpl.Queues[ids[j]].DLQ != ""
	})
	for _, id := range ids {
		q := r.tpl.Queues[id]
		name := r.Namespace + "-" + id
		if q.FIFO {
			name += ".fifo"
		}
		attrs := map[string]string{
			"VisibilityTimeout": strconv.Itoa(q.VisibilityTimeout),
			"DelaySeconds":      strconv.Itoa(q.DelaySeconds),
		}
		if q.RetentionSeconds > 0 {
			attrs["MessageRetentionPeriod"] = strconv.Itoa(q.RetentionSeconds)
		}
		if q.FIFO {
			attrs["FifoQueue"] = "true"
		}
		if q.DLQ != "" {
			dlq, ok := r.Queues[q.DLQ]
			if !ok {
				return fmt.Errorf("provision: queue %s: dead-letter queue %s not created", id, q.DLQ)
			}
			rp, err := json.Marshal(map[string]any{"deadLetterTargetArn": dlq.ARN, "maxReceiveCount": q.MaxReceiveCount})
			if err != nil {
				return fmt.Errorf("provision: queue %s: redrive policy: %w", id, err)
			}
			attrs["RedrivePolicy"] = string(rp)
		}
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return fmt.Errorf("provision: create queue %s: %w", name, err)
		}
		ga, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return fmt.Errorf("provision: queue %s arn: %w", name, err)
		}
		r.Queues[id] = QueueRef{Name: name, URL: aws.ToString(out.QueueUrl), ARN: ga.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}
		r.log.Info("queue ready", "queue", name, "dlq", q.DLQ, "max_receive_count", q.MaxReceiveCount)
	}
	return nil
}

func (r *Resources) createBuckets(ctx context.Context, cfg aws.Config) error {
	c := r.s3(cfg)
	for _, id := range sortedKeys(r.tpl.Buckets) {
		name := strings.ToLower(r.Namespace + "-" + id)
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		var owned *s3types.BucketAlreadyOwnedByYou
		var exists *s3types.BucketAlreadyExists
		if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
			return fmt.Errorf("provision: create bucket %s: %w", name, err)
		}
		r.Buckets[id] = name
		r.log.Info("bucket ready", "bucket", name, "notifications", len(r.tpl.Buckets[id].Notifications))
	}
	return nil
}

// Teardown deletes every table, queue and bucket whose name starts with
// "<namespace>-" from the local stack.
func Teardown(ctx context.Context, cfg aws.Config, namespace string) error {
	if !namespaceRE.MatchString(namespace) {
		return fmt.Errorf("teardown: namespace %q is not one Provision makes", namespace)
	}
	r := &Resources{Endpoints: LocalEndpoints()}
	prefix := namespace + "-"
	db := r.ddb(cfg)
	var deleted []string
	var start *string
	for {
		out, err := db.ListTables(ctx, &dynamodb.ListTablesInput{ExclusiveStartTableName: start})
		if err != nil {
			return fmt.Errorf("teardown: list tables: %w", err)
		}
		for _, name := range out.TableNames {
			if strings.HasPrefix(name, prefix) {
				if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
					return fmt.Errorf("teardown: delete table %s: %w", name, err)
				}
				deleted = append(deleted, name)
			}
		}
		if out.LastEvaluatedTableName == nil {
			break
		}
		start = out.LastEvaluatedTableName
	}
	gone := dynamodb.NewTableNotExistsWaiter(db, func(o *dynamodb.TableNotExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	for _, name := range deleted {
		if err := gone.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
			return fmt.Errorf("teardown: table %s deleted: %w", name, err)
		}
	}
	q := r.sqs(cfg)
	lq, err := q.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix)})
	if err != nil {
		return fmt.Errorf("teardown: list queues: %w", err)
	}
	for _, u := range lq.QueueUrls {
		if _, err := q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
			return fmt.Errorf("teardown: delete queue %s: %w", u, err)
		}
	}
	c := r.s3(cfg)
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return fmt.Errorf("teardown: list buckets: %w", err)
	}
	for _, b := range lb.Buckets {
		name := aws.ToString(b.Name)
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("teardown: list %s: %w", name, err)
			}
			for _, o := range page.Contents {
				if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key}); err != nil {
					return fmt.Errorf("teardown: delete s3://%s/%s: %w", name, aws.ToString(o.Key), err)
				}
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
			return fmt.Errorf("teardown: delete bucket %s: %w", name, err)
		}
	}
	return nil
}

// Reset deletes the namespace's resources and provisions them again, empty.
func Reset(ctx context.Context, cfg aws.Config, t *Template, namespace string, log *slog.Logger) (*Resources, error) {
	if err := Teardown(ctx, cfg, namespace); err != nil {
		return nil, err
	}
	return Provision(ctx, cfg, t, namespace, log)
}

// Resolve resolves a template value against the provisioned resources: Ref
// of a table or bucket is its name, of a queue its URL, of a secret its ARN,
// of a parameter its default; GetAtt X.Arn and X.QueueName; Sub of those.
func (r *Resources) Resolve(v Value) (string, error) {
	switch {
	case v.Ref != "":
		return r.ref(v.Ref)
	case v.GetAtt[0] != "":
		return r.getAtt(v.GetAtt[0], v.GetAtt[1])
	case v.Sub != "":
		var errs []string
		out := subVarRE.ReplaceAllStringFunc(v.Sub, func(m string) string {
			name := m[2 : len(m)-1]
			var s string
			var err error
			if id, attr, ok := strings.Cut(name, "."); ok {
				s, err = r.getAtt(id, attr)
			} else {
				s, err = r.ref(name)
			}
			if err != nil {
				errs = append(errs, err.Error())
			}
			return s
		})
		if len(errs) > 0 {
			return "", fmt.Errorf("resolve %s: %s", v, strings.Join(errs, "; "))
		}
		return out, nil
	}
	return v.Literal, nil
}

var subVarRE = regexp.MustCompile(`\$\{[^}!]+\}`)

func (r *Resources) ref(id string) (string, error) {
	if n, ok := r.Tables[id]; ok {
		return n, nil
	}
	if q, ok := r.Queues[id]; ok {
		return q.URL, nil
	}
	if b, ok := r.Buckets[id]; ok {
		return b, nil
	}
	if s, ok := r.Secrets[id]; ok {
		return s, nil
	}
	if p, ok := r.Parameters[id]; ok {
		return p, nil
	}
	switch id {
	case "AWS::Region":
		return r.Region, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::AccountId":
		return "000000000000", nil
	case "AWS::StackName":
		return r.Namespace, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	}
	return "", fmt.Errorf("resolve !Ref %s: not a resource the local stack provisions", id)
}

func (r *Resources) getAtt(id, attr string) (string, error) {
	if q, ok := r.Queues[id]; ok {
		switch attr {
		case "Arn":
			return q.ARN, nil
		case "QueueName":
			return q.Name, nil
		case "QueueUrl":
			return q.URL, nil
		}
	}
	if n, ok := r.Tables[id]; ok && attr == "Arn" {
		return fmt.Sprintf("arn:aws:dynamodb:%s:000000000000:table/%s", r.Region, n), nil
	}
	if b, ok := r.Buckets[id]; ok && attr == "Arn" {
		return "arn:aws:s3:::" + b, nil
	}
	return "", fmt.Errorf("resolve !GetAtt %s.%s: not known locally", id, attr)
}

// EnvFor returns the environment of a function (by logical ID or folder
// name): its template variables resolved against the local resources, plus
// the local-only ones (endpoints, path-style S3, the PII key, credentials).
func (r *Resources) EnvFor(fn string) (map[string]string, error) {
	f, ok := r.tpl.FunctionByName(fn)
	if !ok {
		return nil, fmt.Errorf("env: no function %q in the template", fn)
	}
	env := map[string]string{
		"AWS_REGION":                       r.Region,
		"AWS_ACCESS_KEY_ID":                "local",
		"AWS_SECRET_ACCESS_KEY":            "local",
		"AWS_ENDPOINT_URL_DYNAMODB":        r.Endpoints.DynamoDB,
		"AWS_ENDPOINT_URL_SQS":             r.Endpoints.SQS,
		"AWS_ENDPOINT_URL_S3":              r.Endpoints.S3,
		"AWS_ENDPOINT_URL_SNS":             r.Endpoints.SNS,
		"AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
		"AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
		"WW_S3_PATH_STYLE":                 "true",
		"WW_PII_KEY":                       r.PIIKey,
		"AWS_LAMBDA_FUNCTION_NAME":         r.Namespace + "-" + f.LogicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE":  strconv.Itoa(f.MemorySize),
	}
	var errs []string
	for _, k := range sortedKeys(f.Env) {
		v, err := r.Resolve(f.Env[k])
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", k, err))
			continue
		}
		env[k] = v
	}
	if len(errs) > 0 {
		return env, fmt.Errorf("env of %s: %s", f.LogicalID, strings.Join(errs, "; "))
	}
	return env, nil
}

// Env is EnvFor without the error: variables that do not resolve are left
// out (EnvFor says which).
func (r *Resources) Env(fn string) map[string]string {
	env, _ := r.EnvFor(fn)
	return env
}

// StatePath is where the last provisioned resources are kept:
// <root>/.local/resources.json.
func StatePath(root string) string { return filepath.Join(root, ".local", "resources.json") }

// Save writes the resources as JSON (for --keep and `wagewatch stack env`).
func (r *Resources) Save(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("save resources: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save resources: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save resources: %w", err)
	}
	return nil
}

// LoadResources reads resources written by Save and attaches the config the
// local stack is reached with and the template.
func LoadResources(path string, cfg aws.Config, t *Template, log *slog.Logger) (*Resources, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load resources: %w", err)
	}
	r := &Resources{}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("load resources %s: %w", path, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r.tpl, r.cfg, r.log = t, cfg, log
	return r, nil
}

// LocalConfig is the aws.Config for the local stack: credentials "local"
// (unless AWS_ACCESS_KEY_ID is set), AWS_REGION or us-east-1, and checksums
// only when an operation requires them (the local S3 does not read
// aws-chunked trailers). Endpoints are not in it: Resources points each
// client at its service (LocalEndpoints).
func LocalConfig(ctx context.Context) (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if os.Getenv("WW_AWS_LOG_RETRIES") == "1" {
		// WW_AWS_LOG_RETRIES=1: every SDK retry and its reason on stderr
		// (a retried receive may have lost the messages of the first try).
		opts = append(opts, config.WithClientLogMode(aws.LogRetries), config.WithLogger(logging.NewStandardLogger(os.Stderr)),
			config.WithRetryer(func() aws.Retryer { return loudRetryer{retry.NewStandard()} }))
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("local aws config: %w", err)
	}
	return cfg, nil
}

// loudRetryer says on stderr why the SDK retries a request (its own log
// says only that it does).
type loudRetryer struct{ aws.Retryer }

func (r loudRetryer) IsErrorRetryable(err error) bool {
	ok := r.Retryer.IsErrorRetryable(err)
	if ok {
		fmt.Fprintf(os.Stderr, "SDK retryable error: %v\n", err)
	}
	return ok
}
