package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/wagewatch/wagewatch/shared/attendance"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/textenc"
)

func init() {
	register("attendance push", command{
		summary: "POST an attendance file (CSV or JSON Lines) to the attendance API in signed batches",
		run:     runAttendancePush,
	})
}

// pushConfig is what "attendance push" was told.
type pushConfig struct {
	url, keyID string
	secret     []byte
	batch      int
	retries    int
	client     *http.Client
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
}

// pushedRecord is a record read from the file, with its line for reporting
// the server's rejects.
type pushedRecord struct {
	line int
	wire attendance.Wire
}

// pushTally counts the outcome of a push.
type pushTally struct {
	read, sent, accepted, rejected, requests int
	untaken                                  int // valid records of a batch refused whole (400)
	failed                                   bool
}

// runAttendancePush implements "wagewatch attendance push FILE --url URL
// --key-id ID --secret-env VAR [--batch N]": it reads the file as a device
// would hold its records, POSTs them in batches of at most
// attendance.MaxBatchRecords, each signed with the source's secret (read
// from the environment variable VAR, so that it is never on a command line),
// and prints each rejected record as FILE:LINE: reason on stderr and a
// summary on stdout. A request that fails with 5xx or a network error is
// sent again (the API counts a worker-day once). It exits 0 when every
// record was accepted, 1 when some were rejected or could not be sent, 2 on
// a usage error.
func runAttendancePush(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attendance push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "attendance API endpoint, e.g. https://…/v1/attendance")
	keyID := fs.String("key-id", "", "the source's key id (X-WW-Key-Id)")
	secretEnv := fs.String("secret-env", "", "name of the environment variable holding the source's secret")
	batch := fs.Int("batch", attendance.MaxBatchRecords, "records per request (1 to 1000)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wagewatch attendance push FILE --url URL --key-id ID --secret-env VAR [--batch N]")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	var problems []string
	if len(files) != 1 {
		problems = append(problems, "give exactly one FILE")
	}
	if *url == "" || *keyID == "" || *secretEnv == "" {
		problems = append(problems, "--url, --key-id and --secret-env are required")
	}
	if *batch < 1 || *batch > attendance.MaxBatchRecords {
		problems = append(problems, fmt.Sprintf("--batch must be 1 to %d", attendance.MaxBatchRecords))
	}
	secret := os.Getenv(*secretEnv)
	if *secretEnv != "" && secret == "" {
		problems = append(problems, fmt.Sprintf("environment variable %s is empty", *secretEnv))
	}
	if len(problems) > 0 {
		fmt.Fprintln(stderr, "wagewatch attendance push: "+strings.Join(problems, "; "))
		fs.Usage()
		return 2
	}
	cfg := pushConfig{url: *url, keyID: *keyID, secret: []byte(secret), batch: *batch, retries: 3,
		client: &http.Client{Timeout: 30 * time.Second}, now: time.Now, sleep: sleepCtx}
	t, err := pushFile(ctx, cfg, files[0], stderr)
	fmt.Fprintf(stdout, "%s: %d records read, %d sent in %d requests: %d accepted, %d rejected, %d not taken\n",
		files[0], t.read, t.sent, t.requests, t.accepted, t.rejected, t.untaken)
	if err != nil {
		fmt.Fprintf(stderr, "wagewatch attendance push: %v\n", err)
		return 1
	}
	if t.failed || t.rejected > 0 || t.untaken > 0 {
		return 1
	}
	return 0
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("push FILE --url …").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pushFile reads name and sends its records batch by batch. Local rejects
// (lines that are not records at all) and the server's rejects go to
// stderr. It returns an error when the file cannot be read or the API
// refuses the source (401), after which nothing more is sent.
func pushFile(ctx context.Context, cfg pushConfig, name string, stderr io.Writer) (pushTally, error) {
	var t pushTally
	f, err := os.Open(name)
	if err != nil {
		return t, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	pending := make([]pushedRecord, 0, cfg.batch)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := pushBatch(ctx, cfg, name, pending, &t, stderr)
		pending = pending[:0]
		return err
	}
	rerr := readWire(f, name, func(line int, w attendance.Wire) error {
		t.read++
		pending = append(pending, pushedRecord{line, w})
		if len(pending) == cfg.batch {
			return flush()
		}
		return nil
	}, func(e registry.RowError) {
		t.read++
		t.rejected++
		fmt.Fprintln(stderr, e.Error())
	})
	if rerr != nil {
		return t, rerr
	}
	return t, flush()
}

// readWire reads an attendance file, CSV or JSON Lines as attendance.Read
// tells them apart, into wire records with their line numbers, without
// validating them (the API does). A line that is not a record at all goes
// to reject.
func readWire(r io.Reader, name string, emit func(line int, w attendance.Wire) error, reject func(registry.RowError)) error {
	text, _ := textenc.Detect(r)
	br := bufio.NewReaderSize(text, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if trimmed := bytes.TrimSpace(head); len(trimmed) > 0 && trimmed[0] == '{' {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 0, 64<<10), attendance.MaxLineBytes+2)
		for line := 1; sc.Scan(); line++ {
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			var w attendance.Wire
			if err := json.Unmarshal(b, &w); err != nil {
				reject(registry.RowError{File: name, Line: line,
					Reason: pii.Redact("not a JSON object of string fields: " + err.Error())})
				continue
			}
			if err := emit(line, w); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		return nil
	}
	t, err := registry.NewTable(br, name, "project_id", "id_number", "date")
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	for {
		row, err := t.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var re *registry.RowError
		if errors.As(err, &re) {
			reject(*re)
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		w := attendance.Wire{ProjectID: row.Get("project_id"), IDNumber: row.Get("id_number"), Date: row.Get("date"),
			ClockIn: row.Get("clock_in"), ClockOut: row.Get("clock_out"), DeviceID: row.Get("device_id")}
		if err := emit(row.Line, w); err != nil {
			return err
		}
	}
}

// errRefused is a 401: the source's key id or secret is wrong, or its clock.
var errRefused = errors.New("refused")

// pushBatch sends one batch, signing it afresh for every try, and reports
// the rejected records by their file lines.
func pushBatch(ctx context.Context, cfg pushConfig, name string, recs []pushedRecord, t *pushTally, stderr io.Writer) error {
	wires := make([]attendance.Wire, len(recs))
	for i, r := range recs {
		wires[i] = r.wire
	}
	body, err := json.Marshal(attendance.Batch{Records: wires})
	if err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	first, last := recs[0].line, recs[len(recs)-1].line
	var status int
	var answer []byte
	for try := 0; ; try++ {
		t.requests++
		status, answer, err = postSigned(ctx, cfg, body)
		if err == nil && status < 500 {
			break
		}
		if try == cfg.retries {
			t.failed = true
			if err == nil {
				err = fmt.Errorf("HTTP %d: %s", status, bytes.TrimSpace(answer))
			}
			fmt.Fprintf(stderr, "%s:%d-%d: not sent (%d records): %v\n", name, first, last, len(recs), err)
			return nil
		}
		if serr := cfg.sleep(ctx, time.Duration(1<<try)*time.Second); serr != nil {
			return fmt.Errorf("lines %d-%d: %w", first, last, serr)
		}
	}
	switch status {
	case http.StatusOK, http.StatusBadRequest:
		var a struct {
			Accepted int                      `json:"accepted"`
			Rejected []attendance.RecordError `json:"rejected"`
		}
		if err := json.Unmarshal(answer, &a); err != nil {
			return fmt.Errorf("lines %d-%d: HTTP %d with an answer that is not JSON: %w", first, last, status, err)
		}
		t.sent += len(recs)
		t.accepted += a.Accepted
		bad := map[int]bool{}
		for _, e := range a.Rejected {
			bad[e.Index] = true
		}
		switch {
		case bad[attendance.BatchIndex]:
			t.rejected += len(recs)
		case status == http.StatusBadRequest:
			t.rejected += len(bad)
			t.untaken += len(recs) - len(bad)
		default:
			t.rejected += len(bad)
		}
		if status == http.StatusBadRequest {
			fmt.Fprintf(stderr, "%s:%d-%d: batch refused, none of its %d records taken\n", name, first, last, len(recs))
		}
		for _, e := range a.Rejected {
			if e.WholeBatch() || e.Index < 0 || e.Index >= len(recs) {
				fmt.Fprintf(stderr, "%s:%d-%d: %s\n", name, first, last, e.Reason)
				continue
			}
			where := ""
			if e.Field != "" {
				where = e.Field + ": "
			}
			fmt.Fprintf(stderr, "%s:%d: %s%s\n", name, recs[e.Index].line, where, e.Reason)
		}
		return nil
	case http.StatusUnauthorized:
		return fmt.Errorf("lines %d-%d: %w by the API (HTTP 401): %s", first, last, errRefused, bytes.TrimSpace(answer))
	default:
		return fmt.Errorf("lines %d-%d: HTTP %d: %s", first, last, status, bytes.TrimSpace(answer))
	}
}

// postSigned POSTs body with the source's signature headers.
func postSigned(ctx context.Context, cfg pushConfig, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	ts, sig := attendance.Sign(cfg.secret, cfg.now(), body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(attendance.HeaderKeyID, cfg.keyID)
	req.Header.Set(attendance.HeaderTimestamp, ts)
	req.Header.Set(attendance.HeaderSignature, sig)
	resp, err := cfg.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post %s: %w", cfg.url, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer of %s: %w", cfg.url, err)
	}
	return resp.StatusCode, answer, nil
}
