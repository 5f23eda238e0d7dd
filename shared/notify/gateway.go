package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
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
)

// The headers of a gateway request.
const (
	HeaderSMSKeyID     = "X-Sms-Key-Id"
	HeaderSMSTimestamp = "X-Sms-Timestamp"
	HeaderSMSNonce     = "X-Sms-Nonce"
	HeaderSMSSignature = "X-Sms-Signature"
)

// GatewayConfig configures a GatewaySender.
type GatewayConfig struct {
	// URL is the gateway's send endpoint.
	URL string
	// KeyID names the key; Secret is the key itself.
	KeyID  string
	Secret []byte
	// SignName is the registered signature (签名) put in front of the text,
	// TemplateCode the approved template of an alert, ClearedTemplateCode the
	// template of a resolution (TemplateCode when empty).
	SignName            string
	TemplateCode        string
	ClearedTemplateCode string
}

// GatewayRequest is the JSON body a GatewaySender posts, in the style of the
// Chinese SMS providers: the template and its parameters, and, for gateways
// that send free text (and for the local sink), the rendered text.
type GatewayRequest struct {
	Phone        string `json:"phone"`
	SignName     string `json:"sign_name"`
	TemplateCode string `json:"template_code"`
	// TemplateParam is a JSON object (as a string, as providers take it) of
	// TemplateParams.
	TemplateParam string `json:"template_param"`
	Content       string `json:"content"`
}

// TemplateParams are the parameters of the SMS templates; every value is a
// string, as providers require.
type TemplateParams struct {
	Project string `json:"project"`
	Rule    string `json:"rule"`
	Period  string `json:"period"`
	Workers string `json:"workers"`
	Amount  string `json:"amount"`
}

// GatewayResponse is what a gateway answers: Code "OK" on success.
type GatewayResponse struct {
	Code      string `json:"code"`
	Message   string `json:"message,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// GatewaySender sends text messages through a generic HTTP SMS gateway with
// signed requests.
type GatewaySender struct {
	client *http.Client
	cfg    GatewayConfig
	now    func() time.Time
	nonce  func() string
}

// NewGatewaySender returns a sender posting to cfg.URL with client. now stamps
// the requests; nonce makes each request unique (random 16 bytes in hex when
// nil).
func NewGatewaySender(client *http.Client, cfg GatewayConfig, now func() time.Time, nonce func() string) *GatewaySender {
	if nonce == nil {
		nonce = randomNonce
	}
	return &GatewaySender{client: client, cfg: cfg, now: now, nonce: nonce}
}

func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// GatewayCanonical is the string a gateway request's signature covers, its
// six parts joined by "\n":
//
//	POST
//	/sms                      (the request path, escaped, without the query)
//	1763600400                (X-Sms-Timestamp, unix seconds)
//	9f86d081884c7d65…         (X-Sms-Nonce)
//	key-1                     (X-Sms-Key-Id)
//	<hex SHA-256 of the body>
//
// X-Sms-Signature is hex(HMAC-SHA256(secret, GatewayCanonical(…))).
func GatewayCanonical(method, path, timestamp, nonce, keyID string, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{method, path, timestamp, nonce, keyID, hex.EncodeToString(sum[:])}, "\n")
}

func gatewayMAC(secret []byte, canonical string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(canonical))
	return hex.EncodeToString(m.Sum(nil))
}

// NationalPhone returns an 11-digit mainland number without "+86", spaces or
// dashes, as gateways take it.
func NationalPhone(phone string) (string, error) {
	p, err := E164(phone)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(p, "+86") {
		return "", fmt.Errorf("phone %s: %w (not a mainland number)", MaskPhone(phone), ErrBadPhone)
	}
	return p[3:], nil
}

// SendSMS posts the message to the gateway. A bad number, a 4xx other than
// 408 and 429, and a refusal the gateway names are final; a code naming a
// limit or throttling, 408, 429, 5xx and network errors are retryable.
func (g *GatewaySender) SendSMS(ctx context.Context, phone, text string, d Delivery) (bool, error) {
	to, err := NationalPhone(phone)
	if err != nil {
		return false, fmt.Errorf("gateway sms for delivery %s: %w", d.ID, err)
	}
	params, err := json.Marshal(TemplateParams{
		Project: clean(d.ProjectName),
		Rule:    clean(d.RuleChinese),
		Period:  d.Period,
		Workers: strconv.Itoa(d.Workers),
		Amount:  d.Amount.String(),
	})
	if err != nil {
		return false, fmt.Errorf("gateway sms for delivery %s: encode parameters: %w", d.ID, err)
	}
	tmpl := g.cfg.TemplateCode
	if d.Change == ChangeResolved && g.cfg.ClearedTemplateCode != "" {
		tmpl = g.cfg.ClearedTemplateCode
	}
	body, err := json.Marshal(GatewayRequest{
		Phone:         to,
		SignName:      g.cfg.SignName,
		TemplateCode:  tmpl,
		TemplateParam: string(params),
		Content:       text,
	})
	if err != nil {
		return false, fmt.Errorf("gateway sms for delivery %s: encode request: %w", d.ID, err)
	}
	u, err := url.Parse(g.cfg.URL)
	if err != nil {
		return false, fmt.Errorf("gateway sms for delivery %s: url %s: invalid", d.ID, RedactURL(g.cfg.URL))
	}
	ts := strconv.FormatInt(g.now().Unix(), 10)
	nonce := g.nonce()
	h := http.Header{}
	h.Set(HeaderSMSKeyID, g.cfg.KeyID)
	h.Set(HeaderSMSTimestamp, ts)
	h.Set(HeaderSMSNonce, nonce)
	h.Set(HeaderSMSSignature, gatewayMAC(g.cfg.Secret, GatewayCanonical(http.MethodPost, u.EscapedPath(), ts, nonce, g.cfg.KeyID, body)))
	status, respBody, err := postJSON(ctx, g.client, g.cfg.URL, body, h)
	if err != nil {
		return true, fmt.Errorf("gateway sms to %s for delivery %s: %w", MaskPhone(to), d.ID, RedactError(err, g.cfg.URL, string(g.cfg.Secret)))
	}
	if status/100 != 2 {
		return StatusRetryable(status), fmt.Errorf("gateway sms to %s for delivery %s at %s: unexpected status %d", MaskPhone(to), d.ID, RedactURL(g.cfg.URL), status)
	}
	var resp GatewayResponse
	if len(strings.TrimSpace(string(respBody))) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(respBody, &resp); err != nil {
		// A 2xx without the usual answer: the message was accepted.
		return false, nil
	}
	if resp.Code == "" || strings.EqualFold(resp.Code, "OK") {
		return false, nil
	}
	up := strings.ToUpper(resp.Code)
	retry := strings.Contains(up, "LIMIT") || strings.Contains(up, "THROTTL") || strings.Contains(up, "BUSY")
	return retry, fmt.Errorf("gateway sms to %s for delivery %s: refused: %s", MaskPhone(to), d.ID, resp.Code)
}

// VerifyGateway checks a gateway request's signature: the key named by
// X-Sms-Key-Id (looked up with secretFor), the timestamp within tolerance of
// now, and the HMAC of GatewayCanonical.
func VerifyGateway(r *http.Request, body []byte, secretFor func(keyID string) ([]byte, error), now time.Time, tolerance time.Duration) error {
	keyID := r.Header.Get(HeaderSMSKeyID)
	ts := r.Header.Get(HeaderSMSTimestamp)
	nonce := r.Header.Get(HeaderSMSNonce)
	sig := r.Header.Get(HeaderSMSSignature)
	if keyID == "" || ts == "" || nonce == "" || sig == "" {
		return fmt.Errorf("gateway signature headers: %w (missing)", ErrSignature)
	}
	secret, err := secretFor(keyID)
	if err != nil {
		return fmt.Errorf("gateway key %q: %w: %w", keyID, ErrSignature, err)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("gateway timestamp %q: %w", ts, ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("gateway timestamp %s is %s away from now: %w", ts, d.Round(time.Second), ErrSignature)
	}
	want := gatewayMAC(secret, GatewayCanonical(r.Method, r.URL.EscapedPath(), ts, nonce, keyID, body))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return fmt.Errorf("gateway signature: %w", ErrSignature)
	}
	return nil
}

// StaticSecret returns a secret lookup that answers secret for every
// department or key id: the local stack's one secret (docs/webhook.md). An
// empty secret is an error.
func StaticSecret(secret []byte) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if len(secret) == 0 {
			return nil, errors.New("no secret configured")
		}
		return secret, nil
	}
}
