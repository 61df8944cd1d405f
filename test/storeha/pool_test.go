package storeha

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/client"
)

// Retry bounds of one logical request.
const (
	maxAttempts    = 6
	retryBackoff   = 25 * time.Millisecond
	requestTimeout = 10 * time.Second
)

// pool sends requests to the replicas in turn, the way a Service spreads them, and
// fails over: a request that fails with a transient error is retried, on another
// replica when there is one, with the same arguments (and so the same
// Idempotency-Key). A replica whose connection is refused or cut is taken out of the
// rotation, as a Service drops an endpoint that stops answering.
type pool struct {
	clients []*client.Client
	cutters []*answerCutter // the clients' transports
	down    []atomic.Bool
	next    atomic.Uint64
	// steer, when not -1, is the replica the next SendInvitation goes to first.
	steer atomic.Int64

	answered []atomic.Int64 // requests each replica answered
	failed   []atomic.Int64 // attempts that failed on each replica
	retried  atomic.Int64   // attempts after a failed one

	mu sync.Mutex
	// recoveredAt is when the first request that had failed succeeded on a retry.
	recoveredAt time.Time
}

// newPool returns a pool of clients of the replicas. Each client's transport can cut
// one answer to SendInvitation and keep it back until killed is closed (see
// answerCutter).
func newPool(replicas []*replica, token string, killed <-chan struct{}) (*pool, error) {
	p := &pool{
		down:     make([]atomic.Bool, len(replicas)),
		answered: make([]atomic.Int64, len(replicas)),
		failed:   make([]atomic.Int64, len(replicas)),
	}
	p.steer.Store(-1)
	for _, r := range replicas {
		cutter := newAnswerCutter(killed)
		c, err := client.New(r.url, client.Options{
			Token: token, Manager: "storeha", Timeout: requestTimeout, HTTPClient: &http.Client{Transport: cutter},
		})
		if err != nil {
			return nil, err
		}
		p.clients = append(p.clients, c)
		p.cutters = append(p.cutters, cutter)
	}
	return p, nil
}

// cutNextInvitation makes the next SendInvitation go to replica i and have its answer
// cut, and returns where the cut answer arrives.
func (p *pool) cutNextInvitation(i int) <-chan cutAnswer {
	p.cutters[i].armed.Store(true)
	p.steer.Store(int64(i))
	return p.cutters[i].cut
}

// pick returns the next replica in turn that is not down, avoiding avoid (the one
// that just failed) when another is up.
func (p *pool) pick(avoid int) int {
	n := len(p.clients)
	first := -1
	for range n {
		i := int(p.next.Add(1) % uint64(n))
		if p.down[i].Load() {
			continue
		}
		if i != avoid {
			return i
		}
		first = i
	}
	if first >= 0 {
		return first
	}
	return int(p.next.Load() % uint64(n)) // all down: keep trying in turn
}

// do runs fn against one replica after another until it succeeds, fails for good
// or runs out of attempts. It returns the index of the replica that answered.
func (p *pool) do(ctx context.Context, op string, fn func(c *client.Client) error) (int, error) {
	last := -1
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		i := p.pick(last)
		if attempt == 1 && op == "SendInvitation" {
			if s := p.steer.Swap(-1); s >= 0 {
				i = int(s)
			}
		}
		if err = fn(p.clients[i]); err == nil {
			p.answered[i].Add(1)
			if attempt > 1 {
				p.noteRecovered()
			}
			return i, nil
		}
		if !store.IsTransient(err) {
			return i, fmt.Errorf("%s: %w", op, err)
		}
		p.failed[i].Add(1)
		if replicaGone(err) {
			p.down[i].Store(true)
		}
		last = i
		p.retried.Add(1)
		select {
		case <-ctx.Done():
			return i, fmt.Errorf("%s: %w (last error: %v)", op, ctx.Err(), err)
		case <-time.After(time.Duration(attempt) * retryBackoff):
		}
	}
	return last, fmt.Errorf("%s: %d attempts failed, the last with: %w", op, maxAttempts, err)
}

func (p *pool) noteRecovered() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.recoveredAt.IsZero() {
		p.recoveredAt = time.Now()
	}
}

func (p *pool) firstRecovery() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.recoveredAt
}

// replicaGone reports whether err says the connection was refused or cut, rather than
// that the replica answered with an error.
func replicaGone(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
