package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
	"github.com/wagewatch/wagewatch/shared/store"
)

// TestClaimManifest runs against the local DynamoDB emulator: one invocation
// claims a content hash; another is turned away while the claim is fresh,
// takes it over once it is stale (a crashed invocation's), and is turned
// away for good once the content is done.
func TestClaimManifest(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	st := localStore(t, func() time.Time { return now })
	ctx := context.Background()

	m := store.Manifest{Hash: "abc", Key: "bank/a.csv", StartedAt: now}
	const stale = 5 * time.Minute
	if err := st.ClaimManifest(ctx, m, stale); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	other := m
	other.Key, other.StartedAt = "bank/b.csv", now.Add(time.Minute)
	if err := st.ClaimManifest(ctx, other, stale); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("claim while another is fresh: err = %v, want ErrBusy", err)
	}
	other.StartedAt = now.Add(stale + time.Second)
	if err := st.ClaimManifest(ctx, other, stale); err != nil {
		t.Fatalf("take over a stale claim: %v", err)
	}
	done := other
	done.State = "done"
	if err := st.PutManifest(ctx, done); err != nil {
		t.Fatal(err)
	}
	late := m
	late.StartedAt = now.Add(time.Hour)
	if err := st.ClaimManifest(ctx, late, stale); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("claim of done content: err = %v, want ErrBusy", err)
	}
	got, ok, err := st.Manifest(ctx, "abc")
	if err != nil || !ok || got.State != "done" || got.Key != "bank/b.csv" {
		t.Fatalf("manifest = %+v, %v, %v", got, ok, err)
	}
}

// TestMarkReevaluation: the debounce marker holds back a second
// re-evaluation while it stands, is taken down by the evaluation, and a
// marker left behind by a lost evaluation stops holding after markerStale.
func TestMarkReevaluation(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	st := localStore(t, func() time.Time { return now })
	ctx := context.Background()

	steps := []struct {
		name    string
		advance time.Duration
		clear   bool
		want    bool
	}{
		{"first change schedules", 0, false, true},
		{"second change while pending", time.Minute, false, false},
		{"after the evaluation cleared it", 0, true, true},
		{"still pending 29 minutes on", 29 * time.Minute, false, false},
		{"lost evaluation: stale after 30 minutes", 2 * time.Minute, false, true},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.clear {
			if err := st.ClearReevaluation(ctx, "P1"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.MarkReevaluation(ctx, "P1")
		if err != nil || got != s.want {
			t.Fatalf("%s: MarkReevaluation = %v, %v; want %v", s.name, got, err, s.want)
		}
	}
}

// localStore returns a Store over the tables of a fresh namespace of the
// local stack (dynalite), torn down when the test ends.
func localStore(t *testing.T, now func() time.Time) *store.Store {
	t.Helper()
	cfg := stacktest.EnsureLocal(t)
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := stack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ns := stack.NewNamespace()
	res, err := stack.Provision(context.Background(), cfg, tpl, ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Teardown(context.Background(), cfg, ns) })
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = &res.Endpoints.DynamoDB })
	return store.New(db, store.Tables{
		Registry: res.Tables["RegistryTable"], Ledger: res.Tables["LedgerTable"], Attendance: res.Tables["AttendanceTable"],
		Alerts: res.Tables["AlertsTable"], Deliveries: res.Tables["DeliveriesTable"], Files: res.Tables["FilesTable"],
	}, now)
}
