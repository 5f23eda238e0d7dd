package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Deliveries table items:
//
//	pk DL#<delivery id>   sk OK#<channel>                 the channel delivered (or failed for good): never send again
//	pk DL#<delivery id>   sk AT#<channel>#<attempt:04d>   one attempt: status, latency, error
//	pk AL#<alert id>      sk <delivery id>#<channel>#<n>  the same attempt, listed under its alert
//
// Items expire (TTL expires_at) a year after they were written.

// Attempt is one try to deliver one change to one recipient on one channel.
type Attempt struct {
	DeliveryID string        `json:"delivery_id"`
	AlertID    string        `json:"alert_id"`
	DeptID     string        `json:"dept_id"`
	Channel    string        `json:"channel"` // webhook, sms:<n>
	Attempt    int           `json:"attempt"`
	Status     string        `json:"status"` // delivered, retry, failed
	HTTPStatus int           `json:"http_status,omitempty"`
	Latency    time.Duration `json:"latency_ns"`
	Error      string        `json:"error,omitempty"`
	At         time.Time     `json:"at"`
}

const deliveryRetention = 365 * 24 * time.Hour

// Finished reports whether a channel of a delivery was delivered or failed
// for good already: a redelivered notify message must not send again.
func (st *Store) Finished(ctx context.Context, deliveryID, channel string) (bool, error) {
	item, err := st.get(ctx, st.t.Deliveries, "DL#"+deliveryID, "OK#"+channel)
	if err != nil {
		return false, fmt.Errorf("delivery %s %s: %w", deliveryID, channel, err)
	}
	return item != nil, nil
}

// RecordAttempt stores one attempt, and marks the channel finished when the
// attempt delivered or failed for good.
func (st *Store) RecordAttempt(ctx context.Context, a Attempt) error {
	d, err := encode(a)
	if err != nil {
		return err
	}
	exp := n(a.At.Add(deliveryRetention).Unix())
	at := key("DL#"+a.DeliveryID, fmt.Sprintf("AT#%s#%04d", a.Channel, a.Attempt))
	at["doc"], at["expires_at"] = s(d), exp
	if _, err := st.putNew(ctx, st.t.Deliveries, at); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	idx := key("AL#"+a.AlertID, fmt.Sprintf("%s#%s#%04d", a.DeliveryID, a.Channel, a.Attempt))
	idx["doc"], idx["expires_at"] = s(d), exp
	if _, err := st.putNew(ctx, st.t.Deliveries, idx); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	if a.Status == "delivered" || a.Status == "failed" {
		fin := key("DL#"+a.DeliveryID, "OK#"+a.Channel)
		fin["doc"], fin["expires_at"] = s(d), exp
		if _, err := st.putNew(ctx, st.t.Deliveries, fin); err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
	}
	return nil
}

// AlertDeliveries returns every attempt to deliver an alert's changes.
func (st *Store) AlertDeliveries(ctx context.Context, alertID string) ([]Attempt, error) {
	var out []Attempt
	err := st.query(ctx, st.t.Deliveries, "AL#"+alertID, "", func(it map[string]types.AttributeValue) error {
		if strings.HasPrefix(str(it, "sk"), "OK#") {
			return nil
		}
		var a Attempt
		if err := doc(it, &a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries of %s: %w", alertID, err)
	}
	return out, nil
}
