package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/storeserver/teststore"
)

// TestRunEndToEnd runs the manager as main does, against a real API server
// (envtest) and the real store, and checks what an operations team relies on: it
// reconciles, /readyz follows the store, /metrics has the operator's metrics, and it
// stops cleanly.
func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assetsDir(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	studio, err := teststore.Start(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = studio.Close() })
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(studio.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = iamv1.AddToScheme(scheme)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustCreate(t, k8s, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "studio-system"}})
	mustCreate(t, k8s, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}})

	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"--kubeconfig", kubeconfig, "--store-url", studio.URL, "--store-token-file", tokenFile,
			"--instance-id", "e2e", "--resync-period", "2s",
			"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", probeAddr,
		}, func(string) string { return "" }, io.Discard)
	}()

	mustCreate(t, k8s, &iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: "acme"}, Spec: iamv1.AgencySpec{HomeNamespace: "team-a"}})
	mustCreate(t, k8s, &iamv1.Environment{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "prod"},
		Spec: iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: "acme"}}})
	alice := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: "alice"}, Spec: iamv1.StudioUserSpec{Email: "alice@example.com"}}
	mustCreate(t, k8s, alice)
	mustCreate(t, k8s, &iamv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "agents"},
		Spec: iamv1.RoleBindingSpec{Scope: iamv1.BindingScope{Environment: "prod"}, Subjects: []iamv1.Subject{{Name: "alice"}},
			Roles: []iamv1.Role{iamv1.RoleAgent}}})

	waitFor(t, "alice Ready with access", func() bool {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(alice), alice); err != nil {
			return false
		}
		return meta.IsStatusConditionTrue(alice.Status.Conditions, iamv1.ConditionReady) && len(alice.Status.Access) == 1
	})
	u, err := studio.Service().GetUser(ctx, "alice")
	if err != nil || u.ManagedBy != "e2e" {
		t.Fatalf("store user = %+v, %v; want managed by the --instance-id", u, err)
	}

	waitFor(t, "/readyz OK", func() bool { return httpStatus("http://"+probeAddr+"/readyz") == http.StatusOK })
	if code := httpStatus("http://" + probeAddr + "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	metrics := httpBody(t, "http://"+metricsAddr+"/metrics")
	for _, want := range []string{
		`studio_operator_store_request_duration_seconds_count{code="ok",operation="PutUser"}`,
		`studio_operator_invitations_sent_total 1`,
		`studio_operator_users{state="Invited"} 1`,
		`studio_operator_grants_changed_total{change="added"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s; it has:\n%s", want, grepLines(metrics, "studio_operator_"))
		}
	}

	if err := studio.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz failing while the store is down", func() bool {
		return httpStatus("http://"+probeAddr+"/readyz") != http.StatusOK
	})
	if err := studio.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz OK again", func() bool { return httpStatus("http://"+probeAddr+"/readyz") == http.StatusOK })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after a clean stop", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not stop")
	}
}

func assetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "bin", "k8s", "1.37.2-linux-amd64")
}

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %s: %v", obj.GetName(), err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpStatus(url string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
