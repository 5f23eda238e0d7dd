package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/store"
)

// attempts records delivery attempts.
type attempts interface {
	Finished(ctx context.Context, deliveryID, channel string) (bool, error)
	RecordAttempt(ctx context.Context, a store.Attempt) error
}

// webhooks posts signed webhooks.
type webhooks interface {
	Send(ctx context.Context, d notify.Delivery) (retryable bool, status int, err error)
}

// visibility delays the next receive of a message (the retry backoff).
type visibility interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// deadLetters takes the deliveries given up on (the notify DLQ).
type deadLetters interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// savedAlerts reads the alert a delivery is about, as saved.
type savedAlerts interface {
	Alert(ctx context.Context, id string) (alert.Alert, error)
}

// Notify is the notify function: deliver one alert change to one recipient
// by SMS (every number) and webhook (when it has a URL). Each channel is
// delivered at most once; a retryable failure comes back after an
// exponential backoff (the message's visibility timeout) for up to 24 hours,
// then goes to the DLQ.
//
// The first receive at or past notify.RetryHorizon after the message was
// sent is the last attempt. When DLQ and DLQURL are set, a channel that
// fails retryably then is recorded as failed, the message is sent to the DLQ
// by the handler itself and deleted from the queue, so that giving up does
// not depend on the queue's maxReceiveCount. Without them, the attempt is
// recorded as a retry and the message is failed without a backoff, for the
// redrive policy to move it.
//
// A change's deliveries are queued before the change is saved (so that a
// crash in between loses none). Notify sends only what was saved: the
// alert's timeline must hold, at the delivery's Seq, the event the delivery
// describes (same kind, same moment). While the alert does not have it yet,
// the delivery waits (retried, for up to SaveWait after it was queued);
// when the alert has another change there, the delivery was planned by an
// evaluation that lost the race to save (another one changed the alert
// first) and is dropped, and the winner's own deliveries are sent.
type Notify struct {
	Attempts attempts
	Alerts   savedAlerts
	// SaveWait is how long a delivery waits for its change to be saved
	// (default 15 minutes, well past evaluate's retries).
	SaveWait time.Duration
	Webhooks webhooks
	SMS      notify.SMSSender // nil: SMS disabled
	Queue    visibility
	QueueURL string
	DLQ      deadLetters
	DLQURL   string
	Now      func() time.Time
	Rand     func() float64
	// Backoff returns the delay before retry number attempt; nil is
	// notify.Backoff with Rand.
	Backoff func(attempt int) time.Duration
	Log     *slog.Logger
}

// errRetry marks a delivery that will be tried again.
var errRetry = errors.New("delivery will be retried")

// Handle handles one batch of deliveries.
func (h *Notify) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := logger(ctx, h.Log)
	return eachMessage(ctx, log, ev, func(ctx context.Context, m events.SQSMessage) error {
		var d notify.Delivery
		if err := json.Unmarshal([]byte(m.Body), &d); err != nil {
			return fmt.Errorf("decode delivery %s: %w", m.MessageId, err)
		}
		attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		first := h.Now()
		if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
			first = time.UnixMilli(ms)
		}
		switch saved, err := h.awaitChange(ctx, d); {
		case err != nil:
			return err
		case saved == changeSuperseded:
			log.InfoContext(ctx, "delivery dropped: its change was not the one saved", "delivery_id", d.ID, "seq", d.Seq)
			return nil
		case saved == changeNotYetSaved && h.Now().Sub(first) > h.saveWait():
			log.WarnContext(ctx, "delivery dropped: its change was never saved", "delivery_id", d.ID, "seq", d.Seq,
				"queued_at", first)
			return nil
		case saved == changeNotYetSaved:
			h.delay(ctx, log, d, m, 5*time.Second)
			return fmt.Errorf("delivery %s: change %d of the alert not saved yet: %w", d.ID, d.Seq, errRetry)
		}
		var giveUp func() error
		if notify.GiveUp(first, h.Now()) && h.DLQ != nil && h.DLQURL != "" {
			moved := false
			giveUp = func() error {
				if moved {
					return nil
				}
				if _, err := h.DLQ.SendMessage(ctx, &sqs.SendMessageInput{
					QueueUrl: aws.String(h.DLQURL), MessageBody: aws.String(m.Body),
				}); err != nil {
					return fmt.Errorf("delivery %s: move to the dead-letter queue: %w", d.ID, err)
				}
				moved = true
				log.WarnContext(ctx, "delivery given up; moved to the dead-letter queue", "delivery_id", d.ID,
					"first_sent", first, "horizon", notify.RetryHorizon.String())
				return nil
			}
		}
		retry, err := h.deliver(ctx, log, d, max(attempt, 1), giveUp)
		if err != nil {
			return err
		}
		if !retry {
			return nil
		}
		if notify.GiveUp(first, h.Now()) {
			// Past the horizon: fail it without delay, so the redrive
			// policy moves it to the DLQ, where the alarm sees it.
			return fmt.Errorf("delivery %s: gave up after %s: %w", d.ID, notify.RetryHorizon, errRetry)
		}
		var wait time.Duration
		if h.Backoff != nil {
			wait = h.Backoff(attempt)
		} else {
			wait = notify.Backoff(attempt, h.Rand)
		}
		h.delay(ctx, log, d, m, wait)
		return fmt.Errorf("delivery %s: retry in %s: %w", d.ID, wait.Round(time.Second), errRetry)
	}), nil
}

// delay makes the message visible again after wait (its retry backoff).
func (h *Notify) delay(ctx context.Context, log *slog.Logger, d notify.Delivery, m events.SQSMessage, wait time.Duration) {
	if h.Queue == nil || h.QueueURL == "" {
		return
	}
	if _, err := h.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(h.QueueURL), ReceiptHandle: aws.String(m.ReceiptHandle),
		VisibilityTimeout: int32(wait / time.Second),
	}); err != nil {
		log.WarnContext(ctx, "set retry backoff", "delivery_id", d.ID, "err", err.Error())
	}
}

type changeState int

const (
	changeSaved changeState = iota
	changeNotYetSaved
	changeSuperseded
)

// changeSaved compares the delivery with the alert as saved. Deliveries
// without a Seq (queued by an older version) are not checked.
func (h *Notify) changeSaved(ctx context.Context, d notify.Delivery) (changeState, error) {
	if d.Seq == 0 {
		return changeSaved, nil
	}
	a, err := h.Alerts.Alert(ctx, d.AlertID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return changeNotYetSaved, nil
	case err != nil:
		return 0, fmt.Errorf("delivery %s: read its alert: %w", d.ID, err)
	case len(a.Timeline) < d.Seq:
		return changeNotYetSaved, nil
	}
	ev := a.Timeline[d.Seq-1]
	if ev.Kind != d.Change || !ev.At.Equal(d.At) {
		return changeSuperseded, nil
	}
	return changeSaved, nil
}

// awaitChange is changeSaved, re-read a few times over a second while the
// change is not saved yet: evaluate saves it right after queuing its
// deliveries, and a delivery picked up in between need not wait for a
// retry.
func (h *Notify) awaitChange(ctx context.Context, d notify.Delivery) (changeState, error) {
	for i := 0; ; i++ {
		st, err := h.changeSaved(ctx, d)
		if err != nil || st != changeNotYetSaved || i == 4 {
			return st, err
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, nil
		case <-t.C:
		}
	}
}

func (h *Notify) saveWait() time.Duration {
	if h.SaveWait > 0 {
		return h.SaveWait
	}
	return 15 * time.Minute
}

// deliver tries every channel not finished yet; it reports whether some
// channel must be retried. giveUp, when not nil, is called on a retryable
// failure (this is the last attempt): when it moved the message to the DLQ,
// the channel is recorded as failed.
func (h *Notify) deliver(ctx context.Context, log *slog.Logger, d notify.Delivery, attempt int, giveUp func() error) (bool, error) {
	type channel struct {
		name string
		send func() (bool, int, error)
	}
	var chans []channel
	if d.Recipient.WebhookURL != "" {
		chans = append(chans, channel{"webhook", func() (bool, int, error) { return h.Webhooks.Send(ctx, d) }})
	}
	if h.SMS != nil {
		text := notify.SMSText(d)
		for i, phone := range d.Recipient.SMS {
			chans = append(chans, channel{fmt.Sprintf("sms:%d", i), func() (bool, int, error) {
				retryable, err := h.SMS.SendSMS(ctx, phone, text, d)
				return retryable, 0, err
			}})
		}
	}
	retry := false
	for _, c := range chans {
		done, err := h.Attempts.Finished(ctx, d.ID, c.name)
		if err != nil {
			return false, err
		}
		if done {
			continue
		}
		start := h.Now()
		retryable, status, sendErr := c.send()
		a := store.Attempt{DeliveryID: d.ID, AlertID: d.AlertID, DeptID: d.Recipient.DeptID, Channel: c.name,
			Attempt: attempt, HTTPStatus: status, Latency: h.Now().Sub(start), At: start, Status: "delivered"}
		if sendErr != nil {
			a.Error = sendErr.Error()
			a.Status = "failed"
			if retryable {
				a.Status = "retry"
				if giveUp != nil {
					if err := giveUp(); err != nil {
						log.WarnContext(ctx, "give up delivery", "delivery_id", d.ID, "err", err.Error())
					} else {
						a.Status = "failed"
						a.Error += fmt.Sprintf(" (gave up after %s; sent to the dead-letter queue)", notify.RetryHorizon)
					}
				}
				retry = retry || a.Status == "retry"
			}
		}
		if err := h.Attempts.RecordAttempt(ctx, a); err != nil {
			return false, err
		}
		log.InfoContext(ctx, "delivery attempt", "delivery_id", d.ID, "channel", c.name, "attempt", attempt,
			"status", a.Status, "http_status", status, "latency_ms", a.Latency.Milliseconds(), "err", a.Error)
	}
	return retry, nil
}
