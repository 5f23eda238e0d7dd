package notify

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		rnd      float64
		want     time.Duration
		lo, hi   time.Duration
		describe string
	}{
		{attempt: 1, rnd: 0, want: 15 * time.Second},
		{attempt: 1, rnd: 0.5, want: 22500 * time.Millisecond},
		{attempt: 0, rnd: 0, want: 15 * time.Second},
		{attempt: -3, rnd: 0, want: 15 * time.Second},
		{attempt: 2, rnd: 0, want: 30 * time.Second},
		{attempt: 3, rnd: 0, want: 60 * time.Second},
		{attempt: 7, rnd: 0, want: 16 * time.Minute},
		{attempt: 8, rnd: 0, want: 30 * time.Minute},
		{attempt: 1000, rnd: 0, want: 30 * time.Minute},
		{attempt: 1 << 30, rnd: 0.999, lo: 30 * time.Minute, hi: time.Hour},
		{attempt: 5, rnd: 2, want: 4 * time.Minute},  // out-of-range rnd counts as 0
		{attempt: 5, rnd: -1, want: 4 * time.Minute}, // out-of-range rnd counts as 0
	}
	for _, tc := range tests {
		got := Backoff(tc.attempt, func() float64 { return tc.rnd })
		if tc.hi != 0 {
			if got < tc.lo || got >= tc.hi {
				t.Errorf("Backoff(%d, %v) = %v, want in [%v, %v)", tc.attempt, tc.rnd, got, tc.lo, tc.hi)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tc.attempt, tc.rnd, got, tc.want)
		}
	}
	// Every delay lies in [d/2, d) with d the capped exponential.
	for attempt := 1; attempt <= 40; attempt++ {
		d := RetryCap
		if attempt < 10 {
			d = min(RetryCap, RetryBase*time.Duration(1<<(attempt-1)))
		}
		for _, r := range []float64{0, 0.25, 0.999999} {
			got := Backoff(attempt, func() float64 { return r })
			if got < d/2 || got >= d {
				t.Errorf("Backoff(%d, %v) = %v outside [%v, %v)", attempt, r, got, d/2, d)
			}
		}
	}
}

// TestBackoffSchedule checks that the schedule reaches the 24 h horizon in a
// bounded number of attempts even with the shortest jitter.
func TestBackoffSchedule(t *testing.T) {
	first := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	now := first
	attempts := 1
	for !GiveUp(first, now) {
		now = now.Add(Backoff(attempts, func() float64 { return 0 }))
		attempts++
		if attempts > 100 {
			t.Fatalf("still retrying after %d attempts at %v", attempts, now)
		}
	}
	// 15 s, 30 s, …, 16 min (7 steps ≈ 32 min), then 30 min each: ≈ 55 attempts.
	if attempts < 40 || attempts > 60 {
		t.Errorf("%d attempts to reach the horizon with minimal jitter", attempts)
	}
}

func TestGiveUp(t *testing.T) {
	first := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		after time.Duration
		want  bool
	}{
		{0, false},
		{time.Hour, false},
		{RetryHorizon - time.Second, false},
		{RetryHorizon, true},
		{RetryHorizon + time.Minute, true},
	}
	for _, tc := range tests {
		if got := GiveUp(first, first.Add(tc.after)); got != tc.want {
			t.Errorf("GiveUp after %v = %v, want %v", tc.after, got, tc.want)
		}
	}
}
