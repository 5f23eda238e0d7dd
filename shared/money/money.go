// Package money holds amounts of Chinese yuan as integer fen (1 yuan = 100
// fen). No amount in wagewatch is ever a float: amounts are parsed from their
// decimal text straight into fen and printed back from fen.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Fen is an amount in fen, the hundredth part of a yuan. It may be negative
// (a balance, a difference).
type Fen int64

// ErrPrecision reports an amount with more than two decimals.
var ErrPrecision = errors.New("more than two decimals")

// ErrSyntax reports text that is not a decimal amount.
var ErrSyntax = errors.New("not a decimal amount")

// maxYuanDigits bounds the integer part so that fen never overflows int64.
const maxYuanDigits = 15

// Parse reads a yuan amount such as "1234.5", "-12.00", "+7", "0,50" (a comma
// is accepted as the decimal mark, as MT940 writes it) into fen. It accepts at
// most two decimals; a third decimal that is zero ("1.230") is accepted, any
// other is ErrPrecision. Thousands separators are not accepted.
func Parse(s string) (Fen, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	if intPart == "" && frac == "" {
		return 0, fmt.Errorf("amount %q: %w", orig, ErrSyntax)
	}
	if intPart == "" {
		intPart = "0"
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("amount %q: %w", orig, ErrSyntax)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > maxYuanDigits {
		return 0, fmt.Errorf("amount %q: too large", orig)
	}
	trimmed := strings.TrimRight(frac, "0")
	if len(trimmed) > 2 {
		return 0, fmt.Errorf("amount %q: %w", orig, ErrPrecision)
	}
	for len(trimmed) < 2 {
		trimmed += "0"
	}
	var v int64
	if intPart != "" {
		n, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("amount %q: %w", orig, ErrSyntax)
		}
		v = n * 100
	}
	f, _ := strconv.ParseInt(trimmed, 10, 64)
	v += f
	if neg {
		v = -v
	}
	return Fen(v), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String prints the amount in yuan with exactly two decimals: "1234.50",
// "-0.05".
func (f Fen) String() string {
	v := int64(f)
	sign := ""
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// MarshalText prints the amount as String does, so that JSON carries amounts
// as exact decimal strings.
func (f Fen) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads an amount written by MarshalText.
func (f *Fen) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}
