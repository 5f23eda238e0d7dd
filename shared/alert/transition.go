package alert

import (
	"strconv"
	"strings"
	"time"

	"github.com/wagewatch/wagewatch/shared/rules"
)

// checkActor validates the department and note of a manual transition.
// Whether dept may act on the alert (is one of its recipients, or a city
// department after escalation) is the caller's check: routing knows it.
func checkActor(dept, note string) error {
	if strings.TrimSpace(dept) == "" {
		return Errorf(EInvalid, "a department is required")
	}
	if strings.TrimSpace(note) == "" {
		return Errorf(EInvalid, "a note is required")
	}
	return nil
}

func checkStatus(a Alert) error {
	switch a.Status {
	case Open, Acknowledged, Resolved:
		return nil
	}
	return Errorf(EInternal, "alert %s has unknown status %q", alertName(a), a.Status)
}

// Acknowledge records that department dept has taken up the open alert,
// with a note. Only an open alert can be acknowledged.
func Acknowledge(a Alert, dept, note string, now time.Time) (Alert, error) {
	if err := checkStatus(a); err != nil {
		return a, err
	}
	if err := checkActor(dept, note); err != nil {
		return a, err
	}
	if a.Status != Open {
		return a, Errorf(EConflict, "alert %s is %s, only an open alert can be acknowledged", alertName(a), a.Status)
	}
	b := a.clone()
	b.Status = Acknowledged
	b.AcknowledgedAt = &now
	b.record(Event{
		At: now, Kind: EventAcknowledged, Actor: dept, Note: note,
		Changes: map[string][2]string{"status": {string(Open), string(Acknowledged)}},
	})
	return b, nil
}

// Resolve records that department dept has resolved the alert by hand after
// following it up (结果回访), with a note. An open or acknowledged alert can
// be resolved; a resolved one cannot.
func Resolve(a Alert, dept, note string, now time.Time) (Alert, error) {
	if err := checkStatus(a); err != nil {
		return a, err
	}
	if err := checkActor(dept, note); err != nil {
		return a, err
	}
	if a.Status == Resolved {
		return a, Errorf(EConflict, "alert %s is already resolved", alertName(a))
	}
	b := a.clone()
	b.Status = Resolved
	b.ResolvedAt = &now
	b.Resolution = ResolutionManual
	b.record(Event{
		At: now, Kind: EventResolved, Actor: dept, Note: note,
		Changes: map[string][2]string{"status": {string(a.Status), string(Resolved)}},
	})
	return b, nil
}

// Escalate records that the alert was also sent to the city-level
// departments. A resolved or already escalated alert cannot be escalated.
// NeedsEscalation says when to call it.
func Escalate(a Alert, now time.Time) (Alert, error) {
	if err := checkStatus(a); err != nil {
		return a, err
	}
	if a.Status == Resolved {
		return a, Errorf(EConflict, "alert %s is resolved and cannot be escalated", alertName(a))
	}
	if a.Escalated {
		return a, Errorf(EConflict, "alert %s is already escalated", alertName(a))
	}
	b := a.clone()
	b.Escalated = true
	b.record(Event{
		At: now, Kind: EventEscalated, Actor: System,
		Changes: map[string][2]string{"escalated": {strconv.FormatBool(false), strconv.FormatBool(true)}},
	})
	return b, nil
}

// NeedsEscalation reports whether the alert must now go to the city as well
// (rules.md "Routing and escalation"): it is open or acknowledged, not yet
// escalated, and either red, or not acknowledged within `after` of opening
// (escalate_after_hours). Choice: the window is closed at exactly `after`
// (an alert unacknowledged at 48:00:00 is escalated), and an acknowledgement
// that came later than the window does not cancel the escalation.
func NeedsEscalation(a Alert, now time.Time, after time.Duration) bool {
	if !a.Current() || a.Escalated {
		return false
	}
	if a.Severity == rules.Red {
		return true
	}
	deadline := a.OpenedAt.Add(after)
	if now.Before(deadline) {
		return false
	}
	return a.AcknowledgedAt == nil || a.AcknowledgedAt.After(deadline)
}
