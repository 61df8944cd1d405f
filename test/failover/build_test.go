package failover

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildTimeout bounds building the two binaries; the build cache is usually warm
// from compiling the tests.
const buildTimeout = 2 * time.Minute

// binaries are the freshly built programs under test.
type binaries struct{ manager, store string }

// buildBinaries builds cmd/manager and cmd/studio-store into dir with the settings
// of `go test` (unlike `make build`, no CGO_ENABLED=0), so that the build cache the
// tests just filled is reused.
func buildBinaries(ctx context.Context, t *testing.T, dir string) binaries {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/manager", "./cmd/studio-store")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/manager ./cmd/studio-store: %v\n%s", err, out)
	}
	return binaries{manager: filepath.Join(dir, "manager"), store: filepath.Join(dir, "studio-store")}
}
