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
	code  [3]byte
	ref   []byte // the bank reference, made a string with info on emit
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
	// out is the Entry emitted, reused for every entry.
	out Entry
	// bal is the Balance emitted, reused for every balance.
	bal Balance
	// text holds the bank reference and :86: text of an entry, made one
	// string.
	text []byte
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
		return mtTag(l[1:3]), 4
	}
	if len(l) >= 5 && l[3] >= 'A' && l[3] <= 'Z' && l[4] == ':' {
		return mtTag(l[1:4]), 5
	}
	return "", 0
}

// mtTag returns the tag as a string, without allocating for the tags the
// parser looks at.
func mtTag(b []byte) string {
	switch string(b) {
	case "20":
		return "20"
	case "25":
		return "25"
	case "28C":
		return "28C"
	case "60F":
		return "60F"
	case "60M":
		return "60M"
	case "61":
		return "61"
	case "62F":
		return "62F"
	case "62M":
		return "62M"
	case "64":
		return "64"
	case "65":
		return "65"
	case "86":
		return "86"
	}
	return string(b)
}

// mtTrimLine is bytes.TrimRight(bytes.Trim(bytes.TrimRight(raw, "\r\n"),
// "\x01\x03\x1a"), "\r"): the line without its end and SWIFT framing bytes.
func mtTrimLine(raw []byte) []byte {
	l := raw
	for len(l) > 0 && (l[len(l)-1] == '\n' || l[len(l)-1] == '\r') {
		l = l[:len(l)-1]
	}
	framing := func(c byte) bool { return c == 0x01 || c == 0x03 || c == 0x1a }
	for len(l) > 0 && framing(l[0]) {
		l = l[1:]
	}
	for len(l) > 0 && framing(l[len(l)-1]) {
		l = l[:len(l)-1]
	}
	for len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	return l
}

func (p *mtParser) line(raw []byte) error {
	l := mtTrimLine(raw)
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
		p.bal = Balance{Format: MT940, File: p.file, Account: p.account, Date: date,
			Amount: amt, Currency: ccy, Line: f.line}
		return p.emit(Item{Balance: &p.bal, Statement: p.stmtNo})
	case "61":
		p.after61 = true
		if err := p.parse61(f, &p.pending); err != nil {
			return p.fail(f.line, f.first, "statement line :61:: %w", err)
		}
		p.hasPending = true
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
	for _, c := range v[7:10] {
		if c < 'A' || c > 'Z' {
			return 0, Decimal{}, "", fmt.Errorf("currency %q is not 3 letters", v[7:10])
		}
	}
	ccy := "CNY"
	if string(v[7:10]) != ccy {
		ccy = string(v[7:10])
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
	d, _, ok := mtDateYear(b)
	return d, ok
}

// mtDateYear reads YYMMDD and also returns the year.
func mtDateYear(b []byte) (day.Date, int, bool) {
	if len(b) != 6 {
		return 0, 0, false
	}
	yy, ok1 := atoi(b[0:2])
	m, ok2 := atoi(b[2:4])
	d, ok3 := atoi(b[4:6])
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, false
	}
	y := mtYear(yy)
	date, ok := mkDate(y, m, d)
	return date, y, ok
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parse61 reads a :61: statement line into pe (reused: everything it holds
// is set or reset here).
func (p *mtParser) parse61(f *mtField, pe *mtPending) error {
	s := bytes.TrimRight(f.first, " ")
	pe.e, pe.rd, pe.rc, pe.code = Entry{}, false, false, [3]byte{}
	pe.ref, pe.info, pe.has86 = pe.ref[:0], pe.info[:0], false
	if len(s) < 6 {
		return errors.New("too short")
	}
	vd, vy, ok := mtDateYear(s[:6])
	if !ok {
		return fmt.Errorf("value date %q: %w", s[:6], day.ErrSyntax)
	}
	i := 6
	booking := vd
	if len(s) >= i+4 {
		if isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			m, _ := atoi(s[i : i+2])
			d, _ := atoi(s[i+2 : i+4])
			bd, ok := nearestDate(vd, vy, m, d)
			if !ok {
				return fmt.Errorf("entry date %q: %w", s[i:i+4], day.ErrSyntax)
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
		return errors.New("debit/credit mark is not C, D, RC or RD")
	}
	if i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		i++ // funds code
	}
	j := i
	mark := false
	for j < len(s) && (isDigit(s[j]) || s[j] == ',' || s[j] == '.') {
		mark = mark || !isDigit(s[j])
		j++
	}
	if !mark {
		return fmt.Errorf("amount %q without a decimal mark", s[i:j])
	}
	amt, err := parseDecimal(s[i:j])
	if err != nil {
		return err
	}
	i = j
	if i+4 <= len(s) && (s[i] == 'N' || s[i] == 'F' || s[i] == 'S') && alnum3(s[i+1:i+4]) {
		copy(pe.code[:], s[i+1:i+4])
		i += 4
	}
	rest := s[i:]
	cust, bank := rest, []byte(nil)
	if k := bytes.Index(rest, []byte("//")); k >= 0 {
		cust, bank = rest[:k], rest[k+2:]
	}
	ref := bytes.TrimSpace(bank)
	if len(ref) == 0 {
		ref = bytes.TrimSpace(cust)
	}
	pe.ref = append(pe.ref, ref...)
	e.Format, e.File, e.Account, e.BookingDate, e.Amount, e.Currency, e.Line =
		MT940, p.file, p.account, booking, amt, p.currency, f.line
	return nil
}

func alnum3(b []byte) bool {
	for _, c := range b {
		if !(isDigit(c) || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// nearestDate returns the date m-d in the year y of vd, or the one before or
// after, that is nearest to vd.
func nearestDate(vd day.Date, y, m, d int) (day.Date, bool) {
	// Within 182 days in the same year, no other year's m-d is as near.
	if c, ok := mkDate(y, m, d); ok && abs(c.Sub(vd)) < 182 {
		return c, true
	}
	best, found := day.Date(0), false
	for yy := y - 1; yy <= y+1; yy++ {
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
	// One string for the bank reference and the :86: text.
	p.text = append(append(p.text[:0], pe.ref...), bytes.TrimSpace(pe.info)...)
	text := string(p.text)
	p.out = pe.e
	e := &p.out
	e.BankRef = text[:len(pe.ref)]
	info := mtParse86(text[len(pe.ref):])
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
		if c := string(pe.code[:]); c == "CHG" || c == "COM" {
			e.Kind = ledger.Fee
		} else {
			e.Kind = ledger.Payroll
		}
	}
	pe.info = pe.info[:0]
	return p.emit(Item{Entry: e, Statement: p.stmtNo})
}

type mt86 struct {
	cpAcct, cpName, eref, remi string
	rtrn                       bool
}

// The codes of the structured :86: form.
const (
	c86None = iota
	c86CNTP
	c86REMI
	c86EREF
	c86RTRN
	c86Other // codes the parser does not read
	c86Count = c86Other + 16
)

// mt86Code returns the index of a structured :86: code (c86None if s is
// not one); codes the parser does not read get distinct indexes from
// c86Other on.
func mt86Code(s string) int {
	switch s {
	case "CNTP":
		return c86CNTP
	case "REMI":
		return c86REMI
	case "EREF":
		return c86EREF
	case "RTRN":
		return c86RTRN
	case "TRTP":
		return c86Other
	case "IBAN":
		return c86Other + 1
	case "BIC":
		return c86Other + 2
	case "NAME":
		return c86Other + 3
	case "ORDP":
		return c86Other + 4
	case "BENM":
		return c86Other + 5
	case "MARF":
		return c86Other + 6
	case "CSID":
		return c86Other + 7
	case "PURP":
		return c86Other + 8
	case "ULTC":
		return c86Other + 9
	case "ULTD":
		return c86Other + 10
	case "ULTB":
		return c86Other + 11
	case "EXCH":
		return c86Other + 12
	case "CHGS":
		return c86Other + 13
	case "ISDT":
		return c86Other + 14
	case "PREF":
		return c86Other + 15
	case "OCMT":
		return c86Count
	}
	return c86None
}

// mtParse86 reads the structured :86: form (/CODE/subfields…); any other
// form is kept whole as remittance text. s is already trimmed; the strings
// returned are parts of it.
//
// In the structured form the text is split at every "/"; the first
// occurrence of a code starts that code's subfields, which run to the next
// code not seen before (a code seen again is a subfield). Each code's
// subfields are thus one stretch of s.
func mtParse86(s string) mt86 {
	var r mt86
	if s == "" {
		return r
	}
	if len(s) < 2 || s[0] != '/' {
		r.remi = s
		return r
	}
	first := s[1:]
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	if mt86Code(first) == c86None {
		r.remi = s
		return r
	}
	var seen [c86Count + 1]bool
	cur := c86None
	sub := 0 // index of the next subfield of cur
	hasRemi := false
	remiN, remiStart, remi2, remiEnd := 0, 0, 0, 0
	remiUSTD := false
	// Walk the parts after the leading "/".
	for a := 1; a <= len(s); {
		b := strings.IndexByte(s[a:], '/')
		if b < 0 {
			b = len(s)
		} else {
			b += a
		}
		part := s[a:b]
		if c := mt86Code(part); c != c86None && !seen[c] {
			seen[c], cur, sub = true, c, 0
			if c == c86RTRN {
				r.rtrn = true
			}
			if c == c86REMI {
				hasRemi = true
			}
		} else {
			switch cur {
			case c86CNTP:
				switch sub {
				case 0:
					r.cpAcct = strings.TrimSpace(part)
				case 2:
					r.cpName = strings.TrimSpace(part)
				}
			case c86EREF:
				if sub == 0 {
					r.eref = strings.TrimSpace(part)
				}
			case c86REMI:
				switch sub {
				case 0:
					remiStart, remiUSTD = a, part == "USTD"
				case 2:
					remi2 = a
				}
				remiEnd = b
				remiN = sub + 1
			}
			sub++
		}
		a = b + 1
	}
	if hasRemi {
		var joined string
		switch {
		case remiN >= 2 && remiUSTD:
			if remiN > 2 {
				joined = s[remi2:remiEnd]
			}
		case remiN > 0:
			joined = s[remiStart:remiEnd]
		}
		r.remi = strings.TrimSpace(strings.TrimRight(joined, "/"))
	}
	return r
}
