package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// How long a leftover process gets to exit after SIGTERM, then after SIGKILL. Short:
// it is an orphan of a killed sandbox, and the start waits for it.
const (
	leftoverTermTimeout = 5 * time.Second
	leftoverKillTimeout = 5 * time.Second
	leftoverPollEvery   = 50 * time.Millisecond
)

// Messages about what a sandbox that did not stop left behind.
const (
	errLeftoverAlive  = "%s (pid %d), left running by a studio-dev that did not stop cleanly, does not exit: stop it (kill -9 %d) and start again"
	errEtcdDataInUse  = "the cluster state in %s is in use by another process (%s), so etcd cannot open it: a studio-dev that was killed may have left its etcd running; stop that process and start again"
	msgLeftoverPID    = "pid %d"
	msgLeftoverFuser  = "find it with: fuser %s"
	msgStoppedLeft    = "stopped %s, left running by a studio-dev that did not stop cleanly"
	msgStaleReadyFile = "removed %s of studio-dev pid %d, which is no longer running (it did not stop cleanly)"
)

// clearLeftovers deals with what a sandbox killed on this directory left behind. It
// runs with the directory's lock held, so no sandbox that is still running owns them:
// its control plane (named by the pid files) is stopped, its ready file removed, and
// an etcd that is not ours but holds the cluster state is reported, because the
// etcd started next would wait for it without a word.
func (s *Sandbox) clearLeftovers() error {
	stopped, err := stopLeftovers(s.cfg.path(RunDir))
	if len(stopped) > 0 {
		s.progress(msgStoppedLeft, strings.Join(stopped, " and "))
	}
	if err != nil {
		return err
	}
	pid, err := removeReadyFile(s.cfg.path(ReadyFile))
	if err != nil {
		return fmt.Errorf(errDirNotWritable, s.cfg.Dir, err)
	}
	if pid != 0 {
		s.progress(msgStaleReadyFile, s.cfg.path(ReadyFile), pid)
	}
	return checkEtcdDataFree(s.cfg.path(EtcdDir))
}

// stopLeftovers stops the control-plane processes named by the pid files in runDir
// whose command line still starts with this directory's launcher, and removes the pid
// files. A pid that another process reuses is left alone. It returns what it stopped,
// as "etcd (pid N)".
func stopLeftovers(runDir string) ([]string, error) {
	var stopped []string
	for _, name := range controlPlaneBinaries {
		launcher := filepath.Join(runDir, name)
		pidFile := launcher + pidFileSuffix
		pid, err := readPIDFile(pidFile)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil {
			var found bool
			if found, err = stopLeftover(name, pid, launcher); found && err == nil {
				stopped = append(stopped, fmt.Sprintf("%s (pid %d)", name, pid))
			}
			if err != nil {
				return stopped, err
			}
		}
		// A pid file that names no process of ours (it exited, or its pid was
		// reused) or cannot be read is stale.
		if err := removeIfExists(pidFile); err != nil {
			return stopped, err
		}
	}
	return stopped, nil
}

// stopLeftover stops pid if it still runs launcher: SIGTERM, then SIGKILL. found says
// whether it did.
func stopLeftover(name string, pid int, launcher string) (found bool, err error) {
	// On Linux the handle pins the process (a pidfd): the signals below reach it, not
	// a process that reuses its pid after the check.
	proc, err := os.FindProcess(pid)
	if err != nil {
		return false, nil
	}
	defer proc.Release()
	if !runsLauncher(pid, launcher) {
		return false, nil
	}
	for _, step := range []struct {
		signal  syscall.Signal
		timeout time.Duration
	}{{syscall.SIGTERM, leftoverTermTimeout}, {syscall.SIGKILL, leftoverKillTimeout}} {
		if err := proc.Signal(step.signal); errors.Is(err, os.ErrProcessDone) {
			return true, nil
		}
		if waitUntil(step.timeout, func() bool { return !runsLauncher(pid, launcher) }) {
			return true, nil
		}
	}
	return true, fmt.Errorf(errLeftoverAlive, name, pid, pid)
}

// waitUntil polls done until it holds or timeout passes, and says whether it held.
func waitUntil(timeout time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(leftoverPollEvery)
	}
	return true
}

// removeReadyFile removes the ready file and returns the pid it named (0 for none).
func removeReadyFile(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	var ready readyInfo
	if err == nil {
		_ = json.Unmarshal(raw, &ready) // an unreadable one goes all the same
	}
	if err := removeIfExists(path); err != nil {
		return 0, err
	}
	return ready.PID, nil
}

// checkEtcdDataFree fails, naming the process when it can, if something holds the
// lock etcd takes on its database in dataDir.
func checkEtcdDataFree(dataDir string) error {
	db := filepath.Join(dataDir, "member", "snap", "db")
	inUse, err := fileLocked(db)
	if err != nil || !inUse {
		return err
	}
	holder := fmt.Sprintf(msgLeftoverFuser, db)
	if pid := etcdOnDataDir(dataDir); pid != 0 {
		holder = fmt.Sprintf(msgLeftoverPID, pid)
	}
	return fmt.Errorf(errEtcdDataInUse, dataDir, holder)
}
