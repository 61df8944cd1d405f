package scale

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

// Subprocess timeouts.
const (
	storeReadyTimeout   = time.Minute
	managerReadyTimeout = 2 * time.Minute
	// procStopTimeout is how long a SIGTERM gets before SIGKILL; the store's own
	// graceful shutdown is bounded by 30 s by default, the manager's by 30 s too.
	procStopTimeout = 40 * time.Second
)

// proc is a child process in a process group of its own, with its output in a file.
// Pdeathsig kills it if the harness dies without running its defers (note: Linux
// ties Pdeathsig to the thread that started the child; the Go runtime does not
// retire threads on its own, so in practice that is the harness's lifetime).
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error
}

// startProc starts bin with args and extra environment variables; stdout and stderr
// go to logPath. The environment is logged nowhere: it holds tokens.
func startProc(name, bin string, args, env []string, logPath string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid is the child's process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended, with its error.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, fmt.Errorf("%s exited: %v (log: %s)\n%s", p.name, p.waitErr, p.logPath, tail(p.logPath, 20))
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, waits, then SIGKILLs the group. A second
// stop is a no-op. An exit caused by our SIGTERM is not an error.
func (p *proc) stop() error {
	if p == nil {
		return nil
	}
	defer p.logFile.Close()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(procStopTimeout):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed", p.name, procStopTimeout)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s survived SIGKILL", p.name)
	}
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process may take
// it before the child binds it; on this machine that race has no contender.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// storeProc is a running studio-store.
type storeProc struct {
	*proc
	url     string
	token   string
	mailDir string
}

// startStore runs `studio-store serve` on a free port with SQLite and a mail
// directory under dir, and waits until /readyz answers 200.
func startStore(ctx context.Context, bin, dir string) (*storeProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	mailDir := filepath.Join(dir, "mail")
	if err := os.MkdirAll(mailDir, 0o755); err != nil {
		return nil, err
	}
	token := rand.Text()
	args := []string{"serve",
		"--listen", "127.0.0.1:" + strconv.Itoa(port),
		"--db", "sqlite://" + filepath.Join(dir, "studio.db"), // absolute: sqlite:///abs
		"--public-url", url,
		"--mail-dir", mailDir,
	}
	p, err := startProc("studio-store", bin, args, []string{"STUDIO_STORE_ADMIN_TOKEN=" + token}, filepath.Join(dir, "store.log"))
	if err != nil {
		return nil, err
	}
	s := &storeProc{proc: p, url: url, token: token, mailDir: mailDir}
	if err := waitHTTP200(ctx, p, url+"/readyz", storeReadyTimeout); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return s, nil
}

// waitHTTP200 polls url every 100ms until it answers 200, the process exits or the
// timeout passes.
func waitHTTP200(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
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
		case <-tick.C:
		}
	}
}

// managerProc is a running manager.
type managerProc struct {
	*proc
	metricsURL string
}

// managerControllers is how many controllers the manager starts; it is up once each
// has logged "Starting workers" (its caches are synced then).
const managerControllers = 4

// ShippedMemoryLimit is the manager container's memory limit in the shipped
// Deployment (config/manager and the Helm chart's default values). A manager in a pod
// reads it from its cgroup and gives 90% of it to Go as a soft limit; the benchmark
// runs the manager as a plain process, so it passes the same limit as --memory-limit.
const ShippedMemoryLimit = "256Mi"

// startManager runs the manager against the control plane in kubeconfig and the
// store, with the shipped defaults except what the benchmark must set, plus extra.
// It returns once all controllers have started their workers, so that timing does
// not include the manager's start-up.
func startManager(ctx context.Context, bin, dir, kubeconfig string, st *storeProc, resync time.Duration, extra []string) (*managerProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{
		"--store-url", st.url,
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", "0",
		"--resync-period", resync.String(),
		"--memory-limit", ShippedMemoryLimit,
	}, extra...)
	p, err := startProc("manager", bin, args, []string{"STUDIO_STORE_TOKEN=" + st.token}, filepath.Join(dir, "manager.log"))
	if err != nil {
		return nil, err
	}
	m := &managerProc{proc: p, metricsURL: "http://" + metricsAddr + "/metrics"}
	if err := waitLogLines(ctx, p, "Starting workers", managerControllers, managerReadyTimeout); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return m, nil
}

// waitLogLines polls p's log until want lines contain needle.
func waitLogLines(ctx context.Context, p *proc, needle string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if gone, err := p.exited(); gone {
			return err
		}
		if countLines(p.logPath, needle) >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: fewer than %d %q lines within %s (log: %s)\n%s", p.name, want, needle, timeout, p.logPath, tail(p.logPath, 20))
		case <-tick.C:
		}
	}
}

// countLines counts the lines of path that contain needle.
func countLines(path, needle string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			n++
		}
	}
	return n
}

// tail is the last n lines of path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// procMemory reads the peak (VmHWM) and current (VmRSS) resident set of pid, in MiB.
func procMemory(pid int) (peak, now float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseProcStatus(string(b))
}

// parseProcStatus extracts VmHWM and VmRSS (kB) from /proc/<pid>/status as MiB.
func parseProcStatus(s string) (peak, now float64, err error) {
	var gotPeak, gotNow bool
	for _, line := range strings.Split(s, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		kb, perr := strconv.ParseFloat(fields[0], 64)
		if perr != nil {
			continue
		}
		switch key {
		case "VmHWM":
			peak, gotPeak = kb/1024, true
		case "VmRSS":
			now, gotNow = kb/1024, true
		}
	}
	if !gotPeak || !gotNow {
		return 0, 0, errors.New("VmHWM or VmRSS missing from /proc status")
	}
	return peak, now, nil
}
