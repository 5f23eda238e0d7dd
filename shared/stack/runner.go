package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSHandler is a function's handler for its SQS event source, the same one
// its main.go hands to lambda.Start.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Runner plays Lambda's SQS event source mappings against the local stack:
// for every queue -> function mapping of the template it long-polls the
// queue with the mapping's BatchSize, invokes the function's handler with an
// events.SQSEvent, deletes the messages the handler did not report as failed
// (none when it returned an error), and leaves the failed ones to the queue's
// visibility timeout and redrive policy, as Lambda does.
type Runner struct {
	// RetryVisibility, when positive, makes failed messages visible again
	// after this long instead of after the queue's visibility timeout
	// (minutes in the template), so that local runs retry quickly. Zero
	// leaves them as Lambda does. Set before Start.
	RetryVisibility time.Duration
	// WaitTime is the long-polling wait of each receive (default 2 s).
	WaitTime time.Duration
	// Lease, when positive and RetryVisibility is too, is the visibility
	// timeout of each receive, extended every Lease/3 while the handler
	// runs. A receive whose response is lost on the way (the SDK then
	// retries it) leaves its messages invisible at the emulator, which
	// nobody holds: with a lease they come back after Lease instead of the
	// queue's visibility timeout (minutes), which would stall a local run.
	// Zero receives with the queue's timeout, as Lambda does.
	Lease time.Duration
	// Pollers is how many batches of one mapping may be handled at once
	// (default 1). Lambda scales its SQS pollers out the same way; the
	// handlers are safe for it (single-item conditional writes).
	Pollers int

	cfg      aws.Config
	res      *Resources
	handlers map[string]SQSHandler
	log      *slog.Logger
	client   *sqs.Client

	mappings []mapping
	running  atomic.Int64 // handlers running now
	invoked  atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

type mapping struct {
	fn      *Function
	event   SQSEvent
	queue   QueueRef
	handler SQSHandler
}

// NewRunner returns a runner for the handlers, keyed by function logical ID.
func NewRunner(cfg aws.Config, res *Resources, handlers map[string]SQSHandler, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{
		WaitTime: 2 * time.Second,
		Lease:    30 * time.Second,
		cfg:      cfg,
		res:      res,
		handlers: handlers,
		log:      log,
		client:   res.sqs(cfg),
	}
}

// Start starts one poller per mapping whose function has a handler. A
// handler for a function the template does not map to a queue is an error;
// a mapped function without a handler is skipped (and logged).
func (r *Runner) Start(ctx context.Context) error {
	if r.cancel != nil {
		return errors.New("runner: started twice")
	}
	t := r.res.tpl
	for id := range r.handlers {
		f, ok := t.Functions[id]
		if !ok || len(f.SQS) == 0 {
			return fmt.Errorf("runner: handler for %s, which is not a function with an SQS event in the template", id)
		}
	}
	for _, id := range sortedKeys(t.Functions) {
		f := t.Functions[id]
		for _, ev := range f.SQS {
			h, ok := r.handlers[id]
			if !ok {
				r.log.Info("runner: no handler; mapping not run", "function", id, "queue", ev.Queue)
				continue
			}
			q, ok := r.res.Queues[ev.Queue]
			if !ok {
				return fmt.Errorf("runner: queue %s of %s not provisioned", ev.Queue, id)
			}
			r.mappings = append(r.mappings, mapping{fn: f, event: ev, queue: q, handler: h})
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	pollers := max(r.Pollers, 1)
	for _, m := range r.mappings {
		for range pollers {
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.poll(ctx, m)
			}()
		}
	}
	return nil
}

// Stop stops the pollers and waits for running handlers to return and for
// receives in flight to end (at most WaitTime).
func (r *Runner) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// Invocations counts the handler invocations so far.
func (r *Runner) Invocations() int64 { return r.invoked.Load() }

// poll receives and invokes until ctx ends. A receive is never cancelled
// mid-way: the emulator does not notice a client that went away and would
// hand the next message to the abandoned long poll, leaving it invisible for
// the queue's whole visibility timeout. So Stop waits for the receive in
// flight (at most WaitTime) and gives back what it brought.
func (r *Runner) poll(ctx context.Context, m mapping) {
	wait := int32(r.WaitTime / time.Second)
	if wait < 1 {
		wait = 1
	}
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(wait)*time.Second+30*time.Second)
		in := &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.queue.URL),
			MaxNumberOfMessages:         int32(m.event.BatchSize),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		}
		if lease := r.lease(); lease > 0 {
			in.VisibilityTimeout = lease
		}
		out, err := r.client.ReceiveMessage(rctx, in)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Error("runner: receive", "queue", m.queue.Name, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if len(out.Messages) == 0 {
			continue
		}
		if ctx.Err() != nil {
			r.release(m, out.Messages)
			return
		}
		r.invoke(ctx, m, out.Messages)
	}
}

// release makes messages received while stopping visible again at once.
func (r *Runner) release(m mapping, msgs []sqstypes.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, msg := range msgs {
		if _, err := r.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(m.queue.URL), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: 0,
		}); err != nil {
			r.log.Warn("runner: release message on stop", "queue", m.queue.Name, "err", err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// invoke runs the handler on one batch and settles the batch.
func (r *Runner) invoke(ctx context.Context, m mapping, msgs []sqstypes.Message) {
	r.running.Add(1)
	defer r.running.Add(-1)
	r.invoked.Add(1)
	ev := r.buildEvent(m, msgs)
	// Like Lambda, the handler gets the function's timeout; the batch is
	// settled even if the runner is stopping meanwhile.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(m.fn.Timeout)*time.Second)
	stopLease := r.holdLease(hctx, m, msgs)
	resp, err := callHandler(hctx, m.handler, ev)
	stopLease()
	cancel()
	settle := context.WithoutCancel(ctx)
	if err != nil {
		r.log.Warn("runner: handler failed; the whole batch stays", "function", m.fn.LogicalID, "queue", m.queue.Name, "messages", len(msgs), "err", err)
		r.retrySoon(settle, m, msgs)
		return
	}
	failed := map[string]bool{}
	byID := map[string]bool{}
	for _, msg := range msgs {
		byID[aws.ToString(msg.MessageId)] = true
	}
	for _, f := range resp.BatchItemFailures {
		if !byID[f.ItemIdentifier] {
			// Lambda treats an unknown or empty identifier as a failure
			// of the whole batch.
			r.log.Warn("runner: unknown item identifier in BatchItemFailures; the whole batch stays", "function", m.fn.LogicalID, "id", f.ItemIdentifier)
			r.retrySoon(settle, m, msgs)
			return
		}
		failed[f.ItemIdentifier] = true
	}
	var done, kept []sqstypes.Message
	for _, msg := range msgs {
		if failed[aws.ToString(msg.MessageId)] {
			kept = append(kept, msg)
		} else {
			done = append(done, msg)
		}
	}
	if len(kept) > 0 {
		r.log.Info("runner: batch item failures", "function", m.fn.LogicalID, "queue", m.queue.Name, "failed", len(kept), "of", len(msgs))
		r.retrySoon(settle, m, kept)
	}
	if len(done) == 0 {
		return
	}
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(done))
	for i, msg := range done {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle}
	}
	out, err := r.client.DeleteMessageBatch(settle, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.queue.URL), Entries: entries})
	if err != nil {
		r.log.Error("runner: delete batch", "queue", m.queue.Name, "err", err)
		return
	}
	for _, f := range out.Failed {
		r.log.Error("runner: delete message", "queue", m.queue.Name, "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
	}
}

// callHandler runs the handler, turning a panic into an error as Lambda
// turns it into a failed invocation.
func callHandler(ctx context.Context, h SQSHandler, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, ev)
}

// lease is the visibility timeout of each receive in seconds, 0 for the
// queue's own.
func (r *Runner) lease() int32 {
	if r.Lease <= 0 || r.RetryVisibility <= 0 {
		return 0
	}
	return int32(max((r.Lease+time.Second-1)/time.Second, 3))
}

// holdLease extends the batch's visibility every third of the lease until
// the returned stop is called (and has waited for the extender to end).
func (r *Runner) holdLease(ctx context.Context, m mapping, msgs []sqstypes.Message) (stop func()) {
	lease := r.lease()
	if lease == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Duration(lease) * time.Second / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, len(msgs))
			for i, msg := range msgs {
				entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{
					Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: lease,
				}
			}
			out, err := r.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
				QueueUrl: aws.String(m.queue.URL), Entries: entries,
			})
			switch {
			case err != nil && ctx.Err() == nil:
				r.log.Warn("runner: extend lease", "function", m.fn.LogicalID, "queue", m.queue.Name, "err", err)
			case err == nil && len(out.Failed) > 0:
				r.log.Warn("runner: extend lease", "function", m.fn.LogicalID, "queue", m.queue.Name,
					"failed", len(out.Failed), "code", aws.ToString(out.Failed[0].Code))
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (r *Runner) retrySoon(ctx context.Context, m mapping, msgs []sqstypes.Message) {
	if r.RetryVisibility <= 0 {
		return
	}
	secs := int32((r.RetryVisibility + time.Second - 1) / time.Second)
	for _, msg := range msgs {
		if _, err := r.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(m.queue.URL), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: secs,
		}); err != nil {
			r.log.Warn("runner: change visibility", "queue", m.queue.Name, "err", err)
		}
	}
}

func (r *Runner) buildEvent(m mapping, msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, msg := range msgs {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(msg.MessageId),
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   aws.ToString(msg.Body),
			Md5OfBody:              aws.ToString(msg.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         m.queue.ARN,
			EventSource:            "aws:sqs",
			AWSRegion:              r.res.Region,
		}
		for k, v := range msg.Attributes {
			rec.Attributes[k] = v
		}
		for k, v := range msg.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue: v.StringValue,
				BinaryValue: v.BinaryValue,
				DataType:    aws.ToString(v.DataType),
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// Idle waits, without a deadline of its own, until every mapped queue is
// drained and no handler runs (see WaitDrained).
func (r *Runner) Idle(ctx context.Context) error {
	return r.waitDrained(ctx)
}

// WaitDrained returns once every mapped queue has no visible, in-flight or
// delayed message and no handler is running, seen twice in a row; or an
// error saying what is left when timeout passes.
func (r *Runner) WaitDrained(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return r.waitDrained(ctx)
}

func (r *Runner) waitDrained(ctx context.Context) error {
	quiet := 0
	last := ""
	for {
		left, err := r.pending(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("runner: drained: %w", err)
		case err == nil && left == "" && r.running.Load() == 0:
			quiet++
			if quiet >= 2 {
				return nil
			}
		default:
			quiet = 0
			if err == nil {
				last = left
			}
		}
		select {
		case <-ctx.Done():
			if last == "" && r.running.Load() > 0 {
				last = fmt.Sprintf("%d handlers running", r.running.Load())
			}
			return fmt.Errorf("runner: not drained (%s): %w", last, ctx.Err())
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// pending describes the messages still on mapped queues, "" when none.
func (r *Runner) pending(ctx context.Context) (string, error) {
	var left []string
	seen := map[string]bool{}
	for _, m := range r.mappings {
		if seen[m.queue.URL] {
			continue
		}
		seen[m.queue.URL] = true
		out, err := r.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(m.queue.URL),
			AttributeNames: []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
			},
		})
		if err != nil {
			return "", fmt.Errorf("attributes of %s: %w", m.queue.Name, err)
		}
		var counts []string
		for _, a := range []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		} {
			if v := out.Attributes[string(a)]; v != "" && v != "0" {
				counts = append(counts, strings.TrimPrefix(string(a), "ApproximateNumberOf")+"="+v)
			}
		}
		if len(counts) > 0 {
			left = append(left, m.queue.Name+" "+strings.Join(counts, " "))
		}
	}
	sort.Strings(left)
	return strings.Join(left, "; "), nil
}
