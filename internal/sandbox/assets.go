package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KubernetesVersion is the control-plane version `make envtest-assets` builds.
const KubernetesVersion = "1.37.2"

// AssetsEnv names the variable that points at the control-plane binaries, as for envtest.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// Control-plane binaries the sandbox starts.
const (
	apiServerBinary = "kube-apiserver"
	etcdBinary      = "etcd"
)

// modulePath identifies this repository's go.mod when looking for bin/k8s.
const modulePath = "github.com/studio-operator/studio-operator"

// Error messages about the control-plane binaries. They name the fix, because the
// first run on a fresh clone always meets them.
const (
	errBinaryMissing = "%s not found in %s: run `make envtest-assets`"
	errNoAssetsDir   = "%s not found: set " + AssetsEnv + " or run `make envtest-assets` in the repository (looked for bin/k8s/%s next to studio-dev and above %s)"
)

// assetsSubdir is where `make envtest-assets` puts the binaries, relative to bin/.
func assetsSubdir() string {
	return filepath.Join("k8s", KubernetesVersion+"-"+runtime.GOOS+"-"+runtime.GOARCH)
}

// assetsLookup is what ResolveAssetsDir reads from the process, so tests can vary it.
type assetsLookup struct {
	env        string // value of KUBEBUILDER_ASSETS
	executable string // path of the running binary
	workDir    string // current directory
}

// ResolveAssetsDir returns the directory holding kube-apiserver and etcd: the
// KUBEBUILDER_ASSETS variable when set, else bin/k8s/<version>-<os>-<arch> next to the
// running binary (bin/studio-dev) or in the repository enclosing the current directory.
// The error says how to get the binaries.
func ResolveAssetsDir() (string, error) {
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	return resolveAssetsDir(assetsLookup{env: os.Getenv(AssetsEnv), executable: exe, workDir: wd})
}

func resolveAssetsDir(l assetsLookup) (string, error) {
	if l.env != "" {
		return l.env, checkAssets(l.env)
	}
	var candidates []string
	if l.executable != "" {
		candidates = append(candidates, filepath.Join(filepath.Dir(l.executable), assetsSubdir()))
	}
	if root := repoRoot(l.workDir); root != "" {
		candidates = append(candidates, filepath.Join(root, "bin", assetsSubdir()))
	}
	for _, dir := range candidates {
		if checkAssets(dir) == nil {
			return dir, nil
		}
	}
	// Point at the repository default, where `make envtest-assets` would put them.
	if len(candidates) > 0 && repoRoot(l.workDir) != "" {
		dir := candidates[len(candidates)-1]
		return dir, checkAssets(dir)
	}
	return "", fmt.Errorf(errNoAssetsDir, apiServerBinary, assetsSubdir(), l.workDir)
}

// checkAssets reports the first control-plane binary missing from dir.
func checkAssets(dir string) error {
	for _, name := range []string{apiServerBinary, etcdBinary} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf(errBinaryMissing, name, dir)
		}
	}
	return nil
}

// repoRoot walks up from dir to the directory whose go.mod declares this module.
func repoRoot(dir string) string {
	for dir != "" {
		if raw, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declaresModule(string(raw)) {
			return dir
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	return ""
}

func declaresModule(gomod string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == modulePath {
			return true
		}
	}
	return false
}
