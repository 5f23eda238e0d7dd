package scenario

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/rules"
)

// repoRoot walks up from the package directory to the folder holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func testHasher(t *testing.T) *pii.Hasher {
	t.Helper()
	h, err := pii.NewHasher([]byte("scenario-oracle-test-key-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// scenarioDirs lists the sub-folders of dir that hold a scenario.yaml.
func scenarioDirs(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "scenario.yaml")); err == nil {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

// allScenarios returns the spec's examples and the repository's own
// scenarios; a missing spec is a fatal error, not a skip.
func allScenarios(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	spec := filepath.Join(root, "..", "shared", "spec", "examples")
	if _, err := os.Stat(spec); err != nil {
		t.Fatalf("the spec's examples are expected at %s (../shared/spec/examples relative to the repository root): %v", spec, err)
	}
	dirs := scenarioDirs(t, spec)
	if len(dirs) == 0 {
		t.Fatalf("no scenario under %s", spec)
	}
	own := scenarioDirs(t, filepath.Join(root, "testdata", "scenarios"))
	if len(own) < 10 {
		t.Fatalf("testdata/scenarios holds %d scenarios, want at least 10", len(own))
	}
	return append(dirs, own...)
}

// TestOracleScenarios runs the oracle over every scenario and compares its
// alerts with the scenario's expected_alerts.jsonl.
func TestOracleScenarios(t *testing.T) {
	h := testHasher(t)
	for _, dir := range allScenarios(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			sc, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Expected == "" {
				t.Fatalf("%s has no expected_alerts.jsonl", dir)
			}
			raw, err := os.ReadFile(sc.Expected)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadLines(raw)
			if err != nil {
				t.Fatalf("expected_alerts.jsonl: %v", err)
			}
			got, sum, err := Evaluate(sc, h)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range Diff(got, want) {
				t.Error(d)
			}
			if len(sum.Files) != 3+len(sc.Bank)+len(sc.Attendance) {
				t.Errorf("summary has %d files, want %d", len(sum.Files), 3+len(sc.Bank)+len(sc.Attendance))
			}
			// The expected file is sorted as run prints it.
			sorted := append([]Line(nil), want...)
			Sort(sorted)
			for i := range want {
				if want[i].key() != sorted[i].key() {
					t.Errorf("expected_alerts.jsonl is not sorted by project_id then rule at line %d", i+1)
					break
				}
			}
		})
	}
}

// TestOracleBasicSummary checks what the oracle accepted and rejected in the
// spec's basic example, which its README describes: a duplicate attendance
// record and one after the worker's left_on.
func TestOracleBasicSummary(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "..", "shared", "spec", "examples", "basic")
	sc, err := Load(dir)
	if err != nil {
		t.Fatalf("load the spec's basic example at %s: %v", dir, err)
	}
	_, sum, err := Evaluate(sc, testHasher(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file                                    string
		accepted, balances, rejected, duplicate int
	}{
		{"projects.csv", 4, 0, 0, 0},
		{"departments.csv", 10, 0, 0, 0},
		{"workers.csv", 15, 0, 0, 0},
		{"bank/abc-6228480010000001-2611.csv", 7, 7, 0, 0},
		{"bank/abc-mt940-6228480030000003.sta", 5, 1, 0, 0},
		{"bank/ccb-camt053-2611.xml", 6, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			fs, ok := sum.File(tc.file)
			if !ok {
				t.Fatalf("no summary for %s", tc.file)
			}
			if fs.Accepted != tc.accepted || fs.Balances != tc.balances || fs.Rejected != tc.rejected || fs.Duplicates != tc.duplicate {
				t.Errorf("accepted %d balances %d rejected %d duplicates %d; want %d %d %d %d (rejects %v)",
					fs.Accepted, fs.Balances, fs.Rejected, fs.Duplicates, tc.accepted, tc.balances, tc.rejected, tc.duplicate, fs.Rejects)
			}
		})
	}
	_, _, rejected, dups := sum.Totals()
	if rejected != 1 || dups != 1 {
		t.Errorf("totals: rejected %d duplicates %d, want 1 and 1 (the record after left_on, the repeated record)", rejected, dups)
	}
}

// TestOracleBadRowsSummary checks, file by file, what the oracle kept,
// rejected and ignored as duplicate in bad-rows-duplicates, counted by hand
// in its README (a row with two bad fields gives two rejects).
func TestOracleBadRowsSummary(t *testing.T) {
	sc, err := Load(filepath.Join(repoRoot(t), "testdata", "scenarios", "bad-rows-duplicates"))
	if err != nil {
		t.Fatal(err)
	}
	_, sum, err := Evaluate(sc, testHasher(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file                          string
		accepted, rejected, duplicate int
	}{
		{"projects.csv", 1, 3, 0},
		{"departments.csv", 9, 2, 0},
		{"workers.csv", 2, 4, 0},
		{"bank/a-abc-2610.csv", 4, 4, 0},
		{"bank/b-abc-2611-resent.csv", 1, 0, 2},
		{"bank/c-abc-camt053-truncated.xml", 1, 2, 0},
		{"bank/d-notes.txt", 0, 1, 0},
		{"attendance/a-br1.csv", 19, 6, 0},
		{"attendance/b-br1-resent.jsonl", 3, 2, 5},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			fs, ok := sum.File(tc.file)
			if !ok {
				t.Fatalf("no summary for %s", tc.file)
			}
			if fs.Accepted != tc.accepted || fs.Rejected != tc.rejected || fs.Duplicates != tc.duplicate {
				t.Errorf("accepted %d rejected %d duplicates %d; want %d %d %d", fs.Accepted, fs.Rejected, fs.Duplicates, tc.accepted, tc.rejected, tc.duplicate)
			}
			if len(fs.Rejects) != fs.Rejected {
				t.Errorf("%d rejects listed for %d rejected", len(fs.Rejects), fs.Rejected)
			}
		})
	}
}

// fullNumber finds an 18-character identity number or a run of 16 or more
// digits: no reject reason may carry one.
var fullNumber = regexp.MustCompile(`\d{17}[\dX]|\d{16,}`)

// TestOracleRejectsHidePII checks every reject reason of every scenario for
// full identity or card numbers.
func TestOracleRejectsHidePII(t *testing.T) {
	h := testHasher(t)
	total := 0
	for _, dir := range allScenarios(t) {
		sc, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, sum, err := Evaluate(sc, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sum.Files {
			for _, r := range f.Rejects {
				total++
				if m := fullNumber.FindString(r.Reason); m != "" {
					t.Errorf("%s: %s:%d: reason holds a full number: %s", filepath.Base(dir), r.File, r.Line, r.Reason)
				}
				if strings.TrimSpace(r.Reason) == "" {
					t.Errorf("%s: %s:%d: empty reason", filepath.Base(dir), r.File, r.Line)
				}
			}
		}
	}
	if total == 0 {
		t.Error("no scenario has a reject: the bad-row scenarios are missing")
	}
}

// TestOracleRulesOverride checks that the rules: block of the
// rules-override scenario is what makes its alerts fire: with the defaults
// of rules.md the same folder raises none.
func TestOracleRulesOverride(t *testing.T) {
	sc, err := Load(filepath.Join(repoRoot(t), "testdata", "scenarios", "rules-override"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Rules == rules.DefaultConfig() {
		t.Fatal("scenario.yaml's rules: block was not read")
	}
	h := testHasher(t)
	got, _, err := Evaluate(sc, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("with the overrides: %d alerts, want 4", len(got))
	}
	sc.Rules = rules.DefaultConfig()
	got, _, err = Evaluate(sc, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got {
		t.Errorf("with the defaults an alert still fires: %s", l)
	}
}

func TestEvaluateNil(t *testing.T) {
	if _, _, err := Evaluate(nil, testHasher(t)); err == nil {
		t.Error("Evaluate(nil) returned no error")
	}
}
