package handler_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagewatch/wagewatch/shared/blob"
	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/handler"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/queue"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/store"
)

// ingestStack is ingest-feed and record-entries run by the local runner
// against a fresh namespace of the local stack, with what a test needs to
// look at the result: the store, the raw tables, the bucket, the entries
// queue and every message body record-entries was handed.
type ingestStack struct {
	res     *stack.Resources
	run     *stack.Runner
	st      *store.Store
	db      *dynamodb.Client
	sqs     *sqs.Client
	bucket  *blob.Bucket
	hasher  *pii.Hasher
	entries *queue.Sender
	logs    *syncBuffer

	mu     sync.Mutex
	bodies []string
}

func newIngestStack(t *testing.T) *ingestStack {
	t.Helper()
	res, cfg := itNamespace(t, nil)
	s := &ingestStack{res: res, logs: &syncBuffer{}}
	app := itWire(t, res, scenario.WireOptions{
		Log: slog.New(pii.NewRedactingHandler(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))),
	})
	feedDeps := app.Deps["ingest-feed"]
	s.bucket, s.hasher, s.sqs = feedDeps.Bucket, feedDeps.Hasher, feedDeps.SQS
	s.db = dynamodb.NewFromConfig(feedDeps.AWS)
	s.st = app.Store
	s.entries = queue.NewSender(s.sqs, res.Queues["EntriesQueue"].URL)
	s.run = itRunner(t, cfg, app, func(fn string, ev events.SQSEvent) {
		if fn != "record-entries" {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range ev.Records {
			s.bodies = append(s.bodies, m.Body)
		}
	}, "ingest-feed", "record-entries")
	return s
}

func (s *ingestStack) drain(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := s.run.WaitDrained(context.Background(), timeout); err != nil {
		t.Fatal(err)
	}
}

// items reads every item of a table with the SDK: pk and sk joined by a
// space, to the item as JSON.
func (s *ingestStack) items(t *testing.T, table string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: aws.String(s.res.Tables[table])})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var b strings.Builder
			for _, k := range slices.Sorted(maps.Keys(it)) {
				fmt.Fprintf(&b, "%s=%s;", k, attrString(it[k]))
			}
			out[attrString(it["pk"])+" "+attrString(it["sk"])] = b.String()
		}
	}
	return out
}

func attrString(v ddbtypes.AttributeValue) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	case *ddbtypes.AttributeValueMemberBOOL:
		return strconv.FormatBool(v.Value)
	}
	return fmt.Sprintf("%T", v)
}

// object reads an object of the feed bucket whole (reports are small).
func (s *ingestStack) object(t *testing.T, key string) []byte {
	t.Helper()
	r, _, err := s.bucket.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dlqEmpty checks that no message went to a dead-letter queue.
func (s *ingestStack) dlqEmpty(t *testing.T) {
	t.Helper()
	for _, q := range []string{"UploadQueueDLQ", "EntriesQueueDLQ"} {
		out, err := s.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.res.Queues[q].URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			t.Fatal(err)
		}
		if n := out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]; n != "0" {
			t.Errorf("%s holds %s messages", q, n)
		}
	}
	if n := strings.Count(s.logs.String(), `"level":"ERROR"`); n != 0 {
		t.Errorf("%d errors logged", n)
	}
}

// wantEntry is an entry as the test file holds it, checked by hand against
// data.md; cp is the counterparty account as written.
type wantEntry struct {
	ref, date, dir, amount string
	kind                   ledger.Kind
	cp, name, e2e, orig    string
	line                   int // line, or camt entry index
}

type wantBalance struct {
	date, amount string
	line         int // line, or camt closing balance index
}

type wantReject struct {
	line   int
	reason string // a part of the reason
	record string // a part of the reason naming the record ("" when none)
}

// ingestFile is one bank file of the test and what ingesting it must give.
type ingestFile struct {
	name, format, account    string
	accepted, rejected, dups int
	entries                  []wantEntry
	balances                 []wantBalance
	rejects                  []wantReject
}

func (f ingestFile) key() string { return "bank/2026-12/" + f.name }

// ingestFiles are testdata/ingest/*, one file of each format.
var ingestFiles = []ingestFile{{
	name: "canonical_utf8.csv", format: "csv", account: "6228480010000101",
	accepted: 5, rejected: 4, dups: 1,
	entries: []wantEntry{
		{"ABC2610100001", "2026-10-10", "C", "10000.00", ledger.Deposit, "9558800200112201", "天水市秦州区住房保障中心", "DEP-QZ101-2610", "", 2},
		{"ABC2611120001", "2026-11-12", "D", "7200.00", ledger.Payroll, "6228480010100101", "王建国", "PAY-QZ101-2610-01", "", 3},
		{"ABC2611120002", "2026-11-12", "D", "2000.00", ledger.Payroll, "6228480010100102", "李志强", "PAY-QZ101-2610-02", "", 4},
		{"ABC2611150001", "2026-11-15", "C", "2000.00", ledger.Return, "6228480010100102", "李志强", "RET-QZ101-01", "PAY-QZ101-2610-02", 8},
		{"ABC2611200002", "2026-11-20", "D", "20.00", ledger.Fee, "", "账户管理费", "", "", 11},
	},
	balances: []wantBalance{{"2026-10-10", "10000.00", 2}, {"2026-11-12", "2800.00", 3}, {"2026-11-12", "800.00", 4},
		{"2026-11-15", "2800.00", 8}, {"2026-11-20", "2780.00", 11}},
	rejects: []wantReject{
		{5, `booking_date "2026-02-30": not a date`, "6228********0103"},
		{6, "amount 1.005: more than two decimals", ""},
		{7, `kind "bonus" unknown`, ""},
		{10, "row has 4 fields, the header has 11", "ABC2611200001"},
	},
}, {
	name: "gb18030.csv", format: "csv", account: "6228480010000202",
	accepted: 4,
	entries: []wantEntry{
		{"ICBC2610080001", "2026-10-08", "C", "30000.00", ledger.Deposit, "9558800200112202", "兰州新区建设投资集团有限公司", "DEP-LZ202-2610", "", 2},
		{"ICBC2611100001", "2026-11-10", "D", "8800.50", ledger.Payroll, "6228480010200201", "赵永刚", "PAY-LZ202-2610-01", "", 3},
		{"ICBC2611100002", "2026-11-10", "D", "7600.00", ledger.Payroll, "6228480010200202", "刘海军", "PAY-LZ202-2610-02", "", 4},
		{"ICBC2611110001", "2026-11-11", "D", "15.00", ledger.Fee, "", "短信服务费", "", "", 5},
	},
	balances: []wantBalance{{"2026-10-08", "30000.00", 2}, {"2026-11-10", "13599.50", 4}, {"2026-11-11", "13584.50", 5}},
}, {
	name: "camt053_v02.xml", format: "camt.053", account: "6217000020000303",
	accepted: 7, rejected: 2,
	entries: []wantEntry{
		{"CCB2610090001", "2026-10-09", "C", "20000.00", ledger.Deposit, "9558800300445503", "天水市交通建设投资有限公司", "DEP-QZ303-2610", "", 1},
		{"CCB2611130007/1", "2026-11-13", "D", "6240.00", ledger.Payroll, "6217000020300001", "赵永刚", "PAY-QZ303-2610-01", "", 2},
		{"CCB2611130007/2", "2026-11-13", "D", "5760.00", ledger.Payroll, "6217000020300002", "刘海军", "PAY-QZ303-2610-02", "", 2},
		{"CCB2611130007/3", "2026-11-13", "D", "3000.00", ledger.Payroll, "6217000020300003", "陈小龙", "PAY-QZ303-2610-03", "", 2},
		{"CCB2611160002", "2026-11-16", "C", "5760.00", ledger.Return, "6217000020300002", "刘海军", "PAY-QZ303-2610-02", "PAY-QZ303-2610-02", 3},
		{"CCB2611160003", "2026-11-16", "D", "10.00", ledger.Fee, "", "", "", "", 4},
		{"CCB2611200001", "2026-11-20", "D", "1200.00", ledger.Payroll, "6217000020300004", "陈小龙", "PAY-QZ303-2611-ADV", "", 8},
	},
	balances: []wantBalance{{"2026-11-16", "10750.00", 1}, {"2026-11-20", "9550.00", 2}},
	rejects: []wantReject{
		{6, `currency "USD": currency is not CNY`, ""},
		{7, "amount 12.345: more than two decimals", ""},
	},
}, {
	name: "camt054_v08.xml", format: "camt.054", account: "CN00ICBK6222000011110404",
	accepted: 4,
	entries: []wantEntry{
		// 2026-11-30T17:30:00+00:00 is 2026-12-01 in Asia/Shanghai.
		{"ICBC-N-0001", "2026-12-01", "C", "30000.00", ledger.Deposit, "9558800300440404", "兰州建工集团", "DEP-LZ404-2611", "", 1},
		{"ICBC-N-0002/1", "2026-12-05", "D", "4000.00", ledger.Payroll, "6222000011140401", "何大庆", "PAY-LZ404-2611-01", "", 2},
		{"ICBC-N-0002/2", "2026-12-05", "D", "3500.50", ledger.Payroll, "6222000011140402", "杨明", "PAY-LZ404-2611-02", "", 2},
		{"N-RET-0004", "2026-12-07", "C", "3500.50", ledger.Return, "6222000011140402", "杨明", "PAY-LZ404-2611-02", "PAY-LZ404-2611-02", 4},
	},
}, {
	name: "mt940_envelope.sta", format: "mt940", account: "6228480030000505",
	accepted: 6,
	entries: []wantEntry{
		{"ABC2612150001", "2026-12-15", "C", "20000.00", ledger.Deposit, "9558800400770505", "TIANSHUI MAIJI SHANTYTOWN OFFICE", "DEP-MJ505-2612", "", 6},
		{"ABC2612200001", "2026-12-20", "D", "6000.00", ledger.Payroll, "6228480030500001", "YANG MING", "PAY-MJ505-2611-01", "", 10},
		{"ABC2612200002", "2026-12-20", "D", "4000.00", ledger.Payroll, "6228480030500002", "HE JUN", "PAY-MJ505-2611-02", "", 13},
		{"ABC2612300001", "2026-12-30", "C", "4000.00", ledger.Return, "6228480030500002", "HE JUN", "PAY-MJ505-2611-02", "PAY-MJ505-2611-02", 15},
		// Value date 2026-12-31, entry date 0101: the nearer date, in 2027.
		{"ABC2701010001", "2027-01-01", "D", "25.00", ledger.Fee, "", "", "", "", 18},
		{"ABC2701050001", "2027-01-05", "D", "3000.00", ledger.Payroll, "6228480030500003", "WANG LEI", "PAY-MJ505-2612-03", "", 26},
	},
	balances: []wantBalance{{"2027-01-01", "14975.00", 20}, {"2027-01-05", "11975.00", 29}},
}}

// ledgerEntry builds the entry as the Ledger table must hold it.
func (s *ingestStack) ledgerEntry(t *testing.T, f ingestFile, w wantEntry) ledger.Entry {
	t.Helper()
	d, err := day.Parse(w.date)
	if err != nil {
		t.Fatal(err)
	}
	amt, err := money.Parse(w.amount)
	if err != nil {
		t.Fatal(err)
	}
	e := ledger.Entry{Account: f.account, BankRef: w.ref, BookingDate: d, Direction: ledger.Direction(w.dir),
		Amount: amt, Currency: "CNY", Kind: w.kind, CounterpartyName: w.name, EndToEndID: w.e2e, OriginalRef: w.orig,
		Source: ledger.Source{File: f.key(), Line: w.line}}
	if w.cp != "" {
		e.CounterpartyHash, e.CounterpartyMasked = s.hasher.HashCard(w.cp), pii.MaskCard(w.cp)
	}
	return e
}

func fileHash(t *testing.T, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// TestIngestFeedIntegration uploads one bank file of each format to the
// local stack and, once the queues drain, finds exactly the expected
// entries and balances in the Ledger table (counterparty accounts only
// hashed and masked), a manifest per file with the right counts, and the
// rejects report naming file, line and reason of every bad row. It then
// uploads the same bytes again under the same and other keys, and
// redelivers entries messages: nothing in the ledger changes.
func TestIngestFeedIntegration(t *testing.T) {
	s := newIngestStack(t)
	ctx := context.Background()

	bodies := map[string][]byte{}
	var cards []string // every counterparty account in the files, as written
	for _, f := range ingestFiles {
		b, err := os.ReadFile(filepath.Join("testdata", "ingest", f.name))
		if err != nil {
			t.Fatal(err)
		}
		bodies[f.name] = b
		for _, e := range f.entries {
			if e.cp != "" {
				cards = append(cards, e.cp)
			}
		}
	}
	// Rejected rows and entries carry cards too, which must appear nowhere.
	cards = append(cards, "6228480010100103", "6228480010100109", "6228480010100105", "6217000020300008", "6217000020300009")
	for _, c := range cards {
		found := false
		for _, b := range bodies {
			found = found || bytes.Contains(b, []byte(c))
		}
		if !found {
			t.Fatalf("card %s is in no test file", c)
		}
	}
	upload := func(key string, body []byte) {
		t.Helper()
		if err := s.res.Upload(ctx, key, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}

	for _, f := range ingestFiles {
		upload(f.key(), bodies[f.name])
	}
	s.drain(t, 60*time.Second)

	// The ledger: per account exactly the entries and balances expected.
	for _, f := range ingestFiles {
		entries, balances, err := s.st.Account(ctx, f.account)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]ledger.Entry{}
		for _, w := range f.entries {
			want[w.ref] = s.ledgerEntry(t, f, w)
		}
		got := map[string]ledger.Entry{}
		for _, e := range entries {
			got[e.BankRef] = e
		}
		for ref, w := range want {
			if g, ok := got[ref]; !ok {
				t.Errorf("%s: entry %s missing", f.name, ref)
			} else if g != w {
				t.Errorf("%s: entry %s\n got %+v\nwant %+v", f.name, ref, g, w)
			}
		}
		for ref := range got {
			if _, ok := want[ref]; !ok {
				t.Errorf("%s: unexpected entry %s", f.name, ref)
			}
		}
		if len(entries) != len(got) {
			t.Errorf("%s: %d entries, %d distinct references", f.name, len(entries), len(got))
		}
		if len(balances) != len(f.balances) {
			t.Errorf("%s: %d balances, want %d: %+v", f.name, len(balances), len(f.balances), balances)
			continue
		}
		for i, w := range f.balances {
			g := balances[i]
			if g.Account != f.account || g.Date.String() != w.date || g.Amount.String() != w.amount || g.Currency != "CNY" ||
				g.Source != (ledger.Source{File: f.key(), Line: w.line}) || !strings.HasSuffix(g.Order, fmt.Sprintf("#%09d", w.line)) {
				t.Errorf("%s: balance %d is %+v, want %+v", f.name, i, g, w)
			}
		}
	}

	// Nothing else in the ledger, and no counterparty account in the clear
	// in any item of any table, nor in the reports.
	ledgerItems := s.items(t, "LedgerTable")
	nEntries, nBalances := 0, 0
	for _, f := range ingestFiles {
		nEntries += len(f.entries)
		nBalances += len(f.balances)
	}
	if len(ledgerItems) != nEntries+nBalances {
		t.Errorf("ledger holds %d items, want %d entries and %d balances", len(ledgerItems), nEntries, nBalances)
	}
	for _, table := range []string{"LedgerTable", "FilesTable"} {
		for k, it := range s.items(t, table) {
			for _, c := range cards {
				if strings.Contains(it, c) {
					t.Errorf("%s item %s holds card %s in the clear", table, k, pii.MaskCard(c))
				}
			}
		}
	}

	// Manifests, uploads and reports.
	for _, f := range ingestFiles {
		m, ok, err := s.st.Manifest(ctx, fileHash(t, bodies[f.name]))
		if err != nil || !ok {
			t.Fatalf("%s: manifest %v, %v", f.name, ok, err)
		}
		if m.Key != f.key() || m.Kind != "bank" || m.Format != f.format || m.State != "done" || m.Size != int64(len(bodies[f.name])) ||
			m.Accepted != f.accepted || m.Rejected != f.rejected || m.Duplicates != f.dups || m.Balances != len(f.balances) {
			t.Errorf("%s: manifest %+v", f.name, m)
		}
		ups, err := s.st.Uploads(ctx, f.key())
		if err != nil {
			t.Fatal(err)
		}
		if len(ups) != 1 || ups[0].Hash != m.Hash || ups[0].DuplicateOf != "" || ups[0].Accepted != f.accepted {
			t.Errorf("%s: uploads %+v", f.name, ups)
		}
		var report store.Manifest
		if err := json.Unmarshal(s.object(t, "reports/"+f.key()+".manifest.json"), &report); err != nil {
			t.Fatalf("%s: manifest report: %v", f.name, err)
		}
		if report.Hash != m.Hash || report.Accepted != f.accepted || report.Rejected != f.rejected || report.Duplicates != f.dups ||
			len(report.Rejects) != len(f.rejects) {
			t.Errorf("%s: manifest report %+v", f.name, report)
		}
		rejectsReport := s.object(t, "reports/"+f.key()+".rejects.jsonl")
		var rejects []store.Reject
		dec := json.NewDecoder(bytes.NewReader(rejectsReport))
		for dec.More() {
			var r store.Reject
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("%s: rejects report: %v", f.name, err)
			}
			rejects = append(rejects, r)
		}
		if len(rejects) != len(f.rejects) {
			t.Errorf("%s: %d rejects reported, want %d: %+v", f.name, len(rejects), len(f.rejects), rejects)
			continue
		}
		for i, w := range f.rejects {
			r := rejects[i]
			if r.File != f.key() || r.Line != w.line || !strings.Contains(r.Reason, w.reason) || !strings.Contains(r.Reason, f.key()) ||
				!strings.Contains(r.Reason, w.record) {
				t.Errorf("%s: reject %d is %+v, want line %d and %q", f.name, i, r, w.line, w.reason)
			}
			if report.Rejects[i] != r {
				t.Errorf("%s: reject %d: manifest report %+v, rejects report %+v", f.name, i, report.Rejects[i], r)
			}
		}
		for _, c := range cards {
			if bytes.Contains(rejectsReport, []byte(c)) {
				t.Errorf("%s: rejects report holds card %s in the clear", f.name, pii.MaskCard(c))
			}
		}
	}
	for _, c := range cards {
		if strings.Contains(s.logs.String(), c) {
			t.Errorf("the logs hold card %s in the clear", pii.MaskCard(c))
		}
	}

	// The same bytes again, under the same keys and under other keys:
	// recorded as duplicates, nothing changed.
	for _, f := range ingestFiles {
		upload(f.key(), bodies[f.name])
		upload("bank/resent/"+f.name, bodies[f.name])
	}
	s.drain(t, 60*time.Second)
	if after := s.items(t, "LedgerTable"); !maps.Equal(after, ledgerItems) {
		t.Errorf("ledger changed by the same files again: %d items before, %d after", len(ledgerItems), len(after))
	}
	for _, f := range ingestFiles {
		for key, n := range map[string]int{f.key(): 2, "bank/resent/" + f.name: 1} {
			ups, err := s.st.Uploads(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(ups) != n {
				t.Errorf("%s: %d uploads, want %d", key, len(ups), n)
				continue
			}
			if last := ups[n-1]; last.DuplicateOf != f.key() || last.Key != key || last.Hash != fileHash(t, bodies[f.name]) ||
				last.Accepted != f.accepted || len(last.Rejects) != 0 {
				t.Errorf("%s: last upload %+v, want a duplicate of %s", key, last, f.key())
			}
		}
	}
	if n := strings.Count(s.logs.String(), `"msg":"bank file ingested"`); n != len(ingestFiles) {
		t.Errorf("%d bank files ingested, want %d", n, len(ingestFiles))
	}
	if n := strings.Count(s.logs.String(), `"msg":"duplicate file ignored"`); n != 2*len(ingestFiles) {
		t.Errorf("%d duplicate files ignored, want %d", n, 2*len(ingestFiles))
	}

	// Redelivery: an entries message twice more, and the same message with
	// one entry more (a crash after some of its writes) twice: only that
	// entry is new.
	s.mu.Lock()
	sent := slices.Clone(s.bodies)
	s.mu.Unlock()
	var redeliver handler.EntriesMessage
	var redeliverBody string
	for _, b := range sent {
		var m handler.EntriesMessage
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
		if m.Account == ingestFiles[0].account {
			redeliver, redeliverBody = m, b
		}
	}
	if len(redeliver.Entries) != ingestFiles[0].accepted || len(redeliver.Balances) != len(ingestFiles[0].balances) {
		t.Fatalf("message of %s: %d entries, %d balances", redeliver.Account, len(redeliver.Entries), len(redeliver.Balances))
	}
	extra := redeliver
	extraEntry := redeliver.Entries[0]
	extraEntry.BankRef = "ABC2611300009"
	extra.Entries = append(slices.Clone(redeliver.Entries[:2]), extraEntry)
	extra.Entries = append(extra.Entries, redeliver.Entries[2:]...)
	extraBody, err := json.Marshal(extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.entries.Send(ctx, []queue.Message{{Body: redeliverBody}, {Body: redeliverBody},
		{Body: string(extraBody)}, {Body: string(extraBody)}}); err != nil {
		t.Fatal(err)
	}
	s.drain(t, 30*time.Second)
	after := s.items(t, "LedgerTable")
	added := 0
	for k, v := range after {
		if old, ok := ledgerItems[k]; !ok {
			added++
			if k != "A#"+ingestFiles[0].account+" E#ABC2611300009" {
				t.Errorf("redelivery added %s", k)
			}
		} else if old != v {
			t.Errorf("redelivery changed %s", k)
		}
	}
	if added != 1 || len(after) != len(ledgerItems)+1 {
		t.Errorf("redelivery: %d items added (want 1), %d items now, %d before", added, len(after), len(ledgerItems))
	}
	s.dlqEmpty(t)

	// Uploads of a key come back oldest first, also within one second.
	base := time.Date(2026, 12, 1, 10, 0, 5, 0, time.UTC)
	var times []time.Time
	for _, ns := range []int{0, 100e6, 120e6, 999e6, 1e9} {
		times = append(times, base.Add(time.Duration(ns)))
	}
	for _, i := range []int{3, 0, 4, 2, 1} {
		if err := s.st.PutUpload(ctx, "bank/order.csv", times[i], store.Manifest{Key: "bank/order.csv", StartedAt: times[i]}); err != nil {
			t.Fatal(err)
		}
	}
	ups, err := s.st.Uploads(ctx, "bank/order.csv")
	if err != nil {
		t.Fatal(err)
	}
	var order []time.Time
	for _, u := range ups {
		order = append(order, u.StartedAt)
	}
	if !slices.EqualFunc(order, times, time.Time.Equal) {
		t.Errorf("uploads in the order %v, want %v", order, times)
	}
}

// bigCSV generates a canonical CSV statement as a stream (the file is never
// held in memory): rows fixed-width rows, row i being entry i mod distinct,
// over bigAccounts accounts.
type bigCSV struct {
	rows, distinct, next int
	buf                  []byte
	header               bool
}

var bigAccounts = []string{"6228480090000001", "6228480090000002", "6228480090000003", "6228480090000004"}

const bigHeader = "account,bank_ref,booking_date,direction,amount,kind,counterparty_account,counterparty_name,end_to_end_id,original_ref,balance_after\n"

// bigRow appends entry j; every row has the same length.
func bigRow(b []byte, j int) []byte {
	dir, kind := "D", "payroll"
	if j%10 == 0 {
		dir, kind = "C", "deposit"
	}
	names := [...]string{"王建国", "李志强", "赵永刚", "刘海军"}
	return fmt.Appendf(b, "%s,BIG%010d,2026-11-%02d,%s,%d.%02d,%s,62284800%08d,%s,PAY-BIG-%010d,,\n",
		bigAccounts[j%len(bigAccounts)], j, 1+j%28, dir, 1000+j%9000, j%100, kind, j%100000, names[j%len(names)], j)
}

// bigRowsFor returns how many rows make a file of about size bytes, and the
// file's exact size.
func bigRowsFor(size int64) (int, int64) {
	row := int64(len(bigRow(nil, 0)))
	n := (size - int64(len(bigHeader))) / row
	return int(n), int64(len(bigHeader)) + n*row
}

func (g *bigCSV) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case !g.header:
			g.header, g.buf = true, []byte(bigHeader)
		case g.next < g.rows:
			g.buf = g.buf[:0]
			for ; g.next < g.rows && len(g.buf) < 64<<10; g.next++ {
				g.buf = bigRow(g.buf, g.next%g.distinct)
			}
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// The large file's defaults keep `make test` near a minute: the local
// DynamoDB writes about 600 items a second, so the file is 20 MB (two
// multipart parts) but repeats 20,000 distinct entries; the manifest counts
// the repeats as duplicates. WW_BIG_FILE_MB=200 runs a bank's 200 MB file;
// WW_BIG_FILE_ENTRIES=all makes every row a distinct entry.
const (
	defaultBigFileMB      = 20
	defaultBigFileEntries = 20000
)

// bigFileShape reads WW_BIG_FILE_MB and WW_BIG_FILE_ENTRIES.
func bigFileShape(t *testing.T) (size int64, entries int) {
	t.Helper()
	size, entries = defaultBigFileMB<<20, defaultBigFileEntries
	if v := os.Getenv("WW_BIG_FILE_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			t.Fatalf("WW_BIG_FILE_MB=%q: want a positive number of megabytes", v)
		}
		size = n << 20
	}
	switch v := os.Getenv("WW_BIG_FILE_ENTRIES"); v {
	case "":
	case "all":
		entries = -1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("WW_BIG_FILE_ENTRIES=%q: want a positive number or all", v)
		}
		entries = n
	}
	return size, entries
}

// TestIngestFeedLargeFileIntegration uploads a canonical CSV of
// WW_BIG_FILE_MB megabytes (multipart, streamed from a generator) and finds
// its entries in the ledger once the queues drain: ingest-feed streams the
// object from S3, and record-entries writes every distinct entry once.
func TestIngestFeedLargeFileIntegration(t *testing.T) {
	s := newIngestStack(t)
	ctx := context.Background()
	want, distinct := bigFileShape(t)
	rows, size := bigRowsFor(want)
	if distinct < 0 || distinct > rows {
		distinct = rows
	}
	if l := int64(len(bigRow(nil, distinct-1))); l*int64(rows)+int64(len(bigHeader)) != size {
		t.Fatalf("row %d is %d bytes long: rows are not fixed-width", distinct-1, l)
	}
	key := "bank/big/statement.csv"
	start := time.Now()
	if err := s.res.Upload(ctx, key, &bigCSV{rows: rows, distinct: distinct}, size); err != nil {
		t.Fatal(err)
	}
	uploaded := time.Since(start)
	s.drain(t, 10*time.Minute+time.Duration(distinct)*5*time.Millisecond)
	drained := time.Since(start)
	ingested := "?"
	for _, l := range strings.Split(s.logs.String(), "\n") {
		var rec struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "bank file ingested" {
			ingested = rec.Time.Sub(start.Add(uploaded)).Round(time.Millisecond).String()
		}
	}
	t.Logf("%.1f MB, %d rows, %d distinct entries: uploaded in %s; ingest-feed done %s later, the ledger %s later",
		float64(size)/1e6, rows, distinct, uploaded.Round(time.Millisecond), ingested, (drained - uploaded).Round(time.Millisecond))

	ups, err := s.st.Uploads(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 {
		t.Fatalf("%d uploads of %s", len(ups), key)
	}
	if m := ups[0]; m.State != "done" || m.Format != "csv" || m.Size != size || m.Accepted != distinct || m.Rejected != 0 ||
		m.Duplicates != rows-distinct {
		t.Errorf("manifest: %+v, want %d accepted and %d duplicates of %d bytes", m, distinct, rows-distinct, size)
	}
	for a, account := range bigAccounts {
		want := distinct / len(bigAccounts)
		if a < distinct%len(bigAccounts) {
			want++
		}
		got := 0
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:              aws.String(s.res.Tables["LedgerTable"]),
			KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :e)"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":pk": &ddbtypes.AttributeValueMemberS{Value: "A#" + account},
				":e":  &ddbtypes.AttributeValueMemberS{Value: "E#"}},
			Select: ddbtypes.SelectCount,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got += int(page.Count)
		}
		if got != want {
			t.Errorf("account %s: %d entries in the ledger, want %d", account, got, want)
		}
	}
	s.dlqEmpty(t)
}
