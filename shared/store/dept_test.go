package store_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/alert"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/rules"
	"github.com/wagewatch/wagewatch/shared/store"
)

// TestDepartmentAlertsPages runs against the local DynamoDB emulator with
// more alerts and projects than one BatchGetItem reads (100): pages follow
// each other newest first, whole and without repeats, and the projects of
// 230 ids come back from three batches.
func TestDepartmentAlertsPages(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	st := localStore(t, func() time.Time { return t0 })
	ctx := t.Context()

	const n = 230
	var want []string // newest first
	var ids []string
	for i := range n {
		p := registry.Project{ID: fmt.Sprintf("PG-%03d", i), Name: fmt.Sprintf("工程%03d", i), CountyCode: "620502",
			Sector: registry.Housing, Status: registry.Active, Payday: 15}
		if _, err := st.PutProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		a := alert.Alert{ID: store.AlertID(p.ID, rules.WageArrears, 1), ProjectID: p.ID, Rule: rules.WageArrears, Seq: 1,
			Status: alert.Open, Severity: rules.Yellow, Recipients: []string{"pg-dept"},
			OpenedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0}
		if i%2 == 1 {
			a.Recipients = append(a.Recipients, "pg-other")
		}
		if err := st.SaveAlert(ctx, a, 0); err != nil {
			t.Fatal(err)
		}
		want = append([]string{a.ID}, want...)
	}

	for _, limit := range []int{1, 99, 100, 101, 230, 500} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > n/limit+1 {
					t.Fatalf("more than %d pages", pages)
				}
				page, next, err := st.DepartmentAlerts(ctx, "pg-dept", after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("page of %d alerts, limit %d", len(page), limit)
				}
				for _, a := range page {
					got = append(got, a.ID)
				}
				if next == "" {
					break
				}
				if next != store.DeptCursor(page[len(page)-1]) || !store.ValidDeptCursor(next) {
					t.Fatalf("next %q is not the cursor of the page's last alert", next)
				}
				after = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("paged through %d alerts, want %d newest first (first %v)", len(got), len(want), got[:min(3, len(got))])
			}
		})
	}
	all, err := st.AlertsOfDepartment(ctx, "pg-other")
	if err != nil || len(all) != n/2 || all[0].ID != want[0] || all[n/2-1].ID != want[n-2] {
		t.Errorf("AlertsOfDepartment(pg-other): %d alerts (%v), want %d from %s to %s", len(all), err, n/2, want[0], want[n-2])
	}

	projects, err := st.ProjectsByID(ctx, append(append(ids, ids[:10]...), "PG-missing"))
	if err != nil {
		t.Fatal(err)
	}
	if len(projects) != n || projects["PG-229"].Name != "工程229" || projects["PG-000"].Name != "工程000" {
		t.Errorf("ProjectsByID: %d projects, want %d with their names", len(projects), n)
	}
	if _, ok := projects["PG-missing"]; ok {
		t.Error("ProjectsByID found an unregistered project")
	}
}
