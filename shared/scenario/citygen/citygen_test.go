package citygen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/scenario/citygen"
)

// TestCityReadsClean generates a small city and reads it with the oracle,
// which uses the product's own parsers and checks exactly as the pipeline
// loads: nothing may be rejected, everything the generator counted must be
// accepted (a second record of a worker-day is a duplicate), and the rules
// must find something to say about every one of the seven.
func TestCityReadsClean(t *testing.T) {
	dir := t.TempDir()
	sum, err := citygen.Generate(dir, citygen.Options{Scale: 0.2, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if want := citygen.Projects(0.2); sum.Projects != want {
		t.Errorf("projects = %d, want %d", sum.Projects, want)
	}
	sc, err := scenario.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pii.NewHasher([]byte("citygen-test-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	lines, os_, err := scenario.Evaluate(sc, h)
	if err != nil {
		t.Fatal(err)
	}
	_, _, rejected, _ := os_.Totals()
	if rejected != 0 {
		for _, f := range os_.Files {
			for _, r := range f.Rejects {
				t.Errorf("rejected: %s:%d %s", r.File, r.Line, r.Reason)
			}
		}
	}
	got := map[string]int{} // by kind: accepted + duplicates
	balances := 0
	for _, f := range os_.Files {
		if f.DuplicateFile {
			t.Errorf("%s repeats an earlier file's bytes", f.File)
		}
		got[f.Kind] += f.Accepted + f.Duplicates
		balances += f.Balances
	}
	for kind, want := range map[string]int{
		"projects": sum.Projects, "departments": sum.Departments, "workers": sum.Enrolments,
		"attendance": sum.AttendanceRecords, "bank": sum.BankEntries,
	} {
		if got[kind] != want {
			t.Errorf("%s: oracle read %d, generator wrote %d", kind, got[kind], want)
		}
	}
	if balances != sum.BankBalances {
		t.Errorf("balances: oracle read %d, generator wrote %d", balances, sum.BankBalances)
	}
	for _, f := range []string{"csv", "camt053", "mt940"} {
		if sum.EntriesByFormat[f] == 0 {
			t.Errorf("no %s entries", f)
		}
	}
	fired := map[string]int{}
	for _, l := range lines {
		fired[l.Rule]++
	}
	for _, r := range []string{"wage_arrears", "labor_cost_short", "balance_insufficient", "feed_missing",
		"attendance_missing", "payment_returned", "payee_not_enrolled"} {
		if fired[r] == 0 {
			t.Errorf("rule %s fires nowhere in the city (fired: %v)", r, fired)
		}
	}
	t.Logf("summary %+v; alerts by rule %v", sum, fired)
}

// TestCityIdentities checks every identity number of workers.csv with the
// registry's GB 11643 check, and that a worker on two projects has two cards.
func TestCityIdentities(t *testing.T) {
	dir := t.TempDir()
	if _, err := citygen.Generate(dir, citygen.Options{Scale: 0.3, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "workers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	cards := map[string]map[string]bool{} // id → cards
	rows := strings.Split(strings.TrimSpace(string(raw)), "\n")[1:]
	for i, row := range rows {
		f := strings.Split(row, ",")
		if _, err := registry.CheckIDNumber(f[1]); err != nil {
			t.Fatalf("row %d: %v", i+2, err)
		}
		if _, err := registry.CheckCard(f[4]); err != nil {
			t.Fatalf("row %d: %v", i+2, err)
		}
		if cards[f[1]] == nil {
			cards[f[1]] = map[string]bool{}
		}
		cards[f[1]][strings.ReplaceAll(f[4], " ", "")] = true
	}
	twice := 0
	for _, cs := range cards {
		if len(cs) > 1 {
			twice++
		}
	}
	if twice == 0 || twice > len(cards)/10 {
		t.Errorf("%d of %d workers have two cards, want a few", twice, len(cards))
	}
}

// TestCityDeterministic: the same seed and scale give the same bytes; another
// seed another city; scale multiplies the projects.
func TestCityDeterministic(t *testing.T) {
	gen := func(seed uint64, scale float64) (string, citygen.Summary) {
		dir := t.TempDir()
		s, err := citygen.Generate(dir, citygen.Options{Scale: scale, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return dir, s
	}
	a, sa := gen(11, 0.1)
	b, sb := gen(11, 0.1)
	c, _ := gen(12, 0.1)
	if files(t, a) != files(t, b) {
		t.Error("same seed, different cities")
	}
	if files(t, a) == files(t, c) {
		t.Error("different seeds, same city")
	}
	if sa.Projects != sb.Projects || sa.AttendanceRecords != sb.AttendanceRecords {
		t.Errorf("summaries differ: %+v %+v", sa, sb)
	}
	_, s4 := gen(11, 0.4)
	if s4.Projects != citygen.Projects(0.4) || s4.AttendanceRecords < 2*sa.AttendanceRecords {
		t.Errorf("scale 0.4: %d projects %d records; scale 0.1: %d projects %d records",
			s4.Projects, s4.AttendanceRecords, sa.Projects, sa.AttendanceRecords)
	}
	if _, err := citygen.Generate(a, citygen.Options{Seed: 1}); err == nil {
		t.Error("generated over an existing scenario")
	}
}

// files concatenates every file of dir with its name.
func files(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		b.WriteString(p[len(dir):] + "\n")
		b.Write(raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
