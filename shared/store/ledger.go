package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagewatch/wagewatch/shared/ledger"
)

// Ledger table items:
//
//	pk A#<account>   sk E#<bank ref>               one bank entry, written at most once
//	pk A#<account>   sk B#<date>#<order>           one reported balance
//
// Entries are keyed by account, not project, so that entries of an account
// no project has yet are kept and count once the account is registered.

// PutEntry writes an entry unless (account, bank reference) is stored
// already. It reports whether the entry was new.
func (st *Store) PutEntry(ctx context.Context, e ledger.Entry) (bool, error) {
	d, err := encode(e)
	if err != nil {
		return false, err
	}
	item := key("A#"+e.Account, "E#"+e.BankRef)
	item["doc"] = s(d)
	ok, err := st.putNew(ctx, st.t.Ledger, item)
	if err != nil {
		return false, fmt.Errorf("put entry %s: %w", e.Key(), err)
	}
	return ok, nil
}

// PutBalance writes a reported balance unless it is stored already.
func (st *Store) PutBalance(ctx context.Context, b ledger.Balance) (bool, error) {
	d, err := encode(b)
	if err != nil {
		return false, err
	}
	item := key("A#"+b.Account, "B#"+b.Date.String()+"#"+b.Order)
	item["doc"] = s(d)
	ok, err := st.putNew(ctx, st.t.Ledger, item)
	if err != nil {
		return false, fmt.Errorf("put balance %s %s: %w", b.Account, b.Date, err)
	}
	return ok, nil
}

// PutEntries writes entries as PutEntry does, writeConcurrency at a time (a
// message holds hundreds: one at a time they would not fit a function's
// timeout), and counts the new ones. It stops starting writes at the first
// error and returns it.
func (st *Store) PutEntries(ctx context.Context, entries []ledger.Entry) (int, error) {
	return countNew(ctx, entries, st.PutEntry)
}

// PutBalances writes balances as PutBalance does, concurrently, and counts
// the new ones.
func (st *Store) PutBalances(ctx context.Context, balances []ledger.Balance) (int, error) {
	return countNew(ctx, balances, st.PutBalance)
}

// countNew runs put on every item through putEach and counts the items it
// reports as new. Each put is its own single-item conditional write, so the
// order does not matter and a redelivery counts nothing twice.
func countNew[T any](ctx context.Context, items []T, put func(context.Context, T) (bool, error)) (int, error) {
	added, err := putEach(ctx, items, nil, put)
	n := 0
	for _, ok := range added {
		if ok {
			n++
		}
	}
	return n, err
}

// Account returns every entry and reported balance of an account, balances
// in the order of their date and then of reading.
func (st *Store) Account(ctx context.Context, account string) ([]ledger.Entry, []ledger.Balance, error) {
	var entries []ledger.Entry
	var balances []ledger.Balance
	err := st.query(ctx, st.t.Ledger, "A#"+account, "", func(it map[string]types.AttributeValue) error {
		switch sk := str(it, "sk"); {
		case strings.HasPrefix(sk, "E#"):
			var e ledger.Entry
			if err := doc(it, &e); err != nil {
				return err
			}
			entries = append(entries, e)
		case strings.HasPrefix(sk, "B#"):
			var b ledger.Balance
			if err := doc(it, &b); err != nil {
				return err
			}
			balances = append(balances, b)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("account %s: %w", account, err)
	}
	sort.SliceStable(balances, func(i, j int) bool {
		if balances[i].Date != balances[j].Date {
			return balances[i].Date < balances[j].Date
		}
		return balances[i].Order < balances[j].Order
	})
	return entries, balances, nil
}
