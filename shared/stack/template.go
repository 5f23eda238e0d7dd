// Package stack reads template.yaml (the SAM template that declares every
// wagewatch resource) and plays AWS's part against the local stack: it creates
// the template's tables, queues and bucket in the local emulators (Provision),
// uploads files the way S3 plus its bucket notifications would (Upload), and
// runs the functions' handlers the way Lambda's SQS event source mappings do
// (Runner). Nothing here keeps a second list of resources: everything comes
// from the template.
package stack

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Template is the part of template.yaml the local stack needs, keyed by
// logical ID.
type Template struct {
	Functions  map[string]*Function
	Tables     map[string]*Table
	Queues     map[string]*Queue
	Buckets    map[string]*Bucket
	Secrets    []string          // logical IDs of AWS::SecretsManager::Secret
	Parameters map[string]string // parameter defaults
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID  string
	Name       string // folder under functions/
	Timeout    int    // seconds, Globals applied
	MemorySize int    // MB, Globals applied
	Env        map[string]Value
	SQS        []SQSEvent
	Schedules  []Schedule
	Routes     []Route
}

// Value is a template value as written: a literal, or one intrinsic (Ref,
// Fn::GetAtt, Fn::Sub) left unresolved.
type Value struct {
	Literal string
	Ref     string    // logical ID or parameter or pseudo parameter
	GetAtt  [2]string // logical ID, attribute
	Sub     string    // the Fn::Sub string, variables unresolved
}

// String prints the value the way the template's short form writes it.
func (v Value) String() string {
	switch {
	case v.Ref != "":
		return "!Ref " + v.Ref
	case v.GetAtt[0] != "":
		return "!GetAtt " + v.GetAtt[0] + "." + v.GetAtt[1]
	case v.Sub != "":
		return "!Sub " + v.Sub
	}
	return v.Literal
}

// SQSEvent is a function's SQS event source mapping.
type SQSEvent struct {
	Name                    string // event name in the template
	Queue                   string // logical ID of the queue
	BatchSize               int
	ReportBatchItemFailures bool
}

// Schedule is a ScheduleV2 (EventBridge Scheduler) event.
type Schedule struct {
	Name       string
	Expression string
	Timezone   string
}

// Route is an HttpApi event.
type Route struct {
	Name   string
	Method string
	Path   string
}

// Table is an AWS::DynamoDB::Table.
type Table struct {
	LogicalID    string
	HashKey      string
	RangeKey     string
	Attributes   map[string]string // name -> S, N or B
	GSIs         []Index
	TTLAttribute string // "" when the table has no TTL
}

// Index is a global secondary index.
type Index struct {
	Name       string
	HashKey    string
	RangeKey   string
	Projection string
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID         string
	VisibilityTimeout int // seconds; 30 when the template does not say
	DelaySeconds      int
	RetentionSeconds  int    // 0 when the template does not say
	DLQ               string // logical ID of the dead-letter queue, "" if none
	MaxReceiveCount   int
	FIFO              bool
}

// Bucket is an AWS::S3::Bucket.
type Bucket struct {
	LogicalID     string
	Notifications []Notification
}

// Notification routes created objects whose key matches Prefix and Suffix to
// a queue.
type Notification struct {
	Queue  string // logical ID
	Prefix string
	Suffix string
	Events []string
}

// QueueFor returns the logical ID of the queue the bucket's notification
// configuration sends a created object's event to, or "" when none matches.
func (b *Bucket) QueueFor(key string) string {
	for _, n := range b.Notifications {
		if strings.HasPrefix(key, n.Prefix) && strings.HasSuffix(key, n.Suffix) {
			return n.Queue
		}
	}
	return ""
}

// Consumer returns the function whose SQS event reads the queue and its
// event, or nil.
func (t *Template) Consumer(queue string) (*Function, *SQSEvent) {
	for _, id := range sortedKeys(t.Functions) {
		f := t.Functions[id]
		for i := range f.SQS {
			if f.SQS[i].Queue == queue {
				return f, &f.SQS[i]
			}
		}
	}
	return nil, nil
}

// FunctionByName finds a function by its logical ID or its folder name.
func (t *Template) FunctionByName(name string) (*Function, bool) {
	if f, ok := t.Functions[name]; ok {
		return f, true
	}
	for _, f := range t.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return nil, false
}

// FolderName derives a function's folder from its logical ID:
// IngestFeedFunction -> ingest-feed.
func FolderName(logicalID string) string {
	base := strings.TrimSuffix(logicalID, "Function")
	var b strings.Builder
	for i, r := range base {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LoadTemplate reads and parses a template file.
func LoadTemplate(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := ParseTemplate(data)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", path, err)
	}
	return t, nil
}

// ParseTemplate parses a SAM template, short-form intrinsics included.
func ParseTemplate(data []byte) (*Template, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	raw, err := toValue(&root)
	if err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	doc, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse yaml: the document is not a mapping")
	}
	t := &Template{
		Functions:  map[string]*Function{},
		Tables:     map[string]*Table{},
		Queues:     map[string]*Queue{},
		Buckets:    map[string]*Bucket{},
		Parameters: map[string]string{},
	}
	for name, p := range asMap(doc["Parameters"]) {
		t.Parameters[name] = asString(asMap(p)["Default"])
	}
	globals := asMap(asMap(doc["Globals"])["Function"])
	var errs []string
	for _, id := range sortedKeys(asMap(doc["Resources"])) {
		res := asMap(asMap(doc["Resources"])[id])
		props := asMap(res["Properties"])
		switch typ := asString(res["Type"]); typ {
		case "AWS::Serverless::Function":
			f, err := parseFunction(id, res, props, globals)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			t.Functions[id] = f
		case "AWS::DynamoDB::Table":
			t.Tables[id] = parseTable(id, props)
		case "AWS::SQS::Queue":
			t.Queues[id] = parseQueue(id, props)
		case "AWS::S3::Bucket":
			t.Buckets[id] = parseBucket(id, props)
		case "AWS::SecretsManager::Secret":
			t.Secrets = append(t.Secrets, id)
		}
	}
	for _, f := range t.Functions {
		for _, ev := range f.SQS {
			if _, ok := t.Queues[ev.Queue]; !ok {
				errs = append(errs, fmt.Sprintf("function %s: event %s reads %q, which is not a queue of the template", f.LogicalID, ev.Name, ev.Queue))
			}
		}
	}
	for _, q := range t.Queues {
		if q.DLQ != "" {
			if _, ok := t.Queues[q.DLQ]; !ok {
				errs = append(errs, fmt.Sprintf("queue %s: dead-letter target %q is not a queue of the template", q.LogicalID, q.DLQ))
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return t, fmt.Errorf("template: %s", strings.Join(errs, "; "))
	}
	return t, nil
}

func parseFunction(id string, res, props, globals map[string]any) (*Function, error) {
	f := &Function{
		LogicalID:  id,
		Name:       FolderName(id),
		Timeout:    3, // Lambda's default
		MemorySize: 128,
		Env:        map[string]Value{},
	}
	if n := asString(asMap(res["Metadata"])["WagewatchName"]); n != "" {
		f.Name = n
	}
	for _, src := range []map[string]any{globals, props} {
		if v, ok := src["Timeout"]; ok {
			f.Timeout = asInt(v)
		}
		if v, ok := src["MemorySize"]; ok {
			f.MemorySize = asInt(v)
		}
		for k, v := range asMap(asMap(src["Environment"])["Variables"]) {
			val, err := toTemplateValue(v)
			if err != nil {
				return nil, fmt.Errorf("function %s: env %s: %w", id, k, err)
			}
			f.Env[k] = val
		}
	}
	events := asMap(props["Events"])
	for _, name := range sortedKeys(events) {
		ev := asMap(events[name])
		ep := asMap(ev["Properties"])
		switch asString(ev["Type"]) {
		case "SQS":
			q, err := toTemplateValue(ep["Queue"])
			if err != nil {
				return nil, fmt.Errorf("function %s: event %s: %w", id, name, err)
			}
			queue := q.GetAtt[0]
			if queue == "" {
				return nil, fmt.Errorf("function %s: event %s: Queue must be !GetAtt <Queue>.Arn, got %s", id, name, q)
			}
			bs := 10
			if v, ok := ep["BatchSize"]; ok {
				bs = asInt(v)
			}
			se := SQSEvent{Name: name, Queue: queue, BatchSize: bs}
			for _, rt := range asList(ep["FunctionResponseTypes"]) {
				if asString(rt) == "ReportBatchItemFailures" {
					se.ReportBatchItemFailures = true
				}
			}
			f.SQS = append(f.SQS, se)
		case "ScheduleV2", "Schedule":
			f.Schedules = append(f.Schedules, Schedule{
				Name:       name,
				Expression: asString(ep["ScheduleExpression"]),
				Timezone:   asString(ep["ScheduleExpressionTimezone"]),
			})
		case "HttpApi":
			f.Routes = append(f.Routes, Route{Name: name, Method: asString(ep["Method"]), Path: asString(ep["Path"])})
		}
	}
	return f, nil
}

func parseTable(id string, props map[string]any) *Table {
	t := &Table{LogicalID: id, Attributes: map[string]string{}}
	for _, a := range asList(props["AttributeDefinitions"]) {
		am := asMap(a)
		t.Attributes[asString(am["AttributeName"])] = asString(am["AttributeType"])
	}
	t.HashKey, t.RangeKey = keySchema(props["KeySchema"])
	for _, g := range asList(props["GlobalSecondaryIndexes"]) {
		gm := asMap(g)
		h, r := keySchema(gm["KeySchema"])
		t.GSIs = append(t.GSIs, Index{
			Name:       asString(gm["IndexName"]),
			HashKey:    h,
			RangeKey:   r,
			Projection: asString(asMap(gm["Projection"])["ProjectionType"]),
		})
	}
	ttl := asMap(props["TimeToLiveSpecification"])
	if asBool(ttl["Enabled"]) {
		t.TTLAttribute = asString(ttl["AttributeName"])
	}
	return t
}

func keySchema(v any) (hash, rng string) {
	for _, k := range asList(v) {
		km := asMap(k)
		switch asString(km["KeyType"]) {
		case "HASH":
			hash = asString(km["AttributeName"])
		case "RANGE":
			rng = asString(km["AttributeName"])
		}
	}
	return hash, rng
}

func parseQueue(id string, props map[string]any) *Queue {
	q := &Queue{LogicalID: id, VisibilityTimeout: 30}
	if v, ok := props["VisibilityTimeout"]; ok {
		q.VisibilityTimeout = asInt(v)
	}
	q.DelaySeconds = asInt(props["DelaySeconds"])
	q.RetentionSeconds = asInt(props["MessageRetentionPeriod"])
	q.FIFO = asBool(props["FifoQueue"])
	rp := asMap(props["RedrivePolicy"])
	if len(rp) > 0 {
		if target, err := toTemplateValue(rp["deadLetterTargetArn"]); err == nil {
			q.DLQ = target.GetAtt[0]
		}
		q.MaxReceiveCount = asInt(rp["maxReceiveCount"])
	}
	return q
}

func parseBucket(id string, props map[string]any) *Bucket {
	b := &Bucket{LogicalID: id}
	for _, qc := range asList(asMap(props["NotificationConfiguration"])["QueueConfigurations"]) {
		qm := asMap(qc)
		target, _ := toTemplateValue(qm["Queue"])
		n := Notification{Queue: target.GetAtt[0], Events: []string{asString(qm["Event"])}}
		for _, r := range asList(asMap(asMap(qm["Filter"])["S3Key"])["Rules"]) {
			rm := asMap(r)
			switch strings.ToLower(asString(rm["Name"])) {
			case "prefix":
				n.Prefix = asString(rm["Value"])
			case "suffix":
				n.Suffix = asString(rm["Value"])
			}
		}
		b.Notifications = append(b.Notifications, n)
	}
	return b
}

// toValue turns a YAML node into maps, lists and scalars, rewriting the
// short-form intrinsics (!Ref X, !GetAtt A.B, !Sub s, …) into their long
// forms ({"Ref": X}, {"Fn::GetAtt": [A, B]}, {"Fn::Sub": s}, …).
func toValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toValue(n.Content[0])
	case yaml.AliasNode:
		return toValue(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := toValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := toValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	default:
		v = n.Value
	}
	tag := n.Tag
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return v, nil
	}
	name := strings.TrimPrefix(tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			id, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q has no attribute", n.Line, s)
			}
			return map[string]any{"Fn::GetAtt": []any{id, attr}}, nil
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + name: v}, nil
	}
}

func toTemplateValue(v any) (Value, error) {
	switch x := v.(type) {
	case string:
		return Value{Literal: x}, nil
	case map[string]any:
		if r, ok := x["Ref"]; ok {
			return Value{Ref: asString(r)}, nil
		}
		if g, ok := x["Fn::GetAtt"]; ok {
			l := asList(g)
			if len(l) != 2 {
				return Value{}, fmt.Errorf("Fn::GetAtt wants [resource, attribute], got %v", g)
			}
			return Value{GetAtt: [2]string{asString(l[0]), asString(l[1])}}, nil
		}
		if s, ok := x["Fn::Sub"]; ok {
			if str, ok := s.(string); ok {
				return Value{Sub: str}, nil
			}
			return Value{}, fmt.Errorf("Fn::Sub with a variable map is not supported here")
		}
	}
	return Value{}, fmt.Errorf("unsupported value %v", v)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asInt(v any) int {
	n, _ := strconv.Atoi(asString(v))
	return n
}

func asBool(v any) bool {
	b, _ := strconv.ParseBool(asString(v))
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
