package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

const kindRoleBinding = "RoleBinding"

// RoleBindingReconciler resolves a RoleBinding's scope and subjects and reports, per
// subject, whether its roles apply. It writes nothing to the store: the StudioUser
// reconciler turns every valid binding into grants, with the same planner functions.
type RoleBindingReconciler struct {
	reconciler
}

// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=rolebindings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=rolebindings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=rolebindings/finalizers,verbs=update

// Reconcile reports whether one RoleBinding applies.
func (r *RoleBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	b := &iamv1.RoleBinding{}
	if err := r.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	old := b.Status.DeepCopy()
	defer func() {
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, b, func(o client.Object) { o.(*iamv1.RoleBinding).Status = *old }))
		res, retErr = quietConflict(res, retErr)
	}()

	var out outcome
	switch {
	case !b.DeletionTimestamp.IsZero():
		out = r.reconcileDelete(ctx, b)
	default:
		if err := ensureFinalizer(ctx, r.Client, b); err != nil {
			return ctrl.Result{}, err
		}
		out = r.reconcileResolution(ctx, b)
	}
	// No periodic resync: a binding's status depends only on watched objects.
	return r.finish(b, &b.Status.CommonStatus, old.Conditions, out, timing{wait: r.timing.wait})
}

// reconcileResolution evaluates the binding (planner.EvaluateBinding) and writes
// status.agency, status.environment and status.subjects. Ready when it applies to
// every subject as written; otherwise Stalled with the first problem (a reference
// that does not resolve, a scope the agency does not allow, roles an Agent cannot
// hold): it cannot progress until an object changes, and the watches notice that.
func (r *RoleBindingReconciler) reconcileResolution(ctx context.Context, b *iamv1.RoleBinding) outcome {
	l := newSnapshotLoader(r.Client)
	if err := l.bindingScope(ctx, b); err != nil {
		return kubeFailed(err)
	}
	for _, s := range b.Spec.Subjects {
		if err := l.user(ctx, s.Name); err != nil {
			return kubeFailed(err)
		}
	}
	v := planner.EvaluateBinding(b, l.s)
	b.Status.Agency, b.Status.Environment = "", ""
	if v.Scope.Valid() {
		b.Status.Agency = v.Scope.Agency
		if v.Scope.EnvironmentScoped() {
			b.Status.Environment = planner.EnvironmentRef(v.Scope.Environment)
		}
	}
	b.Status.Subjects = v.Subjects
	if reason, msg := v.Problem(); reason != "" {
		return stalled(reason, msg)
	}
	return ready(iamv1.ReasonSucceeded, fmt.Sprintf("the roles apply to %s", plural(len(v.Subjects), "subject")))
}

// reconcileDelete keeps the finalizer until no subject still holds roles through this
// binding (its status.access no longer lists it), so deleting a binding revokes
// before the object disappears. Subjects that are gone, being deleted or stalled are
// not waited for: they have no reconciler making progress to wait for.
func (r *RoleBindingReconciler) reconcileDelete(ctx context.Context, b *iamv1.RoleBinding) outcome {
	ref := b.Namespace + "/" + b.Name
	for _, s := range b.Spec.Subjects {
		u := &iamv1.StudioUser{}
		if err := r.Get(ctx, types.NamespacedName{Name: s.Name}, u); err != nil {
			if client.IgnoreNotFound(err) != nil {
				return kubeFailed(err)
			}
			continue
		}
		if !u.DeletionTimestamp.IsZero() || meta.IsStatusConditionTrue(u.Status.Conditions, iamv1.ConditionStalled) {
			continue
		}
		if grantsThrough(u, ref) {
			return waiting(iamv1.ReasonDeleting, fmt.Sprintf("waiting for StudioUser %q to lose the roles of this binding", s.Name))
		}
	}
	if err := releaseFinalizer(ctx, r.Client, b); err != nil {
		return kubeFailed(err)
	}
	return gone
}

// grantsThrough reports whether u's effective access names binding ref.
func grantsThrough(u *iamv1.StudioUser, ref string) bool {
	for _, a := range u.Status.Access {
		if slices.Contains(a.Bindings, ref) {
			return true
		}
	}
	return false
}

func (r *RoleBindingReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("rolebinding").
		For(&iamv1.RoleBinding{}, builder.WithPredicates(specOrLifecycle)).
		Watches(&iamv1.StudioUser{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfUser),
			builder.WithPredicates(userSubjectChanged)).
		Watches(&iamv1.Environment{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfEnvironment),
			builder.WithPredicates(specOrLifecycle)).
		Watches(&iamv1.Agency{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfAgency),
			builder.WithPredicates(specOrLifecycle)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.bindingsInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WithOptions(r.controllerOptions(2)).
		Complete(r)
}

func (r *RoleBindingReconciler) bindingsOfUser(ctx context.Context, o client.Object) []reconcile.Request {
	bs, err := r.rel.bindingsNaming(ctx, o.GetName())
	logMapError(ctx, err, "StudioUser")
	return bindingRequests(bs)
}

func (r *RoleBindingReconciler) bindingsOfEnvironment(ctx context.Context, o client.Object) []reconcile.Request {
	bs, err := r.rel.bindingsOnEnvironment(ctx, client.ObjectKeyFromObject(o))
	logMapError(ctx, err, "Environment")
	return bindingRequests(bs)
}

func (r *RoleBindingReconciler) bindingsOfAgency(ctx context.Context, o client.Object) []reconcile.Request {
	bs, err := r.rel.bindingsAffectedByAgency(ctx, o.GetName())
	logMapError(ctx, err, "Agency")
	return bindingRequests(bs)
}

// bindingsInNamespace: namespace labels decide tenancy of the Environments there, so
// of the environment-scoped bindings next to them.
func (r *RoleBindingReconciler) bindingsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var l iamv1.RoleBindingList
	err := r.rel.c.List(ctx, &l, client.InNamespace(o.GetName()))
	logMapError(ctx, err, "Namespace")
	var bs []iamv1.RoleBinding
	for _, b := range l.Items {
		if b.Spec.Scope.Environment != "" {
			bs = append(bs, b)
		}
	}
	return bindingRequests(bs)
}

func bindingRequests(bs []iamv1.RoleBinding) []reconcile.Request {
	set := requestSet{}
	for i := range bs {
		set.addObjects(&bs[i])
	}
	return set.requests()
}
