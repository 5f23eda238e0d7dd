package handler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wagewatch/wagewatch/shared/queue"
)

// batcher packs records by key (an account, a project) into messages of at
// most queue.MaxMessageBytes, many records to a message, and sends the
// messages ten to a SendMessageBatch call: SQS bills per request, not per
// record.
type batcher[R any] struct {
	ctx      context.Context
	q        sender
	envelope func(key string, recs []R) any
	packers  map[string]*queue.Packer[string, R]
	keys     []string // in the order first seen, so flushing is deterministic
	ready    []queue.Message
	sent     int
}

// newBatcher returns a batcher whose messages are envelope(key, records)
// encoded as JSON.
func newBatcher[R any](ctx context.Context, q sender, envelope func(key string, recs []R) any) *batcher[R] {
	return &batcher[R]{ctx: ctx, q: q, envelope: envelope, packers: map[string]*queue.Packer[string, R]{}}
}

// add adds one record under key.
func (b *batcher[R]) add(key string, r R) error {
	p := b.packers[key]
	if p == nil {
		p = queue.NewPacker(key, b.pack)
		b.packers[key] = p
		b.keys = append(b.keys, key)
	}
	return p.Add(r)
}

func (b *batcher[R]) pack(key string, recs []R) error {
	body, err := json.Marshal(b.envelope(key, recs))
	if err != nil {
		return fmt.Errorf("encode message of %s: %w", key, err)
	}
	b.ready = append(b.ready, queue.Message{Body: string(body)})
	if len(b.ready) >= 10 {
		return b.send()
	}
	return nil
}

func (b *batcher[R]) send() error {
	if len(b.ready) == 0 {
		return nil
	}
	if err := b.q.Send(b.ctx, b.ready); err != nil {
		return err
	}
	b.sent += len(b.ready)
	b.ready = b.ready[:0]
	return nil
}

// flush packs and sends what is left.
func (b *batcher[R]) flush() error {
	for _, k := range b.keys {
		if err := b.packers[k].Flush(); err != nil {
			return err
		}
	}
	return b.send()
}
