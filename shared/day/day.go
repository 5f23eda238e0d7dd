// Package day holds calendar dates and months in China Standard Time
// (Asia/Shanghai), the only calendar wagewatch reasons in. A Date is a whole
// day, so "D − x" is plain integer subtraction.
package day

import (
	"errors"
	"fmt"
	"time"
)

// Shanghai is Asia/Shanghai. China has not observed daylight saving time since
// 1991, so a fixed +08:00 zone is exact for every date wagewatch handles and
// does not depend on the host's tz database.
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// Date is a calendar date, stored as days since 1970-01-01. The zero Date is
// 1970-01-01; use IsZero-aware fields (Valid) where a date may be absent.
type Date int32

// Month is a calendar month, stored as year*12 + (month-1).
type Month int32

// ErrSyntax reports text that is not a date of the expected form.
var ErrSyntax = errors.New("not a date")

// New returns the date y-m-d; it normalises out-of-range days like time.Date.
func New(y int, m time.Month, d int) Date {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date(t.Unix() / 86400)
}

// Of returns the calendar date of t in Asia/Shanghai.
func Of(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return New(y, m, d)
}

// Parse reads YYYY-MM-DD and refuses dates that do not exist (2026-02-30).
func Parse(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("date %q: %w (want YYYY-MM-DD)", s, ErrSyntax)
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fmt.Errorf("date %q: %w", s, ErrSyntax)
	}
	return New(t.Date()), nil
}

// ParseCompact reads YYYYMMDD (as in identity numbers).
func ParseCompact(s string) (Date, error) {
	if len(s) != 8 {
		return 0, fmt.Errorf("date %q: %w (want YYYYMMDD)", s, ErrSyntax)
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return 0, fmt.Errorf("date %q: %w", s, ErrSyntax)
	}
	return New(t.Date()), nil
}

// Time returns midnight of the date in Asia/Shanghai.
func (d Date) Time() time.Time {
	t := time.Unix(int64(d)*86400, 0).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, Shanghai)
}

// Parts returns year, month and day of month.
func (d Date) Parts() (int, time.Month, int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

// String prints YYYY-MM-DD.
func (d Date) String() string {
	y, m, dd := d.Parts()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

// AddDays returns the date n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return d + Date(n) }

// Sub returns the whole days from e to d (d − e).
func (d Date) Sub(e Date) int { return int(d - e) }

// Month returns the month the date falls in.
func (d Date) Month() Month {
	y, m, _ := d.Parts()
	return MonthOf(y, m)
}

// MarshalText prints YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MonthOf returns the month y-m.
func MonthOf(y int, m time.Month) Month { return Month(y*12 + int(m) - 1) }

// ParseMonth reads YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return 0, fmt.Errorf("month %q: %w (want YYYY-MM)", s, ErrSyntax)
	}
	return MonthOf(t.Year(), t.Month()), nil
}

// Year returns the month's year.
func (m Month) Year() int { return int(m) / 12 }

// Mon returns the month of the year.
func (m Month) Mon() time.Month { return time.Month(int(m)%12 + 1) }

// Next returns the following month.
func (m Month) Next() Month { return m + 1 }

// First returns the month's first day.
func (m Month) First() Date { return New(m.Year(), m.Mon(), 1) }

// Day returns day n of the month (n ≤ 28 always exists).
func (m Month) Day(n int) Date { return New(m.Year(), m.Mon(), n) }

// String prints YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year(), int(m.Mon())) }

// MarshalText prints YYYY-MM.
func (m Month) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads YYYY-MM.
func (m *Month) UnmarshalText(b []byte) error {
	v, err := ParseMonth(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
