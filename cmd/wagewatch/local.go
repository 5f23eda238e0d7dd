package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/wagewatch/wagewatch/shared/handler"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/scenario"
)

func init() {
	register("runner", command{
		summary: "play Lambda's queue → function mappings against the last provisioned local namespace until interrupted",
		run:     runRunner,
	})
	register("import", command{
		summary: "import DIR: upload DIR's projects.csv, departments.csv and workers.csv to the local feed bucket",
		run:     runImport,
	})
	register("scan", command{
		summary: "scan [--as-of RFC3339]: run the compliance scan on the local namespace, as the scheduler does",
		run:     runScan,
	})
}

// runRunner serves the functions of the last provisioned namespace: the
// local counterpart of the deployed stack, for `wagewatch import`,
// `stack upload`, the attendance API client and `scan`.
func runRunner(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reeval := fs.Duration("reeval-delay", 60*time.Second, "debounce delay of the re-evaluation after a change")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	res, _, ok := loadStack(ctx, stderr)
	if !ok {
		return 1
	}
	log := slog.New(pii.NewRedactingHandler(slog.NewJSONHandler(stdout, nil)))
	app, err := scenario.Wire(ctx, res, scenario.WireOptions{
		Env: map[string]string{"WW_REEVAL_DELAY_SECONDS": fmt.Sprint(int(reeval.Seconds()))}, Log: log,
	})
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch runner:", err)
		return 1
	}
	if err := app.Runner.Start(ctx); err != nil {
		fmt.Fprintln(stderr, "wagewatch runner:", err)
		return 1
	}
	fmt.Fprintf(stderr, "wagewatch runner: serving namespace %s; interrupt to stop\n", res.Namespace)
	<-ctx.Done()
	app.Runner.Stop()
	return 0
}

// runImport uploads the registry files of a folder, projects first: the
// import-registry function (the runner, locally) validates and loads them.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: wagewatch import DIR   (DIR holds projects.csv, departments.csv and/or workers.csv)")
		return 2
	}
	res, _, ok := loadStack(ctx, stderr)
	if !ok {
		return 1
	}
	n := 0
	for _, name := range []string{"projects.csv", "departments.csv", "workers.csv"} {
		path := filepath.Join(args[0], name)
		if _, err := os.Stat(path); os.IsNotExist(err) {
			continue
		}
		if _, err := res.UploadFile(ctx, "registry/"+name, path); err != nil {
			fmt.Fprintln(stderr, "wagewatch import:", err)
			return 1
		}
		fmt.Fprintf(stdout, "uploaded %s to registry/%s\n", path, name)
		n++
	}
	if n == 0 {
		fmt.Fprintf(stderr, "wagewatch import: %s has no projects.csv, departments.csv or workers.csv\n", args[0])
		return 1
	}
	fmt.Fprintln(stdout, "the import-registry function reports each file's rejects under reports/registry/ in the bucket")
	return 0
}

// runScan invokes the scan function once, as EventBridge Scheduler does.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asOf := fs.String("as-of", "", "moment of evaluation (RFC 3339 with offset); default now")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var in handler.ScanInput
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			fmt.Fprintf(stderr, "wagewatch scan: --as-of %q is not RFC 3339 with an offset\n", *asOf)
			return 2
		}
		in.AsOf = t
	}
	res, _, ok := loadStack(ctx, stderr)
	if !ok {
		return 1
	}
	app, err := scenario.Wire(ctx, res, scenario.WireOptions{})
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch scan:", err)
		return 1
	}
	out, err := handler.NewScan(app.Deps["scan"]).Handle(ctx, in)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch scan:", err)
		return 1
	}
	fmt.Fprintf(stdout, "scan as of %s: %d projects sent to the evaluate queue\n", out.AsOf.Format(time.RFC3339), out.Projects)
	return 0
}
