package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagewatch/wagewatch/shared/registry"
)

// Registry table items:
//
//	pk P#<project>      sk PROJECT        the project; gsi1pk STATUS#<status>#<shard>, gsi1sk <project>
//	pk P#<project>      sk W#<id hash>    one enrolment of the roster
//	pk P#<project>      sk REEVAL         the debounce marker of a pending re-evaluation
//	pk ACCT#<account>   sk PROJECT        which project a wage account belongs to
//	pk DEPTS            sk D#<dept_id>    a department
//	pk TOKEN#<sha256>   sk TOKEN          a department's API token (hashed)

const statusIndex = "gsi1"

// PutProject writes a project unless the same row is stored already. It
// reports whether anything changed.
func (st *Store) PutProject(ctx context.Context, p registry.Project) (bool, error) {
	d, err := encode(p)
	if err != nil {
		return false, err
	}
	item := key("P#"+p.ID, "PROJECT")
	item["doc"] = s(d)
	item["gsi1pk"] = s(fmt.Sprintf("STATUS#%s#%02d", p.Status, shard(p.ID)))
	item["gsi1sk"] = s(p.ID)
	changed, err := st.putChanged(ctx, st.t.Registry, item)
	if err != nil {
		return false, fmt.Errorf("put project %s: %w", p.ID, err)
	}
	if p.WageAccount != "" {
		acct := key("ACCT#"+p.WageAccount, "PROJECT")
		acct["project_id"] = s(p.ID)
		acct["doc"] = s(p.ID)
		if _, err := st.putChanged(ctx, st.t.Registry, acct); err != nil {
			return false, fmt.Errorf("put account of project %s: %w", p.ID, err)
		}
	}
	return changed, nil
}

// Project returns a project, and false when it is not registered.
func (st *Store) Project(ctx context.Context, id string) (registry.Project, bool, error) {
	var p registry.Project
	item, err := st.get(ctx, st.t.Registry, "P#"+id, "PROJECT")
	if err != nil || item == nil {
		return p, false, err
	}
	return p, true, doc(item, &p)
}

// ProjectsByID returns the registered projects among ids, by id, with one
// BatchGetItem per 100 ids; an unregistered id is absent from the map.
func (st *Store) ProjectsByID(ctx context.Context, ids []string) (map[string]registry.Project, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, key("P#"+id, "PROJECT"))
		}
	}
	items, err := st.batchGet(ctx, st.t.Registry, keys)
	if err != nil {
		return nil, fmt.Errorf("read %d projects: %w", len(keys), err)
	}
	out := make(map[string]registry.Project, len(items))
	for _, item := range items {
		if item == nil {
			continue
		}
		var p registry.Project
		if err := doc(item, &p); err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, nil
}

// ProjectOfAccount returns the project whose wage account is account, or ""
// when no project has it (yet).
func (st *Store) ProjectOfAccount(ctx context.Context, account string) (string, error) {
	item, err := st.get(ctx, st.t.Registry, "ACCT#"+account, "PROJECT")
	if err != nil || item == nil {
		return "", err
	}
	id := str(item, "project_id")
	// A project may have moved to another account since: trust the project.
	p, ok, err := st.Project(ctx, id)
	if err != nil || !ok || p.WageAccount != account {
		return "", err
	}
	return id, nil
}

// ProjectsByStatus returns the ids of the projects with the given status,
// through the sharded status index (never a table Scan).
func (st *Store) ProjectsByStatus(ctx context.Context, status registry.Status) ([]string, error) {
	var ids []string
	for sh := 0; sh < Shards; sh++ {
		pk := fmt.Sprintf("STATUS#%s#%02d", status, sh)
		err := st.queryIndex(ctx, st.t.Registry, statusIndex, pk, func(it map[string]types.AttributeValue) error {
			ids = append(ids, str(it, "gsi1sk"))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("projects with status %s: %w", status, err)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// PutEnrolment writes one roster row unless the same row is stored already.
func (st *Store) PutEnrolment(ctx context.Context, e registry.Enrolment) (bool, error) {
	d, err := encode(e)
	if err != nil {
		return false, err
	}
	item := key("P#"+e.ProjectID, "W#"+e.IDHash)
	item["doc"] = s(d)
	changed, err := st.putChanged(ctx, st.t.Registry, item)
	if err != nil {
		return false, fmt.Errorf("put enrolment on %s of %s: %w", e.ProjectID, e.IDMasked, err)
	}
	return changed, nil
}

// Roster returns every enrolment of a project, past workers included.
func (st *Store) Roster(ctx context.Context, projectID string) ([]registry.Enrolment, error) {
	var out []registry.Enrolment
	err := st.query(ctx, st.t.Registry, "P#"+projectID, "W#", func(it map[string]types.AttributeValue) error {
		var e registry.Enrolment
		if err := doc(it, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("roster of %s: %w", projectID, err)
	}
	return out, nil
}

// PutDepartment writes a department unless the same row is stored already.
func (st *Store) PutDepartment(ctx context.Context, d registry.Department) (bool, error) {
	body, err := encode(d)
	if err != nil {
		return false, err
	}
	item := key("DEPTS", "D#"+d.ID)
	item["doc"] = s(body)
	changed, err := st.putChanged(ctx, st.t.Registry, item)
	if err != nil {
		return false, fmt.Errorf("put department %s: %w", d.ID, err)
	}
	return changed, nil
}

// Departments returns every department.
func (st *Store) Departments(ctx context.Context) ([]registry.Department, error) {
	var out []registry.Department
	err := st.query(ctx, st.t.Registry, "DEPTS", "D#", func(it map[string]types.AttributeValue) error {
		var d registry.Department
		if err := doc(it, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return out, nil
}

// MarkReevaluation sets the project's debounce marker. It reports true when
// the marker was not set before, i.e. when the caller must schedule the
// re-evaluation; false when one is pending already. A marker older than
// markerStale is taken as absent: its evaluation was lost (a crash between
// setting it and sending the message), and this change schedules another.
func (st *Store) MarkReevaluation(ctx context.Context, projectID string) (bool, error) {
	now := st.now().UTC()
	item := key("P#"+projectID, "REEVAL")
	item["at"] = s(now.Format(sortableTime))
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(st.t.Registry),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #at < :stale"),
		ExpressionAttributeNames:  map[string]string{"#at": "at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":stale": s(now.Add(-markerStale).Format(sortableTime))},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark re-evaluation of %s: %w", projectID, err)
	}
	return true, nil
}

// markerStale is the age after which a debounce marker no longer holds back
// a re-evaluation: well past the longest debounce delay (15 minutes, SQS's
// longest message delay).
const markerStale = 30 * time.Minute

// ClearReevaluation removes the debounce marker, before the evaluation reads
// the project: a change after this point schedules a new evaluation.
func (st *Store) ClearReevaluation(ctx context.Context, projectID string) error {
	if _, err := st.db.DeleteItem(ctx, deleteInput(st.t.Registry, "P#"+projectID, "REEVAL")); err != nil {
		return fmt.Errorf("clear re-evaluation of %s: %w", projectID, err)
	}
	return nil
}

// PutProjects stores projects, writeConcurrency at a time, and reports for
// each whether it was new or changed (PutProject).
func (st *Store) PutProjects(ctx context.Context, ps []registry.Project) ([]bool, error) {
	return putEach(ctx, ps, func(p registry.Project) string { return p.ID }, st.PutProject)
}

// PutEnrolments stores enrolments, writeConcurrency at a time, and reports
// for each whether it was new or changed (PutEnrolment). A city's
// workers.csv (120,000 rows at 10×) written one at a time outlasts
// import-registry's timeout.
func (st *Store) PutEnrolments(ctx context.Context, es []registry.Enrolment) ([]bool, error) {
	return putEach(ctx, es, func(e registry.Enrolment) string { return e.ProjectID + "\x00" + e.IDHash }, st.PutEnrolment)
}

// putEach runs put on every item, writeConcurrency at a time, and collects
// what each reported; the first error stops it. Items of the same key are
// put one after the other in their order, so that the last one stays, as
// when the whole list is put in order; keyOf nil puts every item on its own.
func putEach[T any](ctx context.Context, items []T, keyOf func(T) string, put func(context.Context, T) (bool, error)) ([]bool, error) {
	changed := make([]bool, len(items))
	var groups [][]int
	at := map[string]int{}
	for i, it := range items {
		if keyOf == nil {
			groups = append(groups, []int{i})
			continue
		}
		k := keyOf(it)
		g, ok := at[k]
		if !ok {
			g = len(groups)
			at[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	err := parallel(ctx, writeConcurrency, groups, func(ctx context.Context, g []int) error {
		for _, i := range g {
			c, err := put(ctx, items[i])
			if err != nil {
				return err
			}
			changed[i] = c
		}
		return nil
	})
	return changed, err
}
