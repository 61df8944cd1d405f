package storeha

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// crash is what happened when a replica was killed.
type crash struct {
	victim int
	// held is the mail the SMTP server had accepted from the victim, which the victim
	// never recorded as delivered.
	held heldMail
	// cut is the answer to SendInvitation the victim gave and its client never got.
	cut cutAnswer
	// killedAt is when the SIGKILL was sent; leaseExpiredAt when the victim's lease
	// had been ended.
	killedAt, leaseExpiredAt time.Time
	// leased is how many mails the victim's last claim held: the held one and those
	// of its batch it had not sent yet.
	leased int64
	err    error
}

// crashOnHold waits until the SMTP server holds a replica right after accepting one
// of its mails, and closes held. It then has the next SendInvitation sent to that
// replica and its answer cut, SIGKILLs the replica, closes killed and ends the lease
// the replica held on its last claim of mails. On failure it cancels the test
// through abort, so that nobody waits for a kill that will not come.
func crashOnHold(ctx context.Context, dsn string, srv *mailServer, replicas []*replica, p *pool, held, killed chan<- struct{}, abort context.CancelFunc) (c crash) {
	closedKilled := false
	defer func() {
		if c.err != nil {
			abort()
			if !closedKilled {
				close(killed) // lets a kept-back answer go
			}
		}
	}()
	select {
	case c.held = <-srv.held:
	case <-ctx.Done():
		c.err = errors.New("no replica had its mail held: " + ctx.Err().Error())
		return c
	}
	c.victim = c.held.replica
	cut := p.cutNextInvitation(c.victim)
	close(held)
	lease, err := leaseOf(ctx, dsn, c.held.messageID)
	if err != nil {
		c.err = err
		return c
	}
	select {
	case c.cut = <-cut:
	case <-time.After(cutTimeout):
		c.err = fmt.Errorf("no invitation reached %s within %s of the hold", replicas[c.victim].name, cutTimeout)
		return c
	}

	c.killedAt = time.Now()
	replicas[c.victim].kill()
	select {
	case <-replicas[c.victim].done:
	default:
		c.err = fmt.Errorf("%s survived SIGKILL", replicas[c.victim].name)
		return c
	}
	close(killed)
	closedKilled = true
	srv.releaseHeld()
	if c.leased, c.err = expireLease(ctx, dsn, lease); c.err == nil && c.leased < 1 {
		c.err = errors.New("the killed replica held no lease on the mail it was sending")
	}
	c.leaseExpiredAt = time.Now()
	return c
}
