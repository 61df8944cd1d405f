package mail

import (
	"testing"
	"time"
)

func TestExponentialBackoff(t *testing.T) {
	cases := map[string]struct {
		attempt  int
		min, max time.Duration
	}{
		"first":           {attempt: 1, min: time.Second, max: 1500 * time.Millisecond},
		"third":           {attempt: 3, min: 4 * time.Second, max: 6 * time.Second},
		"eighth":          {attempt: 8, min: 128 * time.Second, max: 192 * time.Second},
		"capped":          {attempt: 10, min: 5 * time.Minute, max: 5 * time.Minute},
		"huge attempt":    {attempt: 1000, min: 5 * time.Minute, max: 5 * time.Minute},
		"nonsense (zero)": {attempt: 0, min: time.Second, max: 1500 * time.Millisecond},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 50 {
				d := ExponentialBackoff(tc.attempt)
				if d < tc.min || d > tc.max {
					t.Fatalf("ExponentialBackoff(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.min, tc.max)
				}
				seen[d] = true
			}
			if tc.min != tc.max && len(seen) < 2 {
				t.Errorf("ExponentialBackoff(%d) has no jitter", tc.attempt)
			}
		})
	}
}
