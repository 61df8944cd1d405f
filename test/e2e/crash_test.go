package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanTimeout bounds how long etcd and kube-apiserver may outlive a killed
// studio-dev: they get their parent-death signal at once, the rest is scheduling.
const orphanTimeout = 10 * time.Second

// `kill -9` of studio-dev takes etcd and kube-apiserver with it, and the next
// `studio-dev up` on the same directory says what the killed one left behind, becomes
// ready, and serves the store at the address the first run published, so invitation
// links mailed before the crash still reach it.
func TestKilledSandboxRestartsOnItsDirectory(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "sandbox")
	first, err := startSandbox(dir, filepath.Join(tmp, "first.out"))
	if err != nil {
		t.Fatal(err)
	}
	firstPID := first.cmd.Process.Pid
	children := processesOf(childPIDs(firstPID))
	// Whatever this test leaves running is ended, and only if it is still the same
	// process (its command line unchanged), never one that reused the pid.
	t.Cleanup(func() { killUnchanged(children) })
	if len(children) < 2 {
		first.kill()
		t.Fatalf("expected etcd and kube-apiserver as children of studio-dev, found %v", children)
	}

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 studio-dev: %v", err)
	}
	select {
	case <-first.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("studio-dev still running %s after SIGKILL", stopTimeout)
	}
	if survivors := waitGone(children, orphanTimeout); len(survivors) > 0 {
		t.Errorf("still running %s after kill -9 of studio-dev (they must die with it): %v", orphanTimeout, survivors)
		// End them, so that what follows checks the restart on its own.
		killUnchanged(survivors)
	}
	if got := readyPID(dir); got != firstPID {
		t.Fatalf("test premise: the killed sandbox's ready file should still name pid %d, it names %d", firstPID, got)
	}

	second, err := startSandbox(dir, filepath.Join(tmp, "second.out"))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			second.kill()
		}
	})
	out := second.output()
	if want := fmt.Sprintf("studio-dev pid %d, which is no longer running", firstPID); !strings.Contains(out, want) {
		t.Errorf("the restart does not report the stale ready file (want a line with %q):\n%s", want, out)
	}
	if second.storeURL != first.storeURL {
		t.Errorf("store URL changed across the restart: %s, then %s (links mailed before point at a dead port)", first.storeURL, second.storeURL)
	}
	if got := httpStatus(t, second.storeURL+"/healthz"); got != http.StatusOK {
		t.Errorf("store after the restart: GET /healthz = %d, want 200", got)
	}
	stopped = true
	if err := second.stopAndVerify(); err != nil {
		t.Errorf("restarted sandbox did not stop cleanly: %v", err)
		second.dumpOutput(os.Stderr)
	}
}

// processesOf maps each pid to its command line, which tells the process apart from
// a later one that reuses its pid.
func processesOf(pids []int) map[int]string {
	procs := make(map[int]string, len(pids))
	for _, pid := range pids {
		if cmdline := cmdlineOf(pid); cmdline != "" {
			procs[pid] = cmdline
		}
	}
	return procs
}

// cmdlineOf is the command line of pid, "" once it has exited (a zombie has none).
func cmdlineOf(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return string(bytes.TrimRight(raw, "\x00"))
}

// waitGone waits up to timeout for the processes to exit and returns those still
// running.
func waitGone(procs map[int]string, timeout time.Duration) map[int]string {
	deadline := time.Now().Add(timeout)
	for {
		running := map[int]string{}
		for pid, cmdline := range procs {
			if cmdlineOf(pid) == cmdline {
				running[pid] = cmdline
			}
		}
		if len(running) == 0 || time.Now().After(deadline) {
			return running
		}
		time.Sleep(pollEvery)
	}
}

// killUnchanged sends SIGKILL to each process still running with the same command line.
func killUnchanged(procs map[int]string) {
	for pid, cmdline := range procs {
		if cmdlineOf(pid) == cmdline {
			err := syscall.Kill(pid, syscall.SIGKILL)
			if err != nil && !errors.Is(err, syscall.ESRCH) {
				fmt.Fprintf(os.Stderr, "e2e: kill %d: %v\n", pid, err)
			}
		}
	}
	waitGone(procs, orphanTimeout)
}
