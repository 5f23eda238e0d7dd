package notify

import (
	"math"
	"time"
)

// The retry schedule of a failed delivery: exponential backoff from
// RetryBase, each delay at most RetryCap, until RetryHorizon after the first
// attempt.
const (
	RetryBase    = 30 * time.Second
	RetryCap     = time.Hour
	RetryHorizon = 24 * time.Hour
)

// Backoff returns the delay before retry number attempt (1 for the first
// retry, after the first failed attempt): with d = min(RetryCap, RetryBase ·
// 2^(attempt−1)), a delay drawn uniformly from [d/2, d) by rnd, which returns
// a number in [0, 1) (math/rand/v2's Float64). The jitter spreads the retries
// of many deliveries that failed together; the lower half bound keeps the
// schedule growing. An attempt below 1 counts as 1.
func Backoff(attempt int, rnd func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := RetryCap
	// 2^7 · 30 s > 1 h: from attempt 8 on the cap holds (and no shift overflows).
	if attempt <= 7 {
		d = min(RetryCap, RetryBase<<(attempt-1))
	}
	f := rnd()
	if f < 0 || f >= 1 || math.IsNaN(f) {
		f = 0
	}
	half := d / 2
	return half + time.Duration(f*float64(d-half))
}

// GiveUp reports whether a delivery first attempted at firstAttempt is past
// the retry horizon at now and should be recorded as failed for good.
func GiveUp(firstAttempt, now time.Time) bool {
	return now.Sub(firstAttempt) >= RetryHorizon
}
