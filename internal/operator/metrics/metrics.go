// Package metrics holds the operator's Prometheus metrics, registered on
// controller-runtime's registry so they are served next to its own at
// --metrics-bind-address.
package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/studio-operator/studio-operator/internal/store"
)

const namespace = "studio_operator"

var (
	// StoreRequestDuration is the latency of store API calls by operation and
	// outcome code ("ok" or the store error code).
	StoreRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace,
		Name:      "store_request_duration_seconds",
		Help:      "Latency of Studio user store requests by operation and result code.",
		Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"operation", "code"})

	// StoreRequestErrors counts failed store API calls by operation and error code.
	StoreRequestErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "store_request_errors_total",
		Help:      "Failed Studio user store requests by operation and error code.",
	}, []string{"operation", "code"})

	// InvitationsSent counts invitations the store sent on the operator's request.
	InvitationsSent = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "invitations_sent_total",
		Help:      "Invitations sent (first invitations and re-sends).",
	})

	// GrantsChanged counts role grants added or removed in the store, one per user,
	// scope and role, like the store's grant.added/grant.removed audit entries.
	GrantsChanged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "grants_changed_total",
		Help:      "Role grants added or removed in the store (per user, scope and role).",
	}, []string{"change"})

	// DriftCorrected counts store records the operator set back to the declared state
	// after a change made outside it.
	DriftCorrected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "drift_corrected_total",
		Help:      "Store records corrected after a change made outside the operator, by kind.",
	}, []string{"kind"})

	// users counts StudioUsers by state, read from the manager's cache at scrape time.
	users = newCountsCollector("users", "StudioUsers by state in the Studio (Unknown before the first reconcile).", "state")

	// revocationsHeld counts, per Agency, the users whose revocation the
	// mass-revocation guard holds until it is approved (status.heldRevocations.users;
	// 0 for an Agency without holds), read from the manager's cache at scrape time.
	revocationsHeld = newCountsCollector("revocations_held",
		"Users per Agency who keep access their manifests no longer give them, until the held revocations are approved.", "agency")
)

func init() {
	crmetrics.Registry.MustRegister(StoreRequestDuration, StoreRequestErrors, InvitationsSent,
		GrantsChanged, DriftCorrected, users, revocationsHeld)
}

// ObserveStoreRequest records one store call; it fits the store client's OnRequest hook.
func ObserveStoreRequest(op string, d time.Duration, err error) {
	code := "ok"
	if err != nil {
		code = string(store.CodeOf(err))
		StoreRequestErrors.WithLabelValues(op, code).Inc()
	}
	StoreRequestDuration.WithLabelValues(op, code).Observe(d.Seconds())
}

// Counts counts something by one label's values; the manager sets it to a function
// over its cache.
type Counts func(ctx context.Context) (map[string]int, error)

// SetUserStates makes the users gauge report what f counts (StudioUsers by
// status.state). The latest manager wins, which is what a process with one manager
// (or a test restarting one) wants.
func SetUserStates(f Counts) { users.f.Store(&f) }

// SetHeldRevocations makes the revocations_held gauge report what f counts (held
// users by Agency). The latest manager wins.
func SetHeldRevocations(f Counts) { revocationsHeld.f.Store(&f) }

// countsCollector is a gauge read at scrape time, so it is never stale and deleted
// objects need no bookkeeping. A count that fails (the cache not started yet) reports
// no series rather than zeros.
type countsCollector struct {
	desc *prometheus.Desc
	f    atomic.Pointer[Counts]
}

func newCountsCollector(name, help, label string) *countsCollector {
	return &countsCollector{desc: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, []string{label}, nil)}
}

func (c *countsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countsCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.f.Load()
	if f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := (*f)(ctx)
	if err != nil {
		return
	}
	for value, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), value)
	}
}
