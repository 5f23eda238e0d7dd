// Package scenario reads a scenario folder (../shared/spec/scenario.md): its
// scenario.yaml, its registry, attendance and bank files in the order the
// product loads them, and its expected alerts; and compares alert lines.
package scenario

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wagewatch/wagewatch/shared/rules"
)

// ErrInvalid reports a folder that is not a valid scenario.
var ErrInvalid = errors.New("not a valid scenario")

// Scenario is a loaded scenario folder.
type Scenario struct {
	Dir   string
	AsOf  time.Time
	Rules rules.Config
	// Registry files in load order: projects first (workers need their
	// projects), then departments and workers.
	Projects, Departments, Workers string
	// Bank and Attendance hold the files of bank/ and attendance/, in byte
	// order of their names.
	Bank, Attendance []string
	// Expected is the path of expected_alerts.jsonl, "" when absent.
	Expected string
}

type file struct {
	AsOf  string         `yaml:"as_of"`
	Rules map[string]int `yaml:"rules"`
}

// Load reads the scenario in dir.
func Load(dir string) (*Scenario, error) {
	sc := &Scenario{Dir: dir, Rules: rules.DefaultConfig()}
	raw, err := os.ReadFile(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, dir, err)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: scenario.yaml: %v", ErrInvalid, err)
	}
	if f.AsOf == "" {
		return nil, fmt.Errorf("%w: scenario.yaml: as_of is missing", ErrInvalid)
	}
	if sc.AsOf, err = time.Parse(time.RFC3339, f.AsOf); err != nil {
		return nil, fmt.Errorf("%w: scenario.yaml: as_of %q is not RFC 3339 with an offset", ErrInvalid, f.AsOf)
	}
	for k, v := range f.Rules {
		switch k {
		case "balance_lookahead_days":
			sc.Rules.BalanceLookaheadDays = v
		case "feed_missing_days":
			sc.Rules.FeedMissingDays = v
		case "attendance_missing_days":
			sc.Rules.AttendanceMissingDays = v
		case "return_repay_days":
			sc.Rules.ReturnRepayDays = v
		case "escalate_after_hours":
			sc.Rules.EscalateAfterHours = v
		default:
			return nil, fmt.Errorf("%w: scenario.yaml: unknown rule setting %q", ErrInvalid, k)
		}
	}
	if err := sc.Rules.Validate(); err != nil {
		return nil, fmt.Errorf("%w: scenario.yaml: %v", ErrInvalid, err)
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"projects.csv", &sc.Projects}, {"departments.csv", &sc.Departments}, {"workers.csv", &sc.Workers}} {
		p := filepath.Join(dir, f.name)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: %s is missing", ErrInvalid, f.name)
		}
		*f.dst = p
	}
	if sc.Bank, err = list(filepath.Join(dir, "bank")); err != nil {
		return nil, err
	}
	if sc.Attendance, err = list(filepath.Join(dir, "attendance"), ".csv", ".jsonl"); err != nil {
		return nil, err
	}
	if p := filepath.Join(dir, "expected_alerts.jsonl"); exists(p) {
		sc.Expected = p
	}
	return sc, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// list returns the regular files of dir in byte order of their names
// (os.ReadDir sorts by name, which is byte order); a missing dir is empty.
func list(dir string, exts ...string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var out []string
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if len(exts) > 0 && !hasExt(e.Name(), exts) {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out, nil
}

func hasExt(name string, exts []string) bool {
	for _, x := range exts {
		if strings.HasSuffix(strings.ToLower(name), x) {
			return true
		}
	}
	return false
}

// Line is one alert line as scenario.md defines it; check compares these
// fields and ignores any other key.
type Line struct {
	Rule       string   `json:"rule"`
	ProjectID  string   `json:"project_id"`
	Period     string   `json:"period"`
	Severity   string   `json:"severity"`
	Workers    int      `json:"workers"`
	Amount     string   `json:"amount"`
	Recipients []string `json:"recipients"`
	Status     string   `json:"status"`
}

func (l Line) key() string { return l.ProjectID + "\x00" + l.Rule }

// String prints the line as JSON with the keys in scenario.md's order.
func (l Line) String() string {
	b, _ := json.Marshal(l)
	return string(b)
}

// ReadLines reads JSON Lines of alerts.
func ReadLines(data []byte) ([]Line, error) {
	var out []Line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		var l Line
		if err := json.Unmarshal([]byte(t), &l); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if l.Recipients == nil {
			l.Recipients = []string{}
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// Sort orders lines by project_id then rule, as strings.
func Sort(lines []Line) {
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].ProjectID != lines[j].ProjectID {
			return lines[i].ProjectID < lines[j].ProjectID
		}
		return lines[i].Rule < lines[j].Rule
	})
}

// Diff compares the alerts a run printed with the expected ones and returns
// one human-readable line per difference (none when they agree).
func Diff(got, want []Line) []string {
	g := map[string]Line{}
	for _, l := range got {
		g[l.key()] = l
	}
	w := map[string]Line{}
	for _, l := range want {
		w[l.key()] = l
	}
	var diffs []string
	for _, l := range want {
		have, ok := g[l.key()]
		switch {
		case !ok:
			diffs = append(diffs, "missing:    "+l.String())
		case have.String() != l.String():
			diffs = append(diffs, "different:  want "+l.String()+"\n            got  "+have.String())
		}
	}
	for _, l := range got {
		if _, ok := w[l.key()]; !ok {
			diffs = append(diffs, "unexpected: "+l.String())
		}
	}
	return diffs
}
