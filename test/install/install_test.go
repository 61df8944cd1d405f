package install

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/action"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// A real `helm install`, then `helm upgrade` with another value, against the API server
// (envtest has no nodes, so nothing runs). The token the chart generated must survive
// the upgrade — the same Secrets and the same pod checksums — or the manager and the
// store would restart with a token the other one does not know.
func TestChartUpgradeKeepsTheGeneratedToken(t *testing.T) {
	c, _, env := startAPIServer(t)
	const ns = "studio-install"
	createNamespace(t, c, ns)
	cfg := helmConfig(t, env, ns)
	chrt := loadChart(t)

	install := action.NewInstall(cfg)
	install.ReleaseName = releaseName
	install.Namespace = ns
	install.Timeout = time.Minute
	if _, err := install.Run(chrt, map[string]any{}); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	before := readTokenState(t, c, ns)

	upgrade := action.NewUpgrade(cfg)
	upgrade.Namespace = ns
	upgrade.Timeout = time.Minute
	if _, err := upgrade.Run(releaseName, chrt, map[string]any{"manager": map[string]any{"resyncPeriod": "5m"}}); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	after := readTokenState(t, c, ns)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the upgrade changed the generated token (-install +upgrade):\n%s", diff)
	}

	var d appsv1.Deployment
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: managerName}, &d); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--resync-period=5m") {
		t.Errorf("the upgrade did not apply: manager args %v", d.Spec.Template.Spec.Containers[0].Args)
	}
}

// tokenState is what must not change while the generated token stays: the two
// Secrets and the checksums that restart the pods.
type tokenState struct {
	Token, TokensFile    string
	ManagerSum, StoreSum string
}

func readTokenState(t *testing.T, c client.Client, ns string) tokenState {
	t.Helper()
	ctx := context.Background()
	get := func(name string, obj client.Object) {
		t.Helper()
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			t.Fatal(err)
		}
	}
	var token, tokens corev1.Secret
	get(generatedToken, &token)
	get(generatedTokens, &tokens)
	var manager, store appsv1.Deployment
	get(managerName, &manager)
	get(storeName, &store)
	s := tokenState{
		Token:      string(token.Data["token"]),
		TokensFile: string(tokens.Data["tokens"]),
		ManagerSum: manager.Spec.Template.Annotations["checksum/store-token"],
		StoreSum:   store.Spec.Template.Annotations["checksum/tokens"],
	}
	if s.Token == "" || s.TokensFile == "" || s.ManagerSum == "" || s.StoreSum == "" {
		t.Fatalf("incomplete install: %+v", s)
	}
	return s
}

// helmConfig is a Helm action configuration for namespace ns of the envtest API server,
// through a kubeconfig of an administrator, as the helm command would have it.
func helmConfig(t *testing.T, env *envtest.Environment, ns string) *action.Configuration {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: "helm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	flags.Namespace = &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	return cfg
}
