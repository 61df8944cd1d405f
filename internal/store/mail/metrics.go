package mail

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the delivery worker's Prometheus collectors. The caller registers
// Collectors() with its registry; a nil *Metrics records nothing. No metric carries
// an address or any other label from a message.
type Metrics struct {
	// Sent counts messages handed over (SMTP accepted, or .eml written).
	Sent prometheus.Counter
	// FailedAttempts counts failed delivery attempts by error class.
	FailedAttempts *prometheus.CounterVec
	// DeadLettered counts messages set aside for good.
	DeadLettered prometheus.Counter
	// QueueAge observes, per delivered message, the seconds from its enqueueing to
	// its delivery.
	QueueAge prometheus.Histogram
	// OldestClaimedAge is the age in seconds of the oldest message in the last
	// claimed batch (0 when the last pass found nothing due): a growing value means
	// mail is stuck.
	OldestClaimedAge prometheus.Gauge
}

// NewMetrics returns unregistered collectors named studio_store_mail_*.
func NewMetrics() *Metrics {
	return &Metrics{
		Sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "studio_store_mail_sent_total",
			Help: "Emails handed over to the mail server or written to the mail directory.",
		}),
		FailedAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "studio_store_mail_failed_attempts_total",
			Help: "Failed email delivery attempts, by error class (temporary, permanent, invalid).",
		}, []string{"class"}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "studio_store_mail_dead_lettered_total",
			Help: "Emails given up on after too many failed attempts; they stay in the outbox with their last error.",
		}),
		QueueAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "studio_store_mail_queue_age_seconds",
			Help:    "Time from enqueueing an email in the outbox to its delivery.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}),
		OldestClaimedAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "studio_store_mail_oldest_claimed_age_seconds",
			Help: "Age of the oldest email in the last batch claimed from the outbox; 0 when nothing was due.",
		}),
	}
}

// Collectors lists the collectors to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Sent, m.FailedAttempts, m.DeadLettered, m.QueueAge, m.OldestClaimedAge}
}

func (m *Metrics) sent(ageSeconds float64) {
	if m == nil {
		return
	}
	m.Sent.Inc()
	m.QueueAge.Observe(max(ageSeconds, 0))
}

func (m *Metrics) failed(class ErrorClass) {
	if m == nil {
		return
	}
	m.FailedAttempts.WithLabelValues(string(class)).Inc()
}

func (m *Metrics) deadLettered() {
	if m == nil {
		return
	}
	m.DeadLettered.Inc()
}

func (m *Metrics) claimed(oldestAgeSeconds float64) {
	if m == nil {
		return
	}
	m.OldestClaimedAge.Set(max(oldestAgeSeconds, 0))
}
