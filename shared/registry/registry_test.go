package registry

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
	"github.com/wagewatch/wagewatch/shared/pii"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// testKey is the fixed hashing key of the golden files.
var testKey = []byte("wagewatch-test-key-not-secret")

func testHasher(t *testing.T) *pii.Hasher {
	t.Helper()
	h, err := pii.NewHasher(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// table builds a CSV file from a header and rows given as column → value;
// columns a row does not name are empty.
func table(t *testing.T, header []string, rows ...map[string]string) string {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		rec := make([]string, len(header))
		for i, h := range header {
			rec[i] = r[h]
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.String()
}

// with returns a copy of base with the changes applied.
func with(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base))
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var projectHeader = []string{"project_id", "name", "county_code", "sector", "contract_amount", "status",
	"start_date", "wage_account", "bank_code", "payday", "construction_unit", "general_contractor"}

var goodProject = map[string]string{
	"project_id": "TS-QZ-001", "name": "秦州区廉租房二期", "county_code": "620502", "sector": "housing",
	"contract_amount": "38000000.00", "status": "active", "start_date": "2026-09-01",
	"wage_account": "6228480010000001", "bank_code": "ABC", "payday": "15",
	"construction_unit": "天水市秦州区住房保障中心", "general_contractor": "甘肃天水建工集团有限公司",
}

// rejectCase is one row that must be rejected for field with a reason
// containing reason.
type rejectCase struct {
	name   string
	row    map[string]string
	field  string
	reason string
}

func TestReadProjectsRejects(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []rejectCase{
		{"project_id missing", with(goodProject, "project_id", ""), "project_id", "missing"},
		{"project_id too long", with(goodProject, "project_id", long), "project_id", "at most 64"},
		{"project_id bad char", with(goodProject, "project_id", "TS QZ/1"), "project_id", "outside A-Z"},
		{"name missing", with(goodProject, "name", ""), "name", "missing"},
		{"county_code missing", with(goodProject, "county_code", ""), "county_code", "missing"},
		{"county_code 5 digits", with(goodProject, "county_code", "62050"), "county_code", "not 6 digits"},
		{"county_code letters", with(goodProject, "county_code", "62050a"), "county_code", "not 6 digits"},
		{"sector missing", with(goodProject, "sector", ""), "sector", "missing"},
		{"sector unknown", with(goodProject, "sector", "mining"), "sector", "not one of"},
		{"sector gov", with(goodProject, "sector", "gov"), "sector", "department sector"},
		{"contract_amount missing", with(goodProject, "contract_amount", ""), "contract_amount", "missing"},
		{"contract_amount text", with(goodProject, "contract_amount", "lots"), "contract_amount", "not a decimal amount"},
		{"contract_amount 3 decimals", with(goodProject, "contract_amount", "1.005"), "contract_amount", "more than two decimals"},
		{"contract_amount negative", with(goodProject, "contract_amount", "-1"), "contract_amount", "negative"},
		{"status missing", with(goodProject, "status", ""), "status", "missing"},
		{"status unknown", with(goodProject, "status", "closed"), "status", "not one of"},
		{"start_date missing", with(goodProject, "start_date", ""), "start_date", "missing"},
		{"start_date form", with(goodProject, "start_date", "2026/09/01"), "start_date", "not a date"},
		{"start_date unreal", with(goodProject, "start_date", "2026-02-30"), "start_date", "not a date"},
		{"wage_account punctuation", with(goodProject, "wage_account", "6228-4800"), "wage_account", "digits and letters"},
		{"payday missing", with(goodProject, "payday", ""), "payday", "missing"},
		{"payday 0", with(goodProject, "payday", "0"), "payday", "1 to 28"},
		{"payday 29", with(goodProject, "payday", "29"), "payday", "1 to 28"},
		{"payday text", with(goodProject, "payday", "15th"), "payday", "1 to 28"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := table(t, projectHeader, goodProject, tt.row)
			got, rejects, err := ReadProjects(strings.NewReader(in), "projects.csv")
			if err != nil {
				t.Fatal(err)
			}
			assertOneReject(t, rejects, 3, tt.field, tt.reason)
			if len(got) != 1 || got[0].ID != "TS-QZ-001" {
				t.Fatalf("projects = %+v, want only the good row", got)
			}
		})
	}
}

func assertOneReject(t *testing.T, rejects []RowError, line int, field, reason string) {
	t.Helper()
	if len(rejects) != 1 {
		t.Fatalf("rejects = %v, want one for %s", rejects, field)
	}
	r := rejects[0]
	if r.File == "" || r.Line != line || r.Field != field || !strings.Contains(r.Reason, reason) {
		t.Fatalf("reject = %+v, want line %d field %s reason containing %q", r, line, field, reason)
	}
}

func TestReadProjectsValues(t *testing.T) {
	row := with(goodProject, "wage_account", "6228 4800 1000 0001", "contract_amount", "0", "status", "completed")
	got, rejects, err := ReadProjects(strings.NewReader(table(t, projectHeader, row)), "projects.csv")
	if err != nil || len(rejects) != 0 {
		t.Fatalf("err = %v, rejects = %v", err, rejects)
	}
	want := Project{
		ID: "TS-QZ-001", Name: "秦州区廉租房二期", CountyCode: "620502", Sector: Housing,
		ContractAmount: 0, Status: Completed, StartDate: day.New(2026, 9, 1),
		WageAccount: "6228480010000001", BankCode: "ABC", Payday: 15,
		ConstructionUnit: "天水市秦州区住房保障中心", GeneralContractor: "甘肃天水建工集团有限公司",
	}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

var workerHeader = []string{"project_id", "id_number", "name", "employer", "bank_card", "daily_wage", "enrolled_on", "left_on"}

var goodWorker = map[string]string{
	"project_id": "TS-QZ-001", "id_number": "620502197803120119", "name": "王建国", "employer": "秦州建工劳务一队",
	"bank_card": "6228480010100001", "daily_wage": "300", "enrolled_on": "2026-10-08", "left_on": "",
}

func TestReadWorkersRejects(t *testing.T) {
	tests := []rejectCase{
		{"project_id missing", with(goodWorker, "project_id", ""), "project_id", "missing"},
		{"project_id bad char", with(goodWorker, "project_id", "TS.QZ"), "project_id", "outside A-Z"},
		{"id_number missing", with(goodWorker, "id_number", ""), "id_number", "missing"},
		{"id_number 17", with(goodWorker, "id_number", "62050219780312011"), "id_number", "want 18"},
		{"id_number 19", with(goodWorker, "id_number", "6205021978031201190"), "id_number", "want 18"},
		{"id_number letter", with(goodWorker, "id_number", "62050219780312A119"), "id_number", "17 characters must be digits"},
		{"id_number check char", with(goodWorker, "id_number", "62050219780312011Y"), "id_number", "digit or X"},
		{"id_number checksum", with(goodWorker, "id_number", "620502197803120118"), "id_number", "does not verify"},
		{"id_number unreal date", with(goodWorker, "id_number", "620502197802300119"), "id_number", "not a real date"},
		{"id_number before 1900", with(goodWorker, "id_number", "620502189903120119"), "id_number", "before 1900"},
		{"name missing", with(goodWorker, "name", ""), "name", "missing"},
		{"bank_card missing", with(goodWorker, "bank_card", ""), "bank_card", "missing"},
		{"bank_card letters", with(goodWorker, "bank_card", "6228A80010100001"), "bank_card", "only digits"},
		{"bank_card dashes", with(goodWorker, "bank_card", "6228-4800-1010-0001"), "bank_card", "only digits"},
		{"bank_card 11", with(goodWorker, "bank_card", "62284800101"), "bank_card", "want 12-19"},
		{"bank_card 20", with(goodWorker, "bank_card", "62284800101000011234"), "bank_card", "want 12-19"},
		{"daily_wage missing", with(goodWorker, "daily_wage", ""), "daily_wage", "missing"},
		{"daily_wage zero", with(goodWorker, "daily_wage", "0"), "daily_wage", "greater than 0"},
		{"daily_wage negative", with(goodWorker, "daily_wage", "-5"), "daily_wage", "greater than 0"},
		{"daily_wage 3 decimals", with(goodWorker, "daily_wage", "300.123"), "daily_wage", "more than two decimals"},
		{"daily_wage text", with(goodWorker, "daily_wage", "三百"), "daily_wage", "not a decimal amount"},
		{"enrolled_on missing", with(goodWorker, "enrolled_on", ""), "enrolled_on", "missing"},
		{"enrolled_on bad", with(goodWorker, "enrolled_on", "2026-13-01"), "enrolled_on", "not a date"},
		{"left_on bad", with(goodWorker, "left_on", "20261017"), "left_on", "not a date"},
		{"left_on before enrolled_on", with(goodWorker, "left_on", "2026-10-07"), "left_on", "before enrolled_on"},
	}
	h := testHasher(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := with(goodWorker, "id_number", "620502198206150234")
			in := table(t, workerHeader, other, tt.row)
			got, rejects, err := ReadWorkers(strings.NewReader(in), "workers.csv", h)
			if err != nil {
				t.Fatal(err)
			}
			assertOneReject(t, rejects, 3, tt.field, tt.reason)
			if len(got) != 1 || got[0].IDHash != h.HashID("620502198206150234") {
				t.Fatalf("enrolments = %+v, want only the good row", got)
			}
			assertNoFullNumbers(t, rejects, tt.row["id_number"], tt.row["bank_card"])
		})
	}
}

// assertNoFullNumbers checks that no reject's text holds a full identity or
// card number of the input.
func assertNoFullNumbers(t *testing.T, rejects []RowError, numbers ...string) {
	t.Helper()
	for _, r := range rejects {
		text := strings.ReplaceAll(r.Error()+r.Reason, " ", "")
		for _, n := range numbers {
			if d := pii.Digits(n); len(d) >= 12 && strings.Contains(text, d) {
				t.Fatalf("reject %q holds the full number", pii.Redact(text))
			}
		}
	}
}

func TestReadWorkersValues(t *testing.T) {
	h := testHasher(t)
	rows := []map[string]string{
		with(goodWorker, "bank_card", "6217 0000 2020 0001", "daily_wage", "230.5", "left_on", "2026-10-08"),
		with(goodWorker, "id_number", "11010519491231002x", "project_id", "TS-QZ-002"),
	}
	got, rejects, err := ReadWorkers(strings.NewReader(table(t, workerHeader, rows...)), "workers.csv", h)
	if err != nil || len(rejects) != 0 {
		t.Fatalf("err = %v, rejects = %v", err, rejects)
	}
	want := []Enrolment{{
		ProjectID: "TS-QZ-001", IDHash: h.HashID("620502197803120119"), IDMasked: "620502********0119",
		Name: "王建国", Employer: "秦州建工劳务一队",
		CardHash: h.HashCard("6217000020200001"), CardMasked: "6217********0001",
		DailyWage: 23050, EnrolledOn: day.New(2026, 10, 8), LeftOn: day.New(2026, 10, 8), HasLeft: true, Line: 2,
	}, {
		ProjectID: "TS-QZ-002", IDHash: h.HashID("11010519491231002X"), IDMasked: "110105********002X",
		Name: "王建国", Employer: "秦州建工劳务一队",
		CardHash: h.HashCard("6228480010100001"), CardMasked: "6228********0001",
		DailyWage: 30000, EnrolledOn: day.New(2026, 10, 8), Line: 3,
	}}
	if len(got) != len(want) {
		t.Fatalf("got %d enrolments, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("enrolment %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !got[0].EnrolledAt(day.New(2026, 10, 8)) || got[0].EnrolledAt(day.New(2026, 10, 9)) {
		t.Error("a worker who left on the day of enrolment is enrolled on that day only")
	}
}

func TestReadWorkersNilHasher(t *testing.T) {
	if _, _, err := ReadWorkers(strings.NewReader(table(t, workerHeader, goodWorker)), "w.csv", nil); err == nil {
		t.Fatal("nil hasher accepted")
	}
}

var deptHeader = []string{"dept_id", "name", "level", "county_code", "sector", "sms", "webhook_url"}

var goodDept = map[string]string{
	"dept_id": "qz-gov", "name": "秦州区治欠办", "level": "county", "county_code": "620502", "sector": "gov",
	"sms": "13800000003;13800000013", "webhook_url": "https://hooks.example.cn/qz-gov",
}

func TestReadDepartmentsRejects(t *testing.T) {
	tests := []rejectCase{
		{"dept_id missing", with(goodDept, "dept_id", ""), "dept_id", "missing"},
		{"level missing", with(goodDept, "level", ""), "level", "missing"},
		{"level unknown", with(goodDept, "level", "province"), "level", "not county or city"},
		{"county without code", with(goodDept, "county_code", ""), "county_code", "missing"},
		{"county bad code", with(goodDept, "county_code", "6205"), "county_code", "not 6 digits"},
		{"city with code", with(goodDept, "level", "city", "county_code", "620502"), "county_code", "must be empty"},
		{"sector missing", with(goodDept, "sector", ""), "sector", "missing"},
		{"sector unknown", with(goodDept, "sector", "police"), "sector", "not one of"},
		{"sms short", with(goodDept, "sms", "1380000000"), "sms", "11-digit"},
		{"sms not 1", with(goodDept, "sms", "23800000003"), "sms", "starting with 1"},
		{"sms second bad", with(goodDept, "sms", "13800000003;1380000001x"), "sms", "11-digit"},
		{"sms comma", with(goodDept, "sms", "13800000003,13800000013"), "sms", "11-digit"},
		{"webhook scheme", with(goodDept, "webhook_url", "ftp://example.cn/x"), "webhook_url", "http or https"},
		{"webhook relative", with(goodDept, "webhook_url", "/hook/qz"), "webhook_url", "http or https"},
		{"webhook no host", with(goodDept, "webhook_url", "https:///x"), "webhook_url", "no host"},
		{"webhook unparsable", with(goodDept, "webhook_url", "http://[::1"), "webhook_url", "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := table(t, deptHeader, with(goodDept, "dept_id", "ok"), tt.row)
			got, rejects, err := ReadDepartments(strings.NewReader(in), "departments.csv")
			if err != nil {
				t.Fatal(err)
			}
			assertOneReject(t, rejects, 3, tt.field, tt.reason)
			if len(got) != 1 || got[0].ID != "ok" {
				t.Fatalf("departments = %+v, want only the good row", got)
			}
		})
	}
}

func TestReadDepartmentsValues(t *testing.T) {
	rows := []map[string]string{
		with(goodDept, "sms", " 13800000003 ; 13800000013; "),
		with(goodDept, "dept_id", "city-water", "level", "city", "county_code", "", "sector", "water", "sms", "", "webhook_url", "http://127.0.0.1:9099/hook"),
	}
	got, rejects, err := ReadDepartments(strings.NewReader(table(t, deptHeader, rows...)), "departments.csv")
	if err != nil || len(rejects) != 0 {
		t.Fatalf("err = %v, rejects = %v", err, rejects)
	}
	if len(got) != 2 {
		t.Fatalf("got %d departments, want 2", len(got))
	}
	if g := got[0]; g.Level != County || g.CountyCode != "620502" || g.Sector != Gov ||
		strings.Join(g.SMS, ",") != "13800000003,13800000013" || g.WebhookURL != "https://hooks.example.cn/qz-gov" {
		t.Errorf("county department = %+v", g)
	}
	if g := got[1]; g.Level != City || g.CountyCode != "" || g.Sector != Water || g.SMS != nil || g.WebhookURL != "http://127.0.0.1:9099/hook" {
		t.Errorf("city department = %+v", g)
	}
}

func TestReadDepartmentsHeaderOnly(t *testing.T) {
	got, rejects, err := ReadDepartments(strings.NewReader(strings.Join(deptHeader, ",")+"\n"), "departments.csv")
	if err != nil || len(rejects) != 0 || len(got) != 0 {
		t.Fatalf("got %v, %v, %v; want nothing", got, rejects, err)
	}
}

func TestDuplicates(t *testing.T) {
	h := testHasher(t)
	t.Run("projects", func(t *testing.T) {
		in := table(t, projectHeader,
			goodProject,
			with(goodProject, "project_id", "TS-QZ-002"),
			with(goodProject, "payday", "20"),
			with(goodProject, "payday", "99"), // rejected: replaces nothing
		)
		got, rejects, err := ReadProjects(strings.NewReader(in), "projects.csv")
		if err != nil || len(rejects) != 1 || rejects[0].Line != 5 {
			t.Fatalf("err = %v, rejects = %v", err, rejects)
		}
		if len(got) != 2 || got[0].ID != "TS-QZ-001" || got[0].Payday != 20 || got[1].ID != "TS-QZ-002" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("workers", func(t *testing.T) {
		in := table(t, workerHeader,
			goodWorker,
			with(goodWorker, "project_id", "TS-QZ-002", "daily_wage", "230"), // another enrolment of the same worker
			with(goodWorker, "daily_wage", "310"),
			with(goodWorker, "daily_wage", "0"), // rejected: replaces nothing
		)
		got, rejects, err := ReadWorkers(strings.NewReader(in), "workers.csv", h)
		if err != nil || len(rejects) != 1 || rejects[0].Line != 5 {
			t.Fatalf("err = %v, rejects = %v", err, rejects)
		}
		if len(got) != 2 {
			t.Fatalf("got %d enrolments, want 2", len(got))
		}
		if got[0].ProjectID != "TS-QZ-001" || got[0].DailyWage != money.Fen(31000) || got[0].Line != 4 {
			t.Errorf("first enrolment = %+v, want the row of line 4", got[0])
		}
		if got[1].ProjectID != "TS-QZ-002" || got[1].DailyWage != 23000 {
			t.Errorf("second enrolment = %+v", got[1])
		}
	})
	t.Run("departments", func(t *testing.T) {
		in := table(t, deptHeader, goodDept, with(goodDept, "name", "new"), with(goodDept, "level", "x"))
		got, rejects, err := ReadDepartments(strings.NewReader(in), "departments.csv")
		if err != nil || len(rejects) != 1 {
			t.Fatalf("err = %v, rejects = %v", err, rejects)
		}
		if len(got) != 1 || got[0].Name != "new" {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestFileLevel(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "no header"},
		{"missing column", "project_id,name,county_code,sector,contract_amount,status,start_date,wage_account\n", "payday"},
		{"duplicate column", strings.Join(projectHeader, ",") + ",Payday\n", "twice"},
		{"bad header", "project_id,\"name\n", "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rejects, err := ReadProjects(strings.NewReader(tt.in), "projects.csv")
			var re *RowError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tt.reason) || re.File != "projects.csv" {
				t.Fatalf("err = %v, want a file-level RowError about %q", err, tt.reason)
			}
			if got != nil || rejects != nil {
				t.Fatalf("got %v, %v from an unreadable file", got, rejects)
			}
		})
	}
}

func TestMalformedRows(t *testing.T) {
	in := strings.Join(projectHeader, ",") + "\n" +
		"TS-1,a,620502,housing,1,active,2026-09-01,,,15,,,extra\n" +
		"TS-2,\"unterminated,620502,housing,1,active,2026-09-01,,,15,,\n" +
		"TS-3,b,620502,housing,1,active,2026-09-01,,,15,,\n"
	got, rejects, err := ReadProjects(strings.NewReader(in), "projects.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(rejects) < 2 || rejects[0].Line != 2 || !strings.Contains(rejects[0].Reason, "13 fields") ||
		rejects[1].Line != 3 || !strings.Contains(rejects[1].Reason, "not well-formed") {
		t.Fatalf("rejects = %v", rejects)
	}
	// The unterminated quote swallows the rest of the file; nothing after
	// it is invented.
	for _, p := range got {
		if p.ID == "TS-1" || p.ID == "TS-2" {
			t.Fatalf("malformed row accepted: %+v", p)
		}
	}
}

func TestShortRowsReadEmpty(t *testing.T) {
	// A row that stops before the last columns reads them as empty.
	in := strings.Join(workerHeader, ",") + "\n" +
		"TS-QZ-001,620502197803120119,王建国,队,6228480010100001,300,2026-10-08\n"
	got, rejects, err := ReadWorkers(strings.NewReader(in), "workers.csv", testHasher(t))
	if err != nil || len(rejects) != 0 || len(got) != 1 || got[0].HasLeft {
		t.Fatalf("got %+v, %v, %v", got, rejects, err)
	}
}

func TestEncodingsAndColumnOrder(t *testing.T) {
	h := testHasher(t)
	base := table(t, workerHeader, goodWorker)
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(base)
	if err != nil {
		t.Fatal(err)
	}
	// Columns reversed, upper-case names with spaces, an unknown column.
	reordered := "Left_On, enrolled_on ,daily_wage,bank_card,remark,employer,name,id_number,project_id\n" +
		",2026-10-08,300,6228480010100001,备注,秦州建工劳务一队,王建国,620502197803120119,TS-QZ-001\n"
	tests := []struct {
		name string
		in   []byte
	}{
		{"utf-8", []byte(base)},
		{"bom", append([]byte("\xEF\xBB\xBF"), base...)},
		{"gb18030", []byte(gb)},
		{"column order", []byte(reordered)},
		{"crlf", []byte(strings.ReplaceAll(base, "\n", "\r\n"))},
	}
	want := Enrolment{
		ProjectID: "TS-QZ-001", IDHash: h.HashID("620502197803120119"), IDMasked: "620502********0119",
		Name: "王建国", Employer: "秦州建工劳务一队",
		CardHash: h.HashCard("6228480010100001"), CardMasked: "6228********0001",
		DailyWage: 30000, EnrolledOn: day.New(2026, 10, 8), Line: 2,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rejects, err := ReadWorkers(bytes.NewReader(tt.in), "workers.csv", h)
			if err != nil || len(rejects) != 0 {
				t.Fatalf("err = %v, rejects = %v", err, rejects)
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestCheckIDNumber(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"620502197803120119", "620502197803120119", true},
		{"11010519491231002X", "11010519491231002X", true},
		{"11010519491231002x", "11010519491231002X", true},
		{" 620503198001010138 ", "620503198001010138", true},
		{"11010519491231002 ", "", false},
		{"620502197803120110", "", false},
		{"620502 97803120119", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CheckIDNumber(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("CheckIDNumber(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Fatalf("error %q holds the number", pii.Redact(err.Error()))
			}
		})
	}
}

func TestRowErrorText(t *testing.T) {
	tests := []struct {
		e    RowError
		want string
	}{
		{RowError{File: "w.csv", Line: 4, Field: "id_number", Reason: "bad"}, "w.csv:4: id_number: bad"},
		{RowError{File: "w.csv", Line: 1, Reason: "empty file"}, "w.csv:1: empty file"},
		{RowError{File: "w.csv", Line: 2, Field: "x", Reason: "holds 620502197803120119"}, "w.csv:2: x: holds 620502********0119"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckEnrolmentProjects(t *testing.T) {
	h := testHasher(t)
	in := table(t, workerHeader, goodWorker, with(goodWorker, "project_id", "TS-NOPE"))
	got, _, err := ReadWorkers(strings.NewReader(in), "workers.csv", h)
	if err != nil {
		t.Fatal(err)
	}
	kept, rejects := CheckEnrolmentProjects("workers.csv", got, func(id string) bool { return id == "TS-QZ-001" })
	if len(kept) != 1 || kept[0].ProjectID != "TS-QZ-001" {
		t.Fatalf("kept = %+v", kept)
	}
	assertOneReject(t, rejects, 3, "project_id", "not registered")
	assertNoFullNumbers(t, rejects, goodWorker["id_number"])
}

// examples is the golden content of the spec's basic example (copied to
// testdata/basic from shared/spec/examples/basic).
type examples struct {
	Projects    []Project    `json:"projects"`
	Workers     []Enrolment  `json:"workers"`
	Departments []Department `json:"departments"`
}

func TestExamplesGolden(t *testing.T) {
	h := testHasher(t)
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join("testdata", "basic", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	var got examples
	var rejects, r []RowError
	var err error
	got.Projects, r, err = ReadProjects(open("projects.csv"), "projects.csv")
	if err != nil {
		t.Fatal(err)
	}
	rejects = append(rejects, r...)
	got.Workers, r, err = ReadWorkers(open("workers.csv"), "workers.csv", h)
	if err != nil {
		t.Fatal(err)
	}
	rejects = append(rejects, r...)
	got.Departments, r, err = ReadDepartments(open("departments.csv"), "departments.csv")
	if err != nil {
		t.Fatal(err)
	}
	rejects = append(rejects, r...)
	if len(rejects) != 0 {
		t.Fatalf("example rows rejected: %v", rejects)
	}
	if len(got.Projects) != 4 || len(got.Workers) != 15 || len(got.Departments) != 10 {
		t.Fatalf("read %d projects, %d workers, %d departments; want 4, 15, 10",
			len(got.Projects), len(got.Workers), len(got.Departments))
	}
	registered := map[string]bool{}
	for _, p := range got.Projects {
		registered[p.ID] = true
	}
	if _, rej := CheckEnrolmentProjects("workers.csv", got.Workers, func(id string) bool { return registered[id] }); len(rej) != 0 {
		t.Fatalf("example workers on unregistered projects: %v", rej)
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
		t.Fatalf("examples differ from %s (run go test -update after checking):\n%s", golden, out)
	}
	for _, n := range []string{"620502197803120119", "6228480010100001", "6217000020200001"} {
		if bytes.Contains(want, []byte(n)) {
			t.Fatalf("golden file holds a full number %s", pii.MaskCard(n))
		}
	}
}

func BenchmarkReadWorkers(b *testing.B) {
	h, err := pii.NewHasher(testKey)
	if err != nil {
		b.Fatal(err)
	}
	var buf strings.Builder
	buf.WriteString(strings.Join(workerHeader, ",") + "\n")
	for i := 0; i < 1000; i++ {
		buf.WriteString("TS-QZ-001,620502197803120119,王建国,队,6228480010100001,300,2026-10-08,\n")
	}
	in := buf.String()
	for b.Loop() {
		if _, _, err := ReadWorkers(strings.NewReader(in), "w.csv", h); err != nil {
			b.Fatal(err)
		}
	}
}
