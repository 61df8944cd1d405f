package ui

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in attempt limits: failed attempts are what they count, per client address and
// for the whole server, so guessing tokens from one address or from many is slow.
const (
	perClientEvery = 12 * time.Second // 5 a minute
	perClientBurst = 5
	overallEvery   = time.Second // 60 a minute
	overallBurst   = 30
	maxClients     = 10000
)

// attemptLimiter rate-limits failed sign-ins.
type attemptLimiter struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
	overall *rate.Limiter
	now     func() time.Time
}

func newAttemptLimiter(now func() time.Time) *attemptLimiter {
	return &attemptLimiter{
		clients: map[string]*rate.Limiter{},
		overall: rate.NewLimiter(rate.Every(overallEvery), overallBurst),
		now:     now,
	}
}

// allowed reports whether the client may try to sign in now; when not, how long it
// should wait.
func (l *attemptLimiter) allowed(client string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lim := range []*rate.Limiter{l.clientLocked(client), l.overall} {
		if lim.TokensAt(now) < 1 {
			wait := time.Duration((1 - lim.TokensAt(now)) / float64(lim.Limit()) * float64(time.Second))
			return false, wait.Round(time.Second) + time.Second
		}
	}
	return true, 0
}

// failed records a failed attempt of client.
func (l *attemptLimiter) failed(client string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clientLocked(client).AllowN(now, 1)
	l.overall.AllowN(now, 1)
}

func (l *attemptLimiter) clientLocked(client string) *rate.Limiter {
	lim, ok := l.clients[client]
	if ok {
		return lim
	}
	if len(l.clients) >= maxClients {
		// Forget the clients whose bucket is full again: they lose nothing.
		now := l.now()
		for c, cl := range l.clients {
			if cl.TokensAt(now) >= perClientBurst {
				delete(l.clients, c)
			}
		}
	}
	lim = rate.NewLimiter(rate.Every(perClientEvery), perClientBurst)
	if len(l.clients) < maxClients {
		// Past the bound a client is not remembered; the overall limit still holds.
		l.clients[client] = lim
	}
	return lim
}

// clientAddress is the host of the request's peer. Behind a proxy all clients share
// the proxy's address, so the per-client limit then acts like the overall one.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
