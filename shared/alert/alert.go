// Package alert is the alert lifecycle of rules.md ("Alert lifecycle") as
// pure functions: Plan turns a project's current alerts and the rules'
// findings into changes (open, update, automatic resolution — 动态清零), and
// Acknowledge, Resolve and Escalate are the transitions departments and the
// escalator make. Every change is recorded on the alert's timeline with who
// made it and when. Nothing here reads a clock or a table: the caller passes
// the moment and stores the result (the store assigns Seq and ID).
package alert

import (
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/rules"
)

// Status is an alert's status: open → acknowledged → resolved.
type Status string

// The three statuses.
const (
	Open         Status = "open"
	Acknowledged Status = "acknowledged"
	Resolved     Status = "resolved"
)

// Resolutions: how an alert was resolved.
const (
	ResolutionAuto   = "auto"   // the rule no longer fires (动态清零)
	ResolutionManual = "manual" // a department resolved it (结果回访)
)

// System is the actor of changes the product makes itself.
const System = "system"

// Timeline event kinds.
const (
	EventOpened       = "opened"
	EventUpdated      = "updated"
	EventAcknowledged = "acknowledged"
	EventResolved     = "resolved"
	EventEscalated    = "escalated"
)

// Alert is one warning for one (project, rule), from its opening to its
// resolution. A later firing of the same rule opens a new alert (next Seq).
type Alert struct {
	ID         string         `json:"id"`
	ProjectID  string         `json:"project_id"`
	Rule       rules.Rule     `json:"rule"`
	Seq        int            `json:"seq"`
	Status     Status         `json:"status"`
	Severity   rules.Severity `json:"severity"`
	Workers    int            `json:"workers"`
	Amount     money.Fen      `json:"amount"`
	Period     day.Month      `json:"period"`
	Recipients []string       `json:"recipients"`
	OpenedAt   time.Time      `json:"opened_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	// AcknowledgedAt and ResolvedAt are nil until it happens.
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	// Resolution is ResolutionAuto or ResolutionManual once resolved.
	Resolution string `json:"resolution,omitempty"`
	// Escalated is true once the alert was also sent to the city.
	Escalated bool    `json:"escalated"`
	Timeline  []Event `json:"timeline"`
	// Version is the store's optimistic-locking counter. The functions of
	// this package leave it as they find it.
	Version int `json:"version"`
}

// Event is one entry of an alert's timeline.
type Event struct {
	At time.Time `json:"at"`
	// Kind is one of the Event* constants.
	Kind string `json:"kind"`
	// Actor is System or a dept_id.
	Actor string `json:"actor"`
	Note  string `json:"note,omitempty"`
	// Changes maps a field (workers, amount, period, severity, status,
	// escalated) to its value before and after.
	Changes map[string][2]string `json:"changes,omitempty"`
}

// Current reports whether the alert is open or acknowledged.
func (a Alert) Current() bool { return a.Status == Open || a.Status == Acknowledged }

// clone returns a copy of a whose slices and pointers are not shared with a.
func (a Alert) clone() Alert {
	b := a
	b.Recipients = append([]string(nil), a.Recipients...)
	b.Timeline = append([]Event(nil), a.Timeline...)
	if a.AcknowledgedAt != nil {
		t := *a.AcknowledgedAt
		b.AcknowledgedAt = &t
	}
	if a.ResolvedAt != nil {
		t := *a.ResolvedAt
		b.ResolvedAt = &t
	}
	return b
}

func (a *Alert) record(e Event) {
	a.UpdatedAt = e.At
	a.Timeline = append(a.Timeline, e)
}
