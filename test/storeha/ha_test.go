package storeha

import (
	"context"
	"testing"
	"time"
)

// Scenario and bounds.
const (
	userCount = 100
	// holdAfter: the first replica to have this many mails accepted by the SMTP
	// server is held right after the last of them, and killed.
	holdAfter = 25
	// pauseAt: the workload does not start this user before a replica is held, so
	// that users are left to be written around the kill.
	pauseAt = 80
	// scenarioTimeout bounds everything after the build.
	scenarioTimeout = 100 * time.Second
	deliveryTimeout = 60 * time.Second
	// publicURL is the one URL in front of both replicas (a Service); invitation links
	// point there.
	publicURL = "http://studio.storeha.test"
)

// TestReplicasShareOnePostgreSQL runs two studio-store replicas on one PostgreSQL
// database and SIGKILLs one in the middle of mail delivery (see the package comment).
func TestReplicasShareOnePostgreSQL(t *testing.T) {
	h := setUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()

	crashed := make(chan crash, 1)
	go func() { crashed <- crashOnHold(ctx, h.cfg.dsn, h.mails, h.replicas, h.pool, h.held, h.killed, cancel) }()
	plans := planUsers(userCount)
	answers, workErr := runWorkload(ctx, h.pool, plans, pauseAt, h.held)
	r := report{workDone: time.Now()}
	if workErr != nil {
		cancel()
	}
	c := <-crashed
	if c.err != nil {
		t.Fatalf("crash: %v", c.err)
	}
	if workErr != nil {
		t.Fatalf("workload: %v", workErr)
	}
	survivor := 1 - c.victim
	sc := h.pool.clients[survivor]
	var err error
	if r.deliveredAt, err = waitDelivered(ctx, sc, plans, deliveryTimeout); err != nil {
		t.Fatal(err)
	}

	r.ready = checkReadiness(t, h, c)
	checkCutAnswer(t, c, answers, survivor)
	got := h.mails.snapshot()
	r.mails = checkMails(t, got, plans, c.held, len(h.replicas))
	r.mailsBeforeKill = countBefore(got, c.killedAt)
	if r.mailsBeforeKill == 0 || r.mailsBeforeKill >= userCount {
		t.Errorf("%d mails arrived before the kill; the kill must come after some and before all", r.mailsBeforeKill)
	}
	outbox, err := outboxMessageIDs(ctx, h.cfg.dsn)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	checkOutbox(t, outbox, got, plans)
	checkRecords(ctx, t, sc, plans, answers)
	r.auditEntries = checkAudit(ctx, t, sc, plans)
	r.linksFromVictim = checkLinks(ctx, t, h.replicas[survivor].url, publicURL, answers, c.victim)

	r.lastMail = got[len(got)-1].at
	for _, a := range answers {
		if a.at.Before(c.killedAt) {
			r.invitedBeforeKill++
		}
	}
	r.log(t, h, c)
}

// checkCutAnswer checks the invitation whose answer the killed replica gave and its
// client never got: the client's retry on the survivor, with the same
// Idempotency-Key, returned the same invitation and the very link the killed replica
// had minted.
func checkCutAnswer(t *testing.T, c crash, answers map[string]invitationResult, survivor int) {
	t.Helper()
	a, ok := answers[c.cut.user]
	switch {
	case !ok:
		t.Errorf("no answer for user %s, whose first invitation answer was cut", c.cut.user)
	case a.replica != survivor:
		t.Errorf("user %s: the retried invitation was answered by replica %d, want the survivor", c.cut.user, a.replica)
	case c.cut.link == "" || a.link != c.cut.link:
		t.Errorf("user %s: the survivor's replay returned another link than the one the killed replica minted", c.cut.user)
	}
}

// checkReadiness checks that the survivor answered 200 to every /readyz poll, and the
// victim to every poll that ended before the kill.
func checkReadiness(t *testing.T, h *harness, c crash) readiness {
	t.Helper()
	var r readiness
	r.survivorBad, r.survivorPolls = notReady(h.pollers[1-c.victim].finish(), time.Time{})
	if r.survivorBad > 0 {
		t.Errorf("survivor /readyz: %d of %d polls not 200", r.survivorBad, r.survivorPolls)
	}
	r.victimBad, r.victimPolls = notReady(h.pollers[c.victim].finish(), c.killedAt)
	if r.victimBad > 0 {
		t.Errorf("%s /readyz before the kill: %d of %d polls not 200", h.replicas[c.victim].name, r.victimBad, r.victimPolls)
	}
	return r
}

func countBefore(got []delivery, t time.Time) int {
	n := 0
	for _, d := range got {
		if d.at.Before(t) {
			n++
		}
	}
	return n
}
