package alert

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/rules"
)

func TestTransitions(t *testing.T) {
	wa := finding(rules.WageArrears, 2, 676000, "2026-10", rules.Yellow)
	escalated := stored(wa, 1, Open)
	escalated.Escalated = true
	resolvedAuto := resolveAuto(stored(wa, 1, Open), t0.Add(time.Hour), "").After
	bogus := stored(wa, 1, "closed")

	type op func(a Alert) (Alert, error)
	ack := func(dept, note string) op {
		return func(a Alert) (Alert, error) { return Acknowledge(a, dept, note, now) }
	}
	res := func(dept, note string) op {
		return func(a Alert) (Alert, error) { return Resolve(a, dept, note, now) }
	}
	esc := func(a Alert) (Alert, error) { return Escalate(a, now) }

	tests := []struct {
		name    string
		from    Alert
		op      op
		code    string // "" for success
		status  Status
		event   Event
		checkFn func(t *testing.T, a Alert)
	}{
		{name: "acknowledge open", from: stored(wa, 1, Open), op: ack("qz-housing", "已约谈总包单位"), status: Acknowledged,
			event: Event{At: now, Kind: EventAcknowledged, Actor: "qz-housing", Note: "已约谈总包单位", Changes: map[string][2]string{"status": {"open", "acknowledged"}}},
			checkFn: func(t *testing.T, a Alert) {
				if a.AcknowledgedAt == nil || !a.AcknowledgedAt.Equal(now) {
					t.Errorf("AcknowledgedAt = %v", a.AcknowledgedAt)
				}
			}},
		{name: "acknowledge acknowledged", from: stored(wa, 1, Acknowledged), op: ack("qz-gov", "again"), code: EConflict},
		{name: "acknowledge resolved", from: resolvedAuto, op: ack("qz-gov", "late"), code: EConflict},
		{name: "acknowledge without department", from: stored(wa, 1, Open), op: ack(" ", "note"), code: EInvalid},
		{name: "acknowledge without note", from: stored(wa, 1, Open), op: ack("qz-gov", "  "), code: EInvalid},
		{name: "acknowledge unknown status", from: bogus, op: ack("qz-gov", "note"), code: EInternal},
		{name: "resolve open", from: stored(wa, 1, Open), op: res("qz-gov", "工资已补发，结果回访"), status: Resolved,
			event: Event{At: now, Kind: EventResolved, Actor: "qz-gov", Note: "工资已补发，结果回访", Changes: map[string][2]string{"status": {"open", "resolved"}}},
			checkFn: func(t *testing.T, a Alert) {
				if a.Resolution != ResolutionManual || a.ResolvedAt == nil || !a.ResolvedAt.Equal(now) {
					t.Errorf("resolution = %q at %v", a.Resolution, a.ResolvedAt)
				}
			}},
		{name: "resolve acknowledged", from: stored(wa, 1, Acknowledged), op: res("qz-housing", "已回访"), status: Resolved,
			event: Event{At: now, Kind: EventResolved, Actor: "qz-housing", Note: "已回访", Changes: map[string][2]string{"status": {"acknowledged", "resolved"}}},
			checkFn: func(t *testing.T, a Alert) {
				if a.AcknowledgedAt == nil {
					t.Error("resolution dropped AcknowledgedAt")
				}
			}},
		{name: "resolve resolved", from: resolvedAuto, op: res("qz-gov", "again"), code: EConflict},
		{name: "resolve without note", from: stored(wa, 1, Open), op: res("qz-gov", ""), code: EInvalid},
		{name: "resolve without department", from: stored(wa, 1, Open), op: res("", "note"), code: EInvalid},
		{name: "escalate open", from: stored(wa, 1, Open), op: esc, status: Open,
			event: Event{At: now, Kind: EventEscalated, Actor: System, Changes: map[string][2]string{"escalated": {"false", "true"}}},
			checkFn: func(t *testing.T, a Alert) {
				if !a.Escalated {
					t.Error("not escalated")
				}
			}},
		{name: "escalate acknowledged", from: stored(wa, 1, Acknowledged), op: esc, status: Acknowledged,
			event: Event{At: now, Kind: EventEscalated, Actor: System, Changes: map[string][2]string{"escalated": {"false", "true"}}}},
		{name: "escalate escalated", from: escalated, op: esc, code: EConflict},
		{name: "escalate resolved", from: resolvedAuto, op: esc, code: EConflict},
		{name: "escalate unknown status", from: bogus, op: esc, code: EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.from.clone()
			got, err := tt.op(tt.from)
			if !reflect.DeepEqual(before, tt.from) {
				t.Error("transition modified its input")
			}
			if tt.code != "" {
				if ErrorCode(err) != tt.code {
					t.Fatalf("error = %v (code %q), want code %q", err, ErrorCode(err), tt.code)
				}
				if !reflect.DeepEqual(got, tt.from) {
					t.Error("failed transition changed the alert")
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if got.Status != tt.status {
				t.Errorf("status = %s, want %s", got.Status, tt.status)
			}
			if !got.UpdatedAt.Equal(now) {
				t.Errorf("UpdatedAt = %v", got.UpdatedAt)
			}
			if len(got.Timeline) != len(tt.from.Timeline)+1 {
				t.Fatalf("timeline %d → %d events", len(tt.from.Timeline), len(got.Timeline))
			}
			if last := got.Timeline[len(got.Timeline)-1]; !reflect.DeepEqual(last, tt.event) {
				t.Errorf("event = %+v\nwant    %+v", last, tt.event)
			}
			if got.ID != tt.from.ID || got.Version != tt.from.Version || got.Severity != tt.from.Severity {
				t.Errorf("identity changed: %+v", got)
			}
			if tt.checkFn != nil {
				tt.checkFn(t, got)
			}
		})
	}
}

func TestNeedsEscalation(t *testing.T) {
	wa := finding(rules.WageArrears, 2, 676000, "2026-10", rules.Yellow)
	red := finding(rules.WageArrears, 2, 676000, "2026-10", rules.Red)
	after := 48 * time.Hour
	ackAt := func(a Alert, d time.Duration) Alert {
		at := a.OpenedAt.Add(d)
		a.Status, a.AcknowledgedAt = Acknowledged, &at
		return a
	}
	esc := stored(wa, 1, Open)
	esc.Escalated = true
	resolved := resolveAuto(stored(red, 1, Open), t0, "").After
	tests := []struct {
		name string
		a    Alert
		at   time.Duration // since opening
		want bool
	}{
		{"open, 47h59m", stored(wa, 1, Open), after - time.Minute, false},
		{"open, exactly 48h", stored(wa, 1, Open), after, true},
		{"open, 49h", stored(wa, 1, Open), after + time.Hour, true},
		{"acknowledged within 48h", ackAt(stored(wa, 1, Open), time.Hour), after + time.Hour, false},
		{"acknowledged at 48h exactly", ackAt(stored(wa, 1, Open), after), after + time.Hour, false},
		{"acknowledged after 48h, not yet escalated", ackAt(stored(wa, 1, Open), after+time.Minute), after + time.Hour, true},
		{"red at once", stored(red, 1, Open), 0, true},
		{"red acknowledged", ackAt(stored(red, 1, Open), time.Minute), time.Hour, true},
		{"already escalated", esc, after * 2, false},
		{"resolved", resolved, after * 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsEscalation(tt.a, tt.a.OpenedAt.Add(tt.at), after); got != tt.want {
				t.Errorf("NeedsEscalation = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	conflict := Errorf(EConflict, "alert %s is already resolved", "P1:wage_arrears:1")
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"nil", nil, "", ""},
		{"alert error", conflict, EConflict, "alert P1:wage_arrears:1 is already resolved"},
		{"wrapped", fmt.Errorf("acknowledge: %w", conflict), EConflict, "alert P1:wage_arrears:1 is already resolved"},
		{"other", errors.New("dynamodb: throttled"), EInternal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := ErrorMessage(tt.err); got != tt.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
	if conflict.Error() != "alert conflict: alert P1:wage_arrears:1 is already resolved" {
		t.Errorf("Error() = %q", conflict.Error())
	}
}
