package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/studio-operator/studio-operator/api/v1alpha1"
)

// These tests prove that the CRDs in config/crd/bases do what docs/crd-reference.md promises, on a
// real kube-apiserver: realistic manifests are accepted, bad ones are refused at
// admission with a message naming the field, and kubectl shows the kinds as platform
// engineers expect.

const missingAssetsMessage = "KUBEBUILDER_ASSETS is not set: run `make envtest-assets` and " +
	"export KUBEBUILDER_ASSETS=$(pwd)/bin/k8s/1.37.2-linux-amd64 (or run the tests through `make test`)"

var (
	testEnv *envtest.Environment
	k8s     client.Client
	ctx     context.Context
	// kubeconfig is a file for the real kubectl binary, pointing at testEnv.
	kubeconfig string
)

func TestAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "api/v1alpha1 admission suite")
}

var _ = BeforeSuite(func() {
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), missingAssetsMessage)
	ctx = context.Background()

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		Expect(testEnv.Stop()).To(Succeed())
	})

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	dir, err := os.MkdirTemp("", "studio-api-test-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	kubeconfig = filepath.Join(dir, "kubeconfig")
	Expect(os.WriteFile(kubeconfig, testEnv.KubeConfig, 0o600)).To(Succeed())

	for _, ns := range []string{"team-a", "team-b", "globex"} {
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
})
