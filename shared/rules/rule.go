// Package rules evaluates the seven warning rules of rules.md over one
// project's Snapshot at a moment T: the registry row, the roster, the
// attendance days and the wage-account ledger in, a sorted list of Findings
// out. It is pure: no clock, no I/O, no AWS. The alert lifecycle that turns
// findings into alerts lives in package alert.
package rules

import (
	"fmt"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
)

// Rule names one warning rule; its string is the rule's key in alerts and
// alert lines.
type Rule string

// The seven rules of rules.md.
const (
	WageArrears         Rule = "wage_arrears"
	LaborCostShort      Rule = "labor_cost_short"
	BalanceInsufficient Rule = "balance_insufficient"
	FeedMissing         Rule = "feed_missing"
	AttendanceMissing   Rule = "attendance_missing"
	PaymentReturned     Rule = "payment_returned"
	PayeeNotEnrolled    Rule = "payee_not_enrolled"
)

var all = []Rule{
	WageArrears,
	LaborCostShort,
	BalanceInsufficient,
	FeedMissing,
	AttendanceMissing,
	PaymentReturned,
	PayeeNotEnrolled,
}

var chinese = map[Rule]string{
	WageArrears:         "未按时足额支付工资",
	LaborCostShort:      "人工费用拨付不足",
	BalanceInsufficient: "专户余额不足",
	FeedMissing:         "专户未开设或未报送",
	AttendanceMissing:   "实名制考勤缺失",
	PaymentReturned:     "工资退票未重发",
	PayeeNotEnrolled:    "工资发放对象不在册",
}

// All returns the seven rules in the order of rules.md's table. The slice is
// a fresh copy.
func All() []Rule { return append([]Rule(nil), all...) }

// Chinese returns the rule's Chinese name as rules.md gives it, or "" for an
// unknown rule.
func (r Rule) Chinese() string { return chinese[r] }

// Valid reports whether r is one of the seven rules.
func (r Rule) Valid() bool { _, ok := chinese[r]; return ok }

// ParseRule reads a rule name.
func ParseRule(s string) (Rule, error) {
	r := Rule(s)
	if !r.Valid() {
		return "", fmt.Errorf("rule %q: unknown", s)
	}
	return r, nil
}

// Severity is an alert's severity: blue < yellow < orange < red.
type Severity string

// The four severities of rules.md, lowest first.
const (
	Blue   Severity = "blue"
	Yellow Severity = "yellow"
	Orange Severity = "orange"
	Red    Severity = "red"
)

// Rank orders severities: blue 1, yellow 2, orange 3, red 4; 0 for an
// unknown severity.
func (s Severity) Rank() int {
	switch s {
	case Blue:
		return 1
	case Yellow:
		return 2
	case Orange:
		return 3
	case Red:
		return 4
	}
	return 0
}

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool { return s.Rank() > 0 }

// Config holds the thresholds of rules.md that a city's configuration (and a
// scenario's rules: block) may change.
type Config struct {
	// BalanceLookaheadDays: balance_insufficient looks at paydays in
	// [D, D+BalanceLookaheadDays].
	BalanceLookaheadDays int
	// FeedMissingDays: feed_missing fires after more than this many days
	// without a booking or balance.
	FeedMissingDays int
	// AttendanceMissingDays: attendance_missing fires after more than this
	// many days without attendance.
	AttendanceMissingDays int
	// ReturnRepayDays: payment_returned fires when a return is older than
	// this many days and not re-paid.
	ReturnRepayDays int
	// EscalateAfterHours: an alert nobody acknowledged this many hours after
	// opening goes to the city (used by package alert and the escalator).
	EscalateAfterHours int
}

// DefaultConfig returns the defaults of rules.md: 5, 10, 7, 3 days and 48
// hours.
func DefaultConfig() Config {
	return Config{
		BalanceLookaheadDays:  5,
		FeedMissingDays:       10,
		AttendanceMissingDays: 7,
		ReturnRepayDays:       3,
		EscalateAfterHours:    48,
	}
}

// Validate reports a threshold that makes no sense (negative).
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"balance_lookahead_days", c.BalanceLookaheadDays},
		{"feed_missing_days", c.FeedMissingDays},
		{"attendance_missing_days", c.AttendanceMissingDays},
		{"return_repay_days", c.ReturnRepayDays},
		{"escalate_after_hours", c.EscalateAfterHours},
	} {
		if f.v < 0 {
			return fmt.Errorf("rules config %s = %d: must not be negative", f.name, f.v)
		}
	}
	return nil
}

// Finding is one rule firing for one project at the moment of evaluation.
type Finding struct {
	Rule      Rule      `json:"rule"`
	ProjectID string    `json:"project_id"`
	Workers   int       `json:"workers"`
	Amount    money.Fen `json:"amount"`
	Period    day.Month `json:"period"`
	Severity  Severity  `json:"severity"`
}
