package argocdhealth

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// defaultAssets is where `make envtest-assets` puts kube-apiserver and etcd; the
// Makefile exports it as KUBEBUILDER_ASSETS, this covers a plain `go test`.
const defaultAssets = "../../bin/k8s/1.37.2-linux-amd64"

// startAPIServer starts a real kube-apiserver and etcd with the project's CRDs
// installed and returns a client for it; they stop when the test ends.
func startAPIServer(t *testing.T) client.Client {
	t.Helper()
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{"../../config/crd/bases"},
		ErrorIfCRDPathMissing: true,
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = defaultAssets
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest (run `make envtest-assets`): %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, iamv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return client.WithFieldValidation(c, "Strict")
}
