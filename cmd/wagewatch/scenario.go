package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/stack"
)

func init() {
	register("scenario run", command{
		summary: "scenario run DIR [--keep] [--as-of RFC3339]: load a scenario through the pipeline, print the open alerts",
		run: func(ctx context.Context, args []string, o, e io.Writer) int {
			return runScenario(ctx, args, o, e, false)
		},
	})
	register("scenario check", command{
		summary: "scenario check DIR [--keep] [--as-of RFC3339]: run it and compare with expected_alerts.jsonl",
		run: func(ctx context.Context, args []string, o, e io.Writer) int {
			return runScenario(ctx, args, o, e, true)
		},
	})
}

func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer, check bool) int {
	name := "scenario run"
	if check {
		name = "scenario check"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	keep := fs.Bool("keep", false, "load into what the previous run left (every record then a duplicate)")
	asOf := fs.String("as-of", "", "moment of evaluation (RFC 3339 with offset); default: the scenario's as_of")
	logFile := fs.String("log", "", "write the functions' JSON logs here (default .local/log/scenario.log)")
	drain := fs.Duration("drain", 0, "how long to wait for the queues to drain at each step (default: the longest visibility timeout of the template's queues and a minute)")
	dir, rest := splitDir(args)
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	} else if dir == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: wagewatch %s DIR [--keep] [--as-of RFC3339]\n", name)
		return 2
	}
	sc, err := scenario.Load(dir)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", oneLine(err))
		return 1
	}
	if check && sc.Expected == "" {
		fmt.Fprintf(stderr, "wagewatch: %s has no expected_alerts.jsonl to check against\n", dir)
		return 1
	}
	opt := scenario.Options{Keep: *keep, Report: stderr, Drain: *drain}
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			fmt.Fprintf(stderr, "wagewatch: --as-of %q is not RFC 3339 with an offset\n", *asOf)
			return 1
		}
		opt.AsOf = t
	}
	if opt.Root, err = stack.RepoRoot(); err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	if *logFile == "" {
		*logFile = filepath.Join(opt.Root, ".local", "log", "scenario.log")
	}
	if err := os.MkdirAll(filepath.Dir(*logFile), 0o755); err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	lf, err := os.Create(*logFile)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	defer lf.Close()
	opt.Log = slog.New(pii.NewRedactingHandler(slog.NewJSONHandler(lf, &slog.HandlerOptions{Level: slog.LevelDebug})))

	res, err := scenario.Run(ctx, sc, opt)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", oneLine(err))
		fmt.Fprintf(stderr, "wagewatch: the functions' logs are in %s\n", *logFile)
		return 1
	}
	printSummary(stderr, res)
	for _, a := range res.Alerts {
		fmt.Fprintf(stdout, "%s\n", a.Line())
	}
	if !check {
		return 0
	}
	got, err := res.Lines()
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	data, err := os.ReadFile(sc.Expected)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	want, err := scenario.ReadLines(data)
	if err != nil {
		fmt.Fprintf(stderr, "wagewatch: %s: %v\n", sc.Expected, err)
		return 1
	}
	diffs := scenario.Diff(got, want)
	for _, d := range diffs {
		fmt.Fprintln(stderr, d)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(stderr, "check: %s: %d differences (%d alerts expected, %d open)\n", dir, len(diffs), len(want), len(got))
		return 1
	}
	fmt.Fprintf(stderr, "check: %s: ok, %d alerts as expected\n", dir, len(want))
	return 0
}

// splitDir takes the first argument that is not a flag as the folder, so
// that flags may come before or after it.
func splitDir(args []string) (string, []string) {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			if i > 0 && !strings.Contains(args[i-1], "=") && (args[i-1] == "--as-of" || args[i-1] == "-as-of" || args[i-1] == "--log" || args[i-1] == "-log" || args[i-1] == "--drain" || args[i-1] == "-drain") {
				continue
			}
			return a, append(append([]string{}, args[:i]...), args[i+1:]...)
		}
	}
	return "", args
}

func printSummary(w io.Writer, res *scenario.Result) {
	var acc, rej, dup, dupFiles int
	for _, m := range res.Files {
		if m.DuplicateOf != "" {
			dupFiles++
			fmt.Fprintf(w, "%s: duplicate of %s, ignored (%d records)\n", m.Key, m.DuplicateOf, m.Accepted+m.Duplicates)
			dup += m.Accepted + m.Duplicates
			continue
		}
		fmt.Fprintf(w, "%s: %s, %d accepted, %d rejected, %d duplicate\n", m.Key, m.Format, m.Accepted, m.Rejected, m.Duplicates)
		for _, r := range m.Rejects {
			fmt.Fprintf(w, "  rejected: %s\n", oneLine(errors.New(r.Reason)))
		}
		if m.Truncated {
			fmt.Fprintf(w, "  … more rejects in reports/%s.rejects.jsonl\n", m.Key)
		}
		acc += m.Accepted
		rej += m.Rejected
		dup += m.Duplicates
	}
	fmt.Fprintf(w, "summary: %d files (%d duplicate files), %d records accepted, %d rejected, %d duplicate; %d open alerts; namespace %s\n",
		len(res.Files), dupFiles, acc, rej, dup, len(res.Alerts), res.Namespace)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
