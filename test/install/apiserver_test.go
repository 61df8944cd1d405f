package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// defaultAssets is where `make envtest-assets` puts kube-apiserver and etcd; the
// Makefile exports it as KUBEBUILDER_ASSETS, this covers a plain `go test`.
const defaultAssets = repoRoot + "/bin/k8s/1.37.2-linux-amd64"

// fieldManager is the field manager Helm applies with.
const fieldManager = "helm"

// warnings collects the API server's warnings (Pod Security, deprecations, unknown fields).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// TestChartServerSideDryRun applies what every profile renders to a real API server
// with server-side apply in dry-run mode: the chart's own CRDs must install, and every
// object must pass the server's schema (strict field validation), defaulting and
// admission — Pod Security "restricted" in the release namespace included — with no
// warning. Nothing is created.
func TestChartServerSideDryRun(t *testing.T) {
	c, warn, _ := startAPIServer(t)
	ctx := context.Background()
	createNamespace(t, c, namespace)
	checkPodSecurityIsOn(t, c, warn)

	for _, p := range profiles(t) {
		t.Run(p.name, func(t *testing.T) {
			r := mustRender(t, p)
			if len(r.objects) < 5 {
				t.Fatalf("only %d objects rendered", len(r.objects))
			}
			for _, o := range r.objects {
				err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
					client.DryRunAll, client.FieldOwner(fieldManager), client.ForceOwnership)
				if err != nil {
					t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
				}
				for _, w := range warn.take() {
					t.Errorf("%s %s: warning: %s", o.GetKind(), o.GetName(), w)
				}
			}
		})
	}
}

// checkPodSecurityIsOn makes sure the dry-run would see a Pod Security violation: a
// privileged Deployment must draw a warning, or the check above proves nothing.
func checkPodSecurityIsOn(t *testing.T, c client.Client, warn *warnings) {
	t.Helper()
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "privileged", "namespace": namespace},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "privileged"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "privileged"}},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "c", "image": "example.com/c:1",
					"securityContext": map[string]any{"privileged": true},
				}}},
			},
		},
	}}
	if err := c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(bad), client.DryRunAll, client.FieldOwner(fieldManager)); err != nil {
		t.Fatal(err)
	}
	if got := warn.take(); len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "restricted") {
		t.Fatalf("a privileged Deployment drew no Pod Security warning (%v): the API server does not check Pod Security", got)
	}
}

// The API server is started once for the package's tests and stopped by TestMain.
var apiServer struct {
	once sync.Once
	env  *envtest.Environment
	cfg  *rest.Config
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if apiServer.env != nil {
		if err := apiServer.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}
	os.Exit(code)
}

// startAPIServer starts kube-apiserver and etcd (once) with the chart's CRDs (crds/,
// as `helm install` applies them) and stand-ins of the Prometheus Operator's two CRDs,
// and returns a client with strict field validation and the warnings it receives, and
// the environment.
func startAPIServer(t *testing.T) (client.Client, *warnings, *envtest.Environment) {
	t.Helper()
	apiServer.once.Do(func() {
		env := &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join(chartDir, "crds")},
			CRDs:                  []*apiextensionsv1.CustomResourceDefinition{monitoringCRD("ServiceMonitor", "servicemonitors"), monitoringCRD("PrometheusRule", "prometheusrules")},
			ErrorIfCRDPathMissing: true,
		}
		if os.Getenv("KUBEBUILDER_ASSETS") == "" {
			env.BinaryAssetsDirectory = defaultAssets
		}
		apiServer.cfg, apiServer.err = env.Start()
		if apiServer.err == nil {
			apiServer.env = env
			if n := len(env.CRDs); n != 6 {
				apiServer.err = fmt.Errorf("envtest installed %d CRDs, want the chart's four, ServiceMonitor and PrometheusRule", n)
			}
		}
	})
	if apiServer.err != nil {
		t.Fatalf("starting envtest (run `make envtest-assets`): %v", apiServer.err)
	}
	warn := &warnings{}
	cfg := rest.CopyConfig(apiServer.cfg)
	cfg.WarningHandler = warn
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return client.WithFieldValidation(c, metav1.FieldValidationStrict), warn, apiServer.env
}

// createNamespace creates a namespace as an administrator prepares one for the
// operator: restricted Pod Security, enforced and warned about.
func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
}

// monitoringCRD stands in for one of the Prometheus Operator's CRDs, which are not part
// of this repository: it accepts any spec, so the dry-run checks the object's metadata
// and that the kind exists; the fields are checked against the Prometheus Operator's Go
// types in TestChartTemplate.
func monitoringCRD(kind, plural string) *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + ".monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Singular: strings.ToLower(kind), Kind: kind, ListKind: kind + "List"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", XPreserveUnknownFields: &preserve},
					},
				}},
			}},
		},
	}
}
