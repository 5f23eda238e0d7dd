package alert

import (
	"sort"
	"strconv"
	"time"

	"github.com/wagewatch/wagewatch/shared/rules"
)

// ChangeKind says what Plan does to an alert.
type ChangeKind string

// The three kinds of change an evaluation makes.
const (
	// Opened: a new alert (Seq 0, ID empty: the store assigns them).
	Opened ChangeKind = "opened"
	// Updated: workers, amount, period or severity changed.
	Updated ChangeKind = "updated"
	// AutoResolved: the rule no longer fires (动态清零, resolution auto).
	AutoResolved ChangeKind = "resolved"
)

// Change is one alert change planned by an evaluation.
type Change struct {
	Kind ChangeKind
	// Before is the current alert (nil for Opened).
	Before *Alert
	After  Alert
	// Notify is true when the recipients are told: an opening, a
	// resolution, and an update that raises the severity (rules.md "A raised
	// severity notifies the recipients again; a resolution notifies them
	// that the warning is cleared").
	Notify bool
}

type key struct {
	project string
	rule    rules.Rule
}

// Plan compares a project's current alerts (open or acknowledged; others are
// ignored) with the findings of one evaluation at now and returns the
// changes, sorted by project then rule:
//   - a finding with no current alert opens one;
//   - a finding with a current alert updates it when workers, amount, period
//     or severity differ, and changes nothing otherwise;
//   - a current alert without a finding is resolved automatically.
//
// Alerts and findings are matched by (project, rule). Should current hold
// two alerts of one (project, rule) — which the store's head item prevents —
// the one with the greater Seq is kept and the others are resolved
// automatically too. Of two findings of one (project, rule) the first counts.
func Plan(current []Alert, findings []rules.Finding, now time.Time) []Change {
	var changes []Change
	cur := map[key]Alert{}
	for _, a := range current {
		if !a.Current() {
			continue
		}
		k := key{a.ProjectID, a.Rule}
		old, ok := cur[k]
		if !ok {
			cur[k] = a
			continue
		}
		if a.Seq > old.Seq || (a.Seq == old.Seq && a.OpenedAt.After(old.OpenedAt)) {
			old, a = a, old
		}
		cur[k] = old
		changes = append(changes, resolveAuto(a, now, "duplicate of "+alertName(old)))
	}
	seen := map[key]bool{}
	for _, f := range findings {
		k := key{f.ProjectID, f.Rule}
		if seen[k] {
			continue
		}
		seen[k] = true
		a, ok := cur[k]
		if !ok {
			changes = append(changes, open(f, now))
			continue
		}
		if c, ok := update(a, f, now); ok {
			changes = append(changes, c)
		}
	}
	for k, a := range cur {
		if !seen[k] {
			changes = append(changes, resolveAuto(a, now, ""))
		}
	}
	sort.SliceStable(changes, func(i, j int) bool {
		a, b := changes[i].After, changes[j].After
		if a.ProjectID != b.ProjectID {
			return a.ProjectID < b.ProjectID
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Seq < b.Seq
	})
	return changes
}

func alertName(a Alert) string {
	if a.ID != "" {
		return a.ID
	}
	return a.ProjectID + ":" + string(a.Rule) + ":" + strconv.Itoa(a.Seq)
}

func open(f rules.Finding, now time.Time) Change {
	a := Alert{
		ProjectID: f.ProjectID,
		Rule:      f.Rule,
		Status:    Open,
		Severity:  f.Severity,
		Workers:   f.Workers,
		Amount:    f.Amount,
		Period:    f.Period,
		OpenedAt:  now,
	}
	a.record(Event{At: now, Kind: EventOpened, Actor: System})
	return Change{Kind: Opened, After: a, Notify: true}
}

// fieldChanges lists what differs between the alert and the finding.
func fieldChanges(a Alert, f rules.Finding) map[string][2]string {
	ch := map[string][2]string{}
	if a.Workers != f.Workers {
		ch["workers"] = [2]string{strconv.Itoa(a.Workers), strconv.Itoa(f.Workers)}
	}
	if a.Amount != f.Amount {
		ch["amount"] = [2]string{a.Amount.String(), f.Amount.String()}
	}
	if a.Period != f.Period {
		ch["period"] = [2]string{a.Period.String(), f.Period.String()}
	}
	if a.Severity != f.Severity {
		ch["severity"] = [2]string{string(a.Severity), string(f.Severity)}
	}
	return ch
}

func update(a Alert, f rules.Finding, now time.Time) (Change, bool) {
	ch := fieldChanges(a, f)
	if len(ch) == 0 {
		return Change{}, false
	}
	before := a.clone()
	after := a.clone()
	after.Workers, after.Amount, after.Period, after.Severity = f.Workers, f.Amount, f.Period, f.Severity
	after.record(Event{At: now, Kind: EventUpdated, Actor: System, Changes: ch})
	return Change{
		Kind:   Updated,
		Before: &before,
		After:  after,
		Notify: f.Severity.Rank() > a.Severity.Rank(),
	}, true
}

func resolveAuto(a Alert, now time.Time, note string) Change {
	before := a.clone()
	after := a.clone()
	after.Status = Resolved
	after.ResolvedAt = &now
	after.Resolution = ResolutionAuto
	after.record(Event{
		At: now, Kind: EventResolved, Actor: System, Note: note,
		Changes: map[string][2]string{"status": {string(a.Status), string(Resolved)}},
	})
	return Change{Kind: AutoResolved, Before: &before, After: after, Notify: true}
}
