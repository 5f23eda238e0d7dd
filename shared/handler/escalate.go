package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/route"
	"github.com/wagewatch/wagewatch/shared/store"
)

// escalationStore finds and saves the alerts the escalator looks at.
type escalationStore interface {
	UnacknowledgedSince(ctx context.Context, cutoff time.Time) ([]alert.Alert, error)
	Alert(ctx context.Context, id string) (alert.Alert, error)
	SaveAlert(ctx context.Context, a alert.Alert, readVersion int) error
}

// routingReader reads what routing needs: the project (county, sector) and
// the departments.
type routingReader interface {
	Project(ctx context.Context, id string) (registry.Project, bool, error)
	Departments(ctx context.Context) ([]registry.Department, error)
}

// EscalateInput is the scheduler's payload. AsOf, when set, is the moment
// the escalator judges by (a scenario run, a replay); otherwise it is the
// invocation's moment.
type EscalateInput struct {
	AsOf time.Time `json:"as_of,omitzero"`
}

// EscalateResult says what one run did.
type EscalateResult struct {
	AsOf time.Time `json:"as_of"`
	// Candidates is how many alerts the unacknowledged index returned.
	Candidates int `json:"candidates"`
	// Escalated is how many alerts were escalated (and saved).
	Escalated int `json:"escalated"`
	// Deliveries is how many notify messages were sent.
	Deliveries int `json:"deliveries"`
	// Skipped is how many candidates were left alone: acknowledged or
	// changed meanwhile, no longer due, or lost a race (the next run
	// retries those still due).
	Skipped int `json:"skipped"`
}

// Escalate is the escalate function (every 15 minutes): an alert open and
// unacknowledged longer than escalate_after_hours is also sent to the
// city-level departments of its sector and gov (rules.md "Routing and
// escalation"), once per alert. It finds the candidates through the store's
// sparse UNACK index, which holds only open, unescalated alerts: an
// acknowledged alert leaves it (acknowledging stops escalation) and so does
// an escalated one (once per alert).
type Escalate struct {
	Alerts        escalationStore
	Registry      routingReader
	Notify        sender
	EscalateAfter time.Duration
	Now           func() time.Time
	Log           *slog.Logger
}

// NewEscalate wires the escalate function.
func NewEscalate(d *Deps) *Escalate {
	return &Escalate{Alerts: d.Store, Registry: d.Store, Notify: d.queue(d.Env.NotifyQueue),
		EscalateAfter: time.Duration(d.Env.Rules.EscalateAfterHours) * time.Hour, Now: d.Now, Log: d.Log}
}

// Handle runs one escalation pass. An error on one alert does not stop the
// others; the run then reports the first error, after the rest are done.
func (h *Escalate) Handle(ctx context.Context, in EscalateInput) (EscalateResult, error) {
	log := logger(ctx, h.Log)
	res := EscalateResult{AsOf: in.AsOf}
	if res.AsOf.IsZero() {
		res.AsOf = h.Now()
	}
	// The index compares opening times as text, strictly before the cutoff,
	// and RFC 3339 text without trailing zeros does not sort like time
	// within a second; a second's margin takes in every alert that is due
	// (one opened exactly escalate_after_hours ago included), and
	// dueForEscalation judges each one exactly.
	cutoff := res.AsOf.Add(-h.EscalateAfter).Add(time.Second)
	candidates, err := h.Alerts.UnacknowledgedSince(ctx, cutoff)
	if err != nil {
		return res, fmt.Errorf("escalate as of %s: %w", res.AsOf.Format(time.RFC3339), err)
	}
	res.Candidates = len(candidates)
	if len(candidates) == 0 {
		return res, nil
	}
	depts, err := h.Registry.Departments(ctx)
	if err != nil {
		return res, fmt.Errorf("escalate as of %s: %w", res.AsOf.Format(time.RFC3339), err)
	}
	tree := route.Build(depts)
	projects := map[string]projectLookup{}
	var firstErr error
	for _, c := range candidates {
		n, done, err := h.one(ctx, log, tree, projects, c.ID, res.AsOf)
		switch {
		case err != nil:
			log.ErrorContext(ctx, "escalate: alert failed", "alert_id", c.ID, "err", err.Error())
			if firstErr == nil {
				firstErr = err
			}
		case done:
			res.Escalated++
			res.Deliveries += n
		default:
			res.Skipped++
		}
	}
	log.InfoContext(ctx, "escalate done", "as_of", res.AsOf.Format(time.RFC3339), "candidates", res.Candidates,
		"escalated", res.Escalated, "deliveries", res.Deliveries, "skipped", res.Skipped)
	if firstErr != nil {
		return res, fmt.Errorf("escalate as of %s: %w", res.AsOf.Format(time.RFC3339), firstErr)
	}
	return res, nil
}

type projectLookup struct {
	p  registry.Project
	ok bool
}

// one escalates one candidate. It reports the deliveries it sent and whether
// it escalated the alert.
//
// The index is read eventually consistently, so the alert is read again
// (consistently) and judged again before anything is done. The deliveries
// are sent before the alert is saved: their ids are a pure function of the
// alert and its escalated change, so if the save then loses a race, the run
// that escalates it later either sends the same ids (which notify does not
// deliver twice) or, when the alert changed meanwhile, tells the new
// recipients again. Saving first instead could lose the deliveries for
// good: a saved escalated alert leaves the index, and no run finds it again.
func (h *Escalate) one(ctx context.Context, log *slog.Logger, tree *route.Tree, projects map[string]projectLookup, id string, asOf time.Time) (int, bool, error) {
	a, err := h.Alerts.Alert(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if !dueForEscalation(a, asOf, h.EscalateAfter) {
		return 0, false, nil
	}
	pl, seen := projects[a.ProjectID]
	if !seen {
		pl.p, pl.ok, err = h.Registry.Project(ctx, a.ProjectID)
		if err != nil {
			return 0, false, err
		}
		projects[a.ProjectID] = pl
	}
	if !pl.ok {
		log.WarnContext(ctx, "escalate: project not registered", "alert_id", a.ID, "project_id", a.ProjectID)
		return 0, false, nil
	}
	b, added, err := escalateAlert(a, pl.p, tree, asOf)
	if err != nil {
		return 0, false, err
	}
	msgs, err := deliveryMessages(pl.p, tree, b, notify.ChangeEscalated, added)
	if err != nil {
		return 0, false, err
	}
	if err := h.Notify.Send(ctx, msgs); err != nil {
		return 0, false, fmt.Errorf("escalate %s: %w", a.ID, err)
	}
	if err := h.Alerts.SaveAlert(ctx, b, a.Version); err != nil {
		if errors.Is(err, store.ErrConflict) {
			log.InfoContext(ctx, "escalate: alert changed meanwhile, next run retries", "alert_id", a.ID)
			return 0, false, nil
		}
		return 0, false, err
	}
	log.InfoContext(ctx, "alert escalated", "alert_id", b.ID, "rule", string(b.Rule),
		"severity", string(b.Severity), "added", len(added), "deliveries", len(msgs))
	return len(msgs), true, nil
}

// dueForEscalation reports whether the escalator must escalate a now: the
// escalator's part of alert.NeedsEscalation. It takes only open alerts (an
// acknowledgement stops escalation, whenever it came) that are not yet
// escalated and were opened at least `after` ago; a red alert reaches the
// city through routing already and is escalated here only once its window
// has passed, like any other.
func dueForEscalation(a alert.Alert, now time.Time, after time.Duration) bool {
	return a.Status == alert.Open && !now.Before(a.OpenedAt.Add(after)) && alert.NeedsEscalation(a, now, after)
}

// escalateAlert escalates a and adds the recipients routing gives an
// escalated alert of p. It returns the escalated alert and the recipients it
// did not have before, sorted.
func escalateAlert(a alert.Alert, p registry.Project, tree *route.Tree, now time.Time) (alert.Alert, []string, error) {
	b, err := alert.Escalate(a, now)
	if err != nil {
		return a, nil, fmt.Errorf("escalate %s: %w", a.ID, err)
	}
	routed := tree.Recipients(p.CountyCode, p.Sector, string(b.Severity), true)
	b.Recipients = union(b.Recipients, routed)
	return b, newRecipients(a.Recipients, b.Recipients), nil
}

// newRecipients returns the ids of after that are not in before, sorted.
func newRecipients(before, after []string) []string {
	var out []string
	for _, id := range after {
		if !slices.Contains(before, id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// deliveryMessages builds one notify message per recipient (department id)
// for the alert's latest change: the change number is the length of its
// timeline, so that a delivery's id is stable across retries. Recipients the
// tree does not know (a department removed since) are left out.
//
// Evaluate builds the same deliveries for all of an alert's recipients; it
// could call this with a.Recipients.
func deliveryMessages(p registry.Project, tree *route.Tree, a alert.Alert, change string, recipients []string) ([]queue.Message, error) {
	seq := len(a.Timeline)
	msgs := make([]queue.Message, 0, len(recipients))
	for _, id := range recipients {
		dept, ok := tree.Department(id)
		if !ok {
			continue
		}
		d := notify.Delivery{
			ID: notify.DeliveryID(a.ID, seq, id), AlertID: a.ID, Seq: seq, ProjectID: p.ID, ProjectName: p.Name,
			CountyCode: p.CountyCode, Sector: string(p.Sector), Rule: string(a.Rule), RuleChinese: a.Rule.Chinese(),
			Change: change, Status: string(a.Status), Severity: string(a.Severity), Period: a.Period.String(),
			Workers: a.Workers, Amount: a.Amount, At: a.UpdatedAt, OpenedAt: a.OpenedAt,
			Recipient: notify.Recipient{DeptID: dept.ID, Name: dept.Name, SMS: dept.SMS, WebhookURL: dept.WebhookURL},
		}
		body, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode delivery %s: %w", d.ID, err)
		}
		msgs = append(msgs, queue.Message{Body: string(body)})
	}
	return msgs, nil
}
