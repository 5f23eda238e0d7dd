package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/queue"
)

// ledgerWriter is what record-entries needs of the store.
type ledgerWriter interface {
	PutEntries(ctx context.Context, entries []ledger.Entry) (int, error)
	PutBalances(ctx context.Context, balances []ledger.Balance) (int, error)
	ProjectOfAccount(ctx context.Context, account string) (string, error)
}

// reevaluator schedules the debounced re-evaluation of a changed project.
type reevaluator interface {
	Reevaluate(ctx context.Context, projectID string) error
}

// RecordEntries is the record-entries function: write each entry at most
// once, keyed by (account, bank reference), and each reported balance; then
// have the account's project re-evaluated.
type RecordEntries struct {
	Ledger ledgerWriter
	Reeval reevaluator
	Log    *slog.Logger
}

// Handle handles one batch of entries messages.
func (h *RecordEntries) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := logger(ctx, h.Log)
	return eachMessage(ctx, log, ev, func(ctx context.Context, m events.SQSMessage) error {
		var msg EntriesMessage
		if err := json.Unmarshal([]byte(m.Body), &msg); err != nil {
			// A message that cannot be decoded never will be: let it go to
			// the DLQ through the redrive policy, where the alarm sees it.
			return fmt.Errorf("decode entries message %s: %w", m.MessageId, err)
		}
		newEntries, err := h.Ledger.PutEntries(ctx, msg.Entries)
		if err != nil {
			return err
		}
		newBal, err := h.Ledger.PutBalances(ctx, msg.Balances)
		if err != nil {
			return err
		}
		dups := len(msg.Entries) - newEntries
		log.InfoContext(ctx, "entries recorded", "file", msg.File, "account", msg.Account,
			"new", newEntries, "duplicates", dups, "balances", newBal)
		if newEntries+newBal == 0 && !redelivered(m) || h.Reeval == nil {
			return nil
		}
		project, err := h.Ledger.ProjectOfAccount(ctx, msg.Account)
		if err != nil {
			return err
		}
		if project == "" {
			// Kept: the entries count once a project registers the account.
			log.InfoContext(ctx, "entries for an account no project has yet", "account", msg.Account)
			return nil
		}
		return h.Reeval.Reevaluate(ctx, project)
	}), nil
}

// redelivered reports whether SQS delivered m before. An earlier attempt
// may have recorded every entry and then failed before it scheduled the
// re-evaluation (the Debouncer takes its marker down and fails the message
// so that the redelivery tries again): the redelivery finds nothing new but
// must schedule it still.
func redelivered(m events.SQSMessage) bool {
	n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return err == nil && n > 1
}

// marker is the debounce marker of the registry table.
type marker interface {
	MarkReevaluation(ctx context.Context, projectID string) (bool, error)
	ClearReevaluation(ctx context.Context, projectID string) error
}

// Debouncer schedules at most one pending re-evaluation per project: the
// first change sets a marker and sends a delayed evaluate message; changes
// while the marker stands add nothing; evaluate clears the marker before it
// reads the project, so no change is missed.
type Debouncer struct {
	Marks    marker
	Evaluate sender
	Delay    time.Duration
}

// Reevaluate schedules a re-evaluation of projectID unless one is pending.
func (d *Debouncer) Reevaluate(ctx context.Context, projectID string) error {
	first, err := d.Marks.MarkReevaluation(ctx, projectID)
	if err != nil || !first {
		return err
	}
	body, _ := json.Marshal(EvaluateMessage{ProjectID: projectID, Reason: "change"})
	if err := d.Evaluate.Send(ctx, []queue.Message{{Body: string(body), Delay: d.Delay}}); err != nil {
		// Take the marker down again, or no later change would schedule
		// the evaluation; the redelivered message tries again.
		if cerr := d.Marks.ClearReevaluation(ctx, projectID); cerr != nil {
			return fmt.Errorf("schedule re-evaluation of %s: %w (and clear marker: %v)", projectID, err, cerr)
		}
		return fmt.Errorf("schedule re-evaluation of %s: %w", projectID, err)
	}
	return nil
}
