package storeha

import (
	"sync"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store/pgtest"
)

// harness is the running setup: one PostgreSQL database, the SMTP server, two
// replicas with a readiness poller each, and the clients' pool.
type harness struct {
	cfg      replicaConfig
	mails    *mailServer
	replicas []*replica
	pollers  []*readyPoller
	pool     *pool
	// held is closed when the SMTP server holds a replica, killed when that replica
	// has been killed.
	held, killed chan struct{}
	// began, built and ready time the setup.
	began, built, ready time.Time
}

// setUp builds studio-store and starts everything; t.Cleanup stops it all.
func setUp(t *testing.T) *harness {
	t.Helper()
	h := &harness{began: time.Now(), held: make(chan struct{}), killed: make(chan struct{})}
	h.cfg = replicaConfig{bin: buildStore(t), publicURL: publicURL, logDir: t.TempDir()}
	h.built = time.Now()
	h.cfg.dsn = pgtest.Start(t)
	token := writeSecrets(t, &h.cfg)
	var err error
	if h.mails, err = startMailServer(t, 2, holdAfter); err != nil {
		t.Fatalf("SMTP server: %v", err)
	}
	h.replicas = startReplicas(t, h.cfg, h.mails)
	h.ready = time.Now()
	for _, r := range h.replicas {
		p := startReadyPoller(r.url)
		h.pollers = append(h.pollers, p)
		t.Cleanup(func() { p.finish() })
	}
	if h.pool, err = newPool(h.replicas, token, h.killed); err != nil {
		t.Fatal(err)
	}
	return h
}

// startReplicas starts both replicas at the same time, so that they also migrate the
// fresh database together.
func startReplicas(t *testing.T, cfg replicaConfig, mails *mailServer) []*replica {
	t.Helper()
	names := []string{"replica-a", "replica-b"}
	replicas := make([]*replica, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { replicas[i], errs[i] = startReplica(t, name, cfg, mails.url(i)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return replicas
}
