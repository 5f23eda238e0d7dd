package citygen

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
)

// The city's calendar: three months of attendance up to the day before the
// moment of evaluation; wages for month M are paid in M+1.
var (
	windowStart = day.New(2026, 8, 16)
	windowEnd   = day.New(2026, 11, 19) // last day with attendance and bank data
	asOfText    = "2026-11-20T09:00:00+08:00"
	months      = []day.Month{day.MonthOf(2026, 8), day.MonthOf(2026, 9), day.MonthOf(2026, 10), day.MonthOf(2026, 11)}
)

type county struct {
	code, name, abbr string
	weight           int
	soe              bool // has a county-level SOE department
}

var counties = []county{
	{"620502", "秦州区", "QZ", 24, true},
	{"620503", "麦积区", "MJ", 22, true},
	{"620521", "清水县", "QS", 11, false},
	{"620522", "秦安县", "QA", 12, false},
	{"620523", "甘谷县", "GG", 12, false},
	{"620524", "武山县", "WS", 10, false},
	{"620525", "张家川回族自治县", "ZJC", 9, false},
}

type sector struct {
	code, dept, cityDept, work string
	weight                     int
}

var sectors = []sector{
	{"housing", "住房和城乡建设局", "天水市住房和城乡建设局", "安置房", 40},
	{"transport", "交通运输局", "天水市交通运输局", "公路改建工程", 25},
	{"water", "水务局", "天水市水务局", "供水管网工程", 15},
	{"soe", "国有资产监督管理办公室", "天水市人民政府国有资产监督管理委员会", "厂区改造工程", 12},
	{"other", "", "天水市发展和改革委员会", "综合服务中心", 8},
}

// bank is a bank holding wage accounts, and the feed format it sends.
type bank struct {
	code, format, bin, swift string
	weight                   int
}

const (
	formatCSV   = "csv"
	formatCamt  = "camt053"
	formatMT940 = "mt940"
)

var banks = []bank{
	{"ABC", formatCSV, "622848", "ABOCCNBJ270", 30},
	{"ICBC", formatCSV, "622202", "ICBKCNBJGSU", 20},
	{"CCB", formatCamt, "621700", "PCBCCNBJGSX", 25},
	{"BOC", formatMT940, "621661", "BKCHCNBJ860", 25},
}

var surnames = []struct{ han, latin string }{
	{"王", "WANG"}, {"李", "LI"}, {"张", "ZHANG"}, {"刘", "LIU"}, {"陈", "CHEN"}, {"杨", "YANG"},
	{"赵", "ZHAO"}, {"马", "MA"}, {"周", "ZHOU"}, {"吴", "WU"}, {"何", "HE"}, {"郭", "GUO"},
	{"罗", "LUO"}, {"梁", "LIANG"}, {"胡", "HU"}, {"魏", "WEI"}, {"蒲", "PU"}, {"汪", "WANG"},
}

var givenNames = []struct{ han, latin string }{
	{"建国", "JIANGUO"}, {"志强", "ZHIQIANG"}, {"伟", "WEI"}, {"福林", "FULIN"}, {"永刚", "YONGGANG"},
	{"海军", "HAIJUN"}, {"小龙", "XIAOLONG"}, {"明", "MING"}, {"国庆", "GUOQING"}, {"海", "HAI"},
	{"军", "JUN"}, {"春生", "CHUNSHENG"}, {"志平", "ZHIPING"}, {"红", "HONG"}, {"德胜", "DESHENG"},
	{"有才", "YOUCAI"}, {"天水", "TIANSHUI"}, {"宝林", "BAOLIN"}, {"玉兰", "YULAN"}, {"文斌", "WENBIN"},
	{"大庆", "DAQING"}, {"振华", "ZHENHUA"}, {"俊杰", "JUNJIE"}, {"亮", "LIANG"},
}

// Home counties of workers (identity number prefixes): Gansu.
var homeCodes = []string{"620502", "620503", "620521", "620522", "620523", "620524", "620525",
	"620102", "620104", "621102", "621121", "622921", "620421", "621221"}

var teams = []string{"劳务一队", "劳务二队", "钢筋班组", "木工班组", "混凝土班组", "架子工班组", "水电安装队"}

// project is one generated project with its roster and money.
type project struct {
	idx    int
	id     string
	name   string
	county county
	sector sector
	status string
	start  day.Date
	end    day.Date // last day with work (windowEnd for active projects)
	// attendUntil is the last day attendance is reported; feedUntil the
	// last day the bank reports.
	attendUntil, feedUntil day.Date
	account                string // "" when no wage account
	bank                   *bank
	payday                 int
	contract               money.Fen
	unit                   string // construction unit
	unitAcct               string
	gc                     string // general contractor
	class                  int    // 0 good, 1 sloppy, 2 bad
	jsonl                  bool   // attendance as JSON Lines
	presence               float64
	advances               bool // pays a monthly living allowance (生活费) mid-month
	workers                []*worker
	entries                []*entry
}

const (
	good = iota
	sloppy
	bad
)

// worker is one enrolment: a worker (identity) on one project.
type worker struct {
	id           string
	name, latin  string
	team         string
	card         string
	wage         money.Fen
	enrolled     day.Date
	left         day.Date // 0 when still enrolled
	shared       bool     // also enrolled on another project, with another card
	worked       []bool   // by day of the window
	dupOf        []bool   // a second record that day
	n            int      // number within the project, from 1
	other        *worker  // the enrolment on the other project, for a shared worker
	advancePaid  map[day.Month]money.Fen
	settledExtra money.Fen
}

// entry is one bank entry on a wage account.
type entry struct {
	date        day.Date
	credit      bool
	amount      money.Fen
	kind        string // deposit, payroll, return, fee
	cpAcct      string
	cpName      string
	cpLatin     string
	e2e, orig   string
	remit       string
	ref         string
	batch       string // camt batch id: payroll entries of one settlement run
	seq         int
	balanceHere money.Fen
}

func windowDays() int { return windowEnd.Sub(windowStart) + 1 }

// idNumber returns the n-th worker identity of the city: unique for n below
// 14,600,000 (distinct birth date and sequence), check character by GB 11643.
func idNumber(n int, seed uint64) string {
	seq := n % 1000
	rest := n / 1000
	birth := day.New(1965, 1, 1).AddDays(int((uint64(rest)*7919 + seed) % 14600))
	home := homeCodes[(n*31+int(seed%97))%len(homeCodes)]
	y, m, d := birth.Parts()
	body := fmt.Sprintf("%s%04d%02d%02d%03d", home, y, int(m), d, seq)
	return body + string(checkChar(body))
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

func checkChar(body string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return "10X98765432"[sum%11]
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func weighted[T any](r *rand.Rand, xs []T, w func(T) int) T {
	total := 0
	for _, x := range xs {
		total += w(x)
	}
	n := r.IntN(total)
	for _, x := range xs {
		if n -= w(x); n < 0 {
			return x
		}
	}
	return xs[len(xs)-1]
}

// rosterSize draws a project's number of enrolments: mean about 46.
func rosterSize(r *rand.Rand) int {
	n := 8 + int(-math.Log(1-r.Float64())*38)
	return min(n, 260)
}

func yuan(y int) money.Fen { return money.Fen(y) * 100 }

func dateIn(r *rand.Rand, from, to day.Date) day.Date {
	if to <= from {
		return from
	}
	return from.AddDays(r.IntN(to.Sub(from) + 1))
}

// due returns the payday of month m+1 for a payday of the month.
func due(m day.Month, payday int) day.Date { return m.Next().Day(payday) }
