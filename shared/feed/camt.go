package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
)

// camt element names the parser looks at; everything else is nOther.
type camtName uint8

const (
	nOther camtName = iota
	nBkToCstmrStmt
	nBkToCstmrDbtCdtNtfctn
	nStmt
	nNtfctn
	nAcct
	nId
	nOthr
	nIBAN
	nCcy
	nBal
	nTp
	nCdOrPrtry
	nCd
	nAmt
	nCdtDbtInd
	nDt
	nDtTm
	nNtry
	nSts
	nBookgDt
	nAcctSvcrRef
	nNtryRef
	nBkTxCd
	nDomn
	nFmly
	nSubFmlyCd
	nNtryDtls
	nTxDtls
	nRefs
	nEndToEndId
	nAmtDtls
	nTxAmt
	nRltdPties
	nCdtr
	nDbtr
	nCdtrAcct
	nDbtrAcct
	nNm
	nPty
	nRtrInf
)

func camtCode(b []byte) camtName {
	switch string(b) {
	case "BkToCstmrStmt":
		return nBkToCstmrStmt
	case "BkToCstmrDbtCdtNtfctn":
		return nBkToCstmrDbtCdtNtfctn
	case "Stmt":
		return nStmt
	case "Ntfctn":
		return nNtfctn
	case "Acct":
		return nAcct
	case "Id":
		return nId
	case "Othr":
		return nOthr
	case "IBAN":
		return nIBAN
	case "Ccy":
		return nCcy
	case "Bal":
		return nBal
	case "Tp":
		return nTp
	case "CdOrPrtry":
		return nCdOrPrtry
	case "Cd":
		return nCd
	case "Amt":
		return nAmt
	case "CdtDbtInd":
		return nCdtDbtInd
	case "Dt":
		return nDt
	case "DtTm":
		return nDtTm
	case "Ntry":
		return nNtry
	case "Sts":
		return nSts
	case "BookgDt":
		return nBookgDt
	case "AcctSvcrRef":
		return nAcctSvcrRef
	case "NtryRef":
		return nNtryRef
	case "BkTxCd":
		return nBkTxCd
	case "Domn":
		return nDomn
	case "Fmly":
		return nFmly
	case "SubFmlyCd":
		return nSubFmlyCd
	case "NtryDtls":
		return nNtryDtls
	case "TxDtls":
		return nTxDtls
	case "Refs":
		return nRefs
	case "EndToEndId":
		return nEndToEndId
	case "AmtDtls":
		return nAmtDtls
	case "TxAmt":
		return nTxAmt
	case "RltdPties":
		return nRltdPties
	case "Cdtr":
		return nCdtr
	case "Dbtr":
		return nDbtr
	case "CdtrAcct":
		return nCdtrAcct
	case "DbtrAcct":
		return nDbtrAcct
	case "Nm":
		return nNm
	case "Pty":
		return nPty
	case "RtrInf":
		return nRtrInf
	}
	return nOther
}

// maxPendingTx bounds the transaction details buffered while an entry's
// status is not yet known (schema order puts Sts before NtryDtls, so this
// only matters for files out of order).
const maxPendingTx = 10000

type camtBal struct {
	cd, amt, ccy, cdi, dt []byte
}

type camtNtry struct {
	amt, ccy, cdi, sts, stsCd, bookDt, acctSvcrRef, ntryRef, fmly, subFmly []byte
	index, line                                                            int
	ntx                                                                    int
	pending                                                                []camtTx
	decided, book                                                          bool
}

type camtTxBuf struct {
	e2e, txAmt, txCcy, amt, amtCcy, cdi, cdtrNm, cdtrAcct, dbtrNm, dbtrAcct, fmly, subFmly []byte
	rtr                                                                                    bool
}

type camtTx struct {
	e2e, txAmt, txCcy, amt, amtCcy, cdi, cdtrNm, cdtrAcct, dbtrNm, dbtrAcct, fmly, subFmly string
	rtr                                                                                    bool
}

func (b *camtTxBuf) freeze() camtTx {
	return camtTx{
		e2e: trimStr(b.e2e), txAmt: trimStr(b.txAmt), txCcy: trimStr(b.txCcy), amt: trimStr(b.amt),
		amtCcy: trimStr(b.amtCcy), cdi: trimStr(b.cdi), cdtrNm: trimStr(b.cdtrNm), cdtrAcct: trimStr(b.cdtrAcct),
		dbtrNm: trimStr(b.dbtrNm), dbtrAcct: trimStr(b.dbtrAcct), fmly: trimStr(b.fmly), subFmly: trimStr(b.subFmly),
		rtr: b.rtr,
	}
}

func trimStr(b []byte) string { return string(bytes.TrimSpace(b)) }

type camtParser struct {
	file   string
	format Format
	sum    *Summary
	emit   func(Item) error
	tok    *xmlTokenizer

	st                          []camtName
	stmtAt, balAt, ntryAt, txAt int
	target                      *[]byte
	targetAt                    int

	stmtNo     int
	acct       []byte
	acctCcy    []byte
	bal        camtBal
	balNo      int
	ntry       camtNtry
	ntryNo     int
	tx         camtTxBuf
	account    string // acct frozen as a string
	accountSet bool
}

func parseCamt(r io.Reader, f Format, file string, sum *Summary, emit func(Item) error) error {
	p := &camtParser{file: file, format: f, sum: sum, emit: emit, tok: newXMLTokenizer(r),
		stmtAt: -1, balAt: -1, ntryAt: -1, txAt: -1, targetAt: -1}
	return p.run()
}

func (p *camtParser) breakOff(err error) error {
	var ioe xmlIOError
	if errors.As(err, &ioe) {
		return ioe
	}
	entry := 0
	if p.ntryAt >= 0 {
		entry = p.ntry.index
	}
	return p.emit(Item{Err: &ParseError{File: p.file, Line: p.tok.lineNow(), Entry: entry, Err: err}, Statement: p.stmtNo})
}

func (p *camtParser) run() error {
	t := p.tok
	for {
		k, err := t.next()
		if err != nil {
			return p.breakOff(err)
		}
		switch k {
		case xmlEOF:
			if p.stmtNo == 0 {
				return p.emit(Item{Err: &ParseError{File: p.file, Line: t.lineNow(),
					Err: errors.New("no Stmt (camt.053) or Ntfctn (camt.054) element in the document")}})
			}
			return nil
		case xmlText:
			if p.target != nil {
				if len(*p.target)+len(t.text) > xmlMaxToken {
					return p.breakOff(errXMLToken)
				}
				*p.target = append(*p.target, t.text...)
			}
		case xmlStart:
			if err := p.start(camtCode(t.local)); err != nil {
				return err
			}
		case xmlEnd:
			if err := p.end(); err != nil {
				return err
			}
		}
	}
}

func hasPath(r []camtName, path ...camtName) bool {
	if len(r) != len(path) {
		return false
	}
	for i := range r {
		if r[i] != path[i] {
			return false
		}
	}
	return true
}

func (p *camtParser) setTarget(dst *[]byte, d int) {
	*dst = (*dst)[:0]
	p.target, p.targetAt = dst, d
}

func (p *camtParser) start(c camtName) error {
	p.st = append(p.st, c)
	d := len(p.st) - 1
	p.target, p.targetAt = nil, -1
	if (c == nStmt || c == nNtfctn) && d >= 1 && (p.st[d-1] == nBkToCstmrStmt || p.st[d-1] == nBkToCstmrDbtCdtNtfctn) && p.stmtAt < 0 {
		p.stmtAt = d
		p.stmtNo++
		p.sum.Statements++
		p.acct, p.acctCcy = p.acct[:0], p.acctCcy[:0]
		p.accountSet = false
		return nil
	}
	if p.stmtAt < 0 {
		return nil
	}
	switch {
	case p.txAt >= 0:
		p.startTx(c, p.st[p.txAt+1:], d)
	case p.ntryAt >= 0:
		r := p.st[p.ntryAt+1:]
		n := &p.ntry
		switch {
		case c == nTxDtls && hasPath(r, nNtryDtls, nTxDtls):
			p.txAt = d
			p.tx = camtTxBuf{e2e: p.tx.e2e[:0], txAmt: p.tx.txAmt[:0], txCcy: p.tx.txCcy[:0], amt: p.tx.amt[:0],
				amtCcy: p.tx.amtCcy[:0], cdi: p.tx.cdi[:0], cdtrNm: p.tx.cdtrNm[:0], cdtrAcct: p.tx.cdtrAcct[:0],
				dbtrNm: p.tx.dbtrNm[:0], dbtrAcct: p.tx.dbtrAcct[:0], fmly: p.tx.fmly[:0], subFmly: p.tx.subFmly[:0]}
		case hasPath(r, nAmt):
			p.setTarget(&n.amt, d)
			v, _ := p.tok.attr("Ccy")
			n.ccy = append(n.ccy[:0], v...)
		case hasPath(r, nCdtDbtInd):
			p.setTarget(&n.cdi, d)
		case hasPath(r, nSts):
			p.setTarget(&n.sts, d)
		case hasPath(r, nSts, nCd):
			p.setTarget(&n.stsCd, d)
		case hasPath(r, nBookgDt, nDt), hasPath(r, nBookgDt, nDtTm):
			p.setTarget(&n.bookDt, d)
		case hasPath(r, nAcctSvcrRef):
			p.setTarget(&n.acctSvcrRef, d)
		case hasPath(r, nNtryRef):
			p.setTarget(&n.ntryRef, d)
		case hasPath(r, nBkTxCd, nDomn, nFmly, nCd):
			p.setTarget(&n.fmly, d)
		case hasPath(r, nBkTxCd, nDomn, nFmly, nSubFmlyCd):
			p.setTarget(&n.subFmly, d)
		}
	case p.balAt >= 0:
		r := p.st[p.balAt+1:]
		b := &p.bal
		switch {
		case hasPath(r, nTp, nCdOrPrtry, nCd):
			p.setTarget(&b.cd, d)
		case hasPath(r, nAmt):
			p.setTarget(&b.amt, d)
			v, _ := p.tok.attr("Ccy")
			b.ccy = append(b.ccy[:0], v...)
		case hasPath(r, nCdtDbtInd):
			p.setTarget(&b.cdi, d)
		case hasPath(r, nDt, nDt), hasPath(r, nDt, nDtTm):
			p.setTarget(&b.dt, d)
		}
	default:
		r := p.st[p.stmtAt+1:]
		switch {
		case c == nBal && len(r) == 1:
			p.balAt = d
			p.bal = camtBal{cd: p.bal.cd[:0], amt: p.bal.amt[:0], ccy: p.bal.ccy[:0], cdi: p.bal.cdi[:0], dt: p.bal.dt[:0]}
		case c == nNtry && len(r) == 1:
			p.ntryAt = d
			p.ntryNo++
			n := &p.ntry
			*n = camtNtry{amt: n.amt[:0], ccy: n.ccy[:0], cdi: n.cdi[:0], sts: n.sts[:0], stsCd: n.stsCd[:0],
				bookDt: n.bookDt[:0], acctSvcrRef: n.acctSvcrRef[:0], ntryRef: n.ntryRef[:0], fmly: n.fmly[:0],
				subFmly: n.subFmly[:0], index: p.ntryNo, pending: n.pending[:0]}
		case hasPath(r, nAcct, nId, nOthr, nId), hasPath(r, nAcct, nId, nIBAN):
			p.setTarget(&p.acct, d)
			p.accountSet = false
		case hasPath(r, nAcct, nCcy):
			p.setTarget(&p.acctCcy, d)
		}
	}
	return nil
}

func (p *camtParser) startTx(c camtName, r []camtName, d int) {
	x := &p.tx
	switch {
	case c == nRtrInf && len(r) == 1:
		x.rtr = true
	case hasPath(r, nRefs, nEndToEndId):
		p.setTarget(&x.e2e, d)
	case hasPath(r, nAmtDtls, nTxAmt, nAmt):
		p.setTarget(&x.txAmt, d)
		v, _ := p.tok.attr("Ccy")
		x.txCcy = append(x.txCcy[:0], v...)
	case hasPath(r, nAmt):
		p.setTarget(&x.amt, d)
		v, _ := p.tok.attr("Ccy")
		x.amtCcy = append(x.amtCcy[:0], v...)
	case hasPath(r, nCdtDbtInd):
		p.setTarget(&x.cdi, d)
	case hasPath(r, nRltdPties, nCdtr, nNm), hasPath(r, nRltdPties, nCdtr, nPty, nNm):
		p.setTarget(&x.cdtrNm, d)
	case hasPath(r, nRltdPties, nDbtr, nNm), hasPath(r, nRltdPties, nDbtr, nPty, nNm):
		p.setTarget(&x.dbtrNm, d)
	case hasPath(r, nRltdPties, nCdtrAcct, nId, nOthr, nId), hasPath(r, nRltdPties, nCdtrAcct, nId, nIBAN):
		p.setTarget(&x.cdtrAcct, d)
	case hasPath(r, nRltdPties, nDbtrAcct, nId, nOthr, nId), hasPath(r, nRltdPties, nDbtrAcct, nId, nIBAN):
		p.setTarget(&x.dbtrAcct, d)
	case hasPath(r, nBkTxCd, nDomn, nFmly, nCd):
		p.setTarget(&x.fmly, d)
	case hasPath(r, nBkTxCd, nDomn, nFmly, nSubFmlyCd):
		p.setTarget(&x.subFmly, d)
	}
}

func (p *camtParser) end() error {
	d := len(p.st) - 1
	p.st = p.st[:d]
	p.target, p.targetAt = nil, -1
	switch d {
	case p.txAt:
		p.txAt = -1
		return p.endTx()
	case p.ntryAt:
		p.ntryAt = -1
		return p.endNtry()
	case p.balAt:
		p.balAt = -1
		return p.endBal()
	case p.stmtAt:
		p.stmtAt = -1
	}
	if p.stmtAt >= 0 && p.ntryAt < 0 && p.balAt < 0 && d == p.stmtAt+2 && p.sum.Currency == "" && p.stmtNo == 1 {
		// Acct/Ccy of the first statement.
		if r := p.st[p.stmtAt+1:]; hasPath(r, nAcct) && len(bytes.TrimSpace(p.acctCcy)) > 0 {
			p.sum.Currency = trimStr(p.acctCcy)
		}
	}
	return nil
}

func (p *camtParser) accountStr() string {
	if !p.accountSet {
		p.account = trimStr(p.acct)
		p.accountSet = true
	}
	return p.account
}

func (p *camtParser) endBal() error {
	b := &p.bal
	if p.sum.Currency == "" && p.stmtNo == 1 {
		p.sum.Currency = trimStr(b.ccy)
	}
	if string(bytes.TrimSpace(b.cd)) != "CLBD" {
		return nil
	}
	p.balNo++
	amt, err := parseDecimal(b.amt)
	if err != nil {
		return p.emit(Item{Err: &ParseError{File: p.file, Line: p.tok.lineNow(), Err: fmt.Errorf("closing balance %d: %w", p.balNo, err)}, Statement: p.stmtNo})
	}
	switch string(bytes.TrimSpace(b.cdi)) {
	case "DBIT":
		amt = amt.Neg()
	case "CRDT":
	default:
		return p.emit(Item{Err: &ParseError{File: p.file, Line: p.tok.lineNow(), Record: excerpt(string(b.cdi)),
			Err: fmt.Errorf("closing balance %d: CdtDbtInd is not CRDT or DBIT", p.balNo)}, Statement: p.stmtNo})
	}
	date, err := camtDate(b.dt)
	if err != nil {
		return p.emit(Item{Err: &ParseError{File: p.file, Line: p.tok.lineNow(), Record: excerpt(string(b.dt)),
			Err: fmt.Errorf("closing balance %d: %w", p.balNo, err)}, Statement: p.stmtNo})
	}
	return p.emit(Item{Balance: &Balance{Format: p.format, File: p.file, Account: p.accountStr(), Date: date,
		Amount: amt, Currency: trimStr(b.ccy), Line: p.balNo}, Statement: p.stmtNo})
}

func (n *camtNtry) statusKnown() bool {
	return len(bytes.TrimSpace(n.sts)) > 0 || len(bytes.TrimSpace(n.stsCd)) > 0
}

func (n *camtNtry) booked() bool {
	return string(bytes.TrimSpace(n.sts)) == "BOOK" || string(bytes.TrimSpace(n.stsCd)) == "BOOK"
}

func (p *camtParser) endTx() error {
	n := &p.ntry
	n.ntx++
	tx := p.tx.freeze()
	if n.ntx == 1 || !n.statusKnown() {
		if len(n.pending) >= maxPendingTx {
			return p.emit(Item{Err: &ParseError{File: p.file, Line: p.tok.lineNow(), Entry: n.index,
				Err: fmt.Errorf("more than %d transaction details before the entry's status", maxPendingTx)}, Statement: p.stmtNo})
		}
		n.pending = append(n.pending, tx)
		return nil
	}
	// A batch whose status is known: stream it.
	if !n.booked() {
		n.pending = n.pending[:0]
		return nil
	}
	first := n.ntx - len(n.pending)
	for i := range n.pending {
		if err := p.emitTx(&n.pending[i], first+i); err != nil {
			return err
		}
	}
	n.pending = n.pending[:0]
	return p.emitTx(&tx, n.ntx)
}

func (p *camtParser) endNtry() error {
	n := &p.ntry
	if !n.booked() {
		return nil
	}
	if n.ntx <= 1 {
		var tx camtTx
		if len(n.pending) == 1 {
			tx = n.pending[0]
		}
		return p.emitEntry(&tx, 0)
	}
	first := n.ntx - len(n.pending) + 1
	for i := range n.pending {
		if err := p.emitTx(&n.pending[i], first+i); err != nil {
			return err
		}
	}
	n.pending = n.pending[:0]
	return nil
}

func (p *camtParser) emitTx(tx *camtTx, seq int) error { return p.emitEntry(tx, seq) }

// emitEntry emits the entry for the Ntry (seq 0, with the Ntry's amount and
// direction, parties from its only TxDtls) or for its seq-th TxDtls.
func (p *camtParser) emitEntry(tx *camtTx, seq int) error {
	n := &p.ntry
	ref := trimStr(n.acctSvcrRef)
	if ref == "" {
		ref = trimStr(n.ntryRef)
	}
	amtText, ccy, cdi := trimStr(n.amt), trimStr(n.ccy), trimStr(n.cdi)
	if seq > 0 {
		ref = fmt.Sprintf("%s/%d", ref, seq)
		switch {
		case tx.txAmt != "":
			amtText, ccy = tx.txAmt, tx.txCcy
		default:
			amtText, ccy = tx.amt, tx.amtCcy
		}
		if tx.cdi != "" {
			cdi = tx.cdi
		}
	}
	fail := func(record string, err error) error {
		if seq > 0 {
			err = fmt.Errorf("transaction %d: %w", seq, err)
		}
		return p.emit(Item{Err: &ParseError{File: p.file, Line: p.tok.lineNow(), Entry: n.index, Record: excerpt(record), Err: err}, Statement: p.stmtNo})
	}
	if amtText == "" {
		return fail("", errors.New("amount missing"))
	}
	amt, err := ParseDecimal(amtText)
	if err != nil {
		return fail(amtText, err)
	}
	var date day.Date
	if len(bytes.TrimSpace(n.bookDt)) > 0 {
		if date, err = camtDate(n.bookDt); err != nil {
			return fail(string(n.bookDt), fmt.Errorf("booking date: %w", err))
		}
	}
	e := &Entry{Format: p.format, File: p.file, Account: p.accountStr(), BankRef: ref, BookingDate: date,
		Amount: amt, Currency: ccy, EndToEndID: tx.e2e, Line: n.index}
	fmly, sub := trimStr(n.fmly), trimStr(n.subFmly)
	if tx.fmly != "" {
		fmly = tx.fmly
	}
	if tx.subFmly != "" {
		sub = tx.subFmly
	}
	switch cdi {
	case "CRDT":
		e.Direction = ledger.Credit
		e.CounterpartyAccount, e.CounterpartyName = tx.dbtrAcct, tx.dbtrNm
		if tx.rtr || sub == "RRTN" || trimStr(n.subFmly) == "RRTN" {
			e.Kind, e.OriginalRef = ledger.Return, tx.e2e
		} else {
			e.Kind = ledger.Deposit
		}
	case "DBIT":
		e.Direction = ledger.Debit
		e.CounterpartyAccount, e.CounterpartyName = tx.cdtrAcct, tx.cdtrNm
		if fmly == "CHRG" || trimStr(n.fmly) == "CHRG" {
			e.Kind = ledger.Fee
		} else {
			e.Kind = ledger.Payroll
		}
	default:
		e.Direction = ledger.Direction(cdi)
	}
	return p.emit(Item{Entry: e, Statement: p.stmtNo})
}

// camtDate reads an ISODate or ISODateTime; a date-time with an offset is
// taken as its date in Asia/Shanghai, one without as written.
func camtDate(b []byte) (day.Date, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 10 && b[10] == 'T' {
		if t, err := time.Parse(time.RFC3339Nano, string(b)); err == nil {
			return day.Of(t), nil
		}
	}
	d, ok := parseDate(b)
	if !ok || (len(b) > 10 && !bytes.ContainsAny(b[10:11], "T+-Z")) {
		return 0, fmt.Errorf("date %q: %w", excerpt(string(b)), day.ErrSyntax)
	}
	return d, nil
}
