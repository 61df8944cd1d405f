package failover

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stopTimeout bounds how long a child may take to exit after a signal.
const stopTimeout = 15 * time.Second

// forker starts every child from one OS thread that lives as long as the test
// binary. Linux sends a child its Pdeathsig when the thread that forked it ends,
// not the process (https://go.dev/issue/27505), and the Go runtime ends a thread
// whenever a goroutine locked to it exits, which any library may do: a child forked
// from such a thread would die in the middle of the test.
var forker = func() chan<- func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the binary
		for f := range ch {
			f()
		}
	}()
	return ch
}()

// startCmd starts cmd on the forker's thread.
func startCmd(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	forker <- func() { errc <- cmd.Start() }
	return <-errc
}

// proc is a child process in a process group of its own, its output in a file.
// Pdeathsig kills it should the test binary die without running its cleanups.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error
	// signalled is set once the test signals the process: an exit by a signal
	// without it came from elsewhere.
	signalled atomic.Bool
}

// startProc starts bin with args and the extra environment env, and registers a
// cleanup that ends it. The environment is never logged: it may hold tokens.
func startProc(t *testing.T, name, bin string, args, env []string, logPath string) *proc {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startCmd(cmd); err != nil {
		_ = logFile.Close()
		t.Fatalf("start %s (%s): %v", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.stop(syscall.SIGTERM); err != nil {
			t.Error(err)
		}
		_ = logFile.Close()
	})
	return p
}

// running reports whether the process has not exited yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// errIfExited is an error describing the exit, or nil while the process runs.
func (p *proc) errIfExited() error {
	if p.running() {
		return nil
	}
	by := ""
	if st, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Signaled() && !p.signalled.Load() {
		by = " (a signal the test did not send)"
	}
	return fmt.Errorf("%s exited: %v%s; its log ends:\n%s", p.name, p.waitErr, by, p.tail(15))
}

// kill sends SIGKILL to the process group and waits for the exit.
func (p *proc) kill() error { return p.stop(syscall.SIGKILL) }

// stop sends sig to the process group, then SIGKILL if it is still running after
// stopTimeout. Stopping an exited process is a no-op.
func (p *proc) stop(sig syscall.Signal) error {
	if !p.running() {
		return nil
	}
	p.signalled.Store(true)
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("%s did not stop within %s of %s; killed", p.name, stopTimeout, sig)
	case <-time.After(stopTimeout):
		return fmt.Errorf("%s survived SIGKILL", p.name)
	}
}

// logLines counts the lines of the log that contain needle, ignoring case.
func (p *proc) logLines(needle string) int {
	f, err := os.Open(p.logPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	needle = strings.ToLower(needle)
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(strings.ToLower(sc.Text()), needle) {
			n++
		}
	}
	return n
}

// tail is the last n lines of the log, redacted, for failure messages.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return redact(strings.Join(lines, "\n"))
}

// Secrets the output must never show: email addresses, invitation links and
// bearer tokens (the tokens are added once generated).
var (
	emailPattern  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	invitePattern = regexp.MustCompile(`/invite/[^\s"'<>]+`)
	secretTokens  []string
)

// redact removes email addresses, invitation links and the test's tokens from s.
func redact(s string) string {
	for _, tok := range secretTokens {
		s = strings.ReplaceAll(s, tok, "[token]")
	}
	s = invitePattern.ReplaceAllString(s, "/invite/[redacted]")
	return emailPattern.ReplaceAllString(s, "[email]")
}
