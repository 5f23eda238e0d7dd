package citygen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
)

// writer writes the folder: the registry files stay open while projects
// are generated; a project's attendance is written at once; bank files are
// written per bank once AccountsPerFile accounts of it are pending.
type writer struct {
	dir               string
	sum               *Summary
	perFile           int
	projects, workers *openFile
	pending           map[string][]*project // by bank code
	groups            map[string]int
	files             []*openFile
	clock             uint64
	webhook           string
}

type openFile struct {
	*bufio.Writer
	f *os.File
}

func (w *writer) create(name string) (*openFile, error) {
	f, err := os.Create(filepath.Join(w.dir, name))
	if err != nil {
		return nil, err
	}
	o := &openFile{Writer: bufio.NewWriterSize(f, 256<<10), f: f}
	w.files = append(w.files, o)
	return o, nil
}

func (o *openFile) close() error {
	if o.f == nil {
		return nil
	}
	err := errors.Join(o.Flush(), o.f.Close())
	o.f = nil
	return err
}

// file writes one whole file.
func (w *writer) file(name string, fill func(*bufio.Writer) error) error {
	o, err := w.create(name)
	if err != nil {
		return err
	}
	if err := fill(o.Writer); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", name, err), o.close())
	}
	if err := o.close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (w *writer) close() error {
	var errs []error
	for _, o := range w.files {
		errs = append(errs, o.close())
	}
	return errors.Join(errs...)
}

// departments: per county its housing, transport and water bureaus and the
// government's wage-arrears office (治欠办), an SOE office in the two
// districts; per sector a city-level department, and the city's 治欠办.
func (w *writer) departments() error {
	return w.file("departments.csv", func(b *bufio.Writer) error {
		b.WriteString("dept_id,name,level,county_code,sector,sms,webhook_url\n")
		phone := 13800000000
		row := func(id, name, level, county, sector string) {
			phone++
			w.sum.Departments++
			fmt.Fprintf(b, "%s,%s,%s,%s,%s,%d,%s\n", id, name, level, county, sector, phone, w.webhook+id)
		}
		for _, c := range counties {
			ab := strings.ToLower(c.abbr)
			for _, s := range sectors[:3] {
				row(ab+"-"+s.code, c.name+s.dept, "county", c.code, s.code)
			}
			if c.soe {
				row(ab+"-soe", c.name+sectors[3].dept, "county", c.code, "soe")
			}
			row(ab+"-gov", c.name+"根治拖欠农民工工资工作领导小组办公室", "county", c.code, "gov")
		}
		for _, s := range sectors {
			row("city-"+s.code, s.cityDept, "city", "", s.code)
		}
		row("city-gov", "天水市根治拖欠农民工工资工作领导小组办公室", "city", "", "gov")
		return nil
	})
}

func (w *writer) project(p *project) error {
	w.sum.Projects++
	switch {
	case p.status == "suspended":
		w.sum.Suspended++
	case p.status == "completed":
		w.sum.Completed++
	}
	bankCode := ""
	if p.bank != nil {
		bankCode = p.bank.code
	} else {
		w.sum.WithoutAccount++
	}
	fmt.Fprintf(w.projects, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s\n", p.id, p.name, p.county.code, p.sector.code,
		p.contract, p.status, p.start, p.account, bankCode, p.payday, p.unit, p.gc)
	for _, wk := range p.workers {
		w.sum.Enrolments++
		left := ""
		if wk.left != 0 {
			left = wk.left.String()
		}
		card := wk.card
		if wk.n%7 == 0 {
			card = card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:] // spaces are ignored
		}
		fmt.Fprintf(w.workers, "%s,%s,%s,%s%s,%s,%d,%s,%s\n", p.id, wk.id, wk.name, p.gc[:strings.Index(p.gc, "有限")], wk.team,
			card, wk.wage/100, wk.enrolled, left)
	}
	if err := w.attendance(p); err != nil {
		return err
	}
	if p.bank != nil {
		w.pending[p.bank.code] = append(w.pending[p.bank.code], p)
		return w.flushBanks(false)
	}
	return nil
}

// attendance writes one file per month of the project's records, in date
// order, CSV or JSON Lines.
func (w *writer) attendance(p *project) error {
	for _, m := range months {
		ext := ".csv"
		if p.jsonl {
			ext = ".jsonl"
		}
		name := filepath.Join("attendance", p.id+"-"+m.String()+ext)
		var o *openFile
		var buf []byte
		for i := 0; i < windowDays(); i++ {
			d := windowStart.AddDays(i)
			if d.Month() != m {
				continue
			}
			ds := d.String()
			for _, wk := range p.workers {
				if !wk.worked[i] {
					continue
				}
				if o == nil {
					var err error
					if o, err = w.create(name); err != nil {
						return err
					}
					if !p.jsonl {
						o.WriteString("project_id,id_number,date,clock_in,clock_out,device_id\n")
					}
					w.sum.AttendanceFiles++
				}
				recs := 1
				if wk.dupOf[i] {
					recs = 2
				}
				for k := 0; k < recs; k++ {
					w.clock = w.clock*6364136223846793005 + 1442695040888963407
					in := fmt.Sprintf("07:%02d", 30+int(w.clock>>33)%30)
					out := fmt.Sprintf("18:%02d", int(w.clock>>40)%60)
					if k == 1 {
						in, out = "12:30", "13:00"
					}
					dev := fmt.Sprintf("DEV-%s-%02d", p.id, 1+k+wk.n%3)
					buf = buf[:0]
					if p.jsonl {
						buf = fmt.Appendf(buf, `{"project_id":%q,"id_number":%q,"date":%q,"clock_in":%q,"clock_out":%q,"device_id":%q}`+"\n",
							p.id, wk.id, ds, in, out, dev)
					} else {
						buf = fmt.Appendf(buf, "%s,%s,%s,%s,%s,%s\n", p.id, wk.id, ds, in, out, dev)
					}
					o.Write(buf)
					w.sum.AttendanceRecords++
				}
			}
		}
		if o != nil {
			if err := o.close(); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
		}
	}
	return nil
}

// flushBanks writes the bank files of every bank with AccountsPerFile
// accounts pending (all pending ones when final).
func (w *writer) flushBanks(final bool) error {
	for _, b := range banks {
		ps := w.pending[b.code]
		if len(ps) == 0 || (!final && len(ps) < w.perFile) {
			continue
		}
		if w.groups == nil {
			w.groups = map[string]int{}
		}
		w.groups[b.code]++
		for _, m := range months {
			if err := w.bankFile(b, w.groups[b.code], m, ps); err != nil {
				return err
			}
		}
		for _, p := range ps {
			p.entries = nil
		}
		w.pending[b.code] = nil
	}
	return nil
}

// monthEnd is the last day of m the feeds report (the window ends earlier
// in November).
func monthEnd(m day.Month) day.Date { return min(m.Next().First().AddDays(-1), windowEnd) }

// slice returns the balance before m and the entries booked in m.
func slice(p *project, m day.Month) (money.Fen, []*entry) {
	var open money.Fen
	var in []*entry
	for _, e := range p.entries {
		switch {
		case e.date.Month() < m:
			open = e.balanceHere
		case e.date.Month() == m:
			in = append(in, e)
		}
	}
	return open, in
}

func closing(open money.Fen, in []*entry) money.Fen {
	if len(in) == 0 {
		return open
	}
	return in[len(in)-1].balanceHere
}

func (w *writer) bankFile(b bank, group int, m day.Month, ps []*project) error {
	ext := map[string]string{formatCSV: ".csv", formatCamt: ".xml", formatMT940: ".sta"}[b.format]
	name := filepath.Join("bank", fmt.Sprintf("%s-%s-%s-%03d%s", strings.ToLower(b.code), b.format, compact(m), group, ext))
	return w.file(name, func(o *bufio.Writer) error {
		w.sum.BankFiles++
		switch b.format {
		case formatCSV:
			w.writeCSV(o, b, m, ps)
		case formatCamt:
			w.writeCamt(o, b, group, m, ps)
		default:
			w.writeMT940(o, b, group, m, ps)
		}
		return nil
	})
}

func (w *writer) count(b bank, n int) {
	w.sum.BankEntries += n
	w.sum.EntriesByFormat[b.format] += n
}

func (w *writer) writeCSV(o *bufio.Writer, b bank, m day.Month, ps []*project) {
	if b.code == "ABC" {
		o.WriteString("\ufeff")
	}
	o.WriteString("account,bank_ref,booking_date,direction,amount,kind,counterparty_account,counterparty_name,end_to_end_id,original_ref,balance_after\n")
	for _, p := range ps {
		_, in := slice(p, m)
		for i, e := range in {
			dir := "D"
			if e.credit {
				dir = "C"
			}
			bal := ""
			if i == len(in)-1 {
				bal = e.balanceHere.String()
				w.sum.BankBalances++
			}
			e2e := e.e2e
			if e.kind == "return" {
				e2e = "RTN-" + e.e2e
			}
			fmt.Fprintf(o, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", p.account, e.ref, e.date, dir, e.amount, e.kind,
				e.cpAcct, e.cpName, e2e, e.orig, bal)
		}
		w.count(b, len(in))
	}
}

func signed(f money.Fen) (string, string) {
	if f < 0 {
		return (-f).String(), "DBIT"
	}
	return f.String(), "CRDT"
}

func (w *writer) writeCamt(o *bufio.Writer, b bank, group int, m day.Month, ps []*project) {
	end := monthEnd(m)
	fmt.Fprintf(o, `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>%s-053-%s-%03d</MsgId><CreDtTm>%sT18:00:00+08:00</CreDtTm></GrpHdr>
`, b.code, compact(m), group, end)
	for si, p := range ps {
		open, in := slice(p, m)
		fmt.Fprintf(o, "    <Stmt>\n      <Id>%s-%s-%s</Id>\n      <ElctrncSeqNb>%d</ElctrncSeqNb>\n      <CreDtTm>%sT18:00:00+08:00</CreDtTm>\n",
			b.code, p.account, compact(m), si+1, end)
		fmt.Fprintf(o, "      <Acct><Id><Othr><Id>%s</Id></Othr></Id><Ccy>CNY</Ccy></Acct>\n", p.account)
		amt, cdi := signed(open)
		fmt.Fprintf(o, `      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>`+"\n", amt, cdi, m.First())
		amt, cdi = signed(closing(open, in))
		fmt.Fprintf(o, `      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">%s</Amt><CdtDbtInd>%s</CdtDbtInd><Dt><Dt>%s</Dt></Dt></Bal>`+"\n", amt, cdi, end)
		w.sum.BankBalances++
		for i := 0; i < len(in); {
			j := i + 1
			if in[i].batch != "" {
				for j < len(in) && in[j].batch == in[i].batch && in[j].date == in[i].date {
					j++
				}
			}
			ntry(o, in[i:j])
			w.count(b, j-i)
			i = j
		}
		o.WriteString("    </Stmt>\n")
	}
	o.WriteString("  </BkToCstmrStmt>\n</Document>\n")
}

// ntry writes one Ntry: a single entry, or a batch of payroll debits.
func ntry(o *bufio.Writer, es []*entry) {
	e := es[0]
	var total money.Fen
	for _, x := range es {
		total += x.amount
	}
	cdi := "DBIT"
	if e.credit {
		cdi = "CRDT"
	}
	dom, fam, sub := "PMNT", "ICDT", "SALA"
	switch e.kind {
	case "deposit":
		fam, sub = "RCDT", "DMCT"
	case "return":
		fam, sub = "RCDT", "RRTN"
	case "fee":
		dom, fam, sub = "ACMT", "CHRG", "OTHR"
	}
	fmt.Fprintf(o, `      <Ntry>
        <Amt Ccy="CNY">%s</Amt>
        <CdtDbtInd>%s</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>%s</Dt></BookgDt>
        <ValDt><Dt>%s</Dt></ValDt>
        <AcctSvcrRef>%s</AcctSvcrRef>
        <BkTxCd><Domn><Cd>%s</Cd><Fmly><Cd>%s</Cd><SubFmlyCd>%s</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
`, total, cdi, e.date, e.date, e.ref, dom, fam, sub)
	if len(es) > 1 {
		fmt.Fprintf(o, "          <Btch><NbOfTxs>%d</NbOfTxs><TtlAmt Ccy=\"CNY\">%s</TtlAmt></Btch>\n", len(es), total)
	}
	for _, x := range es {
		o.WriteString("          <TxDtls>\n")
		if x.e2e != "" {
			fmt.Fprintf(o, "            <Refs><EndToEndId>%s</EndToEndId></Refs>\n", x.e2e)
		}
		if len(es) > 1 {
			fmt.Fprintf(o, "            <AmtDtls><TxAmt><Amt Ccy=\"CNY\">%s</Amt></TxAmt></AmtDtls>\n", x.amount)
		}
		party, acct := "Cdtr", "CdtrAcct"
		if x.credit {
			party, acct = "Dbtr", "DbtrAcct"
		}
		if x.cpAcct != "" || x.cpName != "" {
			o.WriteString("            <RltdPties>\n")
			if x.cpName != "" {
				fmt.Fprintf(o, "              <%s><Pty><Nm>%s</Nm></Pty></%s>\n", party, x.cpName, party)
			}
			if x.cpAcct != "" {
				fmt.Fprintf(o, "              <%s><Id><Othr><Id>%s</Id></Othr></Id></%s>\n", acct, x.cpAcct, acct)
			}
			o.WriteString("            </RltdPties>\n")
		}
		if x.remit != "" {
			fmt.Fprintf(o, "            <RmtInf><Ustrd>%s</Ustrd></RmtInf>\n", x.remit)
		}
		if x.kind == "return" {
			o.WriteString("            <RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>账户已销户</AddtlInf></RtrInf>\n")
		}
		o.WriteString("          </TxDtls>\n")
	}
	o.WriteString("        </NtryDtls>\n      </Ntry>\n")
}

func yymmdd(d day.Date) string {
	y, m, dd := d.Parts()
	return fmt.Sprintf("%02d%02d%02d", y%100, int(m), dd)
}

func mtAmount(f money.Fen) string {
	if f < 0 {
		f = -f
	}
	return strings.Replace(f.String(), ".", ",", 1)
}

func mtSign(f money.Fen) string {
	if f < 0 {
		return "D"
	}
	return "C"
}

var mtRemit = map[string]string{"deposit": "LABOUR COST", "payroll": "WAGES", "return": "RETURNED WAGES", "fee": "ACCOUNT FEE"}

func (w *writer) writeMT940(o *bufio.Writer, b bank, group int, m day.Month, ps []*project) {
	end := monthEnd(m)
	envelope := group%2 == 1
	for si, p := range ps {
		open, in := slice(p, m)
		if envelope {
			fmt.Fprintf(o, "{1:F01%sAXXX0000000000}{2:O940180026%s%sAXXX00000000002611191800N}{4:\n", b.swift[:8], yymmdd(end)[2:], b.swift[:8])
		}
		fmt.Fprintf(o, ":20:STMT%s%03d%03d\n:25:%s/%s\n:28C:%d/%d\n:60F:%s%sCNY%s\n",
			yymmdd(end), group, si+1, b.swift, p.account, int(m.Mon()), si+1, mtSign(open), yymmdd(m.First()), mtAmount(open))
		for _, e := range in {
			mark, typ := "D", "NTRF"
			if e.credit {
				mark = "C"
			}
			if e.kind == "fee" {
				typ = "NCHG"
			}
			fmt.Fprintf(o, ":61:%s%s%s%s%sNONREF//%s\n", yymmdd(e.date), yymmdd(e.date)[2:], mark, mtAmount(e.amount), typ, e.ref)
			var f strings.Builder
			if e.cpAcct != "" || e.cpLatin != "" {
				fmt.Fprintf(&f, "/CNTP/%s/%s/%s/TIANSHUI/", e.cpAcct, b.swift[:8], e.cpLatin)
			}
			fmt.Fprintf(&f, "/REMI/USTD//%s %s/", mtRemit[e.kind], e.date.Month())
			if e.e2e != "" {
				fmt.Fprintf(&f, "/EREF/%s/", e.e2e)
			}
			if e.kind == "return" {
				f.WriteString("/RTRN/AC04/")
			}
			wrap(o, ":86:"+f.String(), 65)
		}
		fmt.Fprintf(o, ":62F:%s%sCNY%s\n", mtSign(closing(open, in)), yymmdd(end), mtAmount(closing(open, in)))
		w.count(b, len(in))
		w.sum.BankBalances++
		if envelope {
			o.WriteString("-}")
		}
	}
	if envelope {
		o.WriteString("\n")
	}
}

// wrap writes s in lines of at most n bytes (ASCII only).
func wrap(o *bufio.Writer, s string, n int) {
	for len(s) > n {
		o.WriteString(s[:n])
		o.WriteByte('\n')
		s = s[n:]
	}
	o.WriteString(s)
	o.WriteByte('\n')
}
