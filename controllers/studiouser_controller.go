package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

const kindStudioUser = "StudioUser"

// StudioUserReconciler owns a user's whole state in the store: its profile, its
// grant set (from every valid RoleBinding naming it), its invitation, suspension and
// removal. Every write is preceded by a read, so an unchanged user causes no write.
type StudioUserReconciler struct {
	reconciler
	// grants writes grant sets, here and for large RoleBindings (fan-out); its
	// memory of the sets last seen in the store tells drift (the store changed) from a
	// new desire (the bindings changed).
	grants *grantWriter
	// directory lists the store's users and grant sets once per resync period, so
	// resyncs of users that are as wanted need no request each.
	directory *storeDirectory
	// invitations remembers this process's sends until the cache shows them.
	invitations *invitationMemory
}

// userRun is the state of one reconcile of one user, passed between the steps.
type userRun struct {
	u      *iamv1.StudioUser
	key    string
	caller store.Caller
	// plan is what the cluster asks for, less the scopes the store has not recorded
	// yet, which are in unrecorded (reconcilePlan).
	plan       planner.UserPlan
	unrecorded []store.Scope
	// grantsCaller attributes a grant-set write to the object edited last: the user
	// or one of the RoleBindings naming it (reconcilePlan).
	grantsCaller store.Caller
	// causes are the revocation causes grantsCaller weighed, forgotten once written.
	causes []provenance.Candidate
	// stored is the user as the store has it after reconcileProfile.
	stored store.User
	// access is how the effective access changed (reconcileGrants), and invited the
	// invitation status after a send (reconcileInvitation): announce turns them into
	// events.
	access  planner.AccessChange
	invited *iamv1.InvitationStatus
	// announcedByBinding is set when the change was caused by a RoleBinding with
	// many subjects, which announces it itself (one event instead of one per user).
	announcedByBinding bool
	// revocationHeld says which revocations the guard held (reconcileGrants); the
	// other steps still run, then the user is Stalled with it.
	revocationHeld string

	// scopes is the reading of the agencies' management policies (reconcilePlan).
	// When some agency is under Observe: full is the plan with every scope, held the
	// grant set the store holds, observed the user's agencies under Observe (wanted
	// or held), and fullyObserved says that all of them are.
	scopes        scopes
	full          planner.UserPlan
	held          []store.Grant
	observed      []string
	fullyObserved bool
	// planned are the grant changes left undone in observed agencies, once the grant
	// set was written (grantsWritten).
	planned       []iamv1.GrantChange
	grantsWritten bool
	// requeueBy is when the user must be looked at again at the latest: the expiry of
	// its pending invitation.
	requeueBy time.Time
	// accessBefore is the status.access the API server holds, once a step needed it
	// (accessBefore): the cache keeps only its fingerprint.
	accessBefore *[]iamv1.EnvironmentAccess
}

// userStep is one named step of the StudioUser reconcile; proceed lets the next run.
type userStep func(ctx context.Context, run *userRun) outcome

// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=studiousers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=studiousers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.studio-operator.io,resources=studiousers/finalizers,verbs=update
// Invitation Secrets live only in --namespace: a namespaced Role, not cluster-wide.
// +kubebuilder:rbac:groups="",namespace=studio-system,resources=secrets,verbs=get;create;update;patch;delete

// Reconcile brings one user's state in the store in line with the cluster.
func (r *StudioUserReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	u := &iamv1.StudioUser{}
	if err := r.Get(ctx, req.NamespacedName, u); err != nil {
		if apierrors.IsNotFound(err) {
			r.directory.forgetUser(req.Name)
			r.grants.applied.forget(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	old := u.Status.DeepCopy()
	run := &userRun{u: u, key: u.Name, caller: provenance.Caller(kindStudioUser, u, r.opts.InstanceID, FieldManager)}
	defer func() {
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, u, func(b client.Object) {
			bu := b.(*iamv1.StudioUser)
			bu.Status = *old
			if run.accessBefore != nil {
				// The cache left status.access out; the patch is against the list
				// the API server holds.
				bu.Status.Access = *run.accessBefore
			}
		}))
		res, retErr = quietConflict(res, retErr)
	}()

	// Planning and writing the grants happen under the user's lock (grantWriter); the
	// status is written after it is released.
	lock := r.grants.locks.of(u.Name)
	lock.Lock()
	defer lock.Unlock()

	var out outcome
	switch {
	case !u.DeletionTimestamp.IsZero():
		out = r.reconcileDelete(ctx, run)
	default:
		if err := syncFinalizer(ctx, r.Client, u, u.Spec.DeletionPolicy != iamv1.DeletionPolicyOrphan); err != nil {
			return ctrl.Result{}, err
		}
		out = runSteps(ctx, run, r.reconcilePlan, r.observeOnly, r.reconcileProfile, r.reconcileGrants, r.reconcileInvitation, r.summarize)
		r.notePlan(run)
		r.announce(run)
	}
	res, err := r.finish(u, &u.Status.CommonStatus, old.Conditions, out, r.timing)
	if d := time.Until(run.requeueBy) + time.Second; err == nil && !run.requeueBy.IsZero() && res.RequeueAfter > d {
		res.RequeueAfter = max(d, time.Second)
	}
	return res, err
}

// runSteps runs the steps in order until one does not proceed.
func runSteps(ctx context.Context, run *userRun, steps ...userStep) outcome {
	for _, step := range steps {
		if out := step(ctx, run); out.kind != outcomeContinue {
			return out
		}
	}
	return proceed
}

// announce records what this reconcile changed as events, at most one of each kind:
// an invitation sent (with the access it came with, so a new user costs one event),
// else access granted; and access revoked. A change caused by a RoleBinding of more
// than perUserEventSubjects subjects is announced once, on the binding
// (EventSubjectsUpdated), not on each of its users: an edit of a binding naming 1,000
// users is not 1,000 events. Status and the store's audit still record it per user.
func (r *StudioUserReconciler) announce(run *userRun) {
	if run.announcedByBinding {
		run.access = planner.AccessChange{}
	}
	granted := strings.Join(run.access.Granted, "; ")
	switch {
	case run.invited != nil:
		note := fmt.Sprintf("invitation sent (%d in total); the link is in Secret %s/%s",
			run.invited.SendCount, run.invited.LinkSecretRef.Namespace, run.invited.LinkSecretRef.Name)
		if granted != "" {
			note += "; access granted: " + granted
		}
		r.normalEvent(run.u, EventInvitationSent, actionInvite, "%s", note)
	case granted != "":
		r.normalEvent(run.u, EventAccessGranted, actionReconcile, "%s", granted)
	}
	if len(run.access.Revoked) > 0 {
		r.normalEvent(run.u, EventAccessRevoked, actionReconcile, "%s", strings.Join(run.access.Revoked, "; "))
	}
}

// forget drops what this process remembers of a user whose object goes.
func (r *StudioUserReconciler) forget(u *iamv1.StudioUser) {
	r.causes.forget(u.Name)
	r.directory.forgetUser(u.Name)
	r.grants.applied.forget(u.Name)
	r.invitations.forget(u.UID)
}

// summarize is the last step: everything is in the store. Ready, with reason
// Suspended for a suspended user.
func (r *StudioUserReconciler) summarize(_ context.Context, run *userRun) outcome {
	if run.revocationHeld != "" {
		return stalled(iamv1.ReasonRevocationHeld, run.revocationHeld)
	}
	if run.u.Spec.Suspended {
		return ready(iamv1.ReasonSuspended, "the user is suspended: no access in the Studio until suspended is false")
	}
	msg := fmt.Sprintf("access to %s", plural(len(run.plan.Access), "environment"))
	if n := run.plan.NotForAgent; len(n) > 0 {
		msg += fmt.Sprintf("; as an Agent-type user only Agent and Operator apply to it, not %s", strings.Join(n, ", "))
	}
	return ready(iamv1.ReasonSucceeded, msg)
}

func (r *StudioUserReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("studiouser").
		For(&iamv1.StudioUser{}, builder.WithPredicates(specOrLifecycle)).
		Watches(&iamv1.RoleBinding{}, noting{EventHandler: enqueueSettled(r.usersOfBinding), causes: r.causes},
			builder.WithPredicates(specOrLifecycle)).
		Watches(&iamv1.Environment{}, enqueueSettled(r.usersOfEnvironment),
			builder.WithPredicates(specOrReadiness)).
		Watches(&iamv1.Agency{}, enqueueSettled(r.usersOfAgency),
			builder.WithPredicates(specOrReadiness)).
		Watches(&corev1.Namespace{}, enqueueSettled(r.usersOfNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		// Users whose held revocations were approved.
		WatchesRawSource(source.Channel(r.grants.revocations.userEvents, &handler.EnqueueRequestForObject{})).
		WithOptions(r.controllerOptions(r.opts.workersFor(kindStudioUser))).
		Complete(r)
}

// usersOfBinding: the binding's subjects. For an update the handler maps the old and
// the new object, so a subject that was removed from the binding is re-queued too.
func (r *StudioUserReconciler) usersOfBinding(_ context.Context, o client.Object) []reconcile.Request {
	set := requestSet{}
	set.addSubjects([]iamv1.RoleBinding{*o.(*iamv1.RoleBinding)})
	return set.requests()
}

// usersOfEnvironment: subjects of the bindings on the environment and of the agency
// bindings that ripple down to it.
func (r *StudioUserReconciler) usersOfEnvironment(ctx context.Context, o client.Object) []reconcile.Request {
	bs, err := r.rel.bindingsAffectedByEnvironment(ctx, o.(*iamv1.Environment))
	logMapError(ctx, err, "Environment")
	set := requestSet{}
	set.addSubjects(bs)
	return set.requests()
}

// usersOfAgency: subjects of the agency's bindings and of the bindings on its
// environments (tenancy and existence of the agency decide both).
func (r *StudioUserReconciler) usersOfAgency(ctx context.Context, o client.Object) []reconcile.Request {
	bs, err := r.rel.bindingsAffectedByAgency(ctx, o.GetName())
	logMapError(ctx, err, "Agency")
	set := requestSet{}
	set.addSubjects(bs)
	return set.requests()
}

// usersOfNamespace: namespace labels decide which of the Environments there are
// allowed, so every user with roles on them.
func (r *StudioUserReconciler) usersOfNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	envs, err := r.rel.environmentsIn(ctx, o.GetName())
	logMapError(ctx, err, "Namespace")
	set := requestSet{}
	for i := range envs {
		bs, err := r.rel.bindingsAffectedByEnvironment(ctx, &envs[i])
		logMapError(ctx, err, "Namespace")
		set.addSubjects(bs)
	}
	return set.requests()
}
