package rules

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/registry"
)

// testdata/basic is a copy of the spec's examples/basic (registry, roster,
// attendance, expected alerts). The bank files are transcribed by hand below,
// since the feed parsers are not this package's concern. The "hash" of an
// identity or card number is the number itself (digits only): this test is
// pure and never leaves the process.

// readCSV reads a CSV file with a header into maps (BOM tolerated).
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func mustDate(t *testing.T, s string) day.Date {
	t.Helper()
	d, err := day.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustFen(t *testing.T, s string) money.Fen {
	t.Helper()
	f, err := money.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func digits(s string) string { return strings.ReplaceAll(s, " ", "") }

// basicLedger transcribes the three bank files of examples/basic.
func basicLedger(t *testing.T) ([]ledger.Entry, []ledger.Balance) {
	d := func(s string) day.Date { return mustDate(t, s) }
	y := func(s string) money.Fen { return mustFen(t, s) }
	type row struct {
		acct, ref, date, dir, amt string
		kind                      ledger.Kind
		cp, e2e, orig             string
	}
	rows := []row{
		// abc-6228480010000001-2611.csv (canonical CSV, balance_after)
		{"6228480010000001", "ABC20261010001", "2026-10-10", "C", "10000.00", ledger.Deposit, "9558800200112233", "DEP-QZ001-2610", ""},
		{"6228480010000001", "ABC20261105001", "2026-11-05", "C", "12000.00", ledger.Deposit, "9558800200112233", "DEP-QZ001-2611", ""},
		{"6228480010000001", "ABC20261112001", "2026-11-12", "D", "7200.00", ledger.Payroll, "6228480010100001", "PAY-QZ001-2610-01", ""},
		{"6228480010000001", "ABC20261112002", "2026-11-12", "D", "6000.00", ledger.Payroll, "6228480010100002", "PAY-QZ001-2610-02", ""},
		{"6228480010000001", "ABC20261112003", "2026-11-12", "D", "4000.00", ledger.Payroll, "6228480010100003", "PAY-QZ001-2610-03", ""},
		{"6228480010000001", "ABC20261112004", "2026-11-12", "D", "2200.00", ledger.Payroll, "6228480010100004", "PAY-QZ001-2610-04", ""},
		{"6228480010000001", "ABC20261114001", "2026-11-14", "D", "20.00", ledger.Fee, "", "", ""},
		// ccb-camt053-2611.xml (camt.053.001.02, batch of four)
		{"6217000020000002", "CCB2610090001", "2026-10-09", "C", "20000.00", ledger.Deposit, "9558800300445566", "DEP-QZ002-2610", ""},
		{"6217000020000002", "CCB2611130007/1", "2026-11-13", "D", "6240.00", ledger.Payroll, "6217000020200001", "PAY-QZ002-2610-01", ""},
		{"6217000020000002", "CCB2611130007/2", "2026-11-13", "D", "5760.00", ledger.Payroll, "6217000020200002", "PAY-QZ002-2610-02", ""},
		{"6217000020000002", "CCB2611130007/3", "2026-11-13", "D", "3000.00", ledger.Payroll, "6217000020200003", "PAY-QZ002-2610-03", ""},
		{"6217000020000002", "CCB2611130007/4", "2026-11-13", "D", "3220.00", ledger.Payroll, "6217000020200004", "PAY-QZ002-2610-04", ""},
		{"6217000020000002", "CCB2611160002", "2026-11-16", "C", "5760.00", ledger.Return, "6217000020200002", "PAY-QZ002-2610-02", "PAY-QZ002-2610-02"},
		// abc-mt940-6228480030000003.sta (MT940)
		{"6228480030000003", "ABC2610120001", "2026-10-12", "C", "10000.00", ledger.Deposit, "9558800400778899", "DEP-MJ001-2610", ""},
		{"6228480030000003", "ABC2611030004", "2026-11-03", "D", "3000.00", ledger.Payroll, "6222999900001111", "PAY-MJ001-ADV-01", ""},
		{"6228480030000003", "ABC2611100002", "2026-11-10", "D", "2000.00", ledger.Payroll, "6228480030300001", "PAY-MJ001-2610-01", ""},
		{"6228480030000003", "ABC2611100003", "2026-11-10", "D", "2160.00", ledger.Payroll, "6228480030300004", "PAY-MJ001-2610-04", ""},
		{"6228480030000003", "ABC2611180001", "2026-11-18", "C", "5000.00", ledger.Deposit, "9558800400778899", "DEP-MJ001-2611", ""},
	}
	var es []ledger.Entry
	for _, r := range rows {
		es = append(es, ledger.Entry{
			Account: r.acct, BankRef: r.ref, BookingDate: d(r.date), Direction: ledger.Direction(r.dir),
			Amount: y(r.amt), Currency: "CNY", Kind: r.kind, CounterpartyHash: r.cp, EndToEndID: r.e2e, OriginalRef: r.orig,
		})
	}
	bal := func(acct, date, amt, order string) ledger.Balance {
		return ledger.Balance{Account: acct, Date: d(date), Amount: y(amt), Currency: "CNY", Order: order}
	}
	bs := []ledger.Balance{
		bal("6228480010000001", "2026-10-10", "10000.00", "0001-000002"),
		bal("6228480010000001", "2026-11-05", "22000.00", "0001-000003"),
		bal("6228480010000001", "2026-11-12", "14800.00", "0001-000004"),
		bal("6228480010000001", "2026-11-12", "8800.00", "0001-000005"),
		bal("6228480010000001", "2026-11-12", "4800.00", "0001-000006"),
		bal("6228480010000001", "2026-11-12", "2600.00", "0001-000007"),
		bal("6228480010000001", "2026-11-14", "2580.00", "0001-000008"),
		bal("6217000020000002", "2026-11-16", "7540.00", "0003-000001"),
		bal("6228480030000003", "2026-11-18", "7840.00", "0002-000001"),
	}
	return es, bs
}

// basicSnapshots builds the four projects' snapshots from testdata/basic.
func basicSnapshots(t *testing.T) []Snapshot {
	dir := filepath.Join("testdata", "basic")
	var snaps []Snapshot
	byID := map[string]*Snapshot{}
	for _, r := range readCSV(t, filepath.Join(dir, "projects.csv")) {
		payday, err := strconv.Atoi(r["payday"])
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, Snapshot{
			Project: registry.Project{
				ID: r["project_id"], Name: r["name"], CountyCode: r["county_code"],
				Sector: registry.Sector(r["sector"]), ContractAmount: mustFen(t, r["contract_amount"]),
				Status: registry.Status(r["status"]), StartDate: mustDate(t, r["start_date"]),
				WageAccount: r["wage_account"], BankCode: r["bank_code"], Payday: payday,
			},
			Attendance: map[string][]day.Date{},
		})
	}
	for i := range snaps {
		byID[snaps[i].Project.ID] = &snaps[i]
	}
	for _, r := range readCSV(t, filepath.Join(dir, "workers.csv")) {
		e := registry.Enrolment{
			ProjectID: r["project_id"], IDHash: r["id_number"], Name: r["name"],
			CardHash: digits(r["bank_card"]), DailyWage: mustFen(t, r["daily_wage"]),
			EnrolledOn: mustDate(t, r["enrolled_on"]),
		}
		if r["left_on"] != "" {
			e.LeftOn, e.HasLeft = mustDate(t, r["left_on"]), true
		}
		byID[e.ProjectID].Roster = append(byID[e.ProjectID].Roster, e)
	}

	type rec struct{ project, id, date string }
	var recs []rec
	for _, r := range readCSV(t, filepath.Join(dir, "attendance", "qinzhou-2026-10-11.csv")) {
		recs = append(recs, rec{r["project_id"], r["id_number"], r["date"]})
	}
	f, err := os.Open(filepath.Join(dir, "attendance", "maiji-2026-10-11.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			Project string `json:"project_id"`
			ID      string `json:"id_number"`
			Date    string `json:"date"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec{r.Project, r.ID, r.Date})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// As ingestion does: a record for a worker not enrolled on that project
	// on that date is rejected; repeated records of a day add nothing.
	rejected := 0
	seen := map[rec]bool{}
	for _, r := range recs {
		s := byID[r.project]
		dt := mustDate(t, r.date)
		ok := false
		for _, e := range s.Roster {
			if e.IDHash == r.id && e.EnrolledAt(dt) {
				ok = true
			}
		}
		if !ok {
			rejected++
			continue
		}
		if seen[r] {
			continue
		}
		seen[r] = true
		s.Attendance[r.id] = append(s.Attendance[r.id], dt)
	}
	if rejected != 1 {
		t.Fatalf("attendance rejected = %d, want 1 (README: one record after left_on)", rejected)
	}

	es, bs := basicLedger(t)
	for i := range snaps {
		acct := snaps[i].Project.WageAccount
		if acct == "" {
			continue
		}
		for _, e := range es {
			if e.Account == acct {
				snaps[i].Entries = append(snaps[i].Entries, e)
			}
		}
		for _, b := range bs {
			if b.Account == acct {
				snaps[i].Balances = append(snaps[i].Balances, b)
			}
		}
	}
	return snaps
}

func TestExampleBasic(t *testing.T) {
	at, err := time.Parse(time.RFC3339, "2026-11-20T09:00:00+08:00")
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		Rule      Rule     `json:"rule"`
		ProjectID string   `json:"project_id"`
		Period    string   `json:"period"`
		Severity  Severity `json:"severity"`
		Workers   int      `json:"workers"`
		Amount    string   `json:"amount"`
	}
	var got []line
	for _, s := range basicSnapshots(t) {
		for _, f := range Evaluate(s, at, DefaultConfig()) {
			got = append(got, line{f.Rule, f.ProjectID, f.Period.String(), f.Severity, f.Workers, f.Amount.String()})
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "basic", "expected_alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[line]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var w line
		if err := json.Unmarshal([]byte(l), &w); err != nil {
			t.Fatal(err)
		}
		want[w] = true
	}
	if len(want) != 8 {
		t.Fatalf("expected_alerts.jsonl holds %d distinct alerts, want 8", len(want))
	}
	gotSet := map[line]bool{}
	for _, g := range got {
		if gotSet[g] {
			t.Errorf("duplicate finding %+v", g)
		}
		gotSet[g] = true
		if !want[g] {
			t.Errorf("unexpected finding %+v", g)
		}
	}
	for w := range want {
		if !gotSet[w] {
			t.Errorf("missing finding %+v", w)
		}
	}
}
