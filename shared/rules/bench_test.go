package rules

import (
	"fmt"
	"testing"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/registry"
)

// BenchmarkEvaluate measures a large project: 2,000 workers, a year of
// attendance (about 22 days a month each) and a payment per worker and month.
func BenchmarkEvaluate(b *testing.B) {
	s := Snapshot{
		Project:    registry.Project{ID: "P1", Status: registry.Active, StartDate: dt("2026-01-01"), WageAccount: "A1", Payday: 15},
		Attendance: map[string][]day.Date{},
	}
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("W%04d", i)
		s.Roster = append(s.Roster, enrol(id, 300, "2026-01-01"))
		for d := dt("2026-01-01"); d < dt("2026-12-31"); d++ {
			if int(d)%7 < 5 {
				s.Attendance[id] = append(s.Attendance[id], d)
			}
		}
		for m := mo("2026-01"); m < mo("2026-12"); m++ {
			s.Entries = append(s.Entries, pay(m.Next().Day(10).String(), id, 6000, fmt.Sprintf("E%s%s", id, m)))
		}
	}
	t := at("2026-12-20")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if fs := Evaluate(s, t, DefaultConfig()); len(fs) == 0 {
			b.Fatal("nothing fired")
		}
	}
}
