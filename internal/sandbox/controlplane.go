package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// apiServerCertDir holds kube-apiserver's certificates, in the run directory.
const apiServerCertDir = "kube-apiserver.certs"

// controlPlane is a running etcd and kube-apiserver with the CRDs installed.
type controlPlane struct {
	env        *envtest.Environment
	runDir     string
	config     *rest.Config
	kubeconfig []byte

	// stopRequests asks the goroutine that owns the processes to stop them.
	stopRequests chan chan error
	stopOnce     sync.Once
	stopErr      error
}

// startControlPlane starts etcd (data in etcdDataDir, kept across runs) and
// kube-apiserver from assetsDir through their launchers in runDir, installs the
// embedded CRDs and waits until they serve.
func startControlPlane(assetsDir, etcdDataDir, runDir string, scheme *runtime.Scheme) (*controlPlane, error) {
	crds, err := crd.Definitions()
	if err != nil {
		return nil, fmt.Errorf("embedded CRDs: %w", err)
	}
	launchers, err := prepareLaunchers(runDir, assetsDir)
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assetsDir,
		CRDs:                     crds,
		Scheme:                   scheme,
		ControlPlaneStartTimeout: controlPlaneStartTimeout,
		ControlPlaneStopTimeout:  controlPlaneStopTimeout,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDataDir, Path: launchers[etcdBinary]}
	apiServer := env.ControlPlane.GetAPIServer()
	apiServer.Path = launchers[apiServerBinary]
	// In the sandbox directory rather than a new temporary directory each time, so
	// that a killed sandbox leaves none behind.
	if apiServer.CertDir, err = freshCertDir(runDir); err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	c := &controlPlane{env: env, runDir: runDir, stopRequests: make(chan chan error)}
	started := make(chan error, 1)
	go c.own(started)
	if err := <-started; err != nil {
		_ = c.removeRunFiles()
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	return c, nil
}

// stop stops kube-apiserver, then etcd, and removes their temporary files and pid
// files (not the etcd data directory).
func (c *controlPlane) stop() error {
	c.stopOnce.Do(func() {
		done := make(chan error, 1)
		c.stopRequests <- done
		c.stopErr = <-done
		if c.stopErr == nil {
			c.stopErr = c.removeRunFiles()
		}
	})
	return c.stopErr
}

// removeRunFiles removes the pid files and certificates of a control plane that is
// not running.
func (c *controlPlane) removeRunFiles() error {
	return errors.Join(removePIDFiles(c.runDir), os.RemoveAll(c.env.ControlPlane.APIServer.CertDir))
}

// freshCertDir empties the directory for kube-apiserver's certificates in runDir
// (what a killed sandbox left there is of no use) and returns it.
func freshCertDir(runDir string) (string, error) {
	dir := filepath.Join(runDir, apiServerCertDir)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o700)
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
