package controllers

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/operator/revocation"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Defaults of Options.
const (
	DefaultInstanceID              = "default"
	DefaultNamespace               = "studio-system"
	DefaultResyncPeriod            = 10 * time.Minute
	DefaultDependencyRetry         = 10 * time.Second
	DefaultMaxRetryDelay           = 2 * time.Minute
	DefaultMaxConcurrentReconciles = 16
	// RecorderName is the reportingController of the operator's events.
	RecorderName = "studio-operator"
)

// Options configure the reconcilers.
type Options struct {
	// Store is the Studio user store; the only way the operator reaches it.
	Store store.API
	// InstanceID is sent as the manager of every write (X-Studio-Manager): records
	// another instance manages are left alone (Stalled, ManagedByOther).
	InstanceID string
	// Namespace holds the invitation-link Secrets.
	Namespace string
	// ResyncPeriod is how often every object is compared with the store again, which
	// corrects changes made outside the operator.
	ResyncPeriod time.Duration
	// DependencyRetry is how soon an object that waits for another one (a record the
	// store does not have yet, dependents being deleted) is looked at again; watches
	// usually bring it back sooner.
	DependencyRetry time.Duration
	// MaxRetryDelay caps the exponential backoff after transient errors, so the
	// operator notices a recovered store within that time.
	MaxRetryDelay time.Duration
	// MaxConcurrentReconciles is the number of StudioUsers reconciled in parallel
	// (workersFor gives the other kinds theirs). A reconcile mostly waits on the store
	// and the API server, so more workers than cores keep both busy.
	MaxConcurrentReconciles int
	// Recorder receives the events; nil means the manager's recorder for
	// RecorderName.
	Recorder events.EventRecorder
	// RevocationWindow is the window of the mass-revocation guard: within it, at
	// most an Agency's spec.revocationGuard of its users lose all their access.
	RevocationWindow time.Duration
}

// Error strings of SetupWithManager.
const errNoStore = "controllers: Options.Store is required"

func (o Options) withDefaults(mgr ctrl.Manager) Options {
	if o.InstanceID == "" {
		o.InstanceID = DefaultInstanceID
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.ResyncPeriod <= 0 {
		o.ResyncPeriod = DefaultResyncPeriod
	}
	if o.DependencyRetry <= 0 {
		o.DependencyRetry = DefaultDependencyRetry
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if o.MaxConcurrentReconciles <= 0 {
		o.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	if o.RevocationWindow <= 0 {
		o.RevocationWindow = revocation.DefaultWindow
	}
	if o.Recorder == nil {
		o.Recorder = mgr.GetEventRecorder(RecorderName)
	}
	return o
}

// reconciler is what the four reconcilers share.
type reconciler struct {
	client.Client
	// apiReader reads Secrets straight from the API server, so the operator neither
	// caches nor needs to list the cluster's Secrets.
	apiReader client.Reader
	store     store.API
	opts      Options
	recorder  events.EventRecorder
	rel       relations
	timing    timing
	// observe tells the agencies under managementPolicy Observe, where nothing is
	// written.
	observe *observation
	// causes are the RoleBinding edits and deletions that took roles from users,
	// for crediting the revocations in the audit.
	causes *revocationCauses
}

// SetupWithManager registers the field indexes and the four reconcilers with mgr.
// cmd/manager calls it, and so can anything that runs the operator in-process (the
// sandbox, tests).
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.Store == nil {
		return errors.New(errNoStore)
	}
	opts = opts.withDefaults(mgr)
	if err := setupIndexes(context.Background(), mgr); err != nil {
		return err
	}
	base := reconciler{
		Client:    client.WithFieldOwner(mgr.GetClient(), FieldManager),
		apiReader: mgr.GetAPIReader(),
		store:     opts.Store,
		opts:      opts,
		recorder:  opts.Recorder,
		rel:       relations{c: mgr.GetClient()},
		timing:    timing{resync: opts.ResyncPeriod, wait: opts.DependencyRetry},
		causes:    newRevocationCauses(),
	}
	metrics.SetUserStates(userStates(mgr.GetCache()))
	metrics.SetHeldRevocations(heldRevocations(mgr.GetCache()))
	directory := newStoreDirectory(opts.Store, opts.ResyncPeriod)
	base.observe = &observation{cache: mgr.GetClient(), envs: directory.environments}
	revs := newRevocations(opts.RevocationWindow, mgr.GetClient(), mgr.GetAPIReader(), directory)
	grants := &grantWriter{store: opts.Store, applied: newAppliedState(), listing: directory.grants, parallel: fanOutParallel, revocations: revs, observe: base.observe}
	return errors.Join(
		(&AgencyReconciler{reconciler: base, revocations: revs, requeueUsers: revs.requeueUsers, directory: directory}).setup(mgr),
		(&EnvironmentReconciler{reconciler: base, environments: directory.environments}).setup(mgr),
		(&RoleBindingReconciler{reconciler: base, grants: grants}).setup(mgr),
		(&StudioUserReconciler{
			reconciler:  base,
			grants:      grants,
			directory:   directory,
			invitations: newInvitationMemory(),
		}).setup(mgr),
	)
}

// fanOutParallel is how many grant-set writes a large RoleBinding's fan-out has in
// flight at once: enough to keep the store busy, few enough to leave it room for the
// reconciles running meanwhile.
const fanOutParallel = 8

// workersFor is the number of parallel reconciles of a kind: MaxConcurrentReconciles
// for StudioUsers, which carry the work; half as many for RoleBindings (a status
// each), a quarter for Environments and two for Agencies, which are few.
func (o Options) workersFor(kind string) int {
	n := o.MaxConcurrentReconciles
	switch kind {
	case kindRoleBinding:
		n /= 2
	case kindEnvironment:
		n /= 4
	case kindAgency:
		n = min(n, 2)
	}
	return max(n, 1)
}

// controllerOptions bounds retries: exponential backoff from 100ms up to
// MaxRetryDelay, and an overall rate limit so a broken store is not hammered.
func (r *reconciler) controllerOptions(concurrency int) controller.Options {
	return controller.Options{
		MaxConcurrentReconciles: concurrency,
		RateLimiter: workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](100*time.Millisecond, r.opts.MaxRetryDelay),
			&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(20), 200)},
		),
	}
}

// userStates counts StudioUsers by status.state for the users gauge.
func userStates(c client.Reader) metrics.Counts {
	return func(ctx context.Context) (map[string]int, error) {
		var l iamv1.StudioUserList
		if err := c.List(ctx, &l); err != nil {
			return nil, err
		}
		counts := map[string]int{}
		for _, u := range l.Items {
			state := string(u.Status.State)
			if state == "" {
				state = "Unknown"
			}
			counts[state]++
		}
		return counts, nil
	}
}

// heldRevocations counts, per Agency, the users its status says are held by the
// mass-revocation guard; every Agency is reported, 0 without holds. The status is
// what every replica's cache shows and what a restarted manager inherits.
func heldRevocations(c client.Reader) metrics.Counts {
	return func(ctx context.Context) (map[string]int, error) {
		var l iamv1.AgencyList
		if err := c.List(ctx, &l); err != nil {
			return nil, err
		}
		counts := make(map[string]int, len(l.Items))
		for _, a := range l.Items {
			n := 0
			if h := a.Status.HeldRevocations; h != nil {
				n = int(h.Users)
			}
			counts[a.Name] = n
		}
		return counts, nil
	}
}
