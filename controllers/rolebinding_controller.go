package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
)

const kindRoleBinding = "RoleBinding"

// RoleBindingReconciler resolves a RoleBinding's scope and subjects and reports, per
// subject, whether its roles apply. The StudioUser reconciler turns every valid
// binding into grants, with the same planner functions; only when a binding of more
// than perUserEventSubjects subjects changes or goes does this reconciler write its
// subjects' new grant sets first, all at once (grantWriter.fanOut), so the store
// follows the edit without waiting for every user's reconcile.
type RoleBindingReconciler struct {
	reconciler
	grants *grantWriter
	// large remembers the subjects of the large bindings, for their deletion.
	large bindingSubjects
}

// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=rolebindings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=rolebindings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=rolebindings/finalizers,verbs=update

// Reconcile reports whether one RoleBinding applies.
func (r *RoleBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	b := &iamv1.RoleBinding{}
	if err := r.Get(ctx, req.NamespacedName, b); err != nil {
		if apierrors.IsNotFound(err) {
			r.fanOut(ctx, r.large.take(req.NamespacedName))
		}
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
		if err := syncFinalizer(ctx, r.Client, b, false); err != nil {
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
	before := subjectNames(b.Status.Subjects)
	b.Status.Subjects = v.Subjects
	large := len(b.Spec.Subjects) > perUserEventSubjects
	if large {
		r.large.remember(client.ObjectKeyFromObject(b), specSubjectNames(b))
	} else {
		r.large.take(client.ObjectKeyFromObject(b))
	}
	if large && b.Status.ObservedGeneration != b.Generation {
		// The subjects it names now and those it named before.
		r.fanOut(ctx, append(specSubjectNames(b), before...))
	}
	if reason, msg := v.Problem(); reason != "" {
		return stalled(reason, msg)
	}
	if n := len(b.Spec.Subjects); large && !reconciledBefore(b, b.Status.Conditions) {
		// Its users' access changes are announced here, once per generation that
		// applies (see announce): also when an earlier look at this generation
		// stalled, e.g. on subjects not created yet.
		r.normalEvent(b, EventSubjectsUpdated, actionReconcile, "roles %s apply to %s; their access in the Studio follows",
			rolesText(b.Spec.Roles), plural(n, "subject"))
	}
	observed, err := r.observe.observedFor(ctx, v.Scope.Agency)
	if err != nil {
		return kubeFailed(err)
	}
	applies := fmt.Sprintf("the roles apply to %s", plural(len(v.Subjects), "subject"))
	if observed {
		msg := observeMessage([]string{v.Scope.Agency}, applies+" once it is under Full; their users' status.plan shows the changes")
		setPlanned(&b.Status.Conditions, b.Generation, true, msg)
		return ready(iamv1.ReasonObserveOnly, msg)
	}
	setPlanned(&b.Status.Conditions, b.Generation, false, "")
	return ready(iamv1.ReasonSucceeded, applies)
}

// fanOut writes the grant sets of users now (grantWriter.fanOut); their reconciles,
// queued by the same change, find the store as planned.
func (r *RoleBindingReconciler) fanOut(ctx context.Context, users []string) {
	if len(users) == 0 {
		return
	}
	slices.Sort(users)
	users = slices.Compact(users)
	get := func(ctx context.Context, name string) (*iamv1.StudioUser, error) {
		u := &iamv1.StudioUser{}
		return u, r.Get(ctx, client.ObjectKey{Name: name}, u)
	}
	plan := func(ctx context.Context, u *iamv1.StudioUser) (userGrantPlan, error) {
		up, err := r.planUser(ctx, u)
		return userGrantPlan{grants: up.plan.Grants, caller: up.caller}, err
	}
	n := r.grants.fanOut(ctx, users, get, plan)
	ctrllog.FromContext(ctx).V(1).Info("fan-out", "subjects", len(users), "grantSetsWritten", n)
}

func specSubjectNames(b *iamv1.RoleBinding) []string {
	names := make([]string, len(b.Spec.Subjects))
	for i, s := range b.Spec.Subjects {
		names[i] = s.Name
	}
	return names
}

func subjectNames(ss []iamv1.SubjectStatus) []string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Name
	}
	return names
}

// reconcileDelete lets a deleted binding go. Its grants need no work of its own: every
// StudioUser naming it is re-queued by the deletion and recomputes its grants from the
// bindings that remain (a manager that was down does the same when it starts). Only a
// finalizer set by an earlier version is released here.
func (r *RoleBindingReconciler) reconcileDelete(ctx context.Context, b *iamv1.RoleBinding) outcome {
	if err := releaseFinalizer(ctx, r.Client, b); err != nil {
		return kubeFailed(err)
	}
	return gone
}

func (r *RoleBindingReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("rolebinding").
		For(&iamv1.RoleBinding{}, builder.WithPredicates(specOrLifecycle)).
		Watches(&iamv1.StudioUser{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfUser),
			builder.WithPredicates(specLifecycleOrRecord)).
		Watches(&iamv1.Environment{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfEnvironment),
			builder.WithPredicates(specOrLifecycle)).
		// Readiness too: an agency that loses its homeNamespace to another grants
		// nothing, and its bindings say so.
		Watches(&iamv1.Agency{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOfAgency),
			builder.WithPredicates(specOrReadiness)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.bindingsInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WithOptions(r.controllerOptions(r.opts.workersFor(kindRoleBinding))).
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

// rolesText is "Analyst, Planner", or "none (a block)" for an empty list.
func rolesText(roles []iamv1.Role) string {
	if len(roles) == 0 {
		return "none (a block)"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
