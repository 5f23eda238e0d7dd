package alert

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/rules"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden")

// basicAlerts are the alerts of the spec's examples/basic, recipients in no
// particular order.
func basicAlerts() []Alert {
	mk := func(rule rules.Rule, project, period string, sev rules.Severity, workers int, fen int64, recips ...string) Alert {
		return Alert{Rule: rule, ProjectID: project, Period: month(period), Severity: sev, Workers: workers, Amount: moneyFen(fen), Recipients: recips, Status: Open}
	}
	return []Alert{
		mk(rules.BalanceInsufficient, "TS-MJ-001", "2026-10", rules.Blue, 3, 662000, "mj-housing", "mj-gov"),
		mk(rules.PayeeNotEnrolled, "TS-MJ-001", "2026-11", rules.Yellow, 1, 300000, "mj-gov", "mj-housing"),
		mk(rules.AttendanceMissing, "TS-MJ-002", "2026-11", rules.Yellow, 0, 0, "mj-transport", "mj-gov"),
		mk(rules.FeedMissing, "TS-MJ-002", "2026-11", rules.Yellow, 0, 0, "mj-gov", "mj-transport"),
		mk(rules.LaborCostShort, "TS-MJ-002", "2026-10", rules.Orange, 0, 1314000, "mj-transport", "mj-gov"),
		mk(rules.WageArrears, "TS-MJ-002", "2026-10", rules.Orange, 3, 1314000, "mj-gov", "mj-transport"),
		mk(rules.PaymentReturned, "TS-QZ-002", "2026-11", rules.Orange, 1, 576000, "qz-transport", "qz-gov"),
		mk(rules.WageArrears, "TS-QZ-002", "2026-10", rules.Yellow, 2, 676000, "qz-transport", "qz-gov"),
	}
}

func TestLineMatchesSpecExample(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "basic_expected_alerts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, a := range basicAlerts() {
		got.Write(a.Line())
		got.WriteByte('\n')
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("lines differ from examples/basic/expected_alerts.jsonl:\n%s\nwant:\n%s", got.Bytes(), want)
	}
}

func TestLineGolden(t *testing.T) {
	opened := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	acked := stored(finding(rules.WageArrears, 2, 676005, "2026-10", rules.Orange), 7, Acknowledged)
	acked.ID, acked.ProjectID, acked.OpenedAt = "TS-QZ-002:wage_arrears:7", "TS-QZ-002", opened
	acked.Recipients = []string{"qz-transport", "city-transport", "qz-gov"}
	none := Alert{Rule: rules.FeedMissing, ProjectID: "P\"1", Period: month("2026-01"), Severity: rules.Yellow, Status: Open}
	alerts := append(basicAlerts(), acked, none)

	var got bytes.Buffer
	for _, a := range alerts {
		line := a.Line()
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line is not JSON: %s: %v", line, err)
		}
		got.Write(line)
		got.WriteByte('\n')
	}
	path := filepath.Join("testdata", "lines.golden.jsonl")
	if *updateGolden {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("lines differ from %s:\n%s\nwant:\n%s", path, got.Bytes(), want)
	}
}

func TestLineKeyOrder(t *testing.T) {
	a := basicAlerts()[0]
	a.ID, a.OpenedAt = "TS-MJ-001:balance_insufficient:1", time.Date(2026, 11, 20, 9, 0, 0, 0, day.Shanghai)
	dec := json.NewDecoder(bytes.NewReader(a.Line()))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"rule", "project_id", "period", "severity", "workers", "amount", "recipients", "status", "id", "opened_at"}
	if len(keys) != len(want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("keys = %v, want %v", keys, want)
		}
	}
	if a.Recipients[0] != "mj-housing" {
		t.Error("Line sorted the alert's own recipients")
	}
}

func moneyFen(f int64) money.Fen { return money.Fen(f) }
