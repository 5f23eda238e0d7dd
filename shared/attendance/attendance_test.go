package attendance

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/textenc"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

var testKey = []byte("wagewatch-test-key-not-secret")

func testHasher(t testing.TB) *pii.Hasher {
	t.Helper()
	h, err := pii.NewHasher(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const (
	goodID  = "620502197803120119"
	otherID = "620502198206150234"
)

// readAll runs Read and collects what it emits.
func readAll(t *testing.T, in []byte, file string) ([]Record, []RowError, error) {
	t.Helper()
	var recs []Record
	rejects, err := Read(bytes.NewReader(in), file, testHasher(t), func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, rejects, err
}

func TestReadValid(t *testing.T) {
	h := testHasher(t)
	csvText := "project_id,id_number,date,clock_in,clock_out,device_id\n" +
		"TS-QZ-001," + goodID + ",2026-10-08,07:58,18:08,DEV-1\n" +
		"TS-QZ-001,11010519491231002x,2026-10-09,,,\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(strings.Replace(csvText, "DEV-1", "设备-1", 1))
	if err != nil {
		t.Fatal(err)
	}
	jsonl := `{"project_id":"TS-QZ-001","id_number":"` + goodID + `","date":"2026-10-08","clock_in":"07:58","clock_out":"18:08","device_id":"DEV-1"}` + "\n" +
		"\n" +
		`  {"date":"2026-10-09","id_number":"11010519491231002x","project_id":"TS-QZ-001","extra":[1,2]}`
	tests := []struct {
		name   string
		in     string
		lines  [2]int
		device string
	}{
		{"csv", csvText, [2]int{2, 3}, "DEV-1"},
		{"csv bom crlf", "\xEF\xBB\xBF" + strings.ReplaceAll(csvText, "\n", "\r\n"), [2]int{2, 3}, "DEV-1"},
		{"csv gb18030", gb, [2]int{2, 3}, "设备-1"},
		{"csv column order and extra column", "device_id,date,note,id_number,clock_out,project_id,clock_in\n" +
			"DEV-1,2026-10-08,x," + goodID + ",18:08,TS-QZ-001,07:58\n" +
			",2026-10-09,,11010519491231002x,,TS-QZ-001,\n", [2]int{2, 3}, "DEV-1"},
		{"csv without optional columns", "\n\nid_number,project_id,date\n" + goodID + ",TS-QZ-001,2026-10-08\n" +
			"11010519491231002X,TS-QZ-001,2026-10-09\n", [2]int{4, 5}, ""},
		{"jsonl", jsonl, [2]int{1, 3}, "DEV-1"},
		{"jsonl leading space crlf", "\r\n " + strings.ReplaceAll(jsonl, "\n", "\r\n"), [2]int{2, 4}, "DEV-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, rejects, err := readAll(t, []byte(tt.in), "att/a.x")
			if err != nil || len(rejects) != 0 {
				t.Fatalf("err = %v, rejects = %v", err, rejects)
			}
			if len(recs) != 2 {
				t.Fatalf("got %d records, want 2: %+v", len(recs), recs)
			}
			want0 := Record{ProjectID: "TS-QZ-001", IDHash: h.HashID(goodID), IDMasked: "620502********0119",
				Date: day.New(2026, 10, 8), Source: ledger.Source{File: "att/a.x", Line: tt.lines[0]}}
			if tt.device != "" {
				want0.ClockIn, want0.ClockOut, want0.DeviceID = "07:58", "18:08", tt.device
			}
			want1 := Record{ProjectID: "TS-QZ-001", IDHash: h.HashID("11010519491231002X"), IDMasked: "110105********002X",
				Date: day.New(2026, 10, 9), Source: ledger.Source{File: "att/a.x", Line: tt.lines[1]}}
			if recs[0] != want0 {
				t.Errorf("record 0 = %+v, want %+v", recs[0], want0)
			}
			if recs[1] != want1 {
				t.Errorf("record 1 = %+v, want %+v", recs[1], want1)
			}
		})
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct {
		name          string
		wire          map[string]any
		field, reason string
	}{
		{"bad checksum", map[string]any{"id_number": "620502197803120118"}, "id_number", "does not verify"},
		{"id too short", map[string]any{"id_number": "62050219780312011"}, "id_number", "want 18"},
		{"id missing", map[string]any{"id_number": ""}, "id_number", "missing"},
		{"project missing", map[string]any{"project_id": ""}, "project_id", "missing"},
		{"project bad", map[string]any{"project_id": "TS QZ"}, "project_id", "outside A-Z"},
		{"date missing", map[string]any{"date": ""}, "date", "missing"},
		{"date form", map[string]any{"date": "2026/10/08"}, "date", "not a date"},
		{"date unreal", map[string]any{"date": "2026-02-29"}, "date", "not a date"},
		{"clock_in 24:00", map[string]any{"clock_in": "24:00"}, "clock_in", "HH:MM"},
		{"clock_in one digit hour", map[string]any{"clock_in": "7:58"}, "clock_in", "HH:MM"},
		{"clock_out 12:60", map[string]any{"clock_out": "12:60"}, "clock_out", "HH:MM"},
		{"clock_out seconds", map[string]any{"clock_out": "18:08:00"}, "clock_out", "HH:MM"},
	}
	good := map[string]any{"project_id": "TS-QZ-001", "id_number": otherID, "date": "2026-10-08",
		"clock_in": "07:58", "clock_out": "18:08", "device_id": "D"}
	cols := []string{"project_id", "id_number", "date", "clock_in", "clock_out", "device_id"}
	for _, tt := range tests {
		bad := map[string]any{}
		for k, v := range good {
			bad[k] = v
		}
		for k, v := range tt.wire {
			bad[k] = v
		}
		var csvText strings.Builder
		csvText.WriteString(strings.Join(cols, ",") + "\n")
		var jsonl strings.Builder
		for _, m := range []map[string]any{good, bad, good} {
			var cells []string
			for _, c := range cols {
				cells = append(cells, fmt.Sprint(m[c]))
			}
			csvText.WriteString(strings.Join(cells, ",") + "\n")
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			jsonl.Write(append(b, '\n'))
		}
		for format, in := range map[string]string{"csv": csvText.String(), "jsonl": jsonl.String()} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				line := 3
				if format == "jsonl" {
					line = 2
				}
				recs, rejects, err := readAll(t, []byte(in), "a."+format)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 2 {
					t.Fatalf("got %d records, want the 2 good ones", len(recs))
				}
				if len(rejects) != 1 {
					t.Fatalf("rejects = %v, want one", rejects)
				}
				r := rejects[0]
				if r.File != "a."+format || r.Line != line || r.Field != tt.field || !strings.Contains(r.Reason, tt.reason) {
					t.Fatalf("reject = %+v, want line %d field %s reason %q", r, line, tt.field, tt.reason)
				}
				if id, _ := tt.wire["id_number"].(string); len(id) >= 12 && strings.Contains(r.Error(), id) {
					t.Fatalf("reject %q holds the identity number", pii.Redact(r.Error()))
				}
			})
		}
	}
}

func TestReadJSONLinesMalformed(t *testing.T) {
	good := `{"project_id":"TS-QZ-001","id_number":"` + goodID + `","date":"2026-10-08"}`
	long := `{"project_id":"` + strings.Repeat("A", MaxLineBytes) + `"}`
	tests := []struct {
		name, line, field, reason string
	}{
		{"not json", `project_id=TS-QZ-001`, "", "not a JSON object"},
		{"truncated", `{"project_id":"TS-QZ-001"`, "", "not a JSON object"},
		{"number id", `{"project_id":"TS-QZ-001","id_number":620502197803120119,"date":"2026-10-08"}`, "", "not a JSON object"},
		{"array", `["TS-QZ-001"]`, "", "not a JSON object"},
		{"two objects", good + " " + good, "", "not a JSON object"},
		{"too long", long, "", "longer than"},
		{"empty object", `{}`, "project_id", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good + "\n" + tt.line + "\n" + good
			recs, rejects, err := readAll(t, []byte(in), "a.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 2 || recs[1].Source.Line != 3 {
				t.Fatalf("records = %+v, want lines 1 and 3", recs)
			}
			if len(rejects) == 0 {
				t.Fatal("no reject")
			}
			r := rejects[0]
			if r.Line != 2 || r.Field != tt.field || !strings.Contains(r.Reason, tt.reason) {
				t.Fatalf("reject = %+v, want line 2 field %q reason %q", r, tt.field, tt.reason)
			}
			for _, r := range rejects {
				if strings.Contains(r.Error(), goodID) {
					t.Fatalf("reject %q holds the identity number", pii.Redact(r.Error()))
				}
			}
		})
	}
}

func TestReadFileLevel(t *testing.T) {
	tests := []struct{ name, in, reason string }{
		{"empty", "", "no header"},
		{"no date column", "project_id,id_number\nTS-QZ-001," + goodID + "\n", "date"},
		{"json array file", `[{"project_id":"TS-QZ-001"}]`, "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := readAll(t, []byte(tt.in), "a.csv")
			var re *RowError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tt.reason) {
				t.Fatalf("err = %v, want a file-level RowError about %q", err, tt.reason)
			}
			if len(recs) != 0 {
				t.Fatalf("records emitted from an unreadable file: %v", recs)
			}
		})
	}
}

func TestReadEmitError(t *testing.T) {
	in := "project_id,id_number,date\nTS-QZ-001," + goodID + ",2026-10-08\nTS-QZ-001," + goodID + ",2026-10-09\n"
	stop := errors.New("queue full")
	n := 0
	_, err := Read(strings.NewReader(in), "a.csv", testHasher(t), func(Record) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err = %v after %d emits, want the emit error after 1", err, n)
	}
	if !strings.Contains(err.Error(), "a.csv:2") {
		t.Fatalf("err = %v, want the file and line", err)
	}
}

func TestReadNilHasher(t *testing.T) {
	_, err := Read(strings.NewReader("x"), "a.csv", nil, func(Record) error { return nil })
	if err == nil {
		t.Fatal("nil hasher accepted")
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func bigFile(format string, rows int) []byte {
	var b bytes.Buffer
	if format == "csv" {
		b.WriteString("project_id,id_number,date,clock_in,clock_out,device_id\n")
	}
	for i := 0; i < rows; i++ {
		d := day.New(2026, 1, 1).AddDays(i % 365)
		if format == "csv" {
			fmt.Fprintf(&b, "TS-QZ-001,%s,%s,07:58,18:08,DEV-TS-QZ-001-01\n", goodID, d)
		} else {
			fmt.Fprintf(&b, `{"project_id":"TS-QZ-001","id_number":"%s","date":"%s","clock_in":"07:58","clock_out":"18:08","device_id":"DEV-TS-QZ-001-01"}`+"\n", goodID, d)
		}
	}
	return b.Bytes()
}

// TestReadStreams checks that the first record is emitted after reading at
// most the encoding sniff window and the format sniff window, not the whole
// file.
func TestReadStreams(t *testing.T) {
	for _, format := range []string{"csv", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			in := bigFile(format, 60000) // several MiB
			cr := &countingReader{r: bytes.NewReader(in)}
			readAtFirst, n := -1, 0
			rejects, err := Read(cr, "big."+format, testHasher(t), func(Record) error {
				if readAtFirst < 0 {
					readAtFirst = cr.n
				}
				n++
				return nil
			})
			if err != nil || len(rejects) != 0 {
				t.Fatalf("err = %v, rejects = %d", err, len(rejects))
			}
			if n != 60000 {
				t.Fatalf("emitted %d records, want 60000", n)
			}
			limit := textenc.SniffSize + sniffBytes + 64<<10
			if readAtFirst > limit || readAtFirst >= len(in) {
				t.Fatalf("%d of %d bytes read before the first record, want at most %d", readAtFirst, len(in), limit)
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	h := testHasher(b)
	for _, format := range []string{"csv", "jsonl"} {
		in := bigFile(format, 20000)
		b.Run(format, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Read(bytes.NewReader(in), "big", h, func(Record) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func enrolment(h *pii.Hasher, project, id string, from, to string) registry.Enrolment {
	e := registry.Enrolment{ProjectID: project, IDHash: h.HashID(id), IDMasked: pii.MaskID(id)}
	e.EnrolledOn, _ = day.Parse(from)
	if to != "" {
		e.LeftOn, _ = day.Parse(to)
		e.HasLeft = true
	}
	return e
}

func TestCheckEnrolled(t *testing.T) {
	h := testHasher(t)
	roster := []registry.Enrolment{
		enrolment(h, "TS-QZ-001", goodID, "2026-10-08", "2026-10-17"),
		enrolment(h, "TS-QZ-002", goodID, "2026-10-18", ""),
		enrolment(h, "TS-QZ-001", otherID, "2026-10-08", ""),
	}
	tests := []struct {
		name, project, id, date string
		reason                  string // "" when enrolled
	}{
		{"first day", "TS-QZ-001", goodID, "2026-10-08", ""},
		{"left_on day", "TS-QZ-001", goodID, "2026-10-17", ""},
		{"after left_on", "TS-QZ-001", goodID, "2026-10-20", "from 2026-10-08 to 2026-10-17"},
		{"before enrolled_on", "TS-QZ-001", goodID, "2026-10-07", "on 2026-10-07"},
		{"moved project", "TS-QZ-002", goodID, "2026-10-20", ""},
		{"new project before move", "TS-QZ-002", goodID, "2026-10-17", "from 2026-10-18"},
		{"no end", "TS-QZ-001", otherID, "2030-01-01", ""},
		{"other project", "TS-MJ-001", goodID, "2026-10-20", "not enrolled on project TS-MJ-001"},
		{"unknown worker", "TS-QZ-001", "11010519491231002X", "2026-10-20", "worker 110105********002X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := day.Parse(tt.date)
			if err != nil {
				t.Fatal(err)
			}
			rec := Record{ProjectID: tt.project, IDHash: h.HashID(tt.id), IDMasked: pii.MaskID(tt.id), Date: d}
			err = CheckEnrolled(rec, roster)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotEnrolled) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v, want ErrNotEnrolled with %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), tt.id) {
				t.Fatal("error holds the identity number")
			}
		})
	}
}

// workDays is the golden summary of the example attendance: per project and
// worker, the distinct days worked, and every rejection.
type workDays struct {
	Days     map[string]int `json:"days"`
	Records  int            `json:"records"`
	Rejected []string       `json:"rejected"`
}

func TestExamplesGolden(t *testing.T) {
	h := testHasher(t)
	f, err := os.Open(filepath.Join("..", "registry", "testdata", "basic", "workers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	roster, rej, err := registry.ReadWorkers(f, "workers.csv", h)
	if err != nil || len(rej) != 0 {
		t.Fatalf("roster: %v %v", err, rej)
	}
	got := workDays{Days: map[string]int{}}
	seen := map[string]bool{}
	files, err := filepath.Glob(filepath.Join("testdata", "basic", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, name := range files {
		in, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rejects, err := Read(bytes.NewReader(in), filepath.Base(name), h, func(r Record) error {
			got.Records++
			if err := CheckEnrolled(r, roster); err != nil {
				got.Rejected = append(got.Rejected, fmt.Sprintf("%s:%d: %v", r.Source.File, r.Source.Line, err))
				return nil
			}
			if !seen[r.WorkDayKey()] {
				seen[r.WorkDayKey()] = true
				got.Days[r.ProjectID+" "+r.IDMasked]++
			}
			return nil
		})
		if err != nil || len(rejects) != 0 {
			t.Fatalf("%s: err = %v, rejects = %v", name, err, rejects)
		}
	}
	// The basic example has one record after a worker's left_on (README.md)
	// and one duplicate that adds no day.
	if len(got.Rejected) != 1 || !strings.Contains(got.Rejected[0], "TS-QZ-001 on 2026-10-20") {
		t.Fatalf("rejected = %v, want the one record after left_on", got.Rejected)
	}
	total := 0
	for _, n := range got.Days {
		total += n
	}
	if total != got.Records-2 {
		t.Fatalf("%d distinct days from %d records, want records - 1 duplicate - 1 rejected", total, got.Records)
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	golden := filepath.Join("testdata", "basic.golden.json")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("example attendance differs from %s (run go test -update after checking):\n%s", golden, out)
	}
}
