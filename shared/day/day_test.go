package day

import (
	"testing"
	"time"
)

func TestParseAndString(t *testing.T) {
	tests := []struct {
		in    string
		valid bool
	}{
		{"2026-11-20", true},
		{"2024-02-29", true},
		{"2026-02-29", false},
		{"2026-13-01", false},
		{"2026-1-01", false},
		{"20261120", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := Parse(tt.in)
			if (err == nil) != tt.valid {
				t.Fatalf("Parse(%q) err = %v, valid want %v", tt.in, err, tt.valid)
			}
			if tt.valid && d.String() != tt.in {
				t.Fatalf("round trip %q -> %q", tt.in, d.String())
			}
		})
	}
}

func TestArithmetic(t *testing.T) {
	d, _ := Parse("2026-11-20")
	due := MonthOf(2026, time.October).Next().Day(1)
	if got := d.Sub(due); got != 19 {
		t.Fatalf("2026-11-20 − 2026-11-01 = %d, want 19", got)
	}
	if got := MonthOf(2026, time.December).Next().String(); got != "2027-01" {
		t.Fatalf("Dec.Next = %s", got)
	}
	if got := d.Month().String(); got != "2026-11" {
		t.Fatalf("Month = %s", got)
	}
	if got := New(2026, 12, 31).AddDays(1).String(); got != "2027-01-01" {
		t.Fatalf("AddDays = %s", got)
	}
}

func TestOfUsesShanghai(t *testing.T) {
	// 2026-11-19T17:00Z is 2026-11-20 01:00 in Shanghai.
	tm := time.Date(2026, 11, 19, 17, 0, 0, 0, time.UTC)
	if got := Of(tm).String(); got != "2026-11-20" {
		t.Fatalf("Of = %s, want 2026-11-20", got)
	}
}
