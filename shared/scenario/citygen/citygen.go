// Package citygen generates a city as a scenario folder
// (../shared/spec/scenario.md) for the scale benchmark: at scale 1, 277
// projects over the 7 counties and 5 sectors of a prefecture-level city
// (some suspended or completed, some without a wage account), departments
// per county and for the city, about 12,000 workers with valid GB 11643
// identity numbers and wage cards (a few enrolled on two projects with two
// cards), three months of attendance (about 650,000 rows, one file per
// project and month, CSV or JSON Lines) and the wage accounts' bank feeds in
// all three formats (about 40,000 entries: the construction units'
// deposits, a living allowance and the monthly payroll per worker, some
// short, late, missing or returned and re-paid, the monthly fees; canonical
// CSV, camt.053.001.08 with payroll batches, MT940). A scale k multiplies
// the projects, and with them everything else.
//
// The generator is pure and seeded: the same seed and scale give the same
// bytes. It writes no expected_alerts.jsonl: the alerts are whatever the
// rules make of the data.
package citygen

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// BaseProjects is the number of projects at scale 1.
const BaseProjects = 277

// AsOf is the scenario's moment of evaluation.
const AsOf = "2026-11-20T09:00:00+08:00"

// Options configure a city.
type Options struct {
	// Scale multiplies the projects (and so everything else); 0 means 1.
	Scale float64
	// Seed selects the city.
	Seed uint64
	// AccountsPerFile is how many wage accounts one bank file holds
	// (default 20): bank files are per bank, month and group of accounts.
	AccountsPerFile int
	// Webhook is the prefix of the departments' webhook URLs, the dept_id
	// follows (default http://127.0.0.1:9099/hook/, the local receiver).
	Webhook string
}

// Summary counts what a city holds.
type Summary struct {
	Projects, Suspended, Completed, WithoutAccount int
	Departments                                    int
	// Workers counts distinct identities; Enrolments the rows of
	// workers.csv (a worker on two projects is two).
	Workers, Enrolments int
	AttendanceRecords   int
	AttendanceFiles     int
	// BankEntries counts entries as the parsers yield them (each
	// transaction of a camt batch is one); BankBalances the reported
	// balances.
	BankEntries, BankBalances, BankFiles int
	// EntriesByFormat counts entries per format: csv, camt053, mt940.
	EntriesByFormat map[string]int
}

// Projects returns the number of projects at a scale.
func Projects(scale float64) int {
	if scale <= 0 {
		scale = 1
	}
	return max(1, int(math.Round(BaseProjects*scale)))
}

// Generate writes the city into dir (created if needed; it must hold no
// scenario yet) and returns what it holds.
func Generate(dir string, opt Options) (Summary, error) {
	if opt.AccountsPerFile <= 0 {
		opt.AccountsPerFile = 20
	}
	sum := Summary{EntriesByFormat: map[string]int{}}
	if _, err := os.Stat(filepath.Join(dir, "scenario.yaml")); err == nil {
		return sum, fmt.Errorf("generate city in %s: a scenario is there already", dir)
	}
	for _, sub := range []string{"attendance", "bank"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return sum, fmt.Errorf("generate city: %w", err)
		}
	}
	if opt.Webhook == "" {
		opt.Webhook = "http://127.0.0.1:9099/hook/"
	}
	w := &writer{dir: dir, sum: &sum, perFile: opt.AccountsPerFile, webhook: opt.Webhook, pending: map[string][]*project{}}
	if err := w.run(opt); err != nil {
		return sum, errors.Join(fmt.Errorf("generate city in %s: %w", dir, err), w.close())
	}
	if err := w.close(); err != nil {
		return sum, fmt.Errorf("generate city in %s: %w", dir, err)
	}
	return sum, nil
}

func (w *writer) run(opt Options) error {
	if err := w.file("scenario.yaml", func(b *bufio.Writer) error {
		_, err := fmt.Fprintf(b, "# A generated city (wagewatch scenario gen --scale %g --seed %d).\nas_of: %s\n", scaleOr1(opt.Scale), opt.Seed, AsOf)
		return err
	}); err != nil {
		return err
	}
	if err := w.departments(); err != nil {
		return err
	}
	var err error
	if w.projects, err = w.create("projects.csv"); err != nil {
		return err
	}
	if w.workers, err = w.create("workers.csv"); err != nil {
		return err
	}
	w.projects.WriteString("project_id,name,county_code,sector,contract_amount,status,start_date,wage_account,bank_code,payday,construction_unit,general_contractor\n")
	w.workers.WriteString("project_id,id_number,name,employer,bank_card,daily_wage,enrolled_on,left_on\n")
	g := &generator{seed: opt.Seed, perCty: map[string]int{}}
	var prev *project
	n := Projects(opt.Scale)
	for i := 0; i < n; i++ {
		p := g.project(i, prev)
		if err := w.project(p); err != nil {
			return err
		}
		prev = p
	}
	w.sum.Workers = g.nextID
	return w.flushBanks(true)
}

func scaleOr1(s float64) float64 {
	if s <= 0 {
		return 1
	}
	return s
}
