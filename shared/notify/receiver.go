package notify

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wagewatch/wagewatch/shared/money"
)

// DefaultTolerance is how far a signed request's timestamp may lie from the
// receiver's clock.
const DefaultTolerance = 5 * time.Minute

// maxReceiverBody bounds the body the receiver reads.
const maxReceiverBody = 1 << 20

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// WebhookSecret returns the webhook secret of a department;
	// GatewaySecret the secret of a gateway key id. Locally both are
	// StaticSecret of one environment variable.
	WebhookSecret func(deptID string) ([]byte, error)
	GatewaySecret func(keyID string) ([]byte, error)
	// Out receives one line per request; Log, when not nil, one JSON object
	// (a ReceivedRecord) per line.
	Out io.Writer
	Log io.Writer
	// Now is the clock signatures are checked against; Tolerance their
	// allowed age (DefaultTolerance when 0).
	Now       func() time.Time
	Tolerance time.Duration
	Logger    *slog.Logger
}

// ReceivedRecord is what the receiver logs of one request.
type ReceivedRecord struct {
	Kind       string    `json:"kind"` // "webhook" or "sms"
	ReceivedAt time.Time `json:"received_at"`
	// Signature is "ok" or "BAD".
	Signature   string    `json:"signature"`
	Error       string    `json:"error,omitempty"`
	Dept        string    `json:"dept,omitempty"`
	DeliveryID  string    `json:"delivery_id,omitempty"`
	Change      string    `json:"change,omitempty"`
	Status      string    `json:"status,omitempty"`
	Rule        string    `json:"rule,omitempty"`
	ProjectID   string    `json:"project_id,omitempty"`
	ProjectName string    `json:"project_name,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	Workers     int       `json:"workers,omitempty"`
	Amount      money.Fen `json:"amount,omitzero"`
	// Phone is masked (138****0001).
	Phone string `json:"phone,omitempty"`
	Text  string `json:"text,omitempty"`
}

// Receiver plays the departments' webhook endpoints (POST /hook/<dept_id>)
// and an SMS gateway (POST /sms) for the local stack: it checks signatures,
// prints and logs what it receives, and answers 200, or 401 for a bad
// signature.
type Receiver struct {
	cfg ReceiverConfig
	mux *http.ServeMux
	mu  sync.Mutex
}

// NewReceiver returns a Receiver.
func NewReceiver(cfg ReceiverConfig) *Receiver {
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{cfg: cfg, mux: http.NewServeMux()}
	r.mux.HandleFunc("POST /hook/{dept}", r.hook)
	r.mux.HandleFunc("POST /sms", r.sms)
	return r
}

// ServeHTTP serves the receiver's two endpoints.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mux.ServeHTTP(w, req)
}

func (r *Receiver) hook(w http.ResponseWriter, req *http.Request) {
	dept := req.PathValue("dept")
	rec := ReceivedRecord{Kind: "webhook", ReceivedAt: r.cfg.Now(), Dept: dept, DeliveryID: req.Header.Get(HeaderDeliveryID)}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxReceiverBody))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var p WebhookPayload
	perr := json.Unmarshal(body, &p)
	if perr == nil {
		rec.Change, rec.Status = p.Change, p.Alert.Status
		rec.Rule, rec.ProjectID, rec.ProjectName = p.Alert.Rule, p.Alert.ProjectID, p.Alert.ProjectName
		rec.Severity, rec.Workers, rec.Amount = p.Alert.Severity, p.Alert.Workers, p.Alert.Amount
	}
	code := http.StatusOK
	secret, err := r.cfg.WebhookSecret(dept)
	if err == nil {
		err = VerifyWebhook(req.Header.Get(HeaderSignature), body, secret, rec.ReceivedAt, r.cfg.Tolerance)
	}
	switch {
	case err != nil:
		rec.Signature, rec.Error, code = "BAD", err.Error(), http.StatusUnauthorized
	case perr != nil:
		rec.Signature, rec.Error, code = "ok", "payload: "+perr.Error(), http.StatusBadRequest
	case p.Recipient != dept:
		rec.Signature, rec.Error, code = "ok", fmt.Sprintf("payload recipient %q is not %q", p.Recipient, dept), http.StatusBadRequest
	case p.DeliveryID != rec.DeliveryID:
		rec.Signature, rec.Error, code = "ok", fmt.Sprintf("payload delivery id %q is not the header's %q", p.DeliveryID, rec.DeliveryID), http.StatusBadRequest
	default:
		rec.Signature = "ok"
	}
	r.emit(rec, fmt.Sprintf("hook %s id=%s change=%s status=%s rule=%s project=%s %s severity=%s workers=%d amount=%s signature %s",
		dept, rec.DeliveryID, rec.Change, rec.Status, rec.Rule, rec.ProjectID, rec.ProjectName, rec.Severity, rec.Workers, rec.Amount, rec.Signature))
	w.WriteHeader(code)
}

func (r *Receiver) sms(w http.ResponseWriter, req *http.Request) {
	rec := ReceivedRecord{Kind: "sms", ReceivedAt: r.cfg.Now()}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxReceiverBody))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var g GatewayRequest
	perr := json.Unmarshal(body, &g)
	rec.Phone, rec.Text = MaskPhone(g.Phone), g.Content
	resp := GatewayResponse{Code: "OK", RequestID: req.Header.Get(HeaderSMSNonce)}
	code := http.StatusOK
	switch err := VerifyGateway(req, body, r.cfg.GatewaySecret, rec.ReceivedAt, r.cfg.Tolerance); {
	case err != nil:
		rec.Signature, rec.Error, code = "BAD", err.Error(), http.StatusUnauthorized
		resp.Code, resp.Message = "SignatureDoesNotMatch", "bad signature"
	case perr != nil || g.Phone == "":
		rec.Signature, rec.Error, code = "ok", "request: not a gateway request", http.StatusBadRequest
		resp.Code, resp.Message = "InvalidParameters", "not a gateway request"
	default:
		rec.Signature = "ok"
	}
	r.emit(rec, fmt.Sprintf("sms %s %s signature %s", rec.Phone, strings.ReplaceAll(rec.Text, "\n", " "), rec.Signature))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}

// emit prints line and logs rec, one request at a time.
func (r *Receiver) emit(rec ReceivedRecord, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.cfg.Out, line)
	if rec.Error != "" {
		r.cfg.Logger.Warn("receiver: rejected request", "kind", rec.Kind, "dept", rec.Dept, "err", rec.Error)
	}
	if r.cfg.Log == nil {
		return
	}
	b, err := json.Marshal(rec)
	if err != nil {
		r.cfg.Logger.Error("receiver: encode log record", "err", err)
		return
	}
	if _, err := r.cfg.Log.Write(append(b, '\n')); err != nil {
		r.cfg.Logger.Error("receiver: write log", "err", err)
	}
}
