package mail

import (
	"errors"
	"testing"
	"time"
)

func TestWorkerWait(t *testing.T) {
	now := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		claimed int
		passErr error
		retries []time.Duration // from now
		want    time.Duration
	}{
		"nothing scheduled":          {want: time.Minute},
		"full batch: go on":          {claimed: 5, want: 0},
		"full batch but pass failed": {claimed: 5, passErr: errors.New("x"), want: time.Minute},
		"earliest retry wins":        {retries: []time.Duration{40 * time.Second, 5 * time.Second, 20 * time.Second}, want: 5 * time.Second},
		"retry past due":             {retries: []time.Duration{-time.Second}, want: 0},
		"retry after the poll":       {retries: []time.Duration{time.Hour}, want: time.Minute},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := &Worker{opts: WorkerOptions{PollInterval: time.Minute, BatchSize: 5, Clock: func() time.Time { return now }}}
			for _, d := range tc.retries {
				w.noteRetry(now.Add(d))
			}
			if got := w.wait(tc.claimed, tc.passErr); got != tc.want {
				t.Errorf("wait = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWorkerForgetsRetriesThatFellDue(t *testing.T) {
	now := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	w := &Worker{opts: WorkerOptions{PollInterval: time.Minute, BatchSize: 5, Clock: func() time.Time { return now }}}
	w.noteRetry(now.Add(time.Second))
	w.noteRetry(now.Add(30 * time.Second))
	now = now.Add(2 * time.Second)
	w.forgetRetriesDue(now)
	if got := w.wait(0, nil); got != 28*time.Second {
		t.Errorf("wait = %v, want the later retry in 28s", got)
	}
}
