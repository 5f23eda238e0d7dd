package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wagewatch/wagewatch/shared/money"
)

// WebhookVersion is the version of the webhook payload (docs/webhook.md).
const WebhookVersion = "1"

// The webhook headers.
const (
	HeaderDeliveryID = "X-WW-Delivery-Id"
	HeaderSignature  = "X-WW-Signature"
)

// WebhookPayload is the JSON body of a webhook, modelled on Alertmanager's
// webhook (version 4): one alert, one change, one recipient.
type WebhookPayload struct {
	Version string `json:"version"`
	// Status is "resolved" for a resolution and "firing" otherwise.
	Status      string       `json:"status"`
	Change      string       `json:"change"`
	DeliveryID  string       `json:"delivery_id"`
	Alert       WebhookAlert `json:"alert"`
	Recipient   string       `json:"recipient"`
	TimelineURL string       `json:"timeline_url,omitempty"`
	SentAt      time.Time    `json:"sent_at"`
}

// WebhookAlert is the alert as a webhook carries it.
type WebhookAlert struct {
	ID          string    `json:"id"`
	Rule        string    `json:"rule"`
	RuleName    string    `json:"rule_name"`
	ProjectID   string    `json:"project_id"`
	ProjectName string    `json:"project_name"`
	CountyCode  string    `json:"county_code"`
	Sector      string    `json:"sector"`
	Period      string    `json:"period"`
	Severity    string    `json:"severity"`
	Workers     int       `json:"workers"`
	Amount      money.Fen `json:"amount"`
	Status      string    `json:"status"`
	OpenedAt    time.Time `json:"opened_at,omitzero"`
	ChangedAt   time.Time `json:"changed_at,omitzero"`
}

// NewWebhookPayload returns the payload of d sent at sentAt.
func NewWebhookPayload(d Delivery, sentAt time.Time) WebhookPayload {
	status := "firing"
	if d.Change == ChangeResolved {
		status = "resolved"
	}
	return WebhookPayload{
		Version:    WebhookVersion,
		Status:     status,
		Change:     d.Change,
		DeliveryID: d.ID,
		Alert: WebhookAlert{
			ID:          d.AlertID,
			Rule:        d.Rule,
			RuleName:    d.RuleChinese,
			ProjectID:   d.ProjectID,
			ProjectName: d.ProjectName,
			CountyCode:  d.CountyCode,
			Sector:      d.Sector,
			Period:      d.Period,
			Severity:    d.Severity,
			Workers:     d.Workers,
			Amount:      d.Amount,
			Status:      d.Status,
			OpenedAt:    d.OpenedAt,
			ChangedAt:   d.At,
		},
		Recipient:   d.Recipient.DeptID,
		TimelineURL: d.TimelineURL,
		SentAt:      sentAt.UTC().Truncate(time.Second),
	}
}

// SignWebhook returns the X-WW-Signature header of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>".
func SignWebhook(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + webhookMAC(secret, ts, body)
}

func webhookMAC(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ErrSignature reports a signature that is missing, malformed, wrong or too
// old.
var ErrSignature = errors.New("bad signature")

// VerifyWebhook checks an X-WW-Signature header against body: some v1 value
// must be the HMAC of "<t>.<body>" under secret, and t must lie within
// tolerance of now (either way), so that a captured request cannot be
// replayed later. Several v1 values are allowed, for key rotation.
func VerifyWebhook(header string, body, secret []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("webhook signature header: %w (want t=…,v1=…)", ErrSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook signature timestamp %q: %w", ts, ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook signature timestamp %s is %s away from now: %w", ts, d.Round(time.Second), ErrSignature)
	}
	want := webhookMAC(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("webhook signature: %w (no v1 value matches)", ErrSignature)
}

// WebhookSender posts signed webhooks to the recipients' URLs.
type WebhookSender struct {
	client *http.Client
	secret func(deptID string) ([]byte, error)
	now    func() time.Time
}

// NewWebhookSender returns a sender posting with client, signing with the
// secret that secret returns for the recipient department, and stamping the
// time now returns.
func NewWebhookSender(client *http.Client, secret func(deptID string) ([]byte, error), now func() time.Time) *WebhookSender {
	return &WebhookSender{client: client, secret: secret, now: now}
}

// ErrNoWebhook reports a delivery whose recipient has no webhook URL.
var ErrNoWebhook = errors.New("recipient has no webhook url")

// Send posts d to its recipient's webhook URL and returns the HTTP status (0
// when no response came). A 2xx status is delivered; a 4xx other than 408 and
// 429 fails for good; anything else (5xx, 408, 429, connection errors,
// timeouts, a secret that could not be read or is empty) is retryable. Errors
// name the URL without its query string and never carry the secret.
func (w *WebhookSender) Send(ctx context.Context, d Delivery) (retryable bool, status int, err error) {
	raw := d.Recipient.WebhookURL
	if raw == "" {
		return false, 0, fmt.Errorf("webhook delivery %s to %s: %w", d.ID, d.Recipient.DeptID, ErrNoWebhook)
	}
	if u, err := url.Parse(raw); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return false, 0, fmt.Errorf("webhook delivery %s to %s: url %s: not an http(s) url", d.ID, d.Recipient.DeptID, RedactURL(raw))
	}
	secret, err := w.secret(d.Recipient.DeptID)
	if err != nil {
		return true, 0, fmt.Errorf("webhook delivery %s: secret of %s: %w", d.ID, d.Recipient.DeptID, err)
	}
	if len(secret) == 0 {
		return true, 0, fmt.Errorf("webhook delivery %s: secret of %s is empty", d.ID, d.Recipient.DeptID)
	}
	sentAt := w.now()
	body, err := json.Marshal(NewWebhookPayload(d, sentAt))
	if err != nil {
		return false, 0, fmt.Errorf("webhook delivery %s: encode payload: %w", d.ID, err)
	}
	h := http.Header{}
	h.Set(HeaderDeliveryID, d.ID)
	h.Set(HeaderSignature, SignWebhook(secret, sentAt, body))
	status, _, err = postJSON(ctx, w.client, raw, body, h)
	if err != nil {
		return true, status, fmt.Errorf("webhook delivery %s to %s: %w", d.ID, d.Recipient.DeptID, RedactError(err, raw, string(secret)))
	}
	if status/100 == 2 {
		return false, status, nil
	}
	return StatusRetryable(status), status, fmt.Errorf("webhook delivery %s to %s at %s: unexpected status %d", d.ID, d.Recipient.DeptID, RedactURL(raw), status)
}
