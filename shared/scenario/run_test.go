package scenario_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
)

// scenarioDirs lists the spec's examples and our own scenarios.
func scenarioDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	for _, parent := range []string{
		filepath.Join(root, "..", "shared", "spec", "examples"),
		filepath.Join(root, "testdata", "scenarios"),
	} {
		ents, err := os.ReadDir(parent)
		if err != nil {
			t.Fatalf("scenarios: %v (the spec folder is expected beside the repository)", err)
		}
		for _, e := range ents {
			if e.IsDir() && fileExists(filepath.Join(parent, e.Name(), "scenario.yaml")) {
				dirs = append(dirs, filepath.Join(parent, e.Name()))
			}
		}
	}
	return dirs
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestScenariosThroughThePipeline loads every scenario through the real
// upload path, queues and consumers of the local stack, and checks the open
// alerts against expected_alerts.jsonl and against the in-memory oracle.
// Then it loads the first one again with Keep: every file is a duplicate
// and the alerts stay the same.
func TestScenariosThroughThePipeline(t *testing.T) {
	stacktest.EnsureLocal(t)
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dirs := scenarioDirs(t, root)
	if len(dirs) == 0 {
		t.Fatal("no scenarios found")
	}
	h, err := pii.NewHasher([]byte("pipeline-vs-oracle-test-key-0123"))
	if err != nil {
		t.Fatal(err)
	}
	// This test's runs keep their own state, apart from the CLI's.
	state := filepath.Join(t.TempDir(), "resources.json")
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			sc, err := scenario.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var report, logs bytes.Buffer
			log := slog.New(pii.NewRedactingHandler(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			res, err := scenario.Run(ctx, sc, scenario.Options{Root: root, State: state, Report: &report, Log: log})
			if err != nil {
				t.Fatalf("run: %v\nreport:\n%s\nlast log lines:\n%s", err, report.String(), tail(logs.String(), 40))
			}
			got, err := res.Lines()
			if err != nil {
				t.Fatal(err)
			}
			if sc.Expected != "" {
				data, err := os.ReadFile(sc.Expected)
				if err != nil {
					t.Fatal(err)
				}
				want, err := scenario.ReadLines(data)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range scenario.Diff(got, want) {
					t.Errorf("pipeline vs expected_alerts.jsonl: %s", d)
				}
			}
			oracle, _, err := scenario.Evaluate(sc, h)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range scenario.Diff(got, oracle) {
				t.Errorf("pipeline vs oracle: %s", d)
			}
			if strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("the functions logged errors:\n%s", grepLines(logs.String(), `"level":"ERROR"`))
			}
		})
	}

	t.Run("keep loads nothing twice", func(t *testing.T) {
		sc, err := scenario.Load(dirs[0])
		if err != nil {
			t.Fatal(err)
		}
		var report bytes.Buffer
		first, err := scenario.Run(context.Background(), sc, scenario.Options{Root: root, State: state, Report: &report})
		if err != nil {
			t.Fatal(err)
		}
		again, err := scenario.Run(context.Background(), sc, scenario.Options{Root: root, State: state, Report: &report, Keep: true})
		if err != nil {
			t.Fatal(err)
		}
		if again.Namespace != first.Namespace {
			t.Fatalf("keep used namespace %s, want %s", again.Namespace, first.Namespace)
		}
		for _, m := range again.Files {
			if m.DuplicateOf == "" {
				t.Errorf("%s was ingested again, want a duplicate file", m.Key)
			}
		}
		a, _ := first.Lines()
		b, _ := again.Lines()
		if d := scenario.Diff(b, a); len(d) > 0 || len(a) != len(b) {
			t.Errorf("alerts changed on reloading: %v", d)
		}
		for i := range first.Alerts {
			if first.Alerts[i].ID != again.Alerts[i].ID || len(first.Alerts[i].Timeline) != len(again.Alerts[i].Timeline) {
				t.Errorf("alert %s changed on reloading", first.Alerts[i].ID)
			}
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
