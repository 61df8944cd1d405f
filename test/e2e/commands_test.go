package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds every kubectl call; `kubectl wait` gets its own --timeout.
const commandTimeout = 2 * time.Minute

// kubectl runs the real kubectl against the shared sandbox and returns its stdout;
// a failure ends the test with the (redacted) output.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runKubectl(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, redact(out), redact(errOut))
	}
	return out
}

func runKubectl(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlPath, args...)
	cmd.Dir = repoRoot
	cmd.Env = shared.env()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

var (
	emailPattern  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	invitePattern = regexp.MustCompile(`/invite/[^\s"'<>]+`)
)

// redact removes what must never reach test output: invitation links, the store
// token and email addresses.
func redact(s string) string {
	if shared != nil && shared.storeToken != "" {
		s = strings.ReplaceAll(s, shared.storeToken, "<token>")
	}
	s = invitePattern.ReplaceAllString(s, "/invite/<redacted>")
	return emailPattern.ReplaceAllString(s, "<email>")
}

// linesWith returns the lines of out whose first field is name (a table row).
func rowOf(out, name string) []string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}
