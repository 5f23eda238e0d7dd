package route

import (
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wagewatch/wagewatch/shared/registry"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func cdept(id, county string, s registry.Sector) registry.Department {
	return registry.Department{ID: id, Name: id, Level: registry.County, CountyCode: county, Sector: s}
}

func citydept(id string, s registry.Sector) registry.Department {
	return registry.Department{ID: id, Name: id, Level: registry.City, Sector: s}
}

func TestRecipientsInline(t *testing.T) {
	full := []registry.Department{
		cdept("a-housing", "100001", registry.Housing),
		cdept("a-transport", "100001", registry.Transport),
		cdept("a-gov", "100001", registry.Gov),
		cdept("b-housing", "100002", registry.Housing), // county b has no gov
		citydept("c-housing", registry.Housing),
		citydept("c-transport", registry.Transport),
		citydept("c-water", registry.Water),
		citydept("c-gov", registry.Gov),
	}
	tests := []struct {
		name      string
		depts     []registry.Department
		county    string
		sector    registry.Sector
		severity  string
		escalated bool
		want      []string
	}{
		{"county has the sector", full, "100001", registry.Housing, "yellow", false, []string{"a-gov", "a-housing"}},
		{"orange stays at county", full, "100001", registry.Transport, "orange", false, []string{"a-gov", "a-transport"}},
		{"county lacks the sector: city takes its place", full, "100001", registry.Water, "blue", false, []string{"a-gov", "c-water"}},
		{"red adds city sector and gov", full, "100001", registry.Housing, "red", false, []string{"a-gov", "a-housing", "c-gov", "c-housing"}},
		{"escalated adds city sector and gov", full, "100001", registry.Transport, "yellow", true, []string{"a-gov", "a-transport", "c-gov", "c-transport"}},
		{"red and escalated together add nothing twice", full, "100001", registry.Housing, "red", true, []string{"a-gov", "a-housing", "c-gov", "c-housing"}},
		{"red with the city in the county's place", full, "100001", registry.Water, "red", false, []string{"a-gov", "c-gov", "c-water"}},
		{"gov missing at county", full, "100002", registry.Housing, "yellow", false, []string{"b-housing"}},
		{"gov missing at county, sector missing too", full, "100002", registry.Transport, "orange", false, []string{"c-transport"}},
		{"no city dept of the sector", full, "100001", registry.SOE, "yellow", false, []string{"a-gov"}},
		{"no city dept of the sector, red", full, "100001", registry.SOE, "red", false, []string{"a-gov", "c-gov"}},
		{"county without any department", full, "999999", registry.Housing, "yellow", false, []string{"c-housing"}},
		{"county without any department, escalated", full, "999999", registry.Housing, "yellow", true, []string{"c-gov", "c-housing"}},
		{"no city level at all", []registry.Department{cdept("a-gov", "100001", registry.Gov)}, "100001", registry.Housing, "red", true, []string{"a-gov"}},
		{"no departments", nil, "100001", registry.Housing, "red", false, nil},
		{"unknown sector reaches gov only", full, "100001", registry.Sector("mining"), "yellow", false, []string{"a-gov"}},
		{"sector named only by a department", append(slices.Clone(full), citydept("c-mining", "mining")), "100001", registry.Sector("mining"), "yellow", false, []string{"a-gov", "c-mining"}},
		{"two departments of one sector in a county", append(slices.Clone(full), cdept("a-housing-2", "100001", registry.Housing)), "100001", registry.Housing, "yellow", false, []string{"a-gov", "a-housing", "a-housing-2"}},
		{"duplicate id: the last row wins", []registry.Department{
			cdept("x", "100001", registry.Housing),
			cdept("a-gov", "100001", registry.Gov),
			cdept("x", "100001", registry.Transport),
		}, "100001", registry.Housing, "yellow", false, []string{"a-gov"}},
		{"duplicate identical rows appear once", []registry.Department{
			cdept("a-gov", "100001", registry.Gov),
			cdept("a-gov", "100001", registry.Gov),
			citydept("c-gov", registry.Gov),
			citydept("c-gov", registry.Gov),
		}, "100001", registry.Housing, "red", false, []string{"a-gov", "c-gov"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Build(tc.depts).Recipients(tc.county, tc.sector, tc.severity, tc.escalated)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Recipients(%s, %s, %s, %v) = %v, want %v\ntree:\n%s",
					tc.county, tc.sector, tc.severity, tc.escalated, got, tc.want, Build(tc.depts))
			}
		})
	}
}

// readDepartments reads a departments.csv for the tests; the registry package
// owns the real parser.
func readDepartments(t *testing.T, path string) []registry.Department {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var out []registry.Department
	for _, r := range rows[1:] {
		d := registry.Department{
			ID:         r[col["dept_id"]],
			Name:       r[col["name"]],
			Level:      registry.Level(r[col["level"]]),
			CountyCode: r[col["county_code"]],
			Sector:     registry.Sector(r[col["sector"]]),
			WebhookURL: r[col["webhook_url"]],
		}
		if s := r[col["sms"]]; s != "" {
			d.SMS = strings.Split(s, ";")
		}
		out = append(out, d)
	}
	return out
}

// TestRecipientsBasic checks the recipients of examples/basic
// (expected_alerts.jsonl) and what escalation would add to them.
func TestRecipientsBasic(t *testing.T) {
	tree := Build(readDepartments(t, filepath.Join("testdata", "basic_departments.csv")))
	tests := []struct {
		name      string
		county    string
		sector    registry.Sector
		severity  string
		escalated bool
		want      []string
	}{
		{"TS-QZ-002 wage_arrears", "620502", registry.Transport, "yellow", false, []string{"qz-gov", "qz-transport"}},
		{"TS-QZ-002 payment_returned", "620502", registry.Transport, "orange", false, []string{"qz-gov", "qz-transport"}},
		{"TS-MJ-001 balance_insufficient", "620503", registry.Housing, "blue", false, []string{"mj-gov", "mj-housing"}},
		{"TS-MJ-002 labor_cost_short", "620503", registry.Transport, "orange", false, []string{"mj-gov", "mj-transport"}},
		{"TS-QZ-001 housing", "620502", registry.Housing, "yellow", false, []string{"qz-gov", "qz-housing"}},
		{"Qinzhou water goes to the city", "620502", registry.Water, "yellow", false, []string{"city-water", "qz-gov"}},
		{"Qinzhou transport red", "620502", registry.Transport, "red", false, []string{"city-gov", "city-transport", "qz-gov", "qz-transport"}},
		{"Maiji housing escalated", "620503", registry.Housing, "orange", true, []string{"city-gov", "city-housing", "mj-gov", "mj-housing"}},
		{"Maiji soe: no soe department anywhere", "620503", registry.SOE, "yellow", false, []string{"mj-gov"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tree.Recipients(tc.county, tc.sector, tc.severity, tc.escalated)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, id := range got {
				if _, ok := tree.Department(id); !ok {
					t.Errorf("recipient %s is no department", id)
				}
			}
		})
	}
	d, ok := tree.Department("qz-gov")
	if !ok || len(d.SMS) != 2 || d.Level != registry.County || d.CountyCode != "620502" {
		t.Errorf("Department(qz-gov) = %+v, %v", d, ok)
	}
	if _, ok := tree.Department("nope"); ok {
		t.Error("Department(nope) found")
	}
}

func TestTreeStringGolden(t *testing.T) {
	got := Build(readDepartments(t, filepath.Join("testdata", "basic_departments.csv"))).String()
	path := filepath.Join("testdata", "basic_tree.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("tree differs from %s (run with -update):\n%s", path, got)
	}
}

func TestMatchContinue(t *testing.T) {
	// A hand-built tree: the first child continues, the second stops the
	// search, so the third is never reached.
	root := &Node{Name: "root", Routes: []*Node{
		{Name: "a", Matchers: []Matcher{{"k", "v"}}, Receivers: []string{"A"}, Continue: true},
		{Name: "b", Receivers: []string{"B"}},
		{Name: "c", Receivers: []string{"C"}},
	}}
	names := func(ns []*Node) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Name)
		}
		return out
	}
	if got := names(root.Match(map[string]string{"k": "v"})); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("match k=v: %v", got)
	}
	if got := names(root.Match(map[string]string{"k": "w"})); !slices.Equal(got, []string{"b"}) {
		t.Errorf("match k=w: %v", got)
	}
	leaf := &Node{Name: "leaf", Matchers: []Matcher{{"k", "v"}}}
	if got := leaf.Match(map[string]string{}); got != nil {
		t.Errorf("non-matching leaf matched: %v", names(got))
	}
}
