package handler

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/wagewatch/wagewatch/shared/attendance"
	"github.com/wagewatch/wagewatch/shared/pii"
)

// sourceSecrets finds the signing secret of an attendance source by the key
// id its requests carry. found is false for an unknown key id; err is set
// only when the secrets cannot be read at all.
type sourceSecrets interface {
	Secret(ctx context.Context, keyID string) (secret []byte, found bool, err error)
}

// SourceSecrets is a fixed table of attendance sources: key id → secret.
type SourceSecrets func(keyID string) ([]byte, bool)

// Secret implements sourceSecrets.
func (f SourceSecrets) Secret(_ context.Context, keyID string) ([]byte, bool, error) {
	s, ok := f(keyID)
	return s, ok && len(s) > 0, nil
}

// ParseSourceSecrets reads the local stack's WW_ATTENDANCE_SOURCES:
// "keyid1:secret1,keyid2:secret2". Spaces around items are ignored; a key
// id given twice, an empty key id or an empty secret is an error.
func ParseSourceSecrets(s string) (SourceSecrets, error) {
	m := map[string][]byte{}
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, secret, ok := strings.Cut(item, ":")
		id = strings.TrimSpace(id)
		switch {
		case !ok || id == "" || secret == "":
			return nil, fmt.Errorf("attendance sources: item %d is not keyid:secret", i+1)
		case m[id] != nil:
			return nil, fmt.Errorf("attendance sources: key id %q given twice", id)
		}
		m[id] = []byte(secret)
	}
	return staticSecrets(m), nil
}

func staticSecrets(m map[string][]byte) SourceSecrets {
	return func(keyID string) ([]byte, bool) {
		s, ok := m[keyID]
		return s, ok
	}
}

// ParseSecretsJSON reads the attendance sources out of the wagewatch secret
// of template.yaml: {"attendance_sources": {"<key id>": "<secret>"}, ...}.
func ParseSecretsJSON(b []byte) (SourceSecrets, error) {
	var doc struct {
		Sources map[string]string `json:"attendance_sources"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		// The error of encoding/json quotes no secret value: it names the
		// offending character or type only.
		return nil, fmt.Errorf("attendance sources secret: %w", err)
	}
	m := make(map[string][]byte, len(doc.Sources))
	for id, s := range doc.Sources {
		if id != "" && s != "" {
			m[id] = []byte(s)
		}
	}
	return staticSecrets(m), nil
}

// secretsCacheTTL is how long the attendance sources read from Secrets
// Manager are used before they are read again (a rotated or added source
// works within this time); an unknown key id makes a new read sooner, at
// most once per secretsRetryAfter.
const (
	secretsCacheTTL   = 5 * time.Minute
	secretsRetryAfter = 30 * time.Second
)

// CachedSecrets reads the attendance sources with fetch (the secret's JSON
// text) when first needed and again when they are older than
// secretsCacheTTL, or when a key id is unknown; it reads at most once per
// secretsRetryAfter, except while it has never read them. When a re-read
// fails the sources read before are kept.
type CachedSecrets struct {
	fetch func(ctx context.Context) ([]byte, error)
	now   func() time.Time

	mu      sync.Mutex
	sources SourceSecrets
	readAt  time.Time // last successful read
	triedAt time.Time // last read, successful or not
}

// NewCachedSecrets returns a CachedSecrets over fetch.
func NewCachedSecrets(fetch func(ctx context.Context) ([]byte, error), now func() time.Time) *CachedSecrets {
	return &CachedSecrets{fetch: fetch, now: now}
}

// Secret implements sourceSecrets.
func (c *CachedSecrets) Secret(ctx context.Context, keyID string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	mayRetry := now.Sub(c.triedAt) >= secretsRetryAfter
	if c.sources == nil || (now.Sub(c.readAt) >= secretsCacheTTL && mayRetry) {
		err := c.read(ctx, now)
		if c.sources == nil {
			return nil, false, err
		}
		mayRetry = false
	}
	if s, ok, _ := c.sources.Secret(ctx, keyID); ok {
		return s, true, nil
	}
	if !mayRetry {
		return nil, false, nil
	}
	if err := c.read(ctx, now); err != nil {
		return nil, false, nil // the sources read before do not know it either
	}
	s, ok, _ := c.sources.Secret(ctx, keyID)
	return s, ok, nil
}

// read reads the sources; on failure the old ones (if any) stay.
func (c *CachedSecrets) read(ctx context.Context, now time.Time) error {
	c.triedAt = now
	b, err := c.fetch(ctx)
	if err != nil {
		return fmt.Errorf("read attendance sources: %w", err)
	}
	s, err := ParseSecretsJSON(b)
	if err != nil {
		return fmt.Errorf("read attendance sources: %w", err)
	}
	c.sources, c.readAt = s, now
	return nil
}

// secretValueGetter is the part of the Secrets Manager client the
// attendance API uses.
type secretValueGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// secretsManagerFetch returns a fetch for CachedSecrets that reads the
// secret arn.
func secretsManagerFetch(sm secretValueGetter, arn string) func(ctx context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("get secret %s: %w", arn, err)
		}
		if out.SecretString == nil {
			return nil, fmt.Errorf("get secret %s: no SecretString", arn)
		}
		return []byte(*out.SecretString), nil
	}
}

// brokenSecrets answers every lookup with the configuration error.
type brokenSecrets struct{ err error }

func (b brokenSecrets) Secret(context.Context, string) ([]byte, bool, error) {
	return nil, false, b.err
}

// NewAttendanceAPI wires the attendance-api function. The sources' secrets
// come from WW_ATTENDANCE_SOURCES ("keyid:secret,…") when it is set (the
// local stack), else from the Secrets Manager secret WW_SECRETS_ARN
// (production), read when first needed and cached.
func NewAttendanceAPI(d *Deps) *AttendanceAPI {
	h := &AttendanceAPI{Registry: d.Store, Attendance: d.queue(d.Env.AttendanceQueue),
		Hasher: d.Hasher, Now: d.Now, Log: d.Log}
	switch v := os.Getenv("WW_ATTENDANCE_SOURCES"); {
	case v != "":
		s, err := ParseSourceSecrets(v)
		if err != nil {
			h.Secrets = brokenSecrets{fmt.Errorf("WW_ATTENDANCE_SOURCES: %w", err)}
			break
		}
		h.Secrets = s
	case d.Env.SecretsARN != "":
		h.Secrets = NewCachedSecrets(secretsManagerFetch(secretsmanager.NewFromConfig(d.AWS), d.Env.SecretsARN), d.Now)
	default:
		h.Secrets = brokenSecrets{errors.New("neither WW_ATTENDANCE_SOURCES nor WW_SECRETS_ARN is set")}
	}
	return h
}

// AttendanceAPI is the attendance-api function: POST /v1/attendance. A
// device (an attendance source) sends up to attendance.MaxBatchRecords
// records as {"records":[…]}, signed as attendance.Verify describes. The
// handler authenticates the request (401 otherwise), validates every record
// (400 with each bad record's reason, and nothing taken, when any is
// malformed), rejects the records of workers not enrolled on their project
// on their date, and queues the others, many of one project per message.
// The answer, 200, says how many were accepted and lists the rejected ones
// by index:
//
//	{"accepted":998,"rejected":[{"index":3,"reason":"worker … is not enrolled …"}]}
//
// Sending the same records again is harmless: record-attendance counts a
// worker-day once.
type AttendanceAPI struct {
	Secrets    sourceSecrets
	Registry   rosterReader
	Attendance sender
	Hasher     *pii.Hasher
	Now        func() time.Time
	Log        *slog.Logger
}

// AttendanceAnswer is the JSON body of the attendance API's 200 and 400
// answers. Rejected is never null; an entry with index -1 rejects the whole
// request.
type AttendanceAnswer struct {
	Accepted int                      `json:"accepted"`
	Rejected []attendance.RecordError `json:"rejected"`
}

// apiError is the JSON body of the other answers (401, 405, 500, 503).
type apiError struct {
	Error string `json:"error"`
}

// Handle handles one request.
func (h *AttendanceAPI) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := logger(ctx, h.Log)
	batch, resp := h.decode(ctx, log, req)
	if resp != nil {
		return *resp, nil
	}
	return h.take(ctx, log, batch), nil
}

// apiBatch is an authenticated request's valid records.
type apiBatch struct {
	keyID   string
	records []attendance.Record
}

// decode authenticates a request and decodes its records; it returns the
// answer instead when the request is refused (401, 400, 405, 503). It reads
// neither the tables nor the queue.
func (h *AttendanceAPI) decode(ctx context.Context, log *slog.Logger, req events.APIGatewayV2HTTPRequest) (apiBatch, *events.APIGatewayV2HTTPResponse) {
	if m := req.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		r := jsonResponse(http.StatusMethodNotAllowed, apiError{"use POST"})
		r.Headers["Allow"] = http.MethodPost
		return apiBatch{}, &r
	}
	keyID := header(req.Headers, attendance.HeaderKeyID)
	source := req.RequestContext.HTTP.SourceIP
	deny := func(reason, answer string) (apiBatch, *events.APIGatewayV2HTTPResponse) {
		log.WarnContext(ctx, "attendance request refused", "key_id", keyID, "source_ip", source, "reason", reason)
		r := jsonResponse(http.StatusUnauthorized, apiError{answer})
		return apiBatch{}, &r
	}
	if keyID == "" {
		return deny("no "+attendance.HeaderKeyID+" header", "missing "+attendance.HeaderKeyID)
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return deny("body is not valid base64", "bad signature")
		}
	}
	secret, found, err := h.Secrets.Secret(ctx, keyID)
	if err != nil {
		log.ErrorContext(ctx, "attendance source secrets unavailable", "key_id", keyID, "err", err.Error())
		r := jsonResponse(http.StatusServiceUnavailable, apiError{"try again later"})
		return apiBatch{}, &r
	}
	if !found {
		return deny("unknown key id", "unknown key id or bad signature")
	}
	err = attendance.Verify(secret, header(req.Headers, attendance.HeaderTimestamp),
		header(req.Headers, attendance.HeaderSignature), body, h.Now())
	switch {
	case errors.Is(err, attendance.ErrStale):
		return deny(err.Error(), fmt.Sprintf("timestamp more than %s from the server's clock", attendance.MaxClockSkew))
	case errors.Is(err, attendance.ErrBadTimestamp):
		return deny(err.Error(), attendance.HeaderTimestamp+" is not unix seconds")
	case err != nil:
		return deny(err.Error(), "unknown key id or bad signature")
	}
	recs, bad := attendance.DecodeBatch(body, h.Hasher)
	if len(bad) > 0 {
		log.InfoContext(ctx, "attendance batch malformed", "key_id", keyID, "valid", len(recs), "invalid", len(bad))
		r := jsonResponse(http.StatusBadRequest, AttendanceAnswer{Rejected: bad})
		return apiBatch{}, &r
	}
	for i := range recs {
		recs[i].Source.File = attendance.APISource + "/" + keyID
	}
	return apiBatch{keyID: keyID, records: recs}, nil
}

// take checks a batch's records against the rosters and queues the
// enrolled ones; a record repeated within the batch is queued once.
func (h *AttendanceAPI) take(ctx context.Context, log *slog.Logger, b apiBatch) events.APIGatewayV2HTTPResponse {
	checker := newEnrolmentChecker(h.Registry)
	ans := AttendanceAnswer{Rejected: []attendance.RecordError{}}
	var ok []attendance.Record
	for _, rec := range b.records {
		reason, err := checker.check(ctx, rec)
		if err != nil {
			log.ErrorContext(ctx, "attendance roster unreadable", "key_id", b.keyID, "project_id", rec.ProjectID, "err", err.Error())
			return jsonResponse(http.StatusInternalServerError, apiError{"try again later"})
		}
		if reason != "" {
			ans.Rejected = append(ans.Rejected, attendance.RecordError{Index: rec.Source.Line, Reason: pii.Redact(reason)})
			continue
		}
		ok = append(ok, rec)
	}
	out := newAttendanceBatcher(ctx, h.Attendance)
	seen := make(map[string]bool, len(ok))
	for _, rec := range ok {
		if k := rec.WorkDayKey(); !seen[k] {
			seen[k] = true
			if err := out.add(rec.ProjectID, rec); err != nil {
				return h.queueFailed(ctx, log, b, err)
			}
		}
	}
	if err := out.flush(); err != nil {
		return h.queueFailed(ctx, log, b, err)
	}
	ans.Accepted = len(ok)
	log.InfoContext(ctx, "attendance batch taken", "key_id", b.keyID, "accepted", ans.Accepted,
		"rejected", len(ans.Rejected), "queued", len(seen), "messages", out.sent)
	return jsonResponse(http.StatusOK, ans)
}

// queueFailed answers 500: the device sends the batch again, and the
// records already queued count once.
func (h *AttendanceAPI) queueFailed(ctx context.Context, log *slog.Logger, b apiBatch, err error) events.APIGatewayV2HTTPResponse {
	log.ErrorContext(ctx, "attendance batch not queued", "key_id", b.keyID, "err", err.Error())
	return jsonResponse(http.StatusInternalServerError, apiError{"try again later"})
}

// header returns the value of a request header; API Gateway lower-cases
// the names of an HTTP API's headers, a test may not.
func header(h map[string]string, name string) string {
	if v, ok := h[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil { // the answers are plain structs of strings and ints
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}
