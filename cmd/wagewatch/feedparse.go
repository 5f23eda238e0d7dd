package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wagewatch/wagewatch/shared/feed"
)

func init() {
	register("feed parse", command{
		summary: "parse bank feed files and print entries and balances as JSON Lines",
		run:     runFeedParse,
	})
}

// feedEntryLine is the JSON Lines form of an entry. This command is for a
// bank's integrator checking their own file on their own terminal, so the
// counterparty account is printed in full.
type feedEntryLine struct {
	Type                string `json:"type"`
	File                string `json:"file"`
	Account             string `json:"account"`
	BankRef             string `json:"bank_ref"`
	BookingDate         string `json:"booking_date"`
	Direction           string `json:"direction"`
	Amount              string `json:"amount"`
	Currency            string `json:"currency"`
	Kind                string `json:"kind"`
	CounterpartyAccount string `json:"counterparty_account"`
	CounterpartyName    string `json:"counterparty_name"`
	EndToEndID          string `json:"end_to_end_id"`
	OriginalRef         string `json:"original_ref"`
}

type feedBalanceLine struct {
	Type     string `json:"type"`
	File     string `json:"file"`
	Account  string `json:"account"`
	Date     string `json:"date"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// runFeedParse implements "wagewatch feed parse FILE…": every entry and
// balance that ingestion would accept on stdout, every reject (unreadable
// row, invalid entry, currency other than CNY) with its reason on stderr. It exits 1 when a file cannot be
// read at all, else 0.
func runFeedParse(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: wagewatch feed parse FILE…")
		return 2
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	code := 0
	for _, name := range args {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "wagewatch: %v\n", err)
			return 1
		}
		if err := feedParseFile(ctx, name, enc, out, stderr); err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			code = 1
		}
	}
	return code
}

func feedParseFile(ctx context.Context, name string, enc *json.Encoder, out *bufio.Writer, stderr io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	reject := func(pe *feed.ParseError) {
		_ = out.Flush() // keep stdout and stderr in file order on a terminal
		fmt.Fprintln(stderr, pe.Error())
	}
	_, err = feed.Parse(f, name, func(it feed.Item) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case it.Err != nil:
			reject(it.Err)
		case it.Entry != nil:
			e := it.Entry
			err := errors.Join(e.Validate(), e.CheckCurrency())
			if err != nil {
				reject(e.Reject(err))
				return nil
			}
			fen, _ := e.Amount.Fen() // Validate checked it
			return enc.Encode(feedEntryLine{Type: "entry", File: name, Account: e.Account, BankRef: e.BankRef,
				BookingDate: e.BookingDate.String(), Direction: string(e.Direction), Amount: fen.String(),
				Currency: e.Currency, Kind: string(e.Kind), CounterpartyAccount: e.CounterpartyAccount,
				CounterpartyName: e.CounterpartyName, EndToEndID: e.EndToEndID, OriginalRef: e.OriginalRef})
		case it.Balance != nil:
			b := it.Balance
			fen, err := b.Amount.Fen()
			if err := errors.Join(err, b.CheckCurrency()); err != nil {
				reject(b.Reject(err))
				return nil
			}
			return enc.Encode(feedBalanceLine{Type: "balance", File: name, Account: b.Account,
				Date: b.Date.String(), Amount: fen.String(), Currency: b.Currency})
		}
		return nil
	})
	return err
}
