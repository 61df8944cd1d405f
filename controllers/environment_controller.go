package controllers

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

const kindEnvironment = "Environment"

// EnvironmentReconciler checks that an Environment's agency exists and allows its
// namespace, upserts its record ("<ns>.<name>"), and with deletionPolicy Delete
// deletes the record (and so every grant on it) when the object goes.
type EnvironmentReconciler struct {
	reconciler
	// environments lists the store's environments once per resync period, so a
	// resync of an environment that is as wanted costs no request.
	environments *listing[store.Environment]
}

// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=environments,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=environments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=environments/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile brings one Environment's record in line with its spec.
func (r *EnvironmentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	env := &iamv1.Environment{}
	if err := r.Get(ctx, req.NamespacedName, env); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	old := env.Status.DeepCopy()
	defer func() {
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, env, func(b client.Object) { b.(*iamv1.Environment).Status = *old }))
		res, retErr = quietConflict(res, retErr)
	}()

	var out outcome
	switch {
	case !env.DeletionTimestamp.IsZero():
		out = r.reconcileDelete(ctx, env)
	default:
		if err := syncFinalizer(ctx, r.Client, env, env.Spec.DeletionPolicy == iamv1.DeletionPolicyDelete); err != nil {
			return ctrl.Result{}, err
		}
		out = r.reconcileRecord(ctx, env)
	}
	return r.finish(env, &env.Status.CommonStatus, old.Conditions, out, r.timing)
}

// reconcileRecord resolves the agency and tenancy (planner.ResolveEnvironment: Stalled
// AgencyNotFound / NamespaceNotAllowed, and status.agency), then upserts the record
// when the store's differs. An agency the store does not know yet is waited for
// (AgencyNotReady); the Agency becoming Ready re-queues this object.
func (r *EnvironmentReconciler) reconcileRecord(ctx context.Context, env *iamv1.Environment) outcome {
	l := newSnapshotLoader(r.Client)
	if err := l.addEnvironment(ctx, env); err != nil {
		return kubeFailed(err)
	}
	res := planner.ResolveEnvironment(env, l.s)
	if !res.Valid() {
		env.Status.Agency = ""
		return stalled(res.Reason, res.Message)
	}

	key := planner.StoreEnvironmentKey(client.ObjectKeyFromObject(env))
	want := store.EnvironmentSpec{Agency: res.Agency, DisplayName: env.Spec.DisplayName}
	rec := environmentRecord{r: &r.reconciler, env: env, key: key, want: want, listing: r.environments}
	listed, facts, err := rec.observe(ctx)
	if err != nil {
		return fromStoreError(err, iamv1.ReasonAgencyNotReady)
	}
	observed, err := r.observe.observedFor(ctx, res.Agency)
	if err != nil {
		return kubeFailed(err)
	}
	if observed {
		return r.observeRecord(env, res.Agency, key, listed, facts.exists, want)
	}
	setPlanned(&env.Status.Conditions, env.Generation, false, "")
	if _, err := applyRecord(ctx, &r.reconciler, env, kindEnvironment, rec, listed, facts); err != nil {
		return fromStoreError(err, iamv1.ReasonAgencyNotReady)
	}
	env.Status.StudioKey = key
	env.Status.Agency = res.Agency
	return ready(iamv1.ReasonSucceeded, "the environment is recorded in the Studio")
}

// observeRecord reports, for an environment of an agency under Observe, what Full
// would do with its record, writing nothing: Ready, reason ObserveOnly, and condition
// Planned with the same message.
func (r *EnvironmentReconciler) observeRecord(env *iamv1.Environment, agency, key string, listed store.Environment, ok bool, want store.EnvironmentSpec) outcome {
	summary := "the Studio has the environment as wanted; Full would change nothing"
	switch {
	case !ok:
		summary = "Full would record the environment"
	case listed.ManagedBy == "":
		summary = "Full would adopt the environment's record"
	case listed.Agency != want.Agency || listed.DisplayName != want.DisplayName || listed.ManagedBy != r.opts.InstanceID:
		summary = "Full would update the environment's record"
	}
	if ok {
		env.Status.StudioKey = key
	}
	env.Status.Agency = agency
	msg := observeMessage([]string{agency}, summary)
	setPlanned(&env.Status.Conditions, env.Generation, true, msg)
	return ready(iamv1.ReasonObserveOnly, msg)
}

// reconcileDelete honours deletionPolicy: Orphan (the default) leaves the record;
// Delete deletes it, and with it every grant on the environment — unless its agency
// is under Observe, where the record stays. The finalizer goes last, so a store
// outage keeps the object until the record is gone.
func (r *EnvironmentReconciler) reconcileDelete(ctx context.Context, env *iamv1.Environment) outcome {
	observed, err := r.observe.observedFor(ctx, env.Spec.AgencyRef.Name)
	if err != nil {
		return kubeFailed(err)
	}
	if env.Spec.DeletionPolicy == iamv1.DeletionPolicyDelete && !observed {
		key := planner.StoreEnvironmentKey(client.ObjectKeyFromObject(env))
		caller := provenance.Caller(kindEnvironment, env, r.opts.InstanceID, FieldManager)
		if err := r.store.DeleteEnvironment(ctx, caller, key); err != nil && !store.IsNotFound(err) {
			return fromStoreError(err, iamv1.ReasonAgencyNotReady)
		}
		r.environments.forget(key)
		r.normalEvent(env, EventRecordDeleted, actionDelete, "environment deleted from the Studio")
	}
	if err := releaseFinalizer(ctx, r.Client, env); err != nil {
		return kubeFailed(err)
	}
	return gone
}

func (r *EnvironmentReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("environment").
		For(&iamv1.Environment{}, builder.WithPredicates(specOrLifecycle)).
		// The agency decides tenancy, and its record must exist before ours.
		Watches(&iamv1.Agency{}, handler.EnqueueRequestsFromMapFunc(r.environmentsOfAgency),
			builder.WithPredicates(specOrReadiness)).
		// Namespace labels decide tenancy for agencies with from: Selector.
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.environmentsInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WithOptions(r.controllerOptions(r.opts.workersFor(kindEnvironment))).
		Complete(r)
}

func (r *EnvironmentReconciler) environmentsOfAgency(ctx context.Context, o client.Object) []reconcile.Request {
	envs, err := r.rel.environmentsOf(ctx, o.GetName())
	logMapError(ctx, err, "Agency")
	set := requestSet{}
	for i := range envs {
		set.addObjects(&envs[i])
	}
	return set.requests()
}

func (r *EnvironmentReconciler) environmentsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	envs, err := r.rel.environmentsIn(ctx, o.GetName())
	logMapError(ctx, err, "Namespace")
	set := requestSet{}
	for i := range envs {
		set.addObjects(&envs[i])
	}
	return set.requests()
}
