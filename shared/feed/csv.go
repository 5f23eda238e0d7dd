package feed

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/textenc"
	"golang.org/x/text/transform"
)

// csvMaxRecord bounds one CSV record (a quoted field may span lines).
const csvMaxRecord = 1 << 20

var errRecordTooLong = fmt.Errorf("record longer than %d bytes: file breaks off", csvMaxRecord)

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

// csvParser holds the state of one canonical CSV parse. The Entry and
// Balance it emits are reused for every row.
type csvParser struct {
	file  string
	emit  func(Item) error
	col   [cCount]int
	width int
	entry Entry
	bal   Balance
	// text collects the string columns of a row, converted to one string.
	text []byte
	// account is the last account read, reused while it repeats.
	account string
}

func parseCSV(r io.Reader, file string, sum *Summary, emit func(Item) error) error {
	// textenc.Detect reuses a *bufio.Reader of SniffSize and only peeks at it
	// when it finds GB18030: read that from br with the faster decoder.
	br := bufio.NewReaderSize(r, textenc.SniffSize)
	text, enc := textenc.Detect(br)
	if enc == textenc.GB18030 {
		text = transform.NewReader(br, newGB18030Decoder())
	}
	sum.Encoding, sum.Currency = string(enc), "CNY"
	cr := newCSVReader(text)
	headerFields, _, err := cr.read()
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
	header := make([]string, len(headerFields))
	for i, h := range headerFields {
		header[i] = string(h)
	}
	p := &csvParser{file: file, emit: emit, width: len(header)}
	for i := range p.col {
		p.col[i] = -1
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		for c, name := range csvColumns {
			if h == name {
				if p.col[c] >= 0 {
					return emit(Item{Err: &ParseError{File: file, Line: 1, Err: fmt.Errorf("header: column %s twice", name)}})
				}
				p.col[c] = i
			}
		}
	}
	var missing []string
	for _, c := range csvRequired {
		if p.col[c] < 0 {
			missing = append(missing, csvColumns[c])
		}
	}
	if len(missing) > 0 {
		return emit(Item{Err: &ParseError{File: file, Line: 1, Record: excerpt(strings.Join(header, ",")),
			Err: fmt.Errorf("header: missing column(s) %s", strings.Join(missing, ", "))}})
	}
	for {
		_, line, err := cr.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
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
		if err := p.row(cr, line); err != nil {
			return err
		}
	}
}

// fail reports the row as a reject.
func (p *csvParser) fail(rec [][]byte, line int, format string, args ...any) error {
	return p.emit(Item{Err: &ParseError{File: p.file, Line: line, Record: excerpt(string(bytes.Join(rec, []byte{','}))),
		Err: fmt.Errorf(format, args...)}})
}

// get returns the trimmed field of column c, nil when the column is absent.
func (p *csvParser) get(rec [][]byte, c int) []byte {
	if p.col[c] < 0 {
		return nil
	}
	f := rec[p.col[c]]
	i, j := trimBounds(f)
	return f[i:j]
}

// getString returns the trimmed field of column c as a part of text, the
// record as a string.
func (p *csvParser) getString(cr *csvReader, text string, c int) string {
	k := p.col[c]
	if k < 0 {
		return ""
	}
	i, j := trimBounds(cr.fields[k])
	off := cr.offs[k]
	return text[off+i : off+j]
}

func (p *csvParser) row(cr *csvReader, line int) error {
	rec := cr.fields
	if len(rec) != p.width {
		return p.fail(rec, line, "row has %d fields, the header has %d", len(rec), p.width)
	}
	dateText := p.get(rec, cBookingDate)
	var date day.Date
	if len(dateText) > 0 {
		d, ok := parseDate(dateText)
		if !ok || len(dateText) != 10 {
			return p.fail(rec, line, "booking_date %q: %w (want an existing YYYY-MM-DD)", dateText, day.ErrSyntax)
		}
		date = d
	}
	amt, err := parseDecimal(p.get(rec, cAmount))
	if err != nil {
		return p.fail(rec, line, "amount: %w", err)
	}
	var bal Decimal
	balText := p.get(rec, cBalanceAfter)
	if len(balText) > 0 {
		if bal, err = parseDecimal(balText); err != nil {
			return p.fail(rec, line, "balance_after: %w", err)
		}
	}
	// One string for the row; the text columns are parts of it.
	text := string(cr.record)
	if acct := p.get(rec, cAccount); string(acct) != p.account {
		p.account = p.getString(cr, text, cAccount)
	}
	p.entry = Entry{Format: CSV, File: p.file, Account: p.account, BankRef: p.getString(cr, text, cBankRef),
		BookingDate: date, Direction: ledger.Direction(p.getString(cr, text, cDirection)), Amount: amt,
		Currency: "CNY", Kind: ledger.Kind(p.getString(cr, text, cKind)),
		CounterpartyAccount: p.getString(cr, text, cCpAccount), CounterpartyName: p.getString(cr, text, cCpName),
		EndToEndID: p.getString(cr, text, cE2E), OriginalRef: p.getString(cr, text, cOrigRef), Line: line}
	if err := p.emit(Item{Entry: &p.entry}); err != nil {
		return err
	}
	if len(balText) > 0 {
		p.bal = Balance{Format: CSV, File: p.file, Account: p.account, Date: date, Amount: bal, Currency: "CNY", Line: line}
		return p.emit(Item{Balance: &p.bal})
	}
	return nil
}

// asciiSpace marks the ASCII bytes unicode.IsSpace reports.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// trimBounds returns where bytes.TrimSpace(b) starts and ends in b, faster
// than it when a field starts or ends with a non-ASCII letter (a Chinese
// name).
func trimBounds(b []byte) (int, int) {
	start, stop := 0, len(b)
	for start < stop && b[start] < utf8.RuneSelf && asciiSpace[b[start]] {
		start++
	}
	if start < stop && b[start] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRune(b[start:]); unicode.IsSpace(r) {
			return slowTrimBounds(b)
		}
	}
	for stop > start && b[stop-1] < utf8.RuneSelf && asciiSpace[b[stop-1]] {
		stop--
	}
	if stop > start && b[stop-1] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeLastRune(b[start:stop]); unicode.IsSpace(r) {
			return slowTrimBounds(b)
		}
	}
	return start, stop
}

func slowTrimBounds(b []byte) (int, int) {
	start := len(b) - len(bytes.TrimLeftFunc(b, unicode.IsSpace))
	return start, start + len(bytes.TrimRightFunc(b[start:], unicode.IsSpace))
}
