package failover

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Bounds of the scenario's waits. The whole test takes well under testTimeout.
const (
	testTimeout    = 170 * time.Second
	leaderTimeout  = 60 * time.Second
	setupTimeout   = 60 * time.Second
	killTimeout    = 30 * time.Second
	convergeWithin = 90 * time.Second
	mailTimeout    = 30 * time.Second
	// failoverMargin is what the successor may take beyond leaseDuration: it last
	// saw the dead leader's renewal up to one retry period (with jitter) after it
	// happened, and tries again one more jittered retry period later; the rest is
	// slack for a 2-core machine running other tests.
	failoverMargin = 4 * time.Second
	// killAt is the write whose answer kills a leader: the work has begun (at least
	// that many users done), and most of it is left to the successor.
	killAt = 20
)

// TestLeaderFailoverDuringFanOut kills the leading manager in the middle of a
// 200-user fan-out, while it writes grant sets, and checks that the other replica
// takes over within the lease duration. The killed replica then comes back, as its
// Deployment would restart it, and the new leader is killed in turn while it sends
// invitations. The last one standing must finish the work exactly once.
func TestLeaderFailoverDuringFanOut(t *testing.T) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	dir := t.TempDir()
	bins := buildBinaries(ctx, t, dir)
	built := time.Now()
	c := startCluster(t, dir, systemNamespace, homeNamespace)
	st := startStore(ctx, t, bins.store, dir)
	ks := startKillSwitch(t, st.url)
	ms := [2]*proc{
		startManager(t, "manager-a", bins.manager, dir, c, st, ks.url),
		startManager(t, "manager-b", bins.manager, dir, c, st, ks.url),
	}
	leader, follower, identity, err := waitLeader(ctx, c, ms, leaderTimeout)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs(ms[:]...))
	}
	t.Logf("%s leads (%s follows); the Lease names it", leader.Name, follower.Name)
	createUsers(ctx, t, c, st, leader, follower)

	// Kill 1, during the grant fan-out: one binding names every user, and the
	// leader dies when the store has answered its killAt-th grant write. From then
	// on invitation sends wait at the proxy, so that the successor's first ones
	// are still to come when kill 2 is armed.
	ks.arm(http.MethodPut, "/grants", killAt, func() error {
		ks.hold(http.MethodPost, "/invitations")
		return leader.Kill()
	})
	if err := c.client.Create(ctx, fanoutBinding()); err != nil {
		t.Fatal(err)
	}
	fanoutStart := time.Now()
	kill1, granted, _ := waitKill(ctx, t, ks, st, leader, follower, "grant write")
	if granted >= users {
		t.Fatalf("test premise: the grant fan-out was over (%d of %d users granted) when %s was killed", granted, users, leader.Name)
	}
	failover1, identity := waitTakeover(ctx, t, c, follower, identity, kill1)

	// The killed replica comes back (its Deployment restarts it) and waits for the
	// Lease. Kill 2, during the invitations: the new leader dies when the store has
	// answered its killAt-th invitation send (the mail is out, the leader never
	// learns it).
	restarted := startManager(t, leader.Name+"-restarted", bins.manager, dir, c, st, ks.url)
	err = poll(ctx, restarted.Name+" to wait for the Lease", 100*time.Millisecond, leaderTimeout, alive(restarted, follower), func(context.Context) (bool, error) {
		return restarted.LogLinesFold(attemptLine) > 0, fmt.Errorf("no %q in its log", attemptLine)
	})
	if err != nil {
		t.Fatal(err)
	}
	ks.arm(http.MethodPost, "/invitations", killAt, follower.Kill)
	ks.release()
	kill2, _, invited := waitKill(ctx, t, ks, st, follower, restarted, "invitation send")
	if invited >= users {
		t.Fatalf("test premise: every invitation was sent (%d of %d) when %s was killed", invited, users, follower.Name)
	}
	failover2, _ := waitTakeover(ctx, t, c, restarted, identity, kill2)

	var pending []string
	err = poll(ctx, "every user Ready with its access and one invitation", 500*time.Millisecond, convergeWithin, alive(restarted, st.proc), func(ctx context.Context) (bool, error) {
		var err error
		if pending, err = c.notConverged(ctx); err != nil {
			return false, err
		}
		return len(pending) == 0, problems("StudioUsers", pending)
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, logs(restarted))
	}
	converged := time.Now()
	t.Logf("all %d users Ready %s after the binding was created", users, converged.Sub(fanoutStart).Round(time.Millisecond))

	mails, entries := checkOutcome(ctx, t, st)
	t.Logf("RESULT failover %s and %s (bound %s); %d users Ready, %d mails (one each), sendCount 1 each, grants as the cascade gives, audit chain of %d entries verifies; fan-out %s incl. both failovers; test %s (build %s)",
		failover1.Round(time.Millisecond), failover2.Round(time.Millisecond), leaseDuration+failoverMargin, users, mails, entries,
		converged.Sub(fanoutStart).Round(time.Millisecond), time.Since(began).Round(time.Second), built.Sub(began).Round(time.Second))
}
