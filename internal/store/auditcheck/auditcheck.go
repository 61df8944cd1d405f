// Package auditcheck keeps the result of the store's audit chain check and runs it:
// on demand for the pages' badge, at an interval for monitoring, and never two at
// once. A check re-walks the whole log (seconds for hundreds of thousands of entries),
// so callers get the last result at once and a stale one starts a new check in the
// background. The result is exported as Prometheus gauges, so a broken chain can
// page someone instead of waiting for a person to open the audit log.
package auditcheck

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/studio-operator/studio-operator/internal/store"
)

// DefaultTimeout bounds one check.
const DefaultTimeout = 5 * time.Minute

// Verifier checks the audit chain; store.API is one.
type Verifier interface {
	VerifyAudit(ctx context.Context) (store.AuditVerification, error)
}

// Result is the last check: the store's answer and when it came.
type Result struct {
	store.AuditVerification
	CheckedAt time.Time
	// Took is how long the check ran.
	Took time.Duration
	// Pending: no check has finished yet.
	Pending bool
	// Err: the last check could not be made (the store did not answer).
	Err bool
}

// Checker runs chain checks, one at a time, and keeps the last result.
type Checker struct {
	v       Verifier
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration

	// base is the context of every check; Close cancels it.
	base   context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	last    Result
	lastOK  *Result       // the last check that got an answer, for the gauges
	running chan struct{} // closed when the check under way ends; nil when none runs
	failed  prometheus.Counter
}

// Options tune a Checker; the zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives a broken chain (error) and checks that could not be made
	// (warning). Nil discards.
	Logger *slog.Logger
	// Timeout bounds one check; 0 means DefaultTimeout.
	Timeout time.Duration
}

// New returns a checker of v's chain; no check runs until one is asked for.
func New(v Verifier, opts Options) *Checker {
	c := &Checker{v: v, now: opts.Now, log: opts.Logger, timeout: opts.Timeout}
	c.base, c.cancel = context.WithCancel(context.Background())
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	c.failed = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "studio_store", Name: "audit_chain_check_failures_total",
		Help: "Audit chain checks that could not be made (the database did not answer).",
	})
	return c
}

// Get returns the last result, starting a new check in the background when there is
// none or it is older than maxAge. Before the first check has finished it waits up to
// wait (or until ctx ends) for it, then reports Pending.
func (c *Checker) Get(ctx context.Context, maxAge, wait time.Duration) Result {
	c.mu.Lock()
	if c.last.CheckedAt.IsZero() || c.now().Sub(c.last.CheckedAt) >= maxAge {
		c.startLocked()
	}
	running, last := c.running, c.last
	c.mu.Unlock()
	if !last.CheckedAt.IsZero() || running == nil {
		return last
	}
	return c.await(ctx, running, wait)
}

// CatchUp is for a caller that shows entries up to newest: when the last result walked
// fewer, it starts a check, and waits up to wait for it if the last check took less
// than half that (a small log); otherwise it returns the last result at once. A log
// always ahead of its last check (a busy one) is walked again no sooner than ten times
// the last check's duration after it, so that the checks take at most a tenth of a
// core however often the page is opened.
func (c *Checker) CatchUp(ctx context.Context, newest int64, wait time.Duration) Result {
	c.mu.Lock()
	last := c.last
	if last.Pending || last.CheckedAt.IsZero() || last.Entries >= newest || c.now().Sub(last.CheckedAt) < 10*last.Took {
		c.mu.Unlock()
		return last
	}
	c.startLocked()
	running := c.running
	c.mu.Unlock()
	if running == nil || last.Took >= wait/2 {
		return last
	}
	return c.await(ctx, running, wait)
}

// await waits up to wait for running to end and returns the last result then.
func (c *Checker) await(ctx context.Context, running chan struct{}, wait time.Duration) Result {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-running:
	case <-t.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.CheckedAt.IsZero() {
		return Result{Pending: true}
	}
	return c.last
}

// Check runs a check now, or waits for the one under way, and returns its result.
func (c *Checker) Check(ctx context.Context) Result {
	c.mu.Lock()
	c.startLocked()
	running := c.running
	c.mu.Unlock()
	if running == nil {
		return Result{Pending: true} // closed
	}
	select {
	case <-running:
	case <-ctx.Done():
		return Result{Pending: true}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Run checks the chain at once and then every interval until ctx ends; interval <= 0
// returns at once (checks then run only when asked for).
func (c *Checker) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		c.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close cancels a check under way and waits for it to end; call it before closing
// the store. No check starts after it.
func (c *Checker) Close() {
	c.cancel()
	c.mu.Lock()
	running := c.running
	c.mu.Unlock()
	if running != nil {
		<-running
	}
}

// startLocked starts a check unless one runs or the checker is closed; c.mu is held.
func (c *Checker) startLocked() {
	if c.running == nil && c.base.Err() == nil {
		c.running = make(chan struct{})
		go c.check(c.running)
	}
}

// check runs one chain check; it outlives the request that started it.
func (c *Checker) check(done chan struct{}) {
	ctx, cancel := context.WithTimeout(c.base, c.timeout)
	defer cancel()
	start := time.Now()
	res, err := c.v.VerifyAudit(ctx)
	r := Result{AuditVerification: res, CheckedAt: c.now(), Took: time.Since(start)}
	switch {
	case err != nil && c.base.Err() != nil:
		r = Result{Pending: true} // closed while checking: no result, nothing to report
	case err != nil:
		r = Result{CheckedAt: r.CheckedAt, Took: r.Took, Err: true}
		c.failed.Inc()
		c.log.LogAttrs(ctx, slog.LevelWarn, "audit chain check could not be made", slog.String("code", string(store.CodeOf(err))), slog.Any("error", err))
	case !res.OK:
		attrs := []slog.Attr{slog.Int64("entries", res.Entries), slog.String("problem", res.Problem)}
		if res.FirstBad != nil {
			attrs = append(attrs, slog.Int64("firstBad", *res.FirstBad))
		}
		c.log.LogAttrs(ctx, slog.LevelError, "audit chain does not verify", attrs...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !r.Pending {
		c.last = r
	}
	if !r.Err && !r.Pending {
		c.lastOK = &r
	}
	c.running = nil
	close(done)
}

var (
	verifiedDesc = prometheus.NewDesc("studio_store_audit_chain_verified",
		"1 when the last audit chain check verified every entry, 0 when an entry was edited, missing or reordered; absent before the first check.", nil, nil)
	entriesDesc = prometheus.NewDesc("studio_store_audit_chain_entries",
		"Audit log entries the last chain check walked.", nil, nil)
	checkedDesc = prometheus.NewDesc("studio_store_audit_chain_last_check_timestamp_seconds",
		"When the last audit chain check that got an answer ended (Unix time).", nil, nil)
)

// Collectors are the checker's metrics: the gauges of the last answered check and the
// count of checks that could not be made.
func (c *Checker) Collectors() []prometheus.Collector {
	return []prometheus.Collector{gauges{c}, c.failed}
}

type gauges struct{ c *Checker }

func (g gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- verifiedDesc
	ch <- entriesDesc
	ch <- checkedDesc
}

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	g.c.mu.Lock()
	r := g.c.lastOK
	g.c.mu.Unlock()
	if r == nil {
		return
	}
	ok := 0.0
	if r.OK {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(verifiedDesc, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(entriesDesc, prometheus.GaugeValue, float64(r.Entries))
	ch <- prometheus.MustNewConstMetric(checkedDesc, prometheus.GaugeValue, float64(r.CheckedAt.UnixNano())/1e9)
}
