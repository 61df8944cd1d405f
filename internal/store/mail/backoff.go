package mail

import (
	"math/rand/v2"
	"time"
)

// Bounds of the default retry backoff.
const (
	MinBackoff = time.Second
	MaxBackoff = 5 * time.Minute
)

// ExponentialBackoff is the default WorkerOptions.Backoff: 1s after the first failed
// attempt, doubling per attempt, plus up to 50% random jitter so that messages that
// failed together (the mail server was down) do not all retry in the same instant;
// always within MinBackoff..MaxBackoff.
func ExponentialBackoff(attempt int) time.Duration {
	d := MaxBackoff
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 20 { // beyond, the shift would pass MaxBackoff long before overflowing
		d = min(MinBackoff<<(attempt-1), MaxBackoff)
	}
	d += rand.N(d/2 + 1)
	return max(MinBackoff, min(d, MaxBackoff))
}
