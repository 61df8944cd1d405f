package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
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
	// directory is the store as last listed: the environments whose records an
	// observed agency would write, and the users no StudioUser names.
	directory *storeDirectory
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
		// Held revocations are reported, and an approval acted on, whatever became of
		// the record: deleting the home namespace both stalls the record
		// (HomeNamespaceNotFound) and holds what deleting its RoleBindings revokes.
		if held := r.reportHeld(a, old.HeldRevocations); held.kind != outcomeContinue && out.kind == outcomeReady {
			out = held
		}
		if err := r.reportUnmanaged(ctx, a); err != nil {
			return ctrl.Result{}, err
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

	rec := agencyRecord{r: &r.reconciler, a: a}
	got, facts, err := rec.observe(ctx)
	if err != nil {
		return fromStoreError(err, iamv1.ReasonAgencyNotReady)
	}
	if a.Spec.ManagementPolicy == iamv1.ManagementObserve {
		return r.observeAgency(ctx, a, got, facts.exists, envs)
	}
	a.Status.Plan = nil
	setPlanned(&a.Status.Conditions, a.Generation, false, "")
	if _, err := applyRecord(ctx, &r.reconciler, a, kindAgency, rec, got, facts); err != nil {
		return fromStoreError(err, iamv1.ReasonAgencyNotReady)
	}
	a.Status.StudioKey = a.Name
	return ready(iamv1.ReasonSucceeded, msgAgencyReady)
}

const msgAgencyReady = "the agency is recorded in the Studio"

// observeAgency reports, for an agency under Observe, the totals of what Full would
// change (status.plan, from its users' plans and the records of its environments),
// writing nothing: Ready, reason ObserveOnly, and condition Planned.
func (r *AgencyReconciler) observeAgency(ctx context.Context, a *iamv1.Agency, got store.Agency, recorded bool, envs []iamv1.Environment) outcome {
	users := &iamv1.StudioUserList{}
	if err := r.List(ctx, users, client.UnsafeDisableDeepCopy); err != nil {
		return kubeFailed(err)
	}
	plans := map[string]*iamv1.PlannedChanges{}
	for i := range users.Items {
		if p := users.Items[i].Status.Plan; p != nil && slices.Contains(p.Agencies, a.Name) {
			plans[users.Items[i].Name] = p
		}
	}
	var toRecord []string
	for i := range envs {
		env := &envs[i]
		if !env.DeletionTimestamp.IsZero() {
			continue
		}
		key := planner.StoreEnvironmentKey(client.ObjectKeyFromObject(env))
		listed, ok := r.directory.environments.lookup(ctx, key)
		if !ok || listed.Agency != a.Name || listed.DisplayName != env.Spec.DisplayName || listed.ManagedBy != r.opts.InstanceID {
			toRecord = append(toRecord, key)
		}
	}
	slices.Sort(toRecord)
	plan := planner.AgencyTotals(a.Name, plans, toRecord)
	a.Status.Plan = &plan
	if recorded {
		a.Status.StudioKey = a.Name
	}
	summary := agencyPlanSummary(plan, !recorded || got.DisplayName != a.Spec.DisplayName || got.ManagedBy != r.opts.InstanceID)
	msg := observeMessage([]string{a.Name}, summary)
	setPlanned(&a.Status.Conditions, a.Generation, true, msg)
	return ready(iamv1.ReasonObserveOnly, msg)
}

// agencyPlanSummary says in a few words what Full would change in an agency.
func agencyPlanSummary(p iamv1.AgencyPlan, record bool) string {
	var parts []string
	add := func(n int32, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf(what, n))
		}
	}
	if record {
		parts = append(parts, "write the agency's record")
	}
	add(p.UsersToCreate, "create %d user(s)")
	add(p.RecordsToAdopt, "adopt %d user record(s)")
	add(p.UsersToUpdate, "update %d user(s)")
	add(p.UsersToRevoke, "revoke roles of %d user(s)")
	add(p.InvitationsToSend, "send %d invitation(s)")
	add(p.EnvironmentsToRecord, "record %d environment(s)")
	if len(parts) == 0 {
		return "the Studio already matches; Full would change nothing"
	}
	return "Full would " + strings.Join(parts, ", ") + " (plan " + p.PlanHash + ")"
}

// reportUnmanaged lists in status.unmanagedUsers the store's users with access in
// the agency that no StudioUser names (the first MaxUnmanagedKeys keys, sorted).
// The operator never changes them.
func (r *AgencyReconciler) reportUnmanaged(ctx context.Context, a *iamv1.Agency) error {
	agencyOf := r.revocations.agencyOf(ctx)
	r.directory.grants.lookup(ctx, "") // loads the first copy
	var keys []string
	r.directory.grants.each(func(key string, gs []store.Grant) {
		if accessByAgency(gs, agencyOf)[a.Name] {
			keys = append(keys, key)
		}
	})
	if len(keys) == 0 {
		a.Status.UnmanagedUsers = nil
		return nil
	}
	named := map[string]bool{}
	list := &iamv1.StudioUserList{}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	for i := range list.Items {
		named[list.Items[i].Name] = true
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return named[k] })
	if len(keys) == 0 {
		a.Status.UnmanagedUsers = nil
		return nil
	}
	slices.Sort(keys)
	a.Status.UnmanagedUsers = &iamv1.UnmanagedUsers{Count: int32(len(keys)), Keys: keys[:min(len(keys), iamv1.MaxUnmanagedKeys)]}
	return nil
}

// reportHeld shows the revocations the guard holds in the agency (condition
// RevocationHeld, status.heldRevocations, a Warning event for each new plan) and acts
// on an approval annotation naming the current plan: its users are re-queued and
// their revocations go through. Without holds it lets the reconcile's verdict stand.
func (r *AgencyReconciler) reportHeld(a *iamv1.Agency, before *iamv1.HeldRevocations) outcome {
	h := r.revocations.guard.Held(a.Name)
	if len(h.Users) == 0 && before != nil && !r.revocations.guard.Seen(a.Name) && time.Since(r.revocations.started) < r.revocations.window {
		// Held by the previous process: they stand until their users are decided
		// again (the guard inherits them), not cleared by a restart.
		a.Status.HeldRevocations = before
		return stalled(iamv1.ReasonRevocationHeld, fmt.Sprintf(
			"%s held before the operator restarted; they stay held as their users are reconciled again: review them (kubectl studio plan %s), then approve the plan the agency reports (kubectl studio approve %s)",
			plural(int(before.Users), "revocation"), a.Name, a.Name))
	}
	if len(h.Users) == 0 {
		a.Status.HeldRevocations = nil
		meta.RemoveStatusCondition(&a.Status.Conditions, iamv1.ConditionRevocationHeld)
		return proceed
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
	setTrueCondition(&a.Status.Conditions, a.Generation, iamv1.ConditionRevocationHeld, iamv1.ReasonRevocationHeld, msg)
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

// reconcileDelete honours deletionPolicy: Orphan (the default) leaves the record,
// as does an agency under Observe; Delete waits (DependentsExist) while Environments of the agency exist, then deletes
// the record. The finalizer goes last.
func (r *AgencyReconciler) reconcileDelete(ctx context.Context, a *iamv1.Agency) outcome {
	envs, err := r.rel.environmentsOf(ctx, a.Name)
	if err != nil {
		return kubeFailed(err)
	}
	a.Status.Environments = int32(countLive(envs))
	if a.Spec.DeletionPolicy == iamv1.DeletionPolicyDelete && a.Spec.ManagementPolicy != iamv1.ManagementObserve {
		if len(envs) > 0 {
			return waiting(iamv1.ReasonDependentsExist,
				fmt.Sprintf("waiting for %s of this agency to be deleted", plural(len(envs), "Environment")))
		}
		caller := provenance.Deletion(kindAgency, a, time.Now()).Caller(r.opts.InstanceID, FieldManager)
		if err := r.store.DeleteAgency(ctx, caller, a.Name); err != nil && !store.IsNotFound(err) {
			if out := fromStoreError(err, iamv1.ReasonAgencyNotReady); out.reason != iamv1.ReasonDependentsExist {
				return out
			}
			return stalled(iamv1.ReasonDependentsExist, r.orphanedMessage(ctx, a))
		}
		r.normalEvent(a, EventRecordDeleted, actionDelete, "agency deleted from the Studio")
	}
	if err := releaseFinalizer(ctx, r.Client, a); err != nil {
		return kubeFailed(err)
	}
	return gone
}

// orphanedMessage explains why an agency with deletionPolicy Delete cannot be deleted
// from the Studio although its Environments are gone: the Studio still has records of
// environments that were deleted with deletionPolicy Orphan (the default), and an
// agency's record goes only with its environments'. It names them and the ways out.
func (r *AgencyReconciler) orphanedMessage(ctx context.Context, a *iamv1.Agency) string {
	r.directory.environments.lookup(ctx, "") // loads the first copy
	var keys []string
	r.directory.environments.each(func(key string, e store.Environment) {
		if e.Agency == a.Name {
			keys = append(keys, key)
		}
	})
	slices.Sort(keys)
	what := "records of environments"
	if len(keys) > 0 {
		what = fmt.Sprintf("%s (%s)", plural(len(keys), "environment record"), strings.Join(keys[:min(len(keys), 10)], ", "))
	}
	return fmt.Sprintf("the Studio still has %s whose Environments were deleted with deletionPolicy Orphan, so the agency's record cannot be deleted: "+
		"set this Agency's deletionPolicy to Orphan to keep the agency's record and let the object go, "+
		"or delete those environments in the Studio", what)
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
		// Users: their plans make an observed agency's totals, and a StudioUser
		// created or deleted may name a user the agency lists as unmanaged.
		Watches(&iamv1.StudioUser{}, handler.EnqueueRequestsFromMapFunc(r.agenciesOfUser),
			builder.WithPredicates(planOrLifecycle)).
		WithOptions(r.controllerOptions(r.opts.workersFor(kindAgency))).
		Complete(r)
}

// planOrLifecycle passes a StudioUser's creation and deletion and a change of its
// status.plan.
var planOrLifecycle = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*iamv1.StudioUser), e.ObjectNew.(*iamv1.StudioUser)
		return !equality.Semantic.DeepEqual(o.Status.Plan, n.Status.Plan)
	},
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// agenciesOfUser: the agencies the user's plan covers, and those that list
// unmanaged users (the user may be one of them).
func (r *AgencyReconciler) agenciesOfUser(ctx context.Context, o client.Object) []reconcile.Request {
	set := requestSet{}
	if p := o.(*iamv1.StudioUser).Status.Plan; p != nil {
		for _, a := range p.Agencies {
			set.addObjects(&iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: a}})
		}
	}
	list := &iamv1.AgencyList{}
	err := r.List(ctx, list, client.UnsafeDisableDeepCopy)
	logMapError(ctx, err, "Agency")
	for i := range list.Items {
		if list.Items[i].Status.UnmanagedUsers != nil {
			set.addObjects(&list.Items[i])
		}
	}
	return set.requests()
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
