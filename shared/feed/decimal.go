package feed

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/wagewatch/wagewatch/shared/money"
)

// Decimal is an exact decimal amount as the bank wrote it: Coef × 10^-Scale.
// "1.230" is {1230, 3}. It never goes through a float.
type Decimal struct {
	Coef  int64
	Scale uint8
}

// maxScale bounds the number of decimals Decimal keeps.
const maxScale = 18

var errDecimal = errors.New("not a decimal amount")

// ParseDecimal reads an amount such as "1234.50", "-12", "+0,5", "380115,"
// (a comma is a decimal mark, as MT940 writes it). Thousands separators are
// refused.
func ParseDecimal(s string) (Decimal, error) { return parseDecimal([]byte(s)) }

func parseDecimal(b []byte) (Decimal, error) {
	orig := b
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	var d Decimal
	digits, sig, sep := 0, 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits++
			if sep {
				if d.Scale == maxScale {
					return Decimal{}, fmt.Errorf("amount %q: more than %d decimals", excerpt(string(orig)), maxScale)
				}
				d.Scale++
			}
			if d.Coef == 0 && c == '0' {
				continue
			}
			sig++
			if sig > 18 {
				return Decimal{}, fmt.Errorf("amount %q: too large", excerpt(string(orig)))
			}
			d.Coef = d.Coef*10 + int64(c-'0')
		case (c == '.' || c == ',') && !sep:
			sep = true
		default:
			return Decimal{}, fmt.Errorf("amount %q: %w", excerpt(string(orig)), errDecimal)
		}
	}
	if digits == 0 {
		return Decimal{}, fmt.Errorf("amount %q: %w", excerpt(string(orig)), errDecimal)
	}
	if neg {
		d.Coef = -d.Coef
	}
	return d, nil
}

// Sign returns -1, 0 or 1.
func (d Decimal) Sign() int {
	switch {
	case d.Coef < 0:
		return -1
	case d.Coef > 0:
		return 1
	}
	return 0
}

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{-d.Coef, d.Scale} }

var pow10 = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// Fen converts d to fen; a non-zero third (or later) decimal is
// money.ErrPrecision.
func (d Decimal) Fen() (money.Fen, error) {
	if d.Scale <= 2 {
		m := pow10[2-d.Scale]
		v := d.Coef * m
		if v/m != d.Coef {
			return 0, fmt.Errorf("amount %s: too large", d)
		}
		return money.Fen(v), nil
	}
	p := pow10[d.Scale-2]
	if d.Coef%p != 0 {
		return 0, fmt.Errorf("amount %s: %w", d, money.ErrPrecision)
	}
	return money.Fen(d.Coef / p), nil
}

// Rescale returns d with scale s ≥ d.Scale, or false on overflow.
func (d Decimal) Rescale(s uint8) (Decimal, bool) {
	if s < d.Scale || s > maxScale {
		return d, false
	}
	m := pow10[s-d.Scale]
	v := d.Coef * m
	if m != 1 && v/m != d.Coef {
		return d, false
	}
	return Decimal{v, s}, true
}

// Add returns d + e exactly, or an error on overflow.
func (d Decimal) Add(e Decimal) (Decimal, error) {
	s := max(d.Scale, e.Scale)
	a, ok1 := d.Rescale(s)
	b, ok2 := e.Rescale(s)
	sum := a.Coef + b.Coef
	if !ok1 || !ok2 || (a.Coef > 0 && b.Coef > 0 && sum < 0) || (a.Coef < 0 && b.Coef < 0 && sum >= 0) {
		return Decimal{}, fmt.Errorf("add %s + %s: overflow", d, e)
	}
	return Decimal{sum, s}, nil
}

// String prints d with exactly its scale: "1234.50", "-0.005", "7".
func (d Decimal) String() string {
	neg := d.Coef < 0
	u := uint64(d.Coef)
	if neg {
		u = uint64(-d.Coef)
	}
	s := strconv.FormatUint(u, 10)
	if d.Scale > 0 {
		for len(s) <= int(d.Scale) {
			s = "0" + s
		}
		s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalText prints d as String does.
func (d Decimal) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a decimal.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := parseDecimal(b)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
