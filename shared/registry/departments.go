package registry

import (
	"fmt"
	"io"
	"strings"
)

// departmentRequired are the columns departments.csv must have.
var departmentRequired = []string{"dept_id", "name", "level", "county_code", "sector", "sms", "webhook_url"}

// ReadDepartments reads and validates departments.csv. It returns the valid
// departments (a repeated dept_id: the last valid row wins, at the place of
// the first), every rejected row, and an error when the file cannot be read
// at all (a *RowError for a file-level fault, or an I/O error). A file with
// only its header is valid and yields no departments.
func ReadDepartments(r io.Reader, file string) ([]Department, []RowError, error) {
	t, err := OpenTable(r, file, departmentRequired...)
	if err != nil {
		return nil, nil, err
	}
	var out []Department
	at := map[string]int{}
	rejects, err := readAll(t, func(row Row) []RowError {
		d, errs := parseDepartment(file, row)
		if len(errs) > 0 {
			return errs
		}
		if i, ok := at[d.ID]; ok {
			out[i] = d
		} else {
			at[d.ID] = len(out)
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return out, rejects, fmt.Errorf("read departments %s: %w", file, err)
	}
	return out, rejects, nil
}

func parseDepartment(file string, row Row) (Department, []RowError) {
	c := &rowCheck{file: file, row: row}
	d := Department{
		ID:     c.required("dept_id"),
		Name:   row.Get("name"),
		Sector: c.sector("sector", true),
	}
	switch lv := Level(row.Get("level")); lv {
	case County:
		d.Level = lv
		d.CountyCode = c.countyCode("county_code")
	case City:
		d.Level = lv
		if cc := row.Get("county_code"); cc != "" {
			c.fail("county_code", fmt.Sprintf("%q must be empty for a city department", cc))
		}
	case "":
		c.fail("level", "missing")
	default:
		c.fail("level", fmt.Sprintf("%q is not county or city", lv))
	}
	// Numbers are separated by ";"; empty pieces (a trailing ";") are skipped.
	for _, n := range strings.Split(row.Get("sms"), ";") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if err := ValidPhone(n); err != nil {
			c.failErr("sms", err)
			continue
		}
		d.SMS = append(d.SMS, n)
	}
	if u := row.Get("webhook_url"); u != "" {
		if err := ValidWebhookURL(u); err != nil {
			c.failErr("webhook_url", err)
		}
		d.WebhookURL = u
	}
	return d, c.errs
}
