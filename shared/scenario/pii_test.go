package scenario_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wagewatch/wagewatch/shared/notify"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
	"github.com/wagewatch/wagewatch/shared/textenc"
)

// secret is one full identity or card number of a scenario's input files.
type secret struct {
	norm string // digits, spaces removed, check character upper-cased
	raw  string // as written in the file (trimmed)
	what string // where it comes from, with the number masked
}

// leakDetector finds the scenario's identity and card numbers in text.
type leakDetector struct {
	secrets []secret
}

// add records a sensitive value; an identity number also leaks through its
// first 17 digits (the check character is computed from them).
func (d *leakDetector) add(raw, what string) {
	raw = strings.TrimSpace(raw)
	norm := strings.ToUpper(pii.Digits(raw))
	if len(norm) < pii.MinRedactDigits {
		return
	}
	for _, s := range d.secrets {
		if s.norm == norm {
			return
		}
	}
	d.secrets = append(d.secrets, secret{norm: norm, raw: raw, what: what})
	if len(norm) == 18 {
		d.secrets = append(d.secrets, secret{norm: norm[:17], raw: raw[:17], what: what + " (its first 17 digits)"})
	}
}

// find returns a description of every secret that text holds: literally as
// written in the input file, in its normalized form or with a lower-case x,
// or inside any run of at least pii.MinRedactDigits digits (spaces, tabs,
// hyphens and full-width spaces allowed between the digits, an X or x at
// the end) that equals or contains it.
func (d *leakDetector) find(text string) []string {
	found := map[string]bool{}
	upper := strings.ToUpper(text)
	for _, s := range d.secrets {
		if strings.Contains(text, s.raw) || strings.Contains(upper, s.norm) {
			found[s.what] = true
		}
	}
	for _, run := range digitRuns(text) {
		for _, s := range d.secrets {
			if strings.Contains(run, s.norm) {
				found[s.what] = true
			}
		}
	}
	out := make([]string, 0, len(found))
	for w := range found {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// digitRuns returns every run of at least pii.MinRedactDigits digits in s,
// separators removed and a final x upper-cased.
func digitRuns(s string) []string {
	rs := []rune(s)
	isSep := func(r rune) bool { return r == ' ' || r == '\t' || r == '-' || r == '\u3000' }
	isDig := func(r rune) bool { return r >= '0' && r <= '9' }
	var out []string
	for i := 0; i < len(rs); {
		if !isDig(rs[i]) {
			i++
			continue
		}
		var run []rune
		j := i
		for j < len(rs) {
			if isDig(rs[j]) {
				run = append(run, rs[j])
				j++
				continue
			}
			k := j
			for k < len(rs) && isSep(rs[k]) {
				k++
			}
			if k > j && k < len(rs) && isDig(rs[k]) {
				j = k
				continue
			}
			break
		}
		if j < len(rs) && (rs[j] == 'x' || rs[j] == 'X') {
			run = append(run, 'X')
			j++
		}
		if len(run) >= pii.MinRedactDigits {
			out = append(out, string(run))
		}
		i = j
	}
	return out
}

// readText reads a scenario file as UTF-8 (BOM or GB18030 converted).
func readText(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	r, _ := textenc.Detect(f)
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return strings.TrimPrefix(string(b), "\uFEFF"), nil
}

// readCSV returns the rows of a CSV file as maps by header, every row kept
// (rejected rows too) whatever its number of fields.
func readCSV(path string) ([]map[string]string, error) {
	text, err := readText(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				row[strings.TrimSpace(h)] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// newLeakDetector collects the scenario's personal numbers: id_number and
// bank_card of every row of workers.csv (rejected rows too); every 16–19
// digit run of the bank files (counterparty accounts) except the projects'
// own wage accounts, which are no one's personal data and are stored in
// full by design; and every identity number of the attendance files.
func newLeakDetector(sc *scenario.Scenario) (*leakDetector, error) {
	d := &leakDetector{}
	workers, err := readCSV(sc.Workers)
	if err != nil {
		return nil, err
	}
	for i, w := range workers {
		d.add(w["id_number"], fmt.Sprintf("workers.csv line %d id_number %s", i+2, pii.MaskID(w["id_number"])))
		d.add(w["bank_card"], fmt.Sprintf("workers.csv line %d bank_card %s", i+2, pii.MaskCard(w["bank_card"])))
	}
	projects, err := readCSV(sc.Projects)
	if err != nil {
		return nil, err
	}
	wageAccounts := map[string]bool{}
	for _, p := range projects {
		wageAccounts[pii.Digits(p["wage_account"])] = true
	}
	for _, f := range sc.Bank {
		text, err := readText(f)
		if err != nil {
			return nil, err
		}
		for _, run := range digitRuns(text) {
			if n := len(run); n >= 16 && n <= 19 && !wageAccounts[run] && !strings.HasSuffix(run, "X") {
				d.add(run, fmt.Sprintf("bank/%s account %s", filepath.Base(f), pii.MaskCard(run)))
			}
		}
	}
	for _, f := range sc.Attendance {
		text, err := readText(f)
		if err != nil {
			return nil, err
		}
		for _, run := range digitRuns(text) {
			if len(run) == 18 {
				d.add(run, fmt.Sprintf("attendance/%s id_number %s", filepath.Base(f), pii.MaskID(run)))
			}
		}
	}
	return d, nil
}

// doc is one piece of output the product produced, by where it was found.
type doc struct {
	where string
	text  string
}

// corpus collects what the product wrote, from several goroutines.
type corpus struct {
	mu   sync.Mutex
	docs []doc
}

func (c *corpus) add(where, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.docs = append(c.docs, doc{where, text})
}

func (c *corpus) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, d := range c.docs {
		if strings.HasPrefix(d.where, prefix) {
			n++
		}
	}
	return n
}

// leaks returns one line per document that holds a secret, the text
// redacted.
func (c *corpus) leaks(d *leakDetector) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, x := range c.docs {
		if found := d.find(x.text); len(found) > 0 {
			excerpt := pii.Redact(x.text)
			if len(excerpt) > 400 {
				excerpt = excerpt[:400] + "…"
			}
			out = append(out, fmt.Sprintf("%s holds %s: %s", x.where, strings.Join(found, "; "), excerpt))
		}
	}
	return out
}

// found returns the description of every secret some document holds.
func (c *corpus) found(d *leakDetector) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, x := range c.docs {
		for _, w := range d.find(x.text) {
			out[w] = true
		}
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// addLines adds every non-empty line of s as its own document.
func (c *corpus) addLines(where, s string) {
	for i, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			c.add(fmt.Sprintf("%s line %d", where, i+1), l)
		}
	}
}

// startCapture serves the departments' webhooks and the SMS gateway on a
// free port of its own: every request's headers and raw body go to c, then
// to notify's Receiver. It returns the address and a stop function that
// shuts the server down and adds the receiver's printed lines and JSON log
// to c.
func startCapture(t *testing.T, c *corpus, secret []byte) (string, func()) {
	t.Helper()
	var out, log lockedBuffer
	recv := notify.NewReceiver(notify.ReceiverConfig{
		WebhookSecret: notify.StaticSecret(secret), GatewaySecret: notify.StaticSecret(secret),
		Out: &out, Log: &log,
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		kind := "webhook"
		if r.URL.Path == "/sms" {
			kind = "sms"
		}
		hdr, _ := json.Marshal(r.Header)
		c.add(fmt.Sprintf("%s request %s", kind, r.URL.Path), r.URL.String()+"\n"+string(hdr)+"\n"+string(body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		recv.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			c.addLines("receiver output", out.String())
			c.addLines("receiver log", log.String())
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// itemText renders a DynamoDB item with every attribute name and value;
// binary values as they are and in base64.
func itemText(av ddbtypes.AttributeValue) string {
	switch v := av.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	case *ddbtypes.AttributeValueMemberB:
		return string(v.Value) + " " + base64.StdEncoding.EncodeToString(v.Value)
	case *ddbtypes.AttributeValueMemberSS:
		return strings.Join(v.Value, " | ")
	case *ddbtypes.AttributeValueMemberNS:
		return strings.Join(v.Value, " | ")
	case *ddbtypes.AttributeValueMemberBS:
		var parts []string
		for _, b := range v.Value {
			parts = append(parts, string(b))
		}
		return strings.Join(parts, " | ")
	case *ddbtypes.AttributeValueMemberL:
		var parts []string
		for _, x := range v.Value {
			parts = append(parts, itemText(x))
		}
		return "[" + strings.Join(parts, " | ") + "]"
	case *ddbtypes.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+itemText(v.Value[k]))
		}
		return "{" + strings.Join(parts, " | ") + "}"
	}
	return ""
}

// scanNamespace adds every item of every table named "<namespace>-…" to c
// and returns how many it read.
func scanNamespace(ctx context.Context, t *testing.T, db *dynamodb.Client, namespace string, c *corpus) int {
	t.Helper()
	var tables []string
	lt := dynamodb.NewListTablesPaginator(db, &dynamodb.ListTablesInput{})
	for lt.HasMorePages() {
		page, err := lt.NextPage(ctx)
		if err != nil {
			t.Fatalf("list tables: %v", err)
		}
		for _, n := range page.TableNames {
			if strings.HasPrefix(n, namespace+"-") {
				tables = append(tables, n)
			}
		}
	}
	if len(tables) == 0 {
		t.Fatalf("no table of namespace %s", namespace)
	}
	n := 0
	for _, table := range tables {
		sp := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table)})
		for sp.HasMorePages() {
			page, err := sp.NextPage(ctx)
			if err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for _, it := range page.Items {
				n++
				c.add(fmt.Sprintf("table %s item %d", table, n), itemText(&ddbtypes.AttributeValueMemberM{Value: it}))
			}
		}
	}
	return n
}

// readBucket adds every object of the bucket to c, except the uploaded
// inputs, which go to in; it returns the keys it added to c.
func readBucket(ctx context.Context, t *testing.T, s3c *s3.Client, bucket string, inputs map[string]bool, c, in *corpus) []string {
	t.Helper()
	var keys []string
	lp := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for lp.HasMorePages() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("get %s/%s: %v", bucket, key, err)
			}
			body, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatalf("read %s/%s: %v", bucket, key, err)
			}
			if inputs[key] {
				in.add("input "+key, string(body))
				continue
			}
			c.add("object "+bucket+"/"+key, key+"\n"+string(body))
			keys = append(keys, key)
		}
	}
	return keys
}

// TestLeakDetector checks the detector itself: a planted number is found in
// every form it could leak in, and masked forms and hashes are not leaks.
func TestLeakDetector(t *testing.T) {
	d := &leakDetector{}
	d.add("62050219870611001x", "id")
	d.add("6228 4800 1710 0002", "card")
	h, err := pii.NewHasher([]byte("leak-detector-test-key-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text string
		want       string // "" for no leak, else the secret found
	}{
		{"id as written", `{"msg":"reject","id":"62050219870611001x"}`, "id"},
		{"id upper-case X", "worker 62050219870611001X not enrolled", "id"},
		{"id without its check character", "id=62050219870611001", "id (its first 17 digits)"},
		{"id inside a longer run", "ref 0062050219870611001X99", "id"},
		{"id spaced", "620502 1987 0611 001X", "id"},
		{"card as written", "card 6228 4800 1710 0002.", "card"},
		{"card without spaces", `"cp":"6228480017100002"`, "card"},
		{"card hyphenated", "6228-4800-1710-0002", "card"},
		{"card full-width spaces", "6228\u30004800\u30001710\u30000002", "card"},
		{"card in a URL", "http://x/hook?acct=6228480017100002&y=1", "card"},
		{"card masked", "6228********0002 620502********001X", ""},
		{"card redacted", pii.Redact("paid to 6228480017100002, id 62050219870611001x"), ""},
		{"hashes", h.HashCard("6228480017100002") + " " + h.HashID("62050219870611001X"), ""},
		{"other long numbers", "6228480017000001 9558800200660001 20261112", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := d.find(tc.text)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("find(%q) = %v, want no leak", tc.text, got)
			case tc.want != "" && !slices.Contains(got, tc.want):
				t.Errorf("find(%q) = %v, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// TestNoPersonalDataAnywhere loads whole scenarios through the pipeline of
// the local stack with the functions logging at debug level, and looks for
// every identity and card number of the scenario's input files in every
// log line (as the functions emit it and before the redacting handler),
// every item of every table of the run's namespace, the open alerts and
// their lines, every SQS message any function handled, every webhook and
// SMS request (headers and body) and what the receiver printed and logged,
// every reject reason, every object the product wrote to the bucket
// (reports/…) and the run's error. A planted leak proves the search finds
// what is there.
func TestNoPersonalDataAnywhere(t *testing.T) {
	awsCfg := stacktest.EnsureLocal(t)
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Deliveries go to this test's own receiver (webhooks and the SMS
	// gateway), not to whatever listens on the shared port 9099.
	hookSecret := "pii-test-webhook-secret"
	t.Setenv("WW_WEBHOOK_SECRET", hookSecret)
	state := filepath.Join(t.TempDir(), "resources.json")
	tpl, err := stack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{
		filepath.Join(root, "..", "shared", "spec", "examples", "basic"),
		filepath.Join(root, "testdata", "scenarios", "bad-rows-duplicates"),
	} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			sc, err := scenario.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			det, err := newLeakDetector(sc)
			if err != nil {
				t.Fatal(err)
			}
			if len(det.secrets) == 0 {
				t.Fatal("no identity or card number found in the scenario's files")
			}
			c := &corpus{}
			addr, stopCapture := startCapture(t, c, []byte(hookSecret))
			t.Setenv("WW_SMS_GATEWAY_URL", "http://"+addr+"/sms")
			t.Setenv("WW_SMS_GATEWAY_KEY_ID", "pii-test")
			t.Setenv("WW_SMS_GATEWAY_SECRET", hookSecret)
			sc.Departments = withWebhooksAt(t, sc.Departments, addr)

			// The functions' log as production writes it (redacting
			// handler) and as they hand it over (no redaction): a full
			// number in the second is a number in an error or a log
			// attribute that only the last line of defence hides.
			var logs, rawLogs lockedBuffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			log := slog.New(fanout{
				pii.NewRedactingHandler(slog.NewJSONHandler(&logs, opts)),
				slog.NewJSONHandler(&rawLogs, opts),
			})
			var report lockedBuffer
			observe := func(fn string, ev events.SQSEvent) {
				for _, r := range ev.Records {
					attrs, _ := json.Marshal(r.MessageAttributes)
					c.add(fmt.Sprintf("sqs message to %s (%s)", fn, r.EventSourceARN), r.Body+"\n"+string(attrs))
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			res, err := scenario.Run(ctx, sc, scenario.Options{
				Root: root, State: state, Report: &report, Log: log, Observe: observe,
				ReceiverAddr: addr,
			})
			if err != nil {
				if found := det.find(err.Error()); len(found) > 0 {
					t.Errorf("the run's error holds %s", strings.Join(found, "; "))
				}
				t.Fatalf("run: %v\nreport:\n%s", pii.Redact(err.Error()), pii.Redact(report.String()))
			}
			t.Cleanup(func() {
				if err := stack.Teardown(context.Background(), awsCfg, res.Namespace); err != nil {
					t.Logf("teardown %s: %v", res.Namespace, err)
				}
			})

			// Every delivery is done once the run returns (it waits for the
			// notify queue to drain).
			stopCapture()

			// Alerts, their lines, the manifests and their rejects.
			for _, a := range res.Alerts {
				j, _ := json.Marshal(a)
				c.add("alert "+a.ID, string(j))
				c.add("alert line "+a.ID, string(a.Line()))
			}
			lines, err := res.Lines()
			if err != nil {
				t.Fatal(err)
			}
			lj, _ := json.Marshal(lines)
			c.add("alert lines", string(lj))
			rejects := 0
			for _, m := range res.Files {
				j, _ := json.Marshal(m)
				c.add("manifest "+m.Key, string(j))
				for _, r := range m.Rejects {
					rejects++
					c.add(fmt.Sprintf("reject %s:%d", r.File, r.Line), r.Reason)
				}
			}

			// Every table item and every object the product wrote.
			resources, err := stack.LoadResources(state, awsCfg, tpl, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resources.Namespace != res.Namespace {
				t.Fatalf("state holds namespace %s, the run used %s", resources.Namespace, res.Namespace)
			}
			db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(resources.Endpoints.DynamoDB) })
			items := scanNamespace(ctx, t, db, res.Namespace, c)
			s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
				o.BaseEndpoint = aws.String(resources.Endpoints.S3)
				o.UsePathStyle = true
			})
			inputs := map[string]bool{"registry/projects.csv": true, "registry/departments.csv": true, "registry/workers.csv": true}
			for _, f := range sc.Bank {
				inputs["bank/"+filepath.Base(f)] = true
			}
			for _, f := range sc.Attendance {
				inputs["attendance/"+filepath.Base(f)] = true
			}
			var objects []string
			in := &corpus{}
			for _, b := range resources.Buckets {
				objects = append(objects, readBucket(ctx, t, s3c, b, inputs, c, in)...)
			}
			if n := in.count("input "); n != len(inputs) {
				t.Errorf("found %d of the %d uploaded inputs in the bucket", n, len(inputs))
			}
			rejectReports := 0
			for _, k := range objects {
				if strings.HasPrefix(k, "reports/") && strings.HasSuffix(k, ".rejects.jsonl") {
					rejectReports++
				}
			}

			c.addLines("function log", logs.String())
			c.addLines("unredacted function log", rawLogs.String())
			c.addLines("report", report.String())

			// What was searched: each kind of output must be there, or
			// the search proves nothing.
			seen := map[string]int{
				"function log lines":    c.count("function log"),
				"sqs messages":          c.count("sqs message"),
				"table items":           items,
				"alerts":                len(res.Alerts),
				"webhook requests":      c.count("webhook request"),
				"sms requests":          c.count("sms request"),
				"receiver log lines":    c.count("receiver log"),
				"rejects.jsonl reports": rejectReports,
			}
			if filepath.Base(dir) == "bad-rows-duplicates" {
				seen["reject reasons"] = rejects
			}
			for what, n := range seen {
				if n == 0 {
					t.Errorf("no %s to search", what)
				}
			}
			t.Logf("searched %d secrets in %d documents: %v", len(det.secrets), c.count(""), seen)

			for _, l := range c.leaks(det) {
				t.Errorf("personal data: %s", l)
			}

			// The same search over the uploaded inputs, as the bucket holds
			// them, finds every number: what it finds nowhere else is
			// truly absent, not missed.
			t.Run("every number is found in the inputs", func(t *testing.T) {
				found := in.found(det)
				for _, s := range det.secrets {
					if !found[s.what] {
						t.Errorf("%s: not found in the uploaded inputs", s.what)
					}
				}
			})

			t.Run("a planted leak is found", func(t *testing.T) {
				c.mu.Lock()
				planted := &corpus{docs: append([]doc(nil), c.docs...)}
				c.mu.Unlock()
				// A card of the roster as a log attribute, in the spaced
				// form people type.
				card := ""
				for _, s := range det.secrets {
					if len(s.norm) == 16 {
						card = s.norm
						break
					}
				}
				if card == "" {
					t.Fatal("no 16-digit card among the scenario's numbers")
				}
				spaced := card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:]
				planted.add("planted log line", `{"level":"DEBUG","msg":"payroll entry","cp":"`+spaced+`"}`)
				// A real output of this run with a masked number put back
				// in full, as a product that forgot to mask would write it.
				var unmasked string
				planted.mu.Lock()
				for _, s := range det.secrets {
					masked := pii.MaskCard(s.norm)
					if len(s.norm) == 18 {
						masked = pii.MaskID(s.norm)
					}
					for _, x := range planted.docs {
						if unmasked == "" && strings.Contains(x.text, masked) {
							unmasked = "unmasked " + x.where
							planted.docs = append(planted.docs, doc{unmasked, strings.Replace(x.text, masked, s.raw, 1)})
						}
					}
				}
				planted.mu.Unlock()
				if unmasked == "" {
					t.Fatal("no masked number in any output to unmask")
				}
				var got []string
				for _, l := range planted.leaks(det) {
					got = append(got, l[:strings.Index(l, " holds ")])
				}
				if want := []string{"planted log line", unmasked}; !slices.Equal(got, want) {
					t.Errorf("leaks found in %q, want %q", got, want)
				}
			})
		})
	}
}

// withWebhooksAt writes a copy of departments.csv whose webhook URLs point
// at addr instead of the shared local port 9099, and returns its path.
func withWebhooksAt(t *testing.T, path, addr string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("http://127.0.0.1:9099/")) {
		t.Fatalf("%s: no webhook at http://127.0.0.1:9099/ to redirect", path)
	}
	out := filepath.Join(t.TempDir(), "departments.csv")
	if err := os.WriteFile(out, bytes.ReplaceAll(data, []byte("http://127.0.0.1:9099/"), []byte("http://"+addr+"/")), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// fanout passes every record to each of its handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
