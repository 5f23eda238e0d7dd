package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/handler"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/store"
)

// The lifecycle tests' data (computed by hand, rules.md): housing projects
// LC-01.. in 秦州区 (620502), payday 15, started 2026-09-01, two workers
// each at 200 yuan a day. Every worker works 2026-10-08..10 (October: 600.00
// each), 2026-11-19, 2026-11-28 and 2026-12-14 (dates after D never count);
// 5000.00 is deposited into every account on 2026-11-16.
//
// At lcT (2026-11-20 09:00) October is due (11-15 < D): wage_arrears fires
// with 2 workers, 1200.00, period 2026-10, 5 days overdue: yellow; nothing
// else fires (latest booking 11-16: 4 days; latest attendance 11-19: 1 day;
// 1200 ≤ 5000 deposited; due(Nov) = 12-15 is beyond D + 5). The recipients
// are the county's housing and gov departments.
var (
	lcT       = time.Date(2026, 11, 20, 9, 0, 0, 0, day.Shanghai)
	lcRecips  = []string{"qz-gov", "qz-housing"}
	lcOctDays = []string{"2026-10-08", "2026-10-09", "2026-10-10", "2026-11-19", "2026-11-28", "2026-12-14"}
)

const (
	lcDepartments = "dept_id,name,level,county_code,sector,sms,webhook_url\n" +
		"qz-housing,秦州区住房和城乡建设局,county,620502,housing,13900000001,\n" +
		"qz-gov,秦州区根治拖欠农民工工资工作领导小组办公室,county,620502,gov,13900000003,\n" +
		"city-housing,天水市住房和城乡建设局,city,,housing,13900000007,\n" +
		"city-gov,天水市根治拖欠农民工工资工作领导小组办公室,city,,gov,13900000010,\n"
	lcBankHeader = "account,bank_ref,booking_date,direction,amount,kind,counterparty_account,counterparty_name,end_to_end_id,original_ref,balance_after\n"
)

// lcProject is one project of the fixture and its two workers.
type lcProject struct {
	ID, Account string
	IDs, Cards  [2]string
}

func lcProjects(n int) []lcProject {
	ps := make([]lcProject, n)
	for i := range ps {
		p := lcProject{ID: fmt.Sprintf("LC-%02d", i+1), Account: fmt.Sprintf("62284800190%05d", i+1)}
		for w := range 2 {
			p.IDs[w] = lcIDNumber(10*(i+1) + w)
			p.Cards[w] = fmt.Sprintf("6228480019%04d%02d", i+1, w+1)
		}
		ps[i] = p
	}
	return ps
}

// lcIDNumber returns a valid GB 11643 identity number of 秦州区 for n.
func lcIDNumber(n int) string {
	return testIDNumber("620502", time.Date(1975, 3, 1, 0, 0, 0, 0, time.UTC), 41, n)
}

func lcProjectsCSV(ps []lcProject) string {
	var b strings.Builder
	b.WriteString("project_id,name,county_code,sector,contract_amount,status,start_date,wage_account,bank_code,payday,construction_unit,general_contractor\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "%s,秦州区生命周期工程%s,620502,housing,3000000.00,active,2026-09-01,%s,ABC,15,天水市秦州区住房保障中心,甘肃陇秦建设有限公司\n", p.ID, p.ID, p.Account)
	}
	return b.String()
}

func lcWorkersCSV(ps []lcProject) string {
	var b strings.Builder
	b.WriteString("project_id,id_number,name,employer,bank_card,daily_wage,enrolled_on,left_on\n")
	for _, p := range ps {
		for w, name := range []string{"韩守义", "薛立成"} {
			fmt.Fprintf(&b, "%s,%s,%s,陇秦劳务队,%s,200,2026-09-01,\n", p.ID, p.IDs[w], name, p.Cards[w])
		}
	}
	return b.String()
}

func lcAttendanceCSV(ps []lcProject, dates []string) string {
	var b strings.Builder
	b.WriteString("project_id,id_number,date,clock_in,clock_out,device_id\n")
	for _, p := range ps {
		for w := range 2 {
			for _, d := range dates {
				fmt.Fprintf(&b, "%s,%s,%s,07:55,18:05,DEV-%s\n", p.ID, p.IDs[w], d, p.ID)
			}
		}
	}
	return b.String()
}

// lcDeposit is a deposit row of the canonical bank CSV.
func lcDeposit(p lcProject, ref, date, yuan string) string {
	return fmt.Sprintf("%s,%s,%s,C,%s,deposit,9558800200110000,天水市秦州区住房保障中心,DEP-%s,,\n", p.Account, ref, date, yuan, ref)
}

// lcPay is a payroll row paying worker w of p.
func lcPay(p lcProject, w int, ref, date, yuan string) string {
	return fmt.Sprintf("%s,%s,%s,D,%s,payroll,%s,工人,PAY-%s,,\n", p.Account, ref, date, yuan, p.Cards[w], ref)
}

// lcClock is the functions' clock, set by the test.
type lcClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lcClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// lcApp is the product's functions wired against a fresh namespace of the
// local stack, as scenario.Run wires them, with the functions' clock under
// the test's control. notify does not run: its queue's messages (the
// deliveries) are recorded instead. Every evaluate message handled is
// recorded too.
type lcApp struct {
	t      *testing.T
	ctx    context.Context
	cfg    aws.Config
	res    *stack.Resources
	tpl    *stack.Template
	st     *store.Store
	db     *dynamodb.Client
	sqs    *sqs.Client
	clock  *lcClock
	logs   *syncBuffer
	log    *slog.Logger
	runner *stack.Runner

	mu         sync.Mutex
	deliveries []notify.Delivery
	evaluated  []handler.EvaluateMessage
}

func newLCApp(t *testing.T) *lcApp {
	t.Helper()
	res, cfg := itNamespace(t, nil)
	logs := &syncBuffer{}
	a := &lcApp{
		t: t, ctx: context.Background(), cfg: cfg, res: res, tpl: res.Template(),
		clock: &lcClock{t: lcT}, logs: logs,
		log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	// The test's own view of the tables, on the wall clock.
	app := itWire(t, res, scenario.WireOptions{Log: a.log})
	a.st, a.db, a.sqs = app.Store, dynamodb.NewFromConfig(app.Deps["scan"].AWS), app.Deps["scan"].SQS
	t.Cleanup(func() {
		a.stop()
		if t.Failed() || testing.Verbose() {
			t.Logf("handler logs:\n%s", a.logs.String())
		}
	})
	return a
}

// wire wires every function with the test's clock (scenario.Wire); reeval
// turns the debounced re-evaluation on (1 s delay) or off.
func (a *lcApp) wire(reeval bool) *scenario.App {
	a.t.Helper()
	env := map[string]string{"WW_REEVALUATE": "off"}
	if reeval {
		env = map[string]string{"WW_REEVALUATE": "on", "WW_REEVAL_DELAY_SECONDS": "1"}
	}
	app, err := scenario.Wire(a.ctx, a.res, scenario.WireOptions{Env: env, Log: a.log, Now: a.clock.Now})
	if err != nil {
		a.t.Fatal(err)
	}
	return app
}

// deps returns a function's dependencies, wired as by wire.
func (a *lcApp) deps(fn string, reeval bool) *handler.Deps { return a.wire(reeval).Deps[fn] }

// lcRun says which functions a runner runs.
type lcRun struct {
	reeval bool
	// only, when set, names the functions to run (notify is never run).
	only []string
	// evaluate, when set, builds the evaluate handler.
	evaluate func(d *handler.Deps) handler.SQSHandler
}

// start (re)starts the runner.
func (a *lcApp) start(run lcRun) {
	a.t.Helper()
	a.stop()
	app := a.wire(run.reeval)
	handlers := map[string]stack.SQSHandler{}
	for id, fn := range a.tpl.Functions {
		if len(fn.SQS) == 0 || run.only != nil && !slices.Contains(run.only, fn.Name) && fn.Name != "notify" {
			continue
		}
		switch fn.Name {
		case "notify":
			handlers[id] = a.recordDeliveries
		case "evaluate":
			d := app.Deps[fn.Name]
			h := handler.NewEvaluate(d).Handle
			if run.evaluate != nil {
				h = run.evaluate(d)
			}
			handlers[id] = a.countEvaluations(h)
		default:
			h, ok := handler.ForFunction(fn.Name, app.Deps[fn.Name])
			if !ok {
				continue
			}
			handlers[id] = stack.SQSHandler(h)
		}
	}
	a.runner = stack.NewRunner(a.cfg, a.res, handlers, a.log.With("component", "runner"))
	a.runner.RetryVisibility = time.Second
	if err := a.runner.Start(a.ctx); err != nil {
		a.t.Fatal(err)
	}
}

// stop stops the runner, then waits out its long polls: the local SQS
// finishes a long poll whose client went away and hands it a message sent
// meanwhile, which would then stay invisible for the queue's visibility
// timeout (up to 30 minutes).
func (a *lcApp) stop() {
	if a.runner != nil {
		wait := a.runner.WaitTime
		a.runner.Stop()
		a.runner = nil
		time.Sleep(wait + time.Second)
	}
}

func (a *lcApp) recordDeliveries(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range ev.Records {
		var d notify.Delivery
		if err := json.Unmarshal([]byte(m.Body), &d); err != nil {
			return events.SQSEventResponse{}, fmt.Errorf("decode delivery: %w", err)
		}
		a.deliveries = append(a.deliveries, d)
	}
	return events.SQSEventResponse{}, nil
}

func (a *lcApp) countEvaluations(h handler.SQSHandler) stack.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		a.mu.Lock()
		for _, m := range ev.Records {
			var msg handler.EvaluateMessage
			if err := json.Unmarshal([]byte(m.Body), &msg); err == nil {
				a.evaluated = append(a.evaluated, msg)
			}
		}
		a.mu.Unlock()
		return h(ctx, ev)
	}
}

// evaluations counts the evaluate messages handled for project with reason.
func (a *lcApp) evaluations(project, reason string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, m := range a.evaluated {
		if m.ProjectID == project && m.Reason == reason {
			n++
		}
	}
	return n
}

// takeDeliveries returns the deliveries recorded since the last call,
// sorted by id.
func (a *lcApp) takeDeliveries() []notify.Delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.deliveries
	a.deliveries = nil
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (a *lcApp) upload(key, body string) {
	a.t.Helper()
	if err := a.res.Upload(a.ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
		a.t.Fatal(err)
	}
}

func (a *lcApp) drain() {
	a.t.Helper()
	if err := a.runner.WaitDrained(a.ctx, 2*time.Minute); err != nil {
		a.t.Fatal(err)
	}
}

// scan runs the scan as of at and waits for its evaluations.
func (a *lcApp) scan(at time.Time) {
	a.t.Helper()
	res, err := handler.NewScan(a.deps("scan", false)).Handle(a.ctx, handler.ScanInput{AsOf: at})
	if err != nil {
		a.t.Fatal(err)
	}
	if res.Projects == 0 {
		a.t.Fatal("scan found no project")
	}
	a.drain()
}

// load uploads the registry, the attendance of lcOctDays and a 5000.00
// deposit per project on 2026-11-16 through the feed bucket, and checks that
// every file was accepted whole.
func (a *lcApp) load(ps []lcProject) {
	a.t.Helper()
	a.upload("registry/projects.csv", lcProjectsCSV(ps))
	a.drain()
	a.upload("registry/departments.csv", lcDepartments)
	a.upload("registry/workers.csv", lcWorkersCSV(ps))
	a.drain()
	bank := lcBankHeader
	for _, p := range ps {
		bank += lcDeposit(p, p.ID+"-D1", "2026-11-16", "5000.00")
	}
	a.upload("attendance/initial.csv", lcAttendanceCSV(ps, lcOctDays))
	a.upload("bank/initial.csv", bank)
	a.drain()
	for _, k := range []string{"registry/projects.csv", "registry/departments.csv", "registry/workers.csv", "attendance/initial.csv", "bank/initial.csv"} {
		a.checkAccepted(k)
	}
}

// checkAccepted fails unless the file under key was ingested without a
// reject.
func (a *lcApp) checkAccepted(key string) {
	a.t.Helper()
	ups, err := a.st.Uploads(a.ctx, key)
	if err != nil {
		a.t.Fatal(err)
	}
	if len(ups) == 0 {
		a.t.Fatalf("%s: not ingested", key)
	}
	m := ups[len(ups)-1]
	if m.State != "done" || m.Accepted == 0 || m.Rejected != 0 {
		a.t.Fatalf("%s: state %s, %d accepted, %d rejected: %+v", key, m.State, m.Accepted, m.Rejected, m.Rejects)
	}
}

// current returns the project's open or acknowledged alerts by rule.
func (a *lcApp) current(project string) map[rules.Rule]alert.Alert {
	a.t.Helper()
	as, err := a.st.CurrentAlerts(a.ctx, project)
	if err != nil {
		a.t.Fatal(err)
	}
	out := map[rules.Rule]alert.Alert{}
	for _, al := range as {
		if _, dup := out[al.Rule]; dup {
			a.t.Errorf("%s: two current %s alerts", project, al.Rule)
		}
		out[al.Rule] = al
	}
	return out
}

func (a *lcApp) alert(id string) alert.Alert {
	a.t.Helper()
	al, err := a.st.Alert(a.ctx, id)
	if err != nil {
		a.t.Fatal(err)
	}
	return al
}

// head reads the head item of (project, rule): whether it is open, the last
// alert number, and whether it is in the open-alert index.
func (a *lcApp) head(project string, rule rules.Rule) (open bool, seq int, indexed bool) {
	a.t.Helper()
	out, err := a.db.GetItem(a.ctx, &dynamodb.GetItemInput{
		TableName: aws.String(a.res.Tables["AlertsTable"]), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "P#" + project},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "HEAD#" + string(rule)},
		},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	if b, ok := out.Item["open"].(*ddbtypes.AttributeValueMemberBOOL); ok {
		open = b.Value
	}
	if v, ok := out.Item["seq"].(*ddbtypes.AttributeValueMemberN); ok {
		fmt.Sscan(v.Value, &seq)
	}
	_, indexed = out.Item["gsi1pk"]
	return open, seq, indexed
}

// alertItems returns the status of every stored alert of (project, rule),
// by alert number.
func (a *lcApp) alertItems(project string, rule rules.Rule) map[int]alert.Status {
	a.t.Helper()
	out, err := a.db.Query(a.ctx, &dynamodb.QueryInput{
		TableName: aws.String(a.res.Tables["AlertsTable"]), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk": &ddbtypes.AttributeValueMemberS{Value: "P#" + project},
			":sk": &ddbtypes.AttributeValueMemberS{Value: "AL#" + string(rule) + "#"},
		},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	items := map[int]alert.Status{}
	for _, it := range out.Items {
		var al alert.Alert
		if err := json.Unmarshal([]byte(it["doc"].(*ddbtypes.AttributeValueMemberS).Value), &al); err != nil {
			a.t.Fatal(err)
		}
		items[al.Seq] = al.Status
	}
	return items
}

// marked reports whether the project's re-evaluation marker stands.
func (a *lcApp) marked(project string) bool {
	a.t.Helper()
	out, err := a.db.GetItem(a.ctx, &dynamodb.GetItemInput{
		TableName: aws.String(a.res.Tables["RegistryTable"]), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "P#" + project},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "REEVAL"},
		},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return out.Item != nil
}

// queued counts the messages on a queue (visible, in flight and delayed).
func (a *lcApp) queued(queueID string) int {
	a.t.Helper()
	out, err := a.sqs.GetQueueAttributes(a.ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(a.res.Queues[queueID].URL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		a.t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		var k int
		fmt.Sscan(v, &k)
		n += k
	}
	return n
}

// checkClean fails on a message in a dead-letter queue or an error logged.
func (a *lcApp) checkClean() {
	a.t.Helper()
	for id, q := range a.tpl.Queues {
		if q.DLQ == "" {
			continue
		}
		if n := a.queued(q.DLQ); n != 0 {
			a.t.Errorf("%s (dead-letter queue of %s) holds %d messages", q.DLQ, id, n)
		}
	}
	if n := strings.Count(a.logs.String(), `"level":"ERROR"`); n != 0 {
		a.t.Errorf("%d errors logged", n)
	}
}

// checkDeliveries compares deliveries with the changes they announce: one
// per recipient, ids distinct.
func checkDeliveries(t *testing.T, got []notify.Delivery, a alert.Alert, change string, recips []string) {
	t.Helper()
	var depts []string
	for _, d := range got {
		depts = append(depts, d.Recipient.DeptID)
		want := notify.DeliveryID(a.ID, len(a.Timeline), d.Recipient.DeptID)
		if d.ID != want || d.AlertID != a.ID || d.Change != change || d.Status != string(a.Status) ||
			d.Severity != string(a.Severity) || d.Workers != a.Workers || d.Amount != a.Amount || d.Period != a.Period.String() {
			t.Errorf("delivery %+v\ndoes not announce %s of %s (want id %s, %s, %s, %d workers, %s, %s)", d, change, a.ID,
				want, a.Status, a.Severity, a.Workers, a.Amount, a.Period)
		}
	}
	sort.Strings(depts)
	if !slices.Equal(depts, recips) {
		t.Errorf("%s of %s delivered to %v, want %v", change, a.ID, depts, recips)
	}
}

func timelineKinds(a alert.Alert) []string {
	var out []string
	for _, e := range a.Timeline {
		out = append(out, e.Kind)
	}
	return out
}

func changedFields(e alert.Event) []string {
	var out []string
	for k := range e.Changes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkAlert compares an alert's finding fields.
func checkAlert(t *testing.T, a alert.Alert, status alert.Status, sev rules.Severity, workers int, amount money.Fen, period string) {
	t.Helper()
	if a.Status != status || a.Severity != sev || a.Workers != workers || a.Amount != amount || a.Period.String() != period {
		t.Errorf("alert %s: %s %s %d workers %s %s, want %s %s %d workers %s %s", a.ID, a.Status, a.Severity, a.Workers,
			a.Amount, a.Period, status, sev, workers, amount, period)
	}
	if !slices.Equal(a.Recipients, lcRecips) {
		t.Errorf("alert %s: recipients %v, want %v", a.ID, a.Recipients, lcRecips)
	}
}

// TestAutoResolveIntegration is 动态清零 through the whole pipeline: the scan
// at lcT opens the wage_arrears alert (one "opened" delivery per
// recipient); a bank file paying the arrears, with re-evaluation on, has the
// project re-evaluated without a scan (one change evaluation, as of the
// functions' clock, lcT + 1 day), which resolves the alert automatically and
// tells the recipients; new unpaid work and a later scan open a new alert,
// number 2.
func TestAutoResolveIntegration(t *testing.T) {
	a := newLCApp(t)
	ps := lcProjects(1)
	p := ps[0]
	a.clock.Set(lcT.AddDate(0, 0, 1))
	a.start(lcRun{reeval: false})
	a.load(ps)
	if n := a.evaluations(p.ID, "change"); n != 0 {
		t.Fatalf("%d change evaluations while loading with re-evaluation off", n)
	}
	a.scan(lcT)

	cur := a.current(p.ID)
	if len(cur) != 1 {
		t.Fatalf("current alerts at %s: %v, want wage_arrears only", lcT, cur)
	}
	first, ok := cur[rules.WageArrears]
	if !ok {
		t.Fatalf("no wage_arrears alert at %s", lcT)
	}
	wantID := store.AlertID(p.ID, rules.WageArrears, 1)
	if first.ID != wantID || first.Seq != 1 || !first.OpenedAt.Equal(lcT) {
		t.Errorf("opened %s seq %d at %s, want %s seq 1 at %s", first.ID, first.Seq, first.OpenedAt, wantID, lcT)
	}
	checkAlert(t, first, alert.Open, rules.Yellow, 2, 120000, "2026-10")
	if k := timelineKinds(first); !slices.Equal(k, []string{alert.EventOpened}) || first.Timeline[0].Actor != alert.System {
		t.Errorf("timeline %v (actor %q), want [opened] by system", k, first.Timeline[0].Actor)
	}
	checkDeliveries(t, a.takeDeliveries(), first, "opened", lcRecips)
	if open, seq, indexed := a.head(p.ID, rules.WageArrears); !open || seq != 1 || !indexed {
		t.Errorf("head: open %v seq %d indexed %v, want open, 1, indexed", open, seq, indexed)
	}

	// The money arrives: 600.00 to each worker, booked 11-20. Nothing
	// else is run: the change alone must bring the evaluation.
	resolvedAt := lcT.AddDate(0, 0, 1)
	a.start(lcRun{reeval: true})
	a.upload("bank/pay-2611.csv", lcBankHeader+lcPay(p, 0, "P1-W1", "2026-11-20", "600.00")+lcPay(p, 1, "P1-W2", "2026-11-20", "600.00"))
	a.drain()
	a.checkAccepted("bank/pay-2611.csv")
	if n := a.evaluations(p.ID, "change"); n != 1 {
		t.Errorf("%d change evaluations after the payment, want 1", n)
	}
	if n := a.evaluations(p.ID, "scan"); n != 1 {
		t.Errorf("%d scan evaluations, want the first scan's only", n)
	}
	if a.marked(p.ID) {
		t.Error("re-evaluation marker still stands after the evaluation")
	}
	if cur := a.current(p.ID); len(cur) != 0 {
		t.Errorf("current alerts after the payment: %v, want none", cur)
	}
	res := a.alert(wantID)
	checkAlert(t, res, alert.Resolved, rules.Yellow, 2, 120000, "2026-10")
	if res.Resolution != alert.ResolutionAuto || res.ResolvedAt == nil || !res.ResolvedAt.Equal(resolvedAt) {
		t.Errorf("resolution %q at %v, want auto at %s", res.Resolution, res.ResolvedAt, resolvedAt)
	}
	if k := timelineKinds(res); !slices.Equal(k, []string{alert.EventOpened, alert.EventResolved}) {
		t.Errorf("timeline %v, want [opened resolved]", k)
	} else if e := res.Timeline[1]; e.Actor != alert.System || !e.At.Equal(resolvedAt) {
		t.Errorf("resolved by %q at %s, want system at %s", e.Actor, e.At, resolvedAt)
	}
	checkDeliveries(t, a.takeDeliveries(), res, "resolved", lcRecips)
	if open, seq, indexed := a.head(p.ID, rules.WageArrears); open || seq != 1 || indexed {
		t.Errorf("head: open %v seq %d indexed %v, want closed, 1, not indexed", open, seq, indexed)
	}

	// November's work (11-02..06 more) and a December deposit arrive; as
	// of the clock (11-21) November is not due: nothing changes. At T2 =
	// 12-20 it is (due 12-15, 5 days): each worker owes 600 + 1400 − 600
	// = 1400 → a new alert, 2 workers, 2800.00, period 2026-11, yellow.
	a.upload("attendance/nov.csv", lcAttendanceCSV(ps, []string{"2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-12-18"}))
	a.upload("bank/dep-2612.csv", lcBankHeader+lcDeposit(p, "P1-D2", "2026-12-16", "3000.00"))
	a.drain()
	a.checkAccepted("attendance/nov.csv")
	a.checkAccepted("bank/dep-2612.csv")
	if n := a.evaluations(p.ID, "change"); n < 2 {
		t.Errorf("%d change evaluations after new attendance and a deposit, want at least 2", n)
	}
	if d := a.takeDeliveries(); len(d) != 0 {
		t.Errorf("deliveries without a change: %+v", d)
	}
	if cur := a.current(p.ID); len(cur) != 0 {
		t.Errorf("current alerts before November is due: %v", cur)
	}
	t2 := time.Date(2026, 12, 20, 9, 0, 0, 0, day.Shanghai)
	a.scan(t2)
	cur = a.current(p.ID)
	second, ok := cur[rules.WageArrears]
	if len(cur) != 1 || !ok {
		t.Fatalf("current alerts at %s: %v, want wage_arrears only", t2, cur)
	}
	wantID2 := store.AlertID(p.ID, rules.WageArrears, 2)
	if second.ID != wantID2 || second.Seq != 2 || !second.OpenedAt.Equal(t2) {
		t.Errorf("reopened as %s seq %d at %s, want %s seq 2 at %s", second.ID, second.Seq, second.OpenedAt, wantID2, t2)
	}
	checkAlert(t, second, alert.Open, rules.Yellow, 2, 280000, "2026-11")
	if k := timelineKinds(second); !slices.Equal(k, []string{alert.EventOpened}) {
		t.Errorf("new alert's timeline %v, want [opened]", k)
	}
	checkDeliveries(t, a.takeDeliveries(), second, "opened", lcRecips)
	if again := a.alert(wantID); again.Status != alert.Resolved || again.Version != res.Version || len(again.Timeline) != 2 {
		t.Errorf("first alert changed by the later firing: %s version %d→%d, %d events", again.Status, res.Version, again.Version, len(again.Timeline))
	}
	if items := a.alertItems(p.ID, rules.WageArrears); !maps.Equal(items, map[int]alert.Status{1: alert.Resolved, 2: alert.Open}) {
		t.Errorf("stored alerts %v, want 1 resolved, 2 open", items)
	}
	if open, seq, _ := a.head(p.ID, rules.WageArrears); !open || seq != 2 {
		t.Errorf("head: open %v seq %d, want open, 2", open, seq)
	}
	a.checkClean()
}

// TestUpdateIntegration: changes of workers, amount, period and severity
// each append an "updated" event to the open alert's timeline; only the
// raised severity tells the recipients again; an evaluation that changes
// nothing appends nothing.
func TestUpdateIntegration(t *testing.T) {
	a := newLCApp(t)
	ps := lcProjects(1)
	p := ps[0]
	a.start(lcRun{reeval: false})
	a.load(ps)
	a.scan(lcT)
	id := store.AlertID(p.ID, rules.WageArrears, 1)
	opened := a.alert(id)
	checkAlert(t, opened, alert.Open, rules.Yellow, 2, 120000, "2026-10")
	checkDeliveries(t, a.takeDeliveries(), opened, "opened", lcRecips)

	// Worker 1 is paid 600.00 on 11-21; re-evaluated as of 11-21 09:00
	// (6 days overdue): worker 2 owes 600.00 — workers and amount change,
	// severity stays yellow: no delivery.
	a.clock.Set(lcT.AddDate(0, 0, 1))
	a.start(lcRun{reeval: true})
	a.upload("bank/pay-w1.csv", lcBankHeader+lcPay(p, 0, "U-W1", "2026-11-21", "600.00"))
	a.drain()
	if n := a.evaluations(p.ID, "change"); n != 1 {
		t.Errorf("%d change evaluations after the payment, want 1", n)
	}
	upd := a.alert(id)
	checkAlert(t, upd, alert.Open, rules.Yellow, 1, 60000, "2026-10")
	if k := timelineKinds(upd); !slices.Equal(k, []string{alert.EventOpened, alert.EventUpdated}) {
		t.Fatalf("timeline %v, want [opened updated]", k)
	}
	if f := changedFields(upd.Timeline[1]); !slices.Equal(f, []string{"amount", "workers"}) {
		t.Errorf("update records %v, want [amount workers]", f)
	}
	if d := a.takeDeliveries(); len(d) != 0 {
		t.Errorf("an update with unchanged severity notified: %+v", d)
	}

	// Scan at 12-01 09:00: 16 days overdue → orange, a raised severity:
	// the recipients are told again. (feed_missing: 11-21 is 10 days old,
	// not more; attendance_missing: 11-28 is 3 days old.)
	t3 := time.Date(2026, 12, 1, 9, 0, 0, 0, day.Shanghai)
	a.scan(t3)
	raised := a.alert(id)
	checkAlert(t, raised, alert.Open, rules.Orange, 1, 60000, "2026-10")
	if k := timelineKinds(raised); len(k) != 3 || k[2] != alert.EventUpdated {
		t.Fatalf("timeline %v, want [opened updated updated]", k)
	}
	if f := changedFields(raised.Timeline[2]); !slices.Equal(f, []string{"severity"}) {
		t.Errorf("update records %v, want [severity]", f)
	} else if c := raised.Timeline[2].Changes["severity"]; c != [2]string{"yellow", "orange"} {
		t.Errorf("severity change %v, want yellow → orange", c)
	}
	checkDeliveries(t, a.takeDeliveries(), raised, "updated", lcRecips)
	if cur := a.current(p.ID); len(cur) != 1 {
		t.Errorf("current alerts at %s: %v, want wage_arrears only", t3, cur)
	}

	// The same scan again: nothing changes, nothing is told.
	a.scan(t3)
	if same := a.alert(id); same.Version != raised.Version || len(same.Timeline) != 3 {
		t.Errorf("an evaluation without a change wrote the alert: version %d→%d, %d events", raised.Version, same.Version, len(same.Timeline))
	}
	if d := a.takeDeliveries(); len(d) != 0 {
		t.Errorf("an evaluation without a change notified: %+v", d)
	}

	// Worker 2's October is paid on 12-10; re-evaluated as of 12-16 09:00,
	// November is due (12-15): each owes 400.00 (11-19 and 11-28), 1 day
	// overdue. Workers, amount, period change and severity falls to
	// yellow: recorded, not told.
	a.clock.Set(time.Date(2026, 12, 16, 9, 0, 0, 0, day.Shanghai))
	a.upload("bank/pay-w2.csv", lcBankHeader+lcPay(p, 1, "U-W2", "2026-12-10", "600.00"))
	a.drain()
	if n := a.evaluations(p.ID, "change"); n != 2 {
		t.Errorf("%d change evaluations after two payments, want 2", n)
	}
	moved := a.alert(id)
	checkAlert(t, moved, alert.Open, rules.Yellow, 2, 80000, "2026-11")
	if k := timelineKinds(moved); len(k) != 4 || k[3] != alert.EventUpdated {
		t.Fatalf("timeline %v, want [opened updated updated updated]", k)
	}
	if f := changedFields(moved.Timeline[3]); !slices.Equal(f, []string{"amount", "period", "severity", "workers"}) {
		t.Errorf("update records %v, want [amount period severity workers]", f)
	}
	if d := a.takeDeliveries(); len(d) != 0 {
		t.Errorf("a lowered severity notified: %+v", d)
	}
	if cur := a.current(p.ID); len(cur) != 1 || cur[rules.WageArrears].ID != id {
		t.Errorf("current alerts: %v, want %s only", cur, id)
	}
	a.checkClean()
}

// lcHookData is the evaluate function's snapshot reader with a hook run
// when it reads the project, i.e. after the re-evaluation marker is cleared.
type lcHookData struct {
	*store.Store
	mu     sync.Mutex
	onRead func()
}

func (h *lcHookData) Project(ctx context.Context, id string) (registry.Project, bool, error) {
	h.mu.Lock()
	f := h.onRead
	h.onRead = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return h.Store.Project(ctx, id)
}

// entriesEvent is an entries message of one deposit of 1.00 into p's
// account.
func entriesEvent(p lcProject, ref string) events.SQSEvent {
	e := ledger.Entry{Account: p.Account, BankRef: ref, BookingDate: day.New(2026, 11, 17), Direction: ledger.Credit,
		Amount: 100, Currency: "CNY", Kind: ledger.Deposit, Source: ledger.Source{File: "bank/burst.csv", Line: 2}}
	body, _ := json.Marshal(handler.EntriesMessage{File: "bank/burst.csv", Account: p.Account, Entries: []ledger.Entry{e}})
	return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-" + ref, Body: string(body)}}}
}

// TestDebounceIntegration: a burst of entries messages for one project
// schedules exactly one re-evaluation, which clears the marker; a change
// while that evaluation runs (after it cleared the marker) schedules
// another; a scheduling that failed is made good by the redelivery.
func TestDebounceIntegration(t *testing.T) {
	a := newLCApp(t)
	ps := lcProjects(1)
	p := ps[0]
	a.start(lcRun{reeval: false})
	a.load(ps)
	a.stop()
	if a.marked(p.ID) {
		t.Fatal("marker set while re-evaluation is off")
	}
	if n := a.queued("EvaluateQueue"); n != 0 {
		t.Fatalf("%d evaluate messages after loading with re-evaluation off", n)
	}

	// The burst: 25 entries messages at once, handled concurrently by
	// record-entries with re-evaluation on; evaluate does not run yet.
	rec := handler.NewRecordEntries(a.deps("record-entries", true))
	const burst = 25
	var wg sync.WaitGroup
	fails := make(chan string, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := rec.Handle(a.ctx, entriesEvent(p, fmt.Sprintf("B-%02d", i)))
			if err != nil || len(resp.BatchItemFailures) > 0 {
				fails <- fmt.Sprintf("message %d: %v %v", i, err, resp.BatchItemFailures)
			}
		}()
	}
	wg.Wait()
	close(fails)
	for f := range fails {
		t.Error(f)
	}
	if !a.marked(p.ID) {
		t.Error("no re-evaluation marker after the burst")
	}
	if n := a.queued("EvaluateQueue"); n != 1 {
		t.Errorf("%d evaluate messages after a burst of %d changes, want 1", n, burst)
	}
	a.start(lcRun{reeval: true, only: []string{"evaluate"}})
	a.drain()
	if n := a.evaluations(p.ID, "change"); n != 1 {
		t.Errorf("%d evaluations after a burst of %d changes, want 1", n, burst)
	}
	if a.marked(p.ID) {
		t.Error("marker stands after the evaluation")
	}

	// A change while the evaluation runs, after it cleared the marker:
	// another evaluation must follow (the first may not have seen it).
	data := &lcHookData{Store: a.deps("evaluate", true).Store}
	data.onRead = func() {
		if resp, err := rec.Handle(a.ctx, entriesEvent(p, "LATE-01")); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Errorf("change during the evaluation: %v %v", err, resp.BatchItemFailures)
		}
	}
	a.start(lcRun{reeval: true, only: []string{"evaluate"}, evaluate: func(d *handler.Deps) handler.SQSHandler {
		h := handler.NewEvaluate(d)
		h.Data = data
		return h.Handle
	}})
	if resp, err := rec.Handle(a.ctx, entriesEvent(p, "NEXT-01")); err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("change: %v %v", err, resp.BatchItemFailures)
	}
	a.drain()
	if n := a.evaluations(p.ID, "change"); n != 3 {
		t.Errorf("%d evaluations in all, want 3 (the burst's, the next change's, the change during it)", n)
	}
	if data.onRead != nil {
		t.Error("the hook never ran")
	}
	if a.marked(p.ID) {
		t.Error("marker stands after the last evaluation")
	}

	// A scheduling that fails: the entry is recorded, the evaluate message
	// cannot be sent, the marker is taken down and the message fails. Its
	// redelivery finds the entry recorded already and must still schedule
	// the evaluation, or the change is never evaluated.
	flaky := &lcFlakySender{failures: 1, next: queue.NewSender(a.sqs, a.res.Queues["EvaluateQueue"].URL)}
	recFlaky := &handler.RecordEntries{Ledger: a.st, Reeval: &handler.Debouncer{Marks: a.st, Evaluate: flaky, Delay: time.Second}, Log: a.log}
	ev := entriesEvent(p, "RETRY-01")
	ev.Records[0].Attributes = map[string]string{"ApproximateReceiveCount": "1"}
	if resp, err := recFlaky.Handle(a.ctx, ev); err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("first attempt with the evaluate queue failing: %v %v, want the message failed", err, resp.BatchItemFailures)
	}
	if a.marked(p.ID) {
		t.Error("marker stands after the scheduling failed")
	}
	ev.Records[0].Attributes["ApproximateReceiveCount"] = "2"
	if resp, err := recFlaky.Handle(a.ctx, ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, resp.BatchItemFailures)
	}
	a.drain()
	if n := a.evaluations(p.ID, "change"); n != 4 {
		t.Errorf("%d evaluations in all, want 4 (the redelivered change scheduled one)", n)
	}
	if a.marked(p.ID) {
		t.Error("marker stands after the last evaluation")
	}
	if strings.Count(a.logs.String(), `"level":"ERROR"`) != 1 {
		t.Errorf("want exactly the failed scheduling logged as an error")
	}
	for id, q := range a.tpl.Queues {
		if q.DLQ != "" && a.queued(q.DLQ) != 0 {
			t.Errorf("dead-letter queue of %s holds messages", id)
		}
	}
}

// lcFlakySender fails its first sends, then sends through next.
type lcFlakySender struct {
	mu       sync.Mutex
	failures int
	next     *queue.Sender
}

func (f *lcFlakySender) Send(ctx context.Context, msgs []queue.Message) error {
	f.mu.Lock()
	fail := f.failures > 0
	f.failures--
	f.mu.Unlock()
	if fail {
		return fmt.Errorf("send %d messages: queue unavailable (test)", len(msgs))
	}
	return f.next.Send(ctx, msgs)
}

// lcGatedAlerts is the alert store with a rendezvous after CurrentAlerts:
// both racing evaluations read the same alerts before either writes.
type lcGatedAlerts struct {
	*store.Store
	gate func()
}

func (g *lcGatedAlerts) CurrentAlerts(ctx context.Context, project string) ([]alert.Alert, error) {
	as, err := g.Store.CurrentAlerts(ctx, project)
	if g.gate != nil {
		g.gate()
	}
	return as, err
}

// rendezvous returns a function that blocks until n callers called it (or
// a minute passed, so that a broken evaluation fails the test instead of
// hanging it).
func rendezvous(n int) func() {
	var mu sync.Mutex
	all := make(chan struct{})
	return func() {
		mu.Lock()
		n--
		if n == 0 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(time.Minute):
		}
	}
}

// lcCapture records the deliveries an evaluate handler queues.
type lcCapture struct {
	mu   sync.Mutex
	msgs []notify.Delivery
}

func (c *lcCapture) Send(_ context.Context, msgs []queue.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		var d notify.Delivery
		if err := json.Unmarshal([]byte(m.Body), &d); err != nil {
			return fmt.Errorf("decode delivery: %w", err)
		}
		c.msgs = append(c.msgs, d)
	}
	return nil
}

// byID returns the captured deliveries by id, failing on two different
// deliveries under one id (notify sends an id once).
func (c *lcCapture) byID(t *testing.T) map[string]notify.Delivery {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]notify.Delivery{}
	for _, d := range c.msgs {
		if old, ok := out[d.ID]; ok && (old.Change != d.Change || old.Severity != d.Severity || old.Amount != d.Amount || old.Status != d.Status) {
			t.Errorf("delivery %s queued with two contents: %+v and %+v", d.ID, old, d)
		}
		out[d.ID] = d
	}
	return out
}

// TestConcurrentEvaluateIntegration runs two evaluate handlers on the same
// project at once, through openings, an update, automatic resolutions and
// reopenings, on four projects: two where both read the alerts before
// either writes (a forced race: exactly one must lose), two left to the
// scheduler. Never are two alerts of one (project, rule) open; the loser's
// message fails (and, handled again, changes nothing more); every delivery
// id is queued with one content.
func TestConcurrentEvaluateIntegration(t *testing.T) {
	a := newLCApp(t)
	ps := lcProjects(4)
	a.start(lcRun{reeval: false, only: []string{"ingest-feed", "record-entries", "import-registry", "ingest-attendance", "record-attendance"}})
	a.load(ps)

	capture := &lcCapture{}
	evaluator := func() (*handler.Evaluate, *lcGatedAlerts) {
		d := a.deps("evaluate", false)
		h := handler.NewEvaluate(d)
		g := &lcGatedAlerts{Store: d.Store}
		h.Alerts = g
		h.Notify = capture
		return h, g
	}
	h1, g1 := evaluator()
	h2, g2 := evaluator()

	race := func(p lcProject, at time.Time, forced bool) {
		t.Helper()
		body, _ := json.Marshal(handler.EvaluateMessage{ProjectID: p.ID, AsOf: at, Reason: "scan"})
		ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-" + p.ID, Body: string(body)}}}
		g1.gate, g2.gate = nil, nil
		if forced {
			gate := rendezvous(2)
			g1.gate, g2.gate = gate, gate
		}
		var resp [2]events.SQSEventResponse
		var errs [2]error
		var wg sync.WaitGroup
		for i, h := range []*handler.Evaluate{h1, h2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp[i], errs[i] = h.Handle(a.ctx, ev)
			}()
		}
		wg.Wait()
		g1.gate, g2.gate = nil, nil
		failed := 0
		for i := range resp {
			if errs[i] != nil {
				t.Fatalf("%s at %s: handler %d: %v", p.ID, at, i, errs[i])
			}
			if len(resp[i].BatchItemFailures) == 0 {
				continue
			}
			failed++
			if resp[i].BatchItemFailures[0].ItemIdentifier != ev.Records[0].MessageId {
				t.Errorf("failure names %q", resp[i].BatchItemFailures[0].ItemIdentifier)
			}
			// The message comes back: handled again, it succeeds and
			// changes nothing the winner did not.
			again, err := []*handler.Evaluate{h1, h2}[i].Handle(a.ctx, ev)
			if err != nil || len(again.BatchItemFailures) != 0 {
				t.Errorf("%s at %s: retry failed: %v %v", p.ID, at, err, again.BatchItemFailures)
			}
		}
		if forced && failed != 1 {
			t.Errorf("%s at %s: %d of 2 racing evaluations failed, want exactly 1", p.ID, at, failed)
		}
		if failed > 1 {
			t.Errorf("%s at %s: both racing evaluations failed", p.ID, at)
		}
	}
	// check: the current alerts of p are exactly want (rule → seq), each
	// head open with that seq, and no other alert of the rule is open.
	check := func(p lcProject, at time.Time, want map[rules.Rule]int) {
		t.Helper()
		cur := a.current(p.ID)
		got := map[rules.Rule]int{}
		for r, al := range cur {
			got[r] = al.Seq
		}
		if len(got) != len(want) {
			t.Errorf("%s at %s: current %v, want %v", p.ID, at, got, want)
		}
		for r, seq := range want {
			if got[r] != seq {
				t.Errorf("%s at %s: current %s alert %d, want %d", p.ID, at, r, got[r], seq)
			}
			if open, hseq, _ := a.head(p.ID, r); !open || hseq != seq {
				t.Errorf("%s at %s: head %s open %v seq %d, want open %d", p.ID, at, r, open, hseq, seq)
			}
			nOpen := 0
			for _, st := range a.alertItems(p.ID, r) {
				if st != alert.Resolved {
					nOpen++
				}
			}
			if nOpen != 1 {
				t.Errorf("%s at %s: %d %s alerts not resolved, want 1", p.ID, at, nOpen, r)
			}
		}
	}

	// 1. Opening at lcT.
	for i, p := range ps {
		race(p, lcT, i < 2)
		check(p, lcT, map[rules.Rule]int{rules.WageArrears: 1})
	}
	// 2. At 12-01 October is 16 days overdue: orange, an update; and the
	// feed is 15 days old: feed_missing opens.
	t3 := time.Date(2026, 12, 1, 9, 0, 0, 0, day.Shanghai)
	for i, p := range ps {
		race(p, t3, i < 2)
		check(p, t3, map[rules.Rule]int{rules.WageArrears: 1, rules.FeedMissing: 1})
		if al := a.alert(store.AlertID(p.ID, rules.WageArrears, 1)); len(al.Timeline) != 2 || al.Severity != rules.Orange {
			t.Errorf("%s: %v %s after the update race, want [opened updated] orange", p.ID, timelineKinds(al), al.Severity)
		}
	}
	// 3. Both workers paid 600.00 on 11-25: at 12-02 (feed 7 days old,
	// attendance 4) nothing fires: both alerts resolve automatically.
	bank := lcBankHeader
	for _, p := range ps {
		bank += lcPay(p, 0, p.ID+"-W1", "2026-11-25", "600.00") + lcPay(p, 1, p.ID+"-W2", "2026-11-25", "600.00")
	}
	a.upload("bank/pay-race.csv", bank)
	a.drain()
	a.checkAccepted("bank/pay-race.csv")
	t4 := time.Date(2026, 12, 2, 9, 0, 0, 0, day.Shanghai)
	for i, p := range ps {
		race(p, t4, i < 2)
		check(p, t4, map[rules.Rule]int{})
		al := a.alert(store.AlertID(p.ID, rules.WageArrears, 1))
		if al.Status != alert.Resolved || al.Resolution != alert.ResolutionAuto || len(al.Timeline) != 3 {
			t.Errorf("%s: %s (%s) %v after the resolution race, want resolved auto [opened updated resolved]", p.ID, al.Status, al.Resolution, timelineKinds(al))
		}
		for _, r := range []rules.Rule{rules.WageArrears, rules.FeedMissing} {
			if open, seq, indexed := a.head(p.ID, r); open || seq != 1 || indexed {
				t.Errorf("%s: head %s open %v seq %d indexed %v after the resolution, want closed 1 unindexed", p.ID, r, open, seq, indexed)
			}
		}
	}
	// 4. At 12-20 November is due (400.00 each: 11-19 and 11-28 at 200,
	// after 600 paid against 600 owed for October) and the feed is 25
	// days old: both rules fire again and open alerts number 2, in one
	// racing evaluation.
	t5 := time.Date(2026, 12, 20, 9, 0, 0, 0, day.Shanghai)
	for i, p := range ps {
		race(p, t5, i < 2)
		check(p, t5, map[rules.Rule]int{rules.WageArrears: 2, rules.FeedMissing: 2})
	}

	// Every change was announced once per recipient under one id.
	byID := capture.byID(t)
	for _, p := range ps {
		for _, w := range []struct {
			id     string
			events int
			change string
		}{
			{store.AlertID(p.ID, rules.WageArrears, 1), 1, "opened"},
			{store.AlertID(p.ID, rules.WageArrears, 1), 2, "updated"},
			{store.AlertID(p.ID, rules.WageArrears, 1), 3, "resolved"},
			{store.AlertID(p.ID, rules.WageArrears, 2), 1, "opened"},
			{store.AlertID(p.ID, rules.FeedMissing, 1), 1, "opened"},
			{store.AlertID(p.ID, rules.FeedMissing, 1), 2, "resolved"},
			{store.AlertID(p.ID, rules.FeedMissing, 2), 1, "opened"},
		} {
			for _, dept := range lcRecips {
				did := notify.DeliveryID(w.id, w.events, dept)
				d, ok := byID[did]
				if !ok {
					t.Errorf("no delivery %s", did)
				} else if d.Change != w.change {
					t.Errorf("delivery %s announces %s, want %s", did, d.Change, w.change)
				}
				delete(byID, did)
			}
		}
	}
	for id, d := range byID {
		t.Errorf("unexpected delivery %s (%s)", id, d.Change)
	}
	if !strings.Contains(a.logs.String(), store.ErrConflict.Error()) {
		t.Error("no conflict logged: the forced races did not race")
	}
}
