package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wagewatch/wagewatch/shared/scenario/citygen"
)

func init() {
	register("scenario gen", command{
		summary: "scenario gen DIR [--scale K] [--seed S]: generate a city (277×K projects) as a scenario folder",
		run:     runGen,
	})
}

func runGen(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scenario gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scale := fs.Float64("scale", 1, "multiply the projects (and everything else) by this")
	seed := fs.Uint64("seed", 1, "which city")
	perFile := fs.Int("accounts-per-file", 20, "wage accounts per bank file")
	dir, rest := splitGenDir(args)
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	} else if dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: wagewatch scenario gen DIR [--scale K] [--seed S]")
		return 2
	}
	if *scale <= 0 {
		fmt.Fprintln(stderr, "wagewatch: --scale must be positive")
		return 2
	}
	sum, err := citygen.Generate(dir, citygen.Options{Scale: *scale, Seed: *seed, AccountsPerFile: *perFile})
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d projects (%d suspended, %d completed, %d without wage account), %d departments\n",
		dir, sum.Projects, sum.Suspended, sum.Completed, sum.WithoutAccount, sum.Departments)
	fmt.Fprintf(stdout, "  %d workers in %d enrolments; %d attendance records in %d files\n",
		sum.Workers, sum.Enrolments, sum.AttendanceRecords, sum.AttendanceFiles)
	fmt.Fprintf(stdout, "  %d bank entries (csv %d, camt.053 %d, mt940 %d) and %d balances in %d files\n",
		sum.BankEntries, sum.EntriesByFormat["csv"], sum.EntriesByFormat["camt053"], sum.EntriesByFormat["mt940"],
		sum.BankBalances, sum.BankFiles)
	return 0
}

// splitGenDir takes the folder out of args, wherever it stands among the
// flags (a flag's value is not the folder).
func splitGenDir(args []string) (string, []string) {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if i > 0 && !strings.Contains(args[i-1], "=") {
			switch strings.TrimLeft(args[i-1], "-") {
			case "scale", "seed", "accounts-per-file":
				continue
			}
		}
		return a, append(append([]string{}, args[:i]...), args[i+1:]...)
	}
	return "", args
}
