// Package operator wires the operator's manager: the one constructor behind
// cmd/manager, the studio-dev sandbox and the envtest suite, so that what is tested and
// demonstrated is what is deployed (the API scheme, the client limits, the uncached
// Secrets, the probes and the four reconcilers).
package operator

import (
	"errors"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator/cachetrim"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/store"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

// LeaderElectionID names the Lease the replicas elect their leader with.
const LeaderElectionID = "studio-operator.iam.studio-operator.io"

// Defaults of the API client's rate limit. The API server protects itself with
// priority and fairness, so the client-side limit is a guard against a runaway loop,
// set high enough that it never paces normal work: a cold start of 10,000 users costs
// about three writes per user and one per binding (docs/benchmarks.md).
const (
	DefaultKubeAPIQPS   = 500
	DefaultKubeAPIBurst = 1000
)

// Defaults of the leader-election timings, controller-runtime's own. A leader that
// dies without releasing the Lease is replaced after about DefaultLeaseDuration
// (give or take a retry period); one that stops gracefully releases it at once.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Options build a manager. The zero value of each field is a production default,
// except Controllers.Store, which is required.
type Options struct {
	// Controllers configure the reconcilers; Controllers.Store is the Studio user
	// store (see NewStoreClient).
	Controllers controllers.Options
	// KubeAPIQPS and KubeAPIBurst limit requests to the API server (0: the
	// defaults above); a negative QPS turns the client-side limit off.
	KubeAPIQPS   float32
	KubeAPIBurst int
	// UserAgent tells this manager apart in the API server's logs.
	UserAgent string
	// LeaderElection makes the manager elect a leader in LeaderElectionNamespace
	// (default: the pod's namespace) before it reconciles.
	LeaderElection          bool
	LeaderElectionNamespace string
	// LeaseDuration is how long the other replicas wait, after the leader's last
	// renewal, before they take the Lease over; RenewDeadline how long the leader
	// keeps trying to renew before it gives up leading; RetryPeriod how often each
	// replica tries to acquire or renew. Zero means the defaults above;
	// client-go requires LeaseDuration > RenewDeadline > 1.2 × RetryPeriod.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// MetricsBindAddress and HealthProbeBindAddress: "0" turns the server off.
	MetricsBindAddress     string
	HealthProbeBindAddress string
	// PprofBindAddress serves Go's /debug/pprof/ profiles there; "" or "0" (the
	// default) serves none. Profiles expose internals: bind it to localhost.
	PprofBindAddress string
	// StoreReady, when set, is the readiness check behind /readyz.
	StoreReady healthz.Checker
	// Logger of the manager; the zero value means controller-runtime's global one.
	Logger logr.Logger
	// GracefulShutdownTimeout bounds how long running reconciles may finish on stop
	// (nil: controller-runtime's default).
	GracefulShutdownTimeout *time.Duration
	// SkipNameValidation lets several managers run in one process (tests, sandboxes).
	SkipNameValidation bool
}

// NewScheme knows the built-in kinds and the Studio API.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := iamv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewManager builds the operator's manager on cfg (which it does not modify) with the
// reconcilers set up; start it with Start.
func NewManager(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	if o.Controllers.Store == nil {
		return nil, errors.New("operator: Options.Controllers.Store is required")
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	restCfg := rest.CopyConfig(cfg)
	restCfg.QPS, restCfg.Burst = o.KubeAPIQPS, o.KubeAPIBurst
	if restCfg.QPS == 0 {
		restCfg.QPS, restCfg.Burst = DefaultKubeAPIQPS, DefaultKubeAPIBurst
	}
	if o.UserAgent != "" {
		restCfg.UserAgent = o.UserAgent
	}
	opts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
		PprofBindAddress:        o.PprofBindAddress,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		LeaseDuration:           orDefault(o.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline:           orDefault(o.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:             orDefault(o.RetryPeriod, DefaultRetryPeriod),
		// A stopping leader releases the Lease, so that a rolling update hands over
		// at once instead of after LeaseDuration. It is safe because the manager
		// releases only after its reconciles have finished (graceful shutdown), and
		// cmd/manager, the one caller that elects, exits as soon as Start returns.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       o.GracefulShutdownTimeout,
		// Invitation Secrets are read directly; never cache the cluster's Secrets.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// The cache keeps only what decisions read, and each repeated string once.
		Cache: cache.Options{DefaultTransform: cachetrim.New(controllers.FieldManager)},
	}
	if o.Logger.GetSink() != nil {
		opts.Logger = o.Logger
	}
	if o.SkipNameValidation {
		skip := true
		opts.Controller = config.Controller{SkipNameValidation: &skip}
	}
	mgr, err := ctrl.NewManager(restCfg, opts)
	if err != nil {
		return nil, err
	}
	if o.HealthProbeBindAddress != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
		if o.StoreReady != nil {
			if err := mgr.AddReadyzCheck("store", o.StoreReady); err != nil {
				return nil, err
			}
		}
	}
	if err := controllers.SetupWithManager(mgr, o.Controllers); err != nil {
		return nil, err
	}
	return mgr, nil
}

// orDefault is a pointer to d, or to def when d is zero, as ctrl.Options wants.
func orDefault(d, def time.Duration) *time.Duration {
	if d == 0 {
		d = def
	}
	return &d
}

// NewStoreClient is the operator's client of the store at url: every write carries
// instanceID as its manager, and every request is measured (metrics).
func NewStoreClient(url, token, instanceID, userAgent string) (store.API, error) {
	c, err := storeclient.New(url, storeclient.Options{
		Token:     token,
		Manager:   instanceID,
		UserAgent: userAgent,
		OnRequest: metrics.ObserveStoreRequest,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
