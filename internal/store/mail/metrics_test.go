package mail

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsRegisterAndRecord(t *testing.T) {
	m := NewMetrics()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range m.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	m.sent(3)
	m.failed(ClassTemporary)
	m.failed(ClassTemporary)
	m.failed(ClassPermanent)
	m.deadLettered()
	m.claimed(42)

	want := `
# HELP studio_store_mail_failed_attempts_total Failed email delivery attempts, by error class (temporary, permanent, invalid).
# TYPE studio_store_mail_failed_attempts_total counter
studio_store_mail_failed_attempts_total{class="permanent"} 1
studio_store_mail_failed_attempts_total{class="temporary"} 2
# HELP studio_store_mail_oldest_claimed_age_seconds Age of the oldest email in the last batch claimed from the outbox; 0 when nothing was due.
# TYPE studio_store_mail_oldest_claimed_age_seconds gauge
studio_store_mail_oldest_claimed_age_seconds 42
# HELP studio_store_mail_sent_total Emails handed over to the mail server or written to the mail directory.
# TYPE studio_store_mail_sent_total counter
studio_store_mail_sent_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"studio_store_mail_failed_attempts_total", "studio_store_mail_oldest_claimed_age_seconds", "studio_store_mail_sent_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.DeadLettered); got != 1 {
		t.Errorf("dead-lettered = %v, want 1", got)
	}
	if got := testutil.CollectAndCount(m.QueueAge); got != 1 {
		t.Errorf("queue age histogram has %d series, want 1", got)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.sent(1)
	m.failed(ClassInvalid)
	m.deadLettered()
	m.claimed(1)
}
