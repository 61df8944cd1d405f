package controllers

import (
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Event reasons. Events are recorded only when something changes (or stalls), never
// on an idle reconcile, and never carry emails, links or tokens.
const (
	EventInvitationSent = "InvitationSent"
	EventAccessGranted  = "AccessGranted"
	EventAccessRevoked  = "AccessRevoked"
	EventDriftCorrected = "DriftCorrected"
	EventUserRemoved    = "UserRemoved"
	EventRecordDeleted  = "RecordDeleted"
	EventStalled        = "Stalled"
	// EventSubjectsUpdated is recorded on a RoleBinding of more than
	// perUserEventSubjects subjects when its spec changed: one event for the access
	// change of all of them.
	EventSubjectsUpdated = "SubjectsUpdated"
	// EventRevocationHeld (Warning, on an Agency): the revocation guard holds
	// revocations; the note says how many and the plan hash to approve.
	EventRevocationHeld = "RevocationHeld"
	// EventRevocationsApproved: an approval annotation let the held plan through.
	EventRevocationsApproved = "RevocationsApproved"
	// EventApprovalIgnored (Warning): the approval annotation names another plan.
	EventApprovalIgnored = "ApprovalIgnored"
	// EventInvitationExpired (Warning, on a StudioUser): the invitation expired
	// without being accepted and is not renewed.
	EventInvitationExpired = "InvitationExpired"
	// EventInvitationUndeliverable (Warning): the Studio gave up delivering the
	// invitation email; the note has the reply class, never the address.
	EventInvitationUndeliverable = "InvitationUndeliverable"
)

// perUserEventSubjects is the most subjects a RoleBinding may have for its changes to
// be announced on each user; a larger binding announces them once, itself.
const perUserEventSubjects = 10

// Event actions (the events.k8s.io "action" field: what the operator did).
const (
	actionReconcile = "Reconcile"
	actionInvite    = "Invite"
	actionDelete    = "Delete"
)

func (r *reconciler) normalEvent(obj runtime.Object, reason, action, note string, args ...any) {
	r.recorder.Eventf(obj, nil, corev1.EventTypeNormal, reason, action, note, args...)
}

func (r *reconciler) warningEvent(obj runtime.Object, reason, action, note string, args ...any) {
	r.recorder.Eventf(obj, nil, corev1.EventTypeWarning, reason, action, note, args...)
}

// noteStall records a Stalled event when o newly stalls obj.
func (r *reconciler) noteStall(obj runtime.Object, o outcome, conditionsBefore []metav1.Condition) {
	if o.stalledFresh(conditionsBefore) {
		r.warningEvent(obj, EventStalled, actionReconcile, "%s: %s", o.reason, o.message)
	}
}

// finish applies the outcome to the object's conditions, records a Stalled event when
// the object newly stalls, and returns what Reconcile returns.
func (r *reconciler) finish(obj client.Object, st *iamv1.CommonStatus, before []metav1.Condition, out outcome, t timing) (ctrl.Result, error) {
	if out.kind == outcomeGone {
		return ctrl.Result{}, nil
	}
	if out.kind == outcomeFailed && apierrors.IsConflict(out.err) {
		// A stale cache, not a state worth reporting: retry without touching status.
		return ctrl.Result{}, out.err
	}
	out.apply(st, obj.GetGeneration())
	r.noteStall(obj, out, before)
	return out.result(t)
}
