package storeha

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store/pgtest"
)

// buildTimeout bounds building studio-store; the build cache is usually warm.
const buildTimeout = 3 * time.Minute

// TestMain stops the shared PostgreSQL server when the tests end.
func TestMain(m *testing.M) { pgtest.Main(m) }

// buildStore builds cmd/studio-store into a temporary directory and returns the
// binary. It keeps the build settings of `go test`, so the build cache the test run
// just filled is reused.
func buildStore(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "studio-store")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/studio-store")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/studio-store: %v\n%s", err, out)
	}
	return bin
}
