package alert

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
)

// Line returns the alert as scenario.md's alert line (without a trailing
// newline): a JSON object with the keys rule, project_id, period, severity,
// workers, amount (yuan, two decimals, a string), recipients (dept_ids,
// sorted), status, in this order, followed by id when the alert has one and
// opened_at (RFC 3339, +08:00) when it is set. No personal data is in an
// alert, so none is in its line.
func (a Alert) Line() []byte {
	recips := append([]string{}, a.Recipients...)
	sort.Strings(recips)
	var b bytes.Buffer
	b.WriteString(`{"rule":`)
	writeString(&b, string(a.Rule))
	b.WriteString(`,"project_id":`)
	writeString(&b, a.ProjectID)
	b.WriteString(`,"period":`)
	writeString(&b, a.Period.String())
	b.WriteString(`,"severity":`)
	writeString(&b, string(a.Severity))
	b.WriteString(`,"workers":`)
	b.WriteString(strconv.Itoa(a.Workers))
	b.WriteString(`,"amount":`)
	writeString(&b, a.Amount.String())
	b.WriteString(`,"recipients":[`)
	for i, r := range recips {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, r)
	}
	b.WriteString(`],"status":`)
	writeString(&b, string(a.Status))
	if a.ID != "" {
		b.WriteString(`,"id":`)
		writeString(&b, a.ID)
	}
	if !a.OpenedAt.IsZero() {
		b.WriteString(`,"opened_at":`)
		writeString(&b, a.OpenedAt.In(day.Shanghai).Format(time.RFC3339))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// writeString writes s as a JSON string. Marshalling a string cannot fail.
func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}
