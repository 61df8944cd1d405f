package storeha

import (
	"sync/atomic"
	"testing"
	"time"
)

// readiness counts the /readyz polls.
type readiness struct {
	survivorPolls, survivorBad int
	victimPolls, victimBad     int // polls that ended before the kill
}

// report is what the test measured; it is logged (go test -v) for the operations
// documentation.
type report struct {
	workDone, deliveredAt, lastMail time.Time
	ready                           readiness
	mails                           mailCounts
	mailsBeforeKill                 int
	invitedBeforeKill               int
	auditEntries                    int64
	linksFromVictim                 int
}

func (r report) log(t *testing.T, h *harness, c crash) {
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	p, victim := h.pool, h.replicas[c.victim].name
	t.Logf("setup: studio-store built in %s; PostgreSQL and both replicas ready %s later",
		ms(h.built.Sub(h.began)), ms(h.ready.Sub(h.built)))
	t.Logf("killed %s after %d of %d invitations were answered and %d mails had arrived; its last claim leased %d mails (the accepted, unrecorded one included)",
		victim, r.invitedBeforeKill, userCount, r.mailsBeforeKill, c.leased)
	t.Logf("mails: %d accepted, %d distinct Message-IDs, %d redelivered under the same Message-ID; accepted by replica %v",
		r.mails.accepted, r.mails.distinct, r.mails.redelivered, r.mails.perReplica)
	t.Logf("requests answered by replica %v; attempts failed by replica %v; retries %d",
		loads(p.answered), loads(p.failed), p.retried.Load())
	if at := p.firstRecovery(); !at.IsZero() {
		t.Logf("first retried request answered by the survivor %s after the kill", ms(at.Sub(c.killedAt)))
	}
	t.Logf("/readyz: survivor %d polls, %d not 200; %s before the kill %d polls, %d not 200",
		r.ready.survivorPolls, r.ready.survivorBad, victim, r.ready.victimPolls, r.ready.victimBad)
	t.Logf("workload done %s after the kill; last mail %s and all mails reported Delivered %s after the victim's lease was ended",
		ms(r.workDone.Sub(c.killedAt)), ms(r.lastMail.Sub(c.leaseExpiredAt)), ms(r.deliveredAt.Sub(c.leaseExpiredAt)))
	t.Logf("audit chain verified over %d entries; %d invitation links minted by %s open on the survivor",
		r.auditEntries, r.linksFromVictim, victim)
	t.Logf("test took %s", ms(time.Since(h.began)))
}

func loads(v []atomic.Int64) []int64 {
	out := make([]int64, len(v))
	for i := range v {
		out[i] = v[i].Load()
	}
	return out
}
