package storeha

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Replica life-cycle bounds.
const (
	replicaStartTimeout = 30 * time.Second
	replicaStopTimeout  = 10 * time.Second
)

// replicaConfig is what every replica shares: one binary, one database, one link key,
// one tokens file, one public URL (the Service in front of them).
type replicaConfig struct {
	bin, dsn, publicURL, tokensFile, linkKeyFile string
	// logDir receives <name>.log, the replica's output.
	logDir string
}

// replica is one running `studio-store serve`.
type replica struct {
	name    string
	url     string // where this replica listens, http://127.0.0.1:<port>
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
}

// startReplica starts studio-store on a port of its own choosing on 127.0.0.1,
// delivering mail to smtpURL, and waits until its /readyz answers 200. The process is
// killed when the test ends, and also if the test binary dies first (Pdeathsig).
func startReplica(t *testing.T, name string, cfg replicaConfig, smtpURL string) (*replica, error) {
	r := &replica{name: name, logPath: filepath.Join(cfg.logDir, name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(r.logPath)
	if err != nil {
		return nil, err
	}
	stderr, stderrW, err := os.Pipe()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	r.cmd = exec.Command(cfg.bin, "serve",
		"--listen", "127.0.0.1:0",
		"--db", cfg.dsn,
		"--public-url", cfg.publicURL,
		"--tokens-file", cfg.tokensFile,
		"--link-key-file", cfg.linkKeyFile,
		"--smtp-url", smtpURL,
		// A poll every second bounds how long the survivor takes to notice mails
		// whose lease ran out (the default is 10s).
		"--mail-poll-interval", "1s",
		"--log-format", "json",
	)
	r.cmd.Env = storeEnv()
	r.cmd.Stdout, r.cmd.Stderr = logFile, stderrW
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child exits: keep this
		// goroutine on its own thread for the child's lifetime.
		runtime.LockOSThread()
		defer close(r.done)
		if err := r.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = r.cmd.Wait()
	}()
	err = <-started
	_ = stderrW.Close() // the child has its own copy; EOF when it exits
	if err != nil {
		_ = stderr.Close()
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	t.Cleanup(func() {
		r.kill()
		_ = logFile.Close()
	})
	addr := make(chan string, 1)
	go copyLog(stderr, logFile, addr)

	ctx, cancel := context.WithTimeout(context.Background(), replicaStartTimeout)
	defer cancel()
	select {
	case a := <-addr:
		r.url = "http://" + a
	case <-r.done:
		return nil, fmt.Errorf("%s exited while starting:\n%s", name, r.logTail())
	case <-ctx.Done():
		return nil, fmt.Errorf("%s did not log its address within %s:\n%s", name, replicaStartTimeout, r.logTail())
	}
	if err := r.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w:\n%s", name, err, r.logTail())
	}
	return r, nil
}

// storeEnv is the test's environment without the store's own variables, so that a
// developer's $STUDIO_STORE_ADMIN_TOKEN or link key file cannot change the setup.
func storeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STUDIO_STORE_") {
			env = append(env, kv)
		}
	}
	return env
}

// copyLog copies the replica's JSON log lines to the log file and sends the address
// of its "studio-store serving" line to addr.
func copyLog(from *os.File, to *os.File, addr chan<- string) {
	defer from.Close()
	sent := false
	sc := bufio.NewScanner(from)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = to.Write(append(line, '\n'))
		if sent {
			continue
		}
		var entry struct {
			Msg     string `json:"msg"`
			Address string `json:"address"`
		}
		if json.Unmarshal(line, &entry) == nil && entry.Msg == "studio-store serving" && entry.Address != "" {
			addr <- entry.Address
			sent = true
		}
	}
}

// waitReady polls /readyz until it answers 200.
func (r *replica) waitReady(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.done:
			return errors.New("exited while starting")
		case <-ctx.Done():
			return fmt.Errorf("/readyz not 200 within %s", replicaStartTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill SIGKILLs the process, with no chance to clean up, and waits until it is gone.
// Killing an exited replica does nothing.
func (r *replica) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-r.done:
	case <-time.After(replicaStopTimeout):
	}
}

// logTail is the end of the replica's log, for failure messages. The store logs no
// addresses, links or tokens.
func (r *replica) logTail() string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
