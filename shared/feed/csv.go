package feed

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/textenc"
)

// csvMaxRecord bounds one CSV record (a quoted field may span lines).
const csvMaxRecord = 1 << 20

var errRecordTooLong = fmt.Errorf("record longer than %d bytes: file breaks off", csvMaxRecord)

// recordLimiter passes bytes through and fails once a record (up to a
// newline outside quotes) exceeds csvMaxRecord bytes, so that encoding/csv
// never buffers an unbounded line.
type recordLimiter struct {
	r       io.Reader
	n       int
	inQuote bool
	err     error
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	b := p[:n]
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			l.inQuote = !l.inQuote
		case '\n':
			if !l.inQuote {
				l.n = 0
				continue
			}
		}
		l.n++
		if l.n > csvMaxRecord {
			l.err = errRecordTooLong
			return i, nil
		}
	}
	return n, err
}

var csvColumns = []string{"account", "bank_ref", "booking_date", "direction", "amount", "kind",
	"counterparty_account", "counterparty_name", "end_to_end_id", "original_ref", "balance_after"}

const (
	cAccount = iota
	cBankRef
	cBookingDate
	cDirection
	cAmount
	cKind
	cCpAccount
	cCpName
	cE2E
	cOrigRef
	cBalanceAfter
	cCount
)

var csvRequired = []int{cAccount, cBankRef, cBookingDate, cDirection, cAmount, cKind}

func parseCSV(r io.Reader, file string, sum *Summary, emit func(Item) error) error {
	text, enc := textenc.Detect(r)
	sum.Encoding, sum.Currency = string(enc), "CNY"
	lim := &recordLimiter{r: text}
	cr := csv.NewReader(lim)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, errRecordTooLong) {
			return emit(Item{Err: &ParseError{File: file, Line: 1, Err: err}})
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) || err == io.EOF {
			return emit(Item{Err: &ParseError{File: file, Line: 1, Err: fmt.Errorf("header: %w", err)}})
		}
		return fmt.Errorf("read header: %w", err)
	}
	var col [cCount]int
	for i := range col {
		col[i] = -1
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		for c, name := range csvColumns {
			if h == name {
				if col[c] >= 0 {
					return emit(Item{Err: &ParseError{File: file, Line: 1, Err: fmt.Errorf("header: column %s twice", name)}})
				}
				col[c] = i
			}
		}
	}
	var missing []string
	for _, c := range csvRequired {
		if col[c] < 0 {
			missing = append(missing, csvColumns[c])
		}
	}
	if len(missing) > 0 {
		return emit(Item{Err: &ParseError{File: file, Line: 1, Record: excerpt(strings.Join(header, ",")),
			Err: fmt.Errorf("header: missing column(s) %s", strings.Join(missing, ", "))}})
	}
	width := len(header)
	line := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			line, _ = cr.FieldPos(0)
		} else {
			line++ // FieldPos is only valid after a successful Read
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if errors.Is(pe.Err, errRecordTooLong) {
					return emit(Item{Err: &ParseError{File: file, Line: pe.StartLine, Err: errRecordTooLong}})
				}
				if e := emit(Item{Err: &ParseError{File: file, Line: pe.StartLine, Err: pe.Err}}); e != nil {
					return e
				}
				continue
			}
			if errors.Is(err, errRecordTooLong) {
				return emit(Item{Err: &ParseError{File: file, Line: line, Err: err}})
			}
			return fmt.Errorf("read line %d: %w", line, err)
		}
		if err := csvRow(rec, &col, width, line, file, emit); err != nil {
			return err
		}
	}
}

func csvRow(rec []string, col *[cCount]int, width, line int, file string, emit func(Item) error) error {
	fail := func(format string, args ...any) error {
		return emit(Item{Err: &ParseError{File: file, Line: line, Record: excerpt(strings.Join(rec, ",")), Err: fmt.Errorf(format, args...)}})
	}
	if len(rec) != width {
		return fail("row has %d fields, the header has %d", len(rec), width)
	}
	get := func(c int) string {
		if col[c] < 0 {
			return ""
		}
		return strings.TrimSpace(rec[col[c]])
	}
	dateText := get(cBookingDate)
	var date day.Date
	if dateText != "" {
		d, ok := parseDate([]byte(dateText))
		if !ok || len(dateText) != 10 {
			return fail("booking_date %q: %w (want an existing YYYY-MM-DD)", dateText, day.ErrSyntax)
		}
		date = d
	}
	amt, err := ParseDecimal(get(cAmount))
	if err != nil {
		return fail("amount: %w", err)
	}
	var bal Decimal
	balText := get(cBalanceAfter)
	if balText != "" {
		if bal, err = ParseDecimal(balText); err != nil {
			return fail("balance_after: %w", err)
		}
	}
	e := &Entry{Format: CSV, File: file, Account: get(cAccount), BankRef: get(cBankRef), BookingDate: date,
		Direction: ledger.Direction(get(cDirection)), Amount: amt, Currency: "CNY", Kind: ledger.Kind(get(cKind)),
		CounterpartyAccount: get(cCpAccount), CounterpartyName: get(cCpName), EndToEndID: get(cE2E),
		OriginalRef: get(cOrigRef), Line: line}
	if err := emit(Item{Entry: e}); err != nil {
		return err
	}
	if balText != "" {
		return emit(Item{Balance: &Balance{Format: CSV, File: file, Account: e.Account, Date: date, Amount: bal, Currency: "CNY", Line: line}})
	}
	return nil
}
