package crash

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process timeouts.
const (
	storeReadyTimeout = time.Minute
	procKillTimeout   = 10 * time.Second
)

// proc is a child process in a process group of its own, its output appended to a
// log file. Pdeathsig kills it should the test binary die without its cleanups.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error
}

// startProc starts bin with args and extra environment (never logged: it holds
// tokens); stdout and stderr are appended to logPath, so restarts share one log.
func startProc(name, bin string, args, env []string, logPath string) (*proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = p.logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, fmt.Errorf("%s exited: %v (log: %s)", p.name, p.waitErr, p.logPath)
	default:
		return false, nil
	}
}

// kill SIGKILLs the process group and waits until the process is reaped. Killing
// an ended process is a no-op.
func (p *proc) kill() error {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(procKillTimeout):
		return fmt.Errorf("%s survived SIGKILL for %s", p.name, procKillTimeout)
	}
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// storeProc is a studio-store with a fixed address, database and mail directory, so
// that a restart after a SIGKILL comes back where the killed one was.
type storeProc struct {
	dir, url, token, mailDir string
	args                     []string
	*proc
	starts int
}

// newStoreProc prepares (does not start) a store in dir on a free port.
func newStoreProc(dir string) (*storeProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &storeProc{dir: dir, url: "http://" + addr, token: rand.Text(), mailDir: filepath.Join(dir, "mail")}
	s.args = []string{"serve",
		"--listen", addr,
		"--db", "sqlite://" + filepath.Join(dir, "studio.db"),
		"--public-url", s.url,
		"--mail-dir", s.mailDir,
		"--mail-poll-interval", "1s",
		"--shutdown-timeout", "5s",
	}
	return s, os.MkdirAll(s.mailDir, 0o700)
}

// start runs the store and waits until /readyz answers 200.
func (s *storeProc) start(ctx context.Context) error {
	p, err := startProc("studio-store", storeBin, s.args, []string{"STUDIO_STORE_ADMIN_TOKEN=" + s.token}, filepath.Join(s.dir, "store.log"))
	if err != nil {
		return err
	}
	s.proc = p
	s.starts++
	if err := waitHTTP200(ctx, p, s.url+"/readyz", storeReadyTimeout); err != nil {
		return errors.Join(err, p.kill())
	}
	return nil
}

// waitHTTP200 polls url until it answers 200, the process ends or timeout passes.
func waitHTTP200(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if gone, err := p.exited(); gone {
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
			return fmt.Errorf("%s: %s did not answer 200 within %s (log: %s)", p.name, url, timeout, p.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// managerProc starts the real manager binary, again after each kill, with the same
// flags: it talks to the store at storeURL (the fault proxy) with the store's token.
type managerProc struct {
	dir, kubeconfig, storeURL, token string
	extra                            []string
	*proc
	starts int
}

// start runs the manager; it does not wait for it to be ready, since a kill may come
// at any point, start-up included.
func (m *managerProc) start() error {
	args := append([]string{
		"--store-url", m.storeURL,
		"--kubeconfig", m.kubeconfig,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
	}, m.extra...)
	p, err := startProc("manager", managerBin, args, []string{"STUDIO_STORE_TOKEN=" + m.token}, filepath.Join(m.dir, "manager.log"))
	if err != nil {
		return err
	}
	m.proc = p
	m.starts++
	return nil
}

// waitWorkers waits until the manager has logged want more "Starting workers" lines
// than before (each controller logs one once its caches are synced).
func (m *managerProc) waitWorkers(ctx context.Context, before, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for countLines(m.logPath(), "Starting workers") < before+want {
		if gone, err := m.exited(); gone {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("manager: its controllers did not start within %s (log: %s)", timeout, m.logPath())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (m *managerProc) logPath() string { return filepath.Join(m.dir, "manager.log") }

// countLines counts the lines of path that contain needle.
func countLines(path, needle string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			n++
		}
	}
	return n
}
