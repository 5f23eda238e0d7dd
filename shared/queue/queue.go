// Package queue sends wagewatch's messages to SQS: batched ten to a call,
// failed entries retried, and many records packed into one message of at most
// 256 KB (SQS bills per request, not per record).
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxMessageBytes is SQS's limit for one message body.
const MaxMessageBytes = 256 * 1024

// maxBatch is SQS's limit of entries in one SendMessageBatch call.
const maxBatch = 10

// API is the part of the SQS client a Sender uses.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Message is one message to send.
type Message struct {
	Body  string
	Delay time.Duration
}

// Sender sends messages to one queue.
type Sender struct {
	api      API
	url      string
	attempts int
	pause    func(time.Duration)
}

// NewSender returns a Sender for the queue at url.
func NewSender(api API, url string) *Sender {
	return &Sender{api: api, url: url, attempts: 5, pause: time.Sleep}
}

// URL returns the queue's URL.
func (s *Sender) URL() string { return s.url }

// MaxBatchBytes is SQS's limit for the bodies of one SendMessageBatch call
// together.
const MaxBatchBytes = 256 * 1024

// Send sends msgs with SendMessageBatch, up to ten a call and 256 KB
// together, retrying entries that failed with a sender-independent error a
// few times before giving up.
func (s *Sender) Send(ctx context.Context, msgs []Message) error {
	for _, batch := range Batches(msgs) {
		if err := s.sendBatch(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// Batches splits msgs, in order, into SendMessageBatch calls of at most ten
// messages and MaxBatchBytes of bodies.
func Batches(msgs []Message) [][]Message {
	var out [][]Message
	start, size := 0, 0
	for i, m := range msgs {
		if i > start && (i-start == maxBatch || size+len(m.Body) > MaxBatchBytes) {
			out = append(out, msgs[start:i])
			start, size = i, 0
		}
		size += len(m.Body)
	}
	if start < len(msgs) {
		out = append(out, msgs[start:])
	}
	return out
}

func (s *Sender) sendBatch(ctx context.Context, msgs []Message) error {
	pending := make(map[string]Message, len(msgs))
	for i, m := range msgs {
		pending[strconv.Itoa(i)] = m
	}
	for attempt := 1; ; attempt++ {
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.url)}
		for id, m := range pending {
			e := types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(m.Body)}
			if m.Delay > 0 {
				e.DelaySeconds = int32(m.Delay / time.Second)
			}
			in.Entries = append(in.Entries, e)
		}
		out, err := s.api.SendMessageBatch(ctx, in)
		if err != nil {
			if attempt >= s.attempts || ctx.Err() != nil {
				return fmt.Errorf("send %d messages to %s: %w", len(pending), s.url, err)
			}
			s.pause(time.Duration(attempt) * 200 * time.Millisecond)
			continue
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		if len(pending) == 0 {
			return nil
		}
		var last types.BatchResultErrorEntry
		for _, f := range out.Failed {
			last = f
			if f.SenderFault {
				return fmt.Errorf("send message to %s: %s: %s", s.url, aws.ToString(f.Code), aws.ToString(f.Message))
			}
		}
		if attempt >= s.attempts {
			return fmt.Errorf("send %d messages to %s after %d attempts: %s: %s", len(pending), s.url, attempt, aws.ToString(last.Code), aws.ToString(last.Message))
		}
		s.pause(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

// Packer packs records into JSON messages of the form
// {"<header fields>", "<field>": [records…]} of at most MaxMessageBytes,
// handing each full message to flush.
type Packer[H any, R any] struct {
	header  H
	records []R
	size    int
	limit   int
	flush   func(H, []R) error
}

// NewPacker returns a Packer that calls flush with a header and the records
// of one message each time adding a record would pass the size limit.
func NewPacker[H any, R any](header H, flush func(H, []R) error) *Packer[H, R] {
	// Leave room for the header and the envelope.
	return &Packer[H, R]{header: header, flush: flush, limit: MaxMessageBytes - 8*1024}
}

// Add adds one record, flushing first when it would not fit.
func (p *Packer[H, R]) Add(r R) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if len(p.records) > 0 && p.size+len(b)+1 > p.limit {
		if err := p.Flush(); err != nil {
			return err
		}
	}
	p.records = append(p.records, r)
	p.size += len(b) + 1
	return nil
}

// Flush hands what is packed to flush, if anything.
func (p *Packer[H, R]) Flush() error {
	if len(p.records) == 0 {
		return nil
	}
	recs := p.records
	p.records, p.size = nil, 0
	return p.flush(p.header, recs)
}
