package handler

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/attendance"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/registry"
)

const (
	apiWorkerA = "620502197803120119"
	apiWorkerB = "620502198206150234"
	apiProject = "TS-QZ-001"
)

var apiNow = time.Date(2026, 10, 9, 9, 30, 0, 0, day.Shanghai)

func apiHasher(t testing.TB) *pii.Hasher {
	t.Helper()
	h, err := pii.NewHasher([]byte("wagewatch-test-key-not-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newTestAPI returns an AttendanceAPI with sources dev-1 and dev-2, its
// clock at apiNow, logging JSON into the returned buffer (unredacted, so
// that the test sees what the handler itself writes).
func newTestAPI(t *testing.T) (*AttendanceAPI, *bytes.Buffer) {
	t.Helper()
	secrets, err := ParseSourceSecrets("dev-1:secret-one, dev-2:secret-two")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	return &AttendanceAPI{
		Secrets: secrets,
		Hasher:  apiHasher(t),
		Now:     func() time.Time { return apiNow },
		Log:     slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, &logs
}

func wireBody(t testing.TB, recs ...any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedRequest is a POST /v1/attendance request signed by keyID with
// secret at ts, with API Gateway's lower-case header names.
func signedRequest(keyID, secret string, ts time.Time, body []byte) events.APIGatewayV2HTTPRequest {
	tsh, sig := attendance.Sign([]byte(secret), ts, body)
	req := events.APIGatewayV2HTTPRequest{
		RawPath: "/v1/attendance",
		Headers: map[string]string{
			"x-ww-key-id":    keyID,
			"x-ww-timestamp": tsh,
			"x-ww-signature": sig,
			"content-type":   "application/json",
		},
		Body: string(body),
	}
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.HTTP.SourceIP = "203.0.113.7"
	return req
}

func decodeAnswer(t *testing.T, r events.APIGatewayV2HTTPResponse) AttendanceAnswer {
	t.Helper()
	var a AttendanceAnswer
	if err := json.Unmarshal([]byte(r.Body), &a); err != nil {
		t.Fatalf("answer %q is not an AttendanceAnswer: %v", r.Body, err)
	}
	if a.Rejected == nil && strings.Contains(r.Body, `"rejected":null`) {
		t.Fatalf("answer %s has rejected null", r.Body)
	}
	return a
}

func TestAttendanceAPIAuthenticate(t *testing.T) {
	good := wireBody(t, attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA, Date: "2026-10-08", DeviceID: "GATE-1"})
	tests := []struct {
		name       string
		req        func() events.APIGatewayV2HTTPRequest
		status     int
		answer     string // in the body
		logReason  string // in the log line; "" when no refusal is logged
		logKeyID   string
		wantRecord bool
	}{
		{name: "good", req: func() events.APIGatewayV2HTTPRequest {
			return signedRequest("dev-1", "secret-one", apiNow, good)
		}, status: 0, wantRecord: true},
		{name: "second source", req: func() events.APIGatewayV2HTTPRequest {
			return signedRequest("dev-2", "secret-two", apiNow.Add(-4*time.Minute), good)
		}, status: 0, wantRecord: true},
		{name: "mixed-case header names", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			h := map[string]string{}
			for k, v := range r.Headers {
				h[map[string]string{"x-ww-key-id": attendance.HeaderKeyID, "x-ww-timestamp": attendance.HeaderTimestamp,
					"x-ww-signature": attendance.HeaderSignature}[k]] = v
			}
			r.Headers = h
			return r
		}, status: 0, wantRecord: true},
		{name: "base64 body", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(good), true
			return r
		}, status: 0, wantRecord: true},
		{name: "bad base64", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			r.IsBase64Encoded = true
			return r
		}, status: 401, answer: "bad signature", logReason: "base64", logKeyID: "dev-1"},
		{name: "signed with another source's secret", req: func() events.APIGatewayV2HTTPRequest {
			return signedRequest("dev-1", "secret-two", apiNow, good)
		}, status: 401, answer: "bad signature", logReason: "signature does not match", logKeyID: "dev-1"},
		{name: "body changed after signing", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			r.Body = strings.Replace(r.Body, "2026-10-08", "2026-10-07", 1)
			return r
		}, status: 401, answer: "bad signature", logReason: "signature does not match", logKeyID: "dev-1"},
		{name: "no signature", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			delete(r.Headers, "x-ww-signature")
			return r
		}, status: 401, answer: "bad signature", logReason: "not 32 hex bytes", logKeyID: "dev-1"},
		{name: "expired: 5 minutes and 1 second old", req: func() events.APIGatewayV2HTTPRequest {
			return signedRequest("dev-1", "secret-one", apiNow.Add(-5*time.Minute-time.Second), good)
		}, status: 401, answer: "timestamp more than 5m0s", logReason: "too far from now", logKeyID: "dev-1"},
		{name: "from the future", req: func() events.APIGatewayV2HTTPRequest {
			return signedRequest("dev-1", "secret-one", apiNow.Add(6*time.Minute), good)
		}, status: 401, answer: "timestamp more than 5m0s", logReason: "too far from now", logKeyID: "dev-1"},
		{name: "replayed a day later", req: func() events.APIGatewayV2HTTPRequest {
			return signedRequest("dev-1", "secret-one", apiNow.Add(-24*time.Hour), good)
		}, status: 401, answer: "timestamp more than", logReason: "too far from now", logKeyID: "dev-1"},
		{name: "timestamp not unix seconds", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			r.Headers["x-ww-timestamp"] = apiNow.Format(time.RFC3339)
			return r
		}, status: 401, answer: "not unix seconds", logReason: "not unix seconds", logKeyID: "dev-1"},
		{name: "unknown key id", req: func() events.APIGatewayV2HTTPRequest {
			return signedRequest("dev-9", "secret-one", apiNow, good)
		}, status: 401, answer: "unknown key id or bad signature", logReason: "unknown key id", logKeyID: "dev-9"},
		{name: "no key id", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			delete(r.Headers, "x-ww-key-id")
			return r
		}, status: 401, answer: "missing X-WW-Key-Id", logReason: "no X-WW-Key-Id", logKeyID: ""},
		{name: "GET", req: func() events.APIGatewayV2HTTPRequest {
			r := signedRequest("dev-1", "secret-one", apiNow, good)
			r.RequestContext.HTTP.Method = http.MethodGet
			return r
		}, status: 405, answer: "use POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newTestAPI(t)
			b, resp := h.decode(context.Background(), h.Log, tt.req())
			if tt.status == 0 {
				if resp != nil {
					t.Fatalf("refused: %d %s", resp.StatusCode, resp.Body)
				}
				if !tt.wantRecord || len(b.records) != 1 || b.records[0].IDHash != h.Hasher.HashID(apiWorkerA) {
					t.Fatalf("batch = %+v", b)
				}
				if src := b.records[0].Source; src.File != "api/"+b.keyID || src.Line != 0 {
					t.Fatalf("source = %+v", src)
				}
				return
			}
			if resp == nil {
				t.Fatalf("accepted %d records, want %d", len(b.records), tt.status)
			}
			if resp.StatusCode != tt.status || !strings.Contains(resp.Body, tt.answer) {
				t.Fatalf("answer = %d %s, want %d with %q", resp.StatusCode, resp.Body, tt.status, tt.answer)
			}
			if resp.Headers["Content-Type"] != "application/json" || !json.Valid([]byte(resp.Body)) {
				t.Fatalf("answer is not JSON: %v %s", resp.Headers, resp.Body)
			}
			if tt.logReason == "" {
				return
			}
			var line struct {
				Msg, KeyID, Reason, SourceIP string
			}
			raw := strings.TrimSpace(logs.String())
			if strings.Count(raw, "\n") != 0 {
				t.Fatalf("want one log line, got:\n%s", raw)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				t.Fatalf("log %q: %v", raw, err)
			}
			line.Msg, _ = m["msg"].(string)
			line.KeyID, _ = m["key_id"].(string)
			line.Reason, _ = m["reason"].(string)
			line.SourceIP, _ = m["source_ip"].(string)
			if line.Msg != "attendance request refused" || line.KeyID != tt.logKeyID ||
				!strings.Contains(line.Reason, tt.logReason) || line.SourceIP != "203.0.113.7" {
				t.Fatalf("log line = %s", raw)
			}
			for _, part := range []string{apiWorkerA, apiProject, "GATE-1", "records"} {
				if strings.Contains(raw, part) {
					t.Fatalf("log line holds the body (%q): %s", part, raw)
				}
			}
		})
	}
}

func TestAttendanceAPIMalformed(t *testing.T) {
	okRec := attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA, Date: "2026-10-08"}
	many := make([]any, attendance.MaxBatchRecords+1)
	for i := range many {
		many[i] = okRec
	}
	type reject struct {
		index         int
		field, reason string
	}
	tests := []struct {
		name  string
		body  []byte
		wants []reject
	}{
		{"bad records among good ones", wireBody(t,
			okRec,
			attendance.Wire{ProjectID: apiProject, IDNumber: "620502197803120118", Date: "2026-10-08"},
			okRec,
			attendance.Wire{ProjectID: "no such id!", IDNumber: apiWorkerB, Date: "2026-10-32", ClockOut: "24:00"},
			map[string]any{"project_id": apiProject, "id_number": 620502197803120119, "date": "2026-10-08"},
		), []reject{
			{1, "id_number", "does not verify"},
			{3, "project_id", ""},
			{3, "date", "not a date"},
			{3, "clock_out", "HH:MM"},
			{4, "", "not a JSON object"},
		}},
		{"missing date", wireBody(t, attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA}),
			[]reject{{0, "date", "missing"}}},
		{"not JSON", []byte("project_id=TS-QZ-001"), []reject{{-1, "", "not a JSON object"}}},
		{"empty body", nil, []reject{{-1, "", "not a JSON object"}}},
		{"no records", []byte(`{"records":[]}`), []reject{{-1, "", "no records"}}},
		{"1001 records", wireBody(t, many...), []reject{{-1, "", "1001 records, at most 1000 per request"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newTestAPI(t)
			_, resp := h.decode(context.Background(), h.Log, signedRequest("dev-1", "secret-one", apiNow, tt.body))
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("answer = %+v, want 400", resp)
			}
			a := decodeAnswer(t, *resp)
			if a.Accepted != 0 || len(a.Rejected) != len(tt.wants) {
				t.Fatalf("answer = %s, want %d rejects", resp.Body, len(tt.wants))
			}
			for i, w := range tt.wants {
				got := a.Rejected[i]
				if got.Index != w.index || got.Field != w.field || !strings.Contains(got.Reason, w.reason) {
					t.Errorf("reject %d = %+v, want %+v", i, got, w)
				}
			}
			for _, out := range []string{resp.Body, logs.String()} {
				if strings.Contains(out, "620502197803120118") || strings.Contains(out, apiWorkerA) {
					t.Fatalf("identity number in %s", out)
				}
			}
		})
	}
	t.Run("exactly 1000 records", func(t *testing.T) {
		h, _ := newTestAPI(t)
		b, resp := h.decode(context.Background(), h.Log, signedRequest("dev-1", "secret-one", apiNow, wireBody(t, many[:1000]...)))
		if resp != nil || len(b.records) != 1000 || b.records[999].Source.Line != 999 {
			t.Fatalf("answer %v, %d records", resp, len(b.records))
		}
	})
}

// memRoster is the registry as the enrolment check reads it.
type memRoster struct {
	projects map[string][]registry.Enrolment
	reads    int
	err      error
}

func (m *memRoster) Project(_ context.Context, id string) (registry.Project, bool, error) {
	_, ok := m.projects[id]
	return registry.Project{ID: id}, ok, m.err
}

func (m *memRoster) Roster(_ context.Context, id string) ([]registry.Enrolment, error) {
	m.reads++
	return m.projects[id], m.err
}

// sentMessages records what a queue was sent.
type sentMessages struct {
	msgs  []AttendanceMessage
	calls int
	err   error
}

func (s *sentMessages) Send(_ context.Context, msgs []queue.Message) error {
	s.calls++
	if s.err != nil {
		return s.err
	}
	for _, m := range msgs {
		var am AttendanceMessage
		if err := json.Unmarshal([]byte(m.Body), &am); err != nil {
			return fmt.Errorf("message %q: %w", m.Body, err)
		}
		s.msgs = append(s.msgs, am)
	}
	return nil
}

func TestAttendanceAPITake(t *testing.T) {
	h, _ := newTestAPI(t)
	hashA, hashB := h.Hasher.HashID(apiWorkerA), h.Hasher.HashID(apiWorkerB)
	roster := &memRoster{projects: map[string][]registry.Enrolment{
		apiProject: {
			{ProjectID: apiProject, IDHash: hashA, EnrolledOn: day.New(2026, 9, 1)},
			{ProjectID: apiProject, IDHash: hashB, EnrolledOn: day.New(2026, 10, 8), LeftOn: day.New(2026, 10, 8), HasLeft: true},
		},
		"TS-QZ-002": {{ProjectID: "TS-QZ-002", IDHash: hashB, EnrolledOn: day.New(2026, 1, 1)}},
	}}
	q := &sentMessages{}
	h.Registry, h.Attendance = roster, q
	body := wireBody(t,
		attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA, Date: "2026-10-08", ClockIn: "07:58"},  // 0 ok
		attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerB, Date: "2026-10-08"},                    // 1 ok (last day)
		attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerB, Date: "2026-10-09"},                    // 2 left
		attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA, Date: "2026-08-31"},                    // 3 before enrolment
		attendance.Wire{ProjectID: "TS-QZ-404", IDNumber: apiWorkerA, Date: "2026-10-08"},                   // 4 unknown project
		attendance.Wire{ProjectID: "TS-QZ-002", IDNumber: apiWorkerA, Date: "2026-10-08"},                   // 5 not on that roster
		attendance.Wire{ProjectID: "TS-QZ-002", IDNumber: apiWorkerB, Date: "2026-10-08"},                   // 6 ok
		attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA, Date: "2026-10-08", ClockOut: "18:00"}, // 7 ok, same day as 0
	)
	resp, err := h.Handle(context.Background(), signedRequest("dev-1", "secret-one", apiNow, body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Handle = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	a := decodeAnswer(t, resp)
	wantRejects := map[int]string{
		2: "enrolled from 2026-10-08 to 2026-10-08",
		3: "enrolled from 2026-09-01",
		4: "project TS-QZ-404 is not registered",
		5: "not enrolled on project TS-QZ-002",
	}
	if a.Accepted != 4 || len(a.Rejected) != len(wantRejects) {
		t.Fatalf("answer = %s", resp.Body)
	}
	for _, r := range a.Rejected {
		if !strings.Contains(r.Reason, wantRejects[r.Index]) || r.Field != "" {
			t.Errorf("reject %+v, want reason with %q", r, wantRejects[r.Index])
		}
		if strings.Contains(r.Reason, apiWorkerA) || strings.Contains(r.Reason, apiWorkerB) {
			t.Errorf("reject %+v holds an identity number", r)
		}
	}
	if roster.reads != 2 {
		t.Errorf("rosters read %d times, want once per registered project (2)", roster.reads)
	}
	// One message per project; the repeat of record 0 is queued once.
	if q.calls != 1 || len(q.msgs) != 2 {
		t.Fatalf("sent %d calls, %d messages: %+v", q.calls, len(q.msgs), q.msgs)
	}
	got := map[string][]int{}
	for _, m := range q.msgs {
		for _, r := range m.Records {
			if r.ProjectID != m.ProjectID || r.Source.File != "api/dev-1" {
				t.Errorf("record %+v in message of %s", r, m.ProjectID)
			}
			got[m.ProjectID] = append(got[m.ProjectID], r.Source.Line)
		}
	}
	if fmt.Sprint(got[apiProject]) != "[0 1]" || fmt.Sprint(got["TS-QZ-002"]) != "[6]" {
		t.Fatalf("queued record indexes = %v", got)
	}
}

func TestAttendanceAPIAllAccepted(t *testing.T) {
	h, _ := newTestAPI(t)
	q := &sentMessages{}
	h.Registry = &memRoster{projects: map[string][]registry.Enrolment{
		apiProject: {{ProjectID: apiProject, IDHash: h.Hasher.HashID(apiWorkerA), EnrolledOn: day.New(2026, 1, 1)}},
	}}
	h.Attendance = q
	recs := make([]any, 0, 31)
	for d := 1; d <= 31; d++ {
		recs = append(recs, attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA, Date: day.New(2026, 8, d).String()})
	}
	resp, _ := h.Handle(context.Background(), signedRequest("dev-2", "secret-two", apiNow, wireBody(t, recs...)))
	if resp.StatusCode != http.StatusOK || resp.Body != `{"accepted":31,"rejected":[]}` {
		t.Fatalf("answer = %d %s", resp.StatusCode, resp.Body)
	}
	if len(q.msgs) != 1 || len(q.msgs[0].Records) != 31 {
		t.Fatalf("messages = %+v", q.msgs)
	}
}

func TestAttendanceAPIFailures(t *testing.T) {
	body := wireBody(t, attendance.Wire{ProjectID: apiProject, IDNumber: apiWorkerA, Date: "2026-10-08"})
	tests := []struct {
		name    string
		setup   func(h *AttendanceAPI)
		status  int
		logText string
	}{
		{"roster unreadable", func(h *AttendanceAPI) {
			h.Registry = &memRoster{err: errors.New("throttled")}
			h.Attendance = &sentMessages{}
		}, 500, "throttled"},
		{"queue refuses", func(h *AttendanceAPI) {
			h.Registry = &memRoster{projects: map[string][]registry.Enrolment{
				apiProject: {{ProjectID: apiProject, IDHash: h.Hasher.HashID(apiWorkerA), EnrolledOn: day.New(2026, 1, 1)}},
			}}
			h.Attendance = &sentMessages{err: errors.New("queue gone")}
		}, 500, "queue gone"},
		{"secrets unreadable", func(h *AttendanceAPI) {
			h.Secrets = brokenSecrets{errors.New("access denied")}
		}, 503, "access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newTestAPI(t)
			tt.setup(h)
			resp, err := h.Handle(context.Background(), signedRequest("dev-1", "secret-one", apiNow, body))
			if err != nil || resp.StatusCode != tt.status || !strings.Contains(resp.Body, "try again later") {
				t.Fatalf("Handle = %d %s, %v", resp.StatusCode, resp.Body, err)
			}
			if !strings.Contains(logs.String(), tt.logText) || !strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Fatalf("log = %s", logs.String())
			}
		})
	}
}

func TestParseSourceSecrets(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string // key id → secret; nil for an error
		missing []string
	}{
		{"dev-1:s1,dev-2:s2", map[string]string{"dev-1": "s1", "dev-2": "s2"}, []string{"dev-3", "s1", ""}},
		{" dev-1:a:b , ,dev-2:s2", map[string]string{"dev-1": "a:b", "dev-2": "s2"}, []string{"dev-1:a"}},
		{"", map[string]string{}, []string{""}},
		{"dev-1", nil, nil},
		{"dev-1:", nil, nil},
		{":secret", nil, nil},
		{"dev-1:a,dev-1:b", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseSourceSecrets(tt.in)
			if tt.want == nil {
				if err == nil || !strings.HasPrefix(err.Error(), "attendance sources: ") {
					t.Fatalf("error = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for id, secret := range tt.want {
				if got, ok, _ := s.Secret(context.Background(), id); !ok || string(got) != secret {
					t.Errorf("Secret(%q) = %q, %v; want %q", id, got, ok, secret)
				}
			}
			for _, id := range tt.missing {
				if _, ok, _ := s.Secret(context.Background(), id); ok {
					t.Errorf("Secret(%q) found", id)
				}
			}
		})
	}
}

func TestCachedSecrets(t *testing.T) {
	now := apiNow
	docs := []string{`{"attendance_sources":{"dev-1":"s1"},"webhooks":{},"sms_gateway":"x"}`}
	var fetches int
	var fail error
	c := NewCachedSecrets(func(context.Context) ([]byte, error) {
		fetches++
		if fail != nil {
			return nil, fail
		}
		return []byte(docs[len(docs)-1]), nil
	}, func() time.Time { return now })
	ctx := context.Background()
	lookup := func(id string) (string, bool, error) {
		s, ok, err := c.Secret(ctx, id)
		return string(s), ok, err
	}
	steps := []struct {
		name      string
		advance   time.Duration
		newDoc    string
		fail      error
		id        string
		want      string
		found     bool
		wantErr   bool
		wantReads int
	}{
		{name: "first use reads", id: "dev-1", want: "s1", found: true, wantReads: 1},
		{name: "cached", advance: time.Minute, id: "dev-1", want: "s1", found: true, wantReads: 1},
		{name: "unknown key re-reads", advance: time.Minute, newDoc: `{"attendance_sources":{"dev-1":"s1","dev-2":"s2"}}`,
			id: "dev-2", want: "s2", found: true, wantReads: 2},
		{name: "unknown key again soon: no read", advance: 10 * time.Second, id: "dev-3", wantReads: 2},
		{name: "rotated after TTL", advance: 5 * time.Minute, newDoc: `{"attendance_sources":{"dev-1":"r1"}}`,
			id: "dev-1", want: "r1", found: true, wantReads: 3},
		{name: "failed re-read keeps the old", advance: 6 * time.Minute, fail: errors.New("throttled"),
			id: "dev-1", want: "r1", found: true, wantReads: 4},
		{name: "and waits before the next", advance: 10 * time.Second, fail: errors.New("throttled"),
			id: "dev-1", want: "r1", found: true, wantReads: 4},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if st.newDoc != "" {
			docs = append(docs, st.newDoc)
		}
		fail = st.fail
		got, ok, err := lookup(st.id)
		if got != st.want || ok != st.found || (err != nil) != st.wantErr || fetches != st.wantReads {
			t.Fatalf("%s: Secret(%q) = %q, %v, %v after %d reads; want %q, %v, err %v after %d",
				st.name, st.id, got, ok, err, fetches, st.want, st.found, st.wantErr, st.wantReads)
		}
	}

	t.Run("never read", func(t *testing.T) {
		c := NewCachedSecrets(func(context.Context) ([]byte, error) { return []byte(`{"attendance_sources":`), nil },
			func() time.Time { return apiNow })
		if _, ok, err := c.Secret(ctx, "dev-1"); ok || err == nil {
			t.Fatalf("Secret = %v, %v; want an error", ok, err)
		}
	})
}

func TestNewAttendanceAPISecrets(t *testing.T) {
	tests := []struct {
		name, env, arn string
		status         int
	}{
		{"local sources", "dev-1:secret-one", "", http.StatusUnauthorized}, // the body is signed by nobody: dev-1 is known
		{"bad local sources", "dev-1", "", http.StatusServiceUnavailable},
		{"none", "", "", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WW_ATTENDANCE_SOURCES", tt.env)
			var logs bytes.Buffer
			d := &Deps{Env: Env{SecretsARN: tt.arn}, Now: func() time.Time { return apiNow },
				Log: slog.New(slog.NewJSONHandler(&logs, nil)), Hasher: apiHasher(t)}
			h := NewAttendanceAPI(d)
			req := signedRequest("dev-1", "wrong", apiNow, []byte(`{"records":[]}`))
			resp, _ := h.Handle(context.Background(), req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d %s; log %s", resp.StatusCode, resp.Body, logs.String())
			}
		})
	}
}
