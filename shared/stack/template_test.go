package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"
)

// The template is read twice: with goformation (typed resources) and as raw
// YAML through this package's parser. goformation v7.14.9 has no type for
// SAM's ScheduleV2 events, no FunctionResponseTypes on SQS events and no
// LoggingConfig, and its union type for Policies drops the SAM policy
// templates of a list that also holds a Statement; those requirements are
// asserted through the raw YAML.

// keepIntrinsics makes goformation keep intrinsics readable instead of
// resolving Ref/GetAtt of resources to nil.
var keepIntrinsics = &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
	"Ref":        func(_ string, in, _ any) any { return fmt.Sprintf("!Ref %v", in) },
	"Fn::GetAtt": func(_ string, in, _ any) any { return fmt.Sprintf("!GetAtt %v", in) },
	"Fn::Sub":    func(_ string, in, _ any) any { return fmt.Sprintf("!Sub %v", in) },
}}

func templatePath(t *testing.T) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "template.yaml")
}

func loadGoformation(t *testing.T) *cloudformation.Template {
	t.Helper()
	tpl, err := goformation.OpenWithOptions(templatePath(t), keepIntrinsics)
	if err != nil {
		t.Fatalf("goformation: %v", err)
	}
	return tpl
}

func loadRaw(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	v, err := toValue(&n)
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func loadModel(t *testing.T) *Template {
	t.Helper()
	m, err := LoadTemplate(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTemplateGlobals(t *testing.T) {
	tpl := loadGoformation(t)
	g, err := tpl.GetServerlessGlobalFunction()
	if err != nil {
		t.Fatal(err)
	}
	if g.Runtime == nil || *g.Runtime != "provided.al2023" {
		t.Errorf("Globals.Function.Runtime = %v, want provided.al2023", g.Runtime)
	}
	if g.Handler == nil || *g.Handler != "bootstrap" {
		t.Errorf("Globals.Function.Handler = %v, want bootstrap", g.Handler)
	}
	if g.Architectures == nil || !slices.Equal(*g.Architectures, []string{"arm64"}) {
		t.Errorf("Globals.Function.Architectures = %v, want [arm64]", g.Architectures)
	}
	raw := loadRaw(t)
	lf := asString(asMap(asMap(asMap(asMap(raw["Globals"])["Function"])["LoggingConfig"]))["LogFormat"])
	if lf != "JSON" {
		t.Errorf("Globals.Function.LoggingConfig.LogFormat = %q, want JSON", lf)
	}
	for id, f := range tpl.GetAllServerlessFunctionResources() {
		// A function may not override what Globals sets.
		if f.Runtime != nil || f.Handler != nil || f.Architectures != nil {
			t.Errorf("%s overrides Runtime/Handler/Architectures", id)
		}
	}
}

func TestTemplateFunctionsMatchFolders(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
		}
	}
	tpl := loadGoformation(t)
	var resources []string
	for id, f := range tpl.GetAllServerlessFunctionResources() {
		name := FolderName(id)
		resources = append(resources, name)
		if !strings.HasSuffix(id, "Function") {
			t.Errorf("%s: logical ID does not end in Function", id)
		}
		if f.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %v, want makefile", id, f.AWSCloudFormationMetadata["BuildMethod"])
		}
		if f.CodeUri == nil || f.CodeUri.String == nil || *f.CodeUri.String != "." {
			t.Errorf("%s: CodeUri must be . (the root Makefile builds it)", id)
		}
		if _, err := os.Stat(filepath.Join(root, "functions", name, "main.go")); err != nil {
			t.Errorf("%s: no functions/%s/main.go: %v", id, name, err)
		}
		if _, err := os.Stat(filepath.Join(root, "events", name+".json")); err != nil {
			t.Errorf("%s: no sample event events/%s.json: %v", id, name, err)
		}
	}
	sort.Strings(folders)
	sort.Strings(resources)
	if !slices.Equal(folders, resources) {
		t.Errorf("functions/ folders %v != function resources %v", folders, resources)
	}
	if len(resources) != 11 {
		t.Errorf("%d functions, want 11", len(resources))
	}
}

func TestTemplateSQSEvents(t *testing.T) {
	tpl := loadGoformation(t)
	raw := loadRaw(t)
	model := loadModel(t)
	consumed := map[string]string{}
	// goformation sees the events' types, but decodes an SQS event's
	// properties with DisallowUnknownFields and no FunctionResponseTypes
	// field, so it drops them: the properties come from the raw YAML.
	sqsEvents := 0
	for _, f := range tpl.GetAllServerlessFunctionResources() {
		for _, ev := range f.Events {
			if ev.Type == "SQS" {
				sqsEvents++
			}
		}
	}
	for id, f := range model.Functions {
		rawEvents := asMap(asMap(asMap(asMap(raw["Resources"])[id])["Properties"])["Events"])
		for _, ev := range f.SQS {
			sqsEvents--
			t.Run(id+"/"+ev.Name, func(t *testing.T) {
				if ev.BatchSize < 1 || ev.BatchSize > 10 {
					t.Errorf("BatchSize = %d, want 1..10", ev.BatchSize)
				}
				if prev, dup := consumed[ev.Queue]; dup {
					t.Errorf("queue %s consumed by %s and %s", ev.Queue, prev, id)
				}
				consumed[ev.Queue] = id
				frt := asList(asMap(asMap(rawEvents[ev.Name])["Properties"])["FunctionResponseTypes"])
				if len(frt) != 1 || asString(frt[0]) != "ReportBatchItemFailures" || !ev.ReportBatchItemFailures {
					t.Errorf("FunctionResponseTypes = %v, want [ReportBatchItemFailures]", frt)
				}
			})
		}
	}
	if sqsEvents != 0 {
		t.Errorf("goformation and the raw YAML disagree on the number of SQS events (%d)", sqsEvents)
	}
	// Every queue is either consumed by a function or is a DLQ.
	dlqs := map[string]bool{}
	for _, q := range model.Queues {
		if q.DLQ != "" {
			dlqs[q.DLQ] = true
		}
	}
	for id := range model.Queues {
		if _, ok := consumed[id]; !ok && !dlqs[id] {
			t.Errorf("queue %s is neither consumed nor a DLQ", id)
		}
	}
	wantConsumers := map[string]string{
		"UploadQueue":         "IngestFeedFunction",
		"RegistryQueue":       "ImportRegistryFunction",
		"AttendanceFileQueue": "IngestAttendanceFunction",
		"EntriesQueue":        "RecordEntriesFunction",
		"AttendanceQueue":     "RecordAttendanceFunction",
		"EvaluateQueue":       "EvaluateFunction",
		"NotifyQueue":         "NotifyFunction",
	}
	for q, fn := range wantConsumers {
		if consumed[q] != fn {
			t.Errorf("queue %s consumed by %q, want %s", q, consumed[q], fn)
		}
	}
}

func TestTemplateQueues(t *testing.T) {
	tpl := loadGoformation(t)
	model := loadModel(t)
	queues := tpl.GetAllSQSQueueResources()
	alarms := tpl.GetAllCloudWatchAlarmResources()
	for id, q := range queues {
		fn, _ := model.Consumer(id)
		if fn == nil {
			continue // a DLQ
		}
		t.Run(id, func(t *testing.T) {
			rp, ok := q.RedrivePolicy.(map[string]any)
			if !ok {
				t.Fatalf("no RedrivePolicy")
			}
			if n, _ := rp["maxReceiveCount"].(float64); n < 5 {
				t.Errorf("maxReceiveCount = %v, want >= 5", rp["maxReceiveCount"])
			}
			dlq := model.Queues[id].DLQ
			if _, ok := queues[dlq]; !ok {
				t.Fatalf("dead-letter target %q is not a queue", dlq)
			}
			if dlq != id+"DLQ" {
				t.Errorf("DLQ %s, want %sDLQ", dlq, id)
			}
			if q.VisibilityTimeout == nil || *q.VisibilityTimeout < 6*fn.Timeout {
				t.Errorf("VisibilityTimeout = %d, want >= 6 x %s's %d s", model.Queues[id].VisibilityTimeout, fn.LogicalID, fn.Timeout)
			}
			if c, _ := model.Consumer(dlq); c != nil {
				t.Errorf("DLQ %s is consumed by a function", dlq)
			}
			found := false
			for _, a := range alarms {
				if a.Namespace == nil || *a.Namespace != "AWS/SQS" || a.MetricName == nil || *a.MetricName != "ApproximateNumberOfMessagesVisible" {
					continue
				}
				for _, d := range a.Dimensions {
					if d.Name == "QueueName" && strings.HasPrefix(d.Value, "!GetAtt ") && getAttID(d.Value) == dlq {
						found = true
						if a.Threshold == nil || *a.Threshold != 0 || a.ComparisonOperator != "GreaterThanThreshold" {
							t.Errorf("alarm on %s: want > 0", dlq)
						}
						if len(a.AlarmActions) == 0 {
							t.Errorf("alarm on %s has no action", dlq)
						}
					}
				}
			}
			if !found {
				t.Errorf("no ApproximateNumberOfMessagesVisible alarm on %s", dlq)
			}
		})
	}
}

func TestTemplateTables(t *testing.T) {
	tpl := loadGoformation(t)
	tables := tpl.GetAllDynamoDBTableResources()
	want := []string{"AlertsTable", "AttendanceTable", "DeliveriesTable", "FilesTable", "LedgerTable", "RegistryTable"}
	var got []string
	for id, tb := range tables {
		got = append(got, id)
		t.Run(id, func(t *testing.T) {
			if tb.BillingMode == nil || *tb.BillingMode != "PAY_PER_REQUEST" {
				t.Errorf("BillingMode = %v, want PAY_PER_REQUEST", tb.BillingMode)
			}
			if tb.PointInTimeRecoverySpecification == nil || tb.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled == nil || !*tb.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled {
				t.Errorf("point-in-time recovery is not enabled")
			}
			if tb.SSESpecification == nil || !tb.SSESpecification.SSEEnabled {
				t.Errorf("SSE is not enabled")
			}
			if len(tb.KeySchema) != 2 || tb.KeySchema[0].AttributeName != "pk" || tb.KeySchema[0].KeyType != "HASH" || tb.KeySchema[1].AttributeName != "sk" || tb.KeySchema[1].KeyType != "RANGE" {
				t.Errorf("KeySchema = %+v, want pk HASH, sk RANGE", tb.KeySchema)
			}
			for _, g := range tb.GlobalSecondaryIndexes {
				if g.Projection.ProjectionType == nil || *g.Projection.ProjectionType != "ALL" {
					t.Errorf("GSI %s projection is not ALL", g.IndexName)
				}
			}
		})
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("tables %v, want %v", got, want)
	}
	gsis := func(id string) []string {
		var n []string
		for _, g := range tables[id].GlobalSecondaryIndexes {
			n = append(n, g.IndexName)
		}
		sort.Strings(n)
		return n
	}
	if g := gsis("RegistryTable"); !slices.Equal(g, []string{"gsi1"}) {
		t.Errorf("RegistryTable GSIs %v, want [gsi1]", g)
	}
	if g := gsis("AlertsTable"); !slices.Equal(g, []string{"gsi1", "gsi2"}) {
		t.Errorf("AlertsTable GSIs %v, want [gsi1 gsi2]", g)
	}
	ttl := tables["DeliveriesTable"].TimeToLiveSpecification
	if ttl == nil || ttl.AttributeName == nil || *ttl.AttributeName != "expires_at" || !ttl.Enabled {
		t.Errorf("DeliveriesTable TTL = %+v, want expires_at", ttl)
	}
}

func TestTemplateBucket(t *testing.T) {
	tpl := loadGoformation(t)
	buckets := tpl.GetAllS3BucketResources()
	b, ok := buckets["FeedBucket"]
	if !ok || len(buckets) != 1 {
		t.Fatalf("want exactly one bucket, FeedBucket; got %d", len(buckets))
	}
	pab := b.PublicAccessBlockConfiguration
	if pab == nil || pab.BlockPublicAcls == nil || !*pab.BlockPublicAcls || pab.BlockPublicPolicy == nil || !*pab.BlockPublicPolicy ||
		pab.IgnorePublicAcls == nil || !*pab.IgnorePublicAcls || pab.RestrictPublicBuckets == nil || !*pab.RestrictPublicBuckets {
		t.Errorf("public access is not fully blocked: %+v", pab)
	}
	if b.BucketEncryption == nil || len(b.BucketEncryption.ServerSideEncryptionConfiguration) == 0 ||
		b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault == nil ||
		b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm == "" {
		t.Errorf("bucket is not encrypted by default")
	}
	if !slices.Contains(b.AWSCloudFormationDependsOn, "FeedNotificationQueuePolicy") {
		t.Errorf("FeedBucket must depend on the queue policy that lets S3 send notifications")
	}
	model := loadModel(t)
	for key, want := range map[string]string{
		"bank/2026/11/icbc-1.csv":           "UploadQueue",
		"registry/projects.csv":             "RegistryQueue",
		"attendance/2026-11-27/site-4.csv":  "AttendanceFileQueue",
		"reports/bank/2026/11/rejects.json": "",
	} {
		if got := model.Buckets["FeedBucket"].QueueFor(key); got != want {
			t.Errorf("QueueFor(%q) = %q, want %q", key, got, want)
		}
	}
	for _, n := range model.Buckets["FeedBucket"].Notifications {
		if !slices.Equal(n.Events, []string{"s3:ObjectCreated:*"}) {
			t.Errorf("notification to %s on %v, want s3:ObjectCreated:*", n.Queue, n.Events)
		}
	}
	// The queue policy lets s3.amazonaws.com send only for this bucket.
	qp := tpl.GetAllSQSQueuePolicyResources()["FeedNotificationQueuePolicy"]
	if qp == nil {
		t.Fatal("no FeedNotificationQueuePolicy")
	}
	doc := fmt.Sprint(qp.PolicyDocument)
	for _, want := range []string{"s3.amazonaws.com", "aws:SourceArn", "arn:${AWS::Partition}:s3:::"} {
		if !strings.Contains(doc, want) {
			t.Errorf("queue policy lacks %q: %s", want, doc)
		}
	}
}

func TestTemplatePartitionAndRegion(t *testing.T) {
	data, err := os.ReadFile(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i, line := range strings.Split(text, "\n") {
		for rest := line; strings.Contains(rest, "arn:"); {
			_, rest, _ = strings.Cut(rest, "arn:")
			if !strings.HasPrefix(rest, "${AWS::Partition}:") {
				t.Errorf("line %d: ARN not built with ${AWS::Partition}: %s", i+1, strings.TrimSpace(line))
			}
		}
		if r := regexp.MustCompile(`\b(us|eu|ap|cn|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d\b`).FindString(line); r != "" {
			t.Errorf("line %d names region %s", i+1, r)
		}
		if strings.Contains(line, "amazonaws.com") && !strings.Contains(line, "Service: s3.amazonaws.com") {
			t.Errorf("line %d names a global-partition host (use ${AWS::URLSuffix}): %s", i+1, strings.TrimSpace(line))
		}
	}
	if !strings.Contains(text, "${AWS::Partition}") {
		t.Error("template never uses ${AWS::Partition}")
	}
}

// TestTemplateSchedulesAndRoutes reads ScheduleV2 events through the raw
// YAML (goformation has no ScheduleV2) and the HTTP API routes.
func TestTemplateSchedulesAndRoutes(t *testing.T) {
	model := loadModel(t)
	scan := model.Functions["ScanFunction"]
	if scan == nil || len(scan.Schedules) != 1 || scan.Schedules[0].Expression != "cron(0 8 * * ? *)" || scan.Schedules[0].Timezone != "Asia/Shanghai" {
		t.Errorf("ScanFunction schedule = %+v, want cron(0 8 * * ? *) Asia/Shanghai", scan)
	}
	esc := model.Functions["EscalateFunction"]
	if esc == nil || len(esc.Schedules) != 1 || esc.Schedules[0].Expression != "rate(15 minutes)" {
		t.Errorf("EscalateFunction schedule = %+v, want rate(15 minutes)", esc)
	}
	raw := loadRaw(t)
	for _, id := range []string{"ScanFunction", "EscalateFunction"} {
		for name, ev := range asMap(asMap(asMap(asMap(raw["Resources"])[id])["Properties"])["Events"]) {
			if typ := asString(asMap(ev)["Type"]); typ != "ScheduleV2" {
				t.Errorf("%s event %s: Type %s, want ScheduleV2", id, name, typ)
			}
		}
	}
	routes := map[string]string{}
	for id, f := range model.Functions {
		for _, r := range f.Routes {
			routes[r.Method+" "+r.Path] = id
		}
	}
	want := map[string]string{
		"POST /v1/attendance":          "AttendanceApiFunction",
		"GET /v1/alerts":               "DeptApiFunction",
		"GET /v1/alerts/{id}":          "DeptApiFunction",
		"POST /v1/alerts/{id}/ack":     "DeptApiFunction",
		"POST /v1/alerts/{id}/resolve": "DeptApiFunction",
	}
	if fmt.Sprint(routes) != fmt.Sprint(want) {
		t.Errorf("routes %v, want %v", routes, want)
	}
	if len(loadGoformation(t).GetAllServerlessHttpApiResources()) != 1 {
		t.Error("want one AWS::Serverless::HttpApi")
	}
}

// samTemplateResource maps a SAM policy template to the argument naming the
// resource it is scoped to.
var samTemplateResource = map[string]string{
	"DynamoDBCrudPolicy":                    "TableName",
	"DynamoDBReadPolicy":                    "TableName",
	"SQSSendMessagePolicy":                  "QueueName",
	"SQSPollerPolicy":                       "QueueName",
	"S3ReadPolicy":                          "BucketName",
	"S3CrudPolicy":                          "BucketName",
	"AWSSecretsManagerGetSecretValuePolicy": "SecretArn",
	"SSMParameterReadPolicy":                "ParameterName",
}

// TestTemplatePolicies checks that every function's policies are SAM policy
// templates or statements scoped to named resources, and that the resources
// they grant are exactly those its environment names (least privilege).
func TestTemplatePolicies(t *testing.T) {
	raw := loadRaw(t)
	model := loadModel(t)
	for id, fn := range model.Functions {
		t.Run(id, func(t *testing.T) {
			props := asMap(asMap(asMap(raw["Resources"])[id])["Properties"])
			granted := map[string]bool{}
			for _, p := range asList(props["Policies"]) {
				pm := asMap(p)
				if len(pm) != 1 {
					t.Errorf("policy %v: want one SAM policy template or one Statement (no managed policy names)", p)
					continue
				}
				for name, arg := range pm {
					if name == "Statement" {
						for _, st := range asList(arg) {
							checkStatement(t, asMap(st), granted)
						}
						continue
					}
					field, ok := samTemplateResource[name]
					if !ok {
						t.Errorf("policy template %s is not one of the scoped ones", name)
						continue
					}
					v, err := toTemplateValue(asMap(arg)[field])
					if err != nil || (v.Ref == "" && v.GetAtt[0] == "") {
						t.Errorf("%s: %s must be !Ref/!GetAtt of a resource of this template, got %v", name, field, asMap(arg)[field])
						continue
					}
					res := v.Ref + v.GetAtt[0]
					if name == "SQSPollerPolicy" {
						// The SQS event source grants polling already; an extra
						// poller policy is only for the function's own queue.
						if ev := fn.SQS; len(ev) == 0 || ev[0].Queue != res {
							t.Errorf("SQSPollerPolicy on %s, which %s does not consume", res, id)
						}
					}
					granted[res] = true
				}
			}
			// Every table, queue, bucket, secret and parameter its env names
			// is granted, and nothing else is.
			named := map[string]bool{}
			for k, v := range fn.Env {
				if v.Ref == "" {
					t.Errorf("env %s = %s: want !Ref", k, v)
					continue
				}
				named[v.Ref] = true
			}
			if fn.Env["WW_PII_KEY_PARAM"].Ref != "" && !granted["ssm:"+fn.Env["WW_PII_KEY_PARAM"].Ref] {
				t.Errorf("reads the PII key parameter without ssm:GetParameter on it")
			}
			delete(named, fn.Env["WW_PII_KEY_PARAM"].Ref)
			for r := range named {
				if !granted[r] {
					t.Errorf("env names %s but no policy grants it", r)
				}
			}
			for r := range granted {
				if strings.HasPrefix(r, "ssm:") || strings.HasPrefix(r, "sns:") {
					continue
				}
				if !named[r] {
					t.Errorf("policy grants %s, which its env does not name", r)
				}
			}
		})
	}
	// Which function touches what (issue: "which function uses what").
	uses := map[string][]string{
		"IngestFeedFunction":       {"FeedBucket", "FilesTable", "EntriesQueue", "PiiKeyParameterName"},
		"RecordEntriesFunction":    {"LedgerTable", "RegistryTable", "EvaluateQueue"},
		"ImportRegistryFunction":   {"FeedBucket", "RegistryTable", "FilesTable", "PiiKeyParameterName"},
		"IngestAttendanceFunction": {"FeedBucket", "RegistryTable", "FilesTable", "AttendanceQueue", "PiiKeyParameterName"},
		"AttendanceApiFunction":    {"RegistryTable", "AttendanceQueue", "PiiKeyParameterName", "WagewatchSecrets"},
		"RecordAttendanceFunction": {"AttendanceTable", "RegistryTable", "EvaluateQueue"},
		"ScanFunction":             {"RegistryTable", "AlertsTable", "EvaluateQueue"},
		"EvaluateFunction":         {"RegistryTable", "LedgerTable", "AttendanceTable", "AlertsTable", "NotifyQueue"},
		"NotifyFunction":           {"DeliveriesTable", "AlertsTable", "WagewatchSecrets", "NotifyQueue", "NotifyQueueDLQ"},
		"EscalateFunction":         {"AlertsTable", "RegistryTable", "NotifyQueue"},
		"DeptApiFunction":          {"AlertsTable", "RegistryTable", "DeliveriesTable", "NotifyQueue"},
	}
	for id, want := range uses {
		var got []string
		for _, v := range model.Functions[id].Env {
			got = append(got, v.Ref)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s env names %v, want %v", id, got, want)
		}
	}
}

// checkStatement accepts an Allow statement whose resources are !Sub ARNs
// built with ${AWS::Partition}, or sns:Publish to phone numbers (NotResource
// every topic), the one place AWS has no resource to name.
func checkStatement(t *testing.T, st map[string]any, granted map[string]bool) {
	t.Helper()
	actions := asList(st["Action"])
	if asString(st["Effect"]) != "Allow" || len(actions) == 0 {
		t.Errorf("statement %v: want Effect Allow and a list of actions", st)
		return
	}
	for _, a := range actions {
		if strings.Contains(asString(a), "*") {
			t.Errorf("statement action %v uses a wildcard", a)
		}
	}
	if nr, ok := st["NotResource"]; ok {
		v, _ := toTemplateValue(nr)
		if len(actions) != 1 || asString(actions[0]) != "sns:Publish" || v.Sub != "arn:${AWS::Partition}:sns:*:*:*" {
			t.Errorf("NotResource is only for SMS publish (sns:Publish, NotResource every topic): %v", st)
			return
		}
		granted["sns:sms"] = true
		return
	}
	v, err := toTemplateValue(st["Resource"])
	if err != nil || v.Sub == "" || !strings.HasPrefix(v.Sub, "arn:${AWS::Partition}:") || strings.HasSuffix(v.Sub, "*") {
		t.Errorf("statement resource %v: want one !Sub ARN built with ${AWS::Partition}, no wildcard", st["Resource"])
		return
	}
	if len(actions) == 1 && asString(actions[0]) == "ssm:GetParameter" {
		if m := regexp.MustCompile(`parameter\$\{(\w+)\}$`).FindStringSubmatch(v.Sub); m != nil {
			granted["ssm:"+m[1]] = true
			return
		}
	}
	t.Errorf("statement %v is not one this test knows how to scope", st)
}

// getAttID returns the resource of goformation's rendering of a GetAtt
// ("!GetAtt X.Arn" or "!GetAtt [X Arn]").
func getAttID(s string) string {
	s = strings.Trim(strings.TrimPrefix(s, "!GetAtt "), "[]")
	id, _, _ := strings.Cut(strings.ReplaceAll(s, " ", "."), ".")
	return id
}

func TestParseTemplateModel(t *testing.T) {
	m := loadModel(t)
	if len(m.Functions) != 11 || len(m.Tables) != 6 || len(m.Queues) != 14 || len(m.Buckets) != 1 {
		t.Fatalf("model has %d functions, %d tables, %d queues, %d buckets; want 11, 6, 14, 1",
			len(m.Functions), len(m.Tables), len(m.Queues), len(m.Buckets))
	}
	f := m.Functions["IngestFeedFunction"]
	if f.Name != "ingest-feed" || f.Timeout != 300 || f.MemorySize != 1024 {
		t.Errorf("IngestFeedFunction = %+v", f)
	}
	if got := f.Env["WW_ENTRIES_QUEUE_URL"]; got.Ref != "EntriesQueue" {
		t.Errorf("WW_ENTRIES_QUEUE_URL = %s, want !Ref EntriesQueue", got)
	}
	if m.Functions["NotifyFunction"].Timeout != 30 {
		t.Errorf("NotifyFunction timeout %d, want the Globals' 30", m.Functions["NotifyFunction"].Timeout)
	}
	fn, ev := m.Consumer("EntriesQueue")
	if fn == nil || fn.LogicalID != "RecordEntriesFunction" || ev.BatchSize != 10 || !ev.ReportBatchItemFailures {
		t.Errorf("Consumer(EntriesQueue) = %v, %+v", fn, ev)
	}
	q := m.Queues["UploadQueue"]
	if q.DLQ != "UploadQueueDLQ" || q.MaxReceiveCount != 5 || q.VisibilityTimeout != 1800 {
		t.Errorf("UploadQueue = %+v", q)
	}
	alerts := m.Tables["AlertsTable"]
	if alerts.HashKey != "pk" || alerts.RangeKey != "sk" || len(alerts.GSIs) != 2 || alerts.GSIs[1].HashKey != "gsi2pk" || alerts.Attributes["gsi2sk"] != "S" {
		t.Errorf("AlertsTable = %+v", alerts)
	}
	if m.Parameters["PiiKeyParameterName"] != "/wagewatch/pii-key" {
		t.Errorf("PiiKeyParameterName default = %q", m.Parameters["PiiKeyParameterName"])
	}
	if !slices.Equal(m.Secrets, []string{"WagewatchSecrets"}) {
		t.Errorf("secrets %v", m.Secrets)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"not a mapping", "- a\n- b\n", "not a mapping"},
		{"GetAtt without attribute", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !GetAtt Foo\n", "has no attribute"},
		{"event reads a missing queue", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt Nope.Arn\n", "not a queue of the template"},
		{"DLQ missing", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt D.Arn\n        maxReceiveCount: 5\n", "dead-letter target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTemplate([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFolderName(t *testing.T) {
	for id, want := range map[string]string{
		"IngestFeedFunction":    "ingest-feed",
		"ScanFunction":          "scan",
		"AttendanceApiFunction": "attendance-api",
		"DeptApiFunction":       "dept-api",
	} {
		if got := FolderName(id); got != want {
			t.Errorf("FolderName(%s) = %s, want %s", id, got, want)
		}
	}
}

// TestMakefileBuildTargets checks that the Makefile's SAM_FUNCTIONS list
// (which makes the build-<LogicalId> targets `sam build` calls) names every
// function of the template with its folder, and nothing else.
func TestMakefileBuildTargets(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+Function):([a-z-]+)`).FindAllStringSubmatch(string(data), -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{}
	for id, f := range loadModel(t).Functions {
		want[id] = f.Name
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Makefile SAM_FUNCTIONS %v, template %v", got, want)
	}
	if !strings.Contains(string(data), "$$(ARTIFACTS_DIR)/bootstrap") || !strings.Contains(string(data), "GOARCH=arm64") || !strings.Contains(string(data), "lambda.norpc") {
		t.Error("the build-<LogicalId> recipe must write $(ARTIFACTS_DIR)/bootstrap for linux/arm64 with -tags lambda.norpc")
	}
}

// TestTemplateCfnLint runs cfn-lint (shipped with this kind of machine;
// `pip install cfn-lint` elsewhere), which expands the SAM transform and
// checks every resource against the resource specs of a global and both
// China regions.
func TestTemplateCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint not found (pip install cfn-lint): %v", err)
	}
	cmd := exec.Command(bin, "--regions", "us-east-1", "cn-north-1", "cn-northwest-1", "--", templatePath(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

// TestEventSamples checks that each function's events/<name>.json is the
// event its trigger in the template sends: an SQS event from its queue (whose
// bodies are S3 events when the bucket notifies that queue), an HTTP API v2
// request on one of its routes, or an EventBridge Scheduler event.
func TestEventSamples(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m := loadModel(t)
	notified := map[string]bool{}
	for _, b := range m.Buckets {
		for _, n := range b.Notifications {
			notified[n.Queue] = true
		}
	}
	for id, f := range m.Functions {
		t.Run(f.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, "events", f.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			dec := func(v any) {
				t.Helper()
				if err := json.Unmarshal(data, v); err != nil {
					t.Fatalf("decode: %v", err)
				}
			}
			switch {
			case len(f.SQS) > 0:
				var ev events.SQSEvent
				dec(&ev)
				if len(ev.Records) == 0 {
					t.Fatal("no records")
				}
				for _, r := range ev.Records {
					if r.EventSource != "aws:sqs" || !strings.HasSuffix(r.EventSourceARN, f.SQS[0].Queue) || r.MessageId == "" || r.ReceiptHandle == "" || r.Attributes["ApproximateReceiveCount"] == "" {
						t.Errorf("record %+v is not from %s", r, f.SQS[0].Queue)
					}
					if notified[f.SQS[0].Queue] {
						var s3ev events.S3Event
						if err := json.Unmarshal([]byte(r.Body), &s3ev); err != nil || len(s3ev.Records) != 1 {
							t.Fatalf("body is not an S3 event: %v", err)
						}
						rec := s3ev.Records[0]
						if rec.EventName != "ObjectCreated:Put" || rec.EventVersion != "2.1" || m.Buckets["FeedBucket"].QueueFor(rec.S3.Object.URLDecodedKey) != f.SQS[0].Queue {
							t.Errorf("S3 record %+v does not route to %s", rec, f.SQS[0].Queue)
						}
					} else if !json.Valid([]byte(r.Body)) {
						t.Errorf("body is not JSON: %q", r.Body)
					}
				}
			case len(f.Routes) > 0:
				var req events.APIGatewayV2HTTPRequest
				dec(&req)
				ok := false
				for _, rt := range f.Routes {
					ok = ok || req.RouteKey == rt.Method+" "+rt.Path
				}
				if req.Version != "2.0" || !ok || req.RequestContext.HTTP.Method == "" {
					t.Errorf("request %s %s is not one of %s's routes", req.Version, req.RouteKey, id)
				}
			case len(f.Schedules) > 0:
				var ev events.EventBridgeEvent
				dec(&ev)
				if ev.Source != "aws.scheduler" || ev.DetailType != "Scheduled Event" {
					t.Errorf("event %+v is not an EventBridge Scheduler event", ev)
				}
			default:
				t.Errorf("%s has no trigger in the template", id)
			}
		})
	}
}
