package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	kubeconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator"
	"github.com/studio-operator/studio-operator/internal/operator/memlimit"
)

const (
	userAgent = "studio-operator"
	// readyTimeout bounds the store probe behind /readyz.
	readyTimeout = 2 * time.Second
)

// run starts the manager and blocks until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&cfg.zap), zap.WriteTo(stderr)))
	log := ctrl.Log.WithName("setup")
	softLimit, source, err := setMemoryLimit(cfg.memoryLimit, getenv)
	if err != nil {
		log.Error(err, "the cgroup's memory limit is unreadable; Go's soft memory limit is left to --memory-limit and GOMEMLIMIT")
	}

	restCfg, err := restConfig(cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	st, err := operator.NewStoreClient(cfg.storeURL, cfg.storeToken, cfg.instanceID, userAgent)
	if err != nil {
		return fmt.Errorf("--store-url: %w", err)
	}
	mgr, err := operator.NewManager(restCfg, operator.Options{
		Controllers: controllers.Options{
			Store:                   st,
			InstanceID:              cfg.instanceID,
			Namespace:               cfg.namespace,
			ResyncPeriod:            cfg.resyncPeriod,
			RevocationWindow:        cfg.revocationWindow,
			MaxConcurrentReconciles: cfg.maxConcurrentReconciles,
		},
		KubeAPIQPS:              float32(cfg.kubeAPIQPS),
		KubeAPIBurst:            cfg.kubeAPIBurst,
		UserAgent:               userAgent,
		LeaderElection:          cfg.leaderElect,
		LeaderElectionNamespace: cfg.leaderElectionNamespace,
		LeaseDuration:           cfg.leaseDuration,
		RenewDeadline:           cfg.renewDeadline,
		RetryPeriod:             cfg.retryPeriod,
		MetricsBindAddress:      cfg.metricsAddr,
		HealthProbeBindAddress:  cfg.probeAddr,
		PprofBindAddress:        cfg.pprofAddr,
		StoreReady:              storeReady(cfg.storeURL, &http.Client{Timeout: readyTimeout}),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	log.Info("starting", "instanceID", cfg.instanceID, "namespace", cfg.namespace, "resyncPeriod", cfg.resyncPeriod.String(),
		"kubeAPIQPS", cfg.kubeAPIQPS, "kubeAPIBurst", cfg.kubeAPIBurst, "maxConcurrentReconciles", cfg.maxConcurrentReconciles,
		"leaderElect", cfg.leaderElect, "leaseDuration", cfg.leaseDuration.String(), "renewDeadline", cfg.renewDeadline.String(), "retryPeriod", cfg.retryPeriod.String(),
		"goMemoryLimitBytes", softLimit, "goMemoryLimitSource", source)
	return mgr.Start(ctx)
}

// setMemoryLimit sets Go's soft memory limit from --memory-limit or the cgroup
// (memlimit.Decide) and returns it as Go has it, with where it came from.
func setMemoryLimit(flagLimit int64, getenv func(string) string) (int64, memlimit.Source, error) {
	self, _ := os.ReadFile("/proc/self/cgroup") // none outside Linux: no cgroup limit
	cgroup, err := memlimit.Cgroup("/sys/fs/cgroup", string(self))
	limit, source := memlimit.Decide(getenv("GOMEMLIMIT"), flagLimit, cgroup)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return debug.SetMemoryLimit(-1), source, err
}

// restConfig loads --kubeconfig when given, else what controller-runtime finds
// (KUBECONFIG, in-cluster, ~/.kube/config).
func restConfig(path string) (*rest.Config, error) {
	if path != "" {
		return clientcmd.BuildConfigFromFlags("", path)
	}
	return kubeconfig.GetConfig()
}

// storeReady is the readiness check: the store's own /readyz answers 2xx. A manager
// that cannot reach its store is alive but not ready.
func storeReady(storeURL string, hc *http.Client) healthz.Checker {
	url := strings.TrimSuffix(storeURL, "/") + "/readyz"
	return func(req *http.Request) error {
		r, err := http.NewRequestWithContext(req.Context(), http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(r)
		if err != nil {
			return fmt.Errorf("store unreachable: %w", err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("store not ready: %s", resp.Status)
		}
		return nil
	}
}
