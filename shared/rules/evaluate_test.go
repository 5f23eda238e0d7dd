package rules

import (
	"fmt"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/registry"
)

// Builders. Hashes are plain labels: the rules only compare them.

func dt(s string) day.Date {
	d, err := day.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

func mo(s string) day.Month {
	m, err := day.ParseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

func yuan(n int64) money.Fen { return money.Fen(n * 100) }

// at is 09:00 in Shanghai on date s.
func at(s string) time.Time { return dt(s).Time().Add(9 * time.Hour) }

// run returns n consecutive dates from s.
func run(s string, n int) []day.Date {
	var ds []day.Date
	for i := 0; i < n; i++ {
		ds = append(ds, dt(s).AddDays(i))
	}
	return ds
}

func enrol(id string, wage int64, enrolled string) registry.Enrolment {
	return registry.Enrolment{ProjectID: "P1", IDHash: id, CardHash: "card-" + id, DailyWage: yuan(wage), EnrolledOn: dt(enrolled)}
}

var refSeq int

func entry(date string, dir ledger.Direction, kind ledger.Kind, amt int64, cp, e2e, orig string) ledger.Entry {
	refSeq++
	return ledger.Entry{
		Account: "A1", BankRef: fmt.Sprintf("R%04d", refSeq), BookingDate: dt(date), Direction: dir,
		Amount: yuan(amt), Currency: "CNY", Kind: kind, CounterpartyHash: cp, EndToEndID: e2e, OriginalRef: orig,
	}
}

// pay is a payroll debit to the card of worker id.
func pay(date, id string, amt int64, e2e string) ledger.Entry {
	return entry(date, ledger.Debit, ledger.Payroll, amt, "card-"+id, e2e, "")
}

func ret(date, id string, amt int64, orig string) ledger.Entry {
	return entry(date, ledger.Credit, ledger.Return, amt, "card-"+id, orig, orig)
}

func dep(date string, amt int64) ledger.Entry {
	return entry(date, ledger.Credit, ledger.Deposit, amt, "builder", "", "")
}

func fee(date string, amt int64) ledger.Entry {
	return entry(date, ledger.Debit, ledger.Fee, amt, "", "", "")
}

func bal(date string, amt int64, order string) ledger.Balance {
	return ledger.Balance{Account: "A1", Date: dt(date), Amount: yuan(amt), Currency: "CNY", Order: order}
}

// base is an active project, payday 15, with worker A (300/day) who worked
// ten days of October 2026 (expected 3000.00), nothing paid or deposited.
func base() Snapshot {
	return Snapshot{
		Project: registry.Project{ID: "P1", Status: registry.Active, StartDate: dt("2026-09-01"), WageAccount: "A1", Payday: 15},
		Roster:  []registry.Enrolment{enrol("A", 300, "2026-10-01")},
		Attendance: map[string][]day.Date{
			"A": run("2026-10-05", 10),
		},
	}
}

type ruleCase struct {
	name string
	mod  func(s *Snapshot)
	cfg  func(c *Config)
	at   string
	want *Finding // nil: the rule does not fire
}

func find(fs []Finding, r Rule) (Finding, bool) {
	for _, f := range fs {
		if f.Rule == r {
			return f, true
		}
	}
	return Finding{}, false
}

func fd(workers int, amount int64, period string, sev Severity) *Finding {
	return &Finding{ProjectID: "P1", Workers: workers, Amount: yuan(amount), Period: mo(period), Severity: sev}
}

func runRule(t *testing.T, rule Rule, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			if tc.mod != nil {
				tc.mod(&s)
			}
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			got, ok := find(Evaluate(s, at(tc.at), cfg), rule)
			switch {
			case tc.want == nil && ok:
				t.Fatalf("%s fired: %+v", rule, got)
			case tc.want != nil && !ok:
				t.Fatalf("%s did not fire, want %+v", rule, *tc.want)
			case tc.want != nil:
				w := *tc.want
				w.Rule = rule
				if got != w {
					t.Fatalf("%s = %+v\nwant  %+v", rule, got, w)
				}
			}
		})
	}
}

func addEntries(es ...ledger.Entry) func(*Snapshot) {
	return func(s *Snapshot) { s.Entries = append(s.Entries, es...) }
}

func TestWageArrears(t *testing.T) {
	runRule(t, WageArrears, []ruleCase{
		{name: "payday itself is not late", at: "2026-11-15"},
		{name: "day after payday is late", at: "2026-11-16", want: fd(1, 3000, "2026-10", Yellow)},
		{name: "15 days overdue yellow", at: "2026-11-30", want: fd(1, 3000, "2026-10", Yellow)},
		{name: "16 days overdue orange", at: "2026-12-01", want: fd(1, 3000, "2026-10", Orange)},
		{name: "30 days overdue orange", at: "2026-12-15", want: fd(1, 3000, "2026-10", Orange)},
		{name: "31 days overdue red", at: "2026-12-16", want: fd(1, 3000, "2026-10", Red)},
		{name: "paid in full", at: "2026-11-20", mod: addEntries(pay("2026-11-14", "A", 3000, "E1"))},
		{name: "short-paid", at: "2026-11-20", mod: addEntries(pay("2026-11-14", "A", 2500, "E1")),
			want: fd(1, 500, "2026-10", Yellow)},
		{name: "payment booked after D does not count", at: "2026-11-20", mod: addEntries(pay("2026-11-21", "A", 3000, "E1")),
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "attendance after D does not count", at: "2026-11-16",
			mod:  func(s *Snapshot) { s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-17", 5)...) },
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "repeated dates count once", at: "2026-11-16",
			mod:  func(s *Snapshot) { s.Attendance["A"] = append(s.Attendance["A"], run("2026-10-05", 3)...) },
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "advance before the month is due offsets it", at: "2026-12-16",
			// Oct 3000 + Nov 3000 due, 5000 paid on 11-05: Oct covered, Nov short.
			mod: func(s *Snapshot) {
				s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-02", 10)...)
				s.Entries = append(s.Entries, pay("2026-11-05", "A", 5000, "E1"))
			},
			want: fd(1, 1000, "2026-11", Yellow)},
		{name: "overpayment of October covers November", at: "2026-12-20",
			mod: func(s *Snapshot) {
				s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-02", 10)...)
				s.Entries = append(s.Entries, pay("2026-11-10", "A", 4000, "E1"), pay("2026-12-10", "A", 2000, "E2"))
			}},
		{name: "not-yet-due month is not owed", at: "2026-11-20",
			mod: func(s *Snapshot) {
				s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-02", 10)...)
				s.Entries = append(s.Entries, pay("2026-11-10", "A", 3000, "E1"))
			}},
		{name: "returned payment is not paid", at: "2026-11-20",
			mod:  addEntries(pay("2026-11-14", "A", 3000, "E1"), ret("2026-11-16", "A", 3000, "E1")),
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "returned and re-paid", at: "2026-11-20",
			mod: addEntries(pay("2026-11-14", "A", 3000, "E1"), ret("2026-11-16", "A", 3000, "E1"), pay("2026-11-18", "A", 3000, "E2"))},
		{name: "re-payment reusing the end-to-end id is not cancelled", at: "2026-11-20",
			mod: addEntries(pay("2026-11-14", "A", 3000, "E1"), ret("2026-11-16", "A", 3000, "E1"), pay("2026-11-18", "A", 3000, "E1"))},
		{name: "return dated before the payment cancels nothing", at: "2026-11-20",
			mod: addEntries(ret("2026-11-10", "A", 3000, "E1"), pay("2026-11-14", "A", 3000, "E1"))},
		{name: "return booked after D cancels nothing yet", at: "2026-11-20",
			mod: addEntries(pay("2026-11-14", "A", 3000, "E1"), ret("2026-11-21", "A", 3000, "E1"))},
		{name: "payment to another account does not pay", at: "2026-11-20",
			mod:  addEntries(entry("2026-11-14", ledger.Debit, ledger.Payroll, 3000, "card-boss", "E1", "")),
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "completed project is evaluated", at: "2026-11-20",
			mod:  func(s *Snapshot) { s.Project.Status = registry.Completed },
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "suspended project is evaluated", at: "2026-11-20",
			mod:  func(s *Snapshot) { s.Project.Status = registry.Suspended },
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "past worker is still owed", at: "2026-11-20",
			mod:  func(s *Snapshot) { s.Roster[0].LeftOn, s.Roster[0].HasLeft = dt("2026-10-20"), true },
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "worker without attendance expects nothing", at: "2026-11-20",
			mod: func(s *Snapshot) {
				s.Roster = append(s.Roster, enrol("B", 200, "2026-10-01"))
				s.Entries = append(s.Entries, pay("2026-11-14", "A", 3000, "E1"))
			}},
		{name: "oldest month over all workers sets period and severity", at: "2026-12-16",
			// A: Oct paid, Nov unpaid. B: Oct unpaid (31 days overdue → red).
			mod: func(s *Snapshot) {
				s.Roster = append(s.Roster, enrol("B", 200, "2026-10-01"))
				s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-02", 10)...)
				s.Attendance["B"] = run("2026-10-05", 10)
				s.Entries = append(s.Entries, pay("2026-11-14", "A", 3000, "E1"))
			},
			want: fd(2, 5000, "2026-10", Red)},
		{name: "worker on two projects with two cards", at: "2026-11-20",
			// A's card on the other project is card-A2: a payment to it on
			// this project's account pays nothing here.
			mod: func(s *Snapshot) {
				s.Entries = append(s.Entries, entry("2026-11-14", ledger.Debit, ledger.Payroll, 3000, "card-A2", "E1", ""))
			},
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "payday 1 and 28", at: "2026-11-02",
			mod:  func(s *Snapshot) { s.Project.Payday = 1 },
			want: fd(1, 3000, "2026-10", Yellow)},
		{name: "payday 28 not yet", at: "2026-11-28",
			mod: func(s *Snapshot) { s.Project.Payday = 28 }},
	})
}

func TestWageArrearsShanghaiDate(t *testing.T) {
	// 2026-11-15T16:30Z is 2026-11-16 00:30 in Shanghai: the day after payday.
	s := base()
	fs := Evaluate(s, time.Date(2026, 11, 15, 16, 30, 0, 0, time.UTC), DefaultConfig())
	if f, ok := find(fs, WageArrears); !ok || f.Severity != Yellow {
		t.Fatalf("wage_arrears at 2026-11-16 00:30 CST = %+v, %v; want yellow", f, ok)
	}
	fs = Evaluate(s, time.Date(2026, 11, 15, 15, 59, 0, 0, time.UTC), DefaultConfig())
	if f, ok := find(fs, WageArrears); ok {
		t.Fatalf("wage_arrears fired on payday (23:59 CST): %+v", f)
	}
}

func TestLaborCostShort(t *testing.T) {
	runRule(t, LaborCostShort, []ruleCase{
		{name: "payday itself is not due", at: "2026-11-15"},
		{name: "nothing deposited", at: "2026-11-16", want: fd(0, 3000, "2026-10", Orange)},
		{name: "deposit short", at: "2026-11-16", mod: addEntries(dep("2026-10-20", 2000)), want: fd(0, 1000, "2026-10", Orange)},
		{name: "deposit exactly enough", at: "2026-11-16", mod: addEntries(dep("2026-10-20", 3000))},
		{name: "deposit after D does not count", at: "2026-11-16", mod: addEntries(dep("2026-11-17", 3000)), want: fd(0, 3000, "2026-10", Orange)},
		{name: "a return is no deposit", at: "2026-11-16",
			mod:  addEntries(dep("2026-10-20", 2000), pay("2026-11-10", "A", 1000, "E1"), ret("2026-11-12", "A", 1000, "E1")),
			want: fd(0, 1000, "2026-10", Orange)},
		{name: "30 days overdue orange", at: "2026-12-15", want: fd(0, 3000, "2026-10", Orange)},
		{name: "31 days overdue red", at: "2026-12-16", want: fd(0, 3000, "2026-10", Red)},
		{name: "oldest month not covered", at: "2026-12-16",
			mod: func(s *Snapshot) {
				s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-02", 10)...)
				s.Entries = append(s.Entries, dep("2026-10-20", 3500))
			},
			want: fd(0, 2500, "2026-11", Orange)},
		{name: "completed project is evaluated", at: "2026-11-16",
			mod: func(s *Snapshot) { s.Project.Status = registry.Completed }, want: fd(0, 3000, "2026-10", Orange)},
	})
}

// balanceBase: payday 25; A 300 × 10 Oct days, B 200 × 10 Oct days; A was
// paid 1000. need(Oct) = 2000 + 2000 = 4000. Deposit 5000 − 1000 paid: the
// computed balance is exactly 4000.
func balanceBase(s *Snapshot) {
	s.Project.Payday = 25
	s.Roster = append(s.Roster, enrol("B", 200, "2026-10-01"))
	s.Attendance["B"] = run("2026-10-05", 10)
	s.Entries = append(s.Entries, dep("2026-10-10", 5000), pay("2026-11-10", "A", 1000, "E1"))
}

func then(fs ...func(*Snapshot)) func(*Snapshot) {
	return func(s *Snapshot) {
		for _, f := range fs {
			f(s)
		}
	}
}

func TestBalanceInsufficient(t *testing.T) {
	short := then(balanceBase, addEntries(fee("2026-11-14", 20)))
	runRule(t, BalanceInsufficient, []ruleCase{
		{name: "balance equals need", at: "2026-11-20", mod: balanceBase},
		{name: "computed balance short by a fee", at: "2026-11-20", mod: short, want: fd(2, 20, "2026-10", Blue)},
		{name: "payday exactly 5 days ahead", at: "2026-11-20", mod: short, want: fd(2, 20, "2026-10", Blue)},
		{name: "payday 6 days ahead", at: "2026-11-19", mod: short},
		{name: "lookahead overridden to 6", at: "2026-11-19", mod: short, cfg: func(c *Config) { c.BalanceLookaheadDays = 6 },
			want: fd(2, 20, "2026-10", Blue)},
		{name: "payday itself", at: "2026-11-25", mod: short, want: fd(2, 20, "2026-10", Blue)},
		{name: "day after payday", at: "2026-11-26", mod: short},
		{name: "reported balance plus later entries", at: "2026-11-20",
			mod: then(balanceBase, func(s *Snapshot) {
				s.Balances = append(s.Balances, bal("2026-11-12", 3500, "0001-000001"))
				s.Entries = append(s.Entries, dep("2026-11-15", 100), dep("2026-11-21", 900))
			}),
			want: fd(2, 400, "2026-10", Blue)},
		{name: "entries on the balance date are already in it", at: "2026-11-20",
			mod: then(balanceBase, func(s *Snapshot) {
				s.Balances = append(s.Balances, bal("2026-11-10", 3900, "0001-000001"))
			}),
			want: fd(2, 100, "2026-10", Blue)},
		{name: "same-date balances: read last wins", at: "2026-11-20",
			mod: then(balanceBase, func(s *Snapshot) {
				s.Balances = append(s.Balances, bal("2026-11-12", 9000, "0002-000001"), bal("2026-11-12", 3500, "0001-000009"))
			})},
		{name: "same-date balances: read last wins (short)", at: "2026-11-20",
			mod: then(balanceBase, func(s *Snapshot) {
				s.Balances = append(s.Balances, bal("2026-11-12", 3500, "0002-000001"), bal("2026-11-12", 9000, "0001-000009"))
			}),
			want: fd(2, 500, "2026-10", Blue)},
		{name: "later date wins over read order", at: "2026-11-20",
			mod: then(balanceBase, func(s *Snapshot) {
				s.Balances = append(s.Balances, bal("2026-11-13", 3000, "0001-000001"), bal("2026-11-12", 9000, "0009-000001"))
			}),
			want: fd(2, 1000, "2026-10", Blue)},
		{name: "balance dated after D is ignored", at: "2026-11-20",
			mod:  then(short, func(s *Snapshot) { s.Balances = append(s.Balances, bal("2026-11-21", 100000, "0001-000001")) }),
			want: fd(2, 20, "2026-10", Blue)},
		{name: "no balance ever reported and no entries", at: "2026-11-20",
			mod: func(s *Snapshot) { s.Project.Payday = 25 }, want: fd(1, 3000, "2026-10", Blue)},
		{name: "need counts earlier unpaid months", at: "2026-11-20",
			mod: then(balanceBase, func(s *Snapshot) {
				s.Attendance["B"] = append(s.Attendance["B"], run("2026-09-21", 5)...)
			}),
			want: fd(2, 1000, "2026-10", Blue)},
		{name: "fully paid worker has no share", at: "2026-11-20",
			mod: then(short, addEntries(pay("2026-11-12", "A", 2000, "E2"))), want: fd(1, 20, "2026-10", Blue)},
		{name: "suspended project is evaluated", at: "2026-11-20",
			mod: then(short, func(s *Snapshot) { s.Project.Status = registry.Suspended }), want: fd(2, 20, "2026-10", Blue)},
		{name: "completed project is not evaluated", at: "2026-11-20",
			mod: then(short, func(s *Snapshot) { s.Project.Status = registry.Completed })},
		{name: "earliest of several months", at: "2026-11-20",
			// Lookahead 40 days: U = Oct (11-25) and Nov (12-25) both in range.
			mod: then(short, func(s *Snapshot) { s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-02", 10)...) }),
			cfg: func(c *Config) { c.BalanceLookaheadDays = 40 }, want: fd(2, 20, "2026-10", Blue)},
		{name: "later month when the earlier one is covered", at: "2026-11-20",
			mod: then(balanceBase, func(s *Snapshot) { s.Attendance["A"] = append(s.Attendance["A"], run("2026-11-02", 10)...) }),
			cfg: func(c *Config) { c.BalanceLookaheadDays = 40 }, want: fd(2, 3000, "2026-11", Blue)},
	})
}

func TestFeedMissing(t *testing.T) {
	booked := addEntries(dep("2026-11-10", 100))
	runRule(t, FeedMissing, []ruleCase{
		{name: "10 days since last booking", at: "2026-11-20", mod: booked},
		{name: "11 days since last booking", at: "2026-11-21", mod: booked, want: fd(0, 0, "2026-11", Yellow)},
		{name: "threshold overridden to 3", at: "2026-11-14", mod: booked, cfg: func(c *Config) { c.FeedMissingDays = 3 },
			want: fd(0, 0, "2026-11", Yellow)},
		{name: "threshold overridden to 3, exactly 3 days", at: "2026-11-13", mod: booked, cfg: func(c *Config) { c.FeedMissingDays = 3 }},
		{name: "a later reported balance counts", at: "2026-11-22",
			mod: then(booked, func(s *Snapshot) { s.Balances = append(s.Balances, bal("2026-11-12", 100, "1")) })},
		{name: "entries after D do not count", at: "2026-11-21",
			mod: then(booked, addEntries(dep("2026-11-25", 100))), want: fd(0, 0, "2026-11", Yellow)},
		{name: "no wage account", at: "2026-09-02",
			mod: func(s *Snapshot) { s.Project.WageAccount = "" }, want: fd(0, 0, "2026-09", Yellow)},
		{name: "start date counts when nothing booked", at: "2026-11-25",
			mod: func(s *Snapshot) { s.Project.StartDate = dt("2026-11-15") }},
		{name: "start date plus 11", at: "2026-11-26",
			mod: func(s *Snapshot) { s.Project.StartDate = dt("2026-11-15") }, want: fd(0, 0, "2026-11", Yellow)},
		{name: "suspended project is not evaluated", at: "2026-12-20",
			mod: func(s *Snapshot) { s.Project.Status = registry.Suspended }},
		{name: "completed project is not evaluated", at: "2026-12-20",
			mod: func(s *Snapshot) { s.Project.Status = registry.Completed; s.Project.WageAccount = "" }},
	})
}

func TestAttendanceMissing(t *testing.T) {
	// base: A enrolled 2026-10-01, last attendance 2026-10-14.
	runRule(t, AttendanceMissing, []ruleCase{
		{name: "7 days since last attendance", at: "2026-10-21"},
		{name: "8 days since last attendance", at: "2026-10-22", want: fd(0, 0, "2026-10", Yellow)},
		{name: "threshold overridden to 10", at: "2026-10-24", cfg: func(c *Config) { c.AttendanceMissingDays = 10 }},
		{name: "threshold overridden to 10, one day beyond", at: "2026-10-25", cfg: func(c *Config) { c.AttendanceMissingDays = 10 },
			want: fd(0, 0, "2026-10", Yellow)},
		{name: "attendance after D does not count", at: "2026-10-22",
			mod:  func(s *Snapshot) { s.Attendance["A"] = append(s.Attendance["A"], dt("2026-10-25")) },
			want: fd(0, 0, "2026-10", Yellow)},
		{name: "past worker's attendance counts", at: "2026-10-22",
			mod: func(s *Snapshot) {
				s.Roster = append(s.Roster, enrol("B", 200, "2026-10-01"))
				s.Roster[1].LeftOn, s.Roster[1].HasLeft = dt("2026-10-20"), true
				s.Attendance["B"] = []day.Date{dt("2026-10-20")}
			}},
		{name: "worker who left on D is still enrolled", at: "2026-10-22",
			mod:  func(s *Snapshot) { s.Roster[0].LeftOn, s.Roster[0].HasLeft = dt("2026-10-22"), true },
			want: fd(0, 0, "2026-10", Yellow)},
		{name: "no worker enrolled at D (left)", at: "2026-10-22",
			mod: func(s *Snapshot) { s.Roster[0].LeftOn, s.Roster[0].HasLeft = dt("2026-10-21"), true }},
		{name: "no worker enrolled at D (not yet)", at: "2026-10-22",
			mod: func(s *Snapshot) { s.Roster[0].EnrolledOn = dt("2026-10-23") }},
		{name: "no attendance: start date counts", at: "2026-09-08",
			mod: func(s *Snapshot) { s.Roster[0].EnrolledOn = dt("2026-09-01"); s.Attendance = nil }},
		{name: "no attendance: start date plus 8", at: "2026-09-09",
			mod:  func(s *Snapshot) { s.Roster[0].EnrolledOn = dt("2026-09-01"); s.Attendance = nil },
			want: fd(0, 0, "2026-09", Yellow)},
		{name: "suspended project is not evaluated", at: "2026-11-20",
			mod: func(s *Snapshot) { s.Project.Status = registry.Suspended }},
		{name: "completed project is not evaluated", at: "2026-11-20",
			mod: func(s *Snapshot) { s.Project.Status = registry.Completed }},
	})
}

func TestPaymentReturned(t *testing.T) {
	returned := addEntries(pay("2026-11-13", "A", 3000, "E1"), ret("2026-11-16", "A", 3000, "E1"))
	runRule(t, PaymentReturned, []ruleCase{
		{name: "3 days after the return", at: "2026-11-19", mod: returned},
		{name: "4 days after the return", at: "2026-11-20", mod: returned, want: fd(1, 3000, "2026-11", Orange)},
		{name: "threshold overridden to 5", at: "2026-11-21", mod: returned, cfg: func(c *Config) { c.ReturnRepayDays = 5 }},
		{name: "threshold overridden to 5, one day beyond", at: "2026-11-22", mod: returned, cfg: func(c *Config) { c.ReturnRepayDays = 5 },
			want: fd(1, 3000, "2026-11", Orange)},
		{name: "re-paid after the return", at: "2026-11-25", mod: then(returned, addEntries(pay("2026-11-18", "A", 3000, "E2")))},
		{name: "paid the same day as the return is not after it", at: "2026-11-25",
			mod: then(returned, addEntries(pay("2026-11-16", "A", 3000, "E2"))), want: fd(1, 3000, "2026-11", Orange)},
		{name: "re-payment booked after D does not count", at: "2026-11-25",
			mod: then(returned, addEntries(pay("2026-11-26", "A", 3000, "E2"))), want: fd(1, 3000, "2026-11", Orange)},
		{name: "return booked after D", at: "2026-11-20",
			mod: addEntries(pay("2026-11-13", "A", 3000, "E1"), ret("2026-11-21", "A", 3000, "E1"))},
		{name: "return of an unknown reference", at: "2026-11-25",
			mod: addEntries(pay("2026-11-13", "A", 3000, "E1"), ret("2026-11-16", "A", 3000, "E9"))},
		{name: "return without reference", at: "2026-11-25",
			mod: addEntries(pay("2026-11-13", "A", 3000, ""), ret("2026-11-16", "A", 3000, ""))},
		{name: "two workers, oldest return sets the period", at: "2026-11-25",
			mod: then(returned, func(s *Snapshot) {
				s.Roster = append(s.Roster, enrol("B", 200, "2026-10-01"))
				s.Entries = append(s.Entries, pay("2026-10-20", "B", 1500, "E3"), ret("2026-10-28", "B", 1500, "E3"))
			}),
			want: fd(2, 4500, "2026-10", Orange)},
		{name: "two returns of one worker", at: "2026-11-25",
			mod:  then(returned, addEntries(pay("2026-11-13", "A", 500, "E4"), ret("2026-11-17", "A", 500, "E4"))),
			want: fd(1, 3500, "2026-11", Orange)},
		{name: "returned payment to a non-roster account", at: "2026-11-25",
			mod: addEntries(entry("2026-11-13", ledger.Debit, ledger.Payroll, 3000, "card-X", "E1", ""), ret("2026-11-16", "X", 3000, "E1"))},
		{name: "completed project is evaluated", at: "2026-11-20",
			mod: then(returned, func(s *Snapshot) { s.Project.Status = registry.Completed }), want: fd(1, 3000, "2026-11", Orange)},
	})
}

func TestPayeeNotEnrolled(t *testing.T) {
	x := func(date string, amt int64, cp string) ledger.Entry {
		return entry(date, ledger.Debit, ledger.Payroll, amt, cp, "EX"+date, "")
	}
	runRule(t, PayeeNotEnrolled, []ruleCase{
		{name: "roster card only", at: "2026-11-20", mod: addEntries(pay("2026-11-03", "A", 3000, "E1"))},
		{name: "unknown account", at: "2026-11-20", mod: addEntries(x("2026-11-03", 3000, "card-X")), want: fd(1, 3000, "2026-11", Yellow)},
		{name: "past worker's card is on the roster", at: "2026-11-20",
			mod: func(s *Snapshot) {
				s.Roster[0].LeftOn, s.Roster[0].HasLeft = dt("2026-10-20"), true
				s.Entries = append(s.Entries, pay("2026-11-03", "A", 3000, "E1"))
			}},
		{name: "returned debit still counts", at: "2026-11-20",
			mod: addEntries(x("2026-11-03", 3000, "card-X"), ret("2026-11-05", "X", 3000, "EX2026-11-03")), want: fd(1, 3000, "2026-11", Yellow)},
		{name: "same account twice", at: "2026-11-20",
			mod: addEntries(x("2026-10-03", 1000, "card-X"), x("2026-11-03", 3000, "card-X")), want: fd(1, 4000, "2026-11", Yellow)},
		{name: "two accounts, latest sets the period", at: "2026-12-20",
			mod: addEntries(x("2026-12-03", 1000, "card-Y"), x("2026-10-03", 3000, "card-X")), want: fd(2, 4000, "2026-12", Yellow)},
		{name: "debit after D does not count", at: "2026-11-20", mod: addEntries(x("2026-11-21", 3000, "card-X"))},
		{name: "deposit from another account is no payroll", at: "2026-11-20", mod: addEntries(dep("2026-11-03", 3000))},
		{name: "fee is no payroll", at: "2026-11-20", mod: addEntries(fee("2026-11-03", 20))},
		{name: "debit without counterparty account counts", at: "2026-11-20",
			mod: addEntries(x("2026-11-03", 3000, "")), want: fd(1, 3000, "2026-11", Yellow)},
		{name: "worker's card on another project", at: "2026-11-20",
			mod: addEntries(x("2026-11-03", 3000, "card-A2")), want: fd(1, 3000, "2026-11", Yellow)},
		{name: "suspended project is evaluated", at: "2026-11-20",
			mod:  then(addEntries(x("2026-11-03", 3000, "card-X")), func(s *Snapshot) { s.Project.Status = registry.Suspended }),
			want: fd(1, 3000, "2026-11", Yellow)},
	})
}

func TestEvaluateSortedAndComplete(t *testing.T) {
	// Every rule fires at once on one project.
	s := base()
	s.Project.Payday = 25
	s.Roster = append(s.Roster, enrol("B", 200, "2026-11-01"))
	s.Attendance["B"] = run("2026-11-01", 2)
	s.Entries = append(s.Entries,
		pay("2026-10-28", "A", 100, "E1"), ret("2026-10-30", "A", 100, "E1"),
		entry("2026-10-30", ledger.Debit, ledger.Payroll, 50, "card-X", "E2", ""))
	// At 11-24 October is due on 11-25, so not yet due: five rules fire.
	fs := Evaluate(s, at("2026-11-24"), DefaultConfig())
	names := map[Rule]bool{}
	for i, f := range fs {
		if i > 0 && fs[i-1].Rule >= f.Rule {
			t.Errorf("findings not sorted by rule: %s before %s", fs[i-1].Rule, f.Rule)
		}
		if f.ProjectID != "P1" {
			t.Errorf("%s: project %q", f.Rule, f.ProjectID)
		}
		names[f.Rule] = true
	}
	for _, r := range []Rule{BalanceInsufficient, FeedMissing, AttendanceMissing, PaymentReturned, PayeeNotEnrolled} {
		if !names[r] {
			t.Errorf("%s did not fire at 2026-11-24; got %v", r, fs)
		}
	}
	if names[WageArrears] || names[LaborCostShort] {
		t.Errorf("nothing is due at 2026-11-24 yet arrears fired: %v", fs)
	}
	fs = Evaluate(s, at("2026-12-24"), DefaultConfig())
	if len(fs) != 7 {
		t.Fatalf("at 2026-12-24 %d rules fire, want 7: %+v", len(fs), fs)
	}
	for i, r := range []Rule{AttendanceMissing, BalanceInsufficient, FeedMissing, LaborCostShort, PayeeNotEnrolled, PaymentReturned, WageArrears} {
		if fs[i].Rule != r {
			t.Errorf("finding %d = %s, want %s", i, fs[i].Rule, r)
		}
	}
}
