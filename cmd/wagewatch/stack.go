package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/wagewatch/wagewatch/shared/stack"
)

// The "stack" commands work on the local stack that infra/stack.sh starts:
// they create the template's resources in it and read them back from
// .local/resources.json.

func init() {
	register("stack provision", command{
		summary: "create the template's tables, queues and bucket in the local stack; print them",
		run:     runStackProvision,
	})
	register("stack upload", command{
		summary: "stack upload KEY FILE: put FILE in the local feed bucket and notify as S3 would",
		run:     runStackUpload,
	})
	register("stack env", command{
		summary: "stack env FUNCTION: print a function's environment against the local stack",
		run:     runStackEnv,
	})
	register("stack teardown", command{
		summary: "delete the last provisioned namespace's resources from the local stack",
		run:     runStackTeardown,
	})
}

// loadStack reads the template and the last provisioned resources.
func loadStack(ctx context.Context, stderr io.Writer) (*stack.Resources, string, bool) {
	root, err := stack.RepoRoot()
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return nil, "", false
	}
	tpl, err := stack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return nil, "", false
	}
	cfg, err := stack.LocalConfig(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return nil, "", false
	}
	res, err := stack.LoadResources(stack.StatePath(root), cfg, tpl, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		fmt.Fprintf(stderr, "wagewatch: %v (run `wagewatch stack provision` first)\n", err)
		return nil, "", false
	}
	return res, root, true
}

func runStackProvision(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stack provision", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("namespace", "", "resource name prefix (default: a fresh one; with --keep, the last one)")
	keep := fs.Bool("keep", false, "reuse the last provisioned namespace (.local/resources.json)")
	reset := fs.Bool("reset", false, "delete the namespace's resources first, so they start empty")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	root, err := stack.RepoRoot()
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	tpl, err := stack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	cfg, err := stack.LocalConfig(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	namespace := *ns
	var last *stack.Resources
	if *keep {
		if prev, err := stack.LoadResources(stack.StatePath(root), cfg, tpl, log); err == nil {
			last = prev
			if namespace == "" {
				namespace = prev.Namespace
			}
		}
	}
	if namespace == "" {
		namespace = stack.NewNamespace()
	}
	var res *stack.Resources
	if *reset {
		res, err = stack.Reset(ctx, cfg, tpl, namespace, log)
	} else {
		res, err = stack.Provision(ctx, cfg, tpl, namespace, log)
	}
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	if last != nil && last.Namespace == namespace {
		res.PIIKey = last.PIIKey // the same namespace keeps its key: stored hashes stay valid
	}
	if err := res.Save(stack.StatePath(root)); err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	out := *res
	out.PIIKey = "(in .local/resources.json)"
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	return 0
}

func runStackUpload(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: wagewatch stack upload KEY FILE")
		return 2
	}
	res, _, ok := loadStack(ctx, stderr)
	if !ok {
		return 1
	}
	size, err := res.UploadFile(ctx, args[0], args[1])
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	fmt.Fprintf(stdout, "uploaded %s (%d bytes)\n", args[0], size)
	return 0
}

func runStackEnv(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: wagewatch stack env FUNCTION")
		return 2
	}
	res, _, ok := loadStack(ctx, stderr)
	if !ok {
		return 1
	}
	env, err := res.EnvFor(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "%s=%s\n", k, env[k])
	}
	return 0
}

func runStackTeardown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	res, root, ok := loadStack(ctx, stderr)
	if !ok {
		return 1
	}
	cfg, err := stack.LocalConfig(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	if err := stack.Teardown(ctx, cfg, res.Namespace); err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	_ = os.Remove(stack.StatePath(root))
	fmt.Fprintf(stdout, "deleted namespace %s\n", res.Namespace)
	return 0
}
