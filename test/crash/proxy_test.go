package crash

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// faultKind is one kind of fault the proxy injects.
type faultKind int

const (
	faultLatency faultKind = iota
	fault5xx
	faultReset
	faultDropAfterCommit
	numFaultKinds
)

func (k faultKind) String() string {
	return [...]string{"latency", "5xx", "connection reset", "write committed, response dropped"}[k]
}

// faultRates are the probabilities per request. Latency adds to whatever else
// happens; the other three exclude one another, and dropping after commit applies
// only to writes (PUT, POST, DELETE).
type faultRates struct {
	latency, status5xx, reset, dropAfterCommit float64
	maxLatency                                 time.Duration
}

// defaultRates put a fault on roughly one request in five.
var defaultRates = faultRates{latency: 0.2, status5xx: 0.05, reset: 0.04, dropAfterCommit: 0.1, maxLatency: 150 * time.Millisecond}

// faultProxy is a reverse proxy on 127.0.0.1 in front of the store: the only fake of
// the harness, there to inject faults between the manager and the store. While
// faults are off it forwards everything untouched.
type faultProxy struct {
	target    *url.URL
	transport *http.Transport
	rp        *httputil.ReverseProxy
	srv       *http.Server
	url       string
	rates     faultRates

	on     atomic.Bool
	mu     sync.Mutex
	rng    *rand.Rand
	counts [numFaultKinds]atomic.Int64
	served atomic.Int64
	// inFlight counts the requests being served, so a kill can tell whether it cut
	// the manager off in the middle of talking to the store.
	inFlight atomic.Int64
}

// startFaultProxy listens on a free port of 127.0.0.1 and forwards to target; faults
// start off. The caller closes it.
func startFaultProxy(target string, seed uint64, rates faultRates) (*faultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
	p := &faultProxy{target: u, transport: tr, url: "http://" + ln.Addr().String(), rates: rates,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.Transport = tr
	p.rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		w.WriteHeader(http.StatusBadGateway) // the store is down (killed, restarting)
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *faultProxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	p.transport.CloseIdleConnections()
}

// setFaults turns fault injection on or off.
func (p *faultProxy) setFaults(on bool) { p.on.Store(on) }

// faultCounts is how many faults of each kind were injected.
func (p *faultProxy) faultCounts() map[faultKind]int64 {
	out := map[faultKind]int64{}
	for k := range numFaultKinds {
		out[k] = p.counts[k].Load()
	}
	return out
}

// roll draws the fault for one request: a latency (0 for none) and at most one of
// 5xx, reset or drop-after-commit.
func (p *faultProxy) roll(write bool) (delay time.Duration, kind faultKind, faulty bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng.Float64() < p.rates.latency {
		delay = time.Duration(p.rng.Int64N(int64(p.rates.maxLatency))) + time.Millisecond
	}
	x := p.rng.Float64()
	switch {
	case x < p.rates.status5xx:
		return delay, fault5xx, true
	case x < p.rates.status5xx+p.rates.reset:
		return delay, faultReset, true
	case write && x < p.rates.status5xx+p.rates.reset+p.rates.dropAfterCommit:
		return delay, faultDropAfterCommit, true
	}
	return delay, 0, false
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.served.Add(1)
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	if !p.on.Load() {
		p.rp.ServeHTTP(w, r)
		return
	}
	write := r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodDelete
	delay, kind, faulty := p.roll(write)
	if delay > 0 {
		p.counts[faultLatency].Add(1)
		time.Sleep(delay)
	}
	if !faulty {
		p.rp.ServeHTTP(w, r)
		return
	}
	switch kind {
	case fault5xx:
		p.counts[fault5xx].Add(1)
		codes := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(codes[int(p.served.Load())%len(codes)])
		_, _ = io.WriteString(w, `{"title":"injected fault"}`)
	case faultReset:
		p.counts[faultReset].Add(1)
		resetConn(w)
	case faultDropAfterCommit:
		if p.forwardAndDiscard(r) {
			p.counts[faultDropAfterCommit].Add(1)
		}
		resetConn(w)
	}
}

// forwardAndDiscard sends r to the store and reads its whole answer, so that the
// write has committed, and throws the answer away. It reports whether the store
// answered at all.
func (p *faultProxy) forwardAndDiscard(r *http.Request) bool {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = p.target.Host
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return true
}

// resetConn ends the client's connection with a TCP RST, without an answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(errors.New("fault proxy: the response writer cannot be hijacked"))
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
