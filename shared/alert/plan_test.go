package alert

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/rules"
)

var (
	t0  = time.Date(2026, 11, 20, 9, 0, 0, 0, day.Shanghai)
	now = t0.Add(24 * time.Hour)
)

func month(s string) day.Month {
	m, err := day.ParseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

func finding(rule rules.Rule, workers int, fen int64, period string, sev rules.Severity) rules.Finding {
	return rules.Finding{Rule: rule, ProjectID: "P1", Workers: workers, Amount: money.Fen(fen), Period: month(period), Severity: sev}
}

// stored is an alert as the store returns it: opened at t0 from f.
func stored(f rules.Finding, seq int, st Status) Alert {
	a := open(f, t0).After
	a.Seq, a.ID, a.Status = seq, fmt.Sprintf("P1:%s:%d", f.Rule, seq), st
	a.Recipients = []string{"qz-housing", "qz-gov"}
	a.Version = 3
	if st == Acknowledged {
		at := t0.Add(time.Hour)
		a.AcknowledgedAt = &at
	}
	return a
}

// wantChange is an expected change; changes are those expected on the
// alert's new timeline event.
type wantChange struct {
	kind    ChangeKind
	rule    rules.Rule
	notify  bool
	changes map[string][2]string
}

func TestPlan(t *testing.T) {
	wa := finding(rules.WageArrears, 2, 676000, "2026-10", rules.Yellow)
	pr := finding(rules.PaymentReturned, 1, 576000, "2026-11", rules.Orange)
	tests := []struct {
		name     string
		current  []Alert
		findings []rules.Finding
		want     []wantChange
	}{
		{name: "nothing current, nothing fires"},
		{name: "fires, none current: opened", findings: []rules.Finding{wa, pr},
			want: []wantChange{{Opened, rules.PaymentReturned, true, nil}, {Opened, rules.WageArrears, true, nil}}},
		{name: "fires unchanged: nothing", current: []Alert{stored(wa, 1, Open)}, findings: []rules.Finding{wa}},
		{name: "fires unchanged while acknowledged: nothing", current: []Alert{stored(wa, 1, Acknowledged)}, findings: []rules.Finding{wa}},
		{name: "amount and workers change", current: []Alert{stored(wa, 1, Open)},
			findings: []rules.Finding{finding(rules.WageArrears, 3, 900000, "2026-10", rules.Yellow)},
			want:     []wantChange{{Updated, rules.WageArrears, false, map[string][2]string{"workers": {"2", "3"}, "amount": {"6760.00", "9000.00"}}}}},
		{name: "severity raised notifies", current: []Alert{stored(wa, 1, Acknowledged)},
			findings: []rules.Finding{finding(rules.WageArrears, 2, 676000, "2026-10", rules.Orange)},
			want:     []wantChange{{Updated, rules.WageArrears, true, map[string][2]string{"severity": {"yellow", "orange"}}}}},
		{name: "severity lowered and period moved does not notify", current: []Alert{stored(finding(rules.WageArrears, 2, 676000, "2026-09", rules.Red), 1, Open)},
			findings: []rules.Finding{wa},
			want:     []wantChange{{Updated, rules.WageArrears, false, map[string][2]string{"severity": {"red", "yellow"}, "period": {"2026-09", "2026-10"}}}}},
		{name: "no longer fires: resolved auto", current: []Alert{stored(wa, 1, Acknowledged), stored(pr, 1, Open)}, findings: []rules.Finding{pr},
			want: []wantChange{{AutoResolved, rules.WageArrears, true, map[string][2]string{"status": {"acknowledged", "resolved"}}}}},
		{name: "resolved alerts in current are ignored: a new one opens", current: []Alert{stored(wa, 1, Resolved)}, findings: []rules.Finding{wa},
			want: []wantChange{{Opened, rules.WageArrears, true, nil}}},
		{name: "two current of one rule: older resolved", current: []Alert{stored(wa, 2, Open), stored(wa, 1, Open)}, findings: []rules.Finding{wa},
			want: []wantChange{{AutoResolved, rules.WageArrears, true, map[string][2]string{"status": {"open", "resolved"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			curCopy := make([]Alert, len(tt.current))
			for i, a := range tt.current {
				curCopy[i] = a.clone()
			}
			got := Plan(tt.current, tt.findings, now)
			if !reflect.DeepEqual(curCopy, tt.current) && len(tt.current) > 0 {
				t.Error("Plan modified its input")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Plan gave %d changes, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				c := got[i]
				if c.Kind != w.kind || c.After.Rule != w.rule || c.Notify != w.notify {
					t.Errorf("change %d = %s %s notify=%v, want %s %s notify=%v", i, c.Kind, c.After.Rule, c.Notify, w.kind, w.rule, w.notify)
				}
				if !c.After.UpdatedAt.Equal(now) {
					t.Errorf("change %d UpdatedAt = %v, want %v", i, c.After.UpdatedAt, now)
				}
				last := c.After.Timeline[len(c.After.Timeline)-1]
				if !last.At.Equal(now) || last.Actor != System || last.Kind != string(w.kind) {
					t.Errorf("change %d last event = %+v", i, last)
				}
				if !reflect.DeepEqual(last.Changes, w.changes) {
					t.Errorf("change %d event changes = %v, want %v", i, last.Changes, w.changes)
				}
				switch c.Kind {
				case Opened:
					if c.Before != nil || c.After.Status != Open || c.After.Seq != 0 || c.After.ID != "" || !c.After.OpenedAt.Equal(now) || len(c.After.Timeline) != 1 {
						t.Errorf("opened alert = %+v", c.After)
					}
				case Updated:
					if c.Before == nil || c.Before.Status != c.After.Status || c.After.ID != c.Before.ID || c.After.Version != c.Before.Version {
						t.Errorf("updated alert lost identity or status: %+v → %+v", c.Before, c.After)
					}
					if len(c.After.Timeline) != len(c.Before.Timeline)+1 {
						t.Errorf("timeline %d → %d events", len(c.Before.Timeline), len(c.After.Timeline))
					}
				case AutoResolved:
					if c.Before == nil || c.After.Status != Resolved || c.After.Resolution != ResolutionAuto || c.After.ResolvedAt == nil || !c.After.ResolvedAt.Equal(now) {
						t.Errorf("resolved alert = %+v", c.After)
					}
				}
			}
		})
	}
}

func TestPlanOpenedCarriesFinding(t *testing.T) {
	f := finding(rules.BalanceInsufficient, 3, 662000, "2026-10", rules.Blue)
	got := Plan(nil, []rules.Finding{f}, now)
	if len(got) != 1 {
		t.Fatalf("got %d changes", len(got))
	}
	a := got[0].After
	if a.ProjectID != "P1" || a.Rule != f.Rule || a.Workers != 3 || a.Amount != 662000 || a.Period != f.Period || a.Severity != rules.Blue {
		t.Errorf("opened alert = %+v, want the finding %+v", a, f)
	}
}

func TestPlanUpdateDoesNotAlias(t *testing.T) {
	a := stored(finding(rules.WageArrears, 2, 676000, "2026-10", rules.Yellow), 1, Open)
	a.Timeline = append(make([]Event, 0, 10), a.Timeline...) // spare capacity
	got := Plan([]Alert{a}, []rules.Finding{finding(rules.WageArrears, 2, 100, "2026-10", rules.Yellow)}, now)
	if len(got) != 1 {
		t.Fatalf("got %d changes", len(got))
	}
	got[0].After.Recipients[0] = "changed"
	got[0].After.Timeline[0].Note = "changed"
	if a.Recipients[0] == "changed" || a.Timeline[0].Note == "changed" || got[0].Before.Timeline[0].Note == "changed" {
		t.Error("After shares memory with the current alert")
	}
}
