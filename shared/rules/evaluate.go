package rules

import (
	"sort"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/registry"
)

// Snapshot is everything the rules need to know about one project.
type Snapshot struct {
	Project registry.Project
	// Roster holds this project's enrolments, past workers included.
	Roster []registry.Enrolment
	// Attendance maps Enrolment.IDHash to the distinct dates the worker
	// worked on this project, in any order; dates after D may be present
	// and are ignored.
	Attendance map[string][]day.Date
	// Entries holds every entry on Project.WageAccount, any date.
	Entries []ledger.Entry
	// Balances holds every reported balance of that account; of two on the
	// same date the one with the greater Order was read last.
	Balances []ledger.Balance
}

// worker is one roster row with what the rules derive for it.
type worker struct {
	row  registry.Enrolment
	days map[day.Month]int // days(W, P, M), dates ≤ D only
	paid money.Fen         // paid(W, P)
	// payDates are the booking dates of every payment to W (cancelled or
	// not), for payment_returned's "no payment to W booked after R".
	payDates []day.Date
	// cancelled are W's payments cancelled by a return.
	cancelled []cancellation
}

type cancellation struct {
	amount money.Fen
	ret    day.Date // R, the return's booking date
}

// payment is a payroll debit booked ≤ D.
type payment struct {
	e         ledger.Entry
	cancelled bool
	ret       day.Date
}

type eval struct {
	s       Snapshot
	cfg     Config
	d       day.Date
	workers []*worker
	byCard  map[string]*worker
	pays    []*payment
	first   day.Month // earliest attendance month of a roster worker
	hasDays bool      // some roster worker has attendance ≤ D
}

// Evaluate applies the seven rules to s at moment t (D = day.Of(t)) and
// returns the rules that fire, sorted by rule name.
func Evaluate(s Snapshot, t time.Time, cfg Config) []Finding {
	e := newEval(s, day.Of(t), cfg)
	var out []Finding
	for _, f := range []func() (Finding, bool){
		e.wageArrears,
		e.laborCostShort,
		e.balanceInsufficient,
		e.feedMissing,
		e.attendanceMissing,
		e.paymentReturned,
		e.payeeNotEnrolled,
	} {
		if fd, ok := f(); ok {
			fd.ProjectID = s.Project.ID
			out = append(out, fd)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

func newEval(s Snapshot, d day.Date, cfg Config) *eval {
	e := &eval{s: s, cfg: cfg, d: d, byCard: map[string]*worker{}}

	// One worker per identity: data.md says a repeated (project_id,
	// id_number) row replaces the earlier one, so should a snapshot still
	// carry two rows of one IDHash, the later row wins.
	idx := map[string]int{}
	for _, r := range s.Roster {
		w := &worker{row: r, days: map[day.Month]int{}}
		if i, ok := idx[r.IDHash]; ok {
			e.workers[i] = w
			continue
		}
		idx[r.IDHash] = len(e.workers)
		e.workers = append(e.workers, w)
	}
	for _, w := range e.workers {
		// A card shared by two roster rows credits the first of them in
		// roster order; an empty card hash matches nothing.
		if w.row.CardHash != "" {
			if _, ok := e.byCard[w.row.CardHash]; !ok {
				e.byCard[w.row.CardHash] = w
			}
		}
		// Distinct dates ≤ D, counted per month: sort a copy, skip repeats,
		// and find a date's month only when it crosses into a new one.
		dates := append([]day.Date(nil), s.Attendance[w.row.IDHash]...)
		sort.Slice(dates, func(i, j int) bool { return dates[i] < dates[j] })
		var m day.Month
		var next day.Date // first day of the month after m
		for i, dt := range dates {
			if dt > d {
				break
			}
			if i > 0 && dt == dates[i-1] {
				continue
			}
			if i == 0 || dt >= next {
				m = dt.Month()
				next = m.Next().First()
			}
			w.days[m]++
		}
		if len(dates) > 0 && dates[0] <= d {
			if m0 := dates[0].Month(); !e.hasDays || m0 < e.first {
				e.first, e.hasDays = m0, true
			}
		}
	}

	// Payments: payroll debits booked ≤ D. Returns: return credits booked
	// ≤ D. Entries are taken as given: the snapshot holds the entries of
	// the project's wage account only.
	var rets []ledger.Entry
	for _, en := range s.Entries {
		if en.BookingDate > d {
			continue
		}
		switch {
		case en.Kind == ledger.Payroll && en.Direction == ledger.Debit:
			e.pays = append(e.pays, &payment{e: en})
		case en.Kind == ledger.Return && en.Direction == ledger.Credit:
			rets = append(rets, en)
		}
	}
	sort.SliceStable(e.pays, func(i, j int) bool {
		a, b := e.pays[i].e, e.pays[j].e
		if a.BookingDate != b.BookingDate {
			return a.BookingDate < b.BookingDate
		}
		return a.BankRef < b.BankRef
	})
	sort.SliceStable(rets, func(i, j int) bool {
		if rets[i].BookingDate != rets[j].BookingDate {
			return rets[i].BookingDate < rets[j].BookingDate
		}
		return rets[i].BankRef < rets[j].BankRef
	})
	// Cancellation (rules.md "payment to W": a return whose original_ref
	// equals the payment's end-to-end id cancels that payment). Choice
	// where the clause is silent: one return cancels one payment — the
	// earliest not yet cancelled payment with that end-to-end id booked on
	// or before the return's date (a return cannot precede what it
	// returns). Returns are applied in booking order. Empty references
	// never match.
	for _, r := range rets {
		if r.OriginalRef == "" {
			continue
		}
		for _, p := range e.pays {
			if !p.cancelled && p.e.EndToEndID == r.OriginalRef && p.e.BookingDate <= r.BookingDate {
				p.cancelled, p.ret = true, r.BookingDate
				break
			}
		}
	}
	for _, p := range e.pays {
		w := e.byCard[p.e.CounterpartyHash]
		if p.e.CounterpartyHash == "" || w == nil {
			continue
		}
		w.payDates = append(w.payDates, p.e.BookingDate)
		if p.cancelled {
			w.cancelled = append(w.cancelled, cancellation{amount: p.e.Amount, ret: p.ret})
			continue
		}
		w.paid += p.e.Amount
	}
	return e
}

// due returns due(P, M): day payday of month M+1.
func (e *eval) due(m day.Month) day.Date { return m.Next().Day(e.s.Project.Payday) }

// isDue reports whether M is due at D: due(P, M) < D.
func (e *eval) isDue(m day.Month) bool { return e.due(m) < e.d }

// expected returns expected(W, P, M).
func (w *worker) expected(m day.Month) money.Fen {
	return money.Fen(w.days[m]) * w.row.DailyWage
}

// dueMonths returns the due months from the earliest attendance month on,
// oldest first. Months before it have expected 0 for every worker.
func (e *eval) dueMonths() []day.Month {
	if !e.hasDays {
		return nil
	}
	var ms []day.Month
	for m := e.first; e.isDue(m); m++ {
		ms = append(ms, m)
	}
	return ms
}

// overdueSeverity grades wage_arrears by days overdue: ≤ 15 yellow, 16–30
// orange, > 30 red.
func overdueSeverity(days int) Severity {
	switch {
	case days > 30:
		return Red
	case days > 15:
		return Orange
	}
	return Yellow
}

// wageArrears: some worker has owed(W, P) > 0.
func (e *eval) wageArrears() (Finding, bool) {
	months := e.dueMonths()
	f := Finding{Rule: WageArrears}
	found := false
	for _, w := range e.workers {
		var cum money.Fen
		var oldest day.Month
		hit := false
		for _, m := range months {
			cum += w.expected(m)
			if !hit && cum > w.paid {
				oldest, hit = m, true
			}
		}
		if cum-w.paid <= 0 {
			continue
		}
		f.Workers++
		f.Amount += cum - w.paid
		// period: the oldest due month M for which some such worker's
		// Σ expected over due months ≤ M exceeds paid(W, P).
		if !found || oldest < f.Period {
			f.Period = oldest
		}
		found = true
	}
	if !found {
		return Finding{}, false
	}
	f.Severity = overdueSeverity(e.d.Sub(e.due(f.Period)))
	return f, true
}

// deposited returns deposited(P): deposit credits booked ≤ D.
func (e *eval) deposited() money.Fen {
	var sum money.Fen
	for _, en := range e.s.Entries {
		if en.Kind == ledger.Deposit && en.Direction == ledger.Credit && en.BookingDate <= e.d {
			sum += en.Amount
		}
	}
	return sum
}

// laborCostShort: Σ over workers and due months of expected > deposited(P).
func (e *eval) laborCostShort() (Finding, bool) {
	dep := e.deposited()
	var cum money.Fen
	var period day.Month
	hit := false
	for _, m := range e.dueMonths() {
		for _, w := range e.workers {
			cum += w.expected(m)
		}
		if !hit && cum > dep {
			period, hit = m, true
		}
	}
	if !hit {
		return Finding{}, false
	}
	sev := Orange
	if e.d.Sub(e.due(period)) > 30 {
		sev = Red
	}
	return Finding{Rule: LaborCostShort, Amount: cum - dep, Period: period, Severity: sev}, true
}

// balance returns balance(P) at D.
func (e *eval) balance() money.Fen {
	var last *ledger.Balance
	for i := range e.s.Balances {
		b := &e.s.Balances[i]
		if b.Date > e.d {
			continue
		}
		// A later date wins; on the same date, the one read last (the
		// greater Order).
		if last == nil || b.Date > last.Date || (b.Date == last.Date && b.Order > last.Order) {
			last = b
		}
	}
	var bal money.Fen
	from := day.Date(-1 << 31)
	if last != nil {
		bal, from = last.Amount, last.Date
	}
	for _, en := range e.s.Entries {
		if en.BookingDate <= from || en.BookingDate > e.d {
			continue
		}
		switch en.Direction {
		case ledger.Credit:
			bal += en.Amount
		case ledger.Debit:
			bal -= en.Amount
		}
	}
	return bal
}

// balanceInsufficient: a month U (the earliest, if several) with
// D ≤ due(P, U) ≤ D + lookahead and balance(P) < need.
func (e *eval) balanceInsufficient() (Finding, bool) {
	if st := e.s.Project.Status; st != registry.Active && st != registry.Suspended {
		return Finding{}, false
	}
	limit := e.d.AddDays(e.cfg.BalanceLookaheadDays)
	var bal money.Fen
	balDone := false
	// due(P, M) falls in month M+1, so the month before D's month is the
	// first whose due date can be ≥ D.
	for u := e.d.Month() - 1; e.due(u) <= limit; u++ {
		if e.due(u) < e.d {
			continue
		}
		var need money.Fen
		workers := 0
		for _, w := range e.workers {
			var exp money.Fen
			for m, n := range w.days {
				if m <= u {
					exp += money.Fen(n) * w.row.DailyWage
				}
			}
			if share := exp - w.paid; share > 0 {
				need += share
				workers++
			}
		}
		if !balDone {
			bal, balDone = e.balance(), true
		}
		// rules.md compares balance(P) < need literally: a negative
		// balance fires even when nothing is needed.
		if bal < need {
			return Finding{Rule: BalanceInsufficient, Workers: workers, Amount: need - bal, Period: u, Severity: Blue}, true
		}
	}
	return Finding{}, false
}

// feedMissing: no wage account, or no booking or balance for more than
// FeedMissingDays days.
func (e *eval) feedMissing() (Finding, bool) {
	if e.s.Project.Status != registry.Active {
		return Finding{}, false
	}
	f := Finding{Rule: FeedMissing, Period: e.d.Month(), Severity: Yellow}
	if e.s.Project.WageAccount == "" {
		return f, true
	}
	latest := e.s.Project.StartDate
	for _, en := range e.s.Entries {
		if en.BookingDate <= e.d && en.BookingDate > latest {
			latest = en.BookingDate
		}
	}
	for _, b := range e.s.Balances {
		if b.Date <= e.d && b.Date > latest {
			latest = b.Date
		}
	}
	if e.d.Sub(latest) > e.cfg.FeedMissingDays {
		return f, true
	}
	return Finding{}, false
}

// attendanceMissing: an active project with a worker enrolled at D and no
// attendance for more than AttendanceMissingDays days.
func (e *eval) attendanceMissing() (Finding, bool) {
	if e.s.Project.Status != registry.Active {
		return Finding{}, false
	}
	enrolled := false
	for _, w := range e.workers {
		if w.row.EnrolledAt(e.d) {
			enrolled = true
			break
		}
	}
	if !enrolled {
		return Finding{}, false
	}
	// "the latest attendance date on P": any worker's, past workers and
	// attendance of identities no longer on the roster included.
	latest := e.s.Project.StartDate
	for _, dates := range e.s.Attendance {
		for _, dt := range dates {
			if dt <= e.d && dt > latest {
				latest = dt
			}
		}
	}
	if e.d.Sub(latest) > e.cfg.AttendanceMissingDays {
		return Finding{Rule: AttendanceMissing, Period: e.d.Month(), Severity: Yellow}, true
	}
	return Finding{}, false
}

// paymentReturned: a payment to W cancelled by a return booked at R,
// D − R > ReturnRepayDays, and no payment to W booked on a date after R.
// "No payment" counts any payroll debit to W's card booked ≤ D, even one
// later cancelled itself (that one is then judged on its own return).
// The amount is the cancelled payment's amount.
func (e *eval) paymentReturned() (Finding, bool) {
	f := Finding{Rule: PaymentReturned, Severity: Orange}
	found := false
	for _, w := range e.workers {
		counted := false
		for _, c := range w.cancelled {
			if e.d.Sub(c.ret) <= e.cfg.ReturnRepayDays {
				continue
			}
			repaid := false
			for _, pd := range w.payDates {
				if pd > c.ret {
					repaid = true
					break
				}
			}
			if repaid {
				continue
			}
			if !counted {
				f.Workers++
				counted = true
			}
			f.Amount += c.amount
			if m := c.ret.Month(); !found || m < f.Period {
				f.Period = m
			}
			found = true
		}
	}
	return f, found
}

// payeeNotEnrolled: a payroll debit booked ≤ D (returned or not) to an
// account that is the bank card of no roster row. Choice: a payroll debit
// whose counterparty account the bank did not give (empty hash) cannot be
// shown to reach a roster card, so it counts; all such debits count as one
// distinct account.
func (e *eval) payeeNotEnrolled() (Finding, bool) {
	cards := map[string]bool{}
	for _, r := range e.s.Roster {
		if r.CardHash != "" {
			cards[r.CardHash] = true
		}
	}
	f := Finding{Rule: PayeeNotEnrolled, Severity: Yellow}
	accounts := map[string]bool{}
	var latest day.Date
	for _, p := range e.pays {
		if cards[p.e.CounterpartyHash] {
			continue
		}
		accounts[p.e.CounterpartyHash] = true
		f.Amount += p.e.Amount
		latest = p.e.BookingDate // e.pays is in booking order

	}
	if len(accounts) == 0 {
		return Finding{}, false
	}
	f.Workers = len(accounts)
	f.Period = latest.Month()
	return f, true
}
