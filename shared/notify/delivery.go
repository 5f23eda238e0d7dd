package notify

import (
	"fmt"
	"time"

	"github.com/wagewatch/wagewatch/shared/money"
)

// The changes of an alert that are told to its recipients.
const (
	ChangeOpened    = "opened"
	ChangeUpdated   = "updated"
	ChangeResolved  = "resolved"
	ChangeEscalated = "escalated"
)

// Delivery is the body of one NotifyQueue message: one alert change for one
// recipient department. Rule and severity are plain strings (the rule's id
// such as "wage_arrears", and "blue", "yellow", "orange" or "red").
type Delivery struct {
	// ID is stable across retries and re-deliveries: DeliveryID(AlertID,
	// change sequence, Recipient.DeptID).
	ID      string `json:"id"`
	AlertID string `json:"alert_id"`
	// Seq is the length of the alert's timeline with this change in it:
	// the change is Timeline[Seq-1] of the alert as saved. Zero in
	// deliveries queued before the field existed.
	Seq         int       `json:"seq,omitempty"`
	ProjectID   string    `json:"project_id"`
	ProjectName string    `json:"project_name"`
	CountyCode  string    `json:"county_code"`
	Sector      string    `json:"sector"`
	Rule        string    `json:"rule"`
	RuleChinese string    `json:"rule_chinese"`
	Change      string    `json:"change"`
	Status      string    `json:"status"`
	Severity    string    `json:"severity"`
	Period      string    `json:"period"`
	Workers     int       `json:"workers"`
	Amount      money.Fen `json:"amount"`
	Recipient   Recipient `json:"recipient"`
	// At is when the change happened; OpenedAt when the alert was opened
	// (zero when unknown).
	At          time.Time `json:"at"`
	OpenedAt    time.Time `json:"opened_at,omitzero"`
	TimelineURL string    `json:"timeline_url,omitempty"`
}

// Recipient is the department a delivery is for, with where to reach it.
type Recipient struct {
	DeptID     string   `json:"dept_id"`
	Name       string   `json:"name"`
	SMS        []string `json:"sms,omitempty"`
	WebhookURL string   `json:"webhook_url,omitempty"`
}

// DeliveryID is the id of the delivery of change number seq of an alert to a
// department: "<alertID>/<seq>/<deptID>".
func DeliveryID(alertID string, seq int, deptID string) string {
	return fmt.Sprintf("%s/%d/%s", alertID, seq, deptID)
}
