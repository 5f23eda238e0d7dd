package feed

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// repeatReader yields head, then n bytes of fill, then tail, without holding
// them in memory.
type repeatReader struct {
	head, tail []byte
	fill       byte
	n          int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	if r.n > 0 {
		k := int64(len(p))
		if k > r.n {
			k = r.n
		}
		for i := range p[:k] {
			p[i] = r.fill
		}
		r.n -= k
		return int(k), nil
	}
	if len(r.tail) > 0 {
		n := copy(p, r.tail)
		r.tail = r.tail[n:]
		return n, nil
	}
	return 0, io.EOF
}

func TestHostile(t *testing.T) {
	const hundredMB = 100 << 20
	cases := []struct {
		name string
		r    func() io.Reader
		want string // in the (first) reported error
	}{
		{"csv 100 MB line", func() io.Reader {
			return &repeatReader{head: []byte("account,bank_ref,booking_date,direction,amount,kind\nA,"), fill: 'x', n: hundredMB, tail: []byte("\n")}
		}, "record longer than"},
		{"mt940 100 MB line", func() io.Reader {
			return &repeatReader{head: []byte(":20:X\n:25:A\n:86:"), fill: 'x', n: hundredMB}
		}, "longer than"},
		{"camt 100 MB text", func() io.Reader {
			return &repeatReader{head: []byte(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Ntry><Amt>`), fill: '1', n: hundredMB}
		}, "XML token longer than"},
		{"camt 100 MB tag", func() io.Reader {
			return &repeatReader{head: []byte(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><a b="`), fill: 'x', n: hundredMB}
		}, "XML token longer than"},
		{"camt deep nesting", func() io.Reader {
			return strings.NewReader(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">` + strings.Repeat("<Stmt>", 100000))
		}, "nested deeper"},
		{"camt billion laughs", func() io.Reader {
			return strings.NewReader(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol2;</Document>`)
		}, "DOCTYPE"},
		{"camt undeclared entity", func() io.Reader {
			return strings.NewReader(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>&ext;</Stmt></BkToCstmrStmt></Document>`)
		}, "unknown entity"},
		{"camt truncated in a tag", func() io.Reader {
			return strings.NewReader(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Nt`)
		}, "breaks off"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var first *ParseError
			_, err := Parse(c.r(), "hostile", func(it Item) error {
				if it.Err != nil && first == nil {
					first = it.Err
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Parse returned %v, want a reported ParseError", err)
			}
			if first == nil || !strings.Contains(first.Error(), c.want) {
				t.Fatalf("first error %v, want one containing %q", first, c.want)
			}
			if first.Line <= 0 && first.Entry <= 0 {
				t.Errorf("error names no line or entry: %v", first)
			}
		})
	}
}

func TestUnreadable(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"binary junk", []byte{0, 1, 2, 0xff, 0xfe, 0x80, '\n', 7, 9}},
		{"empty", nil},
		{"other XML", []byte("<html><body>hi</body></html>")},
		{"camt.052", []byte(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"></Document>`)},
		{"not MT940", []byte("1\n2\n3\n")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(c.data), "x", func(Item) error { return nil })
			if !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("err = %v, want ErrUnknownFormat", err)
			}
		})
	}
}

type failingReader struct{ data []byte }

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestIOErrorIsReturned(t *testing.T) {
	for _, head := range []string{
		"account,bank_ref,booking_date,direction,amount,kind\nA,B,2026-01-01,C,1.00,deposit\n",
		`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>`,
		":20:X\n:25:A\n",
	} {
		_, err := Parse(&failingReader{data: []byte(head)}, "x", func(Item) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("%.20q: err = %v, want the read error", head, err)
		}
	}
}

func TestXMLTokenizer(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{`<a x="1">t&amp;&#65;&#x42;<b/><![CDATA[<c>]]><!--x--><?p?></a>`, `S(a x=1) T(t&AB) S(b) E(b) T(<c>) E(a)`, ""},
		{"\xef\xbb\xbf<?xml version='1.0'?>\n<p:a xmlns:p='u' k='&lt;'>x</p:a>\n", `S(a xmlns:p=u k=<) T(x) E(a)`, ""},
		{`<a>`, ``, "breaks off"},
		{`<a></b>`, ``, "does not match"},
		{`<a>&bogus;</a>`, ``, "unknown entity"},
		{`<a>&#0;</a>`, ``, "out of range"},
		{`<!DOCTYPE a><a/>`, ``, "DOCTYPE"},
		{`<a/><b/>`, ``, "after the root"},
		{`x<a/>`, ``, "outside the root"},
		{`<a b=c/>`, ``, "not quoted"},
		{`<a =x/>`, ``, "malformed"},
		{``, ``, "no root"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			tok := newXMLTokenizer(strings.NewReader(c.in))
			var got []string
			for {
				k, err := tok.next()
				if err != nil {
					if c.err == "" || !strings.Contains(err.Error(), c.err) {
						t.Fatalf("error %v, want %q", err, c.err)
					}
					return
				}
				if k == xmlEOF {
					break
				}
				switch k {
				case xmlStart:
					s := "S(" + string(tok.local)
					for _, a := range tok.attrs {
						s += " " + string(a.Name) + "=" + string(a.Value)
					}
					got = append(got, s+")")
				case xmlEnd:
					got = append(got, "E("+string(tok.local)+")")
				case xmlText:
					got = append(got, "T("+string(tok.text)+")")
				}
			}
			if c.err != "" {
				t.Fatalf("no error, want %q", c.err)
			}
			if g := strings.Join(got, " "); g != c.want {
				t.Fatalf("tokens %s, want %s", g, c.want)
			}
		})
	}
}

func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		in, out, fen string
		bad          bool
	}{
		{"1234.50", "1234.50", "1234.50", false},
		{"380115,", "380115", "380115.00", false},
		{"000000000300.00", "300.00", "300.00", false},
		{"-0.005", "-0.005", "", false},
		{"1.230", "1.230", "1.23", false},
		{"+7", "7", "7.00", false},
		{"1,000.00", "", "", true},
		{"", "", "", true},
		{"1e5", "", "", true},
		{"9999999999999999999", "", "", true},
	} {
		d, err := ParseDecimal(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if c.bad {
			continue
		}
		if d.String() != c.out {
			t.Errorf("%q: String %q, want %q", c.in, d, c.out)
		}
		f, err := d.Fen()
		if c.fen == "" {
			if err == nil {
				t.Errorf("%q: Fen() = %v, want a precision error", c.in, f)
			}
		} else if err != nil || f.String() != c.fen {
			t.Errorf("%q: Fen() = %v, %v, want %s", c.in, f, err, c.fen)
		}
	}
}

func TestMaskDigits(t *testing.T) {
	for in, want := range map[string]string{
		"card 6228480010100001 paid": "card 6228********0001 paid",
		"12345678901":                "12345678901",
		"a620502199001011234b":       "a6205**********1234b",
	} {
		if got := MaskDigits(in); got != want {
			t.Errorf("MaskDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLedger(t *testing.T) {
	d, _ := ParseDecimal("6240.00")
	e := Entry{Format: CSV, File: "f.csv", Account: "A", BankRef: "R", BookingDate: 20000, Direction: "D",
		Amount: d, Currency: "CNY", Kind: "payroll", CounterpartyAccount: "6217 0000 2020 0001", Line: 3}
	var seen string
	le, err := e.Ledger(func(a string) (string, string) { seen = a; return "hash", "6217********0001" })
	if err != nil {
		t.Fatal(err)
	}
	if seen != "6217000020200001" || le.CounterpartyHash != "hash" || le.CounterpartyMasked != "6217********0001" {
		t.Errorf("counterparty: cp saw %q, entry %+v", seen, le)
	}
	if le.Amount != 624000 || le.Source.Line != 3 || le.Source.File != "f.csv" {
		t.Errorf("ledger entry %+v", le)
	}
	e.Kind = "bonus"
	if _, err := e.Ledger(nil); err == nil {
		t.Error("invalid kind accepted")
	}
	b := Balance{Account: "A", Date: 20000, Amount: d.Neg(), Currency: "CNY"}
	lb, err := b.Ledger()
	if err != nil || lb.Amount != -624000 || lb.Order != "" {
		t.Errorf("balance %+v, %v", lb, err)
	}
}

func TestExcerptMasksBeforeCutting(t *testing.T) {
	// A card number straddling the cut must not leave 11 digits in clear.
	rec := strings.Repeat("天", 23) + ",6228480010100001,x"
	got := excerpt(rec)
	if strings.Contains(got, "62284800101") || !utf8.ValidString(got) {
		t.Fatalf("excerpt = %q", got)
	}
}
