package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"

	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator"
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
	st, err := operator.NewStoreClient(c.storeURL, c.storeToken, c.instanceID, userAgent)
	if err != nil {
		return nil, fmt.Errorf("store client: %w", err)
	}
	shutdown := gracefulShutdownTimeout
	mgr, err := operator.NewManager(c.rest, operator.Options{
		Controllers: controllers.Options{
			Store:        st,
			InstanceID:   c.instanceID,
			Namespace:    c.namespace,
			ResyncPeriod: c.resyncPeriod,
		},
		UserAgent:               userAgent,
		Logger:                  c.logger,
		MetricsBindAddress:      "0",
		HealthProbeBindAddress:  "0",
		GracefulShutdownTimeout: &shutdown,
		// Several sandboxes may run in one test process.
		SkipNameValidation: true,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
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
