package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/cachetrim"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

// reconcilePlan reads the RoleBindings naming the user (field index) and what they
// refer to, and computes the desired grant set and effective access
// (planner.PlanUser). Scopes whose Agency or Environment the store has not recorded
// yet are left out of the plan and remembered in run.unrecorded (the user waits for
// them; the object becoming Ready re-queues it). It writes nothing.
func (r *StudioUserReconciler) reconcilePlan(ctx context.Context, run *userRun) outcome {
	up, err := r.planUser(ctx, run.u)
	if err != nil {
		return kubeFailed(err)
	}
	run.plan, run.unrecorded, run.grantsCaller, run.causes = up.plan, up.unrecorded, up.caller, up.causes
	if b, ok := up.cause.Obj.(*iamv1.RoleBinding); ok && len(b.Spec.Subjects) > perUserEventSubjects {
		run.announcedByBinding = true
	}
	if run.scopes, err = r.grants.observe.read(ctx); err != nil {
		return kubeFailed(err)
	}
	if run.scopes.any() {
		// Which of the user's agencies, wanted or held, are under Observe.
		if run.held, err = r.grantsHeld(ctx, run.key); err != nil {
			return fromStoreError(err, "")
		}
		run.full = up.full
		// A user with no access anywhere yet is held too: its bindings may be on
		// their way, and they may be in an observed agency.
		all, observed := run.scopes.touched(up.full.Grants, run.held)
		run.observed, run.fullyObserved = observed, len(observed) == len(all)
	}
	return proceed
}

// userPlan is planUser's result.
type userPlan struct {
	// full is the plan with every scope; plan leaves out the unrecorded ones.
	full       planner.UserPlan
	plan       planner.UserPlan
	unrecorded []store.Scope
	// caller attributes a grant-set write to cause, the object edited last: the user
	// or one of the RoleBindings naming it.
	caller store.Caller
	cause  provenance.Candidate
	// causes are the revocation causes the plan took into account.
	causes []provenance.Candidate
}

// planUser plans u's grants and access from the cache: the RoleBindings naming it
// and what they refer to, less the scopes the store has not recorded yet.
func (r *reconciler) planUser(ctx context.Context, u *iamv1.StudioUser) (userPlan, error) {
	bindings, err := r.rel.bindingsNaming(ctx, u.Name)
	if err != nil {
		return userPlan{}, err
	}
	l := newSnapshotLoader(r.Client)
	l.s.Users[u.Name] = u
	for i := range bindings {
		b := &bindings[i]
		if env := b.Spec.Scope.Environment; env != "" {
			err = l.bindingScope(ctx, b)
		} else {
			err = l.agencyWithEnvironments(ctx, b.Spec.Scope.Agency)
		}
		if err != nil {
			return userPlan{}, err
		}
	}
	plan := planner.PlanUser(u, bindings, l.s)
	up := userPlan{full: plan, unrecorded: planner.UnrecordedScopes(plan, l.s)}
	up.plan = planner.WithoutScopes(plan, up.unrecorded)
	up.caller, up.cause = r.grantsCaller(u, bindings)
	up.causes = r.causes.of(u.Name)
	return up, nil
}

// grantsCaller is the audit context of a grant-set write: the user's own, unless a
// RoleBinding naming it — or one that stopped naming it, or was deleted
// (revocationCauses) — changed after it did: then that binding's, so the store's
// grant.added / grant.removed entries name the binding (and the GitOps app or person
// behind it) whose edit caused them.
func (r *reconciler) grantsCaller(u *iamv1.StudioUser, bindings []iamv1.RoleBinding) (store.Caller, provenance.Candidate) {
	candidates := make([]provenance.Candidate, 0, len(bindings)+1)
	candidates = append(candidates, provenance.Candidate{Kind: kindStudioUser, Obj: u})
	for i := range bindings {
		candidates = append(candidates, provenance.Candidate{Kind: kindRoleBinding, Obj: &bindings[i]})
	}
	candidates = append(candidates, r.causes.of(u.Name)...)
	c := provenance.LastChanged(FieldManager, candidates...)
	return c.Caller(r.opts.InstanceID, FieldManager), c
}

// reconcileGrants makes the store hold the user's grant set (grantWriter.write). A
// scope the store does not know yet (an Environment or Agency whose record is still
// being written) does not hold up the others: its grant is left out, the rest
// applied, and the user waits for the record. Leaving a grant out never widens
// access: without the record, nothing in the store can ripple down to it. On success
// status.access and status.environments show the effective access, and run.access
// says what changed for the events.
func (r *StudioUserReconciler) reconcileGrants(ctx context.Context, run *userRun) outcome {
	w, err := r.grants.write(ctx, run.grantsCaller, run.key, run.plan.Grants)
	if err != nil {
		return fromStoreError(err, iamv1.ReasonEnvironmentNotReady)
	}
	if w.drift {
		r.noteDrift(run.u, kindStudioUser)
	}
	if len(w.revocationsHeld) > 0 {
		run.revocationHeld = heldMessage(w.revocationsHeld)
	}
	run.planned, run.grantsWritten = w.planned, true
	r.causes.done(run.key, run.causes)
	access := planner.AccessWithout(run.plan.Access, w.left)
	skipped := append(slices.Clone(run.unrecorded), w.left...)

	before, err := r.accessBefore(ctx, run, access)
	if err != nil {
		return kubeFailed(err)
	}
	st := &run.u.Status
	run.access = planner.DiffAccess(before, access)
	st.Access = access
	st.Environments = int32(len(access))
	if len(skipped) > 0 {
		return waitingForScope(skipped[0])
	}
	return proceed
}

// accessBefore returns the status.access the API server holds for the user, and
// makes it the base of the status patch. The cache keeps only its fingerprint
// (cachetrim.AccessAnnotation): when want or no access at all matches it, that is
// the list, with no request; otherwise the user is read from the API server, which
// happens only when the user's access changed.
func (r *StudioUserReconciler) accessBefore(ctx context.Context, run *userRun, want []iamv1.EnvironmentAccess) ([]iamv1.EnvironmentAccess, error) {
	if run.accessBefore != nil {
		return *run.accessBefore, nil
	}
	before := run.u.Status.Access
	if fp, cached := cachetrim.CachedAccess(run.u); cached {
		switch fp {
		case cachetrim.AccessFingerprint(want):
			before = want
		case cachetrim.AccessFingerprint(nil):
			before = nil
		default:
			fresh := &iamv1.StudioUser{}
			if err := r.apiReader.Get(ctx, client.ObjectKeyFromObject(run.u), fresh); err != nil {
				return nil, err
			}
			before = fresh.Status.Access
		}
	}
	run.accessBefore = &before
	return before, nil
}

// unknownGrant returns the index of the grant an unknown-reference error names
// ("grants[1].scope.environment"), if it names one of n grants.
func unknownGrant(err error, n int) (int, bool) {
	var se *store.Error
	if !errors.As(err, &se) || se.Code != store.CodeUnknownReference {
		return 0, false
	}
	var i int
	if _, scanErr := fmt.Sscanf(se.Field, "grants[%d]", &i); scanErr != nil || i < 0 || i >= n {
		return 0, false
	}
	return i, true
}

// waitingForScope says which record the user waits for.
func waitingForScope(sc store.Scope) outcome {
	if sc.Agency != "" {
		return waiting(iamv1.ReasonAgencyNotReady,
			fmt.Sprintf("waiting for the Studio to record agency %q; the other grants are applied", sc.Agency))
	}
	return waiting(iamv1.ReasonEnvironmentNotReady,
		fmt.Sprintf("waiting for the Studio to record environment %q; the other grants are applied", sc.Environment))
}

// appliedState remembers, per user, the grant set the store was last seen to hold
// (after the operator wrote or confirmed it). If the store later differs while the
// desired set is still the same, someone changed the store: drift. It is a memory
// for events and metrics only; after a restart drift is still corrected (and audited
// by the store), just not announced.
type appliedState struct {
	mu     sync.Mutex
	grants map[string][]store.Grant
}

func newAppliedState() *appliedState {
	return &appliedState{grants: map[string][]store.Grant{}}
}

// is reports whether grants is what was last applied for key.
func (a *appliedState) is(key string, grants []store.Grant) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	last, ok := a.grants[key]
	return ok && planner.GrantsEqual(last, grants)
}

// get returns what was last applied for key (nil when nothing is known).
func (a *appliedState) get(key string) []store.Grant {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.grants[key]
}

// known reports whether anything was applied for key by this process.
func (a *appliedState) known(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.grants[key]
	return ok
}

func (a *appliedState) set(key string, grants []store.Grant) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.grants[key] = grants
}

func (a *appliedState) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.grants, key)
}
