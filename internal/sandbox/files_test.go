package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The env file must survive `source` in a real shell whatever the directory is called.
func TestRenderEnvIsSourceable(t *testing.T) {
	cases := map[string]Endpoints{
		"plain":             {Kubeconfig: "/tmp/demo/kubeconfig", StoreURL: "http://127.0.0.1:4321", StoreToken: "TOKEN", MailDir: "/tmp/demo/mail"},
		"quotes and spaces": {Kubeconfig: "/tmp/it's a \"demo\" $HOME/kubeconfig", StoreURL: "http://127.0.0.1:1", StoreToken: "T", MailDir: "/tmp/`x`/mail"},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			envFile := filepath.Join(t.TempDir(), "env")
			if err := os.WriteFile(envFile, []byte(RenderEnv(e)), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("sh", "-c", `. "$1" && printf '%s\n%s\n%s\n%s\n' "$KUBECONFIG" "$STUDIO_STORE_URL" "$STUDIO_STORE_TOKEN" "$STUDIO_MAIL_DIR"`, "sh", envFile).Output()
			if err != nil {
				t.Fatalf("sourcing the env file: %v", err)
			}
			want := strings.Join([]string{e.Kubeconfig, e.StoreURL, e.StoreToken, e.MailDir}, "\n") + "\n"
			if diff := cmp.Diff(want, string(out)); diff != "" {
				t.Errorf("exported values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderReadyHasNoToken(t *testing.T) {
	raw, err := renderReady(42, Endpoints{Kubeconfig: "/d/kubeconfig", StoreURL: "http://127.0.0.1:1", StoreToken: "SECRET-TOKEN", APIServer: "https://127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "SECRET-TOKEN") {
		t.Errorf("ready file leaks the store token: %s", raw)
	}
	for _, want := range []string{`"pid": 42`, `"storeURL": "http://127.0.0.1:1"`, `"kubeconfig": "/d/kubeconfig"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("ready file lacks %s: %s", want, raw)
		}
	}
}

func TestRenameKubeconfig(t *testing.T) {
	in := clientcmdapi.NewConfig()
	in.Clusters["envtest"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443", CertificateAuthorityData: []byte("ca")}
	in.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("cert"), ClientKeyData: []byte("key")}
	in.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	in.CurrentContext = "envtest"
	raw, err := clientcmd.Write(*in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := renameKubeconfig(raw, "studio-dev")
	if err != nil {
		t.Fatal(err)
	}
	got, err := clientcmd.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentContext != "studio-dev" {
		t.Errorf("current context = %q, want studio-dev", got.CurrentContext)
	}
	ctx := got.Contexts["studio-dev"]
	if ctx == nil || ctx.Cluster != "studio-dev" || ctx.AuthInfo != "studio-dev" {
		t.Fatalf("context studio-dev = %+v", ctx)
	}
	if diff := cmp.Diff("https://127.0.0.1:6443", got.Clusters["studio-dev"].Server); diff != "" {
		t.Errorf("server (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]byte("key"), got.AuthInfos["studio-dev"].ClientKeyData); diff != "" {
		t.Errorf("client key (-want +got):\n%s", diff)
	}

	if _, err := renameKubeconfig([]byte("current-context: nowhere\n"), "x"); err == nil {
		t.Error("a kubeconfig without its current context was accepted")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "env")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != "new" || info.Mode().Perm() != 0o600 {
		t.Errorf("got %q mode %v, want \"new\" mode 0600", raw, info.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
