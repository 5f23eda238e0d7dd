package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagewatch/wagewatch/shared/attendance"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/handler"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
)

// Shape of the integration test's data: itProjects × itWorkers × itDays =
// 10,000 distinct worker-days in October 2026, sent through both paths; and
// itFileDays more days per worker that only the files carry (1,000 more
// worker-days), so that the file path is seen to work on its own.
const (
	itProjects = 5
	itWorkers  = 100
	itDays     = 20
	itFileDays = 2
)

// itIDNumber returns a valid GB 11643 identity number for worker n.
func itIDNumber(n int) string {
	return testIDNumber("110105", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 37, n)
}

// testIDNumber returns a valid GB 11643 identity number of county for n:
// born step×n days after first, sequence n%1000.
func testIDNumber(county string, first time.Time, step, n int) string {
	birth := first.AddDate(0, 0, step*n)
	base := fmt.Sprintf("%s%s%03d", county, birth.Format("20060102"), n%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(base[i]-'0') * w
	}
	return base + string("10X98765432"[sum%11])
}

// syncBuffer is a log sink the runner's goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// itNamespace provisions template.yaml in a fresh namespace of the local
// stack (edit, when set, changes the template first) and tears it down when
// the test ends.
func itNamespace(t *testing.T, edit func(*stack.Template)) (*stack.Resources, aws.Config) {
	t.Helper()
	cfg := stacktest.EnsureLocal(t)
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := stack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(tpl)
	}
	ns := stack.NewNamespace()
	res, err := stack.Provision(context.Background(), cfg, tpl, ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Teardown(context.Background(), cfg, ns); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return res, cfg
}

// itWire wires every function against res as scenario.Wire does, with
// re-evaluation off unless opt.Env turns it on. The process environment
// Wire sets (the functions' endpoints and credentials, the local webhook
// secret) is put back when the test ends.
func itWire(t *testing.T, res *stack.Resources, opt scenario.WireOptions) *scenario.App {
	t.Helper()
	local, err := res.EnvFor("scan")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range append(slices.Collect(maps.Keys(local)), "WW_WEBHOOK_SECRET") {
		v, ok := os.LookupEnv(k)
		t.Setenv(k, v)
		if !ok {
			os.Unsetenv(k)
		}
	}
	env := map[string]string{"WW_REEVALUATE": "off"}
	maps.Copy(env, opt.Env)
	opt.Env = env
	a, err := scenario.Wire(context.Background(), res, opt)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// itRunner starts a runner (its own log discarded) for the named functions
// (folder names) as a wires them; observe, when set, sees every SQS event
// before its function does. It stops when the test ends.
func itRunner(t *testing.T, cfg aws.Config, a *scenario.App, observe func(fn string, ev events.SQSEvent), names ...string) *stack.Runner {
	t.Helper()
	handlers := map[string]stack.SQSHandler{}
	for _, name := range names {
		fn, ok := a.Res.Template().FunctionByName(name)
		if !ok {
			t.Fatalf("no function %q in the template", name)
		}
		h, ok := handler.ForFunction(name, a.Deps[name])
		if !ok {
			t.Fatalf("function %q has no SQS handler", name)
		}
		if observe != nil {
			inner := h
			h = func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				observe(name, ev)
				return inner(ctx, ev)
			}
		}
		handlers[fn.LogicalID] = stack.SQSHandler(h)
	}
	r := stack.NewRunner(cfg, a.Res, handlers, nil)
	r.WaitTime = time.Second
	r.RetryVisibility = 2 * time.Second
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// TestAttendanceTwoWaysIntegration pushes the same 10,000 worker-days
// through the attendance API twice (in batches of 1,000, in another order
// the second time) and through attendance files twice (a CSV and the same
// records as JSON Lines; plus the CSV's bytes again under another key,
// which ingestion recognises as the same file), with ingest-attendance and
// record-attendance run by the local runner against the local stack, and
// finds every worker-day stored once, nothing in a dead-letter queue, and
// the records of unenrolled workers nowhere.
func TestAttendanceTwoWaysIntegration(t *testing.T) {
	res, cfg := itNamespace(t, nil)
	ctx := context.Background()
	t.Setenv("WW_ATTENDANCE_SOURCES", "it-gate:it-secret,other:x")
	logs := &syncBuffer{}
	app := itWire(t, res, scenario.WireOptions{
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	apiDeps, st := app.Deps["attendance-api"], app.Store

	// The registry: itProjects projects, itWorkers workers on each since
	// 2026-09-01; worker 0 of every project left on 2026-10-10.
	hasher := apiDeps.Hasher
	type workerDay struct {
		project, id string
		date        day.Date
	}
	var all, fileOnly []workerDay
	want := map[string]map[string][]day.Date{} // project → id hash → dates
	for p := range itProjects {
		pid := fmt.Sprintf("IT-ATT-%03d", p)
		if _, err := st.PutProject(ctx, registry.Project{ID: pid, Name: pid, CountyCode: "110105",
			Sector: registry.OtherSec, Status: registry.Active, StartDate: day.New(2026, 9, 1), Payday: 15}); err != nil {
			t.Fatal(err)
		}
		want[pid] = map[string][]day.Date{}
		for w := range itWorkers {
			id := itIDNumber(p*itWorkers + w)
			if _, err := registry.CheckIDNumber(id); err != nil {
				t.Fatalf("test identity number: %v", err)
			}
			e := registry.Enrolment{ProjectID: pid, IDHash: hasher.HashID(id), IDMasked: "masked", Name: "worker",
				EnrolledOn: day.New(2026, 9, 1), DailyWage: 30000}
			if _, err := st.PutEnrolment(ctx, e); err != nil {
				t.Fatal(err)
			}
			for d := 1; d <= itDays+itFileDays; d++ {
				wd := workerDay{pid, id, day.New(2026, 10, d)}
				if d <= itDays {
					all = append(all, wd)
				} else {
					fileOnly = append(fileOnly, wd)
				}
				want[pid][e.IDHash] = append(want[pid][e.IDHash], wd.date)
			}
		}
	}
	// Records that must be rejected: before enrolment, and an unknown project.
	rejects := []attendance.Wire{
		{ProjectID: "IT-ATT-000", IDNumber: itIDNumber(1), Date: "2026-08-31"},
		{ProjectID: "IT-ATT-404", IDNumber: itIDNumber(1), Date: "2026-10-01"},
		{ProjectID: "IT-ATT-001", IDNumber: itIDNumber(1), Date: "2026-10-01"}, // worker 1 is on project 000 only
	}
	toWire := func(wds []workerDay) []attendance.Wire {
		out := make([]attendance.Wire, len(wds))
		for i, wd := range wds {
			out[i] = attendance.Wire{ProjectID: wd.project, IDNumber: wd.id, Date: wd.date.String(), DeviceID: "GATE-7"}
		}
		return out
	}
	wires := toWire(all)
	if len(wires) != 10000 {
		t.Fatalf("%d records, want 10,000", len(wires))
	}

	run := itRunner(t, cfg, app, nil, "ingest-attendance", "record-attendance")

	// The API path, twice: batches of 1,000 in a different order the
	// second time, and the rejects in a batch of their own.
	api := handler.NewAttendanceAPI(apiDeps)
	post := func(recs []attendance.Wire) handler.AttendanceAnswer {
		t.Helper()
		body, err := json.Marshal(attendance.Batch{Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		ts, sig := attendance.Sign([]byte("it-secret"), time.Now(), body)
		req := events.APIGatewayV2HTTPRequest{Body: string(body), Headers: map[string]string{
			"x-ww-key-id": "it-gate", "x-ww-timestamp": ts, "x-ww-signature": sig}}
		req.RequestContext.HTTP.Method = http.MethodPost
		resp, err := api.Handle(ctx, req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST: %d %s, %v", resp.StatusCode, resp.Body, err)
		}
		var a handler.AttendanceAnswer
		if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	reversed := slices.Clone(wires)
	slices.Reverse(reversed)
	for pass, recs := range [][]attendance.Wire{wires, reversed} {
		for i := 0; i < len(recs); i += attendance.MaxBatchRecords {
			batch := recs[i:min(i+attendance.MaxBatchRecords, len(recs))]
			if a := post(batch); a.Accepted != len(batch) || len(a.Rejected) != 0 {
				t.Fatalf("pass %d batch %d: %+v", pass, i/attendance.MaxBatchRecords, a)
			}
		}
	}
	if a := post(rejects); a.Accepted != 0 || len(a.Rejected) != len(rejects) {
		t.Fatalf("rejects batch: %+v", a)
	} else {
		for i, r := range a.Rejected {
			if r.Index != i || !strings.Contains(r.Reason, "not enrolled") && !strings.Contains(r.Reason, "not registered") {
				t.Errorf("reject %d: %+v", i, r)
			}
		}
	}

	// The file path: a CSV with the rejects and the file-only days, the same
	// bytes again under another key, and the same records as JSON Lines.
	var csv, jsonl bytes.Buffer
	csv.WriteString("project_id,id_number,date,device_id\n")
	for _, w := range slices.Concat(wires, toWire(fileOnly), rejects) {
		fmt.Fprintf(&csv, "%s,%s,%s,%s\n", w.ProjectID, w.IDNumber, w.Date, w.DeviceID)
		b, _ := json.Marshal(w)
		jsonl.Write(append(b, '\n'))
	}
	for key, body := range map[string][]byte{
		"attendance/it-gate-2026-10.csv":        csv.Bytes(),
		"attendance/resent/it-gate-2026-10.csv": csv.Bytes(),
		"attendance/it-gate-2026-10.jsonl":      jsonl.Bytes(),
	} {
		if err := res.Upload(ctx, key, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}

	if err := run.WaitDrained(ctx, 90*time.Second); err != nil {
		t.Fatal(err)
	}

	// Every worker-day once, and nothing else.
	wrong := 0
	for pid, workers := range want {
		got, err := st.Attendance(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(workers) {
			t.Errorf("%s: %d workers with attendance, want %d", pid, len(got), len(workers))
		}
		for h, dates := range workers {
			if !slices.Equal(got[h], dates) {
				if wrong++; wrong <= 3 {
					t.Errorf("%s worker %s…: days %v, want %v", pid, h[:8], got[h], dates)
				}
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d workers have other days than sent", wrong, itProjects*itWorkers)
	}
	if got, err := st.Attendance(ctx, "IT-ATT-404"); err != nil || len(got) != 0 {
		t.Errorf("unregistered project has attendance %v, %v", got, err)
	}
	for _, s := range []string{itIDNumber(0), itIDNumber(1), itIDNumber(499)} {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("an identity number is in the logs")
		}
	}
	if n := strings.Count(logs.String(), `"msg":"attendance file ingested"`); n != 2 {
		t.Errorf("%d attendance files ingested, want 2 (the resent CSV is the same file)", n)
	}
	if n := strings.Count(logs.String(), `"level":"ERROR"`); n != 0 {
		t.Errorf("%d errors logged", n)
	}
	sqsClient := apiDeps.SQS
	for _, q := range []string{"AttendanceQueueDLQ", "AttendanceFileQueueDLQ"} {
		out, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(res.Queues[q].URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			t.Fatal(err)
		}
		if n := out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]; n != "0" {
			t.Errorf("%s holds %s messages", q, n)
		}
	}
	t.Logf("%d handler invocations", run.Invocations())
	if testing.Verbose() {
		for _, l := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(l, "attendance recorded") {
				t.Log(l)
			}
		}
	}
}
