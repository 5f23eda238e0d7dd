package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/attendance"
	"github.com/wagewatch/wagewatch/shared/feed"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/store"
)

// rosterReader reads a project's roster to check attendance against it.
type rosterReader interface {
	Project(ctx context.Context, id string) (registry.Project, bool, error)
	Roster(ctx context.Context, projectID string) ([]registry.Enrolment, error)
}

// enrolmentChecker checks records against the roster, reading each
// project's roster once.
type enrolmentChecker struct {
	reg     rosterReader
	rosters map[string][]registry.Enrolment
	known   map[string]bool
}

func newEnrolmentChecker(reg rosterReader) *enrolmentChecker {
	return &enrolmentChecker{reg: reg, rosters: map[string][]registry.Enrolment{}, known: map[string]bool{}}
}

// check returns the reason a record is rejected, "" when it is accepted, or
// an error when the roster cannot be read.
func (c *enrolmentChecker) check(ctx context.Context, rec attendance.Record) (string, error) {
	known, ok := c.known[rec.ProjectID]
	if !ok {
		_, found, err := c.reg.Project(ctx, rec.ProjectID)
		if err != nil {
			return "", err
		}
		known = found
		c.known[rec.ProjectID] = found
		if found {
			if c.rosters[rec.ProjectID], err = c.reg.Roster(ctx, rec.ProjectID); err != nil {
				return "", err
			}
		}
	}
	if !known {
		return fmt.Sprintf("project %s is not registered", rec.ProjectID), nil
	}
	if err := attendance.CheckEnrolled(rec, c.rosters[rec.ProjectID]); err != nil {
		return err.Error(), nil
	}
	return "", nil
}

// newAttendanceBatcher packs records per project, many to a message.
func newAttendanceBatcher(ctx context.Context, q sender) *batcher[attendance.Record] {
	return newBatcher(ctx, q, func(project string, recs []attendance.Record) any {
		return AttendanceMessage{ProjectID: project, Records: recs}
	})
}

// IngestAttendance is the ingest-attendance function: an attendance file
// (CSV or JSON Lines) landed under attendance/; check every record against
// the roster and queue the good ones, many of one project per message.
type IngestAttendance struct {
	Bucket     objects
	Files      manifests
	Registry   rosterReader
	Attendance sender
	Hasher     *pii.Hasher
	Now        func() time.Time
	Log        *slog.Logger
}

// Handle handles one batch of S3 notifications.
func (h *IngestAttendance) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return eachObject(ctx, logger(ctx, h.Log), ev, h.ingest), nil
}

func (h *IngestAttendance) ingest(ctx context.Context, log *slog.Logger, r events.S3EventRecord) error {
	a, ok, err := arrive(ctx, log, h.Bucket, h.Files, r, h.Now)
	if !ok {
		return err
	}
	key, at, hash, size := a.key, a.at, a.hash, a.size
	body, _, err := h.Bucket.Open(ctx, key)
	if err != nil {
		return err
	}
	defer body.Close()
	m := store.Manifest{Hash: hash, Key: key, Kind: "attendance", Format: "attendance", Size: size, StartedAt: h.Now()}
	rl, err := newRejectLog()
	if err != nil {
		return err
	}
	defer rl.close()
	checker := newEnrolmentChecker(h.Registry)
	out := newAttendanceBatcher(ctx, h.Attendance)
	seen := map[string]bool{}
	rowErrs, err := attendance.Read(body, key, h.Hasher, func(rec attendance.Record) error {
		reason, err := checker.check(ctx, rec)
		if err != nil {
			return err
		}
		if reason != "" {
			m.Rejected++
			rl.add(store.Reject{File: key, Line: rec.Source.Line, Reason: pii.Redact(reason)})
			return nil
		}
		if len(seen) < feed.MaxTrackedRefs {
			if seen[rec.WorkDayKey()] {
				m.Duplicates++
				return nil
			}
			seen[rec.WorkDayKey()] = true
		}
		m.Accepted++
		return out.add(rec.ProjectID, rec)
	})
	for _, e := range rowErrs {
		m.Rejected++
		rl.add(store.Reject{File: key, Line: e.Line, Reason: e.Error()})
	}
	if err != nil {
		if _, isRow := err.(*registry.RowError); !isRow {
			return fmt.Errorf("ingest attendance %s: %w", key, err)
		}
		m.Rejected++
		rl.add(store.Reject{File: key, Line: 1, Reason: err.Error()})
	}
	if err := out.flush(); err != nil {
		return fmt.Errorf("ingest attendance %s: %w", key, err)
	}
	m.State, m.FinishedAt = "done", h.Now()
	if err := finish(ctx, h.Bucket, h.Files, m, rl, at); err != nil {
		return fmt.Errorf("ingest attendance %s: %w", key, err)
	}
	log.InfoContext(ctx, "attendance file ingested", "key", key, "accepted", m.Accepted,
		"rejected", m.Rejected, "duplicates", m.Duplicates, "messages", out.sent)
	return nil
}

// dayWriter stores worker-days.
type dayWriter interface {
	PutWorkerDays(ctx context.Context, days []store.WorkerDay) error
}

// RecordAttendance is the record-attendance function: store one item per
// (project, worker, date) and the days worked per (project, worker, month);
// a repeated record is a no-op.
type RecordAttendance struct {
	Days   dayWriter
	Reeval reevaluator
	Log    *slog.Logger
}

// Handle handles one batch of attendance messages.
func (h *RecordAttendance) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := logger(ctx, h.Log)
	return eachMessage(ctx, log, ev, func(ctx context.Context, m events.SQSMessage) error {
		var msg AttendanceMessage
		if err := json.Unmarshal([]byte(m.Body), &msg); err != nil {
			return fmt.Errorf("decode attendance message %s: %w", m.MessageId, err)
		}
		days := make([]store.WorkerDay, 0, len(msg.Records))
		for _, r := range msg.Records {
			days = append(days, store.WorkerDay{ProjectID: r.ProjectID, IDHash: r.IDHash, Date: r.Date, DeviceID: r.DeviceID})
		}
		if err := h.Days.PutWorkerDays(ctx, days); err != nil {
			return err
		}
		log.InfoContext(ctx, "attendance recorded", "project_id", msg.ProjectID, "records", len(days))
		if h.Reeval == nil {
			return nil
		}
		return h.Reeval.Reevaluate(ctx, msg.ProjectID)
	}), nil
}
