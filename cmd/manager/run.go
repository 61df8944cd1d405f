package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kubeconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/controllers"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

const (
	leaderElectionID = "studio-operator.iam.studio-operator.io"
	userAgent        = "studio-operator"
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

	restCfg, err := restConfig(cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	restCfg.UserAgent = userAgent
	restCfg.QPS, restCfg.Burst = float32(cfg.kubeAPIQPS), cfg.kubeAPIBurst
	st, err := storeclient.New(cfg.storeURL, storeclient.Options{
		Token:     cfg.storeToken,
		Manager:   cfg.instanceID,
		UserAgent: userAgent,
		OnRequest: metrics.ObserveStoreRequest,
	})
	if err != nil {
		return fmt.Errorf("--store-url: %w", err)
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := iamv1.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: cfg.metricsAddr},
		HealthProbeBindAddress:  cfg.probeAddr,
		LeaderElection:          cfg.leaderElect,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: cfg.leaderElectionNamespace,
		// Invitation Secrets are read directly; never cache the cluster's Secrets.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("store", storeReady(cfg.storeURL, &http.Client{Timeout: readyTimeout})); err != nil {
		return err
	}
	if err := controllers.SetupWithManager(mgr, controllers.Options{
		Store:                   st,
		InstanceID:              cfg.instanceID,
		Namespace:               cfg.namespace,
		ResyncPeriod:            cfg.resyncPeriod,
		MaxConcurrentReconciles: cfg.maxConcurrentReconciles,
	}); err != nil {
		return fmt.Errorf("setting up the controllers: %w", err)
	}
	log.Info("starting", "instanceID", cfg.instanceID, "namespace", cfg.namespace, "resyncPeriod", cfg.resyncPeriod.String(),
		"kubeAPIQPS", cfg.kubeAPIQPS, "kubeAPIBurst", cfg.kubeAPIBurst, "maxConcurrentReconciles", cfg.maxConcurrentReconciles)
	return mgr.Start(ctx)
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
