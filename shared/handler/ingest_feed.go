package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagewatch/wagewatch/shared/feed"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/store"
)

// objects is what the ingesting handlers need of the feed bucket.
type objects interface {
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	Put(ctx context.Context, key, contentType string, body []byte) error
	PutStream(ctx context.Context, key, contentType string, body io.Reader, size int64) error
}

// manifests is what the ingesting handlers need of the files table.
type manifests interface {
	Manifest(ctx context.Context, hash string) (store.Manifest, bool, error)
	PutManifest(ctx context.Context, m store.Manifest) error
	ClaimManifest(ctx context.Context, m store.Manifest, stale time.Duration) error
	PutUpload(ctx context.Context, objectKey string, at time.Time, m store.Manifest) error
}

// sender sends messages to one queue.
type sender interface {
	Send(ctx context.Context, msgs []queue.Message) error
}

// cardHasher hashes and masks card-like account numbers.
type cardHasher interface {
	HashCard(digits string) string
}

// IngestFeed is the ingest-feed function: a bank file landed in the feed
// bucket; parse it as a stream and send its entries and balances, many to a
// message, to the entries queue.
type IngestFeed struct {
	Bucket  objects
	Files   manifests
	Entries sender
	Hasher  cardHasher
	Mask    func(digits string) string
	Now     func() time.Time
	Log     *slog.Logger
}

// Handle handles one batch of S3 notifications.
func (h *IngestFeed) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return eachObject(ctx, logger(ctx, h.Log), ev, h.ingest), nil
}

// objectKey returns the decoded key of an S3 notification record (S3
// URL-encodes keys in notifications, spaces as '+').
func objectKey(r events.S3EventRecord) (string, error) {
	k, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		return "", fmt.Errorf("decode object key %q: %w", r.S3.Object.Key, err)
	}
	return k, nil
}

// hashObject reads an object once to compute the SHA-256 of its content.
func hashObject(ctx context.Context, b objects, key string) (string, int64, error) {
	body, _, err := b.Open(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer body.Close()
	sum := sha256.New()
	n, err := io.Copy(sum, body)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(sum.Sum(nil)), n, nil
}

// seenBefore checks the content hash of an upload against the files table.
// When the same bytes were ingested before, it records the upload as a
// duplicate and reports true: the file changes nothing.
func seenBefore(ctx context.Context, log *slog.Logger, files manifests, key, hash string, at time.Time) (bool, error) {
	prev, ok, err := files.Manifest(ctx, hash)
	if err != nil {
		return false, err
	}
	if !ok || prev.State != "done" {
		return false, nil
	}
	dup := prev
	dup.Key, dup.DuplicateOf, dup.Rejects = key, prev.Key, nil
	if err := files.PutUpload(ctx, key, at, dup); err != nil {
		return false, err
	}
	log.InfoContext(ctx, "duplicate file ignored", "key", key, "hash", hash, "duplicate_of", prev.Key)
	return true, nil
}

// arrival is an uploaded object whose content is new: its key, the time of
// its upload, its content hash and size.
type arrival struct {
	key  string
	at   time.Time
	hash string
	size int64
}

// arrive decodes an S3 notification record, hashes the object's content and
// checks it against the files table. ok is false for content ingested before:
// the upload is then recorded as a duplicate and changes nothing.
func arrive(ctx context.Context, log *slog.Logger, b objects, files manifests, r events.S3EventRecord, now func() time.Time) (a arrival, ok bool, err error) {
	if a.key, err = objectKey(r); err != nil {
		return a, false, err
	}
	a.at = r.EventTime
	if a.at.IsZero() {
		a.at = now()
	}
	if a.hash, a.size, err = hashObject(ctx, b, a.key); err != nil {
		return a, false, err
	}
	dup, err := seenBefore(ctx, log, files, a.key, a.hash, a.at)
	if dup || err != nil {
		return a, false, err
	}
	// The same bytes uploaded twice at once: one invocation ingests them,
	// the other retries later and finds them done.
	claim := store.Manifest{Hash: a.hash, Key: a.key, Size: a.size, StartedAt: now()}
	if err := files.ClaimManifest(ctx, claim, claimStale); err != nil {
		return a, false, err
	}
	return a, true, nil
}

// claimStale is how old a claim on content must be before another
// invocation takes it over: the longest function timeout of template.yaml.
const claimStale = 5 * time.Minute

func (h *IngestFeed) ingest(ctx context.Context, log *slog.Logger, r events.S3EventRecord) error {
	a, ok, err := arrive(ctx, log, h.Bucket, h.Files, r, h.Now)
	if !ok {
		return err
	}
	key, at, hash, size := a.key, a.at, a.hash, a.size
	m := store.Manifest{Hash: hash, Key: key, Kind: "bank", Size: size, State: "started", StartedAt: h.Now()}

	body, _, err := h.Bucket.Open(ctx, key)
	if err != nil {
		return err
	}
	defer body.Close()

	rl, err := newRejectLog()
	if err != nil {
		return err
	}
	defer rl.close()
	reject := func(line int, reason string) {
		m.Rejected++
		rl.add(store.Reject{File: key, Line: line, Reason: reason})
	}
	out := newEntryBatcher(ctx, h.Entries, key)
	order := at.UTC().Format("20060102T150405.000000000Z")
	intake := feed.NewIntake(func(d string) (string, string) { return h.Hasher.HashCard(d), h.Mask(d) })

	sum, err := feed.Parse(body, key, func(it feed.Item) error {
		d := intake.Take(it)
		switch {
		case d.Reject != nil:
			reject(d.Reject.Line, d.Reject.Reason)
		case d.Duplicate:
			m.Duplicates++
		case d.Entry != nil:
			m.Accepted++
			return out.add(d.Entry.Account, *d.Entry)
		case d.Balance != nil:
			d.Balance.Order = fmt.Sprintf("%s#%09d", order, d.Balance.Source.Line)
			m.Balances++
			return out.add(d.Balance.Account, *d.Balance)
		}
		return nil
	})
	m.Format = string(sum.Format)
	if err != nil {
		if errors.Is(err, feed.ErrUnknownFormat) {
			// Not a bank file at all: report it, do not retry it.
			reject(0, fmt.Sprintf("%s: %v", key, err))
		} else {
			return fmt.Errorf("ingest %s: %w", key, err)
		}
	}
	if err := out.flush(); err != nil {
		return fmt.Errorf("ingest %s: %w", key, err)
	}
	m.State, m.FinishedAt = "done", h.Now()
	if err := finish(ctx, h.Bucket, h.Files, m, rl, at); err != nil {
		return fmt.Errorf("ingest %s: %w", key, err)
	}
	log.InfoContext(ctx, "bank file ingested", "key", key, "format", m.Format, "accepted", m.Accepted,
		"rejected", m.Rejected, "duplicates", m.Duplicates, "balances", m.Balances, "messages", out.sent)
	return nil
}

// newEntryBatcher packs entries and balances per account, many to a
// message.
func newEntryBatcher(ctx context.Context, q sender, file string) *batcher[any] {
	return newBatcher(ctx, q, func(account string, recs []any) any {
		msg := EntriesMessage{File: file, Account: account}
		for _, r := range recs {
			switch v := r.(type) {
			case ledger.Entry:
				msg.Entries = append(msg.Entries, v)
			case ledger.Balance:
				msg.Balances = append(msg.Balances, v)
			}
		}
		return msg
	})
}
