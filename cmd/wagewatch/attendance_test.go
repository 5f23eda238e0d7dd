package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/handler"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/registry"
)

const (
	pushWorkerA = "620502197803120119"
	pushWorkerB = "620502198206150234"
)

// pushRoster is a registry with project TS-QZ-001 and worker A on it.
type pushRoster struct{ h *pii.Hasher }

func (r pushRoster) Project(_ context.Context, id string) (registry.Project, bool, error) {
	return registry.Project{ID: id}, id == "TS-QZ-001", nil
}

func (r pushRoster) Roster(_ context.Context, id string) ([]registry.Enrolment, error) {
	return []registry.Enrolment{{ProjectID: "TS-QZ-001", IDHash: r.h.HashID(pushWorkerA), EnrolledOn: day.New(2026, 1, 1)}}, nil
}

// pushQueue counts the records queued.
type pushQueue struct {
	mu      sync.Mutex
	records int
}

func (q *pushQueue) Send(_ context.Context, msgs []queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range msgs {
		var am handler.AttendanceMessage
		if err := json.Unmarshal([]byte(m.Body), &am); err != nil {
			return err
		}
		q.records += len(am.Records)
	}
	return nil
}

// apiServer serves the real attendance-api handler over HTTP, as API
// Gateway would call it (lower-case header names, base64 body), failing
// the first failFirst requests with 503.
func apiServer(t *testing.T, failFirst int) (*httptest.Server, *pushQueue, *int) {
	t.Helper()
	h, err := pii.NewHasher([]byte("wagewatch-test-key-not-secret"))
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := handler.ParseSourceSecrets("gate-1:s3cret")
	if err != nil {
		t.Fatal(err)
	}
	q := &pushQueue{}
	api := &handler.AttendanceAPI{Secrets: secrets, Registry: pushRoster{h}, Attendance: q, Hasher: h,
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls <= failFirst {
			http.Error(w, `{"error":"try again later"}`, http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{}, Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true}
		for k := range r.Header {
			req.Headers[strings.ToLower(k)] = r.Header.Get(k)
		}
		req.RequestContext.HTTP.Method = r.Method
		resp, err := api.Handle(r.Context(), req)
		if err != nil {
			t.Errorf("Handle: %v", err)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.WriteString(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv, q, &calls
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAttendancePush(t *testing.T) {
	csvText := "project_id,id_number,date,device_id\n" +
		"TS-QZ-001," + pushWorkerA + ",2026-10-01,G1\n" + // line 2: ok
		"TS-QZ-001," + pushWorkerA + ",2026-10-02,G1\n" + // line 3: ok
		"TS-QZ-001," + pushWorkerB + ",2026-10-02,G1\n" + // line 4: not enrolled
		"TS-QZ-001," + pushWorkerA + ",2026-10-03,G1\n" + // line 5: ok
		"TS-QZ-001,620502197803120118,2026-10-04,G1\n" + // line 6: bad check digit: batch 6-7 refused
		"TS-QZ-001," + pushWorkerA + ",2026-10-05,G1\n" // line 7: ok
	jsonl := `{"project_id":"TS-QZ-001","id_number":"` + pushWorkerA + `","date":"2026-10-01"}` + "\n" +
		"\n" +
		`{"project_id":"TS-QZ-001","id_number":` + "620502197803120119" + `}` + "\n" + // line 3: not a record
		`{"project_id":"TS-QZ-001","id_number":"` + pushWorkerA + `","date":"2026-10-02"}` + "\n"
	tests := []struct {
		name, file, text, keyID, secret string
		batch                           string
		code                            int
		summary                         string
		stderr                          []string
		queued                          int
	}{
		{"csv in batches of 2", "a.csv", csvText, "gate-1", "s3cret", "2", 1,
			"6 records read, 6 sent in 3 requests: 3 accepted, 2 rejected, 1 not taken",
			[]string{":4: worker 620502********0234 is not enrolled on project TS-QZ-001",
				":6: id_number: ", ":6-7: batch refused, none of its 2 records taken"}, 3},
		{"csv in one batch", "a.csv", csvText, "gate-1", "s3cret", "1000", 1,
			"6 records read, 6 sent in 1 requests: 0 accepted, 1 rejected, 5 not taken",
			[]string{":6: id_number: "}, 0},
		{"json lines", "a.jsonl", jsonl, "gate-1", "s3cret", "1000", 1,
			"3 records read, 2 sent in 1 requests: 2 accepted, 1 rejected, 0 not taken",
			[]string{":3: not a JSON object"}, 2},
		{"all good", "a.jsonl", strings.SplitN(jsonl, "\n", 2)[0] + "\n", "gate-1", "s3cret", "1000", 0,
			"1 records read, 1 sent in 1 requests: 1 accepted, 0 rejected, 0 not taken", nil, 1},
		{"wrong secret", "a.csv", csvText, "gate-1", "guess", "2", 1,
			"2 records read, 0 sent in 1 requests",
			[]string{"refused by the API (HTTP 401)", "lines 2-3"}, 0},
		{"unknown source", "a.csv", csvText, "gate-9", "s3cret", "2", 1,
			"0 sent in 1 requests", []string{"HTTP 401"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, q, _ := apiServer(t, 0)
			path := writeFile(t, tt.file, tt.text)
			t.Setenv("WW_TEST_SOURCE_SECRET", tt.secret)
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), []string{"attendance", "push", path, "--url", srv.URL + "/v1/attendance",
				"--key-id", tt.keyID, "--secret-env", "WW_TEST_SOURCE_SECRET", "--batch", tt.batch}, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.summary) {
				t.Fatalf("exit %d, stdout %q; want %d, %q\nstderr:\n%s", code, stdout.String(), tt.code, tt.summary, stderr.String())
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if q.records != tt.queued {
				t.Errorf("queued %d records, want %d", q.records, tt.queued)
			}
			for _, out := range []string{stdout.String(), stderr.String()} {
				if strings.Contains(out, pushWorkerA) || strings.Contains(out, pushWorkerB) || strings.Contains(out, tt.secret) {
					t.Errorf("output holds an identity number or the secret:\n%s", out)
				}
			}
		})
	}
}

func TestAttendancePushRetries(t *testing.T) {
	text := "project_id,id_number,date\nTS-QZ-001," + pushWorkerA + ",2026-10-01\n"
	for _, tt := range []struct {
		name      string
		failFirst int
		accepted  int
		failed    bool
		requests  int
	}{
		{"recovers after two 503s", 2, 1, false, 3},
		{"gives up after 4 tries", 9, 0, true, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, calls := apiServer(t, tt.failFirst)
			var slept []time.Duration
			cfg := pushConfig{url: srv.URL, keyID: "gate-1", secret: []byte("s3cret"), batch: 1000, retries: 3,
				client: srv.Client(), now: time.Now,
				sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
			var stderr bytes.Buffer
			tally, err := pushFile(context.Background(), cfg, writeFile(t, "a.csv", text), &stderr)
			if err != nil || tally.accepted != tt.accepted || tally.failed != tt.failed || *calls != tt.requests || tally.requests != tt.requests {
				t.Fatalf("tally %+v, %v, %d calls; stderr %s", tally, err, *calls, stderr.String())
			}
			if len(slept) != tt.requests-1 || slept[0] != time.Second || (len(slept) > 1 && slept[1] != 2*time.Second) {
				t.Fatalf("backoff = %v", slept)
			}
		})
	}
}

func TestAttendancePushUsage(t *testing.T) {
	t.Setenv("WW_EMPTY_SECRET", "")
	for _, args := range [][]string{
		{"a.csv"},
		{"a.csv", "--url", "http://x", "--key-id", "k"},
		{"a.csv", "b.csv", "--url", "http://x", "--key-id", "k", "--secret-env", "HOME"},
		{"a.csv", "--url", "http://x", "--key-id", "k", "--secret-env", "WW_EMPTY_SECRET"},
		{"a.csv", "--url", "http://x", "--key-id", "k", "--secret-env", "HOME", "--batch", "1001"},
		{"--nope"},
	} {
		var stdout, stderr bytes.Buffer
		if code := dispatch(context.Background(), append([]string{"attendance", "push"}, args...), &stdout, &stderr); code != 2 ||
			!strings.Contains(stderr.String(), "usage: wagewatch attendance push") {
			t.Errorf("%v: exit %d, stderr %s", args, code, stderr.String())
		}
	}
}
