package storeha

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Readiness polling.
const (
	readyPollInterval = 25 * time.Millisecond
	// readyPollTimeout is a little more than the store's own 2s database check.
	readyPollTimeout = 3 * time.Second
)

// readyPoll is one poll of /readyz: when it started and ended, and the status, or 0
// when there was no answer.
type readyPoll struct {
	at, end time.Time
	status  int
}

// readyPoller polls a replica's /readyz until stopped, as a kubelet's readiness
// probe would, and keeps every answer.
type readyPoller struct {
	stop context.CancelFunc
	done chan struct{}

	mu    sync.Mutex
	polls []readyPoll
}

func startReadyPoller(url string) *readyPoller {
	ctx, stop := context.WithCancel(context.Background())
	p := &readyPoller{stop: stop, done: make(chan struct{})}
	hc := &http.Client{Timeout: readyPollTimeout}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(readyPollInterval)
		defer tick.Stop()
		for {
			at := time.Now()
			status := 0
			if req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil); err == nil {
				if resp, err := hc.Do(req); err == nil {
					status = resp.StatusCode
					_ = resp.Body.Close()
				}
			}
			if ctx.Err() != nil {
				return // a poll cut short by stop is no answer
			}
			p.mu.Lock()
			p.polls = append(p.polls, readyPoll{at: at, end: time.Now(), status: status})
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// finish stops polling and returns the answers.
func (p *readyPoller) finish() []readyPoll {
	p.stop()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.polls
}

// notReady counts the polls that ended before until and did not answer 200; a zero
// until counts all.
func notReady(polls []readyPoll, until time.Time) (bad, total int) {
	for _, p := range polls {
		if !until.IsZero() && !p.end.Before(until) {
			continue
		}
		total++
		if p.status != http.StatusOK {
			bad++
		}
	}
	return bad, total
}
