package failover

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
)

// createUsers creates the tenancy and the users and waits until the leader has
// put every user into the store; the follower must not have reconciled anything.
func createUsers(ctx context.Context, t *testing.T, c *cluster, st *studio, leader, follower *proc) {
	t.Helper()
	if err := createTenancy(ctx, c.client); err != nil {
		t.Fatal(err)
	}
	err := poll(ctx, "the store to hold every user", 200*time.Millisecond, setupTimeout, alive(leader, follower, st.proc), func(ctx context.Context) (bool, error) {
		us, err := st.client.ListAllUsers(ctx, store.UserFilter{Limit: 1000})
		if err != nil {
			return false, err
		}
		return len(us) == users, fmt.Errorf("%d of %d users", len(us), users)
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, logs(leader))
	}
	if n := follower.LogLinesFold(workersLine); n > 0 {
		t.Errorf("%s started %d controllers while %s led: both replicas reconciled", follower.Name, n, leader.Name)
	}
}

// waitKill waits for the kill switch to kill leader, checks that next, the replica
// expected to take over, had not started its controllers, and returns the kill and
// what the dead leader left in the store: users granted and invitations sent.
func waitKill(ctx context.Context, t *testing.T, ks *killSwitch, st *studio, leader, next *proc, what string) (k killed, granted, invited int) {
	t.Helper()
	select {
	case k = <-ks.fired:
	case <-time.After(killTimeout):
		t.Fatalf("the store did not answer %d %ss of %s within %s\n%s", killAt, what, leader.Name, killTimeout, logs(leader))
	}
	if k.err != nil {
		t.Fatal(k.err)
	}
	if n := next.LogLinesFold(workersLine); n > 0 {
		t.Errorf("%s started %d controllers while %s led: both replicas reconciled", next.Name, n, leader.Name)
	}
	var err error
	if granted, err = st.granted(ctx); err != nil {
		t.Fatal(err)
	}
	if invited, err = st.invited(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGKILLed %s at its %dth %s (the answer to %s's was lost): the store held grants for %d and had sent %d invitations of %d users",
		leader.Name, killAt, what, k.user, granted, invited, users)
	return k, granted, invited
}

// waitTakeover waits until the Lease names a holder other than old and next has
// logged that it acquired it and started its controllers, and checks the failover
// time against the bound. The failover time is from the kill to the Lease's
// acquireTime (written by the new holder, on this machine's clock), or to when the
// test saw the change if acquireTime is not later than the kill. It returns the
// time and the new holder.
func waitTakeover(ctx context.Context, t *testing.T, c *cluster, next *proc, old string, k killed) (time.Duration, string) {
	t.Helper()
	var failover time.Duration
	var now string
	err := poll(ctx, next.Name+" to take the Lease over", 50*time.Millisecond, 3*(leaseDuration+failoverMargin), alive(next), func(ctx context.Context) (bool, error) {
		l, err := c.lease(ctx, systemNamespace)
		if err != nil {
			return false, err
		}
		if now = holder(l); now == "" || now == old {
			return false, fmt.Errorf("lease: %s", describeLease(l))
		}
		if failover == 0 {
			failover = time.Since(k.at)
			if at := l.Spec.AcquireTime; at != nil && at.After(k.at) {
				failover = at.Sub(k.at)
			}
		}
		if next.LogLinesFold(acquiredLine) == 0 {
			return false, fmt.Errorf("the Lease changed hands, but %s has not logged %q", next.Name, acquiredLine)
		}
		if n := next.LogLinesFold(workersLine); n < controllers {
			return false, fmt.Errorf("%s started %d of %d controllers", next.Name, n, controllers)
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, logs(next))
	}
	t.Logf("%s acquired the Lease %s after the kill (bound: lease %s + margin %s)", next.Name, failover.Round(time.Millisecond), leaseDuration, failoverMargin)
	if failover > leaseDuration+failoverMargin {
		t.Errorf("failover took %s, more than lease duration %s + margin %s", failover, leaseDuration, failoverMargin)
	}
	return failover, now
}

// checkOutcome waits until the store has delivered every invitation and checks the
// end state: one mail per user, the grants the cascade gives, an audit log with
// each write once and a chain that verifies. It returns the mails and audit entries
// counted.
func checkOutcome(ctx context.Context, t *testing.T, st *studio) (mails int, entries int64) {
	t.Helper()
	err := poll(ctx, "every invitation mail delivered", 250*time.Millisecond, mailTimeout, alive(st.proc), func(ctx context.Context) (bool, error) {
		bad, err := st.undelivered(ctx)
		if err != nil {
			return false, err
		}
		return len(bad) == 0, problems("store invitations", bad)
	})
	if err != nil {
		t.Fatal(err)
	}
	perUser, err := mailsPerUser(st.mailDir)
	if err != nil {
		t.Fatal(err)
	}
	v, auditErr := st.checkAudit(ctx)
	if err := errors.Join(checkMails(perUser), st.checkGrants(ctx), auditErr); err != nil {
		t.Fatal(err)
	}
	for _, n := range perUser {
		mails += n
	}
	return mails, v.Entries
}

// logs is the redacted end of each process's log, for a failure message.
func logs(ps ...*proc) string {
	var s string
	for _, p := range ps {
		s += fmt.Sprintf("--- %s (last lines, redacted):\n%s\n", p.Name, p.Tail(20))
	}
	return s
}
