package devenv

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/studio-operator/studio-operator/config/crd"
)

// Control-plane timeouts. Generous, because the sandbox shares small machines with
// builds and other tests; a stop that runs out escalates to SIGKILL.
const (
	controlPlaneStartTimeout = 2 * time.Minute
	controlPlaneStopTimeout  = 30 * time.Second
)

// controlPlane is a running etcd and kube-apiserver with the CRDs installed.
type controlPlane struct {
	env        *envtest.Environment
	config     *rest.Config
	kubeconfig []byte
}

// startControlPlane starts etcd (data in etcdDataDir, kept across runs) and
// kube-apiserver from assetsDir, installs the embedded CRDs and waits until they serve.
func startControlPlane(assetsDir, etcdDataDir string, scheme *runtime.Scheme) (*controlPlane, error) {
	crds, err := crd.Definitions()
	if err != nil {
		return nil, fmt.Errorf("embedded CRDs: %w", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assetsDir,
		CRDs:                     crds,
		Scheme:                   scheme,
		ControlPlaneStartTimeout: controlPlaneStartTimeout,
		ControlPlaneStopTimeout:  controlPlaneStopTimeout,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDataDir}
	cfg, err := env.Start()
	if err != nil {
		// Start may have got etcd going before the apiserver failed.
		_ = env.Stop()
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	return &controlPlane{env: env, config: cfg, kubeconfig: env.KubeConfig}, nil
}

// stop stops kube-apiserver, then etcd, and removes their temporary files (not the
// etcd data directory).
func (c *controlPlane) stop() error {
	return c.env.Stop()
}

// ensureNamespace creates namespace name unless it exists.
func ensureNamespace(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, name string) error {
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cl.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}
