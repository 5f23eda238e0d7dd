package store

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagewatch/wagewatch/shared/day"
)

// Attendance table items:
//
//	pk AD#<project>#<id hash>   sk <date>                 one worker-day (a repeat rewrites the same bytes)
//	pk AM#<project>             sk <yyyy-mm>#<id hash>    the set of days worked that month (NS "days")
//
// The day items spread over one partition per (project, worker); the month
// items are what evaluation reads, with one Query per project. Adding a day
// to a number set is idempotent, so a redelivered record counts once.

// WorkerDay is one day a worker worked on a project.
type WorkerDay struct {
	ProjectID string
	IDHash    string
	Date      day.Date
	DeviceID  string
}

// PutWorkerDays stores worker-days: one item per (project, worker, date), and
// the days added to each (project, worker, month) set with one update per
// set, so that a batch of a month's records for one worker costs about one
// write each.
func (st *Store) PutWorkerDays(ctx context.Context, days []WorkerDay) error {
	type monthKey struct {
		project, worker string
		month           day.Month
	}
	groups := map[monthKey]map[int]bool{}
	items := make([]map[string]types.AttributeValue, 0, len(days))
	seen := map[string]bool{}
	for _, d := range days {
		pk := "AD#" + d.ProjectID + "#" + d.IDHash
		if seen[pk+d.Date.String()] {
			continue
		}
		seen[pk+d.Date.String()] = true
		item := key(pk, d.Date.String())
		items = append(items, item)
		k := monthKey{d.ProjectID, d.IDHash, d.Date.Month()}
		if groups[k] == nil {
			groups[k] = map[int]bool{}
		}
		_, _, dd := d.Date.Parts()
		groups[k][dd] = true
	}
	if err := st.batchPut(ctx, st.t.Attendance, items); err != nil {
		return fmt.Errorf("put worker-days: %w", err)
	}
	type group struct {
		k   monthKey
		set map[int]bool
	}
	list := make([]group, 0, len(groups))
	for k, set := range groups {
		list = append(list, group{k, set})
	}
	return parallel(ctx, writeConcurrency, list, func(ctx context.Context, g group) error {
		nums := make([]string, 0, len(g.set))
		for dd := range g.set {
			nums = append(nums, strconv.Itoa(dd))
		}
		sort.Strings(nums)
		out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(st.t.Attendance),
			Key:                       key("AM#"+g.k.project, g.k.month.String()+"#"+g.k.worker),
			UpdateExpression:          aws.String("ADD #days :d"),
			ExpressionAttributeNames:  map[string]string{"#days": "days"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberNS{Value: nums}},
			ReturnConsumedCapacity:    st.capacityMode(),
		})
		if err != nil {
			return fmt.Errorf("add days of %s %s: %w", g.k.project, g.k.month, err)
		}
		st.consumed(out.ConsumedCapacity)
		return nil
	})
}

// Attendance returns, by worker id hash, the distinct dates each worker
// worked on a project.
func (st *Store) Attendance(ctx context.Context, projectID string) (map[string][]day.Date, error) {
	out := map[string][]day.Date{}
	err := st.query(ctx, st.t.Attendance, "AM#"+projectID, "", func(it map[string]types.AttributeValue) error {
		sk := str(it, "sk")
		monthText, worker, ok := strings.Cut(sk, "#")
		if !ok {
			return fmt.Errorf("attendance item %s has a bad sort key", sk)
		}
		m, err := day.ParseMonth(monthText)
		if err != nil {
			return fmt.Errorf("attendance item %s: %w", sk, err)
		}
		set, _ := it["days"].(*types.AttributeValueMemberNS)
		if set == nil {
			return nil
		}
		for _, v := range set.Value {
			dd, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("attendance item %s: day %q: %w", sk, v, err)
			}
			out[worker] = append(out[worker], m.Day(dd))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("attendance of %s: %w", projectID, err)
	}
	for w := range out {
		sort.Slice(out[w], func(i, j int) bool { return out[w][i] < out[w][j] })
	}
	return out, nil
}
