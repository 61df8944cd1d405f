package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildTimeout bounds building the binaries; the build cache is usually warm.
const buildTimeout = 5 * time.Minute

var (
	// repoRoot is the repository (kustomizations, hack/ scripts).
	repoRoot string
	// binDir holds the freshly built studio-dev and kubectl-studio.
	binDir string
	// kubectlPath is the real kubectl.
	kubectlPath string
	// shared is the sandbox the tests share.
	shared *sandbox
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	var err error
	if repoRoot, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		return fail("repository root: %v", err)
	}
	if kubectlPath, err = findKubectl(); err != nil {
		return fail("%v", err)
	}
	tmp, err := os.MkdirTemp("", "studio-e2e-")
	if err != nil {
		return fail("temp dir: %v", err)
	}
	defer os.RemoveAll(tmp)

	binDir = filepath.Join(tmp, "bin")
	if err := buildBinaries(binDir); err != nil {
		return fail("%v", err)
	}
	shared, err = startSandbox(filepath.Join(tmp, "sandbox"), filepath.Join(tmp, "studio-dev.out"))
	if err != nil {
		return fail("%v", err)
	}
	code := m.Run()
	if err := shared.stopAndVerify(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: studio-dev did not stop cleanly: %v\n", err)
		shared.dumpOutput(os.Stderr)
		code = 1
	}
	return code
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "FAIL: e2e setup: "+format+"\n", args...)
	return 1
}

// findKubectl prefers the machine's kubectl (/usr/bin/kubectl) over anything on PATH.
func findKubectl() (string, error) {
	if info, err := os.Stat("/usr/bin/kubectl"); err == nil && !info.IsDir() {
		return "/usr/bin/kubectl", nil
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		return "", fmt.Errorf("kubectl not found: the end-to-end tests drive the real kubectl")
	}
	return p, nil
}

// buildBinaries builds studio-dev and kubectl-studio into dir. It keeps the build
// settings of `go test` (unlike `make build`, which sets CGO_ENABLED=0), so the build
// cache the tests just filled is reused instead of compiling every dependency again.
func buildBinaries(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/studio-dev", "./cmd/kubectl-studio")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}
