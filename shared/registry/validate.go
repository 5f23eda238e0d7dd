package registry

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/pii"
)

// MaxProjectIDLen is the longest project id data.md allows.
const MaxProjectIDLen = 64

// ValidProjectID checks a project id: 1–64 characters of A-Z a-z 0-9 - _.
func ValidProjectID(id string) error {
	if id == "" {
		return errors.New("missing")
	}
	if len(id) > MaxProjectIDLen {
		return fmt.Errorf("%d characters, at most %d allowed", len(id), MaxProjectIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isAlnum(c) && c != '-' && c != '_' {
			return fmt.Errorf("%q has a character outside A-Z a-z 0-9 - _", id)
		}
	}
	return nil
}

// idWeights are the GB 11643 weights of the first 17 characters.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheck indexes the check character by the weighted sum mod 11.
const idCheck = "10X98765432"

// minBirthYear is the earliest birth year CheckIDNumber accepts.
const minBirthYear = 1900

// CheckIDNumber validates an 18-character resident identity number (GB
// 11643): 17 digits and a check character 0–9 or X that verifies, with
// characters 7–14 a real date from 1900 on. Surrounding spaces are removed
// and a lower-case x is read as X; the normalised number is returned. The
// error never holds the number in full, only its masked form.
func CheckIDNumber(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", errors.New("missing")
	}
	if len(s) != 18 {
		return "", fmt.Errorf("%s has %d characters, want 18", pii.MaskID(s), len([]rune(s)))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if !isDigit(s[i]) {
			return "", fmt.Errorf("%s: the first 17 characters must be digits", pii.MaskID(s))
		}
		sum += int(s[i]-'0') * idWeights[i]
	}
	if c := s[17]; !isDigit(c) && c != 'X' {
		return "", fmt.Errorf("%s: the check character must be a digit or X", pii.MaskID(s))
	}
	birth, err := day.ParseCompact(s[6:14])
	if err != nil {
		return "", fmt.Errorf("%s: characters 7-14 are not a real date", pii.MaskID(s))
	}
	if y, _, _ := birth.Parts(); y < minBirthYear {
		return "", fmt.Errorf("%s: birth year %d is before %d", pii.MaskID(s), y, minBirthYear)
	}
	if want := idCheck[sum%11]; s[17] != want {
		return "", fmt.Errorf("%s: check character does not verify (GB 11643)", pii.MaskID(s))
	}
	return s, nil
}

// Card lengths CheckCard accepts.
const (
	MinCardDigits = 12
	MaxCardDigits = 19
)

// CheckCard validates a bank card number: after removing spaces, 12–19
// digits. It returns the digits. The error holds only the masked form.
func CheckCard(s string) (string, error) {
	d := pii.Digits(s)
	if d == "" {
		return "", errors.New("missing")
	}
	for i := 0; i < len(d); i++ {
		if !isDigit(d[i]) {
			return "", fmt.Errorf("%s: only digits and spaces allowed", pii.MaskCard(d))
		}
	}
	if len(d) < MinCardDigits || len(d) > MaxCardDigits {
		return "", fmt.Errorf("%s has %d digits, want %d-%d", pii.MaskCard(d), len(d), MinCardDigits, MaxCardDigits)
	}
	return d, nil
}

// ValidCountyCode checks a 6-digit administrative code.
func ValidCountyCode(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	if len(s) != 6 || !allDigits(s) {
		return fmt.Errorf("%q is not 6 digits", s)
	}
	return nil
}

// ParseSector reads a sector; gov is allowed only when allowGov is set
// (departments, not projects).
func ParseSector(s string, allowGov bool) (Sector, error) {
	switch sec := Sector(s); sec {
	case Housing, Transport, Water, SOE, OtherSec:
		return sec, nil
	case Gov:
		if allowGov {
			return sec, nil
		}
		return "", errors.New(`"gov" is a department sector, not a project's`)
	case "":
		return "", errors.New("missing")
	}
	want := "housing, transport, water, soe or other"
	if allowGov {
		want = "housing, transport, water, soe, other or gov"
	}
	return "", fmt.Errorf("%q is not one of %s", s, want)
}

// ValidPhone checks a mobile number: 11 digits starting with 1.
func ValidPhone(s string) error {
	if len(s) != 11 || !allDigits(s) || s[0] != '1' {
		return fmt.Errorf("%q is not an 11-digit mobile number starting with 1", s)
	}
	return nil
}

// ValidWebhookURL checks an absolute http or https URL with a host.
func ValidWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// rowCheck collects the field errors of one row.
type rowCheck struct {
	file string
	row  Row
	errs []RowError
}

func (c *rowCheck) fail(field, reason string) {
	c.errs = append(c.errs, rowError(c.file, c.row.Line, field, reason))
}

func (c *rowCheck) failErr(field string, err error) {
	c.fail(field, err.Error())
}

// required returns the field, recording "missing" when it is empty.
func (c *rowCheck) required(field string) string {
	v := c.row.Get(field)
	if v == "" {
		c.fail(field, "missing")
	}
	return v
}

func (c *rowCheck) projectID(field string) string {
	v := c.row.Get(field)
	if err := ValidProjectID(v); err != nil {
		c.failErr(field, err)
	}
	return v
}

func (c *rowCheck) date(field string) day.Date {
	v := c.row.Get(field)
	if v == "" {
		c.fail(field, "missing")
		return 0
	}
	d, err := day.Parse(v)
	if err != nil {
		c.failErr(field, err)
	}
	return d
}

func (c *rowCheck) countyCode(field string) string {
	v := c.row.Get(field)
	if err := ValidCountyCode(v); err != nil {
		c.failErr(field, err)
	}
	return v
}

func (c *rowCheck) sector(field string, allowGov bool) Sector {
	s, err := ParseSector(c.row.Get(field), allowGov)
	if err != nil {
		c.failErr(field, err)
	}
	return s
}

// amount reads a yuan amount; positive demands > 0, else ≥ 0.
func (c *rowCheck) amount(field string, positive bool) money.Fen {
	v := c.row.Get(field)
	if v == "" {
		c.fail(field, "missing")
		return 0
	}
	f, err := money.Parse(v)
	switch {
	case err != nil:
		c.failErr(field, err)
	case positive && f <= 0:
		c.fail(field, fmt.Sprintf("%s must be greater than 0", v))
	case f < 0:
		c.fail(field, fmt.Sprintf("%s must not be negative", v))
	}
	return f
}

func (c *rowCheck) int(field string, lo, hi int) int {
	v := c.row.Get(field)
	if v == "" {
		c.fail(field, "missing")
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		c.fail(field, fmt.Sprintf("%q is not a whole number from %d to %d", v, lo, hi))
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
