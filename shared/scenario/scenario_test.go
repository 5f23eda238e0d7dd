package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadExample(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "spec", "examples", "basic")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the spec's examples are expected beside the repository: %v", err)
	}
	sc, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.AsOf.Format("2006-01-02T15:04:05Z07:00"); got != "2026-11-20T09:00:00+08:00" {
		t.Errorf("as_of = %s", got)
	}
	if len(sc.Bank) != 3 || len(sc.Attendance) != 2 {
		t.Errorf("bank %d files, attendance %d files; want 3 and 2", len(sc.Bank), len(sc.Attendance))
	}
	if !strings.HasSuffix(sc.Bank[0], "abc-6228480010000001-2611.csv") {
		t.Errorf("bank files not in byte order of names: %v", sc.Bank)
	}
	if sc.Rules.FeedMissingDays != 10 {
		t.Errorf("default feed_missing_days = %d", sc.Rules.FeedMissingDays)
	}
	data, err := os.ReadFile(sc.Expected)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ReadLines(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 8 {
		t.Fatalf("%d expected lines, want 8", len(lines))
	}
	// The file is written in the order scenario.md prescribes.
	sorted := append([]Line(nil), lines...)
	Sort(sorted)
	for i := range lines {
		if lines[i].String() != sorted[i].String() {
			t.Fatalf("expected file not sorted at %d", i)
		}
	}
	if d := Diff(lines, lines); len(d) != 0 {
		t.Fatalf("a set differs from itself: %v", d)
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no scenario.yaml", map[string]string{"departments.csv": "dept_id\n"}, "scenario.yaml"},
		{"bad as_of", map[string]string{"scenario.yaml": "as_of: yesterday\n"}, "RFC 3339"},
		{"unknown rule", map[string]string{"scenario.yaml": "as_of: 2026-11-20T09:00:00+08:00\nrules:\n  foo: 1\n"}, "unknown rule setting"},
		{"no departments", map[string]string{"scenario.yaml": "as_of: 2026-11-20T09:00:00+08:00\n", "projects.csv": "x\n", "workers.csv": "x\n"}, "departments.csv is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	a := Line{Rule: "wage_arrears", ProjectID: "P1", Period: "2026-10", Severity: "yellow", Workers: 2, Amount: "10.00", Recipients: []string{"a"}, Status: "open"}
	b := a
	b.Amount = "11.00"
	c := a
	c.Rule = "feed_missing"
	d := Diff([]Line{b, c}, []Line{a})
	if len(d) != 2 || !strings.HasPrefix(d[0], "different") || !strings.HasPrefix(d[1], "unexpected") {
		t.Fatalf("Diff = %q", d)
	}
	if d := Diff(nil, []Line{a}); len(d) != 1 || !strings.HasPrefix(d[0], "missing") {
		t.Fatalf("Diff = %q", d)
	}
}
