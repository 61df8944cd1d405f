package controllers

import (
	"context"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

// reconcileProfile makes the store's user match the spec — email, display name,
// type, locale, suspended — and be managed by this instance (profileInStore), then
// fills status.studioID, state, createdAt and lastActiveAt from it. Store conflicts
// stall the user (EmailInUse, ManagedByOther); an outage fails it for a retry.
func (r *StudioUserReconciler) reconcileProfile(ctx context.Context, run *userRun) outcome {
	stored, out := r.profileInStore(ctx, run, planner.DesiredProfile(run.u))
	if out.kind == outcomeStalled {
		r.revokeOnly(ctx, run)
	}
	if out.kind != outcomeContinue {
		return out
	}
	run.stored = stored
	r.directory.users.note(run.key, stored)
	run.u.Status.StudioID = run.key
	setProfileStatus(&run.u.Status, stored)
	return proceed
}

// revokeOnly applies, when the store refused the user's profile, the revocations the
// plan asks for and nothing else (planner.Narrowed): a refused display name must not
// keep access that a binding no longer gives. It only touches a record this instance
// manages; what it cannot do now the next reconcile does.
func (r *StudioUserReconciler) revokeOnly(ctx context.Context, run *userRun) {
	listed, ok := r.directory.users.lookup(ctx, run.key)
	if !ok || listed.ManagedBy != r.opts.InstanceID {
		return
	}
	held, err := r.grantsHeld(ctx, run.key)
	if err != nil || len(held) == 0 {
		return
	}
	want := planner.Narrowed(held, run.plan.Grants)
	if planner.GrantsEqual(held, want) {
		return
	}
	if _, err := r.grants.write(ctx, run.grantsCaller, run.key, want); err != nil {
		return
	}
	// Status claims only what the store holds for sure: the environments whose
	// access the plan leaves exactly as it was. It may understate until the profile is
	// fixed; it never overstates.
	before, err := r.accessBefore(ctx, run, nil)
	if err != nil {
		return
	}
	st := &run.u.Status
	kept := make([]iamv1.EnvironmentAccess, 0, len(before))
	for _, a := range before {
		if slices.ContainsFunc(run.plan.Access, func(p iamv1.EnvironmentAccess) bool { return equality.Semantic.DeepEqual(a, p) }) {
			kept = append(kept, a)
		}
	}
	run.access = planner.DiffAccess(before, kept)
	st.Access, st.Environments = kept, int32(len(kept))
}

// profileInStore returns the user as the store has it once it matches want
// (profileRecord): a user the recent listing shows as wanted costs no request.
func (r *StudioUserReconciler) profileInStore(ctx context.Context, run *userRun, want store.UserSpec) (store.User, outcome) {
	rec := profileRecord{r: r, run: run, want: want}
	listed, facts, err := rec.observe(ctx)
	if err == nil {
		listed, err = applyRecord(ctx, &r.reconciler, run.u, kindStudioUser, rec, listed, facts)
	}
	if err != nil {
		return store.User{}, fromStoreError(err, "")
	}
	return listed, proceed
}

// setProfileStatus copies what the store says about the user into status.
func setProfileStatus(st *iamv1.StudioUserStatus, u store.User) {
	st.State = planner.UserStateOf(u.State)
	st.CreatedAt = statusTime(&u.CreatedAt)
	st.LastActiveAt = statusTime(u.LastActiveAt)
}

// statusTime converts a store time for status at the API's precision (seconds), so
// an unchanged time compares equal to what the API server returned last time and
// causes no status write.
func statusTime(t *time.Time) *metav1.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

// grantsHeld is the user's grant set as the store holds it: the listing's copy, or a
// read when the user is not in it (none when the store has no such user).
func (r *StudioUserReconciler) grantsHeld(ctx context.Context, key string) ([]store.Grant, error) {
	if gs, ok := r.directory.grants.lookup(ctx, key); ok {
		return gs, nil
	}
	set, err := r.store.GetGrants(ctx, key)
	if store.IsNotFound(err) {
		return nil, nil
	}
	return set.Grants, err
}

// managesUser reports whether the store's user is managed by this instance, or
// cannot be read (then the removal tells, and is retried). A user that is not there
// is trivially ours to remove.
func (r *StudioUserReconciler) managesUser(ctx context.Context, key string) bool {
	u, err := r.storedUser(ctx, key)
	return err != nil || u == nil || u.ManagedBy == r.opts.InstanceID
}

// reconcileDelete honours deletionPolicy: Delete (the default) removes the user from
// the store — all grants revoked, a pending invitation withdrawn, state Removed —
// before the finalizer goes; Orphan leaves the user as it is. Either way the
// invitation-link Secret is deleted. A store outage keeps the finalizer (nothing is
// revoked by guesswork, and nothing is left behind).
// Under Observe the user is left as it is in the observed agencies, and a user this
// instance does not manage is never removed.
func (r *StudioUserReconciler) reconcileDelete(ctx context.Context, run *userRun) outcome {
	u := run.u
	// Who deleted the object is not recorded by Kubernetes: the removal is credited
	// to the object (and its GitOps application), not to its last editor.
	run.caller = provenance.Deletion(kindStudioUser, u, time.Now()).Caller(r.opts.InstanceID, FieldManager)
	if u.Spec.DeletionPolicy != iamv1.DeletionPolicyOrphan {
		// Removing revokes everything: the guard decides first, agency by agency.
		before, err := r.grantsHeld(ctx, run.key)
		if err != nil {
			return fromStoreError(err, iamv1.ReasonStoreUnavailable)
		}
		sc, err := r.observe.read(ctx)
		if err != nil {
			return kubeFailed(err)
		}
		all, observed := sc.touched(before)
		switch {
		case len(observed) > 0 && len(observed) == len(all):
			// Every agency the user has access in is under Observe: the record stays.
			r.normalEvent(u, EventUserRemoved, actionDelete, "observe-only (agency %s): the user is left in the Studio as it is", strings.Join(observed, ", "))
		case len(observed) > 0:
			// Revoke what is under Full; the observed agencies' grants stay, and so
			// does the record that holds them.
			w, err := r.grants.write(ctx, run.caller, run.key, nil)
			if err != nil {
				return fromStoreError(err, "")
			}
			if len(w.revocationsHeld) > 0 {
				return stalled(iamv1.ReasonRevocationHeld, heldMessage(w.revocationsHeld))
			}
			r.normalEvent(u, EventUserRemoved, actionDelete, "access revoked outside the observe-only agencies (%s), where the user is left as it is", strings.Join(observed, ", "))
		case !r.managesUser(ctx, run.key):
			// Never adopted (it was only observed) or someone else's: not ours to remove.
			r.normalEvent(u, EventUserRemoved, actionDelete, "the Studio's user is not managed by this operator; it is left as it is")
		default:
			if _, held := r.grants.revocations.filter(ctx, run.key, before, nil); len(held) > 0 {
				return stalled(iamv1.ReasonRevocationHeld, heldMessage(held))
			}
			if _, err := r.store.RemoveUser(ctx, run.caller, run.key); err != nil && !store.IsNotFound(err) {
				return fromStoreError(err, "")
			}
			// The user holds nothing now: a retry (the Secret or the finalizer below
			// failed) must not take the listing's older copy for access still to revoke.
			r.directory.grants.note(run.key, nil)
			r.normalEvent(u, EventUserRemoved, actionDelete, "removed from the Studio: all access revoked")
		}
	}
	if err := r.deleteLinkSecret(ctx, u); err != nil {
		return kubeFailed(err)
	}
	if err := releaseFinalizer(ctx, r.Client, u); err != nil {
		return kubeFailed(err)
	}
	r.forget(u)
	return gone
}
