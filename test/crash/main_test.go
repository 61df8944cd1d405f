package crash

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Flags of a larger run: go test ./test/crash -crash.kills=100 -timeout 60m.
var (
	flagKills = flag.Int("crash.kills", 25, "how many times the manager is SIGKILLed during the workload")
	flagSeed  = flag.Int64("crash.seed", 0, "seed of the workload, the kill points and the faults; 0 picks one (printed)")
)

// buildTimeout bounds building the two binaries; the build cache is usually warm.
const buildTimeout = 5 * time.Minute

var (
	// repoRoot is the module's root directory.
	repoRoot string
	// managerBin and storeBin are the freshly built cmd/manager and cmd/studio-store.
	managerBin, storeBin string
	// assetsDir holds kube-apiserver and etcd.
	assetsDir string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	flag.Parse()
	// envtest logs through controller-runtime; the harness reports on its own.
	ctrllog.SetLogger(logr.Discard())
	var err error
	if repoRoot, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		return setupFailed("repository root: %v", err)
	}
	if assetsDir, err = findAssets(repoRoot); err != nil {
		return setupFailed("%v", err)
	}
	tmp, err := os.MkdirTemp("", "studio-crash-")
	if err != nil {
		return setupFailed("temp dir: %v", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin")
	if err := buildBinaries(bin); err != nil {
		return setupFailed("%v", err)
	}
	managerBin, storeBin = filepath.Join(bin, "manager"), filepath.Join(bin, "studio-store")
	return m.Run()
}

func setupFailed(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "FAIL: crash harness setup: "+format+"\n", args...)
	return 1
}

// findAssets is KUBEBUILDER_ASSETS, else the repository's bin/k8s/<version>-<os>-<arch>
// (make envtest-assets), as the controllers suite uses.
func findAssets(root string) (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(root, "bin", "k8s", "1.37.2-"+runtime.GOOS+"-"+runtime.GOARCH)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if info, err := os.Stat(filepath.Join(dir, b)); err != nil || info.IsDir() {
			return "", fmt.Errorf("%s not found in %s: run `make envtest-assets` or set KUBEBUILDER_ASSETS", b, dir)
		}
	}
	return dir, nil
}

// buildBinaries builds the manager and the store into dir, with the settings of `go
// test` so that the build cache the test build filled is reused.
func buildBinaries(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/manager", "./cmd/studio-store")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}
