package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// independentVerify checks X-WW-Signature the way a department's developer
// would from docs/webhook.md, sharing no code with the package.
func independentVerify(header string, body, secret []byte) (time.Time, bool) {
	var ts, v1 string
	for _, kv := range strings.Split(header, ",") {
		switch {
		case strings.HasPrefix(kv, "t="):
			ts = kv[2:]
		case strings.HasPrefix(kv, "v1="):
			v1 = kv[3:]
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s.%s", ts, body)
	want := hex.EncodeToString(mac.Sum(nil))
	return time.Unix(sec, 0), hmac.Equal([]byte(v1), []byte(want))
}

// hookServer records webhooks and answers with the statuses given in turn
// (200 once they run out).
type hookServer struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
	paths    []string
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies = append(h.bodies, b)
	h.headers = append(h.headers, r.Header.Clone())
	h.paths = append(h.paths, r.URL.RequestURI())
	status := http.StatusOK
	if n := len(h.bodies); n <= len(h.statuses) {
		status = h.statuses[n-1]
	}
	w.WriteHeader(status)
	io.WriteString(w, "body that must not reach an error")
}

var hookSecret = []byte("whsec-7f3a9c-department-secret")

func secretFor(t *testing.T) func(string) ([]byte, error) {
	return func(dept string) ([]byte, error) {
		if dept != "qz-transport" {
			t.Errorf("secret asked for %q", dept)
		}
		return hookSecret, nil
	}
}

var sendTime = time.Date(2026, 11, 20, 1, 0, 5, 0, time.UTC)

func TestWebhookPayloadAndSignature(t *testing.T) {
	hs := &hookServer{}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	d := sampleDelivery()
	d.Recipient.WebhookURL = srv.URL + "/hook/qz-transport"
	retry, status, err := NewWebhookSender(srv.Client(), secretFor(t), fixedClock(sendTime)).Send(context.Background(), d)
	if err != nil || retry || status != 200 {
		t.Fatalf("Send = %v, %d, %v", retry, status, err)
	}
	if len(hs.bodies) != 1 {
		t.Fatalf("%d requests", len(hs.bodies))
	}
	body, h := hs.bodies[0], hs.headers[0]
	at, ok := independentVerify(h.Get("X-WW-Signature"), body, hookSecret)
	if !ok {
		t.Errorf("signature %q does not verify", h.Get("X-WW-Signature"))
	}
	if !at.Equal(sendTime) {
		t.Errorf("signature time %v, want %v", at, sendTime)
	}
	if _, ok := independentVerify(h.Get("X-WW-Signature"), body, []byte("another secret")); ok {
		t.Error("signature verifies under another secret")
	}
	if _, ok := independentVerify(h.Get("X-WW-Signature"), append(body[:len(body):len(body)], ' '), hookSecret); ok {
		t.Error("signature verifies over another body")
	}
	if got := h.Get("X-WW-Delivery-Id"); got != d.ID {
		t.Errorf("X-WW-Delivery-Id = %q, want %q", got, d.ID)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if hs.paths[0] != "/hook/qz-transport" {
		t.Errorf("path %q", hs.paths[0])
	}
	// The payload as a receiver sees it, field by field.
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	alert, _ := got["alert"].(map[string]any)
	want := map[string]any{
		"version": "1", "status": "firing", "change": "opened", "recipient": "qz-transport",
		"delivery_id":  d.ID,
		"timeline_url": d.TimelineURL, "sent_at": "2026-11-20T01:00:05Z",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("payload %s = %v, want %v", k, got[k], v)
		}
	}
	wantAlert := map[string]any{
		"id": d.AlertID, "rule": "wage_arrears", "rule_name": "未按时足额支付工资", "project_id": "TS-QZ-002",
		"project_name": "秦州区天水大道改造工程", "county_code": "620502", "sector": "transport", "period": "2026-10",
		"severity": "yellow", "workers": float64(2), "amount": "6760.00", "status": "open",
		"opened_at": "2026-11-20T09:00:00+08:00",
	}
	for k, v := range wantAlert {
		if alert[k] != v {
			t.Errorf("payload alert.%s = %v, want %v", k, alert[k], v)
		}
	}
	// The package's own verifier agrees, and refuses a stale signature.
	if err := VerifyWebhook(h.Get("X-WW-Signature"), body, hookSecret, sendTime.Add(time.Minute), DefaultTolerance); err != nil {
		t.Errorf("VerifyWebhook: %v", err)
	}
	if err := VerifyWebhook(h.Get("X-WW-Signature"), body, hookSecret, sendTime.Add(10*time.Minute), DefaultTolerance); !errors.Is(err, ErrSignature) {
		t.Errorf("stale signature: %v", err)
	}
}

func TestWebhookResolvedStatus(t *testing.T) {
	d := sampleDelivery()
	d.Change, d.Status = ChangeResolved, "resolved"
	if p := NewWebhookPayload(d, sendTime); p.Status != "resolved" || p.Alert.Status != "resolved" {
		t.Errorf("resolved payload status %q/%q", p.Status, p.Alert.Status)
	}
	for _, c := range []string{ChangeOpened, ChangeUpdated, ChangeEscalated} {
		d.Change = c
		if p := NewWebhookPayload(d, sendTime); p.Status != "firing" {
			t.Errorf("%s payload status %q", c, p.Status)
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"version":"1"}`)
	good := SignWebhook(hookSecret, sendTime, body)
	other := SignWebhook([]byte("old secret"), sendTime, body)
	tests := []struct {
		name   string
		header string
		now    time.Time
		ok     bool
	}{
		{"good", good, sendTime, true},
		{"rotated: second v1 matches", other + ",v1=" + strings.Split(good, "v1=")[1], sendTime, true},
		{"clock slightly behind", good, sendTime.Add(-4 * time.Minute), true},
		{"too old", good, sendTime.Add(6 * time.Minute), false},
		{"from the future", good, sendTime.Add(-6 * time.Minute), false},
		{"wrong secret", other, sendTime, false},
		{"empty", "", sendTime, false},
		{"no timestamp", "v1=" + strings.Split(good, "v1=")[1], sendTime, false},
		{"timestamp not a number", "t=abc,v1=00", sendTime, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyWebhook(tc.header, body, hookSecret, tc.now, DefaultTolerance)
			if tc.ok != (err == nil) {
				t.Errorf("VerifyWebhook = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrSignature) {
				t.Errorf("error %v is not ErrSignature", err)
			}
		})
	}
}

func TestWebhookStatusClassification(t *testing.T) {
	tests := []struct {
		status    int
		wantErr   bool
		retryable bool
	}{
		{200, false, false},
		{201, false, false},
		{204, false, false},
		{400, true, false},
		{401, true, false},
		{403, true, false},
		{404, true, false},
		{410, true, false},
		{422, true, false},
		{408, true, true},
		{429, true, true},
		{500, true, true},
		{502, true, true},
		{503, true, true},
		{504, true, true},
		{304, true, true},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			hs := &hookServer{statuses: []int{tc.status}}
			srv := httptest.NewServer(hs)
			defer srv.Close()
			d := sampleDelivery()
			d.Recipient.WebhookURL = srv.URL + "/hook/qz-transport"
			retry, status, err := NewWebhookSender(srv.Client(), secretFor(t), fixedClock(sendTime)).Send(context.Background(), d)
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			if (err != nil) != tc.wantErr || retry != tc.retryable {
				t.Errorf("Send = retry %v, err %v; want retry %v, error %v", retry, err, tc.retryable, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "must not reach") {
				t.Errorf("response body in error: %v", err)
			}
		})
	}
}

// TestWebhookRetriesUntilDelivered plays the notify function's retry loop
// against a receiver that fails 5 times (503, 502, 500, 429, 408) and then
// succeeds: each failure is retryable, the Backoff delays grow, the horizon is
// not reached, and every attempt carries the same delivery id and a fresh
// valid signature.
func TestWebhookRetriesUntilDelivered(t *testing.T) {
	hs := &hookServer{statuses: []int{503, 502, 500, 429, 408}}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	d := sampleDelivery()
	d.Recipient.WebhookURL = srv.URL + "/hook/qz-transport"
	first := sendTime
	now := first
	sender := NewWebhookSender(srv.Client(), secretFor(t), func() time.Time { return now })
	var delays []time.Duration
	attempts := 0
	for {
		attempts++
		retry, status, err := sender.Send(context.Background(), d)
		if err == nil {
			if status != 200 {
				t.Errorf("delivered with status %d", status)
			}
			break
		}
		if !retry {
			t.Fatalf("attempt %d: final failure %v", attempts, err)
		}
		wait := Backoff(attempts, func() float64 { return 0.5 })
		delays = append(delays, wait)
		now = now.Add(wait)
		if GiveUp(first, now) {
			t.Fatalf("gave up after %d attempts", attempts)
		}
		if attempts > 10 {
			t.Fatal("no delivery after 10 attempts")
		}
	}
	if attempts != 6 || len(hs.bodies) != 6 {
		t.Fatalf("%d attempts, %d requests; want 6", attempts, len(hs.bodies))
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] <= delays[i-1] {
			t.Errorf("delays do not grow: %v", delays)
		}
	}
	for i, h := range hs.headers {
		if h.Get("X-WW-Delivery-Id") != d.ID {
			t.Errorf("attempt %d: delivery id %q", i+1, h.Get("X-WW-Delivery-Id"))
		}
		at, ok := independentVerify(h.Get("X-WW-Signature"), hs.bodies[i], hookSecret)
		if !ok {
			t.Errorf("attempt %d: bad signature", i+1)
		}
		if i > 0 && !at.After(first) {
			t.Errorf("attempt %d signed at %v, not after the first attempt", i+1, at)
		}
	}
}

func TestWebhookRedaction(t *testing.T) {
	// A listener that accepts and closes at once: connection errors.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer ln.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hang up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/next?token=REDIRECTTOKEN", http.StatusFound)
	}))
	defer redirect.Close()

	tests := []struct {
		name      string
		url       string
		timeout   time.Duration
		retryable bool
		mustHave  string
	}{
		{"connection reset", "http://" + ln.Addr().String() + "/hook/qz-transport?token=SECRETTOKEN&sig=abc", 0, true, "/hook/qz-transport?<redacted>"},
		{"connection refused", closedURL + "/hook/qz-transport?token=SECRETTOKEN", 0, true, "/hook/qz-transport?<redacted>"},
		{"timeout", slow.URL + "/hook/qz-transport?token=SECRETTOKEN", 50 * time.Millisecond, true, "Timeout"},
		{"5xx", failing.URL + "/hook/qz-transport?token=SECRETTOKEN", 0, true, "unexpected status 503"},
		{"user info", "http://user:SECRETTOKEN@" + ln.Addr().String() + "/hook/qz-transport", 0, true, "<redacted>"},
		{"redirect to a failing target", redirect.URL + "/hook/qz-transport?token=SECRETTOKEN", 0, true, "/next?<redacted>"},
		{"unparsable url is final", "http://[::1/hook?token=SECRETTOKEN", 0, false, "<redacted>"},
		{"not http is final", "ftp://h.example/hook?token=SECRETTOKEN", 0, false, "ftp://h.example/hook?<redacted>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sampleDelivery()
			d.Recipient.WebhookURL = tc.url
			client := &http.Client{Timeout: tc.timeout}
			retry, _, err := NewWebhookSender(client, secretFor(t), fixedClock(sendTime)).Send(context.Background(), d)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, secret := range []string{"SECRETTOKEN", "REDIRECTTOKEN", "sig=abc", string(hookSecret)} {
				if strings.Contains(msg, secret) {
					t.Errorf("error leaks %q: %s", secret, msg)
				}
			}
			if !strings.Contains(msg, tc.mustHave) {
				t.Errorf("error %q lacks %q", msg, tc.mustHave)
			}
			t.Log(msg)
			if retry != tc.retryable {
				t.Errorf("retryable = %v, want %v (%s)", retry, tc.retryable, msg)
			}
		})
	}
}

func TestWebhookSecretAndURLFailures(t *testing.T) {
	d := sampleDelivery()
	d.Recipient.WebhookURL = "http://127.0.0.1:1/hook/qz-transport"
	lookupErr := errors.New("ssm unavailable")
	s := NewWebhookSender(http.DefaultClient, func(string) ([]byte, error) { return nil, lookupErr }, fixedClock(sendTime))
	retry, _, err := s.Send(context.Background(), d)
	if !errors.Is(err, lookupErr) || !retry {
		t.Errorf("secret lookup failure: retry %v, err %v", retry, err)
	}
	d.Recipient.WebhookURL = ""
	retry, _, err = s.Send(context.Background(), d)
	if !errors.Is(err, ErrNoWebhook) || retry {
		t.Errorf("no url: retry %v, err %v", retry, err)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h.example/hook/a", "https://h.example/hook/a"},
		{"https://h.example/hook/a?token=x", "https://h.example/hook/a?<redacted>"},
		{"https://u:p@h.example/hook", "https://h.example/hook?<redacted>"},
		{"https://h.example/hook#frag", "https://h.example/hook?<redacted>"},
		{"not a url", "<redacted>"},
		{"http://[::1/x?token=y", "<redacted>"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactError(t *testing.T) {
	raw := "https://h.example/hook/a?token=T0KEN"
	inner := &net.OpError{Op: "dial", Net: "tcp", Err: &urlErrorTimeout{msg: "i/o timeout"}}
	ue := &urlErrorTimeout{msg: "Post \"" + raw + "\": key k3y-material leaked by a proxy"}
	tests := []struct {
		name    string
		err     error
		secrets []string
		absent  []string
		present string
	}{
		{"url.Error keeps its type", &url.Error{Op: "Post", URL: raw, Err: inner}, nil, []string{"T0KEN"}, `Post "https://h.example/hook/a?<redacted>"`},
		{"wrapped text is scrubbed", fmt.Errorf("send: %w", ue), []string{"k3y-material"}, []string{"T0KEN", "k3y-material"}, "key <redacted> leaked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RedactError(tc.err, raw, tc.secrets...)
			for _, a := range tc.absent {
				if strings.Contains(got.Error(), a) {
					t.Errorf("%q still in %q", a, got)
				}
			}
			if !strings.Contains(got.Error(), tc.present) {
				t.Errorf("%q lacks %q", got, tc.present)
			}
			var te interface{ Timeout() bool }
			if !errors.As(got, &te) || !te.Timeout() {
				t.Errorf("redacted %q no longer reports a timeout", got)
			}
		})
	}
	if RedactError(nil, raw) != nil {
		t.Error("RedactError(nil) is not nil")
	}
}

// urlErrorTimeout is a timeout error whose text holds a URL and a secret.
type urlErrorTimeout struct{ msg string }

func (e *urlErrorTimeout) Error() string { return e.msg }
func (e *urlErrorTimeout) Timeout() bool { return true }
