package citygen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/money"
)

// generator builds the projects one after the other; project i depends only
// on the seed, i, the counters before it and project i−1 (whose workers it
// may share), so the same seed and scale give the same bytes.
type generator struct {
	seed     uint64
	nextID   int // worker identities handed out
	nextCard int // enrolment cards handed out
	perCty   map[string]int
}

var startEarliest, startLatest = day.New(2025, 3, 1), day.New(2026, 8, 10)

// odds of a worker-month going wrong, by project class.
type odds struct{ short, late, missing, returned float64 }

var classOdds = [...]odds{
	good:   {0.0005, 0.001, 0.0003, 0.001},
	sloppy: {0.06, 0.08, 0.03, 0.015},
	bad:    {0.10, 0.10, 0.05, 0.02},
}

func (g *generator) project(idx int, prev *project) *project {
	r := rand.New(rand.NewPCG(g.seed, uint64(idx)+1))
	p := &project{idx: idx}
	p.county = weighted(r, counties, func(c county) int { return c.weight })
	p.sector = weighted(r, sectors, func(s sector) int { return s.weight })
	g.perCty[p.county.abbr]++
	p.id = fmt.Sprintf("TS-%s-%04d", p.county.abbr, g.perCty[p.county.abbr])
	p.name = fmt.Sprintf("%s%s%s%d标段", p.county.name, pick(r, places), p.sector.work, 1+r.IntN(6))
	switch x := r.Float64(); {
	case x < 0.86:
		p.status = "active"
		p.start = dateIn(r, startEarliest, startLatest)
		p.end = windowEnd
	case x < 0.93:
		p.status = "suspended"
		p.start = dateIn(r, startEarliest, startLatest)
		p.end = dateIn(r, day.New(2026, 10, 1), day.New(2026, 11, 5))
	default:
		p.status = "completed"
		p.start = dateIn(r, day.New(2025, 1, 1), day.New(2025, 12, 31))
		p.end = dateIn(r, day.New(2026, 9, 1), day.New(2026, 10, 25))
	}
	switch x := r.Float64(); {
	case p.status == "completed" || x < 0.75:
		p.class = good
	case x < 0.93:
		p.class = sloppy
	default:
		p.class = bad
	}
	if p.status == "active" && r.Float64() < 0.045 {
		p.bank = nil // no wage account opened yet
	} else {
		b := weighted(r, banks, func(b bank) int { return b.weight })
		for i := range banks {
			if banks[i].code == b.code {
				p.bank = &banks[i]
				p.account = fmt.Sprintf("95%d0%012d", i+1, idx+1)
			}
		}
	}
	switch x := r.Float64(); {
	case x < 0.4:
		p.payday = 15
	case x < 0.6:
		p.payday = 10
	case x < 0.8:
		p.payday = 25
	default:
		p.payday = 1 + r.IntN(28)
	}
	p.contract = yuan(3_000_000 + r.IntN(77_000)*1000)
	p.unit = p.county.name + unitNames[p.sector.code]
	p.unitAcct = fmt.Sprintf("1105%012d", idx+1)
	p.gc = pick(r, contractors)
	p.jsonl = r.Float64() < 0.4
	p.presence = 0.62 + r.Float64()*0.22
	p.advances = p.bank != nil && r.Float64() < 0.35
	p.attendUntil, p.feedUntil = p.end, windowEnd
	if p.status == "active" && r.Float64() < 0.04 {
		// the site's attendance devices stopped reporting
		p.attendUntil = windowEnd.AddDays(-8 - r.IntN(20))
	}
	if p.bank != nil && r.Float64() < 0.03 {
		// the bank stopped sending this account's feed
		p.feedUntil = windowEnd.AddDays(-11 - r.IntN(15))
	}
	g.roster(r, p, prev)
	g.attendance(r, p)
	if p.bank != nil {
		g.money(r, p)
	}
	return p
}

var places = []string{"东关", "西关", "中梁", "藉河", "渭河", "石马坪", "社棠", "花牛", "伯阳", "马跑泉", "南山", "北山", "城区"}

var contractors = []string{"甘肃天水建工集团有限公司", "甘肃路桥建设集团有限公司", "天水市第一建筑工程有限公司",
	"天水公路工程有限公司", "甘肃省水利水电工程局有限责任公司", "中铁二十一局集团有限公司", "甘肃第四建设集团有限责任公司"}

var unitNames = map[string]string{
	"housing":   "住房保障中心",
	"transport": "交通建设投资有限公司",
	"water":     "水务投资有限公司",
	"soe":       "国有资产经营有限公司",
	"other":     "城市建设服务中心",
}

func (g *generator) roster(r *rand.Rand, p *project, prev *project) {
	n := rosterSize(r)
	var shareable []*worker
	if prev != nil {
		for _, w := range prev.workers {
			if w.left == 0 && !w.shared {
				shareable = append(shareable, w)
			}
		}
	}
	shared := min(len(shareable), n*3/100)
	bin := "622848"
	if p.bank != nil {
		bin = p.bank.bin
	}
	team := pick(r, teams)
	for i := 0; i < n; i++ {
		w := &worker{n: i + 1, team: team}
		if i%15 == 14 {
			team = pick(r, teams)
		}
		if i < shared {
			o := shareable[r.IntN(len(shareable))]
			if o.shared {
				// drawn twice: a fresh worker instead
				o = nil
			}
			if o != nil {
				o.shared = true
				w.shared, w.other = true, o
				w.id, w.name, w.latin = o.id, o.name, o.latin
			}
		}
		if w.id == "" {
			w.id = idNumber(g.nextID, g.seed)
			g.nextID++
			s, gn := pick(r, surnames), pick(r, givenNames)
			w.name, w.latin = s.han+gn.han, s.latin+" "+gn.latin
		}
		w.card = fmt.Sprintf("%s%010d", bin, g.nextCard+1)
		g.nextCard++
		w.wage = yuan(150 + r.IntN(26)*10)
		lo := max(p.start, day.New(2026, 3, 1))
		if r.Float64() < 0.8 || p.end.Sub(windowStart) < 20 {
			w.enrolled = dateIn(r, min(lo, windowStart), windowStart)
		} else {
			w.enrolled = dateIn(r, windowStart, p.end.AddDays(-10))
		}
		if w.enrolled < p.start {
			w.enrolled = p.start
		}
		switch {
		case p.status == "completed":
			w.left = p.end
		case r.Float64() < 0.12 && w.enrolled.AddDays(10) < p.end:
			w.left = dateIn(r, w.enrolled.AddDays(10), p.end)
		}
		p.workers = append(p.workers, w)
	}
}

func (g *generator) attendance(r *rand.Rand, p *project) {
	nd := windowDays()
	for _, w := range p.workers {
		w.worked = make([]bool, nd)
		w.dupOf = make([]bool, nd)
		for i := 0; i < nd; i++ {
			d := windowStart.AddDays(i)
			if d < w.enrolled || (w.left != 0 && d > w.left) || d > p.end || d > p.attendUntil {
				continue
			}
			pr := p.presence
			if d.Time().Weekday() == 0 {
				pr *= 0.5
			}
			if w.other != nil {
				if w.other.worked[i] {
					continue
				}
				pr *= 0.6
			}
			if r.Float64() < pr {
				w.worked[i] = true
				w.dupOf[i] = r.Float64() < 0.04
			}
		}
	}
}

// days counts the days w worked in month m, before date `before` (0: all).
func (w *worker) days(m day.Month, before day.Date) int {
	n := 0
	for i, ok := range w.worked {
		d := windowStart.AddDays(i)
		if ok && d.Month() == m && (before == 0 || d < before) {
			n++
		}
	}
	return n
}

func (g *generator) money(r *rand.Rand, p *project) {
	seq := 0
	add := func(e *entry) {
		if e.date > p.feedUntil || e.date < windowStart || e.amount <= 0 {
			return
		}
		seq++
		e.seq = seq
		p.entries = append(p.entries, e)
	}
	expected := map[day.Month]money.Fen{}
	for _, w := range p.workers {
		for _, m := range months {
			expected[m] += money.Fen(w.days(m, 0)) * w.wage
		}
	}
	// Initial deposit: about half a month of labour cost.
	var est money.Fen
	for _, w := range p.workers {
		est += w.wage * 12
	}
	add(&entry{date: dateIn(r, windowStart, windowStart.AddDays(4)), credit: true, amount: roundYuan(est),
		kind: "deposit", cpAcct: p.unitAcct, cpName: p.unit, cpLatin: "CONSTRUCTION UNIT",
		e2e: fmt.Sprintf("DEP-%s-INIT", p.id), remit: "人工费预存"})
	o := classOdds[p.class]
	foremanPaid := false
	for mi, m := range months {
		// living allowance mid-month
		if p.advances {
			adv := m.Day(18)
			for _, w := range p.workers {
				if n := w.days(m, adv); n > 0 {
					amt := min(yuan(600), money.Fen(n)*w.wage)
					if w.advancePaid == nil {
						w.advancePaid = map[day.Month]money.Fen{}
					}
					if adv <= windowEnd {
						w.advancePaid[m] = amt
					}
					add(&entry{date: adv, amount: amt, kind: "payroll", cpAcct: w.card, cpName: w.name, cpLatin: w.latin,
						e2e: fmt.Sprintf("ADV-%s-%s-%03d", p.id, compact(m), w.n), remit: "生活费", batch: "A" + compact(m)})
				}
			}
		}
		// the month's fee
		add(&entry{date: min(m.Day(21), windowEnd), amount: yuan(10 + r.IntN(21)), kind: "fee", cpName: "账户管理费", cpLatin: "ACCOUNT FEE",
			remit: "账户管理费"})
		if mi == len(months)-1 {
			break // November's wages are not due before the window ends
		}
		// the construction unit deposits the month's labour cost early next month
		factor := map[int][2]float64{good: {1.02, 1.15}, sloppy: {0.92, 1.08}, bad: {0.6, 0.8}}[p.class]
		f := factor[0] + r.Float64()*(factor[1]-factor[0])
		add(&entry{date: m.Next().Day(1 + r.IntN(8)), credit: true, amount: roundYuan(money.Fen(float64(expected[m]) * f)),
			kind: "deposit", cpAcct: p.unitAcct, cpName: p.unit, cpLatin: "CONSTRUCTION UNIT",
			e2e: fmt.Sprintf("DEP-%s-%s", p.id, compact(m)), remit: fmt.Sprintf("%d月人工费", int(m.Mon()))})
		if p.class == bad && mi == 2 {
			continue // October's wages unpaid altogether
		}
		settle := due(m, p.payday).AddDays(-r.IntN(5))
		if first := m.Next().First(); settle < first {
			settle = first
		}
		var late []*entry
		for _, w := range p.workers {
			amt := money.Fen(w.days(m, 0))*w.wage - w.advancePaid[m]
			if amt <= 0 {
				continue
			}
			e := &entry{date: settle, amount: amt, kind: "payroll", cpAcct: w.card, cpName: w.name, cpLatin: w.latin,
				e2e: fmt.Sprintf("PAY-%s-%s-%03d", p.id, compact(m), w.n), remit: fmt.Sprintf("%d月工资", int(m.Mon())),
				batch: "S" + compact(m)}
			x := r.Float64()
			forceReturn := p.idx%40 == 7 && w.n == 1 && mi == 1 // one return never re-paid, whatever the odds
			if forceReturn {
				x = o.missing + o.short + o.late
			}
			switch {
			case x < o.missing:
				continue
			case x < o.missing+o.short:
				e.amount = roundYuan(money.Fen(float64(amt) * (0.5 + r.Float64()*0.4)))
			case x < o.missing+o.short+o.late:
				e.date = due(m, p.payday).AddDays(1 + r.IntN(20))
				e.batch = ""
				late = append(late, e)
				continue
			case x < o.missing+o.short+o.late+o.returned:
				ret := &entry{date: settle.AddDays(1 + r.IntN(4)), credit: true, amount: e.amount, kind: "return",
					cpAcct: w.card, cpName: w.name, cpLatin: w.latin, e2e: e.e2e, orig: e.e2e, remit: "退票 账户已销户"}
				late = append(late, ret)
				if r.Float64() < 0.6 && !forceReturn {
					late = append(late, &entry{date: ret.date.AddDays(2 + r.IntN(5)), amount: e.amount, kind: "payroll",
						cpAcct: w.card, cpName: w.name, cpLatin: w.latin, e2e: e.e2e + "-R", remit: "工资重发"})
				}
			}
			add(e)
		}
		for _, e := range late {
			add(e)
		}
		if !foremanPaid && mi == 2 && (r.Float64() < 0.03 || p.idx%40 == 3) {
			foremanPaid = true
			add(&entry{date: settle, amount: yuan(3000 + r.IntN(5000)), kind: "payroll",
				cpAcct: fmt.Sprintf("623052%010d", p.idx+1), cpName: "包工头", cpLatin: "FOREMAN",
				e2e: fmt.Sprintf("PAY-%s-%s-X", p.id, compact(m)), remit: "劳务费"})
		}
	}
	sort.SliceStable(p.entries, func(i, j int) bool {
		if p.entries[i].date != p.entries[j].date {
			return p.entries[i].date < p.entries[j].date
		}
		return p.entries[i].seq < p.entries[j].seq
	})
	var bal money.Fen
	perDay := map[day.Date]int{}
	for _, e := range p.entries {
		if e.credit {
			bal += e.amount
		} else {
			bal -= e.amount
		}
		e.balanceHere = bal
		perDay[e.date]++
		y, mo, d := e.date.Parts()
		e.ref = fmt.Sprintf("%s%02d%02d%02d%04d%03d", p.bank.code, y%100, int(mo), d, p.idx+1, perDay[e.date])
	}
}

func roundYuan(f money.Fen) money.Fen { return money.Fen(math.Round(float64(f)/100)) * 100 }

func compact(m day.Month) string { return fmt.Sprintf("%04d%02d", m.Year(), int(m.Mon())) }
