package rules

import (
	"testing"
)

func TestAllAndChinese(t *testing.T) {
	want := []struct {
		r  Rule
		zh string
	}{
		{WageArrears, "未按时足额支付工资"},
		{LaborCostShort, "人工费用拨付不足"},
		{BalanceInsufficient, "专户余额不足"},
		{FeedMissing, "专户未开设或未报送"},
		{AttendanceMissing, "实名制考勤缺失"},
		{PaymentReturned, "工资退票未重发"},
		{PayeeNotEnrolled, "工资发放对象不在册"},
	}
	got := All()
	if len(got) != len(want) {
		t.Fatalf("All() has %d rules, want %d", len(got), len(want))
	}
	for i, w := range want {
		t.Run(string(w.r), func(t *testing.T) {
			if got[i] != w.r {
				t.Errorf("All()[%d] = %s, want %s", i, got[i], w.r)
			}
			if w.r.Chinese() != w.zh {
				t.Errorf("Chinese() = %q, want %q", w.r.Chinese(), w.zh)
			}
			r, err := ParseRule(string(w.r))
			if err != nil || r != w.r {
				t.Errorf("ParseRule(%q) = %q, %v", w.r, r, err)
			}
		})
	}
	got[0] = "mutated"
	if All()[0] != WageArrears {
		t.Error("All() shares its backing array")
	}
	if _, err := ParseRule("late_wages"); err == nil {
		t.Error("ParseRule accepted an unknown rule")
	}
	if Rule("x").Chinese() != "" {
		t.Error("unknown rule has a Chinese name")
	}
}

func TestSeverityRank(t *testing.T) {
	order := []Severity{Blue, Yellow, Orange, Red}
	for i := 1; i < len(order); i++ {
		if order[i-1].Rank() >= order[i].Rank() {
			t.Errorf("%s.Rank() = %d is not below %s.Rank() = %d", order[i-1], order[i-1].Rank(), order[i], order[i].Rank())
		}
	}
	if Severity("purple").Rank() != 0 || Severity("purple").Valid() {
		t.Error("unknown severity ranks")
	}
	for _, s := range order {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c != (Config{BalanceLookaheadDays: 5, FeedMissingDays: 10, AttendanceMissingDays: 7, ReturnRepayDays: 3, EscalateAfterHours: 48}) {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(default) = %v", err)
	}
	c.ReturnRepayDays = -1
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted a negative threshold")
	}
}
