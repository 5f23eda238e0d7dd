package registry

import (
	"fmt"
	"io"

	"github.com/wagewatch/wagewatch/shared/pii"
)

// workerRequired are the columns workers.csv must have.
// employer is informational and may be absent; left_on must be there (a
// roster without it would silently keep every worker enrolled).
var workerRequired = []string{"project_id", "id_number", "name", "bank_card", "daily_wage", "enrolled_on", "left_on"}

// ReadWorkers reads and validates workers.csv, hashing and masking identity
// and card numbers with h; the full numbers are kept nowhere. It returns the
// valid enrolments (a repeated (project_id, id_number): the last valid row
// wins, at the place of the first), every rejected row, and an error when
// the file cannot be read at all (a *RowError for a file-level fault, or an
// I/O error).
//
// Whether each project_id is registered is not checked here: the caller
// knows the registry and calls CheckEnrolmentProjects.
func ReadWorkers(r io.Reader, file string, h *pii.Hasher) ([]Enrolment, []RowError, error) {
	if h == nil {
		return nil, nil, fmt.Errorf("read workers %s: nil hasher", file)
	}
	t, err := OpenTable(r, file, workerRequired...)
	if err != nil {
		return nil, nil, err
	}
	var out []Enrolment
	at := map[[2]string]int{}
	rejects, err := readAll(t, func(row Row) []RowError {
		e, errs := parseWorker(file, row, h)
		if len(errs) > 0 {
			return errs
		}
		key := [2]string{e.ProjectID, e.IDHash}
		if i, ok := at[key]; ok {
			out[i] = e
		} else {
			at[key] = len(out)
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return out, rejects, fmt.Errorf("read workers %s: %w", file, err)
	}
	return out, rejects, nil
}

func parseWorker(file string, row Row, h *pii.Hasher) (Enrolment, []RowError) {
	c := &rowCheck{file: file, row: row}
	e := Enrolment{
		ProjectID: c.projectID("project_id"),
		Name:      c.required("name"),
		Employer:  row.Get("employer"),
		DailyWage: c.amount("daily_wage", true),
		Line:      row.Line,
	}
	if id, err := CheckIDNumber(row.Get("id_number")); err != nil {
		c.failErr("id_number", err)
	} else {
		e.IDHash, e.IDMasked = h.HashID(id), pii.MaskID(id)
	}
	if card, err := CheckCard(row.Get("bank_card")); err != nil {
		c.failErr("bank_card", err)
	} else {
		e.CardHash, e.CardMasked = h.HashCard(card), pii.MaskCard(card)
	}
	n := len(c.errs)
	e.EnrolledOn = c.date("enrolled_on")
	enrolledOK := len(c.errs) == n
	if v := row.Get("left_on"); v != "" {
		n = len(c.errs)
		e.LeftOn, e.HasLeft = c.date("left_on"), true
		if len(c.errs) == n && enrolledOK && e.LeftOn < e.EnrolledOn {
			c.fail("left_on", fmt.Sprintf("%s is before enrolled_on %s", e.LeftOn, e.EnrolledOn))
		}
	}
	return e, c.errs
}

// CheckEnrolmentProjects keeps the enrolments whose project is registered
// and rejects the others, each with the line it was read from. registered
// reports whether a project_id is in the registry.
func CheckEnrolmentProjects(file string, enrolments []Enrolment, registered func(projectID string) bool) ([]Enrolment, []RowError) {
	var kept []Enrolment
	var rejects []RowError
	for _, e := range enrolments {
		if registered(e.ProjectID) {
			kept = append(kept, e)
			continue
		}
		rejects = append(rejects, rowError(file, e.Line, "project_id",
			fmt.Sprintf("project %s is not registered (worker %s)", e.ProjectID, e.IDMasked)))
	}
	return kept, rejects
}
