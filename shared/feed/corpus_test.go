package feed

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wagewatch/wagewatch/shared/ledger"
)

// corpusDir is the shared statement corpus, beside the repository.
const corpusDir = "../../../shared/corpus"

// malformed lists the corpus files that are broken on purpose
// (corpus/README.md): each must give at least one reported error.
var malformed = map[string]bool{
	"camt/genkgo-camt/camt053.v2.wrong.xml":                 true,
	"mt940/jejik-mt940/K4262927_20200905-080000-952.txt":    true,
	"mt940/wolph-mt940/betterplace_sepa_snippet_broken.sta": true,
	"mt940/wolph-mt940/invalid_statement.sta":               true,
	"mt940/zilverline-mt940/knab_invalid.txt":               true,
}

// figures are the counts of corpus/README.md "Counting rules".
type figures struct {
	Statements int
	Entries    int
	Credits    map[string]Decimal
	Debits     map[string]Decimal
	Currency   string // of the summary, when there are no entries
	Balances   int
	Errors     []string
}

func corpusFigures(t *testing.T, path string) (figures, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fg := figures{Credits: map[string]Decimal{}, Debits: map[string]Decimal{}}
	sum, err := Parse(f, filepath.Base(path), func(it Item) error {
		switch {
		case it.Entry != nil:
			e := it.Entry
			m := fg.Credits
			if e.Direction == ledger.Debit {
				m = fg.Debits
			}
			if _, ok := fg.Credits[e.Currency]; !ok {
				fg.Credits[e.Currency] = Decimal{}
				fg.Debits[e.Currency] = Decimal{}
			}
			s, err := m[e.Currency].Add(e.Amount)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			m[e.Currency] = s
		case it.Err != nil:
			if it.Err.Line <= 0 && it.Err.Entry <= 0 {
				t.Errorf("%s: error names no line or entry: %v", path, it.Err)
			}
			fg.Errors = append(fg.Errors, it.Err.Error())
		}
		return nil
	})
	fg.Statements, fg.Entries, fg.Balances, fg.Currency = sum.Statements, sum.Entries, sum.Balances, sum.Currency
	return fg, err
}

// minorUnits is ISO 4217's minor-unit digits for the corpus' currencies.
func minorUnits(ccy string) uint8 {
	if ccy == "JPY" {
		return 0
	}
	return 2
}

// sumText prints a sum with the currency's minor units, more digits only
// where the exact sum needs them.
func sumText(d Decimal, ccy string) string {
	mu := minorUnits(ccy)
	// drop trailing zero decimals beyond the minor units
	for d.Scale > mu && d.Coef%10 == 0 {
		d = Decimal{d.Coef / 10, d.Scale - 1}
	}
	if d.Scale < mu {
		d, _ = d.Rescale(mu)
	}
	return d.String()
}

func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Fatalf("statement corpus not found at %s (the shared folder beside the repository; CI has it): %v", corpusDir, err)
	}
	want := map[string]map[string]any{}
	ef, err := os.Open(filepath.Join(corpusDir, "expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	sc := bufio.NewScanner(ef)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("expected.jsonl: %v", err)
		}
		want[m["file"].(string)] = m
	}
	var files []string
	err = filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, p)
		rel = filepath.ToSlash(rel)
		if !d.IsDir() && (strings.HasPrefix(rel, "camt/") || strings.HasPrefix(rel, "mt940/")) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 70 {
		t.Fatalf("corpus has %d files, want the 77 of its README", len(files))
	}
	checked := 0
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			fg, err := corpusFigures(t, filepath.Join(corpusDir, rel))
			if malformed[rel] {
				if err == nil && len(fg.Errors) == 0 {
					t.Fatalf("malformed on purpose, but no error reported")
				}
				reason := ""
				if err != nil {
					reason = err.Error()
				} else {
					reason = fg.Errors[0]
				}
				if !strings.Contains(reason, ": ") {
					t.Errorf("error without a reason: %q", reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			w, ok := want[rel]
			if !ok {
				t.Logf("no expected figures: %+v", fg)
				return
			}
			checked++
			got := map[string]any{"statements": fg.Statements, "entries": fg.Entries, "balances": fg.Balances}
			ccys := make([]string, 0, len(fg.Credits))
			for c := range fg.Credits {
				ccys = append(ccys, c)
			}
			sort.Strings(ccys)
			switch len(ccys) {
			case 0:
				got["currency"] = fg.Currency
				got["credits"], got["debits"] = sumText(Decimal{}, fg.Currency), sumText(Decimal{}, fg.Currency)
			case 1:
				c := ccys[0]
				got["currency"] = c
				got["credits"], got["debits"] = sumText(fg.Credits[c], c), sumText(fg.Debits[c], c)
			default:
				got["currency"] = "mixed"
				cr, db := map[string]any{}, map[string]any{}
				for _, c := range ccys {
					cr[c], db[c] = sumText(fg.Credits[c], c), sumText(fg.Debits[c], c)
				}
				got["credits"], got["debits"] = cr, db
			}
			for _, k := range []string{"statements", "entries", "credits", "debits", "currency", "balances"} {
				gj, _ := json.Marshal(got[k])
				wj, _ := json.Marshal(w[k])
				if string(gj) != string(wj) {
					t.Errorf("%s = %s, want %s", k, gj, wj)
				}
			}
			if len(fg.Errors) > 0 {
				t.Errorf("unexpected errors: %q", fg.Errors)
			}
		})
	}
	if checked != len(want) {
		t.Errorf("checked %d files of expected.jsonl, it lists %d", checked, len(want))
	}
}
