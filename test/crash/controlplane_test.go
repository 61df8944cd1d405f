package crash

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/studio-operator/studio-operator/config/crd"
	"github.com/studio-operator/studio-operator/internal/operator"
)

// secretsNamespace holds the invitation-link Secrets (the manager's default).
const secretsNamespace = "studio-system"

// controlPlane is one envtest etcd and kube-apiserver with the operator's CRDs, and
// an admin client without client-side rate limit.
type controlPlane struct {
	env        *envtest.Environment
	cfg        *rest.Config
	scheme     *runtime.Scheme
	c          client.Client
	kubeconfig string
	crds       []*apiextensionsv1.CustomResourceDefinition
}

// startControlPlane starts a control plane whose output goes to dir, writes its
// admin kubeconfig there for the manager, and stops it when the test ends.
func startControlPlane(t *testing.T, dir string) *controlPlane {
	t.Helper()
	scheme, err := operator.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	crds, err := crd.Definitions()
	if err != nil {
		t.Fatalf("embedded CRDs: %v", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "controlplane.log"))
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assetsDir,
		CRDs:                     copyCRDs(crds),
		Scheme:                   scheme,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Out: logFile, Err: logFile}
	env.ControlPlane.APIServer = &envtest.APIServer{Out: logFile, Err: logFile}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		t.Fatalf("start the control plane (output in %s): %v", logFile.Name(), err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop the control plane: %v", err)
		}
		_ = logFile.Close()
	})
	admin := rest.CopyConfig(cfg)
	admin.QPS, admin.Burst = -1, 0
	c, err := client.New(admin, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	cp := &controlPlane{env: env, cfg: cfg, scheme: scheme, c: c, kubeconfig: filepath.Join(dir, "kubeconfig"), crds: crds}
	if err := os.WriteFile(cp.kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cp.ensureNamespace(context.Background(), secretsNamespace); err != nil {
		t.Fatal(err)
	}
	return cp
}

// copyCRDs returns deep copies, so that installing them leaves the originals clean
// for creating them again later.
func copyCRDs(crds []*apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
	out := make([]*apiextensionsv1.CustomResourceDefinition, len(crds))
	for i, c := range crds {
		out[i] = c.DeepCopy()
	}
	return out
}

// ensureNamespace creates namespace name unless it exists.
func (cp *controlPlane) ensureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cp.c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// crdNamed is the embedded definition of the CRD with that name.
func (cp *controlPlane) crdNamed(name string) (*apiextensionsv1.CustomResourceDefinition, error) {
	for _, c := range cp.crds {
		if c.Name == name {
			return c.DeepCopy(), nil
		}
	}
	return nil, fmt.Errorf("no embedded CRD %s", name)
}
