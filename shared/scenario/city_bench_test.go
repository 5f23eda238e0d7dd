package scenario_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/scenario"
	"github.com/wagewatch/wagewatch/shared/scenario/citygen"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
	"github.com/wagewatch/wagewatch/shared/store"
)

// BenchmarkCity generates a city (citygen), loads it through the real
// upload path, queues and consumers of the local stack (scenario.Run, each
// run in a fresh namespace that it tears down), scans it as of its moment
// and reports, per scale: load seconds, scan seconds (scan, every
// evaluation and notification until drained), DynamoDB write capacity units
// per attendance record (attendance table) and per bank entry (ledger
// table), as the local DynamoDB reports them with ReturnConsumedCapacity;
// and the ratio of the larger scale's time (load + scan) to the smaller's.
//
// Scales: 0.1× and 1× by default, so that make bench ends in minutes;
// WW_BENCH_CITY_SCALE10=1 runs 1× and 10× (the targets: ≤ 1.5 units
// per record, ≤ 3 per entry, 10× the data in ≤ 11× the time);
// WW_BENCH_CITY_SCALES="a,b" any two. The pipeline's alerts are checked
// against the in-memory oracle at every scale.
func BenchmarkCity(b *testing.B) {
	noScanAnywhere(b)
	stacktest.EnsureLocal(b)
	root, err := stack.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	scales := []float64{0.1, 1}
	if os.Getenv("WW_BENCH_CITY_SCALE10") == "1" {
		scales = []float64{1, 10}
	}
	if v := os.Getenv("WW_BENCH_CITY_SCALES"); v != "" {
		scales = scales[:0]
		for _, f := range strings.Split(v, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || x <= 0 {
				b.Fatalf("WW_BENCH_CITY_SCALES %q: want positive numbers", v)
			}
			scales = append(scales, x)
		}
	}
	for i := 0; i < b.N; i++ {
		var times []float64
		var inputs []int
		for _, k := range scales {
			m := runCity(b, root, k)
			tag := fmt.Sprintf("@%gx", k)
			b.ReportMetric(m.load.Seconds(), "load-s"+tag)
			b.ReportMetric(m.scan.Seconds(), "scan-s"+tag)
			b.ReportMetric(m.perRecord, "wcu/attendance-record"+tag)
			b.ReportMetric(m.perEntry, "wcu/bank-entry"+tag)
			b.ReportMetric(m.total/float64(m.records+m.entries), "wcu-all-tables/input"+tag)
			times = append(times, (m.load + m.scan).Seconds())
			inputs = append(inputs, m.records+m.entries)
			if m.perRecord > 1.5 {
				b.Errorf("scale %g: %.3f write units per attendance record, target ≤ 1.5", k, m.perRecord)
			}
			if m.perEntry > 3 {
				b.Errorf("scale %g: %.3f write units per bank entry, target ≤ 3", k, m.perEntry)
			}
		}
		if len(times) == 2 {
			// The generated data is proportional to the scale only on
			// average (at small scales a few big projects weigh): the
			// target compares the time ratio with the ratio of the inputs.
			ratio := times[1] / times[0]
			data := float64(inputs[1]) / float64(inputs[0])
			b.ReportMetric(ratio, fmt.Sprintf("time-ratio-%gx/%gx", scales[1], scales[0]))
			b.ReportMetric(data, fmt.Sprintf("input-ratio-%gx/%gx", scales[1], scales[0]))
			b.Logf("time ratio %.2f for %.2f× the input records and entries (target ≤ %.2f)", ratio, data, data*1.1)
			if ratio > data*1.1 {
				b.Logf("time grows faster than the data: %.2f > 1.1 × %.2f", ratio, data)
			}
		}
	}
}

type cityMetrics struct {
	load, scan       time.Duration
	records, entries int
	perRecord        float64
	perEntry         float64
	total            float64
}

func runCity(b *testing.B, root string, scale float64) cityMetrics {
	b.Helper()
	dir := b.TempDir()
	// Our own receiver port: the departments' webhooks must not reach
	// another run's receiver on the default port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	genStart := time.Now()
	sum, err := citygen.Generate(dir, citygen.Options{Scale: scale, Seed: 1, Webhook: "http://" + addr + "/hook/"})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("scale %g: generated in %s: %d projects, %d workers, %d attendance records in %d files, %d bank entries in %d files",
		scale, time.Since(genStart).Round(time.Millisecond), sum.Projects, sum.Workers, sum.AttendanceRecords,
		sum.AttendanceFiles, sum.BankEntries, sum.BankFiles)
	sc, err := scenario.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	units := map[string]float64{}
	var logs bytes.Buffer
	var sink io.Writer = &lockedWriter{w: &logs}
	level := slog.LevelWarn
	if path := os.Getenv("WW_BENCH_LOG"); path != "" {
		// Every function's and the runner's logs from Info up, for finding
		// where the time goes; warnings and errors are still checked.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sink, level = &lockedWriter{w: io.MultiWriter(&logs, f)}, slog.LevelInfo
	}
	log := slog.New(pii.NewRedactingHandler(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: level})))
	ctx := context.Background()
	state := filepath.Join(b.TempDir(), "resources.json")
	res, err := scenario.Run(ctx, sc, scenario.Options{
		Root: root, State: state, Log: log, ReceiverAddr: addr,
		Drain: time.Duration(30+60*scale) * time.Minute,
		Capacity: func(table string, u float64) {
			mu.Lock()
			units[table] += u
			mu.Unlock()
		},
	})
	if _, serr := os.Stat(state); serr == nil {
		defer teardown(b, state) // the namespace was provisioned
	}
	if err != nil {
		b.Fatalf("scale %g: %v\nwarnings and errors:\n%s", scale, err, tail(logs.String(), 40))
	}
	m := cityMetrics{load: res.Load, scan: res.Scan, records: sum.AttendanceRecords, entries: sum.BankEntries}
	var att, led float64
	for t, u := range units {
		m.total += u
		switch {
		case strings.Contains(t, "AttendanceTable"):
			att += u
		case strings.Contains(t, "LedgerTable"):
			led += u
		}
	}
	m.perRecord = att / float64(sum.AttendanceRecords)
	m.perEntry = led / float64(sum.BankEntries)
	b.Logf("scale %g: load %s, scan %s, %d open alerts; write units by table %v", scale,
		res.Load.Round(time.Millisecond), res.Scan.Round(time.Millisecond), len(res.Alerts), units)
	if att == 0 || led == 0 {
		b.Errorf("scale %g: no write units reported for attendance (%v) or ledger (%v)", scale, att, led)
	}

	got, err := res.Lines()
	if err != nil {
		b.Fatal(err)
	}
	h, err := pii.NewHasher([]byte("city-bench-oracle-key-0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	want, _, err := scenario.Evaluate(sc, h)
	if err != nil {
		b.Fatal(err)
	}
	if diffs := scenario.Diff(got, want); len(diffs) > 0 {
		b.Errorf("scale %g: pipeline vs oracle: %d differences, first: %s", scale, len(diffs), diffs[0])
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		b.Errorf("scale %g: the functions logged errors:\n%s", scale, tail(logs.String(), 20))
	}
	return m
}

// teardown deletes the namespace of the run recorded in state.
func teardown(b *testing.B, state string) {
	ctx := context.Background()
	cfg, err := stack.LocalConfig(ctx)
	if err != nil {
		b.Error(err)
		return
	}
	tpl, err := stack.LoadTemplate(filepath.Join(mustRoot(b), "template.yaml"))
	if err != nil {
		b.Error(err)
		return
	}
	res, err := stack.LoadResources(state, cfg, tpl, nil)
	if err != nil {
		b.Error(err)
		return
	}
	if err := stack.Teardown(ctx, cfg, res.Namespace); err != nil {
		b.Errorf("teardown %s: %v", res.Namespace, err)
	}
}

func mustRoot(b *testing.B) string {
	root, err := stack.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	return root
}

// noScanAnywhere: the store's DynamoDB interface has no Scan (so the store
// cannot call one), and no product source outside the store builds a
// ScanInput or calls a client's Scan.
func noScanAnywhere(b *testing.B) {
	api := reflect.TypeFor[store.API]()
	for i := 0; i < api.NumMethod(); i++ {
		if strings.Contains(api.Method(i).Name, "Scan") {
			b.Fatalf("store.API has %s: the product could scan a table", api.Method(i).Name)
		}
	}
	root := mustRoot(b)
	for _, top := range []string{"shared", "functions", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, bad := range []string{"dynamodb.ScanInput", "NewScanPaginator", "ParallelScan"} {
				if bytes.Contains(src, []byte(bad)) {
					b.Errorf("%s uses %s: a full table scan", p, bad)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
