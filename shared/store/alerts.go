package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/rules"
)

// Alerts table items:
//
//	pk P#<project>   sk HEAD#<rule>              seq (last alert number), open (bool);
//	                                             gsi1pk OPEN#<shard>, gsi1sk <project> while open
//	pk P#<project>   sk AL#<rule>#<seq:06d>      one alert with its timeline (doc), version;
//	                                             gsi2pk UNACK#<shard>, gsi2sk <opened_at> while open,
//	                                             unacknowledged and not escalated
//	pk DEPT#<dept>   sk <opened_at>#<alert id>   an alert the department is a recipient of
//
// The head item makes "at most one open alert per (project, rule)" a
// single-item conditional update; the alert number it hands out names the
// alert: <project>:<rule>:<seq>.

const (
	openIndex  = "gsi1"
	unackIndex = "gsi2"
	// sortableTime is fixed-width, so that string order is time order
	// (RFC3339Nano drops trailing zeros).
	sortableTime = "2006-01-02T15:04:05.000000000Z"
)

// ErrConflict reports a write that lost a race (an alert opened or changed
// by someone else meanwhile): re-read and try again.
var ErrConflict = errors.New("conflicting write")

// ErrNotFound reports an alert that does not exist.
var ErrNotFound = errors.New("not found")

// AlertID names an alert.
func AlertID(project string, rule rules.Rule, seq int) string {
	return fmt.Sprintf("%s:%s:%d", project, rule, seq)
}

// ParseAlertID splits an alert id.
func ParseAlertID(id string) (project string, rule rules.Rule, seq int, err error) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", "", 0, fmt.Errorf("alert id %q: %w", id, ErrNotFound)
	}
	j := strings.LastIndexByte(id[:i], ':')
	if j < 0 {
		return "", "", 0, fmt.Errorf("alert id %q: %w", id, ErrNotFound)
	}
	seq, err = strconv.Atoi(id[i+1:])
	if err != nil || seq <= 0 {
		return "", "", 0, fmt.Errorf("alert id %q: %w", id, ErrNotFound)
	}
	return id[:j], rules.Rule(id[j+1 : i]), seq, nil
}

func alertKey(project string, rule rules.Rule, seq int) map[string]types.AttributeValue {
	return key("P#"+project, fmt.Sprintf("AL#%s#%06d", rule, seq))
}

// CurrentAlerts returns the project's open or acknowledged alerts, repairing
// a head left open by a crash after its alert was resolved.
func (st *Store) CurrentAlerts(ctx context.Context, project string) ([]alert.Alert, error) {
	var heads []map[string]types.AttributeValue
	err := st.query(ctx, st.t.Alerts, "P#"+project, "HEAD#", func(it map[string]types.AttributeValue) error {
		if b, ok := it["open"].(*types.AttributeValueMemberBOOL); ok && b.Value {
			heads = append(heads, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("current alerts of %s: %w", project, err)
	}
	var out []alert.Alert
	for _, h := range heads {
		rule := rules.Rule(strings.TrimPrefix(str(h, "sk"), "HEAD#"))
		seq := intAttr(h, "seq")
		a, ok, err := st.alertAt(ctx, project, rule, seq)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // opened but not yet written: OpenAlert completes it
		}
		if a.Status == alert.Resolved {
			if err := st.closeHead(ctx, project, rule, seq); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out, nil
}

func intAttr(it map[string]types.AttributeValue, name string) int {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.Atoi(v.Value)
		return n
	}
	return 0
}

func (st *Store) alertAt(ctx context.Context, project string, rule rules.Rule, seq int) (alert.Alert, bool, error) {
	var a alert.Alert
	k := alertKey(project, rule, seq)
	item, err := st.get(ctx, st.t.Alerts, str(k, "pk"), str(k, "sk"))
	if err != nil || item == nil {
		return a, false, err
	}
	return a, true, doc(item, &a)
}

// Alert returns one alert by id.
func (st *Store) Alert(ctx context.Context, id string) (alert.Alert, error) {
	project, rule, seq, err := ParseAlertID(id)
	if err != nil {
		return alert.Alert{}, err
	}
	a, ok, err := st.alertAt(ctx, project, rule, seq)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	return a, nil
}

// ReserveAlert takes the next alert number of (project, rule) on the
// condition that no alert of theirs is open. When one is open but its alert
// item was never written (a crash between the two writes), it hands out that
// number again, so the opening completes; when one is open and written, it
// is ErrConflict.
func (st *Store) ReserveAlert(ctx context.Context, project string, rule rules.Rule) (int, error) {
	out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.t.Alerts),
		Key:                      key("P#"+project, "HEAD#"+string(rule)),
		UpdateExpression:         aws.String("SET #open = :t, gsi1pk = :g, gsi1sk = :p ADD seq :one"),
		ConditionExpression:      aws.String("attribute_not_exists(#open) OR #open = :f"),
		ExpressionAttributeNames: map[string]string{"#open": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberBOOL{Value: true}, ":f": &types.AttributeValueMemberBOOL{Value: false},
			":g": s(fmt.Sprintf("OPEN#%02d", shard(project))), ":p": s(project), ":one": n(1),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	switch {
	case isConditionFailed(err):
		head, gerr := st.get(ctx, st.t.Alerts, "P#"+project, "HEAD#"+string(rule))
		if gerr != nil {
			return 0, gerr
		}
		seq := intAttr(head, "seq")
		_, written, gerr := st.alertAt(ctx, project, rule, seq)
		if gerr != nil {
			return 0, gerr
		}
		if written {
			return 0, fmt.Errorf("open alert %s/%s: %w", project, rule, ErrConflict)
		}
		return seq, nil
	case err != nil:
		return 0, fmt.Errorf("open alert %s/%s: %w", project, rule, err)
	}
	return intAttr(out.Attributes, "seq"), nil
}

// PutNewAlert writes an alert whose number ReserveAlert handed out.
func (st *Store) PutNewAlert(ctx context.Context, a alert.Alert) error {
	return st.putAlert(ctx, a, 0)
}

// OpenAlert stores a newly opened alert: ReserveAlert, then PutNewAlert. The
// returned alert carries its ID and Seq.
func (st *Store) OpenAlert(ctx context.Context, a alert.Alert) (alert.Alert, error) {
	seq, err := st.ReserveAlert(ctx, a.ProjectID, a.Rule)
	if err != nil {
		return a, err
	}
	a.Seq, a.ID = seq, AlertID(a.ProjectID, a.Rule, seq)
	return a, st.PutNewAlert(ctx, a)
}

// SaveAlert writes a changed alert, on the condition that it was not changed
// by anyone else since it was read (version check), and closes its head when
// it is resolved.
func (st *Store) SaveAlert(ctx context.Context, a alert.Alert, readVersion int) error {
	if err := st.putAlert(ctx, a, readVersion); err != nil {
		return err
	}
	if a.Status == alert.Resolved {
		return st.closeHead(ctx, a.ProjectID, a.Rule, a.Seq)
	}
	return nil
}

func (st *Store) putAlert(ctx context.Context, a alert.Alert, readVersion int) error {
	a.Version = readVersion + 1
	d, err := encode(a)
	if err != nil {
		return err
	}
	item := alertKey(a.ProjectID, a.Rule, a.Seq)
	item["doc"] = s(d)
	item["version"] = n(int64(a.Version))
	item["status"] = s(string(a.Status))
	if a.Status == alert.Open && !a.Escalated {
		item["gsi2pk"] = s(fmt.Sprintf("UNACK#%02d", shard(a.ID)))
		item["gsi2sk"] = s(a.OpenedAt.UTC().Format(sortableTime) + "#" + a.ID)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(st.t.Alerts), Item: item}
	if readVersion == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("version = :v")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": n(int64(readVersion))}
	}
	if _, err := st.db.PutItem(ctx, in); err != nil {
		if isConditionFailed(err) {
			return fmt.Errorf("save alert %s: %w", a.ID, ErrConflict)
		}
		return fmt.Errorf("save alert %s: %w", a.ID, err)
	}
	for _, dept := range a.Recipients {
		idx := key("DEPT#"+dept, a.OpenedAt.UTC().Format(sortableTime)+"#"+a.ID)
		idx["alert_id"] = s(a.ID)
		if _, err := st.putNew(ctx, st.t.Alerts, idx); err != nil {
			return fmt.Errorf("index alert %s for %s: %w", a.ID, dept, err)
		}
	}
	return nil
}

func (st *Store) closeHead(ctx context.Context, project string, rule rules.Rule, seq int) error {
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.t.Alerts),
		Key:                      key("P#"+project, "HEAD#"+string(rule)),
		UpdateExpression:         aws.String("SET #open = :f REMOVE gsi1pk, gsi1sk"),
		ConditionExpression:      aws.String("seq = :seq"),
		ExpressionAttributeNames: map[string]string{"#open": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":f": &types.AttributeValueMemberBOOL{Value: false}, ":seq": n(int64(seq)),
		},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("close alert head %s/%s: %w", project, rule, err)
	}
	return nil
}

// ProjectsWithOpenAlerts returns the projects that have an open alert,
// through the sparse open-alert index.
func (st *Store) ProjectsWithOpenAlerts(ctx context.Context) ([]string, error) {
	set := map[string]bool{}
	for sh := 0; sh < Shards; sh++ {
		err := st.queryIndex(ctx, st.t.Alerts, openIndex, fmt.Sprintf("OPEN#%02d", sh), func(it map[string]types.AttributeValue) error {
			set[str(it, "gsi1sk")] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("projects with open alerts: %w", err)
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// UnacknowledgedSince returns the alerts that are open, unacknowledged and
// not yet escalated and were opened before cutoff.
func (st *Store) UnacknowledgedSince(ctx context.Context, cutoff time.Time) ([]alert.Alert, error) {
	var out []alert.Alert
	for sh := 0; sh < Shards; sh++ {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(st.t.Alerts),
			IndexName:                 aws.String(unackIndex),
			KeyConditionExpression:    aws.String("gsi2pk = :pk AND gsi2sk < :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(fmt.Sprintf("UNACK#%02d", sh)), ":c": s(cutoff.UTC().Format(sortableTime))},
		}
		err := st.pages(ctx, in, func(it map[string]types.AttributeValue) error {
			var a alert.Alert
			if err := doc(it, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("unacknowledged alerts: %w", err)
		}
	}
	return out, nil
}

// DeptCursor is where a department's list stands after alert a: the sort
// key of a's entry in the department's index (opened_at, then id).
func DeptCursor(a alert.Alert) string {
	return a.OpenedAt.UTC().Format(sortableTime) + "#" + a.ID
}

// ValidDeptCursor reports whether c has the form of a DeptCursor.
func ValidDeptCursor(c string) bool {
	at, id, ok := strings.Cut(c, "#")
	if !ok || len(at) != len(sortableTime) {
		return false
	}
	if _, err := time.Parse(sortableTime, at); err != nil {
		return false
	}
	_, _, _, err := ParseAlertID(id)
	return err == nil
}

// DepartmentAlerts returns up to limit of the alerts a department is a
// recipient of, newest first, after the cursor (a DeptCursor; "" for the
// newest): one Query of the department's index and one BatchGetItem per 100
// alerts. next is the cursor of the page's last alert while the index may
// hold more, and "" once it is exhausted.
func (st *Store) DepartmentAlerts(ctx context.Context, dept, after string, limit int) (alerts []alert.Alert, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(st.t.Alerts),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("DEPT#" + dept)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)),
	}
	if after != "" {
		in.ExclusiveStartKey = key("DEPT#"+dept, after)
	}
	out, err := st.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("alerts of %s: %w", dept, err)
	}
	keys := make([]map[string]types.AttributeValue, 0, len(out.Items))
	for _, it := range out.Items {
		project, rule, seq, err := ParseAlertID(str(it, "alert_id"))
		if err != nil {
			return nil, "", fmt.Errorf("alerts of %s: index entry %s: %w", dept, str(it, "sk"), err)
		}
		keys = append(keys, alertKey(project, rule, seq))
	}
	items, err := st.batchGet(ctx, st.t.Alerts, keys)
	if err != nil {
		return nil, "", fmt.Errorf("alerts of %s: %w", dept, err)
	}
	alerts = make([]alert.Alert, 0, len(items))
	for i, item := range items {
		if item == nil {
			// The index entry is written after the alert: an entry without
			// its alert cannot be.
			return nil, "", fmt.Errorf("alerts of %s: %s: %w", dept, str(out.Items[i], "alert_id"), ErrNotFound)
		}
		var a alert.Alert
		if err := doc(item, &a); err != nil {
			return nil, "", err
		}
		alerts = append(alerts, a)
	}
	if len(out.LastEvaluatedKey) > 0 {
		next = str(out.LastEvaluatedKey, "sk")
	}
	return alerts, next, nil
}

// AlertsOfDepartment returns every alert a department is a recipient of,
// newest first.
func (st *Store) AlertsOfDepartment(ctx context.Context, dept string) ([]alert.Alert, error) {
	var all []alert.Alert
	for after := ""; ; {
		page, next, err := st.DepartmentAlerts(ctx, dept, after, 100)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		after = next
	}
}
