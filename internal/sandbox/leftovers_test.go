//go:build linux

package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startProcess starts `sleep` with argv0 as its argv[0] (what /proc/<pid>/cmdline
// shows) and ends it when the test ends.
func startProcess(t *testing.T, argv0 string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.Args[0] = argv0
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return cmd
}

// A start stops the control plane a killed sandbox left running, named by its pid
// files, and never a process that merely reuses a recorded pid.
func TestStopLeftovers(t *testing.T) {
	runDir := t.TempDir()
	etcd := startProcess(t, filepath.Join(runDir, etcdBinary))
	unrelated := startProcess(t, "sleep")
	writePID := func(name string, pid int) {
		t.Helper()
		if err := writePIDFile(filepath.Join(runDir, name+pidFileSuffix), pid); err != nil {
			t.Fatal(err)
		}
	}
	writePID(etcdBinary, etcd.Process.Pid)
	writePID(apiServerBinary, unrelated.Process.Pid)

	start := time.Now()
	stopped, err := stopLeftovers(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"etcd (pid " + strconv.Itoa(etcd.Process.Pid) + ")"}; strings.Join(stopped, ",") != strings.Join(want, ",") {
		t.Errorf("stopped %v, want %v", stopped, want)
	}
	if took := time.Since(start); took > leftoverTermTimeout {
		t.Errorf("took %s; a leftover that honours SIGTERM should go at once", took)
	}
	if runsLauncher(etcd.Process.Pid, filepath.Join(runDir, etcdBinary)) {
		t.Error("the leftover etcd still runs")
	}
	if err := unrelated.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process that reused a recorded pid was stopped: %v", err)
	}
	for _, name := range controlPlaneBinaries {
		if _, err := os.Stat(filepath.Join(runDir, name+pidFileSuffix)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pid file of %s left (stat: %v)", name, err)
		}
	}
	// Nothing recorded, nothing to do.
	if stopped, err := stopLeftovers(runDir); err != nil || len(stopped) != 0 {
		t.Errorf("second pass: stopped %v, %v", stopped, err)
	}
}

// An etcd that no pid file names but that holds the cluster state makes the start
// fail at once with a message, instead of the next etcd waiting for its lock.
func TestCheckEtcdDataFree(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, EtcdDir)
	if err := checkEtcdDataFree(dataDir); err != nil {
		t.Fatalf("no data yet: %v", err)
	}
	db := filepath.Join(dataDir, "member", "snap", "db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkEtcdDataFree(dataDir); err != nil {
		t.Fatalf("data nobody holds: %v", err)
	}
	release := holdFileLock(t, db)
	defer release()
	want := "the cluster state in " + dataDir + " is in use by another process"
	if err := checkEtcdDataFree(dataDir); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want %q", err, want)
	}

	assets := t.TempDir()
	fakeAssets(t, assets, apiServerBinary, etcdBinary)
	start := time.Now()
	s, err := Start(context.Background(), Config{Dir: dir, AssetsDir: assets})
	if err == nil {
		s.Stop()
		t.Fatal("Start succeeded")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Start: %v, want %q", err, want)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Start refused after %s, want at once", took)
	}
}

// holdFileLock takes the exclusive lock etcd's database takes on path.
func holdFileLock(t *testing.T, path string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return func() { f.Close() }
}

func TestRemoveReadyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ReadyFile)
	if pid, err := removeReadyFile(path); pid != 0 || err != nil {
		t.Errorf("no ready file: pid %d, %v", pid, err)
	}
	raw, err := renderReady(4242, Endpoints{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, err := removeReadyFile(path); pid != 4242 || err != nil {
		t.Errorf("stale ready file: pid %d, %v; want 4242", pid, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready file still there (stat: %v)", err)
	}
}
