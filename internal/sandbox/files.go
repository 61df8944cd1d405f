package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Files the sandbox writes into its directory (see the package doc).
const (
	KubeconfigFile = "kubeconfig"
	EnvFile        = "env"
	ReadyFile      = "ready"
	DatabaseFile   = "studio.db"
	MailDir        = "mail"
	EtcdDir        = "etcd"
	LogFile        = "studio-dev.log"
	StorePortFile  = "store-port"
	RunDir         = "run"
	lockFile       = ".studio-dev.lock"
)

// Variables exported by the env file.
const (
	EnvKubeconfig = "KUBECONFIG"
	EnvStoreURL   = "STUDIO_STORE_URL"
	EnvStoreToken = "STUDIO_STORE_TOKEN"
	EnvMailDir    = "STUDIO_MAIL_DIR"
)

// kubeconfigName names the cluster, user and context in the written kubeconfig, so
// `kubectl config current-context` says what it talks to.
const kubeconfigName = "studio-dev"

// Endpoints is what the sandbox publishes about itself.
type Endpoints struct {
	Dir        string
	Kubeconfig string
	APIServer  string
	StoreURL   string
	StoreToken string
	MailDir    string
}

// RenderEnv returns the env file: shell exports for a POSIX shell, values single-quoted
// so any directory name survives `source`.
func RenderEnv(e Endpoints) string {
	var b strings.Builder
	b.WriteString("# studio-dev sandbox: `source` this file to use it with kubectl and kubectl studio.\n")
	for _, kv := range [][2]string{
		{EnvKubeconfig, e.Kubeconfig},
		{EnvStoreURL, e.StoreURL},
		{EnvStoreToken, e.StoreToken},
		{EnvMailDir, e.MailDir},
	} {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// readyInfo is the content of the ready file: where things are, never the token.
type readyInfo struct {
	PID        int    `json:"pid"`
	APIServer  string `json:"apiServer"`
	StoreURL   string `json:"storeURL"`
	Kubeconfig string `json:"kubeconfig"`
}

func renderReady(pid int, e Endpoints) ([]byte, error) {
	raw, err := json.MarshalIndent(readyInfo{PID: pid, APIServer: e.APIServer, StoreURL: e.StoreURL, Kubeconfig: e.Kubeconfig}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(raw, '\n'), nil
}

// renameKubeconfig renames the single cluster, user and context envtest writes to name.
func renameKubeconfig(raw []byte, name string) ([]byte, error) {
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	current, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("kubeconfig: current context %q not found", cfg.CurrentContext)
	}
	cluster, user := cfg.Clusters[current.Cluster], cfg.AuthInfos[current.AuthInfo]
	if cluster == nil || user == nil {
		return nil, fmt.Errorf("kubeconfig: context %q lacks its cluster or user", cfg.CurrentContext)
	}
	out := clientcmdapi.NewConfig()
	out.Clusters[name] = cluster
	out.AuthInfos[name] = user
	out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	out.CurrentContext = name
	return clientcmd.Write(*out)
}

// writeFileAtomic writes data to path through a temporary file in the same directory
// and a rename, so a reader sees either nothing or the whole file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
