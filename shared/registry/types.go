// Package registry holds the project registry, the real-name roster and the
// departments that receive warnings, and reads and validates the three CSV
// files that carry them (../shared/spec/data.md).
package registry

import (
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
)

// Sector is the industry a project belongs to, or "gov" for a department of
// the government's own wage-arrears office.
type Sector string

// The sectors of data.md.
const (
	Housing   Sector = "housing"
	Transport Sector = "transport"
	Water     Sector = "water"
	SOE       Sector = "soe"
	OtherSec  Sector = "other"
	Gov       Sector = "gov"
)

// Status is a project's status.
type Status string

// The statuses of data.md.
const (
	Active    Status = "active"
	Suspended Status = "suspended"
	Completed Status = "completed"
)

// Project is one row of projects.csv.
type Project struct {
	ID                string    `json:"project_id"`
	Name              string    `json:"name"`
	CountyCode        string    `json:"county_code"`
	Sector            Sector    `json:"sector"`
	ContractAmount    money.Fen `json:"contract_amount"`
	Status            Status    `json:"status"`
	StartDate         day.Date  `json:"start_date"`
	WageAccount       string    `json:"wage_account,omitempty"`
	BankCode          string    `json:"bank_code,omitempty"`
	Payday            int       `json:"payday"`
	ConstructionUnit  string    `json:"construction_unit"`
	GeneralContractor string    `json:"general_contractor"`
}

// Enrolment is one row of workers.csv: a worker (identified by the keyed hash
// of the identity number) on one project, with the wage and card of that
// enrolment. Identity and card numbers appear only hashed and masked.
type Enrolment struct {
	ProjectID  string    `json:"project_id"`
	IDHash     string    `json:"id_hash"`
	IDMasked   string    `json:"id_masked"`
	Name       string    `json:"name"`
	Employer   string    `json:"employer"`
	CardHash   string    `json:"card_hash"`
	CardMasked string    `json:"card_masked"`
	DailyWage  money.Fen `json:"daily_wage"`
	EnrolledOn day.Date  `json:"enrolled_on"`
	// LeftOn is the last day of the enrolment; HasLeft is false while the
	// worker is still enrolled.
	LeftOn  day.Date `json:"left_on"`
	HasLeft bool     `json:"has_left"`
	// Line is the line of workers.csv the enrolment was read from (0 when it
	// did not come from a file), for reporting a rejection found later.
	Line int `json:"line,omitempty"`
}

// EnrolledAt reports whether the enrolment covers date d (enrolled_on ≤ d and
// left_on empty or ≥ d).
func (e Enrolment) EnrolledAt(d day.Date) bool {
	return e.EnrolledOn <= d && (!e.HasLeft || e.LeftOn >= d)
}

// Level is a department's level.
type Level string

// The levels of data.md.
const (
	County Level = "county"
	City   Level = "city"
)

// Department is one row of departments.csv.
type Department struct {
	ID         string   `json:"dept_id"`
	Name       string   `json:"name"`
	Level      Level    `json:"level"`
	CountyCode string   `json:"county_code,omitempty"`
	Sector     Sector   `json:"sector"`
	SMS        []string `json:"sms,omitempty"`
	WebhookURL string   `json:"webhook_url,omitempty"`
}
