package storeha

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/client"
)

// The records the workload writes.
const (
	agencyKey = "storeha"
	envAlpha  = "storeha.alpha"
	envBeta   = "storeha.beta"
	// clientWorkers is how many users are written at the same time.
	clientWorkers = 4
	// pauseTimeout bounds how long the workload waits for the SMTP server to hold a
	// replica before its last users.
	pauseTimeout = 60 * time.Second
)

// userPlan is what the workload writes for one user.
type userPlan struct {
	key   string
	email string // never printed
	spec  store.UserSpec
	// grants is the grant set as written, in the order the store returns it.
	grants  []store.Grant
	idemKey string // Idempotency-Key of the invitation
}

// planUsers returns n users with grant sets of three shapes: agency roles only,
// agency roles and environment roles, and an environment that blocks the agency's
// roles (an empty role list).
func planUsers(n int) []userPlan {
	agencyRoles := [][]cascade.Role{
		{cascade.Analyst}, {cascade.Developer, cascade.Planner}, {cascade.ContentManager}, {cascade.Producer},
	}
	plans := make([]userPlan, n)
	for i := range plans {
		key := fmt.Sprintf("user-%03d", i)
		grants := []store.Grant{{Scope: store.Scope{Agency: agencyKey}, Roles: agencyRoles[i%len(agencyRoles)]}}
		switch i % 3 {
		case 1:
			grants = append(grants, store.Grant{Scope: store.Scope{Environment: envAlpha}, Roles: []cascade.Role{cascade.Analyst, cascade.Operator}})
		case 2:
			grants = append(grants,
				store.Grant{Scope: store.Scope{Environment: envAlpha}, Roles: []cascade.Role{cascade.EnvironmentManager}},
				store.Grant{Scope: store.Scope{Environment: envBeta}, Roles: []cascade.Role{}})
		}
		plans[i] = userPlan{
			key:   key,
			email: key + "@storeha.test",
			spec: store.UserSpec{Email: key + "@storeha.test", DisplayName: fmt.Sprintf("User %03d", i),
				Type: cascade.UserTypeUser, Locale: "en"},
			grants:  grants,
			idemKey: "invite-" + key,
		}
	}
	return plans
}

// invitationResult is what SendInvitation answered for a user.
type invitationResult struct {
	link      string // a secret: never printed
	sendCount int
	replica   int       // the replica that answered
	at        time.Time // when the answer came
}

// runWorkload creates the agency and its environments, then writes every user, its
// grant set and its invitation through the pool. Before the user at pauseAt it waits
// for held, so that users are left for the crash.
func runWorkload(ctx context.Context, p *pool, plans []userPlan, pauseAt int, held <-chan struct{}) (map[string]invitationResult, error) {
	caller := store.Caller{Source: "storeha"}
	if _, err := p.do(ctx, "PutAgency", func(c *client.Client) error {
		_, _, err := c.PutAgency(ctx, caller, agencyKey, store.AgencySpec{DisplayName: "Store HA"})
		return err
	}); err != nil {
		return nil, err
	}
	for _, env := range []string{envAlpha, envBeta} {
		if _, err := p.do(ctx, "PutEnvironment", func(c *client.Client) error {
			_, _, err := c.PutEnvironment(ctx, caller, env, store.EnvironmentSpec{Agency: agencyKey, DisplayName: env})
			return err
		}); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan int)
	go func() {
		defer close(work)
		for i := range plans {
			if i == pauseAt {
				select {
				case <-held:
				case <-time.After(pauseTimeout):
					cancel(fmt.Errorf("no replica's mail was held within %s of the first %d users", pauseTimeout, pauseAt))
					return
				case <-ctx.Done():
					return
				}
			}
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	var mu sync.Mutex
	results := make(map[string]invitationResult, len(plans))
	var wg sync.WaitGroup
	for range clientWorkers {
		wg.Go(func() {
			for i := range work {
				res, err := writeUser(ctx, p, caller, plans[i])
				if err != nil {
					cancel(fmt.Errorf("user %s: %w", plans[i].key, err))
					return
				}
				mu.Lock()
				results[plans[i].key] = res
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	if len(results) != len(plans) {
		return nil, fmt.Errorf("wrote %d of %d users", len(results), len(plans))
	}
	return results, nil
}

// writeUser writes one user, its grant set and its invitation, each request to the
// next replica in turn.
func writeUser(ctx context.Context, p *pool, caller store.Caller, u userPlan) (invitationResult, error) {
	if _, err := p.do(ctx, "PutUser", func(c *client.Client) error {
		_, _, err := c.PutUser(ctx, caller, u.key, u.spec)
		return err
	}); err != nil {
		return invitationResult{}, err
	}
	if _, err := p.do(ctx, "PutGrants", func(c *client.Client) error {
		_, err := c.PutGrants(ctx, caller, u.key, u.grants)
		return err
	}); err != nil {
		return invitationResult{}, err
	}
	var inv store.Invitation
	i, err := p.do(ctx, "SendInvitation", func(c *client.Client) error {
		var err error
		inv, err = c.SendInvitation(ctx, caller, u.key, u.idemKey)
		return err
	})
	if err != nil {
		return invitationResult{}, err
	}
	return invitationResult{link: inv.Link, sendCount: inv.SendCount, replica: i, at: time.Now()}, nil
}
