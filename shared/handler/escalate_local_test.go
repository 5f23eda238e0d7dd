package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
	"github.com/wagewatch/wagewatch/shared/store"
)

// testClock is a clock the test moves.
type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time { return c.t }

// localStack is the template's tables and queues, provisioned in the local
// stack (dynalite, fauxqs) under a fresh namespace for one test.
type localStack struct {
	res   *stack.Resources
	store *store.Store
	sqs   *sqs.Client
	clock *testClock
}

func newLocalStack(t *testing.T, now time.Time) *localStack {
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
	ns := stack.NewNamespace()
	res, err := stack.Provision(t.Context(), cfg, tpl, ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Teardown(context.Background(), cfg, ns); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	ls := &localStack{res: res, clock: &testClock{now}}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(res.Endpoints.DynamoDB) })
	ls.store = store.New(ddb, store.Tables{
		Registry: res.Tables["RegistryTable"], Ledger: res.Tables["LedgerTable"], Attendance: res.Tables["AttendanceTable"],
		Alerts: res.Tables["AlertsTable"], Deliveries: res.Tables["DeliveriesTable"], Files: res.Tables["FilesTable"],
	}, ls.clock.Now)
	ls.sqs = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(res.Endpoints.SQS) })
	for _, d := range escDepts {
		if _, err := ls.store.PutDepartment(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []registry.Project{escHousing, escWater} {
		if _, err := ls.store.PutProject(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	return ls
}

// deps returns the dependencies of function fn (its folder name) as the
// template configures it, resolved against the provisioned resources.
func (ls *localStack) deps(t *testing.T, fn string) *Deps {
	t.Helper()
	vars, err := ls.res.EnvFor(fn)
	if err != nil {
		t.Fatal(err)
	}
	env, err := EnvFrom(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return &Deps{Env: env, Store: ls.store, SQS: ls.sqs, Now: ls.clock.Now, Log: slog.New(slog.DiscardHandler)}
}

// open stores a new alert of p opened at the clock's moment.
func (ls *localStack) open(t *testing.T, p registry.Project, rule rules.Rule, sev rules.Severity) alert.Alert {
	t.Helper()
	a := openedAlert(t, p, rule, sev, ls.clock.Now())
	a.ID, a.Seq = "", 0
	a, err := ls.store.OpenAlert(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	a.Version = 1
	return a
}

// notified drains the notify queue and returns its deliveries, by id.
func (ls *localStack) notified(t *testing.T) []notify.Delivery {
	t.Helper()
	url := ls.res.Queues["NotifyQueue"].URL
	var out []notify.Delivery
	for {
		r, err := ls.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			break
		}
		for _, m := range r.Messages {
			var d notify.Delivery
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
			if _, err := ls.sqs.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func TestEscalateLocal(t *testing.T) {
	ls := newLocalStack(t, escT0)
	ctx := t.Context()
	h := NewEscalate(ls.deps(t, "escalate"))
	if h.EscalateAfter != 48*time.Hour {
		t.Fatalf("EscalateAfter %v, want the default 48h", h.EscalateAfter)
	}

	a1 := ls.open(t, escHousing, rules.WageArrears, rules.Yellow) // opened at T0: escalated at T0+49h
	a3 := ls.open(t, escWater, rules.WageArrears, rules.Orange)   // opened at T0, acknowledged at T0+1h
	ls.clock.t = escT0.Add(2 * time.Hour)
	a2 := ls.open(t, escHousing, rules.FeedMissing, rules.Yellow) // opened at T0+2h

	ls.clock.t = escT0.Add(time.Hour)
	acked, err := alert.Acknowledge(a3, "mj-gov", "已约谈总包单位", ls.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.store.SaveAlert(ctx, acked, a3.Version); err != nil {
		t.Fatal(err)
	}

	run := func(at time.Duration, want EscalateResult) {
		t.Helper()
		ls.clock.t = escT0.Add(at)
		got, err := h.Handle(ctx, EscalateInput{})
		if err != nil {
			t.Fatalf("run at T0+%v: %v", at, err)
		}
		want.AsOf = ls.clock.t
		if !reflect.DeepEqual(got, want) {
			t.Errorf("run at T0+%v: %+v, want %+v", at, got, want)
		}
	}

	// 47 hours: nothing is due.
	run(47*time.Hour, EscalateResult{})
	if got := ls.notified(t); len(got) != 0 {
		t.Errorf("at 47h: %d deliveries, want none", len(got))
	}

	// 49 hours: the first alert goes to the city; the second is 47h old;
	// the acknowledged one is not a candidate at all.
	run(49*time.Hour, EscalateResult{Candidates: 1, Escalated: 1, Deliveries: 2})
	got := ls.notified(t)
	var ids []string
	for _, d := range got {
		ids = append(ids, d.ID)
		if d.Change != notify.ChangeEscalated || d.AlertID != a1.ID || d.Status != "open" || d.ProjectName != escHousing.Name {
			t.Errorf("delivery %+v: want the escalation of %s", d, a1.ID)
		}
	}
	wantIDs := []string{a1.ID + "/2/city-gov", a1.ID + "/2/city-housing"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("deliveries %v, want %v (the new recipients only)", ids, wantIDs)
	}
	stored, err := ls.store.Alert(ctx, a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.Escalated || stored.Version != 2 || stored.Timeline[len(stored.Timeline)-1].Kind != alert.EventEscalated ||
		!reflect.DeepEqual(stored.Recipients, []string{"city-gov", "city-housing", "qz-gov", "qz-housing"}) {
		t.Errorf("stored alert: escalated %v, version %d, recipients %v, timeline %+v", stored.Escalated, stored.Version, stored.Recipients, stored.Timeline)
	}

	// Once per alert: later runs do not escalate it again.
	run(49*time.Hour+15*time.Minute, EscalateResult{})
	if got := ls.notified(t); len(got) != 0 {
		t.Errorf("the run after: %d deliveries, want none", len(got))
	}

	// The second alert's turn comes at its own 48 hours; the acknowledged
	// one never comes.
	run(50*time.Hour, EscalateResult{Candidates: 1, Escalated: 1, Deliveries: 2})
	if got := ls.notified(t); len(got) != 2 || got[0].AlertID != a2.ID {
		t.Errorf("at 50h: deliveries %+v, want two for %s", got, a2.ID)
	}
	run(200*time.Hour, EscalateResult{})
	a3now, err := ls.store.Alert(ctx, a3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a3now.Escalated || a3now.Status != alert.Acknowledged {
		t.Errorf("acknowledged alert: escalated %v, status %s; want not escalated", a3now.Escalated, a3now.Status)
	}

	// The city's department now finds the escalated alerts among its own.
	cityAlerts, err := ls.store.AlertsOfDepartment(ctx, "city-gov")
	if err != nil {
		t.Fatal(err)
	}
	var cityIDs []string
	for _, a := range cityAlerts {
		cityIDs = append(cityIDs, a.ID)
	}
	sort.Strings(cityIDs)
	if want := []string{a2.ID, a1.ID}; !reflect.DeepEqual(cityIDs, want) {
		t.Errorf("city-gov's alerts %v, want %v", cityIDs, want)
	}
}

// ackingStore acknowledges the alert, as a department would, between the
// escalator's read and its save.
type ackingStore struct {
	*store.Store
	t *testing.T
}

func (s ackingStore) Alert(ctx context.Context, id string) (alert.Alert, error) {
	a, err := s.Store.Alert(ctx, id)
	if err != nil {
		return a, err
	}
	b, err := alert.Acknowledge(a, "qz-gov", "已受理", a.OpenedAt.Add(49*time.Hour))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.Store.SaveAlert(ctx, b, a.Version); err != nil {
		s.t.Fatal(err)
	}
	return a, nil
}

func TestEscalateLocalLostRace(t *testing.T) {
	ls := newLocalStack(t, escT0)
	a := ls.open(t, escHousing, rules.WageArrears, rules.Yellow)
	h := NewEscalate(ls.deps(t, "escalate"))
	h.Alerts = ackingStore{ls.store, t}
	ls.clock.t = escT0.Add(49 * time.Hour)
	got, err := h.Handle(t.Context(), EscalateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (EscalateResult{AsOf: ls.clock.t, Candidates: 1, Skipped: 1}); got != want {
		t.Errorf("result %+v, want %+v", got, want)
	}
	stored, err := ls.store.Alert(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Escalated || stored.Status != alert.Acknowledged {
		t.Errorf("stored: escalated %v status %s; the acknowledgement must win the race", stored.Escalated, stored.Status)
	}
	// The deliveries went out before the save lost (see Escalate.one): the
	// city was told of an escalation the department's acknowledgement
	// overtook by a moment. The next run finds nothing to do.
	if n := len(ls.notified(t)); n != 2 {
		t.Errorf("%d deliveries, want the 2 sent before the save", n)
	}
	h.Alerts = ls.store
	ls.clock.t = ls.clock.t.Add(15 * time.Minute)
	if got, err := h.Handle(t.Context(), EscalateInput{}); err != nil || got.Candidates != 0 {
		t.Errorf("next run: %+v, %v; want no candidates", got, err)
	}
}
