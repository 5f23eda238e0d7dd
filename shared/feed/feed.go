// Package feed reads the bank feeds of data.md ("bank feeds"): the canonical
// CSV statement, ISO 20022 camt.053/camt.054 and SWIFT MT940. The format is
// recognised from the content, never from the file name.
//
// Parsing is streamed: Parse reads an io.Reader and hands every entry,
// reported balance and reject to a callback in file order, so memory does not
// grow with the size of the file. Parsing and validation are separate steps
// (in the style of moov-io/ach): Parse reports only what it cannot read
// (ParseError items, every one naming a line or an entry index, with a
// partial result kept), while Entry.Validate, Entry.CheckCurrency and
// Entry.Ledger decide whether a read entry is acceptable and turn it into a
// ledger.Entry.
//
// Bank references are passed through as the bank wrote them. In particular an
// MT940 :61: without a "//" bank reference uses its customer reference (often
// "NONREF"), so the same (account, bank reference) may repeat inside one file;
// Parse still emits every such entry, and the ledger's identity rule (the same
// pair seen again is the same entry) deduplicates them downstream.
package feed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/money"
)

// Format names a bank feed format.
type Format string

// The formats Parse recognises.
const (
	CSV     Format = "csv"
	Camt053 Format = "camt.053"
	Camt054 Format = "camt.054"
	MT940   Format = "mt940"
)

// IsXML reports whether the format is a camt (XML) format, whose entries are
// located by entry index instead of line.
func (f Format) IsXML() bool { return f == Camt053 || f == Camt054 }

// ErrUnknownFormat reports content that is none of the bank feed formats.
var ErrUnknownFormat = errors.New("not a recognised bank feed format (canonical CSV, camt.053/054 or MT940)")

// Item is one thing read from a feed: exactly one of Entry, Balance and Err
// is set. Statement is the 1-based statement (camt Stmt/Ntfctn, MT940 :20:)
// it belongs to; 0 for canonical CSV.
//
// Entry and Balance point to values the parser reuses for the next item:
// they are valid only until emit returns. A callee that keeps one must copy
// the value (e := *it.Entry); the strings inside may be kept as they are.
type Item struct {
	Entry     *Entry
	Balance   *Balance
	Err       *ParseError
	Statement int
}

// Entry is a booked movement as the bank wrote it, before validation.
type Entry struct {
	Format      Format           `json:"-"`
	File        string           `json:"-"`
	Account     string           `json:"account"`
	BankRef     string           `json:"bank_ref"`
	BookingDate day.Date         `json:"booking_date"`
	Direction   ledger.Direction `json:"direction"`
	Amount      Decimal          `json:"amount"`
	Currency    string           `json:"currency"`
	Kind        ledger.Kind      `json:"kind"`
	// CounterpartyAccount is the account as written (card number, IBAN…).
	// It is personal data: Ledger keeps only its keyed hash and masked form.
	CounterpartyAccount string `json:"counterparty_account"`
	CounterpartyName    string `json:"counterparty_name"`
	EndToEndID          string `json:"end_to_end_id"`
	OriginalRef         string `json:"original_ref"`
	// Remittance is the unstructured remittance text, when the bank gave one.
	Remittance string `json:"remittance,omitempty"`
	// Line is the line of the entry (CSV row, MT940 :61:) or, for camt, the
	// 1-based index of its Ntry in the file.
	Line int `json:"line"`
}

// Balance is a balance the bank reported at the end of a date.
type Balance struct {
	Format   Format   `json:"-"`
	File     string   `json:"-"`
	Account  string   `json:"account"`
	Date     day.Date `json:"date"`
	Amount   Decimal  `json:"amount"` // signed
	Currency string   `json:"currency"`
	// Line is the line (CSV, MT940) or, for camt, the 1-based index of the
	// Bal element among the file's closing balances.
	Line int `json:"line"`
}

// Summary describes a parsed file.
type Summary struct {
	Format Format
	// Encoding is the text encoding found (canonical CSV only).
	Encoding string
	// Statements counts camt Stmt/Ntfctn elements and MT940 :20: fields.
	Statements int
	Entries    int
	Balances   int
	Errors     int
	// Currency is the first statement's account currency (camt Acct/Ccy,
	// else its first closing balance's; MT940 the opening balance's; CNY for
	// canonical CSV), empty when unknown.
	Currency string
}

// ParseError is a row or entry that could not be read, or the point where a
// file breaks off.
type ParseError struct {
	File string
	// Line is the 1-based line, 0 when unknown.
	Line int
	// Entry is the 1-based entry index (camt Ntry), 0 when not applicable.
	Entry int
	// Record is a short excerpt of the offending text, digit runs of 12 or
	// more masked.
	Record string
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Entry > 0 {
		fmt.Fprintf(&b, "entry %d: ", e.Entry)
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unknown error")
	}
	if e.Record != "" {
		fmt.Fprintf(&b, " (record %q)", e.Record)
	}
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// maxRecord bounds ParseError.Record.
const maxRecord = 80

// excerpt returns a short, masked copy of a record for a ParseError. It
// masks before it cuts (a card number cut short would escape the mask) and
// cuts on a character boundary.
func excerpt(s string) string {
	s = MaskDigits(s)
	if len(s) > maxRecord {
		cut := maxRecord
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// MaskDigits replaces the middle of every run of 12 or more digits (a card or
// identity number) with asterisks, keeping its first 4 and last 4 digits.
func MaskDigits(s string) string {
	var b []byte
	run := 0
	flush := func(end int) {
		if run >= 12 {
			if b == nil {
				b = []byte(s)
			}
			for i := end - run + 4; i < end-4; i++ {
				b[i] = '*'
			}
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		flush(i)
	}
	flush(len(s))
	if b == nil {
		return s
	}
	return string(b)
}

// Reject builds the ParseError that reports e as rejected for err (a
// validation or currency error), located by line or entry index.
func (e Entry) Reject(err error) *ParseError {
	pe := &ParseError{File: e.File, Err: err}
	if e.Format.IsXML() {
		pe.Entry = e.Line
	} else {
		pe.Line = e.Line
	}
	return pe
}

// Reject builds the ParseError that reports b as rejected for err.
func (b Balance) Reject(err error) *ParseError {
	pe := &ParseError{File: b.File, Err: err, Line: b.Line}
	if b.Format.IsXML() {
		pe.Line, pe.Entry = 0, b.Line
		pe.Err = fmt.Errorf("closing balance %d: %w", b.Line, err)
	}
	return pe
}

// Validate checks what Parse does not: the booking date is set, the amount
// is positive with at most two decimals, direction and kind are known, and
// the bank reference and account are present. It does not check the
// currency (see CheckCurrency).
func (e Entry) Validate() error {
	var errs []error
	if strings.TrimSpace(e.Account) == "" {
		errs = append(errs, errors.New("account missing"))
	}
	if strings.TrimSpace(e.BankRef) == "" {
		errs = append(errs, errors.New("bank reference missing"))
	}
	if e.BookingDate == 0 {
		errs = append(errs, errors.New("booking date missing"))
	}
	if e.Direction != ledger.Credit && e.Direction != ledger.Debit {
		errs = append(errs, fmt.Errorf("direction %q is not C or D", string(e.Direction)))
	}
	if !ledger.ValidKind(e.Kind) {
		errs = append(errs, fmt.Errorf("kind %q unknown", string(e.Kind)))
	}
	if e.Amount.Sign() <= 0 {
		errs = append(errs, fmt.Errorf("amount %s is not positive", e.Amount))
	} else if _, err := e.Amount.Fen(); err != nil {
		errs = append(errs, fmt.Errorf("amount: %w", err))
	}
	return errors.Join(errs...)
}

// ErrCurrency reports an entry or balance in a currency other than CNY.
var ErrCurrency = errors.New("currency is not CNY")

// CheckCurrency reports whether the entry is in CNY, the only currency
// ingestion accepts.
func (e Entry) CheckCurrency() error { return checkCurrency(e.Currency) }

// CheckCurrency reports whether the balance is in CNY.
func (b Balance) CheckCurrency() error { return checkCurrency(b.Currency) }

func checkCurrency(c string) error {
	if c != "CNY" {
		return fmt.Errorf("currency %q: %w", c, ErrCurrency)
	}
	return nil
}

// Ledger validates e and converts it to a ledger.Entry. cp receives the
// digits of the counterparty account (nothing when there are none) and
// returns its keyed hash and masked form; the raw account is never stored.
func (e Entry) Ledger(cp func(account string) (hash, masked string)) (ledger.Entry, error) {
	if err := e.Validate(); err != nil {
		return ledger.Entry{}, fmt.Errorf("entry %s: %w", e.BankRef, err)
	}
	fen, err := e.Amount.Fen()
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("entry %s: %w", e.BankRef, err)
	}
	le := ledger.Entry{
		Account:          strings.TrimSpace(e.Account),
		BankRef:          strings.TrimSpace(e.BankRef),
		BookingDate:      e.BookingDate,
		Direction:        e.Direction,
		Amount:           fen,
		Currency:         e.Currency,
		Kind:             e.Kind,
		CounterpartyName: e.CounterpartyName,
		EndToEndID:       e.EndToEndID,
		OriginalRef:      e.OriginalRef,
		Source:           ledger.Source{File: e.File, Line: e.Line},
	}
	if d := Digits(e.CounterpartyAccount); d != "" && cp != nil {
		le.CounterpartyHash, le.CounterpartyMasked = cp(d)
	}
	return le, nil
}

// Ledger converts b to a ledger.Balance (amount signed fen). Order is left
// empty for the caller to set.
func (b Balance) Ledger() (ledger.Balance, error) {
	if strings.TrimSpace(b.Account) == "" {
		return ledger.Balance{}, errors.New("balance: account missing")
	}
	if b.Date == 0 {
		return ledger.Balance{}, errors.New("balance: date missing")
	}
	fen, err := b.Amount.Fen()
	if err != nil {
		return ledger.Balance{}, fmt.Errorf("balance %s %s: %w", b.Account, b.Date, err)
	}
	return ledger.Balance{
		Account:  strings.TrimSpace(b.Account),
		Date:     b.Date,
		Amount:   fen,
		Currency: b.Currency,
		Source:   ledger.Source{File: b.File, Line: b.Line},
	}, nil
}

// Digits returns the decimal digits of s (spaces, dashes and letters
// dropped), as the rules compare counterparty accounts.
func Digits(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// sniffSize is how much of the start of a file format detection looks at.
const sniffSize = 64 << 10

// Detect looks at the start of r and returns the format and a reader that
// still yields the whole content.
func Detect(r io.Reader) (Format, io.Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < sniffSize {
		br = bufio.NewReaderSize(r, sniffSize)
	}
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return "", nil, fmt.Errorf("read start of file: %w", err)
	}
	f, err := detect(head)
	return f, br, err
}

var (
	camt053NS = []byte("urn:iso:std:iso:20022:tech:xsd:camt.053.001.")
	camt054NS = []byte("urn:iso:std:iso:20022:tech:xsd:camt.054.001.")
	bomUTF8   = []byte{0xEF, 0xBB, 0xBF}
)

func detect(head []byte) (Format, error) {
	h := bytes.TrimPrefix(head, bomUTF8)
	h = bytes.TrimLeft(h, " \t\r\n")
	if len(h) == 0 {
		return "", fmt.Errorf("empty file: %w", ErrUnknownFormat)
	}
	if h[0] == '<' {
		i53, i54 := bytes.Index(h, camt053NS), bytes.Index(h, camt054NS)
		switch {
		case i53 >= 0 && (i54 < 0 || i53 < i54):
			return Camt053, nil
		case i54 >= 0:
			return Camt054, nil
		}
		return "", fmt.Errorf("XML without a camt.053/camt.054 namespace: %w", ErrUnknownFormat)
	}
	if looksMT940(h) {
		return MT940, nil
	}
	line := h
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if bytes.Contains(line, []byte("bank_ref")) && bytes.Contains(line, []byte("booking_date")) {
		return CSV, nil
	}
	return "", ErrUnknownFormat
}

// looksMT940 reports whether a line starts with the :20: field (after
// framing bytes and an envelope block).
func looksMT940(h []byte) bool {
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		line = bytes.TrimLeft(line, "\x01\x03\x1a \t")
		if i := bytes.LastIndex(line, []byte("{4:")); i >= 0 {
			line = line[i+3:]
		}
		if bytes.HasPrefix(line, []byte(":20:")) {
			return true
		}
	}
	return false
}

// Parse detects the format of r, reads it and calls emit for every entry,
// balance and reject in file order. file names the file in errors. The
// returned error is only for a file that cannot be read at all (an I/O
// error, a format that is not a bank feed) or an error returned by emit;
// rows and entries that cannot be read are Items with Err set.
func Parse(r io.Reader, file string, emit func(Item) error) (Summary, error) {
	f, br, err := Detect(r)
	if err != nil {
		return Summary{}, fmt.Errorf("parse %s: %w", file, err)
	}
	return ParseFormat(br, f, file, emit)
}

// ParseFormat reads r as format f, without detection.
func ParseFormat(r io.Reader, f Format, file string, emit func(Item) error) (Summary, error) {
	s := Summary{Format: f}
	counting := func(it Item) error {
		switch {
		case it.Entry != nil:
			s.Entries++
		case it.Balance != nil:
			s.Balances++
		case it.Err != nil:
			s.Errors++
			if it.Err.File == "" {
				it.Err.File = file
			}
		}
		return emit(it)
	}
	var err error
	switch f {
	case CSV:
		err = parseCSV(r, file, &s, counting)
	case Camt053, Camt054:
		err = parseCamt(r, f, file, &s, counting)
	case MT940:
		err = parseMT940(r, file, &s, counting)
	default:
		err = fmt.Errorf("format %q: %w", f, ErrUnknownFormat)
	}
	if err != nil {
		return s, fmt.Errorf("parse %s: %w", file, err)
	}
	return s, nil
}

// parseDate reads YYYY-MM-DD (the first 10 bytes of an ISO date or
// date-time) into a Date, refusing dates that do not exist.
func parseDate(s []byte) (day.Date, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := atoi(s[0:4])
	m, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return 0, false
	}
	return mkDate(y, m, d)
}

func mkDate(y, m, d int) (day.Date, bool) {
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return civil(y, m, d), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// civil returns the days since 1970-01-01 of y-m-d (Howard Hinnant's
// days_from_civil), the same value as day.New without going through time.
func civil(y, m, d int) day.Date {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return day.Date(era*146097 + doe - 719468)
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// errorf builds a ParseError.
func perr(file string, line, entry int, record []byte, format string, args ...any) *ParseError {
	return &ParseError{File: file, Line: line, Entry: entry, Record: excerpt(string(record)), Err: fmt.Errorf(format, args...)}
}

var _ = money.Parse
