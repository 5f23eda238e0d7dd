package handler

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/route"
	"github.com/wagewatch/wagewatch/shared/rules"
)

// escDepts are the departments of the escalation and API tests: county
// 620502 has housing and gov departments, county 620503 only gov; the city
// has housing, water and gov.
var escDepts = []registry.Department{
	{ID: "qz-housing", Name: "秦州区住房和城乡建设局", Level: registry.County, CountyCode: "620502", Sector: registry.Housing, SMS: []string{"13800000001"}},
	{ID: "qz-gov", Name: "秦州区治欠办", Level: registry.County, CountyCode: "620502", Sector: registry.Gov, WebhookURL: "http://127.0.0.1:9099/hook/qz-gov"},
	{ID: "mj-gov", Name: "麦积区治欠办", Level: registry.County, CountyCode: "620503", Sector: registry.Gov},
	{ID: "city-housing", Name: "天水市住房和城乡建设局", Level: registry.City, Sector: registry.Housing, SMS: []string{"13800000002", "13800000003"}},
	{ID: "city-water", Name: "天水市水务局", Level: registry.City, Sector: registry.Water},
	{ID: "city-gov", Name: "天水市治欠办", Level: registry.City, Sector: registry.Gov, WebhookURL: "http://127.0.0.1:9099/hook/city-gov"},
}

var (
	escHousing = registry.Project{ID: "P-HOUSING", Name: "秦州安置房一期", CountyCode: "620502", Sector: registry.Housing, Status: registry.Active}
	escWater   = registry.Project{ID: "P-WATER", Name: "麦积供水改造", CountyCode: "620503", Sector: registry.Water, Status: registry.Active}
)

// escT0 is when the test alerts open.
var escT0 = time.Date(2025, 3, 10, 9, 0, 0, 0, day.Shanghai)

// openedAlert returns an alert of p opened at t through alert.Plan, routed
// as evaluate routes it, with the id the store would give it.
func openedAlert(t *testing.T, p registry.Project, rule rules.Rule, sev rules.Severity, at time.Time) alert.Alert {
	t.Helper()
	changes := alert.Plan(nil, []rules.Finding{{
		Rule: rule, ProjectID: p.ID, Workers: 3, Amount: money.Fen(1234500), Period: day.MonthOf(2025, time.January), Severity: sev,
	}}, at)
	if len(changes) != 1 || changes[0].Kind != alert.Opened {
		t.Fatalf("plan: want one opening, got %+v", changes)
	}
	a := changes[0].After
	a.Recipients = route.Build(escDepts).Recipients(p.CountyCode, p.Sector, string(sev), false)
	a.Seq, a.ID = 1, p.ID+":"+string(rule)+":1"
	return a
}

func TestDueForEscalation(t *testing.T) {
	after := 48 * time.Hour
	ack := func(a alert.Alert, at time.Time) alert.Alert {
		b, err := alert.Acknowledge(a, "qz-housing", "已受理", at)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	yellow := openedAlert(t, escHousing, rules.WageArrears, rules.Yellow, escT0)
	red := openedAlert(t, escHousing, rules.WageArrears, rules.Red, escT0)
	escalated, err := alert.Escalate(yellow, escT0.Add(49*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := alert.Resolve(yellow, "qz-gov", "已回访", escT0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a    alert.Alert
		now  time.Time
		want bool
	}{
		{"open 47h", yellow, escT0.Add(47 * time.Hour), false},
		{"open 47h59m59s", yellow, escT0.Add(after - time.Second), false},
		{"open exactly 48h", yellow, escT0.Add(after), true},
		{"open 49h", yellow, escT0.Add(49 * time.Hour), true},
		{"acknowledged within the window", ack(yellow, escT0.Add(time.Hour)), escT0.Add(49 * time.Hour), false},
		{"acknowledged after the window, before the run", ack(yellow, escT0.Add(48*time.Hour+time.Minute)), escT0.Add(48*time.Hour + 2*time.Minute), false},
		{"escalated already", escalated, escT0.Add(72 * time.Hour), false},
		{"resolved", resolved, escT0.Add(72 * time.Hour), false},
		{"red 1h: routing sent it to the city already", red, escT0.Add(time.Hour), false},
		{"red 49h", red, escT0.Add(49 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dueForEscalation(tt.a, tt.now, after); got != tt.want {
				t.Errorf("dueForEscalation = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEscalateAlertRecipients(t *testing.T) {
	tree := route.Build(escDepts)
	now := escT0.Add(49 * time.Hour)
	tests := []struct {
		name      string
		p         registry.Project
		sev       rules.Severity
		before    []string // the recipients routing gave the opened alert
		wantAll   []string
		wantAdded []string
	}{
		{"county with the sector", escHousing, rules.Yellow,
			[]string{"qz-gov", "qz-housing"},
			[]string{"city-gov", "city-housing", "qz-gov", "qz-housing"},
			[]string{"city-gov", "city-housing"}},
		{"county without the sector: the city's sector department was a recipient already", escWater, rules.Orange,
			[]string{"city-water", "mj-gov"},
			[]string{"city-gov", "city-water", "mj-gov"},
			[]string{"city-gov"}},
		{"red: the city was a recipient already", escHousing, rules.Red,
			[]string{"city-gov", "city-housing", "qz-gov", "qz-housing"},
			[]string{"city-gov", "city-housing", "qz-gov", "qz-housing"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := openedAlert(t, tt.p, rules.WageArrears, tt.sev, escT0)
			if !reflect.DeepEqual(a.Recipients, tt.before) {
				t.Fatalf("routing gave %v, want %v", a.Recipients, tt.before)
			}
			b, added, err := escalateAlert(a, tt.p, tree, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.Recipients, tt.wantAll) {
				t.Errorf("recipients %v, want %v", b.Recipients, tt.wantAll)
			}
			if !reflect.DeepEqual(added, tt.wantAdded) {
				t.Errorf("added %v, want %v", added, tt.wantAdded)
			}
			if !b.Escalated || a.Escalated {
				t.Errorf("escalated: before %v after %v, want false then true", a.Escalated, b.Escalated)
			}
			last := b.Timeline[len(b.Timeline)-1]
			if last.Kind != alert.EventEscalated || last.Actor != alert.System || !last.At.Equal(now) {
				t.Errorf("last timeline event %+v, want escalated by system at %v", last, now)
			}
			if len(a.Timeline) != 1 {
				t.Errorf("the original alert's timeline changed: %+v", a.Timeline)
			}
			if _, _, err := escalateAlert(b, tt.p, tree, now); alert.ErrorCode(err) != alert.EConflict {
				t.Errorf("escalating twice: error %v, want a conflict", err)
			}
		})
	}
}

func TestNewRecipients(t *testing.T) {
	tests := []struct {
		before, after, want []string
	}{
		{nil, []string{"b", "a"}, []string{"a", "b"}},
		{[]string{"a"}, []string{"a", "b", "b"}, []string{"b"}},
		{[]string{"a", "b"}, []string{"a", "b"}, nil},
		{[]string{"a", "c"}, []string{"a"}, nil},
	}
	for _, tt := range tests {
		if got := newRecipients(tt.before, tt.after); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("newRecipients(%v, %v) = %v, want %v", tt.before, tt.after, got, tt.want)
		}
	}
}

func TestDeliveryMessages(t *testing.T) {
	tree := route.Build(escDepts)
	now := escT0.Add(49 * time.Hour)
	a := openedAlert(t, escHousing, rules.WageArrears, rules.Yellow, escT0)
	b, added, err := escalateAlert(a, escHousing, tree, now)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := deliveryMessages(escHousing, tree, b, notify.ChangeEscalated, append(added, "gone-dept"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2 (an unknown department is left out)", len(msgs))
	}
	want := []notify.Delivery{
		{ID: "P-HOUSING:wage_arrears:1/2/city-gov", Recipient: notify.Recipient{DeptID: "city-gov", Name: "天水市治欠办", WebhookURL: "http://127.0.0.1:9099/hook/city-gov"}},
		{ID: "P-HOUSING:wage_arrears:1/2/city-housing", Recipient: notify.Recipient{DeptID: "city-housing", Name: "天水市住房和城乡建设局", SMS: []string{"13800000002", "13800000003"}}},
	}
	for i, m := range msgs {
		var d notify.Delivery
		if err := json.Unmarshal([]byte(m.Body), &d); err != nil {
			t.Fatal(err)
		}
		w := want[i]
		w.AlertID, w.ProjectID, w.ProjectName, w.CountyCode, w.Sector = a.ID, escHousing.ID, escHousing.Name, "620502", "housing"
		w.Seq = len(b.Timeline) // the escalation is the alert's last change
		w.Rule, w.RuleChinese, w.Change, w.Status, w.Severity = "wage_arrears", "未按时足额支付工资", "escalated", "open", "yellow"
		w.Period, w.Workers, w.Amount = "2025-01", 3, money.Fen(1234500)
		if !d.At.Equal(now) || !d.OpenedAt.Equal(escT0) {
			t.Errorf("message %d: at %v opened %v, want %v and %v", i, d.At, d.OpenedAt, now, escT0)
		}
		d.At, d.OpenedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(d, w) {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, d, w)
		}
		if m.Delay != 0 {
			t.Errorf("message %d delayed %v", i, m.Delay)
		}
	}
	again, err := deliveryMessages(escHousing, tree, b, notify.ChangeEscalated, added)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, msgs) {
		t.Error("building the deliveries again gave other messages: delivery ids must be stable across retries")
	}
}
