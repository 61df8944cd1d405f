package failover

import (
	"syscall"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/test/internal/childproc"
)

// stopTimeout bounds how long a child may take to exit after a signal.
const stopTimeout = 15 * time.Second

// proc is a child process of the test (childproc), ended by the test's cleanup.
type proc struct {
	*childproc.Proc
}

// secretTokens are the tokens the test generates: log excerpts in failure messages
// never show them (nor email addresses and invitation links).
var secretTokens []string

// startProc starts bin with args and the extra environment env, and registers a
// cleanup that ends it. The environment is never logged: it may hold tokens.
func startProc(t *testing.T, name, bin string, args, env []string, logPath string) *proc {
	t.Helper()
	p, err := childproc.Start(childproc.Spec{Name: name, Bin: bin, Args: args, Env: env, LogPath: logPath, Secrets: secretTokens})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(syscall.SIGTERM, stopTimeout); err != nil {
			t.Error(err)
		}
	})
	return &proc{Proc: p}
}

// stop sends sig to the process group, then SIGKILL if it is still running after
// stopTimeout.
func (p *proc) stop(sig syscall.Signal) error { return p.Stop(sig, stopTimeout) }

// redact removes email addresses, invitation links and the test's tokens from s.
func redact(s string) string { return childproc.Redact(s, secretTokens...) }
