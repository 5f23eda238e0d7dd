package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/route"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/store"
)

// snapshotReader reads what the rules need of one project, with Queries.
type snapshotReader interface {
	Project(ctx context.Context, id string) (registry.Project, bool, error)
	Roster(ctx context.Context, projectID string) ([]registry.Enrolment, error)
	Attendance(ctx context.Context, projectID string) (map[string][]day.Date, error)
	Account(ctx context.Context, account string) ([]ledger.Entry, []ledger.Balance, error)
	Departments(ctx context.Context) ([]registry.Department, error)
	ClearReevaluation(ctx context.Context, projectID string) error
}

// alertStore keeps alerts.
type alertStore interface {
	CurrentAlerts(ctx context.Context, project string) ([]alert.Alert, error)
	ReserveAlert(ctx context.Context, project string, rule rules.Rule) (int, error)
	PutNewAlert(ctx context.Context, a alert.Alert) error
	SaveAlert(ctx context.Context, a alert.Alert, readVersion int) error
}

// Evaluate is the evaluate function: read one project's snapshot, apply the
// rules as of the message's moment, and turn the findings into alert changes
// (open, update, auto-resolve), each change that notifies becoming one
// message per recipient on the notify queue.
type Evaluate struct {
	Data   snapshotReader
	Alerts alertStore
	Notify sender
	Rules  rules.Config
	Now    func() time.Time
	Log    *slog.Logger
}

// Handle handles one batch of evaluate messages.
func (h *Evaluate) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := logger(ctx, h.Log)
	return eachMessage(ctx, log, ev, func(ctx context.Context, m events.SQSMessage) error {
		var msg EvaluateMessage
		if err := json.Unmarshal([]byte(m.Body), &msg); err != nil {
			return fmt.Errorf("decode evaluate message %s: %w", m.MessageId, err)
		}
		return h.Project(ctx, log, msg)
	}), nil
}

// Project evaluates one project.
func (h *Evaluate) Project(ctx context.Context, log *slog.Logger, msg EvaluateMessage) error {
	t := msg.AsOf
	if t.IsZero() {
		t = h.Now()
	}
	if msg.Reason == "change" {
		if err := h.Data.ClearReevaluation(ctx, msg.ProjectID); err != nil {
			return err
		}
	}
	p, ok, err := h.Data.Project(ctx, msg.ProjectID)
	if err != nil {
		return err
	}
	if !ok {
		log.WarnContext(ctx, "evaluate: project not registered", "project_id", msg.ProjectID)
		return nil
	}
	snap := rules.Snapshot{Project: p}
	if snap.Roster, err = h.Data.Roster(ctx, p.ID); err != nil {
		return err
	}
	if snap.Attendance, err = h.Data.Attendance(ctx, p.ID); err != nil {
		return err
	}
	if p.WageAccount != "" {
		if snap.Entries, snap.Balances, err = h.Data.Account(ctx, p.WageAccount); err != nil {
			return err
		}
	}
	findings := rules.Evaluate(snap, t, h.Rules)
	current, err := h.Alerts.CurrentAlerts(ctx, p.ID)
	if err != nil {
		return err
	}
	changes := alert.Plan(current, findings, t)
	if len(changes) == 0 {
		return nil
	}
	depts, err := h.Data.Departments(ctx)
	if err != nil {
		return err
	}
	tree := route.Build(depts)
	for _, c := range changes {
		a, err := h.apply(ctx, p, tree, c)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "alert "+string(c.Kind), "alert_id", a.ID, "rule", string(a.Rule),
			"severity", string(a.Severity), "workers", a.Workers, "amount", a.Amount.String(), "period", a.Period.String())
	}
	return nil
}

// apply stores one change. The deliveries of a change that notifies are
// queued before the change is saved, under ids that only the change fixes
// (alert id, timeline length, recipient): a crash in between makes the
// redelivered evaluation plan the same change again and queue the same ids,
// which notify sends once. Saving first could lose them for good.
func (h *Evaluate) apply(ctx context.Context, p registry.Project, tree *route.Tree, c alert.Change) (alert.Alert, error) {
	a := c.After
	a.Recipients = union(a.Recipients, tree.Recipients(p.CountyCode, p.Sector, string(a.Severity), a.Escalated))
	if c.Kind == alert.Opened {
		seq, err := h.Alerts.ReserveAlert(ctx, a.ProjectID, a.Rule)
		if err != nil {
			return a, fmt.Errorf("evaluate %s: %w", p.ID, err)
		}
		a.Seq, a.ID = seq, store.AlertID(a.ProjectID, a.Rule, seq)
		if err := h.notifyChange(ctx, p, tree, a, c); err != nil {
			return a, err
		}
		return a, h.Alerts.PutNewAlert(ctx, a)
	}
	if c.Before == nil {
		return a, fmt.Errorf("evaluate %s: %s change without the alert it changes", p.ID, c.Kind)
	}
	if err := h.notifyChange(ctx, p, tree, a, c); err != nil {
		return a, err
	}
	return a, h.Alerts.SaveAlert(ctx, a, c.Before.Version)
}

func (h *Evaluate) notifyChange(ctx context.Context, p registry.Project, tree *route.Tree, a alert.Alert, c alert.Change) error {
	if !c.Notify {
		return nil
	}
	return h.notify(ctx, p, tree, a, string(c.Kind))
}

// notify sends one delivery per recipient of the alert's latest change.
func (h *Evaluate) notify(ctx context.Context, p registry.Project, tree *route.Tree, a alert.Alert, change string) error {
	msgs, err := deliveryMessages(p, tree, a, change, a.Recipients)
	if err != nil {
		return err
	}
	return h.Notify.Send(ctx, msgs)
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range [][]string{a, b} {
		for _, v := range l {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sortStrings(out)
	return out
}
