package handler_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/handler"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/store"
)

// The notify integration tests run the notify handler under the local runner
// against a fresh namespace of the local stack (fauxqs with its redrive
// policies, dynalite) and real httptest receivers. Retries wait itBackoff
// (the handler's own ChangeMessageVisibility: the runner's RetryVisibility
// is left at zero, so a handler that did not set the backoff would wait the
// queue's 180 s and miss the drain timeout).
const (
	itBackoff    = time.Second
	itDrain      = 40 * time.Second
	itHookSecret = "it-webhook-secret"
)

// notifyStack is one provisioned namespace and the clients the tests use.
type notifyStack struct {
	cfg   aws.Config
	res   *stack.Resources
	sqs   *sqs.Client
	store *store.Store
	logs  *syncBuffer
	log   *slog.Logger
	// tplMaxReceive is NotifyQueue's maxReceiveCount in template.yaml.
	tplMaxReceive int
}

// receivesWithinHorizon is how many times a delivery failing throughout is
// received before notify.RetryHorizon passes when every backoff is the
// shortest notify.Backoff draws: the least maxReceiveCount of NotifyQueue
// that lets the handler, not the redrive policy, decide when to give up.
func receivesWithinHorizon() int {
	n, elapsed := 1, time.Duration(0)
	for {
		elapsed += notify.Backoff(n, func() float64 { return 0 })
		if elapsed >= notify.RetryHorizon {
			return n + 1 // the receive at the horizon is the last attempt
		}
		n++
	}
}

// newNotifyStack provisions template.yaml in a fresh namespace. NotifyQueue's
// maxReceiveCount is raised to receivesWithinHorizon when the template's is
// lower (see the test log), so that the redrive policy does not cut the
// handler's retries short.
func newNotifyStack(t *testing.T) *notifyStack {
	t.Helper()
	s := &notifyStack{logs: &syncBuffer{}}
	s.res, s.cfg = itNamespace(t, func(tpl *stack.Template) {
		q, ok := tpl.Queues["NotifyQueue"]
		if !ok || q.DLQ != "NotifyQueueDLQ" {
			t.Fatalf("template: NotifyQueue with NotifyQueueDLQ as its dead-letter queue not found")
		}
		s.tplMaxReceive = q.MaxReceiveCount
		if need := receivesWithinHorizon(); q.MaxReceiveCount < need {
			t.Logf("template.yaml: NotifyQueue maxReceiveCount %d < %d receives within the %s retry horizon; provisioned with %d",
				q.MaxReceiveCount, need, notify.RetryHorizon, need)
			q.MaxReceiveCount = need
		}
	})
	s.sqs = sqs.NewFromConfig(s.cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(s.res.Endpoints.SQS) })
	db := dynamodb.NewFromConfig(s.cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(s.res.Endpoints.DynamoDB) })
	s.store = store.New(db, store.Tables{Deliveries: s.res.Tables["DeliveriesTable"], Alerts: s.res.Tables["AlertsTable"]}, time.Now)
	s.log = slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return s
}

// handler returns a notify handler on this namespace's queues and table,
// posting webhooks signed with itHookSecret; backoff records the attempts it
// is asked about and answers itBackoff.
func (s *notifyStack) handler(backoff *backoffLog) *handler.Notify {
	client := &http.Client{Timeout: 5 * time.Second}
	return &handler.Notify{
		Attempts: s.store,
		Alerts:   s.store,
		Webhooks: notify.NewWebhookSender(client, notify.StaticSecret([]byte(itHookSecret)), time.Now),
		Queue:    s.sqs, QueueURL: s.res.Queues["NotifyQueue"].URL,
		DLQ: s.sqs, DLQURL: s.res.Queues["NotifyQueueDLQ"].URL,
		Now: time.Now, Rand: func() float64 { return 0.5 },
		Backoff: backoff.next, Log: s.log,
	}
}

// run starts the runner with h as NotifyFunction's handler.
func (s *notifyStack) run(t *testing.T, h *handler.Notify) *stack.Runner {
	t.Helper()
	r := stack.NewRunner(s.cfg, s.res, map[string]stack.SQSHandler{"NotifyFunction": h.Handle}, s.log)
	r.WaitTime = time.Second
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// send puts one delivery on NotifyQueue and returns its body.
func (s *notifyStack) send(t *testing.T, d notify.Delivery) string {
	t.Helper()
	body, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	s.sendBody(t, string(body))
	return string(body)
}

func (s *notifyStack) sendBody(t *testing.T, body string) {
	t.Helper()
	if _, err := s.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(s.res.Queues["NotifyQueue"].URL), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
}

// queueCount returns the visible, in-flight and delayed messages of a queue.
func (s *notifyStack) queueCount(t *testing.T, queue string) int {
	t.Helper()
	names := []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}
	out, err := s.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(s.res.Queues[queue].URL), AttributeNames: names})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range names {
		v, err := strconv.Atoi(out.Attributes[string(n)])
		if err != nil {
			t.Fatalf("%s %s: %q", queue, n, out.Attributes[string(n)])
		}
		total += v
	}
	return total
}

// attempts returns the recorded attempts of an alert's deliveries.
func (s *notifyStack) attempts(t *testing.T, alertID string) []store.Attempt {
	t.Helper()
	as, err := s.store.AlertDeliveries(context.Background(), alertID)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// backoffLog is an injected Backoff: it records the retry numbers it is
// asked about, calls onCall (when set) with each, and answers itBackoff.
type backoffLog struct {
	mu     sync.Mutex
	calls  []int
	onCall func(attempt int)
}

func (b *backoffLog) next(attempt int) time.Duration {
	b.mu.Lock()
	b.calls = append(b.calls, attempt)
	f := b.onCall
	b.mu.Unlock()
	if f != nil {
		f(attempt)
	}
	return itBackoff
}

func (b *backoffLog) attempts() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// hookRequest is one request a webhook receiver got, and what it answered.
type hookRequest struct {
	deliveryID string
	signature  string
	body       []byte
	status     int // 0: the connection was dropped
	sigErr     error
}

// hookReceiver is a real HTTP webhook receiver: it checks every request's
// signature with verifySignature (not notify's own code) and answers the
// statuses of script in turn, then the last one for ever; status 0 drops the
// connection without an answer.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []hookRequest
	script []int
}

func newHookReceiver(t *testing.T, script ...int) *hookReceiver {
	t.Helper()
	r := &hookReceiver{script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		r.mu.Lock()
		status := r.script[min(len(r.reqs), len(r.script)-1)]
		r.reqs = append(r.reqs, hookRequest{
			deliveryID: req.Header.Get(notify.HeaderDeliveryID),
			signature:  req.Header.Get(notify.HeaderSignature),
			body:       body,
			status:     status,
			sigErr:     verifySignature(req.Header.Get(notify.HeaderSignature), body, []byte(itHookSecret), time.Now()),
		})
		r.mu.Unlock()
		if status == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("receiver: hijack: %v", err)
				return
			}
			conn.Close()
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// verifySignature checks an X-WW-Signature header — "t=<unix seconds>,
// v1=<hex HMAC-SHA256 of "<t>.<body>">" — independently of notify: its own
// parsing, its own HMAC, and t within five minutes of now.
func verifySignature(header string, body, secret []byte, now time.Time) error {
	m := regexp.MustCompile(`^t=([0-9]+),v1=([0-9a-f]{64})$`).FindStringSubmatch(header)
	if m == nil {
		return fmt.Errorf("signature header %q: not t=<digits>,v1=<64 hex digits>", header)
	}
	ts, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return fmt.Errorf("signature time %q: %w", m[1], err)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("signature time %s is %s from now", m[1], d)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(m[1] + "." + string(body)))
	want := mac.Sum(nil)
	got, err := hex.DecodeString(m[2])
	if err != nil {
		return fmt.Errorf("signature %q: %w", m[2], err)
	}
	if !hmac.Equal(got, want) {
		return fmt.Errorf("signature %s: HMAC does not match", m[2])
	}
	return nil
}

// itDelivery is the delivery of change 1 of alertID to dept-it with the
// webhook url (and no SMS).
func itDelivery(alertID, url string) notify.Delivery {
	return notify.Delivery{
		ID: notify.DeliveryID(alertID, 1, "dept-it"), AlertID: alertID,
		ProjectID: "P-IT-1", ProjectName: "秦州区天水大道改造工程", CountyCode: "620502", Sector: "housing",
		Rule: "wage_arrears", RuleChinese: "未按时足额支付工资", Change: notify.ChangeOpened, Status: "open",
		Severity: "yellow", Period: "2026-10", Workers: 2, Amount: money.Fen(676000),
		Recipient: notify.Recipient{DeptID: "dept-it", Name: "秦州区住建局", WebhookURL: url},
		At:        time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC),
	}
}

// checkAttempts compares recorded attempts with the statuses and HTTP
// statuses wanted, attempt numbers 1, 2, …, all on channel.
func checkAttempts(t *testing.T, got []store.Attempt, d notify.Delivery, channel string, statuses []string, codes []int) {
	t.Helper()
	if len(got) != len(statuses) {
		t.Fatalf("%d attempts recorded, want %d: %+v", len(got), len(statuses), got)
	}
	for i, a := range got {
		if a.DeliveryID != d.ID || a.AlertID != d.AlertID || a.DeptID != d.Recipient.DeptID || a.Channel != channel {
			t.Errorf("attempt %d: delivery %q alert %q dept %q channel %q, want %q %q %q %q",
				i+1, a.DeliveryID, a.AlertID, a.DeptID, a.Channel, d.ID, d.AlertID, d.Recipient.DeptID, channel)
		}
		if a.Attempt != i+1 || a.Status != statuses[i] || a.HTTPStatus != codes[i] {
			t.Errorf("attempt %d: number %d status %q http %d, want %d %q %d",
				i+1, a.Attempt, a.Status, a.HTTPStatus, i+1, statuses[i], codes[i])
		}
		if a.Latency <= 0 || a.At.IsZero() {
			t.Errorf("attempt %d: latency %s at %s, want both recorded", i+1, a.Latency, a.At)
		}
		if (a.Status == "delivered") != (a.Error == "") {
			t.Errorf("attempt %d: status %s with error %q", i+1, a.Status, a.Error)
		}
	}
}

// TestNotifyRetriesUntilDeliveredIntegration: a receiver answering 503 five
// times and then 200 gets six signed requests and exactly one successful
// delivery, every attempt is recorded, and the same message sent again sends
// nothing.
func TestNotifyRetriesUntilDeliveredIntegration(t *testing.T) {
	s := newNotifyStack(t)
	ctx := context.Background()
	recv := newHookReceiver(t, 503, 503, 503, 503, 503, 200)
	backoff := &backoffLog{}
	run := s.run(t, s.handler(backoff))
	d := itDelivery("AL-IT-RETRY", recv.srv.URL+"/hook/dept-it")
	body := s.send(t, d)
	if err := run.WaitDrained(ctx, itDrain); err != nil {
		t.Fatal(err)
	}

	reqs := recv.requests()
	if len(reqs) != 6 {
		t.Fatalf("receiver got %d requests, want 6", len(reqs))
	}
	ok := 0
	for i, r := range reqs {
		if r.sigErr != nil {
			t.Errorf("request %d: %v", i+1, r.sigErr)
		}
		if r.deliveryID != d.ID {
			t.Errorf("request %d: delivery id header %q, want %q", i+1, r.deliveryID, d.ID)
		}
		var p notify.WebhookPayload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if p.Version != notify.WebhookVersion || p.Status != "firing" || p.DeliveryID != d.ID ||
			p.Alert.ID != d.AlertID || p.Alert.Amount != d.Amount || p.Recipient != "dept-it" {
			t.Errorf("request %d: payload %+v", i+1, p)
		}
		if r.status/100 == 2 {
			ok++
		}
	}
	if ok != 1 || reqs[5].status != 200 {
		t.Errorf("%d successful requests (the last answered %d), want exactly 1, the last", ok, reqs[5].status)
	}
	checkAttempts(t, s.attempts(t, d.AlertID), d, "webhook",
		[]string{"retry", "retry", "retry", "retry", "retry", "delivered"}, []int{503, 503, 503, 503, 503, 200})
	if got := backoff.attempts(); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Errorf("backoff asked for retries %v, want [1 2 3 4 5]", got)
	}

	// The same message again (a redelivery): handled, and nothing sent.
	before := run.Invocations()
	s.sendBody(t, body)
	if err := run.WaitDrained(ctx, itDrain); err != nil {
		t.Fatal(err)
	}
	if run.Invocations() == before {
		t.Fatal("the redelivered message was not handled")
	}
	if n := len(recv.requests()); n != 6 {
		t.Errorf("after the redelivery the receiver got %d requests, want still 6", n)
	}
	if n := len(s.attempts(t, d.AlertID)); n != 6 {
		t.Errorf("after the redelivery %d attempts are recorded, want still 6", n)
	}
	if n := s.queueCount(t, "NotifyQueueDLQ"); n != 0 {
		t.Errorf("NotifyQueueDLQ holds %d messages", n)
	}
	if n := strings.Count(s.logs.String(), `"level":"ERROR"`); n != 0 {
		t.Errorf("%d errors logged:\n%s", n, s.logs.String())
	}
}

// TestNotifyReceiverDownEndsInDLQIntegration: a receiver that drops every
// connection is retried until the injected clock passes the retry horizon;
// that receive is the last attempt, recorded as failed, and the handler moves
// the message to NotifyQueueDLQ and stops extending its visibility.
func TestNotifyReceiverDownEndsInDLQIntegration(t *testing.T) {
	s := newNotifyStack(t)
	ctx := context.Background()
	recv := newHookReceiver(t, 0)
	// After the third retry is scheduled, the clock jumps past the horizon.
	var jumped atomic.Bool
	backoff := &backoffLog{onCall: func(attempt int) {
		if attempt >= 3 {
			jumped.Store(true)
		}
	}}
	h := s.handler(backoff)
	h.Now = func() time.Time {
		if jumped.Load() {
			return time.Now().Add(notify.RetryHorizon + time.Hour)
		}
		return time.Now()
	}
	run := s.run(t, h)
	d := itDelivery("AL-IT-DOWN", recv.srv.URL+"/hook/dept-it")
	body := s.send(t, d)
	if err := run.WaitDrained(ctx, itDrain); err != nil {
		t.Fatal(err)
	}

	if n := len(recv.requests()); n != 4 {
		t.Errorf("receiver was reached %d times, want 4", n)
	}
	got := s.attempts(t, d.AlertID)
	checkAttempts(t, got, d, "webhook", []string{"retry", "retry", "retry", "failed"}, []int{0, 0, 0, 0})
	if len(got) == 4 && !strings.Contains(got[3].Error, "dead-letter queue") {
		t.Errorf("last attempt's error %q does not say it went to the dead-letter queue", got[3].Error)
	}
	if calls := backoff.attempts(); !slices.Equal(calls, []int{1, 2, 3}) {
		t.Errorf("backoff asked for retries %v, want [1 2 3] (none once given up)", calls)
	}
	if n := s.queueCount(t, "NotifyQueue"); n != 0 {
		t.Errorf("NotifyQueue still holds %d messages", n)
	}
	out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.res.Queues["NotifyQueueDLQ"].URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != body {
		t.Fatalf("NotifyQueueDLQ: %d messages, want the one delivery sent", len(out.Messages))
	}
	if !strings.Contains(s.logs.String(), "moved to the dead-letter queue") {
		t.Error("giving up is not logged")
	}
	t.Logf("template.yaml NotifyQueue maxReceiveCount %d; the handler gave up on receive 4 and moved the message itself", s.tplMaxReceive)
}

// TestNotifyClientErrorsIntegration: 410 fails for good after one attempt
// and the message is deleted; 408 and 429 are retried.
func TestNotifyClientErrorsIntegration(t *testing.T) {
	s := newNotifyStack(t)
	ctx := context.Background()
	backoff := &backoffLog{}
	run := s.run(t, s.handler(backoff))
	cases := []struct {
		name     string
		script   []int
		statuses []string
	}{
		{"410 gone", []int{410, 200}, []string{"failed"}},
		{"408 timeout", []int{408, 200}, []string{"retry", "delivered"}},
		{"429 too many", []int{429, 200}, []string{"retry", "delivered"}},
	}
	recvs := make([]*hookReceiver, len(cases))
	deliveries := make([]notify.Delivery, len(cases))
	for i, c := range cases {
		recvs[i] = newHookReceiver(t, c.script...)
		deliveries[i] = itDelivery(fmt.Sprintf("AL-IT-4XX-%d", i), recvs[i].srv.URL+"/hook/dept-it")
		s.send(t, deliveries[i])
	}
	if err := run.WaitDrained(ctx, itDrain); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reqs := recvs[i].requests()
			if len(reqs) != len(c.statuses) {
				t.Fatalf("receiver got %d requests, want %d", len(reqs), len(c.statuses))
			}
			for j, r := range reqs {
				if r.sigErr != nil {
					t.Errorf("request %d: %v", j+1, r.sigErr)
				}
			}
			checkAttempts(t, s.attempts(t, deliveries[i].AlertID), deliveries[i], "webhook", c.statuses, c.script[:len(c.statuses)])
		})
	}
	if calls := backoff.attempts(); len(calls) != 2 {
		t.Errorf("backoff asked %d times (%v), want 2 (408, 429)", len(calls), calls)
	}
	for _, q := range []string{"NotifyQueue", "NotifyQueueDLQ"} {
		if n := s.queueCount(t, q); n != 0 {
			t.Errorf("%s holds %d messages", q, n)
		}
	}
}

// gatewayRequest is one request the SMS gateway got.
type gatewayRequest struct {
	req    notify.GatewayRequest
	sigErr error
}

// verifyGatewaySignature checks a gateway request independently of notify:
// the canonical string "POST\n<path>\n<timestamp>\n<nonce>\n<key id>\n<hex
// SHA-256 of the body>" under HMAC-SHA256 with the key's secret.
func verifyGatewaySignature(r *http.Request, body []byte, keyID string, secret []byte, now time.Time) error {
	if got := r.Header.Get(notify.HeaderSMSKeyID); got != keyID {
		return fmt.Errorf("key id %q, want %q", got, keyID)
	}
	ts, nonce := r.Header.Get(notify.HeaderSMSTimestamp), r.Header.Get(notify.HeaderSMSNonce)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", ts, err)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %s from now", ts, d)
	}
	if len(nonce) < 16 {
		return fmt.Errorf("nonce %q too short", nonce)
	}
	sum := sha256.Sum256(body)
	canonical := r.Method + "\n" + r.URL.EscapedPath() + "\n" + ts + "\n" + nonce + "\n" + keyID + "\n" + hex.EncodeToString(sum[:])
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(canonical))
	if got, want := r.Header.Get(notify.HeaderSMSSignature), hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(got), []byte(want)) {
		return fmt.Errorf("signature %q does not match", got)
	}
	return nil
}

// TestNotifySMSGatewayIntegration: SMS through the HTTP gateway kind to a
// real local gateway that verifies signatures: one signed request per phone
// number, a Chinese text of at most 70 characters that names the project, the
// rule, the period, the workers and the amount and nothing personal; and a
// short "cleared" message for a resolution.
func TestNotifySMSGatewayIntegration(t *testing.T) {
	s := newNotifyStack(t)
	ctx := context.Background()
	const keyID, secret = "it-key", "it-gateway-secret"
	var mu sync.Mutex
	var got []gatewayRequest
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("gateway: read body: %v", err)
		}
		g := gatewayRequest{sigErr: verifyGatewaySignature(r, body, keyID, []byte(secret), time.Now())}
		if err := json.Unmarshal(body, &g.req); err != nil {
			t.Errorf("gateway: body %s: %v", body, err)
		}
		mu.Lock()
		got = append(got, g)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if g.sigErr != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":"SIGNATURE_INVALID"}`)
			return
		}
		fmt.Fprintf(w, `{"code":"OK","request_id":"r%d"}`, len(got))
	}))
	t.Cleanup(gw.Close)

	h := s.handler(&backoffLog{})
	h.SMS = notify.NewGatewaySender(&http.Client{Timeout: 5 * time.Second}, notify.GatewayConfig{
		URL: gw.URL + "/sms/send", KeyID: keyID, Secret: []byte(secret),
		SignName: "欠薪预警", TemplateCode: "WW_ALERT", ClearedTemplateCode: "WW_CLEARED",
	}, time.Now, nil)
	run := s.run(t, h)

	phones := []string{"+8613800000001", "139-0000-0002"}
	national := []string{"13800000001", "13900000002"}
	opened := itDelivery("AL-IT-SMS", "")
	opened.ProjectName = "秦州区天水大道（藉河南岸段）市政道路改造提升工程第三标段施工总承包项目"
	opened.Recipient.SMS = phones
	resolved := opened
	resolved.ID = notify.DeliveryID(opened.AlertID, 2, "dept-it")
	resolved.Change, resolved.Status = notify.ChangeResolved, "resolved"
	s.send(t, opened)
	if err := run.WaitDrained(ctx, itDrain); err != nil {
		t.Fatal(err)
	}
	s.send(t, resolved)
	if err := run.WaitDrained(ctx, itDrain); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	reqs := slices.Clone(got)
	mu.Unlock()
	if len(reqs) != 4 {
		t.Fatalf("gateway got %d requests, want 4 (2 numbers × 2 changes)", len(reqs))
	}
	digits := regexp.MustCompile(`[0-9]{11,}`)
	for i, g := range reqs {
		r := g.req
		if g.sigErr != nil {
			t.Errorf("request %d: %v", i+1, g.sigErr)
		}
		if want := national[i%2]; r.Phone != want {
			t.Errorf("request %d: phone %q, want %q", i+1, r.Phone, want)
		}
		if n := utf8.RuneCountInString(r.Content); n > notify.SMSSegment {
			t.Errorf("request %d: %d characters, want at most %d: %s", i+1, n, notify.SMSSegment, r.Content)
		}
		if !strings.HasPrefix(r.Content, "【欠薪预警】") || !strings.Contains(r.Content, "秦州区天水大道") ||
			!strings.Contains(r.Content, "未按时足额支付工资") || !strings.Contains(r.Content, "2026-10") {
			t.Errorf("request %d: text %q does not name the project, the rule and the period", i+1, r.Content)
		}
		for _, p := range national {
			if strings.Contains(r.Content, p) || strings.Contains(r.TemplateParam, p) {
				t.Errorf("request %d: a phone number is in the text or the parameters", i+1)
			}
		}
		if digits.MatchString(r.Content) || digits.MatchString(r.TemplateParam) {
			t.Errorf("request %d: a run of 11 or more digits (a phone, identity or card number) in %q / %s", i+1, r.Content, r.TemplateParam)
		}
		if r.SignName != "欠薪预警" {
			t.Errorf("request %d: sign name %q", i+1, r.SignName)
		}
		var params notify.TemplateParams
		if err := json.Unmarshal([]byte(r.TemplateParam), &params); err != nil {
			t.Errorf("request %d: template_param %q: %v", i+1, r.TemplateParam, err)
		}
		if params.Rule != "未按时足额支付工资" || params.Period != "2026-10" || params.Workers != "2" || params.Amount != "6760.00" {
			t.Errorf("request %d: template parameters %+v", i+1, params)
		}
		if i < 2 {
			if r.TemplateCode != "WW_ALERT" || !strings.Contains(r.Content, "涉及2人") || !strings.Contains(r.Content, "6760.00元") {
				t.Errorf("request %d: template %s, text %q: want WW_ALERT naming 2 workers and 6760.00元", i+1, r.TemplateCode, r.Content)
			}
		} else if r.TemplateCode != "WW_CLEARED" || !strings.HasPrefix(r.Content, "【欠薪预警】已清零：") {
			t.Errorf("request %d: template %s, text %q: want the cleared message", i+1, r.TemplateCode, r.Content)
		}
	}

	as := s.attempts(t, opened.AlertID)
	if len(as) != 4 {
		t.Fatalf("%d attempts recorded, want 4: %+v", len(as), as)
	}
	for i, a := range as {
		wantID := opened.ID
		if i >= 2 {
			wantID = resolved.ID
		}
		if a.DeliveryID != wantID || a.Channel != fmt.Sprintf("sms:%d", i%2) || a.Status != "delivered" || a.Attempt != 1 || a.Latency <= 0 {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
	for _, p := range national {
		if strings.Contains(s.logs.String(), p) {
			t.Errorf("a full phone number is in the logs")
		}
	}
	if n := strings.Count(s.logs.String(), `"level":"ERROR"`); n != 0 {
		t.Errorf("%d errors logged", n)
	}
}

// TestNotifySendsOnlyTheSavedChangeIntegration: deliveries are queued before
// their change is saved. Of two evaluations that planned different changes
// number 2 of one alert, only the one that saved it is sent; a delivery
// whose change is saved a moment later waits for it and is sent; one whose
// change is never saved is dropped after SaveWait.
func TestNotifySendsOnlyTheSavedChangeIntegration(t *testing.T) {
	s := newNotifyStack(t)
	ctx := context.Background()
	recv := newHookReceiver(t, 200)
	url := recv.srv.URL + "/hook/dept-it"
	t1 := time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC)
	t2, t3 := t1.Add(time.Hour), t1.Add(time.Hour+time.Second)
	period, err := day.ParseMonth("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	saved := alert.Alert{
		ID: store.AlertID("P-IT-RACE", rules.WageArrears, 1), ProjectID: "P-IT-RACE", Rule: rules.WageArrears, Seq: 1,
		Status: alert.Open, Severity: rules.Red, Workers: 3, Amount: money.Fen(900000), Period: period,
		Recipients: []string{"dept-it"}, OpenedAt: t1, UpdatedAt: t2,
		Timeline: []alert.Event{{At: t1, Kind: alert.EventOpened, Actor: alert.System}, {At: t2, Kind: alert.EventUpdated, Actor: alert.System}},
	}
	if err := s.store.PutNewAlert(ctx, saved); err != nil {
		t.Fatal(err)
	}
	delivery := func(alertID string, seq int, change string, at time.Time) notify.Delivery {
		d := itDelivery(alertID, url)
		d.ID, d.Seq, d.Change, d.At = notify.DeliveryID(alertID, seq, "dept-it"), seq, change, at
		return d
	}
	// Change 2 as saved (updated at t2), and the loser's change 2 (resolved
	// at t3) under the same delivery id.
	winner := delivery(saved.ID, 2, notify.ChangeUpdated, t2)
	loser := delivery(saved.ID, 2, notify.ChangeResolved, t3)
	// An alert saved two seconds after its delivery is queued, and change 3
	// of the first alert, which nobody saves.
	late := saved
	late.ID, late.Seq, late.UpdatedAt = store.AlertID("P-IT-RACE", rules.WageArrears, 2), 2, t1
	late.Timeline = late.Timeline[:1]
	lateD := delivery(late.ID, 1, notify.ChangeOpened, t1)
	never := delivery(saved.ID, 3, notify.ChangeUpdated, t3)

	h := s.handler(&backoffLog{})
	h.SaveWait = 3 * time.Second
	s.send(t, loser)
	s.send(t, winner)
	s.send(t, lateD)
	s.send(t, never)
	run := s.run(t, h)
	time.Sleep(2 * time.Second)
	if err := s.store.PutNewAlert(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := run.WaitDrained(ctx, itDrain); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recv.requests() {
		var p struct {
			Change string `json:"change"`
			Alert  struct {
				ChangedAt time.Time `json:"changed_at"`
			} `json:"alert"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("webhook body: %v", err)
		}
		got = append(got, fmt.Sprintf("%s %s %s", r.deliveryID, p.Change, p.Alert.ChangedAt.UTC().Format(time.TimeOnly)))
	}
	slices.Sort(got)
	want := []string{
		lateD.ID + " opened 08:00:00",
		winner.ID + " updated 09:00:00",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("receiver got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	logs := s.logs.String()
	for _, msg := range []string{"delivery dropped: its change was not the one saved", "delivery dropped: its change was never saved"} {
		if n := strings.Count(logs, msg); n != 1 {
			t.Errorf("log %q %d times, want once", msg, n)
		}
	}
	for _, q := range []string{"NotifyQueue", "NotifyQueueDLQ"} {
		if n := s.queueCount(t, q); n != 0 {
			t.Errorf("%s holds %d messages", q, n)
		}
	}
}
