package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestReceiver serves a Receiver whose every secret is hookSecret and
// whose clock reads sendTime plus a second.
func newTestReceiver(t *testing.T) (*httptest.Server, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, log bytes.Buffer
	r := NewReceiver(ReceiverConfig{
		WebhookSecret: StaticSecret(hookSecret),
		GatewaySecret: StaticSecret(hookSecret),
		Out:           &out,
		Log:           &log,
		Now:           fixedClock(sendTime.Add(time.Second)),
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, &out, &log
}

func records(t *testing.T, log *bytes.Buffer) []ReceivedRecord {
	t.Helper()
	var out []ReceivedRecord
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if line == "" {
			continue
		}
		var r ReceivedRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestReceiverWebhook(t *testing.T) {
	srv, out, log := newTestReceiver(t)
	d := sampleDelivery()
	d.Recipient.WebhookURL = srv.URL + "/hook/qz-transport"

	good := NewWebhookSender(srv.Client(), StaticSecret(hookSecret), fixedClock(sendTime))
	retry, status, err := good.Send(context.Background(), d)
	if err != nil || retry || status != http.StatusOK {
		t.Fatalf("good signature: %v %d %v", retry, status, err)
	}
	bad := NewWebhookSender(srv.Client(), StaticSecret([]byte("not the secret")), fixedClock(sendTime))
	retry, status, err = bad.Send(context.Background(), d)
	if err == nil || retry || status != http.StatusUnauthorized {
		t.Errorf("bad signature: %v %d %v; want a final 401", retry, status, err)
	}
	stale := NewWebhookSender(srv.Client(), StaticSecret(hookSecret), fixedClock(sendTime.Add(-time.Hour)))
	if _, status, _ = stale.Send(context.Background(), d); status != http.StatusUnauthorized {
		t.Errorf("stale signature: status %d, want 401", status)
	}
	// A webhook meant for another department, posted to this one's path.
	d.Recipient.WebhookURL = srv.URL + "/hook/qz-gov"
	if _, status, _ = good.Send(context.Background(), d); status != http.StatusBadRequest {
		t.Errorf("recipient mismatch: status %d, want 400", status)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines printed:\n%s", len(lines), out)
	}
	for _, want := range []string{"hook qz-transport", "id=" + d.ID, "status=open", "rule=wage_arrears", "project=TS-QZ-002", "severity=yellow", "amount=6760.00", "signature ok"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("line %q lacks %q", lines[0], want)
		}
	}
	for _, l := range lines[1:3] {
		if !strings.HasSuffix(l, "signature BAD") {
			t.Errorf("line %q does not say BAD", l)
		}
	}
	recs := records(t, log)
	if len(recs) != 4 {
		t.Fatalf("%d log records", len(recs))
	}
	r := recs[0]
	if r.Kind != "webhook" || r.Dept != "qz-transport" || r.DeliveryID != d.ID || r.Signature != "ok" || r.Amount != d.Amount ||
		r.Rule != "wage_arrears" || r.ProjectID != "TS-QZ-002" || r.Change != "opened" || r.Error != "" {
		t.Errorf("log record %+v", r)
	}
	if recs[1].Signature != "BAD" || recs[1].Error == "" {
		t.Errorf("bad signature record %+v", recs[1])
	}
	if recs[3].Signature != "ok" || !strings.Contains(recs[3].Error, "recipient") {
		t.Errorf("mismatch record %+v", recs[3])
	}
}

func TestReceiverSMS(t *testing.T) {
	srv, out, log := newTestReceiver(t)
	d := sampleDelivery()
	cfg := GatewayConfig{URL: srv.URL + "/sms", KeyID: "local", Secret: hookSecret, SignName: "欠薪预警", TemplateCode: "T1"}
	retry, err := NewGatewaySender(srv.Client(), cfg, fixedClock(sendTime), nil).SendSMS(context.Background(), "13800000002", SMSText(d), d)
	if err != nil || retry {
		t.Fatalf("SendSMS: %v %v", retry, err)
	}
	cfg.Secret = []byte("wrong")
	retry, err = NewGatewaySender(srv.Client(), cfg, fixedClock(sendTime), nil).SendSMS(context.Background(), "13800000002", "forged", d)
	if err == nil || retry {
		t.Errorf("forged SMS: %v %v; want a final error", retry, err)
	}
	text := out.String()
	if strings.Contains(text, "13800000002") || strings.Contains(log.String(), "13800000002") {
		t.Errorf("the whole phone number was printed or logged:\n%s\n%s", text, log)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), text)
	}
	if want := "sms 138****0002 " + SMSText(d) + " signature ok"; lines[0] != want {
		t.Errorf("line %q, want %q", lines[0], want)
	}
	if !strings.HasSuffix(lines[1], "signature BAD") {
		t.Errorf("forged line %q", lines[1])
	}
	recs := records(t, log)
	if len(recs) != 2 || recs[0].Kind != "sms" || recs[0].Phone != "138****0002" || recs[0].Text != SMSText(d) || recs[1].Signature != "BAD" {
		t.Errorf("records %+v", recs)
	}
}

func TestReceiverRoutes(t *testing.T) {
	srv, out, _ := newTestReceiver(t)
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/hook/qz-gov", http.StatusMethodNotAllowed},
		{http.MethodGet, "/sms", http.StatusMethodNotAllowed},
		{http.MethodPost, "/elsewhere", http.StatusNotFound},
		{http.MethodPost, "/hook/qz-gov", http.StatusUnauthorized}, // no signature at all
		{http.MethodPost, "/sms", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(`{}`))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	if n := strings.Count(out.String(), "signature BAD"); n != 2 {
		t.Errorf("%d BAD lines, want 2:\n%s", n, out)
	}
}
