package notify

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// sampleDelivery is the wage_arrears alert of TS-QZ-002 in examples/basic,
// for qz-transport.
func sampleDelivery() Delivery {
	return Delivery{
		ID:          DeliveryID("TS-QZ-002:wage_arrears:1", 1, "qz-transport"),
		AlertID:     "TS-QZ-002:wage_arrears:1",
		ProjectID:   "TS-QZ-002",
		ProjectName: "秦州区天水大道改造工程",
		CountyCode:  "620502",
		Sector:      "transport",
		Rule:        "wage_arrears",
		RuleChinese: "未按时足额支付工资",
		Change:      ChangeOpened,
		Status:      "open",
		Severity:    "yellow",
		Period:      "2026-10",
		Workers:     2,
		Amount:      money.Fen(676000),
		Recipient: Recipient{
			DeptID:     "qz-transport",
			Name:       "秦州区交通运输局",
			SMS:        []string{"13800000002"},
			WebhookURL: "http://127.0.0.1:9099/hook/qz-transport",
		},
		At:          time.Date(2026, 11, 20, 9, 0, 0, 0, day.Shanghai),
		OpenedAt:    time.Date(2026, 11, 20, 9, 0, 0, 0, day.Shanghai),
		TimelineURL: "https://wagewatch.example/alerts/TS-QZ-002:wage_arrears:1",
	}
}

// fixedClock returns a clock that always answers t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
