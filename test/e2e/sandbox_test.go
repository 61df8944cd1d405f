package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sandbox timeouts: the first start on a busy 2-core machine is slow; a stop should
// be quick (the control plane gets SIGTERM and 30s before SIGKILL).
const (
	readyTimeout = 3 * time.Minute
	stopTimeout  = 60 * time.Second
	pollEvery    = 200 * time.Millisecond
)

// sandbox is a running `studio-dev up` process.
type sandbox struct {
	dir     string
	outPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	kubeconfig string
	storeURL   string
	storeToken string
	apiServer  string
}

// readyFile mirrors what studio-dev writes to DIR/ready.
type readyFile struct {
	PID        int    `json:"pid"`
	APIServer  string `json:"apiServer"`
	StoreURL   string `json:"storeURL"`
	Kubeconfig string `json:"kubeconfig"`
}

// startSandbox starts `studio-dev up --dir dir` with its output in outPath and waits
// for DIR/ready, then reads DIR/env the way a shell would (`source`).
func startSandbox(dir, outPath string) (*sandbox, error) {
	out, err := os.Create(outPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	s := &sandbox{dir: dir, outPath: outPath, exited: make(chan struct{})}
	s.cmd = exec.Command(filepath.Join(binDir, "studio-dev"), "up", "--dir", dir, "--store-listen", "127.0.0.1:0")
	s.cmd.Dir = repoRoot // so studio-dev finds bin/k8s when KUBEBUILDER_ASSETS is unset
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(readyTimeout)
	for {
		// A ready file left by a killed sandbox names another process: wait for ours.
		if readyPID(dir) == s.cmd.Process.Pid {
			break
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("studio-dev exited before it was ready (%v):\n%s", s.waitErr, s.output())
		case <-time.After(pollEvery):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("studio-dev not ready after %s:\n%s", readyTimeout, s.output())
		}
	}
	if err := s.readFiles(); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// readyPID is the pid DIR/ready names, 0 while there is none.
func readyPID(dir string) int {
	var ready readyFile
	raw, err := os.ReadFile(filepath.Join(dir, "ready"))
	if err != nil || json.Unmarshal(raw, &ready) != nil {
		return 0
	}
	return ready.PID
}

// readFiles sources DIR/env in a real shell and reads DIR/ready.
func (s *sandbox) readFiles() error {
	raw, err := exec.Command("sh", "-c", `. "$1" && printf '%s\000%s\000%s' "$KUBECONFIG" "$STUDIO_STORE_URL" "$STUDIO_STORE_TOKEN"`, "sh", filepath.Join(s.dir, "env")).Output()
	if err != nil {
		return fmt.Errorf("source %s/env: %v", s.dir, err)
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("%s/env does not export KUBECONFIG, STUDIO_STORE_URL and STUDIO_STORE_TOKEN", s.dir)
	}
	s.kubeconfig, s.storeURL, s.storeToken = parts[0], parts[1], parts[2]
	var ready readyFile
	rawReady, err := os.ReadFile(filepath.Join(s.dir, "ready"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(rawReady, &ready); err != nil {
		return fmt.Errorf("ready file: %v", err)
	}
	if ready.PID != s.cmd.Process.Pid {
		return fmt.Errorf("ready file names pid %d, studio-dev is %d", ready.PID, s.cmd.Process.Pid)
	}
	s.apiServer = ready.APIServer
	return nil
}

// env is the environment of commands run against the sandbox: what `source DIR/env`
// sets, and the built binaries first on PATH so kubectl finds the plugin.
func (s *sandbox) env() []string {
	return append(os.Environ(),
		"KUBECONFIG="+s.kubeconfig,
		"STUDIO_STORE_URL="+s.storeURL,
		"STUDIO_STORE_TOKEN="+s.storeToken,
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
}

// stopAndVerify sends SIGTERM and checks the contract of a clean stop: exit status 0
// in time, no child process left, the ports free, DIR/ready gone.
func (s *sandbox) stopAndVerify() error {
	children := childPIDs(s.cmd.Process.Pid)
	if len(children) < 2 {
		return fmt.Errorf("expected etcd and kube-apiserver as children of studio-dev, found pids %v", children)
	}
	ports := s.ports(children)
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.kill()
		return fmt.Errorf("studio-dev still running %s after SIGTERM", stopTimeout)
	}
	var errs []error
	if s.waitErr != nil {
		errs = append(errs, fmt.Errorf("studio-dev exited with %v after SIGTERM", s.waitErr))
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("child process %d still exists after studio-dev exited", pid))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, port := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d still in use: %v", port, err))
			continue
		}
		l.Close()
	}
	if _, err := os.Stat(filepath.Join(s.dir, "ready")); !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("%s/ready still exists after the stop", s.dir))
	}
	if len(errs) == 0 {
		fmt.Fprintf(os.Stderr, "e2e: studio-dev stopped cleanly in %s (ports %v free)\n", time.Since(start).Round(time.Millisecond), ports)
	}
	return errors.Join(errs...)
}

// ports are the sandbox's listening ports: store, apiserver, and etcd's client port.
func (s *sandbox) ports(children []int) []int {
	var ports []int
	for _, raw := range []string{s.storeURL, s.apiServer} {
		if u, err := url.Parse(raw); err == nil {
			if p, err := strconv.Atoi(u.Port()); err == nil {
				ports = append(ports, p)
			}
		}
	}
	for _, pid := range children {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		if m := etcdClientURL.FindSubmatch(cmdline); m != nil {
			if p, err := strconv.Atoi(string(m[1])); err == nil {
				ports = append(ports, p)
			}
		}
	}
	return ports
}

var etcdClientURL = regexp.MustCompile(`--listen-client-urls=http://127\.0\.0\.1:(\d+)`)

// childPIDs lists the direct children of pid (Linux /proc).
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(raw)) {
			if p, err := strconv.Atoi(f); err == nil {
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// kill ends a sandbox that failed to start or stop: studio-dev and its children.
func (s *sandbox) kill() {
	children := childPIDs(s.cmd.Process.Pid)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	for _, pid := range children {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (s *sandbox) output() string {
	raw, _ := os.ReadFile(s.outPath)
	return redact(string(raw))
}

func (s *sandbox) dumpOutput(w io.Writer) {
	fmt.Fprintf(w, "studio-dev output:\n%s\n", s.output())
}
