// Package handler holds one Lambda handler per function of template.yaml.
// Each wires the pure packages (feed, registry, attendance, rules, alert,
// route, notify) to SQS, S3 and DynamoDB; the functions' main.go files only
// read configuration, build clients once and call lambda.Start, and the
// local runner invokes the very same handlers.
package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wagewatch/wagewatch/shared/attendance"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/store"
)

// EntriesMessage is the body of one EntriesQueue message: many entries and
// balances of one account, read from one file.
type EntriesMessage struct {
	File     string           `json:"file"`
	Account  string           `json:"account"`
	Entries  []ledger.Entry   `json:"entries,omitempty"`
	Balances []ledger.Balance `json:"balances,omitempty"`
}

// AttendanceMessage is the body of one AttendanceQueue message: many records
// of one project.
type AttendanceMessage struct {
	ProjectID string              `json:"project_id"`
	Records   []attendance.Record `json:"records"`
}

// EvaluateMessage is the body of one EvaluateQueue message: evaluate one
// project, as of a moment (the scan's) or, when AsOf is zero, as of the
// moment the message is handled (a re-evaluation after a change).
type EvaluateMessage struct {
	ProjectID string    `json:"project_id"`
	AsOf      time.Time `json:"as_of,omitzero"`
	Reason    string    `json:"reason"` // scan, change
}

// logger returns base with the Lambda request id, when there is one.
func logger(ctx context.Context, base *slog.Logger) *slog.Logger {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return base.With("request_id", lc.AwsRequestID)
	}
	return base
}

// eachMessage runs fn on every message of an SQS batch and reports the ones
// that failed, so that only those are retried.
func eachMessage(ctx context.Context, log *slog.Logger, ev events.SQSEvent, fn func(context.Context, events.SQSMessage) error) events.SQSEventResponse {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		if err := fn(ctx, m); err != nil {
			level := slog.LevelError
			if errors.Is(err, errRetry) || errors.Is(err, store.ErrBusy) || errors.Is(err, store.ErrConflict) {
				level = slog.LevelWarn // an expected retry: a backoff, a race lost, content being ingested
			}
			log.Log(ctx, level, "message failed", "message_id", m.MessageId, "err", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp
}

// s3Records decodes the S3 event notification an SQS message carries. An
// s3:TestEvent (sent when notifications are configured) has no records.
func s3Records(m events.SQSMessage) ([]events.S3EventRecord, error) {
	var ev events.S3Event
	if err := json.Unmarshal([]byte(m.Body), &ev); err != nil {
		return nil, fmt.Errorf("decode S3 notification in message %s: %w", m.MessageId, err)
	}
	return ev.Records, nil
}

func sortStrings(s []string) { sort.Strings(s) }

// eachObject runs fn on every object of the S3 notifications a batch of SQS
// messages carries; a message fails when any of its objects does.
func eachObject(ctx context.Context, log *slog.Logger, ev events.SQSEvent, fn func(context.Context, *slog.Logger, events.S3EventRecord) error) events.SQSEventResponse {
	return eachMessage(ctx, log, ev, func(ctx context.Context, m events.SQSMessage) error {
		recs, err := s3Records(m)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(ctx, log, r); err != nil {
				return err
			}
		}
		return nil
	})
}
