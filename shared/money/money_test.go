package money

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Fen
		wantErr error
	}{
		{"0", 0, nil},
		{"1234.5", 123450, nil},
		{"1234.50", 123450, nil},
		{"-12.00", -1200, nil},
		{"+7", 700, nil},
		{"0,50", 50, nil},
		{"380115,", 38011500, nil},
		{"000000000300.00", 30000, nil},
		{".5", 50, nil},
		{"1.230", 123, nil},
		{"1.234", 0, ErrPrecision},
		{"", 0, ErrSyntax},
		{"abc", 0, ErrSyntax},
		{"1,234.00", 0, ErrSyntax},
		{"1e3", 0, ErrSyntax},
		{"-", 0, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	if _, err := Parse("9999999999999999999"); err == nil {
		t.Fatal("want an error for an amount that overflows")
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, f := range []Fen{0, 5, -5, 123450, -1200, 100} {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back Fen
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back != f {
			t.Fatalf("round trip %d -> %s -> %d", f, b, back)
		}
	}
	if got := Fen(-5).String(); got != "-0.05" {
		t.Fatalf("String = %q", got)
	}
}
