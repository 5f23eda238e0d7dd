package scenario

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/wagewatch/wagewatch/shared/attendance"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/feed"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/route"
	"github.com/wagewatch/wagewatch/shared/rules"
)

// Reject is one rejected row, entry or balance (or, with Line 0, a whole
// file) with its reason. Reasons never hold a full identity or card number.
type Reject struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// FileSummary is what the oracle made of one file of the scenario.
type FileSummary struct {
	// File is the path relative to the scenario folder.
	File string `json:"file"`
	// Kind is projects, departments, workers, bank or attendance.
	Kind string `json:"kind"`
	// DuplicateFile is set when the file's bytes equal an earlier file's:
	// the pipeline ignores re-delivered content as a whole.
	DuplicateFile bool `json:"duplicate_file,omitempty"`
	// Accepted counts rows, entries or records kept; Balances counts
	// reported balances kept (bank files only).
	Accepted   int      `json:"accepted"`
	Balances   int      `json:"balances,omitempty"`
	Rejected   int      `json:"rejected"`
	Duplicates int      `json:"duplicates"`
	Rejects    []Reject `json:"rejects,omitempty"`
}

// Summary is what the oracle accepted, rejected and ignored as duplicate,
// file by file in load order.
type Summary struct {
	Files []FileSummary `json:"files"`
}

// Totals adds up the counts of every file.
func (s Summary) Totals() (accepted, balances, rejected, duplicates int) {
	for _, f := range s.Files {
		accepted += f.Accepted
		balances += f.Balances
		rejected += f.Rejected
		duplicates += f.Duplicates
	}
	return accepted, balances, rejected, duplicates
}

// File returns the summary of the file at path rel (relative to the
// scenario folder), if the oracle read it.
func (s Summary) File(rel string) (FileSummary, bool) {
	for _, f := range s.Files {
		if f.File == rel {
			return f, true
		}
	}
	return FileSummary{}, false
}

// oracle holds the in-memory tables a scenario loads into.
type oracle struct {
	sc   *Scenario
	h    *pii.Hasher
	sum  Summary
	seen map[[sha256.Size]byte]string // content hash → first file

	projects []registry.Project
	depts    []registry.Department
	byProj   map[string][]registry.Enrolment

	entries  map[string][]ledger.Entry   // account → entries, first of each (account, bank_ref)
	entryKey map[string]bool             // (account, bank_ref) seen
	balances map[string][]ledger.Balance // account → balances

	days    map[string]map[string][]day.Date // project → id hash → dates
	dayKeys map[string]bool                  // (project, worker, date) seen
}

// Evaluate is the oracle of a scenario: it reads the folder with the pure
// parsers exactly as the pipeline loads it — projects, departments, then
// workers checked against the registered projects; bank files in byte order
// of their names (entries validated and only CNY accepted, the first
// (account, bank_ref) kept, balances ordered by file then line); attendance
// records checked against the roster, one per (project, worker, date) — and
// evaluates every registered project at sc.AsOf with sc.Rules. It returns
// the alert lines a correct product prints (status open, recipients routed
// from departments.csv without escalation), sorted by project_id then rule,
// and a summary of what each file gave. It holds everything in memory: it is
// meant for scenarios, not for production volumes.
//
// An error means a file could not be read at all (I/O); rows, entries and
// files the pipeline would reject are reported in the Summary instead.
func Evaluate(sc *Scenario, h *pii.Hasher) ([]Line, Summary, error) {
	if sc == nil || h == nil {
		return nil, Summary{}, errors.New("oracle: nil scenario or hasher")
	}
	o := &oracle{
		sc: sc, h: h,
		seen:     map[[sha256.Size]byte]string{},
		byProj:   map[string][]registry.Enrolment{},
		entries:  map[string][]ledger.Entry{},
		entryKey: map[string]bool{},
		balances: map[string][]ledger.Balance{},
		days:     map[string]map[string][]day.Date{},
		dayKeys:  map[string]bool{},
	}
	steps := []struct {
		path string
		kind string
		read func(data []byte, fs *FileSummary) error
	}{
		{sc.Projects, "projects", o.readProjects},
		{sc.Departments, "departments", o.readDepartments},
		{sc.Workers, "workers", o.readWorkers},
	}
	for i, p := range sc.Bank {
		n := i
		steps = append(steps, struct {
			path string
			kind string
			read func(data []byte, fs *FileSummary) error
		}{p, "bank", func(data []byte, fs *FileSummary) error { return o.readBank(data, n, fs) }})
	}
	for _, p := range sc.Attendance {
		steps = append(steps, struct {
			path string
			kind string
			read func(data []byte, fs *FileSummary) error
		}{p, "attendance", o.readAttendance})
	}
	for _, st := range steps {
		if err := o.load(st.path, st.kind, st.read); err != nil {
			return nil, o.sum, err
		}
	}
	return o.evaluate(), o.sum, nil
}

// rel names a file by its path inside the scenario folder.
func (o *oracle) rel(path string) string {
	if r, err := filepath.Rel(o.sc.Dir, path); err == nil {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(path)
}

// load reads one file and records its summary. A file whose bytes equal an
// earlier file's changes nothing, as in the pipeline.
func (o *oracle) load(path, kind string, read func([]byte, *FileSummary) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("oracle: read %s: %w", path, err)
	}
	fs := FileSummary{File: o.rel(path), Kind: kind}
	sum := sha256.Sum256(data)
	if _, dup := o.seen[sum]; dup {
		fs.DuplicateFile = true
		o.sum.Files = append(o.sum.Files, fs)
		return nil
	}
	o.seen[sum] = fs.File
	if err := read(data, &fs); err != nil {
		return fmt.Errorf("oracle: %s: %w", fs.File, err)
	}
	o.sum.Files = append(o.sum.Files, fs)
	return nil
}

func (fs *FileSummary) reject(line int, reason string) {
	fs.Rejected++
	fs.Rejects = append(fs.Rejects, Reject{File: fs.File, Line: line, Reason: pii.Redact(reason)})
}

func (fs *FileSummary) rowErrors(errs []registry.RowError) {
	for _, e := range errs {
		fs.reject(e.Line, e.Error())
	}
}

// fileLevel turns a file-level *registry.RowError (no header, a required
// column missing) into a reject of the whole file, as the pipeline reports
// it; any other error is returned.
func (fs *FileSummary) fileLevel(err error) error {
	var re *registry.RowError
	if errors.As(err, &re) {
		fs.reject(re.Line, re.Error())
		return nil
	}
	return err
}

func (o *oracle) readProjects(data []byte, fs *FileSummary) error {
	rows, errs, err := registry.ReadProjects(bytes.NewReader(data), fs.File)
	if err != nil {
		return fs.fileLevel(err)
	}
	fs.rowErrors(errs)
	o.projects = rows
	fs.Accepted = len(rows)
	return nil
}

func (o *oracle) readDepartments(data []byte, fs *FileSummary) error {
	rows, errs, err := registry.ReadDepartments(bytes.NewReader(data), fs.File)
	if err != nil {
		return fs.fileLevel(err)
	}
	fs.rowErrors(errs)
	o.depts = rows
	fs.Accepted = len(rows)
	return nil
}

func (o *oracle) readWorkers(data []byte, fs *FileSummary) error {
	rows, errs, err := registry.ReadWorkers(bytes.NewReader(data), fs.File, o.h)
	if err != nil {
		return fs.fileLevel(err)
	}
	fs.rowErrors(errs)
	registered := map[string]bool{}
	for _, p := range o.projects {
		registered[p.ID] = true
	}
	kept, errs := registry.CheckEnrolmentProjects(fs.File, rows, func(id string) bool { return registered[id] })
	fs.rowErrors(errs)
	for _, e := range kept {
		o.byProj[e.ProjectID] = append(o.byProj[e.ProjectID], e)
	}
	fs.Accepted = len(kept)
	return nil
}

// readBank reads one bank file, the n-th (from 0) in name order.
func (o *oracle) readBank(data []byte, n int, fs *FileSummary) error {
	intake := feed.NewIntake(func(d string) (string, string) { return o.h.HashCard(d), pii.MaskCard(d) })
	_, err := feed.Parse(bytes.NewReader(data), fs.File, func(it feed.Item) error {
		d := intake.Take(it)
		switch {
		case d.Reject != nil:
			fs.reject(d.Reject.Line, d.Reject.Reason)
		case d.Duplicate:
			fs.Duplicates++
		case d.Entry != nil:
			// Across files too: the store writes an (account, bank
			// reference) once.
			if o.entryKey[d.Entry.Key()] {
				fs.Duplicates++
				return nil
			}
			o.entryKey[d.Entry.Key()] = true
			o.entries[d.Entry.Account] = append(o.entries[d.Entry.Account], *d.Entry)
			fs.Accepted++
		case d.Balance != nil:
			// Read order: the file's place in name order, then the line.
			b := *d.Balance
			b.Order = fmt.Sprintf("%06d#%09d", n, b.Source.Line)
			o.balances[b.Account] = append(o.balances[b.Account], b)
			fs.Balances++
		}
		return nil
	})
	if errors.Is(err, feed.ErrUnknownFormat) {
		fs.reject(0, err.Error())
		return nil
	}
	return err
}

func (o *oracle) readAttendance(data []byte, fs *FileSummary) error {
	registered := map[string]bool{}
	for _, p := range o.projects {
		registered[p.ID] = true
	}
	rowErrs, err := attendance.Read(bytes.NewReader(data), fs.File, o.h, func(rec attendance.Record) error {
		if !registered[rec.ProjectID] {
			fs.reject(rec.Source.Line, fmt.Sprintf("project %s is not registered", rec.ProjectID))
			return nil
		}
		if err := attendance.CheckEnrolled(rec, o.byProj[rec.ProjectID]); err != nil {
			fs.reject(rec.Source.Line, err.Error())
			return nil
		}
		if o.dayKeys[rec.WorkDayKey()] {
			fs.Duplicates++
			return nil
		}
		o.dayKeys[rec.WorkDayKey()] = true
		if o.days[rec.ProjectID] == nil {
			o.days[rec.ProjectID] = map[string][]day.Date{}
		}
		o.days[rec.ProjectID][rec.IDHash] = append(o.days[rec.ProjectID][rec.IDHash], rec.Date)
		fs.Accepted++
		return nil
	})
	fs.rowErrors(rowErrs)
	if err != nil {
		return fs.fileLevel(err)
	}
	return nil
}

// evaluate applies the rules to every registered project and routes each
// finding.
func (o *oracle) evaluate() []Line {
	tree := route.Build(o.depts)
	lines := []Line{}
	for _, p := range o.projects {
		snap := rules.Snapshot{
			Project:    p,
			Roster:     o.byProj[p.ID],
			Attendance: o.days[p.ID],
		}
		if snap.Attendance == nil {
			snap.Attendance = map[string][]day.Date{}
		}
		if p.WageAccount != "" {
			snap.Entries = o.entries[p.WageAccount]
			snap.Balances = o.balances[p.WageAccount]
		}
		for _, f := range rules.Evaluate(snap, o.sc.AsOf, o.sc.Rules) {
			recips := tree.Recipients(p.CountyCode, p.Sector, string(f.Severity), false)
			if recips == nil {
				recips = []string{}
			}
			lines = append(lines, Line{
				Rule:       string(f.Rule),
				ProjectID:  p.ID,
				Period:     f.Period.String(),
				Severity:   string(f.Severity),
				Workers:    f.Workers,
				Amount:     f.Amount.String(),
				Recipients: recips,
				Status:     "open",
			})
		}
	}
	sort.SliceStable(lines, func(i, j int) bool {
		if lines[i].ProjectID != lines[j].ProjectID {
			return lines[i].ProjectID < lines[j].ProjectID
		}
		return lines[i].Rule < lines[j].Rule
	})
	return lines
}
