package feed

import (
	"errors"

	"github.com/wagewatch/wagewatch/shared/ledger"
)

// Intake decides, item by item, what ingestion keeps of a parsed file: it
// validates and converts entries (ingestion takes CNY only) and balances,
// reports the rejects with their line (or, for camt, entry index), drops
// the repeats of an (account, bank reference) within the file, and drops the
// reported balance of a canonical CSV row whose entry was rejected (a row is
// taken whole or not at all). The pipeline (ingest-feed) and the scenario
// oracle both decide through it.
type Intake struct {
	cp      func(account string) (hash, masked string)
	seen    map[string]struct{}
	maxSeen int
	// rejectedLine is the line of the last rejected CSV entry.
	rejectedLine int
}

// MaxTrackedRefs bounds the in-file duplicate tracking of an Intake; beyond
// it repeats are no longer recognised here (the store still writes each
// entry once), only no longer counted.
const MaxTrackedRefs = 1 << 20

// NewIntake returns an Intake; cp hashes and masks counterparty accounts
// (see Entry.Ledger).
func NewIntake(cp func(account string) (hash, masked string)) *Intake {
	return &Intake{cp: cp, seen: map[string]struct{}{}, maxSeen: MaxTrackedRefs}
}

// Decision is what Take decided about one item: exactly one of Entry,
// Balance, Reject is set, or Duplicate is true.
type Decision struct {
	Entry     *ledger.Entry
	Balance   *ledger.Balance
	Reject    *Reject
	Duplicate bool
}

// Reject is a rejected row, entry or balance.
type Reject struct {
	Line   int
	Reason string
}

// errRowRejected is the reason of a balance whose row was rejected.
var errRowRejected = errors.New("balance_after of a rejected row is not taken")

// Take decides about one parsed item.
func (in *Intake) Take(it Item) Decision {
	switch {
	case it.Err != nil:
		at := it.Err.Line
		if at == 0 {
			at = it.Err.Entry
		}
		return Decision{Reject: &Reject{Line: at, Reason: it.Err.Error()}}
	case it.Entry != nil:
		e, err := it.Entry.Ledger(in.cp)
		if err == nil {
			err = it.Entry.CheckCurrency()
		}
		if err != nil {
			if it.Entry.Format == CSV {
				in.rejectedLine = it.Entry.Line
			}
			return Decision{Reject: &Reject{Line: it.Entry.Line, Reason: it.Entry.Reject(err).Error()}}
		}
		if len(in.seen) < in.maxSeen {
			if _, dup := in.seen[e.Key()]; dup {
				return Decision{Duplicate: true}
			}
			in.seen[e.Key()] = struct{}{}
		}
		return Decision{Entry: &e}
	case it.Balance != nil:
		if it.Balance.Format == CSV && it.Balance.Line == in.rejectedLine && in.rejectedLine != 0 {
			return Decision{Reject: &Reject{Line: it.Balance.Line, Reason: it.Balance.Reject(errRowRejected).Error()}}
		}
		b, err := it.Balance.Ledger()
		if err == nil {
			err = it.Balance.CheckCurrency()
		}
		if err != nil {
			return Decision{Reject: &Reject{Line: it.Balance.Line, Reason: it.Balance.Reject(err).Error()}}
		}
		return Decision{Balance: &b}
	}
	return Decision{}
}
