package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// demoTimeout bounds the whole non-interactive demo: a second sandbox start, the
// samples converging, the printouts and the stop.
const demoTimeout = 4 * time.Minute

// `make demo` runs hack/demo.sh; with DEMO_EXIT=1 it shows everything and stops the
// sandbox again, which is how CI and this test run it.
func TestMakeDemo(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "hack", "demo.sh"), dir)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "DEMO_EXIT=1", "STUDIO_BIN="+binDir)
	// On timeout, stop the script (its EXIT trap stops the sandbox) instead of killing it.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	if err != nil {
		t.Fatalf("hack/demo.sh: %v\n%s", err, redact(text))
	}
	for _, want := range []string{
		"Starting the sandbox",
		"Applying the sample organisation",
		"studiousers Ready",
		"kubectl studio users",
		"kubectl studio access diego",
		"team-sales/leadbot",
		"kubectl studio audit --limit 10",
		"source " + dir + "/env",
		"Stopping the sandbox",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, redact(text))
		}
	}
	for _, user := range []string{"alex", "ana", "diego", "olivia", "sam", "sofia"} {
		if rowOf(text, user) == nil {
			t.Errorf("the users overview in the demo lacks %s:\n%s", user, redact(text))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ready")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo left %s/ready behind", dir)
	}
	if strings.Contains(text, "/invite/") {
		t.Error("the demo printed an invitation link")
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(env), "\n") {
		if token, ok := strings.CutPrefix(line, "export STUDIO_STORE_TOKEN="); ok && strings.Contains(text, strings.Trim(token, "'")) {
			t.Error("the demo printed the store token")
		}
	}
}
