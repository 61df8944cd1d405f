//go:build linux

package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Go never ends the main thread, not even when a goroutine locked to it exits: keep
// it for the main goroutine, so that the goroutine of
// TestLauncherArmsTheParentDeathSignal runs on a thread that does end.
func init() { runtime.LockOSThread() }

// fakeBinary writes an executable shell script named name into dir.
func fakeBinary(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func requireLaunchers(t *testing.T) {
	t.Helper()
	if !launchersEnabled.Load() {
		t.Fatal("launchers are off: this package's TestMain must call MaybeExecControlPlane first")
	}
}

// A launcher runs its binary in its own process, with the arguments it got, and
// records the pid.
func TestLauncherExecsTheBinary(t *testing.T) {
	requireLaunchers(t)
	assets, runDir := t.TempDir(), filepath.Join(t.TempDir(), RunDir)
	fakeBinary(t, assets, etcdBinary, `printf '%s|' "$@"; echo $$`)
	fakeBinary(t, assets, apiServerBinary, `exit 3`)
	launchers, err := prepareLaunchers(runDir, assets)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(launchers[etcdBinary], "--data-dir=/x", "two words")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("launcher: %v", err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if want := "--data-dir=/x|two words|" + pid + "\n"; string(out) != want {
		t.Errorf("output = %q, want %q (arguments, then the launcher's own pid)", out, want)
	}
	if got, err := readPIDFile(launchers[etcdBinary] + pidFileSuffix); err != nil || strconv.Itoa(got) != pid {
		t.Errorf("pid file = %d (%v), want %s", got, err, pid)
	}
	var exitErr *exec.ExitError
	if err := exec.Command(launchers[apiServerBinary]).Run(); !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("exit status of the binary not passed on: %v", err)
	}

	// A launcher whose parent is not the sandbox's process refuses to start.
	wrongParent := exec.Command(launchers[etcdBinary])
	wrongParent.Env = append(os.Environ(), launcherParentEnv+"=1")
	out, err = wrongParent.CombinedOutput()
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != launcherExitCode || !strings.Contains(string(out), "exited before") {
		t.Errorf("launcher with another parent: %v, output %q", err, out)
	}
}

// The launched binary gets SIGKILL when the thread that started it ends, which is
// what happens to every thread when the sandbox's process is killed.
func TestLauncherArmsTheParentDeathSignal(t *testing.T) {
	requireLaunchers(t)
	assets, runDir := t.TempDir(), filepath.Join(t.TempDir(), RunDir)
	fakeBinary(t, assets, etcdBinary, `exec sleep 600`)
	fakeBinary(t, assets, apiServerBinary, `exit 0`)
	launchers, err := prepareLaunchers(runDir, assets)
	if err != nil {
		t.Fatal(err)
	}
	started, armed := make(chan *exec.Cmd, 1), make(chan struct{})
	go func() {
		// Never unlocked: the thread ends with this goroutine.
		runtime.LockOSThread()
		cmd := exec.Command(launchers[etcdBinary])
		if err := cmd.Start(); err != nil {
			started <- nil
			return
		}
		started <- cmd
		<-armed
	}()
	cmd := <-started
	if cmd == nil {
		t.Fatal("the launcher did not start")
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()
	// The pid file is written once the signal is armed.
	if !waitUntil(10*time.Second, func() bool {
		pid, err := readPIDFile(launchers[etcdBinary] + pidFileSuffix)
		return err == nil && pid == cmd.Process.Pid
	}) {
		close(armed)
		t.Fatal("the launcher wrote no pid file")
	}
	close(armed)
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("the binary ended with %v, want SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the binary outlived the thread that started it")
	}
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Without MaybeExecControlPlane the launchers are the binaries themselves, under the
// same paths.
func TestLaunchersWithoutParentDeathSignal(t *testing.T) {
	was := launchersEnabled.Load()
	launchersEnabled.Store(false)
	defer launchersEnabled.Store(was)
	assets, runDir := t.TempDir(), filepath.Join(t.TempDir(), RunDir)
	fakeBinary(t, assets, etcdBinary, `exit 0`)
	fakeBinary(t, assets, apiServerBinary, `exit 0`)
	launchers, err := prepareLaunchers(runDir, assets)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range controlPlaneBinaries {
		if got, err := os.Readlink(launchers[name]); err != nil || got != filepath.Join(assets, name) {
			t.Errorf("%s -> %q (%v), want the binary", launchers[name], got, err)
		}
		if target, _ := launcherTarget(launchers[name], "1"); fileExists(target) {
			t.Errorf("%s exists without launchers", target)
		}
	}
}
