package notify

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wagewatch/wagewatch/shared/money"
)

func smsCases() []struct {
	name string
	d    Delivery
} {
	with := func(f func(*Delivery)) Delivery {
		d := sampleDelivery()
		f(&d)
		return d
	}
	return []struct {
		name string
		d    Delivery
	}{
		{"opened", sampleDelivery()},
		{"updated", with(func(d *Delivery) { d.Change, d.Severity, d.Amount = ChangeUpdated, "orange", 1314000 })},
		{"escalated", with(func(d *Delivery) { d.Change = ChangeEscalated })},
		{"resolved", with(func(d *Delivery) { d.Change, d.Status = ChangeResolved, "resolved" })},
		{"no workers no amount", with(func(d *Delivery) {
			d.Rule, d.RuleChinese, d.Severity, d.Workers, d.Amount, d.Period = "feed_missing", "专户未开设或未报送", "yellow", 0, 0, "2026-11"
		})},
		{"amount without workers", with(func(d *Delivery) {
			d.Rule, d.RuleChinese, d.Severity, d.Workers, d.Amount = "labor_cost_short", "人工费用拨付不足", "red", 0, 1314000
		})},
		{"long project name cut", with(func(d *Delivery) {
			d.ProjectName = "天水市麦积区社棠工业园区至国道三一零线连接线道路及配套管网工程第三标段施工总承包"
			d.Change, d.Workers, d.Amount = ChangeEscalated, 1234, money.Fen(123456789012)
		})},
		{"long project name resolved", with(func(d *Delivery) {
			d.ProjectName = strings.Repeat("很长的项目名称", 12)
			d.Change = ChangeResolved
		})},
		{"line break in name", with(func(d *Delivery) { d.ProjectName = "秦州区\n廉租房二期" })},
		{"rule without Chinese name", with(func(d *Delivery) { d.RuleChinese = "" })},
	}
}

func TestSMSTextGolden(t *testing.T) {
	var b strings.Builder
	for _, tc := range smsCases() {
		text := SMSText(tc.d)
		n := utf8.RuneCountInString(text)
		t.Run(tc.name, func(t *testing.T) {
			if n > SMSSegment {
				t.Errorf("%d runes, more than one segment: %s", n, text)
			}
			if strings.ContainsAny(text, "\n\r") {
				t.Errorf("line break in %q", text)
			}
			if !strings.HasPrefix(text, "【欠薪预警】") {
				t.Errorf("no tag: %s", text)
			}
			for _, phone := range tc.d.Recipient.SMS {
				if strings.Contains(text, phone) {
					t.Errorf("phone number in text: %s", text)
				}
			}
			if tc.d.Change == ChangeResolved {
				if !strings.Contains(text, "已清零") || strings.Contains(text, "金额") {
					t.Errorf("resolution is not the short cleared text: %s", text)
				}
			} else if tc.d.Amount != 0 && !strings.Contains(text, tc.d.Amount.String()+"元") {
				t.Errorf("amount %s missing: %s", tc.d.Amount, text)
			}
			if !strings.Contains(text, tc.d.Period) {
				t.Errorf("period missing: %s", text)
			}
		})
		fmt.Fprintf(&b, "%s\t%d\t%s\n", tc.name, n, text)
	}
	golden(t, "sms.golden", []byte(b.String()))
}

func TestSMSTextTruncation(t *testing.T) {
	d := sampleDelivery()
	d.ProjectName = strings.Repeat("工", 80)
	text := SMSText(d)
	if n := utf8.RuneCountInString(text); n != SMSSegment {
		t.Errorf("cut text has %d runes, want exactly %d: %s", n, SMSSegment, text)
	}
	if !strings.Contains(text, "工…") {
		t.Errorf("no ellipsis: %s", text)
	}
	// A name that fits is kept whole.
	d.ProjectName = "秦州区廉租房二期"
	if text := SMSText(d); !strings.Contains(text, "秦州区廉租房二期 ") || strings.Contains(text, "…") {
		t.Errorf("short name altered: %s", text)
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13800000001", "138****0001"},
		{"+8613800000001", "+86138****0001"},
		{"0938123456", "093***3456"},
		{"1234567", "*****67"},
		{"12", "**"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := MaskPhone(tc.in); got != tc.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestE164(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "13800000001", want: "+8613800000001"},
		{in: "138 0000 0001", want: "+8613800000001"},
		{in: "138-0000-0001", want: "+8613800000001"},
		{in: "+8613800000001", want: "+8613800000001"},
		{in: "+85291234567", want: "+85291234567"},
		{in: "23800000001", bad: true},
		{in: "1380000000", bad: true},
		{in: "1380000000a", bad: true},
		{in: "+86", bad: true},
		{in: "", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := E164(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrBadPhone) {
					t.Errorf("E164(%q) = %q, %v; want ErrBadPhone", tc.in, got, err)
				}
				if err != nil && len(tc.in) >= 8 && strings.Contains(err.Error(), tc.in) {
					t.Errorf("error shows the whole number: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("E164(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
