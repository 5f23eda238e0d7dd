package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

var gatewaySecret = []byte("gw-secret-5c1e")

// gatewayServer is an SMS gateway that checks each request's signature by its
// own reading of the documented canonical string, records the request and
// answers with the status and code given.
type gatewayServer struct {
	t      *testing.T
	mu     sync.Mutex
	reqs   []GatewayRequest
	sigOK  []bool
	status int
	code   string
}

func (g *gatewayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	canonical := r.Method + "\n" + r.URL.Path + "\n" + r.Header.Get("X-Sms-Timestamp") + "\n" +
		r.Header.Get("X-Sms-Nonce") + "\n" + r.Header.Get("X-Sms-Key-Id") + "\n" + hex.EncodeToString(sum[:])
	mac := hmac.New(sha256.New, gatewaySecret)
	mac.Write([]byte(canonical))
	ok := r.Header.Get("X-Sms-Key-Id") == "key-1" &&
		hmac.Equal([]byte(r.Header.Get("X-Sms-Signature")), []byte(hex.EncodeToString(mac.Sum(nil))))
	var req GatewayRequest
	if err := json.Unmarshal(body, &req); err != nil {
		g.t.Errorf("gateway body is not JSON: %v", err)
	}
	g.mu.Lock()
	g.reqs = append(g.reqs, req)
	g.sigOK = append(g.sigOK, ok)
	g.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":"SignatureDoesNotMatch"}`)
		return
	}
	w.WriteHeader(g.status)
	io.WriteString(w, `{"code":"`+g.code+`","request_id":"r-1"}`)
}

func gatewayConfig(url string) GatewayConfig {
	return GatewayConfig{
		URL: url + "/sms/send", KeyID: "key-1", Secret: gatewaySecret,
		SignName: "天水欠薪预警", TemplateCode: "SMS_ALERT_001", ClearedTemplateCode: "SMS_CLEARED_002",
	}
}

func TestGatewaySenderSignedRequest(t *testing.T) {
	gs := &gatewayServer{t: t, status: 200, code: "OK"}
	srv := httptest.NewServer(gs)
	defer srv.Close()
	nonces := []string{"n-1", "n-2"}
	i := 0
	s := NewGatewaySender(srv.Client(), gatewayConfig(srv.URL), fixedClock(sendTime), func() string { i++; return nonces[i-1] })
	d := sampleDelivery()
	retry, err := s.SendSMS(context.Background(), "+86 138 0000 0002", SMSText(d), d)
	if err != nil || retry {
		t.Fatalf("SendSMS = %v, %v", retry, err)
	}
	resolved := d
	resolved.Change = ChangeResolved
	if _, err := s.SendSMS(context.Background(), "13800000002", SMSText(resolved), resolved); err != nil {
		t.Fatal(err)
	}
	if len(gs.reqs) != 2 || !gs.sigOK[0] || !gs.sigOK[1] {
		t.Fatalf("requests %d, signatures %v", len(gs.reqs), gs.sigOK)
	}
	r := gs.reqs[0]
	if r.Phone != "13800000002" || r.SignName != "天水欠薪预警" || r.TemplateCode != "SMS_ALERT_001" || r.Content != SMSText(d) {
		t.Errorf("request %+v", r)
	}
	var p map[string]string
	if err := json.Unmarshal([]byte(r.TemplateParam), &p); err != nil {
		t.Fatalf("template_param %q: %v", r.TemplateParam, err)
	}
	want := map[string]string{"project": "秦州区天水大道改造工程", "rule": "未按时足额支付工资", "period": "2026-10", "workers": "2", "amount": "6760.00"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("template_param %s = %q, want %q", k, p[k], v)
		}
	}
	if len(p) != len(want) {
		t.Errorf("template_param has extra keys: %v", p)
	}
	if gs.reqs[1].TemplateCode != "SMS_CLEARED_002" || !strings.Contains(gs.reqs[1].Content, "已清零") {
		t.Errorf("resolution request %+v", gs.reqs[1])
	}
}

func TestGatewaySenderOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		code      string
		secret    []byte
		phone     string
		wantErr   bool
		retryable bool
	}{
		{"ok", 200, "OK", gatewaySecret, "13800000002", false, false},
		{"throttled by the gateway", 200, "isv.BUSINESS_LIMIT_CONTROL", gatewaySecret, "13800000002", true, true},
		{"number refused", 200, "isv.MOBILE_NUMBER_ILLEGAL", gatewaySecret, "13800000002", true, false},
		{"5xx", 503, "ServiceUnavailable", gatewaySecret, "13800000002", true, true},
		{"429", 429, "Throttling", gatewaySecret, "13800000002", true, true},
		{"400", 400, "InvalidParameters", gatewaySecret, "13800000002", true, false},
		{"wrong secret gets 401", 200, "OK", []byte("wrong"), "13800000002", true, false},
		{"not a mainland number", 200, "OK", gatewaySecret, "+85291234567", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs := &gatewayServer{t: t, status: tc.status, code: tc.code}
			srv := httptest.NewServer(gs)
			defer srv.Close()
			cfg := gatewayConfig(srv.URL)
			cfg.Secret = tc.secret
			retry, err := NewGatewaySender(srv.Client(), cfg, fixedClock(sendTime), nil).SendSMS(context.Background(), tc.phone, "text", sampleDelivery())
			if (err != nil) != tc.wantErr || retry != tc.retryable {
				t.Errorf("SendSMS = %v, %v; want retry %v, error %v", retry, err, tc.retryable, tc.wantErr)
			}
			if err != nil {
				for _, leak := range []string{string(tc.secret), "13800000002", "91234567"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error leaks %q: %v", leak, err)
					}
				}
			}
		})
	}
}

func TestGatewayCanonical(t *testing.T) {
	got := GatewayCanonical("POST", "/sms/send", "1763600405", "n-1", "key-1", []byte("{}"))
	want := "POST\n/sms/send\n1763600405\nn-1\nkey-1\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	if got != want {
		t.Errorf("GatewayCanonical = %q, want %q", got, want)
	}
}
