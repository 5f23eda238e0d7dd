package registry

import (
	"fmt"
	"io"

	"github.com/wagewatch/wagewatch/shared/pii"
)

// projectRequired are the columns projects.csv must have; the informational
// bank_code, construction_unit and general_contractor may be absent from
// the header (read as empty).
var projectRequired = []string{
	"project_id", "name", "county_code", "sector", "contract_amount", "status",
	"start_date", "wage_account", "payday",
}

// ReadProjects reads and validates projects.csv. It returns the valid
// projects (a repeated project_id: the last valid row wins, at the place of
// the first), every rejected row, and an error when the file cannot be read
// at all: a *RowError for a file-level fault (no header, a required column
// missing) or an I/O error.
func ReadProjects(r io.Reader, file string) ([]Project, []RowError, error) {
	t, err := OpenTable(r, file, projectRequired...)
	if err != nil {
		return nil, nil, err
	}
	var out []Project
	at := map[string]int{}
	rejects, err := readAll(t, func(row Row) []RowError {
		p, errs := parseProject(file, row)
		if len(errs) > 0 {
			return errs
		}
		if i, ok := at[p.ID]; ok {
			out[i] = p
		} else {
			at[p.ID] = len(out)
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return out, rejects, fmt.Errorf("read projects %s: %w", file, err)
	}
	return out, rejects, nil
}

func parseProject(file string, row Row) (Project, []RowError) {
	c := &rowCheck{file: file, row: row}
	p := Project{
		ID:                c.projectID("project_id"),
		Name:              c.required("name"),
		CountyCode:        c.countyCode("county_code"),
		Sector:            c.sector("sector", false),
		ContractAmount:    c.amount("contract_amount", false),
		StartDate:         c.date("start_date"),
		BankCode:          row.Get("bank_code"),
		Payday:            c.int("payday", 1, 28),
		ConstructionUnit:  row.Get("construction_unit"),
		GeneralContractor: row.Get("general_contractor"),
	}
	switch st := Status(row.Get("status")); st {
	case Active, Suspended, Completed:
		p.Status = st
	case "":
		c.fail("status", "missing")
	default:
		c.fail("status", fmt.Sprintf("%q is not one of active, suspended or completed", st))
	}
	// An account number may be written in groups; it is kept without spaces,
	// as bank feeds give it.
	p.WageAccount = pii.Digits(row.Get("wage_account"))
	for i := 0; i < len(p.WageAccount); i++ {
		if !isAlnum(p.WageAccount[i]) {
			c.fail("wage_account", "only digits and letters allowed")
			break
		}
	}
	return p, c.errs
}
