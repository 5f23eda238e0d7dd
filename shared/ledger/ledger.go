// Package ledger holds the movements of a project's wage account as
// wagewatch stores them: bank entries (identified by account and bank
// reference) and the balances banks report. Counterparty accounts are kept
// only as a keyed hash plus a masked form: a worker's card number is personal
// data.
package ledger

import (
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
)

// Direction is C (credit, money in) or D (debit, money out).
type Direction string

// The two directions.
const (
	Credit Direction = "C"
	Debit  Direction = "D"
)

// Kind classifies an entry (data.md "Kinds").
type Kind string

// The kinds of data.md.
const (
	Deposit Kind = "deposit"
	Payroll Kind = "payroll"
	Return  Kind = "return"
	Fee     Kind = "fee"
	Other   Kind = "other"
)

// ValidKind reports whether k is one of the kinds of data.md.
func ValidKind(k Kind) bool {
	switch k {
	case Deposit, Payroll, Return, Fee, Other:
		return true
	}
	return false
}

// Source says where a record came from: the file (its object key) and the
// line, or for XML the entry index, within it.
type Source struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Entry is one booked movement on a wage account.
type Entry struct {
	Account     string    `json:"account"`
	BankRef     string    `json:"bank_ref"`
	BookingDate day.Date  `json:"booking_date"`
	Direction   Direction `json:"direction"`
	Amount      money.Fen `json:"amount"`
	Currency    string    `json:"currency"`
	Kind        Kind      `json:"kind"`
	// CounterpartyHash is the keyed hash (pii.Hasher) of the counterparty
	// account's digits; empty when the bank gave no account.
	CounterpartyHash   string `json:"cp_hash,omitempty"`
	CounterpartyMasked string `json:"cp_masked,omitempty"`
	CounterpartyName   string `json:"cp_name,omitempty"`
	EndToEndID         string `json:"e2e,omitempty"`
	OriginalRef        string `json:"orig_ref,omitempty"`
	Source             Source `json:"src"`
}

// Key identifies an entry: the same (account, bank reference) seen again is
// the same entry.
func (e Entry) Key() string { return e.Account + "/" + e.BankRef }

// Balance is a balance a bank reported for an account at the end of a date.
type Balance struct {
	Account  string    `json:"account"`
	Date     day.Date  `json:"date"`
	Amount   money.Fen `json:"amount"`
	Currency string    `json:"currency"`
	// Order sorts balances of the same date in the order they were read: it
	// is the ingestion sequence of the file followed by the line, both
	// zero-padded, so that string order is read order.
	Order  string `json:"order"`
	Source Source `json:"src"`
}
