package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/studio-operator/studio-operator/internal/operator"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func TestMain(m *testing.M) {
	// The sandboxes these tests start use this test binary as the launcher of their
	// control plane, as studio-dev does.
	MaybeExecControlPlane()
	// envtest logs through controller-runtime's global logger; without one it warns
	// with a stack trace after 30s.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// One real sandbox, in process: it publishes working endpoints, stops cleanly, and a
// second start on the same directory resumes the cluster state.
func TestSandboxStartStopResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress strings.Builder

	s, err := Start(ctx, Config{Dir: dir, Progress: &progress})
	if err != nil {
		t.Fatalf("Start: %v\n%s", err, progress.String())
	}
	e := s.Endpoints()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = s.Stop()
		}
	})

	// The env file is private; the ready file names this process.
	info, err := os.Stat(filepath.Join(dir, EnvFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("env file: %v, mode %v; want mode 0600", err, info.Mode().Perm())
	}
	var ready readyInfo
	raw, err := os.ReadFile(filepath.Join(dir, ReadyFile))
	if err != nil {
		t.Fatalf("ready file: %v", err)
	}
	if err := json.Unmarshal(raw, &ready); err != nil || ready.PID != os.Getpid() || ready.StoreURL != e.StoreURL {
		t.Errorf("ready file = %s (%v), want pid %d and the store URL", raw, err, os.Getpid())
	}

	// The kubeconfig is admin on the control plane, with the CRDs and the operator's
	// namespace in place.
	cl := kubeClient(t, filepath.Join(dir, KubeconfigFile))
	if err := cl.Get(ctx, client.ObjectKey{Name: DefaultNamespace}, &corev1.Namespace{}); err != nil {
		t.Errorf("namespace %s: %v", DefaultNamespace, err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := cl.Get(ctx, client.ObjectKey{Name: "studiousers.iam.studio-operator.io"}, crd); err != nil {
		t.Errorf("StudioUser CRD: %v", err)
	}
	marker := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "survives-restart"}}
	if err := cl.Create(ctx, marker); err != nil {
		t.Fatal(err)
	}

	// The store serves on loopback and wants the generated token.
	if u, err := url.Parse(e.StoreURL); err != nil || !strings.HasPrefix(u.Host, "127.0.0.1:") {
		t.Errorf("store URL %q is not on 127.0.0.1", e.StoreURL)
	}
	if got := storeStatus(t, e.StoreURL+"/api/v1/users", e.StoreToken); got != http.StatusOK {
		t.Errorf("store with the token: status %d, want 200", got)
	}
	if got := storeStatus(t, e.StoreURL+"/api/v1/users", ""); got != http.StatusUnauthorized {
		t.Errorf("store without a token: status %d, want 401", got)
	}
	if strings.Contains(progress.String(), e.StoreToken) {
		t.Error("progress lines show the store token")
	}

	storeAddr := strings.TrimPrefix(e.StoreURL, "http://")
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	if _, err := os.Stat(filepath.Join(dir, ReadyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready file left after Stop (%v)", err)
	}
	if l, err := net.Listen("tcp", storeAddr); err != nil {
		t.Errorf("store port still taken after Stop: %v", err)
	} else {
		l.Close()
	}

	// Up resumes the same directory and returns nil when asked to stop.
	upCtx, stopUp := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Up(upCtx, Config{Dir: dir}) }()
	waitForFile(t, filepath.Join(dir, ReadyFile), done)
	cl = kubeClient(t, filepath.Join(dir, KubeconfigFile))
	if err := cl.Get(ctx, client.ObjectKey{Name: marker.Name}, &corev1.Namespace{}); err != nil {
		t.Errorf("cluster state not resumed: %v", err)
	}
	// The store keeps its address, so invitation links mailed before still work.
	raw, err = os.ReadFile(filepath.Join(dir, ReadyFile))
	if err != nil || json.Unmarshal(raw, &ready) != nil || ready.StoreURL != e.StoreURL {
		t.Errorf("store URL after the restart = %q (%v), want %q", ready.StoreURL, err, e.StoreURL)
	}
	stopUp()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Up after cancel: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Up did not return after cancel")
	}
}

func kubeClient(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := operator.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	_ = apiextensionsv1.AddToScheme(scheme)
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func storeStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitForFile(t *testing.T, path string, failed <-chan error) {
	t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-failed:
			t.Fatalf("sandbox ended before %s appeared: %v", filepath.Base(path), err)
		case <-deadline:
			t.Fatalf("%s did not appear", path)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
