package failover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/studio-operator/studio-operator/internal/operator"
)

// Control-plane timeouts: generous, since the machine is small and `go test ./...`
// runs other packages beside this one.
const (
	controlPlaneStartTimeout = time.Minute
	controlPlaneStopTimeout  = 30 * time.Second
)

// cluster is one envtest control plane with the CRDs installed.
type cluster struct {
	client     client.Client
	kubeconfig string
}

// assetsDir is KUBEBUILDER_ASSETS, else the directory `make envtest-assets` fills.
func assetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "bin", "k8s", "1.37.2-linux-amd64")
}

// startCluster starts kube-apiserver and etcd (both on 127.0.0.1), installs the
// CRDs of config/crd/bases, writes an admin kubeconfig for the managers and creates
// namespaces. A missing binary fails the test with what to do about it.
func startCluster(t *testing.T, dir string, namespaces ...string) *cluster {
	t.Helper()
	assets := assetsDir()
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if info, err := os.Stat(filepath.Join(assets, bin)); err != nil || info.IsDir() {
			t.Fatalf("%s not found in %s: run `make envtest-assets` or set KUBEBUILDER_ASSETS", bin, assets)
		}
	}
	scheme, err := operator.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "controlplane.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close() })
	// envtest's own client logs through controller-runtime: into the same file.
	ctrllog.SetLogger(zap.New(zap.WriteTo(out)))
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		Scheme:                   scheme,
		ControlPlaneStartTimeout: controlPlaneStartTimeout,
		ControlPlaneStopTimeout:  controlPlaneStopTimeout,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Out: out, Err: out}
	env.ControlPlane.APIServer = &envtest.APIServer{Out: out, Err: out}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop() // etcd may run although kube-apiserver failed
		t.Fatalf("start the control plane (output in %s): %v", out.Name(), err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop the control plane: %v", err)
		}
	})
	c := &cluster{kubeconfig: filepath.Join(dir, "kubeconfig")}
	// The admin kubeconfig holds a client key: mode 0600.
	if err := os.WriteFile(c.kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if c.client, err = client.New(unthrottled(cfg), client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		if err := c.client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	return c
}

// unthrottled is cfg without client-side rate limiting: the test must never be
// what paces the managers.
func unthrottled(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	c.UserAgent = "failover-test"
	return c
}

// lease reads the managers' Lease in namespace ns.
func (c *cluster) lease(ctx context.Context, ns string) (*coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	if err := c.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: operator.LeaderElectionID}, l); err != nil {
		return nil, err
	}
	return l, nil
}

// holder is the Lease's holderIdentity, "" when none.
func holder(l *coordinationv1.Lease) string {
	if l == nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// describeLease is the Lease's holder and times, for messages.
func describeLease(l *coordinationv1.Lease) string {
	if l == nil {
		return "no lease"
	}
	return fmt.Sprintf("holder %q, transitions %v, acquired %v, renewed %v", holder(l), deref(l.Spec.LeaseTransitions), l.Spec.AcquireTime, l.Spec.RenewTime)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
