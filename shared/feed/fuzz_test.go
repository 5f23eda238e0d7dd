package feed

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// seedFuzz adds the testdata files of a format and the corpus files under
// the given corpus folder as seeds.
func seedFuzz(f *testing.F, testdata, corpusSub string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", testdata, "*"))
	if corpusSub != "" {
		_ = filepath.WalkDir(filepath.Join(corpusDir, corpusSub), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				paths = append(paths, p)
			}
			return nil
		})
	}
	for _, p := range paths {
		if filepath.Ext(p) == ".json" {
			continue
		}
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
}

// checkParse parses data as format and checks the fuzz properties: no
// panic (the fuzzer sees it), every ParseError names a line or an entry,
// and validation of every entry and balance runs.
func checkParse(t *testing.T, data []byte, format Format) {
	sum, err := ParseFormat(bytes.NewReader(data), format, "fuzz", func(it Item) error {
		n := 0
		if it.Entry != nil {
			n++
			_ = it.Entry.Validate()
			_, _ = it.Entry.Ledger(func(a string) (string, string) { return "h", "m" })
		}
		if it.Balance != nil {
			n++
			_, _ = it.Balance.Ledger()
		}
		if it.Err != nil {
			n++
			if it.Err.Line <= 0 && it.Err.Entry <= 0 {
				t.Fatalf("ParseError names no line or entry: %v", it.Err)
			}
			if len(it.Err.Record) > maxRecord+8 {
				t.Fatalf("ParseError record too long: %d bytes", len(it.Err.Record))
			}
		}
		if n != 1 {
			t.Fatalf("item with %d parts set", n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ParseFormat on an in-memory reader returned %v", err)
	}
	if sum.Entries < 0 || sum.Errors < 0 {
		t.Fatalf("bad summary %+v", sum)
	}
}

func FuzzCSV(f *testing.F) {
	seedFuzz(f, "csv", "")
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, CSV) })
}

func FuzzCamt(f *testing.F) {
	seedFuzz(f, "camt", "camt")
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, Camt053) })
}

func FuzzMT940(f *testing.F) {
	seedFuzz(f, "mt940", "mt940")
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, MT940) })
}

func FuzzXMLTokenizer(f *testing.F) {
	seedFuzz(f, "camt", "camt")
	f.Add([]byte("<a x='1' y=\"&lt;&#x41;&#66;\"><![CDATA[<x>]]><!-- c --><?pi?><b/></a>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok := newXMLTokenizer(bytes.NewReader(data))
		for i := 0; ; i++ {
			if i > len(data)+2 {
				t.Fatalf("more tokens (%d) than input bytes (%d)", i, len(data))
			}
			k, err := tok.next()
			if err != nil {
				if tok.lineNow() < 1 {
					t.Fatal("error without a line")
				}
				return
			}
			if tok.depth() > xmlMaxDepth {
				t.Fatalf("depth %d", tok.depth())
			}
			if k == xmlText && len(tok.text) > xmlMaxToken {
				t.Fatalf("text token of %d bytes", len(tok.text))
			}
			if k == xmlEOF {
				if tok.depth() != 0 {
					t.Fatal("EOF with open elements")
				}
				return
			}
		}
	})
}
