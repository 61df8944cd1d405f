// Package childproc runs the binaries under test (manager, studio-store) as child
// processes for the harnesses in test/: each in a process group of its own, its
// output appended to a log file, killed with the harness should the harness die
// without its cleanups, and stopped with a signal of the harness's choosing.
package childproc

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// forker starts every child from one OS thread that lives as long as the harness.
// Linux sends a child its Pdeathsig when the thread that forked it ends, not the
// process (https://go.dev/issue/27505), and the Go runtime ends a thread whenever a
// goroutine locked to it exits, which any library may do: a child forked from such a
// thread would die in the middle of a run.
var forker = func() chan<- func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the harness
		for f := range ch {
			f()
		}
	}()
	return ch
}()

// Spec is what to run.
type Spec struct {
	// Name names the process in errors.
	Name string
	Bin  string
	Args []string
	// Env is added to the harness's environment (less its STUDIO_STORE_* variables,
	// see inherited). It is never logged: it holds tokens.
	Env []string
	// LogPath receives stdout and stderr, appended, so that restarts share a log.
	LogPath string
	// Secrets are replaced in the log excerpts of errors, besides the email
	// addresses and invitation links that are always.
	Secrets []string
}

// Proc is a running (or ended) child.
type Proc struct {
	Spec
	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{}
	waitErr error
	// signalled is set once the harness signals the process: an exit by a signal
	// without it came from elsewhere.
	signalled atomic.Bool
}

// Start starts s.
func Start(s Spec) (*Proc, error) {
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Env = append(inherited(), s.Env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	errc := make(chan error, 1)
	forker <- func() { errc <- cmd.Start() }
	if err := <-errc; err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", s.Name, s.Bin, err)
	}
	p := &Proc{Spec: s, cmd: cmd, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// inherited is the harness's environment without its STUDIO_STORE_* variables: a
// developer's $STUDIO_STORE_ADMIN_TOKEN, token or link key file must not change what
// the children are given (Env says that).
func inherited() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STUDIO_STORE_") {
			env = append(env, kv)
		}
	}
	return env
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// ExitErr describes how the process ended, with the end of its log; nil while it
// runs.
func (p *Proc) ExitErr() error {
	if p.Running() {
		return nil
	}
	by := ""
	if st, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Signaled() && !p.signalled.Load() {
		by = " (a signal the harness did not send)"
	}
	return fmt.Errorf("%s exited: %v%s (log: %s); its log ends:\n%s", p.Name, p.waitErr, by, p.LogPath, p.Tail(15))
}

// killWait bounds the wait for an exit after SIGKILL.
const killWait = 10 * time.Second

// Kill sends SIGKILL to the process group and waits for the exit. Killing an ended
// process is a no-op.
func (p *Proc) Kill() error { return p.Stop(syscall.SIGKILL, killWait) }

// Stop sends sig to the process group, then SIGKILL if the process still runs after
// timeout. Stopping an ended process is a no-op; an exit caused by sig is no error.
func (p *Proc) Stop(sig syscall.Signal, timeout time.Duration) error {
	if p == nil || !p.Running() {
		return nil
	}
	p.signalled.Store(true)
	_ = syscall.Kill(-p.Pid(), sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("%s did not stop within %s of %s; killed", p.Name, timeout, sig)
	case <-time.After(killWait):
		return fmt.Errorf("%s survived SIGKILL", p.Name)
	}
}

// LogLines counts the lines of the log that contain needle.
func (p *Proc) LogLines(needle string) int { return CountLines(p.LogPath, needle) }

// LogLinesFold counts the lines of the log that contain needle, ignoring case (log
// libraries differ in how they capitalise a message).
func (p *Proc) LogLinesFold(needle string) int {
	return countLines(p.LogPath, strings.ToLower(needle), strings.ToLower)
}

// CountLines counts the lines of the file at path that contain needle.
func CountLines(path, needle string) int { return countLines(path, needle, nil) }

// countLines counts the lines of path that, passed through fold when set, contain
// needle.
func countLines(path, needle string, fold func(string) string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if fold != nil {
			line = fold(line)
		}
		if strings.Contains(line, needle) {
			n++
		}
	}
	return n
}

// Tail is the last n lines of the log, redacted, for failure messages.
func (p *Proc) Tail(n int) string { return Redact(Tail(p.LogPath, n), p.Secrets...) }

// Tail is the last n lines of the file at path, not redacted.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var (
	emailPattern  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	invitePattern = regexp.MustCompile(`/invite/[^\s"'<>]+`)
)

// Redact removes from s what test output must never show: email addresses,
// invitation links and the given secrets (tokens).
func Redact(s string, secrets ...string) string {
	for _, tok := range secrets {
		if tok != "" {
			s = strings.ReplaceAll(s, tok, "[token]")
		}
	}
	s = invitePattern.ReplaceAllString(s, "/invite/[redacted]")
	return emailPattern.ReplaceAllString(s, "[email]")
}

// FreePort asks the kernel for a free port on 127.0.0.1. Another process may take
// it before the child binds it; on a test machine that race has no contender.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitHTTP200 polls url until it answers 200, the process ends or timeout passes.
func WaitHTTP200(ctx context.Context, p *Proc, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if err := p.ExitErr(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer 200 within %s (log: %s)", p.Name, url, timeout, p.LogPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitLogLines polls the log until want lines contain needle, the process ends or
// timeout passes.
func WaitLogLines(ctx context.Context, p *Proc, needle string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := p.ExitErr(); err != nil {
			return err
		}
		if p.LogLines(needle) >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %d lines with %q within %s (log: %s)", p.Name, p.LogLines(needle), needle, timeout, p.LogPath)
		case <-tick.C:
		}
	}
}
