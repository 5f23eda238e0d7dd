package feed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
)

// Limits of the MT940 reader.
const (
	mtMaxLine  = 256 << 10 // a longer line breaks the file off
	mtMaxField = 64 << 10  // a longer field (e.g. :86:) is rejected
)

type mtField struct {
	tag   string
	line  int
	first []byte // the field's first line (after the tag)
	more  []byte // continuation lines, concatenated without line breaks
	nmore int
	over  bool // longer than mtMaxField
}

type mtPending struct {
	e     Entry
	rd    bool // mark RD
	rc    bool // mark RC
	code  string
	info  []byte
	has86 bool
}

type mtParser struct {
	file string
	sum  *Summary
	emit func(Item) error

	lineNo int
	field  mtField
	inFld  bool

	stmtNo     int
	inStmt     bool
	stmtLine   int
	account    string
	currency   string
	closing    bool
	after61    bool
	pending    mtPending
	hasPending bool
}

func parseMT940(r io.Reader, file string, sum *Summary, emit func(Item) error) error {
	p := &mtParser{file: file, sum: sum, emit: emit}
	br := bufio.NewReaderSize(r, mtMaxLine)
	for {
		raw, err := br.ReadSlice('\n')
		if len(raw) > 0 || err == nil {
			if err == bufio.ErrBufferFull {
				if e := p.flushField(); e != nil {
					return e
				}
				return p.emit(Item{Err: perr(file, p.lineNo+1, 0, raw[:min(len(raw), 40)],
					"line longer than %d bytes: file breaks off", mtMaxLine), Statement: p.stmtNo})
			}
			p.lineNo++
			if e := p.line(raw); e != nil {
				return e
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read line %d: %w", p.lineNo+1, err)
		}
	}
	if err := p.flushField(); err != nil {
		return err
	}
	if p.inStmt && !p.closing && p.hasPending {
		// The file ends inside a statement: its last entry may be cut off.
		p.hasPending, p.inStmt = false, false
		if err := p.fail(p.pending.e.Line, nil, "file breaks off in statement %d (no closing balance): the entry at line %d may be incomplete and is not kept",
			p.stmtNo, p.pending.e.Line); err != nil {
			return err
		}
	}
	if err := p.endStatement(); err != nil {
		return err
	}
	if p.stmtNo == 0 {
		return p.emit(Item{Err: perr(file, max(p.lineNo, 1), 0, nil, "no MT940 statement (:20:) in the file")})
	}
	return nil
}

// tagOf returns the tag of a line that starts a field (":20:", ":61:",
// ":60F:", ":NS:") and the length of the prefix.
func tagOf(l []byte) (string, int) {
	if len(l) < 4 || l[0] != ':' {
		return "", 0
	}
	alnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' }
	if !alnum(l[1]) || !alnum(l[2]) {
		return "", 0
	}
	if l[3] == ':' {
		return string(l[1:3]), 4
	}
	if len(l) >= 5 && l[3] >= 'A' && l[3] <= 'Z' && l[4] == ':' {
		return string(l[1:4]), 5
	}
	return "", 0
}

func (p *mtParser) line(raw []byte) error {
	l := bytes.TrimRight(raw, "\r\n")
	l = bytes.Trim(l, "\x01\x03\x1a")
	l = bytes.TrimRight(l, "\r")
	// Envelope blocks: "{1:…}{2:…}{3:…}{4:" — the text after "{4:" is content.
	if bytes.HasPrefix(l, []byte("{")) {
		if i := bytes.Index(l, []byte("{4:")); i >= 0 {
			l = l[i+3:]
			if len(bytes.TrimSpace(l)) == 0 {
				return p.flushField()
			}
		} else if bytes.HasPrefix(l, []byte("{1:")) || bytes.HasPrefix(l, []byte("{5:")) {
			return p.flushField()
		}
	}
	if bytes.HasPrefix(l, []byte("-}")) || string(bytes.TrimSpace(l)) == "-" {
		if err := p.flushField(); err != nil {
			return err
		}
		return p.endStatement()
	}
	if tag, n := tagOf(l); tag != "" {
		if err := p.flushField(); err != nil {
			return err
		}
		p.field = mtField{tag: tag, line: p.lineNo, first: append(p.field.first[:0], l[n:]...), more: p.field.more[:0]}
		p.inFld = true
		return nil
	}
	if !p.inFld {
		return nil // bank header lines, ":940:", blank lines between messages
	}
	f := &p.field
	if len(f.first)+len(f.more)+len(l) > mtMaxField {
		f.over = true
		return nil
	}
	f.more = append(f.more, l...)
	f.nmore++
	return nil
}

func (p *mtParser) fail(line int, record []byte, format string, args ...any) error {
	return p.emit(Item{Err: perr(p.file, line, 0, record, format, args...), Statement: p.stmtNo})
}

func (p *mtParser) flushField() error {
	if !p.inFld {
		return nil
	}
	p.inFld = false
	f := &p.field
	if f.tag != "86" {
		if err := p.flushEntry(); err != nil {
			return err
		}
	}
	if f.over {
		return p.fail(f.line, f.first, "field :%s: longer than %d bytes", f.tag, mtMaxField)
	}
	switch f.tag {
	case "20":
		if err := p.endStatement(); err != nil {
			return err
		}
		p.stmtNo++
		p.sum.Statements++
		p.inStmt, p.stmtLine = true, f.line
		p.account, p.currency, p.closing, p.after61 = "", "", false, false
	case "25":
		if p.after61 {
			return p.fail(f.line, f.first, "field :25: after the statement lines (a :86: or :62F: was expected)")
		}
		v := string(bytes.TrimSpace(f.first))
		if i := strings.LastIndexByte(v, '/'); i >= 0 {
			v = v[i+1:]
		}
		p.account = strings.TrimSpace(v)
	case "60F", "60M":
		_, _, ccy, err := mtBalance(f.first)
		if err != nil {
			return p.fail(f.line, f.first, "opening balance :%s:: %w", f.tag, err)
		}
		p.currency = ccy
		if p.sum.Currency == "" {
			p.sum.Currency = ccy
		}
	case "62F", "62M":
		p.closing = true
		date, amt, ccy, err := mtBalance(f.first)
		if err != nil {
			return p.fail(f.line, f.first, "closing balance :%s:: %w", f.tag, err)
		}
		if p.sum.Currency == "" {
			p.sum.Currency = ccy
		}
		return p.emit(Item{Balance: &Balance{Format: MT940, File: p.file, Account: p.account, Date: date,
			Amount: amt, Currency: ccy, Line: f.line}, Statement: p.stmtNo})
	case "61":
		p.after61 = true
		pe, err := p.parse61(f)
		if err != nil {
			return p.fail(f.line, f.first, "statement line :61:: %w", err)
		}
		p.pending, p.hasPending = pe, true
	case "86":
		if p.hasPending {
			p.pending.info = append(p.pending.info, f.first...)
			p.pending.info = append(p.pending.info, f.more...)
			p.pending.has86 = true
		}
	}
	return nil
}

func (p *mtParser) endStatement() error {
	if err := p.flushEntry(); err != nil {
		return err
	}
	if !p.inStmt {
		return nil
	}
	p.inStmt = false
	if !p.closing {
		return p.fail(p.stmtLine, nil, "statement %d has no closing balance (:62F:/:62M:)", p.stmtNo)
	}
	return nil
}

// mtBalance reads "C261118CNY7840,00".
func mtBalance(v []byte) (day.Date, Decimal, string, error) {
	v = bytes.TrimSpace(v)
	if len(v) < 11 || (v[0] != 'C' && v[0] != 'D') {
		return 0, Decimal{}, "", errors.New("want C/D, YYMMDD, currency, amount")
	}
	date, ok := mtDate(v[1:7])
	if !ok {
		return 0, Decimal{}, "", fmt.Errorf("date %q: %w", v[1:7], day.ErrSyntax)
	}
	ccy := string(v[7:10])
	for _, c := range v[7:10] {
		if c < 'A' || c > 'Z' {
			return 0, Decimal{}, "", fmt.Errorf("currency %q is not 3 letters", ccy)
		}
	}
	amt, err := parseDecimal(v[10:])
	if err != nil {
		return 0, Decimal{}, "", err
	}
	if v[0] == 'D' {
		amt = amt.Neg()
	}
	return date, amt, ccy, nil
}

func mtYear(yy int) int {
	if yy < 80 {
		return 2000 + yy
	}
	return 1900 + yy
}

func mtDate(b []byte) (day.Date, bool) {
	if len(b) != 6 {
		return 0, false
	}
	yy, ok1 := atoi(b[0:2])
	m, ok2 := atoi(b[2:4])
	d, ok3 := atoi(b[4:6])
	if !ok1 || !ok2 || !ok3 {
		return 0, false
	}
	return mkDate(mtYear(yy), m, d)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *mtParser) parse61(f *mtField) (mtPending, error) {
	s := bytes.TrimRight(f.first, " ")
	var pe mtPending
	if len(s) < 6 {
		return pe, errors.New("too short")
	}
	vd, ok := mtDate(s[:6])
	if !ok {
		return pe, fmt.Errorf("value date %q: %w", s[:6], day.ErrSyntax)
	}
	i := 6
	booking := vd
	if len(s) >= i+4 {
		if isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			m, _ := atoi(s[i : i+2])
			d, _ := atoi(s[i+2 : i+4])
			bd, ok := nearestDate(vd, m, d)
			if !ok {
				return pe, fmt.Errorf("entry date %q: %w", s[i:i+4], day.ErrSyntax)
			}
			booking = bd
			i += 4
		} else if string(s[i:i+4]) == "    " {
			i += 4
		}
	}
	e := &pe.e
	switch {
	case bytes.HasPrefix(s[i:], []byte("RC")):
		pe.rc, e.Direction = true, ledger.Debit
		i += 2
	case bytes.HasPrefix(s[i:], []byte("RD")):
		pe.rd, e.Direction = true, ledger.Credit
		i += 2
	case i < len(s) && s[i] == 'C':
		e.Direction = ledger.Credit
		i++
	case i < len(s) && s[i] == 'D':
		e.Direction = ledger.Debit
		i++
	default:
		return pe, errors.New("debit/credit mark is not C, D, RC or RD")
	}
	if i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		i++ // funds code
	}
	j := i
	for j < len(s) && (isDigit(s[j]) || s[j] == ',' || s[j] == '.') {
		j++
	}
	if bytes.IndexAny(s[i:j], ",.") < 0 {
		return pe, fmt.Errorf("amount %q without a decimal mark", s[i:j])
	}
	amt, err := parseDecimal(s[i:j])
	if err != nil {
		return pe, err
	}
	i = j
	if i+4 <= len(s) && (s[i] == 'N' || s[i] == 'F' || s[i] == 'S') && alnum3(s[i+1:i+4]) {
		pe.code = string(s[i+1 : i+4])
		i += 4
	}
	rest := s[i:]
	cust, bank := rest, []byte(nil)
	if k := bytes.Index(rest, []byte("//")); k >= 0 {
		cust, bank = rest[:k], rest[k+2:]
	}
	e.BankRef = string(bytes.TrimSpace(bank))
	if e.BankRef == "" {
		e.BankRef = string(bytes.TrimSpace(cust))
	}
	e.Format, e.File, e.Account, e.BookingDate, e.Amount, e.Currency, e.Line =
		MT940, p.file, p.account, booking, amt, p.currency, f.line
	return pe, nil
}

func alnum3(b []byte) bool {
	for _, c := range b {
		if !(isDigit(c) || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// nearestDate returns the date m-d in the year (of vd, or the one before or
// after) that is nearest to vd.
func nearestDate(vd day.Date, m, d int) (day.Date, bool) {
	y, _, _ := vd.Parts()
	best, found := day.Date(0), false
	for _, yy := range []int{y - 1, y, y + 1} {
		c, ok := mkDate(yy, m, d)
		if !ok {
			continue
		}
		if !found || abs(c.Sub(vd)) < abs(best.Sub(vd)) {
			best, found = c, true
		}
	}
	return best, found
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func (p *mtParser) flushEntry() error {
	if !p.hasPending {
		return nil
	}
	p.hasPending = false
	pe := &p.pending
	e := pe.e
	info := mtParse86(pe.info)
	e.CounterpartyAccount, e.CounterpartyName = info.cpAcct, info.cpName
	e.EndToEndID, e.Remittance = info.eref, info.remi
	switch {
	case pe.rc:
		e.Kind = ledger.Other
	case pe.rd:
		if info.rtrn {
			e.Kind, e.OriginalRef = ledger.Return, info.eref
		} else {
			e.Kind = ledger.Other
		}
	case e.Direction == ledger.Credit:
		if info.rtrn {
			e.Kind, e.OriginalRef = ledger.Return, info.eref
		} else {
			e.Kind = ledger.Deposit
		}
	default:
		if pe.code == "CHG" || pe.code == "COM" {
			e.Kind = ledger.Fee
		} else {
			e.Kind = ledger.Payroll
		}
	}
	pe.info = pe.info[:0]
	return p.emit(Item{Entry: &e, Statement: p.stmtNo})
}

type mt86 struct {
	cpAcct, cpName, eref, remi string
	rtrn                       bool
}

var mt86Codes = map[string]bool{
	"CNTP": true, "REMI": true, "EREF": true, "RTRN": true, "TRTP": true, "IBAN": true, "BIC": true,
	"NAME": true, "ORDP": true, "BENM": true, "MARF": true, "CSID": true, "PURP": true, "ULTC": true,
	"ULTD": true, "ULTB": true, "EXCH": true, "CHGS": true, "ISDT": true, "PREF": true, "OCMT": true,
}

// mtParse86 reads the structured :86: form (/CODE/subfields…); any other
// form is kept whole as remittance text.
func mtParse86(b []byte) mt86 {
	var r mt86
	s := strings.TrimSpace(string(b))
	if s == "" {
		return r
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || parts[0] != "" || !mt86Codes[parts[1]] {
		r.remi = s
		return r
	}
	fields := map[string][]string{}
	code := ""
	for _, part := range parts[1:] {
		if mt86Codes[part] {
			if _, dup := fields[part]; !dup {
				code = part
				fields[code] = []string{}
				continue
			}
		}
		if code != "" {
			fields[code] = append(fields[code], part)
		}
	}
	if c, ok := fields["CNTP"]; ok {
		if len(c) > 0 {
			r.cpAcct = strings.TrimSpace(c[0])
		}
		if len(c) > 2 {
			r.cpName = strings.TrimSpace(c[2])
		}
	}
	if e := fields["EREF"]; len(e) > 0 {
		r.eref = strings.TrimSpace(e[0])
	}
	_, r.rtrn = fields["RTRN"]
	if rm, ok := fields["REMI"]; ok {
		if len(rm) >= 2 && rm[0] == "USTD" {
			rm = rm[2:]
		}
		r.remi = strings.TrimSpace(strings.TrimRight(strings.Join(rm, "/"), "/"))
	}
	return r
}
