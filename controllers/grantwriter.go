package controllers

import (
	"context"
	"hash/fnv"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// grantWriter is the one way users' grant sets reach the store. The StudioUser
// reconcile writes through it, and so does a RoleBinding of many subjects whose spec
// changed: it writes the new grant sets of all its subjects at once (fanOut), ahead
// of their reconciles, which then only have the status left to write. Without that,
// the store would show an edit of a 1,000-subject binding only after 1,000 status
// round trips to the API server, one per user.
//
// Per user, planning and writing happen under one lock, and a plan always reads the
// cache as it is at that moment: the write that comes last is planned from the
// newest view, whichever path made it.
type grantWriter struct {
	store    store.API
	applied  *appliedState
	listing  *listing[[]store.Grant]
	locks    userLocks
	parallel int
	// revocations holds back what would take all of a user's access in an agency
	// when the mass-revocation guard says so (nil: no guard).
	revocations *revocations
	// observe keeps every scope of an agency under managementPolicy Observe as the
	// store has it (nil: no agency is ever observed).
	observe *observation
}

// grantWrite is what one write left in the store.
type grantWrite struct {
	// held is the part of the wanted set the store holds now: all of it, less the
	// grants whose scope the store did not know (left).
	held []store.Grant
	left []store.Scope
	// drift is set when the store had been changed outside the operator while the
	// desired set stayed the same.
	drift bool
	// revocationsHeld are the agencies in which the guard kept the user's access.
	revocationsHeld []heldRevocation
	// planned is what the write left undone in agencies under Observe: the changes
	// Full would make there.
	planned []iamv1.GrantChange
}

// write makes the store hold want as key's grant set, unless the recent listing
// shows it holds it already, and remembers the result (appliedState, listing).
func (g *grantWriter) write(ctx context.Context, caller store.Caller, key string, want []store.Grant) (grantWrite, error) {
	listed, ok := g.listing.lookup(ctx, key)
	before := listed
	if !ok {
		before = g.applied.get(key)
	}
	want, planned, err := g.holdObserved(ctx, key, ok, before, want)
	if err != nil {
		return grantWrite{}, err
	}
	want, revocationsHeld := g.revocations.filter(ctx, key, before, want)
	if ok && planner.GrantsEqual(listed, want) {
		g.applied.set(key, want)
		return grantWrite{held: want, revocationsHeld: revocationsHeld, planned: planned}, nil
	}
	// The grant set is the user's, whose record this instance manages by now (the
	// profile is written first); what is wanted was confirmed when this process
	// last saw the store hold exactly it.
	facts := recordFacts{exists: true, ours: true, confirmed: g.applied.is(key, want)}
	held, left, changed, err := g.put(ctx, caller, key, want)
	if err != nil {
		return grantWrite{}, err
	}
	if changed {
		before := listed
		if !ok {
			before = g.applied.get(key)
		}
		added, removed := planner.CountGrantChanges(before, held)
		metrics.GrantsChanged.WithLabelValues("added").Add(float64(added))
		metrics.GrantsChanged.WithLabelValues("removed").Add(float64(removed))
	}
	g.applied.set(key, held)
	g.listing.note(key, held)
	return grantWrite{held: held, left: left, drift: facts.driftCorrected(changed), revocationsHeld: revocationsHeld, planned: planned}, nil
}

// holdObserved returns want with the scopes of agencies under Observe as the store
// holds them, and the changes left undone there. What the store holds must be known
// for sure: a user the listing does not show yet is read.
func (g *grantWriter) holdObserved(ctx context.Context, key string, listed bool, before, want []store.Grant) ([]store.Grant, []iamv1.GrantChange, error) {
	sc, err := g.observe.read(ctx)
	if err != nil || !sc.any() {
		return want, nil, err
	}
	if !listed {
		set, err := g.store.GetGrants(ctx, key)
		if err != nil && !store.IsNotFound(err) {
			return nil, nil, err
		}
		before = set.Grants
	}
	return planner.HoldObserved(before, want, sc.agencyOf, sc.observed), planner.GrantChanges(before, want, sc.agencyOf, sc.observed), nil
}

// put writes grants, leaving out, one by one, each grant whose scope the store
// reports as unknown (CodeUnknownReference naming "grants[i]..."): the cluster said
// the record exists, but the store disagrees. It returns what was written, the scopes
// left out and whether the store changed; any other error ends it.
func (g *grantWriter) put(ctx context.Context, caller store.Caller, key string, grants []store.Grant) ([]store.Grant, []store.Scope, bool, error) {
	var skipped []store.Scope
	for {
		set, err := g.store.PutGrants(ctx, caller, key, grants)
		i, unknown := unknownGrant(err, len(grants))
		if !unknown {
			return grants, skipped, set.Changed, err
		}
		skipped = append(skipped, grants[i].Scope)
		grants = slices.Delete(slices.Clone(grants), i, i+1)
	}
}

// userPlanner plans one user's grants from the cache (StudioUserReconciler.plan).
type userPlanner func(ctx context.Context, u *iamv1.StudioUser) (userGrantPlan, error)

// userGrantPlan is a user's planned grant set and who caused it.
type userGrantPlan struct {
	grants []store.Grant
	caller store.Caller
}

// fanOut writes the grant sets of users, at most parallel at a time. A user whose
// reconcile holds its lock is waited for: that reconcile may have planned before the
// change, and the queue would bring the user back only after all the others. It
// leaves out, to their own reconciles (queued by the same change), a user being
// deleted, one this process has not written grants for yet (its first reconcile
// creates it in the store), and one whose write fails. It holds one user's lock at a
// time and a reconcile never waits for anything the fan-out holds, so they cannot
// deadlock; a reconcile waits at most for one plan and one write.
func (g *grantWriter) fanOut(ctx context.Context, users []string, get func(context.Context, string) (*iamv1.StudioUser, error), plan userPlanner) (written int) {
	log := ctrllog.FromContext(ctx)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sem  = make(chan struct{}, max(g.parallel, 1))
		note = func() { mu.Lock(); written++; mu.Unlock() }
	)
	for _, name := range users {
		if !g.applied.known(name) {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m := g.locks.of(name)
			m.Lock()
			defer m.Unlock()
			u, err := get(ctx, name)
			if err != nil || !u.DeletionTimestamp.IsZero() {
				if err != nil && !apierrors.IsNotFound(err) {
					log.V(1).Info("fan-out: leaving the user to its reconcile", "studiouser", name, "error", err.Error())
				}
				return
			}
			p, err := plan(ctx, u)
			if err != nil {
				log.V(1).Info("fan-out: leaving the user to its reconcile", "studiouser", name, "error", err.Error())
				return
			}
			if g.applied.is(name, p.grants) {
				return
			}
			if _, err := g.write(ctx, p.caller, name, p.grants); err != nil {
				log.V(1).Info("fan-out: leaving the user to its reconcile", "studiouser", name, "error", err.Error())
				return
			}
			note()
		})
	}
	wg.Wait()
	return written
}

// userLocks serialises planning and writing one user's grants; users share a lock
// with others whose names hash alike, which only costs a short wait.
type userLocks struct {
	stripes [256]sync.Mutex
}

func (l *userLocks) of(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &l.stripes[h.Sum32()%uint32(len(l.stripes))]
}

// bindingSubjects remembers the subjects of large RoleBindings, so that when one is
// deleted (and gone from the cache) its subjects can still be fanned out to.
type bindingSubjects struct {
	mu sync.Mutex
	by map[types.NamespacedName][]string
}

func (s *bindingSubjects) remember(key types.NamespacedName, names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[types.NamespacedName][]string{}
	}
	s.by[key] = names
}

// take returns and forgets the subjects remembered for key.
func (s *bindingSubjects) take(key types.NamespacedName) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := s.by[key]
	delete(s.by, key)
	return names
}
