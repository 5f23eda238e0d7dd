package feed

import (
	"fmt"
	"io"
	"strconv"

	"github.com/wagewatch/wagewatch/shared/day"
)

// Deterministic generators of large bank files for the benchmarks. They are
// only run by benchmarks, never by the default go test.

var workerNames = []string{"王建国", "李志强", "张伟", "马福林", "赵永刚", "刘海军", "陈小龙", "杨明"}

const csvHeader = "account,bank_ref,booking_date,direction,amount,kind,counterparty_account,counterparty_name,end_to_end_id,original_ref,balance_after\n"

func appendDate(b []byte, i int) []byte {
	d := civil(2026, 1, 1) + day.Date(i/500)
	return append(b, d.String()...)
}

func appendAmount(b []byte, i int) []byte {
	b = strconv.AppendInt(b, int64(1000+i%9000), 10)
	b = append(b, '.')
	c := i % 100
	b = append(b, byte('0'+c/10), byte('0'+c%10))
	return b
}

func genCSVRow(b []byte, i int) []byte {
	b = append(b, "6228480010000001,ABC"...)
	b = strconv.AppendInt(b, int64(10000000+i), 10)
	b = append(b, ',')
	b = appendDate(b, i)
	if i%7 == 0 {
		b = append(b, ",C,"...)
		b = appendAmount(b, i)
		b = append(b, ",deposit,9558800200112233,天水市秦州区住房保障中心,DEP-"...)
	} else {
		b = append(b, ",D,"...)
		b = appendAmount(b, i)
		b = append(b, ",payroll,62284800101"...)
		b = strconv.AppendInt(b, int64(10000+i%10000), 10)
		b = append(b, ',')
		b = append(b, workerNames[i%len(workerNames)]...)
		b = append(b, ",PAY-"...)
	}
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ",,"...)
	b = strconv.AppendInt(b, int64(100000+i), 10)
	return append(b, ".00\n"...)
}

const camtHead = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-11-19T18:00:00+08:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>BENCH-1</Id>
      <Acct><Id><Othr><Id>6217000020000002</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">7540.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-16</Dt></Dt></Bal>
`

const camtTail = "    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n"

func genCamtNtry(b []byte, i int) []byte {
	b = append(b, "      <Ntry>\n        <Amt Ccy=\"CNY\">"...)
	b = appendAmount(b, i)
	if i%7 == 0 {
		b = append(b, "</Amt>\n        <CdtDbtInd>CRDT</CdtDbtInd>\n"...)
	} else {
		b = append(b, "</Amt>\n        <CdtDbtInd>DBIT</CdtDbtInd>\n"...)
	}
	b = append(b, "        <Sts><Cd>BOOK</Cd></Sts>\n        <BookgDt><Dt>"...)
	b = appendDate(b, i)
	b = append(b, "</Dt></BookgDt>\n        <ValDt><Dt>"...)
	b = appendDate(b, i)
	b = append(b, "</Dt></ValDt>\n        <AcctSvcrRef>CCB"...)
	b = strconv.AppendInt(b, int64(10000000+i), 10)
	b = append(b, "</AcctSvcrRef>\n        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>SALA</SubFmlyCd></Fmly></Domn></BkTxCd>\n        <NtryDtls>\n          <TxDtls>\n            <Refs><EndToEndId>PAY-"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "</EndToEndId></Refs>\n            <RltdPties>\n              <Cdtr><Pty><Nm>"...)
	b = append(b, workerNames[i%len(workerNames)]...)
	b = append(b, "</Nm></Pty></Cdtr>\n              <CdtrAcct><Id><Othr><Id>62170000202"...)
	b = strconv.AppendInt(b, int64(10000+i%10000), 10)
	b = append(b, "</Id></Othr></Id></CdtrAcct>\n            </RltdPties>\n            <RmtInf><Ustrd>2026年10月工资 wages for October &amp; advance</Ustrd></RmtInf>\n          </TxDtls>\n        </NtryDtls>\n      </Ntry>\n"...)
	return b
}

const mtHead = ":20:BENCH\n:25:ABOCCNBJ270/6228480030000003\n:28C:1/1\n:60F:C261001CNY0,00\n"

func mtLine(b []byte, i int) []byte {
	b = append(b, ":61:"...)
	d := civil(2026, 1, 1) + day.Date(i/500)
	s := d.String()
	b = append(b, s[2:4]...)
	b = append(b, s[5:7]...)
	b = append(b, s[8:10]...)
	b = append(b, s[5:7]...)
	b = append(b, s[8:10]...)
	if i%7 == 0 {
		b = append(b, 'C')
	} else {
		b = append(b, 'D')
	}
	b = strconv.AppendInt(b, int64(1000+i%9000), 10)
	b = append(b, ",00NTRFPAY"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "//ABC"...)
	b = strconv.AppendInt(b, int64(10000000+i), 10)
	b = append(b, "\n:86:/CNTP/62284800303"...)
	b = strconv.AppendInt(b, int64(10000+i%10000), 10)
	b = append(b, "/ABOCCNBJ/YANG MING/TIANSHUI//REMI/USTD//WAGE\n ADVANCE OCT 2026//EREF/PAY-"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "/\n"...)
	if i%1000 == 999 {
		b = append(b, ":62F:C261118CNY7840,00\n-\n:20:BENCH\n:25:6228480030000003\n:60F:C261001CNY7840,00\n"...)
	}
	return b
}

// genReader streams head, generated records until at least size bytes, and
// tail, holding only one chunk in memory.
type genReader struct {
	head, tail string
	rec        func([]byte, int) []byte
	size       int64
	n          int64
	i          int
	buf        []byte
	off        int
	done       bool
}

func newGenReader(head, tail string, rec func([]byte, int) []byte, size int64) *genReader {
	return &genReader{head: head, tail: tail, rec: rec, size: size, buf: []byte(head)}
}

func (g *genReader) Read(p []byte) (int, error) {
	for g.off == len(g.buf) {
		if g.done {
			return 0, io.EOF
		}
		g.buf, g.off = g.buf[:0], 0
		for len(g.buf) < 64<<10 && g.n < g.size {
			before := len(g.buf)
			g.buf = g.rec(g.buf, g.i)
			g.i++
			g.n += int64(len(g.buf) - before)
		}
		if g.n >= g.size {
			g.buf = append(g.buf, g.tail...)
			g.done = true
		}
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}

func generate(head, tail string, rec func([]byte, int) []byte, size int64) []byte {
	b, err := io.ReadAll(newGenReader(head, tail, rec, size))
	if err != nil {
		panic(fmt.Sprint("generate: ", err))
	}
	return b
}
