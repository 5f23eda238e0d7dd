package feed

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata golden files")

// goldenItem is one parsed item as the golden files record it; an entry
// carries the result of Validate and CheckCurrency.
type goldenItem struct {
	Statement int      `json:"statement,omitempty"`
	Entry     *Entry   `json:"entry,omitempty"`
	Invalid   string   `json:"invalid,omitempty"`
	Currency  string   `json:"currency_error,omitempty"`
	Balance   *Balance `json:"balance,omitempty"`
	Error     string   `json:"error,omitempty"`
}

type goldenFile struct {
	Summary    *Summary     `json:"summary,omitempty"`
	ParseError string       `json:"parse_error,omitempty"`
	Items      []goldenItem `json:"items"`
}

func parseGolden(t *testing.T, path string) goldenFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := goldenFile{Items: []goldenItem{}}
	sum, err := Parse(f, filepath.Base(path), func(it Item) error {
		// Items point to values Parse reuses: keep copies.
		gi := goldenItem{Statement: it.Statement}
		if it.Entry != nil {
			e := *it.Entry
			gi.Entry = &e
		}
		if it.Balance != nil {
			b := *it.Balance
			gi.Balance = &b
		}
		if it.Err != nil {
			if it.Err.Line <= 0 && it.Err.Entry <= 0 {
				t.Errorf("ParseError names no line or entry: %v", it.Err)
			}
			gi.Error = it.Err.Error()
		}
		if it.Entry != nil {
			if err := it.Entry.Validate(); err != nil {
				gi.Invalid = it.Entry.Reject(err).Error()
			}
			if err := it.Entry.CheckCurrency(); err != nil {
				gi.Currency = err.Error()
			}
		}
		g.Items = append(g.Items, gi)
		return nil
	})
	if err != nil {
		g.ParseError = err.Error()
	} else {
		g.Summary = &sum
	}
	return g
}

func TestGolden(t *testing.T) {
	for _, format := range []string{"csv", "camt", "mt940"} {
		files, err := filepath.Glob(filepath.Join("testdata", format, "*"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, path := range files {
			if strings.HasSuffix(path, ".golden.json") {
				continue
			}
			n++
			t.Run(format+"/"+filepath.Base(path), func(t *testing.T) {
				got, err := json.MarshalIndent(parseGolden(t, path), "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				gpath := strings.TrimSuffix(path, filepath.Ext(path)) + ".golden.json"
				if *update {
					if err := os.WriteFile(gpath, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(gpath)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s:\n%s", path, gpath, got)
				}
			})
		}
		if n < 8 {
			t.Errorf("%s: %d golden cases, want at least 8", format, n)
		}
	}
}
