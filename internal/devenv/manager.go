package devenv

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

// Manager timeouts: the caches must sync before the sandbox says it is ready, and the
// reconcilers get a bounded time to finish on the way out.
const (
	cacheSyncTimeout        = 2 * time.Minute
	gracefulShutdownTimeout = 15 * time.Second
)

// Errors of a manager that does not come up or stops on its own.
const (
	errCacheSync      = "the manager's caches did not sync within %s"
	errManagerStopped = "the manager stopped: %w"
)

// userAgent tells the sandbox's manager apart in apiserver and store logs.
const userAgent = "studio-operator (studio-dev)"

// managerConfig is how the sandbox runs the operator.
type managerConfig struct {
	rest         *rest.Config
	scheme       *runtime.Scheme
	storeURL     string
	storeToken   string
	instanceID   string
	namespace    string
	resyncPeriod time.Duration
	logger       logr.Logger
	onFailure    func(error)
}

// runningManager is the operator running in this process.
type runningManager struct {
	cancel context.CancelFunc
	done   chan error
}

// startManager runs the operator as cmd/manager would, talking to the store over HTTP
// like a deployed one, without leader election and with the metrics and probe servers
// off (no ports to collide with other sandboxes). It returns once the caches are
// synced, so objects applied after "ready" are seen.
func startManager(ctx context.Context, c managerConfig) (*runningManager, error) {
	st, err := storeclient.New(c.storeURL, storeclient.Options{
		Token:     c.storeToken,
		Manager:   c.instanceID,
		UserAgent: userAgent,
		OnRequest: metrics.ObserveStoreRequest,
	})
	if err != nil {
		return nil, fmt.Errorf("store client: %w", err)
	}
	shutdown := gracefulShutdownTimeout
	restCfg := rest.CopyConfig(c.rest)
	restCfg.UserAgent = userAgent
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  c.scheme,
		Logger:                  c.logger,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		LeaderElection:          false,
		GracefulShutdownTimeout: &shutdown,
		// As deployed (cmd/manager): invitation Secrets are read directly, never cached.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Controller: config.Controller{
			// Several sandboxes may run in one test process.
			SkipNameValidation: ptr(true),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if err := controllers.SetupWithManager(mgr, controllers.Options{
		Store:        st,
		InstanceID:   c.instanceID,
		Namespace:    c.namespace,
		ResyncPeriod: c.resyncPeriod,
	}); err != nil {
		return nil, fmt.Errorf("set up controllers: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m := &runningManager{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := mgr.Start(runCtx)
		if err != nil && runCtx.Err() == nil {
			c.onFailure(fmt.Errorf(errManagerStopped, err))
		}
		m.done <- err
	}()
	syncCtx, cancelSync := context.WithTimeout(ctx, cacheSyncTimeout)
	defer cancelSync()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		_ = m.stop()
		return nil, fmt.Errorf(errCacheSync, cacheSyncTimeout)
	}
	return m, nil
}

// stop cancels the manager and waits for its reconcilers to finish.
func (m *runningManager) stop() error {
	m.cancel()
	err := <-m.done
	m.done <- err // keep the result for a second stop
	return err
}

func ptr[T any](v T) *T { return &v }
