package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCountNew(t *testing.T) {
	items := make([]int, 500)
	for i := range items {
		items[i] = i
	}
	t.Run("counts the new ones, all written, bounded", func(t *testing.T) {
		var calls, inFlight, peak atomic.Int64
		added, err := countNew(context.Background(), items, func(_ context.Context, v int) (bool, error) {
			calls.Add(1)
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			defer inFlight.Add(-1)
			return v%3 != 0, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 500 || added != 500-167 {
			t.Fatalf("calls %d, added %d; want 500, 333", calls.Load(), added)
		}
		if peak.Load() > writeConcurrency {
			t.Fatalf("%d writes at once, want at most %d", peak.Load(), writeConcurrency)
		}
	})
	t.Run("returns the first error", func(t *testing.T) {
		boom := errors.New("throttled")
		_, err := countNew(context.Background(), items, func(_ context.Context, v int) (bool, error) {
			if v == 10 {
				return false, boom
			}
			return true, nil
		})
		// How many writes start after the error depends on scheduling;
		// none is required.
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	})
	t.Run("nothing to write", func(t *testing.T) {
		added, err := countNew(context.Background(), nil, func(context.Context, int) (bool, error) { return true, nil })
		if added != 0 || err != nil {
			t.Fatalf("added %d, err %v", added, err)
		}
	})
}

func TestPutEach(t *testing.T) {
	type row struct{ key, val string }
	// Keys a and b come back; each key's rows must be put in order.
	items := []row{{"a", "1"}, {"b", "1"}, {"c", "1"}, {"a", "2"}, {"d", "1"}, {"b", "2"}, {"a", "3"}}
	for i := range 200 {
		items = append(items, row{key: "k" + strconv.Itoa(i), val: "1"})
	}
	var mu sync.Mutex
	order := map[string][]string{}
	var inFlight, peak atomic.Int64
	changed, err := putEach(context.Background(), items, func(r row) string { return r.key }, func(_ context.Context, r row) (bool, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		mu.Lock()
		order[r.key] = append(order[r.key], r.val)
		mu.Unlock()
		time.Sleep(200 * time.Microsecond) // long enough for the puts to overlap
		return r.val != "2", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string][]string{"a": {"1", "2", "3"}, "b": {"1", "2"}, "c": {"1"}} {
		if got := order[k]; !slices.Equal(got, want) {
			t.Errorf("key %s put in order %v, want %v", k, got, want)
		}
	}
	for i, r := range items {
		if changed[i] != (r.val != "2") {
			t.Errorf("item %d (%v): changed %v, want %v", i, r, changed[i], r.val != "2")
		}
	}
	if p := peak.Load(); p > writeConcurrency || p < 2 {
		t.Errorf("%d puts at once, want between 2 and %d", p, writeConcurrency)
	}
	t.Run("the first error stops it", func(t *testing.T) {
		boom := errors.New("throttled")
		_, err := putEach(context.Background(), items, func(r row) string { return r.key }, func(_ context.Context, r row) (bool, error) {
			if r.key == "c" {
				return false, boom
			}
			return true, nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
	})
}
