package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Files table items:
//
//	pk F#<sha256 of content>   sk MANIFEST           what ingesting that content gave
//	pk K#<object key>          sk <event time>       every upload of a key, pointing at its content

// Reject is one rejected row or entry of a file.
type Reject struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Manifest records the ingestion of one file's content.
type Manifest struct {
	Hash       string    `json:"hash"`
	Key        string    `json:"key"`
	Kind       string    `json:"kind"` // bank, registry, attendance
	Format     string    `json:"format"`
	Size       int64     `json:"size"`
	Accepted   int       `json:"accepted"`
	Rejected   int       `json:"rejected"`
	Duplicates int       `json:"duplicates"`
	Balances   int       `json:"balances,omitempty"`
	Rejects    []Reject  `json:"rejects,omitempty"`
	Truncated  bool      `json:"rejects_truncated,omitempty"`
	State      string    `json:"state"` // started, done
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// DuplicateOf is set on an upload whose content was ingested before.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// MaxRejectsKept bounds the rejects kept in the manifest item (DynamoDB
// items are at most 400 KB); the full list goes to the rejects report object.
const MaxRejectsKept = 200

// Manifest returns the manifest of content hash h, and false when that
// content was never ingested.
func (st *Store) Manifest(ctx context.Context, h string) (Manifest, bool, error) {
	var m Manifest
	item, err := st.get(ctx, st.t.Files, "F#"+h, "MANIFEST")
	if err != nil || item == nil {
		return m, false, err
	}
	return m, true, doc(item, &m)
}

// PutManifest writes the manifest of a content hash (replacing an earlier
// state of the same ingestion).
func (st *Store) PutManifest(ctx context.Context, m Manifest) error {
	if len(m.Rejects) > MaxRejectsKept {
		m.Rejects = m.Rejects[:MaxRejectsKept]
		m.Truncated = true
	}
	d, err := encode(m)
	if err != nil {
		return err
	}
	item := key("F#"+m.Hash, "MANIFEST")
	item["doc"] = s(d)
	item["state"] = s(m.State)
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.t.Files), Item: item}); err != nil {
		return fmt.Errorf("put manifest %s of %s: %w", m.Hash, m.Key, err)
	}
	return nil
}

// PutUpload records one upload of an object key (an idempotent write keyed
// by the key and the event time, fixed-width so that Uploads is in time
// order).
func (st *Store) PutUpload(ctx context.Context, objectKey string, at time.Time, m Manifest) error {
	d, err := encode(m)
	if err != nil {
		return err
	}
	item := key("K#"+objectKey, at.UTC().Format(sortableTime))
	item["doc"] = s(d)
	if _, err := st.putNew(ctx, st.t.Files, item); err != nil {
		return fmt.Errorf("record upload of %s: %w", objectKey, err)
	}
	return nil
}

// Uploads returns the uploads of an object key, oldest first.
func (st *Store) Uploads(ctx context.Context, objectKey string) ([]Manifest, error) {
	var out []Manifest
	err := st.query(ctx, st.t.Files, "K#"+objectKey, "", func(it map[string]types.AttributeValue) error {
		var m Manifest
		if err := doc(it, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("uploads of %s: %w", objectKey, err)
	}
	return out, nil
}

// ErrBusy reports content that another ingestion is working on right now.
var ErrBusy = errors.New("being ingested by another invocation")

// ClaimManifest marks a content hash as being ingested, on the condition
// that no ingestion of it finished and none started within stale (the
// function's timeout: an older claim is a crashed invocation's). It is
// ErrBusy when another invocation holds the claim; the caller retries later,
// and then finds the content done (a duplicate) or the claim stale.
func (st *Store) ClaimManifest(ctx context.Context, m Manifest, stale time.Duration) error {
	m.State = "started"
	d, err := encode(m)
	if err != nil {
		return err
	}
	item := key("F#"+m.Hash, "MANIFEST")
	item["doc"], item["state"] = s(d), s(m.State)
	item["started_at"] = s(m.StartedAt.UTC().Format(sortableTime))
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(st.t.Files),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR (#state = :started AND (attribute_not_exists(started_at) OR started_at < :stale))"),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":started": s("started"), ":stale": s(m.StartedAt.Add(-stale).UTC().Format(sortableTime)),
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("claim %s (%s): %w", m.Key, m.Hash, ErrBusy)
	}
	if err != nil {
		return fmt.Errorf("claim %s: %w", m.Key, err)
	}
	return nil
}
