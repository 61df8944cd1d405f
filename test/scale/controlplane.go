package scale

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/studio-operator/studio-operator/config/crd"
	"github.com/studio-operator/studio-operator/internal/operator"
)

// Control-plane timeouts: generous, because the machine is small and shared; a stop
// that runs out escalates to SIGKILL inside envtest.
const (
	controlPlaneStartTimeout = 3 * time.Minute
	controlPlaneStopTimeout  = 30 * time.Second
)

// AssetsEnv names the variable pointing at kube-apiserver and etcd, as for envtest.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// newScheme is the operator's scheme: the built-in kinds and the Studio API.
func newScheme() (*runtime.Scheme, error) { return operator.NewScheme() }

// ResolveAssets returns KUBEBUILDER_ASSETS when set, else the directory `make
// envtest-assets` fills, bin/k8s/<version>-<os>-<arch>, in the repository around the
// working directory (when exactly one version is there); "" when neither exists.
func ResolveAssets() string {
	if dir := os.Getenv(AssetsEnv); dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			found, _ := filepath.Glob(filepath.Join(dir, "bin", "k8s", "*-"+goruntime.GOOS+"-"+goruntime.GOARCH))
			var usable []string
			for _, f := range found {
				if CheckAssets(f) == nil {
					usable = append(usable, f)
				}
			}
			if len(usable) == 1 {
				return usable[0]
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// CheckAssets reports the first control-plane binary missing from dir, so a run fails
// in a second instead of after building and generating.
func CheckAssets(dir string) error {
	if dir == "" {
		return fmt.Errorf("%s is not set: run `make envtest-assets` and point it at bin/k8s/<version>-<os>-<arch>", AssetsEnv)
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if info, err := os.Stat(filepath.Join(dir, bin)); err != nil || info.IsDir() {
			return fmt.Errorf("%s not found in %s (%s): run `make envtest-assets`", bin, dir, AssetsEnv)
		}
	}
	return nil
}

// controlPlane is one fresh etcd and kube-apiserver with the CRDs installed. Every
// run gets its own, so no run inherits another's objects, watches or etcd history.
type controlPlane struct {
	env    *envtest.Environment
	cfg    *rest.Config
	scheme *runtime.Scheme
	// client has no client-side rate limit: the harness must never be what throttles.
	client client.Client
	// raw reads kube-apiserver's /metrics.
	raw rest.Interface
	// etcdDir is removed on stop; it is large at 10,000 users and of no later use.
	etcdDir string
	logFile *os.File
}

// startControlPlane starts a control plane from assetsDir, with etcd's data under
// dir and the processes' output in dir/controlplane.log.
func startControlPlane(assetsDir, dir string) (*controlPlane, error) {
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	crds, err := crd.Definitions()
	if err != nil {
		return nil, fmt.Errorf("embedded CRDs: %w", err)
	}
	etcdDir, err := os.MkdirTemp(dir, "etcd-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "controlplane.log"))
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assetsDir,
		CRDs:                     crds,
		Scheme:                   scheme,
		ControlPlaneStartTimeout: controlPlaneStartTimeout,
		ControlPlaneStopTimeout:  controlPlaneStopTimeout,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDir, Out: logFile, Err: logFile}
	env.ControlPlane.APIServer = &envtest.APIServer{Out: logFile, Err: logFile}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop() // etcd may be running although the apiserver failed
		_ = os.RemoveAll(etcdDir)
		_ = logFile.Close()
		return nil, fmt.Errorf("start the control plane (output in %s): %w", logFile.Name(), err)
	}
	cp := &controlPlane{env: env, cfg: cfg, scheme: scheme, etcdDir: etcdDir, logFile: logFile}
	if cp.client, err = client.New(unthrottled(cfg), client.Options{Scheme: scheme}); err != nil {
		_ = cp.stop()
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(unthrottled(cfg))
	if err != nil {
		_ = cp.stop()
		return nil, err
	}
	cp.raw = cs.CoreV1().RESTClient()
	return cp, nil
}

// unthrottled is cfg without client-side rate limiting (QPS < 0 disables it).
func unthrottled(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	c.UserAgent = "bench-e2e"
	return c
}

// stop stops kube-apiserver, then etcd, and removes etcd's data.
func (c *controlPlane) stop() error {
	err := c.env.Stop()
	return errors.Join(err, os.RemoveAll(c.etcdDir), c.logFile.Close())
}

// writeKubeconfig writes the admin kubeconfig for a subprocess (the manager); mode
// 0600, since it holds the admin's client key.
func (c *controlPlane) writeKubeconfig(path string) error {
	if len(c.env.KubeConfig) == 0 {
		return errors.New("envtest produced no kubeconfig")
	}
	return os.WriteFile(path, c.env.KubeConfig, 0o600)
}

// ensureNamespace creates namespace name unless it exists.
func (c *controlPlane) ensureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// apiMetrics scrapes kube-apiserver's own /metrics with the admin's credentials.
func (c *controlPlane) apiMetrics(ctx context.Context) (Samples, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	raw, err := c.raw.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scrape kube-apiserver /metrics: %w", err)
	}
	return ParseMetrics(string(raw))
}
