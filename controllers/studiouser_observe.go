package controllers

import (
	"context"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// observeOnly ends the reconcile of a user whose every agency is under Observe
// (reconcilePlan), or who has no access anywhere while some agency is under Observe
// (it may be on its way into one): it reads the store's record, grants and invitation state and
// writes none of them; status.plan says what Full would change — the record
// (create, adopt, update and the fields), the grants per scope, and whether an
// invitation would be sent. Ready, reason ObserveOnly. Other users proceed.
func (r *StudioUserReconciler) observeOnly(ctx context.Context, run *userRun) outcome {
	if !run.fullyObserved {
		return proceed
	}
	u := run.u
	if len(run.observed) == 0 {
		u.Status.Plan = nil
		return ready(iamv1.ReasonObserveOnly, "no access in any agency yet: while an agency is under Observe, a user is written to the Studio only once it has access in an agency under Full")
	}
	stored, err := r.storedUser(ctx, run.key)
	if err != nil {
		return fromStoreError(err, "")
	}
	record, fields := planner.ProfileChange(planner.DesiredProfile(u), stored, r.opts.InstanceID)
	plan := &iamv1.PlannedChanges{
		Agencies: run.observed, Record: record, Profile: fields,
		Grants: planner.GrantChanges(run.held, run.full.Grants, run.scopes.agencyOf, run.scopes.observed),
	}
	var state store.UserState
	if stored != nil {
		state = stored.State
		u.Status.StudioID = run.key
		setProfileStatus(&u.Status, *stored)
	}
	plan.Invitation = planner.PlanInvitation(planner.InvitationInput{
		UID: u.UID, Spec: u.Spec.Invitation, Status: u.Status.Invitation,
		HasAccess: run.full.HasAccess(), StoreState: state,
	}).Send
	u.Status.Plan = plan
	return ready(iamv1.ReasonObserveOnly, observeMessage(run.observed, planSummary(plan)))
}

// storedUser is the user as the store has it (the listing's copy, or a read when
// the listing does not show it), nil when there is none.
func (r *StudioUserReconciler) storedUser(ctx context.Context, key string) (*store.User, error) {
	if u, ok := r.directory.users.lookup(ctx, key); ok {
		return &u, nil
	}
	u, err := r.store.GetUser(ctx, key)
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// notePlan keeps status.plan and condition Planned in step with what this reconcile
// found: no plan when no agency of the user is under Observe; for a user with
// access under Full too, the grant changes left undone in the observed agencies
// (kept from the last reconcile when this one did not get to the grants).
func (r *StudioUserReconciler) notePlan(run *userRun) {
	st := &run.u.Status
	switch {
	case len(run.observed) == 0:
		st.Plan = nil
	case run.fullyObserved:
		// observeOnly set it (or failed reading the store: the last plan stands).
	case run.grantsWritten:
		st.Plan = &iamv1.PlannedChanges{Agencies: run.observed, Grants: run.planned}
	}
	msg := ""
	if st.Plan != nil {
		msg = observeMessage(st.Plan.Agencies, planSummary(st.Plan))
		if !run.fullyObserved {
			msg += "; the user's access elsewhere is managed in full"
		}
	}
	setPlanned(&st.Conditions, run.u.Generation, st.Plan != nil, msg)
}
