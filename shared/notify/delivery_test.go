package notify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDeliveryJSONRoundTrip(t *testing.T) {
	for _, d := range []Delivery{sampleDelivery(), func() Delivery {
		d := sampleDelivery()
		d.Change, d.Status, d.OpenedAt, d.TimelineURL = ChangeResolved, "resolved", time.Time{}, ""
		d.Recipient.SMS, d.Recipient.WebhookURL = nil, ""
		return d
	}()} {
		t.Run(d.Change, func(t *testing.T) {
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var back Delivery
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			// time.Time loses its *Location name through JSON; compare instants.
			if !back.At.Equal(d.At) || !back.OpenedAt.Equal(d.OpenedAt) {
				t.Errorf("times: got %v %v, want %v %v", back.At, back.OpenedAt, d.At, d.OpenedAt)
			}
			back.At, back.OpenedAt, d.At, d.OpenedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(back, d) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, d)
			}
			if !strings.Contains(string(b), `"amount":"6760.00"`) {
				t.Errorf("amount is not an exact decimal string: %s", b)
			}
		})
	}
}

func TestDeliveryID(t *testing.T) {
	if got, want := DeliveryID("A:wage_arrears:3", 7, "qz-gov"), "A:wage_arrears:3/7/qz-gov"; got != want {
		t.Errorf("DeliveryID = %q, want %q", got, want)
	}
}
