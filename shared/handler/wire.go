package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/wagewatch/wagewatch/shared/awsconf"
	"github.com/wagewatch/wagewatch/shared/blob"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/store"
)

// Env is a function's configuration, as template.yaml sets it in the
// environment (docs/architecture.md lists the variables).
type Env struct {
	Tables          store.Tables
	Bucket          string
	EntriesQueue    string
	AttendanceQueue string
	EvaluateQueue   string
	NotifyQueue     string
	PIIKey          string // local stack only
	PIIKeyParam     string // production: SSM SecureString name
	SecretsARN      string
	Rules           rules.Config
	ReevalDelay     time.Duration
	// Reevaluate is false when changes must not trigger re-evaluations (a
	// scenario run, which evaluates once, as of its moment, after loading).
	Reevaluate bool
	LogLevel   slog.Level
}

// EnvFrom reads an Env through getenv (os.Getenv, or a map in the local
// runner).
func EnvFrom(getenv func(string) string) (Env, error) {
	e := Env{
		Tables: store.Tables{
			Registry: getenv("WW_REGISTRY_TABLE"), Ledger: getenv("WW_LEDGER_TABLE"),
			Attendance: getenv("WW_ATTENDANCE_TABLE"), Alerts: getenv("WW_ALERTS_TABLE"),
			Deliveries: getenv("WW_DELIVERIES_TABLE"), Files: getenv("WW_FILES_TABLE"),
		},
		Bucket:          getenv("WW_FEED_BUCKET"),
		EntriesQueue:    getenv("WW_ENTRIES_QUEUE_URL"),
		AttendanceQueue: getenv("WW_ATTENDANCE_QUEUE_URL"),
		EvaluateQueue:   getenv("WW_EVALUATE_QUEUE_URL"),
		NotifyQueue:     getenv("WW_NOTIFY_QUEUE_URL"),
		PIIKey:          getenv("WW_PII_KEY"),
		PIIKeyParam:     getenv("WW_PII_KEY_PARAM"),
		SecretsARN:      getenv("WW_SECRETS_ARN"),
		Rules:           rules.DefaultConfig(),
		ReevalDelay:     60 * time.Second,
		Reevaluate:      getenv("WW_REEVALUATE") != "off",
	}
	if v := getenv("WW_RULES"); v != "" {
		if err := json.Unmarshal([]byte(v), &e.Rules); err != nil {
			return e, fmt.Errorf("WW_RULES: %w", err)
		}
		if err := e.Rules.Validate(); err != nil {
			return e, fmt.Errorf("WW_RULES: %w", err)
		}
	}
	if v := getenv("WW_REEVAL_DELAY_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 900 {
			return e, fmt.Errorf("WW_REEVAL_DELAY_SECONDS %q: want 0 to 900", v)
		}
		e.ReevalDelay = time.Duration(n) * time.Second
	}
	if v := getenv("WW_LOG_LEVEL"); v != "" {
		if err := e.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return e, fmt.Errorf("WW_LOG_LEVEL: %w", err)
		}
	}
	return e, nil
}

// Deps are the clients a function uses, built once per process.
type Deps struct {
	Env    Env
	Store  *store.Store
	Bucket *blob.Bucket
	SQS    *sqs.Client
	Hasher *pii.Hasher
	Now    func() time.Time
	Log    *slog.Logger
	AWS    aws.Config
}

// NewLogger returns the JSON logger every function uses: personal data is
// redacted before anything is written.
func NewLogger(level slog.Level) *slog.Logger {
	return slog.New(pii.NewRedactingHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

// NewDeps builds the clients. withPII loads the hashing key (from the
// environment locally, from SSM Parameter Store in production).
func NewDeps(ctx context.Context, cfg aws.Config, env Env, withPII bool, now func() time.Time, log *slog.Logger) (*Deps, error) {
	d := &Deps{Env: env, Now: now, Log: log, AWS: cfg}
	d.Store = store.New(dynamodb.NewFromConfig(cfg), env.Tables, now)
	d.Bucket = blob.NewBucket(s3.NewFromConfig(cfg, awsconf.S3Options()), env.Bucket)
	d.SQS = sqs.NewFromConfig(cfg)
	if withPII {
		key := []byte(env.PIIKey)
		if len(key) == 0 && env.PIIKeyParam != "" {
			out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{
				Name: aws.String(env.PIIKeyParam), WithDecryption: aws.Bool(true),
			})
			if err != nil {
				return nil, fmt.Errorf("read PII key parameter %s: %w", env.PIIKeyParam, err)
			}
			key = []byte(aws.ToString(out.Parameter.Value))
		}
		h, err := pii.NewHasher(key)
		if err != nil {
			return nil, fmt.Errorf("PII key: %w", err)
		}
		d.Hasher = h
	}
	return d, nil
}

func (d *Deps) queue(url string) *queue.Sender { return queue.NewSender(d.SQS, url) }

func (d *Deps) debouncer() reevaluator {
	if !d.Env.Reevaluate {
		return nil
	}
	return &Debouncer{Marks: d.Store, Evaluate: d.queue(d.Env.EvaluateQueue), Delay: d.Env.ReevalDelay}
}

// NewIngestFeed wires the ingest-feed function.
func NewIngestFeed(d *Deps) *IngestFeed {
	return &IngestFeed{Bucket: d.Bucket, Files: d.Store, Entries: d.queue(d.Env.EntriesQueue),
		Hasher: d.Hasher, Mask: pii.MaskCard, Now: d.Now, Log: d.Log}
}

// NewRecordEntries wires the record-entries function.
func NewRecordEntries(d *Deps) *RecordEntries {
	return &RecordEntries{Ledger: d.Store, Reeval: d.debouncer(), Log: d.Log}
}

// NewImportRegistry wires the import-registry function.
func NewImportRegistry(d *Deps) *ImportRegistry {
	return &ImportRegistry{Bucket: d.Bucket, Files: d.Store, Registry: d.Store, Reeval: d.debouncer(),
		Hasher: d.Hasher, Now: d.Now, Log: d.Log}
}

// NewScan wires the scan function.
func NewScan(d *Deps) *Scan {
	return &Scan{Projects: d.Store, Evaluate: d.queue(d.Env.EvaluateQueue), Now: d.Now, Log: d.Log}
}

// NewEvaluate wires the evaluate function.
func NewEvaluate(d *Deps) *Evaluate {
	return &Evaluate{Data: d.Store, Alerts: d.Store, Notify: d.queue(d.Env.NotifyQueue),
		Rules: d.Env.Rules, Now: d.Now, Log: d.Log}
}

// Boot builds a function's dependencies from the process environment, as
// every functions/<name>/main.go does once at cold start.
func Boot(ctx context.Context, withPII bool) (*Deps, error) {
	env, err := EnvFrom(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return nil, err
	}
	return NewDeps(ctx, cfg, env, withPII, time.Now, NewLogger(env.LogLevel))
}

// NewIngestAttendance wires the ingest-attendance function.
func NewIngestAttendance(d *Deps) *IngestAttendance {
	return &IngestAttendance{Bucket: d.Bucket, Files: d.Store, Registry: d.Store,
		Attendance: d.queue(d.Env.AttendanceQueue), Hasher: d.Hasher, Now: d.Now, Log: d.Log}
}

// NewRecordAttendance wires the record-attendance function.
func NewRecordAttendance(d *Deps) *RecordAttendance {
	return &RecordAttendance{Days: d.Store, Reeval: d.debouncer(), Log: d.Log}
}

// SQSHandler is the signature of every queue-fed function's handler.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// ForFunction returns the handler of the queue-fed function in
// functions/<name>, built from d, for the local runner; false for a function
// that no queue feeds.
func ForFunction(name string, d *Deps) (SQSHandler, bool) {
	switch name {
	case "ingest-feed":
		return NewIngestFeed(d).Handle, true
	case "record-entries":
		return NewRecordEntries(d).Handle, true
	case "import-registry":
		return NewImportRegistry(d).Handle, true
	case "ingest-attendance":
		return NewIngestAttendance(d).Handle, true
	case "record-attendance":
		return NewRecordAttendance(d).Handle, true
	case "evaluate":
		return NewEvaluate(d).Handle, true
	case "notify":
		return NewNotify(d).Handle, true
	}
	return nil, false
}

// NeedsPII reports whether the function in functions/<name> hashes personal
// data and so needs the PII key.
func NeedsPII(name string) bool {
	switch name {
	case "ingest-feed", "import-registry", "ingest-attendance", "attendance-api":
		return true
	}
	return false
}

// NewNotify wires the notify function. Webhooks are signed with each
// department's secret from the wagewatch secret (WW_SECRETS_ARN, see
// notifySecrets); locally, WW_WEBHOOK_SECRET signs every department's (see
// docs/webhook.md). SMS goes through the HTTP gateway at WW_SMS_GATEWAY_URL
// when it is set, else through SNS when WW_SMS_PROVIDER=sns, else nowhere.
// A delivery given up on (past notify.RetryHorizon) is moved to
// WW_NOTIFY_DLQ_URL.
func NewNotify(d *Deps) *Notify {
	client := &http.Client{Timeout: 10 * time.Second}
	webhookSecret := notify.StaticSecret([]byte(os.Getenv("WW_WEBHOOK_SECRET")))
	gatewayKeyID, gatewaySecret := os.Getenv("WW_SMS_GATEWAY_KEY_ID"), []byte(os.Getenv("WW_SMS_GATEWAY_SECRET"))
	if os.Getenv("WW_WEBHOOK_SECRET") == "" && d.Env.SecretsARN != "" {
		sec := &notifySecrets{fetch: secretsManagerFetch(secretsmanager.NewFromConfig(d.AWS), d.Env.SecretsARN), now: d.Now}
		webhookSecret = sec.webhook
		if doc, err := sec.load(context.Background()); err == nil && gatewayKeyID == "" {
			gatewayKeyID, gatewaySecret = doc.SMSGateway.KeyID, []byte(doc.SMSGateway.Secret)
		}
	}
	h := &Notify{
		Attempts: d.Store,
		Alerts:   d.Store,
		Webhooks: notify.NewWebhookSender(client, webhookSecret, time.Now),
		Queue:    d.SQS, QueueURL: d.Env.NotifyQueue,
		DLQ: d.SQS, DLQURL: os.Getenv("WW_NOTIFY_DLQ_URL"),
		Now: time.Now, Rand: rand.Float64, Log: d.Log,
	}
	switch {
	case os.Getenv("WW_SMS_GATEWAY_URL") != "":
		h.SMS = notify.NewGatewaySender(client, notify.GatewayConfig{
			URL: os.Getenv("WW_SMS_GATEWAY_URL"), KeyID: gatewayKeyID, Secret: gatewaySecret,
			SignName: "欠薪预警", TemplateCode: "WW_ALERT", ClearedTemplateCode: "WW_CLEARED",
		}, time.Now, nil)
	case os.Getenv("WW_SMS_PROVIDER") == "sns":
		h.SMS = notify.NewSNSSender(sns.NewFromConfig(d.AWS))
	}
	return h
}
