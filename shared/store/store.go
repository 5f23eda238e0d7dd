// Package store keeps wagewatch's state in DynamoDB: the registry, the
// ledger of bank entries and balances, attendance, alerts, deliveries and the
// manifest of ingested files. Every write is a single-item conditional write
// or update (no transactions: they cost double, and the local emulator has
// none), designed so that a redelivered message, or a crash between two
// writes, never counts anything twice. docs/tables.md describes the keys and
// every access pattern; nothing here ever Scans a table.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Tables names the tables of template.yaml.
type Tables struct {
	Registry, Ledger, Attendance, Alerts, Deliveries, Files string
}

// Store reads and writes wagewatch's tables.
type Store struct {
	db  API
	t   Tables
	now func() time.Time
	// Capacity, when set, is told the write capacity units every write
	// consumed (for the benchmarks).
	Capacity func(table string, units float64)
}

// New returns a Store over the given tables.
func New(db API, t Tables, now func() time.Time) *Store {
	return &Store{db: db, t: t, now: now}
}

// Shards is how many partitions the sparse "by status" and "open alert"
// indexes spread over, so that no index key is hot.
const Shards = 16

func shard(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % Shards)
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(v)}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// doc decodes the JSON document an item carries in its "doc" attribute.
func doc(item map[string]types.AttributeValue, v any) error {
	raw := str(item, "doc")
	if raw == "" {
		return fmt.Errorf("item %s/%s has no doc", str(item, "pk"), str(item, "sk"))
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fmt.Errorf("decode item %s/%s: %w", str(item, "pk"), str(item, "sk"), err)
	}
	return nil
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

func (st *Store) consumed(c *types.ConsumedCapacity) {
	if st.Capacity == nil || c == nil {
		return
	}
	st.Capacity(aws.ToString(c.TableName), aws.ToFloat64(c.CapacityUnits))
}

func (st *Store) capacityMode() types.ReturnConsumedCapacity {
	if st.Capacity == nil {
		return types.ReturnConsumedCapacityNone
	}
	return types.ReturnConsumedCapacityTotal
}

// putNew writes item unless an item with its key exists. It reports whether
// it wrote.
func (st *Store) putNew(ctx context.Context, table string, item map[string]types.AttributeValue) (bool, error) {
	out, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:              aws.String(table),
		Item:                   item,
		ConditionExpression:    aws.String("attribute_not_exists(pk)"),
		ReturnConsumedCapacity: st.capacityMode(),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put %s/%s: %w", str(item, "pk"), str(item, "sk"), err)
	}
	st.consumed(out.ConsumedCapacity)
	return true, nil
}

// putChanged writes item unless an item with its key and the same doc
// exists: replaying the same data changes nothing, a changed row replaces
// the old one. It reports whether it wrote.
func (st *Store) putChanged(ctx context.Context, table string, item map[string]types.AttributeValue) (bool, error) {
	out, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #doc <> :doc"),
		ExpressionAttributeNames:  map[string]string{"#doc": "doc"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":doc": item["doc"]},
		ReturnConsumedCapacity:    st.capacityMode(),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put %s/%s: %w", str(item, "pk"), str(item, "sk"), err)
	}
	st.consumed(out.ConsumedCapacity)
	return true, nil
}

func (st *Store) get(ctx context.Context, table, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", pk, sk, err)
	}
	return out.Item, nil
}

// query returns every item of partition pk whose sort key begins with
// prefix, following pages.
func (st *Store) query(ctx context.Context, table, pk, prefix string, each func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(pk), ":p": s(prefix)},
		ConsistentRead:            aws.Bool(true),
	}
	return st.pages(ctx, in, each)
}

// queryIndex returns every item of an index partition.
func (st *Store) queryIndex(ctx context.Context, table, index, pk string, each func(map[string]types.AttributeValue) error) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": index + "pk"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(pk)},
	}
	return st.pages(ctx, in, each)
}

func (st *Store) pages(ctx context.Context, in *dynamodb.QueryInput, each func(map[string]types.AttributeValue) error) error {
	for {
		out, err := st.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query %s: %w", aws.ToString(in.TableName), err)
		}
		for _, it := range out.Items {
			if err := each(it); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// batchPut writes items with BatchWriteItem, 25 a call, retrying the
// unprocessed ones. A put overwrites: use it only for items whose content is
// a pure function of their key, so that a replay writes the same bytes.
func (st *Store) batchPut(ctx context.Context, table string, items []map[string]types.AttributeValue) error {
	var chunks [][]map[string]types.AttributeValue
	for start := 0; start < len(items); start += 25 {
		chunks = append(chunks, items[start:min(start+25, len(items))])
	}
	return parallel(ctx, writeConcurrency, chunks, func(ctx context.Context, chunk []map[string]types.AttributeValue) error {
		reqs := make([]types.WriteRequest, 0, len(chunk))
		for _, it := range chunk {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		pending := map[string][]types.WriteRequest{table: reqs}
		for attempt := 0; len(pending[table]) > 0; attempt++ {
			if attempt > 8 {
				return fmt.Errorf("batch write %s: %d items unprocessed", table, len(pending[table]))
			}
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
			out, err := st.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems:           pending,
				ReturnConsumedCapacity: st.capacityMode(),
			})
			if err != nil {
				return fmt.Errorf("batch write %s: %w", table, err)
			}
			for i := range out.ConsumedCapacity {
				st.consumed(&out.ConsumedCapacity[i])
			}
			pending = out.UnprocessedItems
		}
		return nil
	})
}

// backoff waits before the attempt-th try of a batch's unprocessed part
// (not before the first): 50 ms × attempt².
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(attempt*attempt) * 50 * time.Millisecond):
		return nil
	}
}

// batchGet reads the items of keys (each a pk and sk) with consistent
// BatchGetItem calls of up to 100 keys, retrying the unprocessed ones. The
// result is in the order of keys, nil where no item has the key.
func (st *Store) batchGet(ctx context.Context, table string, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	at := make(map[[2]string]int, len(keys))
	for i, k := range keys {
		at[[2]string{str(k, "pk"), str(k, "sk")}] = i
	}
	out := make([]map[string]types.AttributeValue, len(keys))
	for start := 0; start < len(keys); start += 100 {
		pending := map[string]types.KeysAndAttributes{table: {Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(pending[table].Keys) > 0; attempt++ {
			if attempt > 8 {
				return nil, fmt.Errorf("batch get %s: %d keys unprocessed", table, len(pending[table].Keys))
			}
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
			res, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, fmt.Errorf("batch get %s: %w", table, err)
			}
			for _, it := range res.Responses[table] {
				if i, ok := at[[2]string{str(it, "pk"), str(it, "sk")}]; ok {
					out[i] = it
				}
			}
			pending = res.UnprocessedKeys
		}
	}
	return out, nil
}

// writeConcurrency bounds the writes one call of the store makes at once.
const writeConcurrency = 8

// parallel runs fn on every item, at most n at a time, and returns the
// first error (it starts no new call after one).
func parallel[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, n)
	)
	for _, it := range items {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := fn(ctx, it); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func deleteInput(table, pk, sk string) *dynamodb.DeleteItemInput {
	return &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(pk, sk)}
}
