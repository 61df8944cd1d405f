package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

const kindAgency = "Agency"

// AgencyReconciler upserts an Agency's record in the store and, with deletionPolicy
// Delete, deletes it once the agency's Environments are gone.
type AgencyReconciler struct {
	reconciler
	// revocations holds the mass-revocation guard, whose holds the agency reports.
	revocations *revocations
	// requeueUsers re-queues StudioUsers (whose held revocations were approved).
	requeueUsers func(names []string)
	// ignored remembers, per agency, the approval last reported as ignored.
	ignored sync.Map
}

// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=agencies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=agencies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=agencies/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one Agency's record in line with its spec.
func (r *AgencyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	a := &iamv1.Agency{}
	if err := r.Get(ctx, req.NamespacedName, a); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	old := a.Status.DeepCopy()
	defer func() {
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, a, func(b client.Object) { b.(*iamv1.Agency).Status = *old }))
		res, retErr = quietConflict(res, retErr)
	}()

	var out outcome
	switch {
	case !a.DeletionTimestamp.IsZero():
		out = r.reconcileDelete(ctx, a)
	default:
		if err := syncFinalizer(ctx, r.Client, a, a.Spec.DeletionPolicy == iamv1.DeletionPolicyDelete); err != nil {
			return ctrl.Result{}, err
		}
		out = r.reconcileRecord(ctx, a)
		if out.kind == outcomeReady {
			out = r.reportHeld(a, old.HeldRevocations)
		}
	}
	return r.finish(a, &a.Status.CommonStatus, old.Conditions, out, r.timing)
}

// reconcileRecord counts the agency's Environments (status.environments) and upserts
// its record when the store's differs (PutAgency; nothing is written when it matches).
// Sets Ready, or Stalled/StoreUnavailable from the store's answer.
func (r *AgencyReconciler) reconcileRecord(ctx context.Context, a *iamv1.Agency) outcome {
	envs, err := r.rel.environmentsOf(ctx, a.Name)
	if err != nil {
		return kubeFailed(err)
	}
	a.Status.Environments = int32(countLive(envs))
	if out := r.checkHome(ctx, a); out.kind != outcomeContinue {
		return out
	}

	want := store.AgencySpec{DisplayName: a.Spec.DisplayName}
	got, err := r.store.GetAgency(ctx, a.Name)
	switch {
	case err == nil && got.DisplayName == want.DisplayName && got.ManagedBy == r.opts.InstanceID:
		a.Status.StudioKey = a.Name
		return ready(iamv1.ReasonSucceeded, msgAgencyReady)
	case err != nil && !store.IsNotFound(err):
		return fromStoreError(err, iamv1.ReasonAgencyNotReady)
	}
	drift := err == nil && got.ManagedBy == r.opts.InstanceID && reconciledBefore(a, a.Status.Conditions)
	caller := provenance.Caller(kindAgency, a, r.opts.InstanceID, FieldManager)
	if _, _, err := r.store.PutAgency(ctx, caller, a.Name, want); err != nil {
		return fromStoreError(err, iamv1.ReasonAgencyNotReady)
	}
	if drift {
		r.noteDrift(a, kindAgency)
	}
	a.Status.StudioKey = a.Name
	return ready(iamv1.ReasonSucceeded, msgAgencyReady)
}

const msgAgencyReady = "the agency is recorded in the Studio"

// reportHeld shows the revocations the guard holds in the agency (condition
// RevocationHeld, status.heldRevocations, a Warning event for each new plan) and acts
// on an approval annotation naming the current plan: its users are re-queued and
// their revocations go through. Without holds the agency is Ready.
func (r *AgencyReconciler) reportHeld(a *iamv1.Agency, before *iamv1.HeldRevocations) outcome {
	h := r.revocations.guard.Held(a.Name)
	if len(h.Users) == 0 {
		a.Status.HeldRevocations = nil
		meta.RemoveStatusCondition(&a.Status.Conditions, iamv1.ConditionRevocationHeld)
		return ready(iamv1.ReasonSucceeded, msgAgencyReady)
	}
	if approval := a.Annotations[iamv1.AnnotationApproveRevocations]; approval != "" {
		switch {
		case r.revocations.guard.Approve(a.Name, approval):
			r.normalEvent(a, EventRevocationsApproved, actionReconcile, "%s approved: their revocations go ahead", plural(len(h.Users), "held revocation"))
			r.requeueUsers(h.Users)
		case approval != h.PlanHash:
			if last, _ := r.ignored.Load(a.Name); last != approval {
				r.ignored.Store(a.Name, approval)
				r.warningEvent(a, EventApprovalIgnored, actionReconcile,
					"annotation %s names another plan than the one held now (%s): nothing was approved; review the held revocations and approve the current plan",
					iamv1.AnnotationApproveRevocations, h.PlanHash)
			}
		}
	}
	msg := fmt.Sprintf("%s held: more users would lose all their access here than spec.revocationGuard allows within the revocation window, "+
		"the last OrganisationManager or Administrator would go, or the operator's CRDs are being deleted; "+
		"review them (kubectl studio plan %s) and approve plan %s (kubectl studio approve %s)",
		plural(len(h.Users), "revocation"), a.Name, h.PlanHash, a.Name)
	a.Status.HeldRevocations = &iamv1.HeldRevocations{Users: int32(len(h.Users)), PlanHash: h.PlanHash}
	meta.SetStatusCondition(&a.Status.Conditions, metav1.Condition{
		Type: iamv1.ConditionRevocationHeld, Status: metav1.ConditionTrue, Reason: iamv1.ReasonRevocationHeld,
		Message: msg, ObservedGeneration: a.Generation,
	})
	if before == nil || before.PlanHash != h.PlanHash {
		r.warningEvent(a, EventRevocationHeld, actionReconcile, "%s", msg)
	}
	return stalled(iamv1.ReasonRevocationHeld, msg)
}

// checkHome stalls an agency whose homeNamespace does not exist or is the home of
// another agency, created first (planner.HomeNamespaceHolder): RoleBindings in that
// namespace could otherwise grant agency-wide roles on both. Its record is left as
// it is; what it grants follows from the same rule in the planner.
func (r *AgencyReconciler) checkHome(ctx context.Context, a *iamv1.Agency) outcome {
	l := newSnapshotLoader(r.Client)
	if err := l.agency(ctx, a.Name); err != nil {
		return kubeFailed(err)
	}
	l.s.Agencies[a.Name] = a
	if why := planner.HomeNamespaceTaken(a, l.s); why != "" {
		return stalled(iamv1.ReasonHomeNamespaceTaken, why)
	}
	ns := &corev1.Namespace{}
	found, err := l.get(ctx, types.NamespacedName{Name: a.Spec.HomeNamespace}, ns)
	if err != nil {
		return kubeFailed(err)
	}
	if !found || !ns.DeletionTimestamp.IsZero() {
		return stalled(iamv1.ReasonHomeNamespaceNotFound,
			fmt.Sprintf("homeNamespace %q does not exist (or is being deleted); create it, or point the agency at its namespace", a.Spec.HomeNamespace))
	}
	return proceed
}

// reconcileDelete honours deletionPolicy: Orphan (the default) leaves the record;
// Delete waits (DependentsExist) while Environments of the agency exist, then deletes
// the record. The finalizer goes last.
func (r *AgencyReconciler) reconcileDelete(ctx context.Context, a *iamv1.Agency) outcome {
	if a.Spec.DeletionPolicy == iamv1.DeletionPolicyDelete {
		envs, err := r.rel.environmentsOf(ctx, a.Name)
		if err != nil {
			return kubeFailed(err)
		}
		if len(envs) > 0 {
			return waiting(iamv1.ReasonDependentsExist,
				fmt.Sprintf("waiting for %s of this agency to be deleted", plural(len(envs), "Environment")))
		}
		caller := provenance.Caller(kindAgency, a, r.opts.InstanceID, FieldManager)
		if err := r.store.DeleteAgency(ctx, caller, a.Name); err != nil && !store.IsNotFound(err) {
			return fromStoreError(err, iamv1.ReasonAgencyNotReady)
		}
		r.normalEvent(a, EventRecordDeleted, actionDelete, "agency deleted from the Studio")
	}
	if err := releaseFinalizer(ctx, r.Client, a); err != nil {
		return kubeFailed(err)
	}
	return gone
}

func (r *AgencyReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("agency").
		For(&iamv1.Agency{}, builder.WithPredicates(specLifecycleOrApproval)).
		// Environments: the count in status, and deletion waits for them.
		Watches(&iamv1.Environment{}, handler.EnqueueRequestsFromMapFunc(agencyOfEnvironment),
			builder.WithPredicates(specOrLifecycle)).
		// The other agencies with the same homeNamespace, and the namespace itself:
		// which agency holds a namespace, and whether it exists (checkHome).
		Watches(&iamv1.Agency{}, handler.EnqueueRequestsFromMapFunc(r.agenciesSharingHome),
			builder.WithPredicates(specOrLifecycle)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.agenciesAtHome),
			builder.WithPredicates(specOrLifecycle)).
		// The guard's holds changed.
		WatchesRawSource(source.Channel(r.revocations.agencyEvents, &handler.EnqueueRequestForObject{})).
		WithOptions(r.controllerOptions(r.opts.workersFor(kindAgency))).
		Complete(r)
}

func (r *AgencyReconciler) agenciesSharingHome(ctx context.Context, o client.Object) []reconcile.Request {
	return r.agenciesWithHome(ctx, o.(*iamv1.Agency).Spec.HomeNamespace)
}

func (r *AgencyReconciler) agenciesAtHome(ctx context.Context, o client.Object) []reconcile.Request {
	return r.agenciesWithHome(ctx, o.GetName())
}

func (r *AgencyReconciler) agenciesWithHome(ctx context.Context, namespace string) []reconcile.Request {
	as, err := r.rel.agenciesWithHome(ctx, namespace)
	logMapError(ctx, err, "Agency")
	set := requestSet{}
	for i := range as {
		set.addObjects(&as[i])
	}
	return set.requests()
}

func agencyOfEnvironment(_ context.Context, o client.Object) []reconcile.Request {
	env := o.(*iamv1.Environment)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: env.Spec.AgencyRef.Name}}}
}

// countLive counts the objects that are not being deleted.
func countLive(envs []iamv1.Environment) int {
	n := 0
	for _, e := range envs {
		if e.DeletionTimestamp.IsZero() {
			n++
		}
	}
	return n
}

// reconciledBefore reports whether the object's current generation was already
// reconciled successfully: then a store record that differs from it was changed
// outside the operator (drift), not by a new spec.
func reconciledBefore(obj metav1.Object, conds []metav1.Condition) bool {
	c := meta.FindStatusCondition(conds, iamv1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration()
}

// noteDrift records a corrected drift (the store audits it as drift.corrected).
func (r *reconciler) noteDrift(obj client.Object, kind string) {
	metrics.DriftCorrected.WithLabelValues(kind).Inc()
	r.normalEvent(obj, EventDriftCorrected, actionReconcile, "the Studio record was changed outside the operator; set back to the declared state")
}
