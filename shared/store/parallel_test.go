package store

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
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
