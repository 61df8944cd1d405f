package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// etcd and kube-apiserver must die with the sandbox, even when it is killed with
// SIGKILL and cannot stop them. Linux offers that as the parent-death signal, but
// envtest starts them itself and offers no way into how (their SysProcAttr). So the
// sandbox hands envtest a launcher per binary: DIR/run/<binary>, a symlink to the
// running executable, which arms the signal, records its pid in DIR/run/<binary>.pid
// and execs the real binary (the symlink DIR/run/bin/<binary>, so that the process
// keeps the binary's name) in the same process, with the same arguments. A binary
// that does not call MaybeExecControlPlane, or a system other than Linux, gets
// DIR/run/<binary> pointing at the real binary: the same command lines, but no
// parent-death signal and no pid file. See docs/operations.md, "The local sandbox".

// launcherParentEnv carries the pid of the process that starts the launchers, so that
// a launcher can tell its parent died before the signal was armed.
const launcherParentEnv = "STUDIO_DEV_LAUNCHER_PARENT"

// Beside a launcher: the directory of the real binaries' symlinks, and the suffix of
// the pid files.
const (
	launcherTargetDir = "bin"
	pidFileSuffix     = ".pid"
)

// Errors of a launcher that cannot start its binary, on the launcher's stderr.
const (
	errLauncherParentGone = "studio-dev (pid %s) exited before %s started"
	errLauncherFailed     = "studio-dev launcher %s: %v\n"
)

// launcherExitCode is what a launcher exits with when it cannot exec its binary, as
// a shell does for a command it cannot run.
const launcherExitCode = 127

// controlPlaneBinaries are the binaries started through launchers, in the order they
// are stopped.
var controlPlaneBinaries = []string{apiServerBinary, etcdBinary}

// launchersEnabled is set by MaybeExecControlPlane in a process that can act as the
// launcher of its own control plane.
var launchersEnabled atomic.Bool

// MaybeExecControlPlane must be the first call in main of a binary that runs the
// sandbox (studio-dev; the tests of this package call it in TestMain). When this
// process was started as one of the sandbox's launchers, it becomes etcd or
// kube-apiserver and never returns; otherwise it returns at once and Start uses this
// executable as the launcher, so that the control plane dies with the process.
func MaybeExecControlPlane() {
	if target, ok := launcherTarget(os.Args[0], os.Getenv(launcherParentEnv)); ok {
		if err := execControlPlaneBinary(target); err != nil {
			fmt.Fprintf(os.Stderr, errLauncherFailed, os.Args[0], err)
		}
		os.Exit(launcherExitCode)
	}
	if !parentDeathSignalSupported {
		return
	}
	// Every child inherits it; only the launchers read it.
	if err := os.Setenv(launcherParentEnv, strconv.Itoa(os.Getpid())); err == nil {
		launchersEnabled.Store(true)
	}
}

// launcherTarget returns the real binary when argv0 is a launcher started by a
// sandbox: named like a control-plane binary, and with the variable the sandbox's
// process sets.
func launcherTarget(argv0, parent string) (string, bool) {
	name := filepath.Base(argv0)
	if parent == "" || !slices.Contains(controlPlaneBinaries, name) {
		return "", false
	}
	return filepath.Join(filepath.Dir(argv0), launcherTargetDir, name), true
}

// prepareLaunchers (re)creates the launchers of etcd and kube-apiserver in runDir and
// returns the path of each, to give envtest as the binary's path.
func prepareLaunchers(runDir, assetsDir string) (map[string]string, error) {
	assetsDir, err := filepath.Abs(assetsDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(runDir, launcherTargetDir), 0o755); err != nil {
		return nil, err
	}
	self := ""
	if launchersEnabled.Load() {
		if self, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("the launcher of the control plane: %w", err)
		}
	}
	paths := make(map[string]string, len(controlPlaneBinaries))
	for _, name := range controlPlaneBinaries {
		launcher, binary := filepath.Join(runDir, name), filepath.Join(assetsDir, name)
		target := filepath.Join(runDir, launcherTargetDir, name)
		if self == "" {
			err = errors.Join(replaceSymlink(binary, launcher), removeIfExists(target))
		} else {
			err = errors.Join(replaceSymlink(binary, target), replaceSymlink(self, launcher))
		}
		if err != nil {
			return nil, err
		}
		paths[name] = launcher
	}
	return paths, nil
}

func replaceSymlink(target, link string) error {
	if err := removeIfExists(link); err != nil {
		return err
	}
	return os.Symlink(target, link)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// removePIDFiles removes the pid files of a control plane that stopped.
func removePIDFiles(runDir string) error {
	var errs []error
	for _, name := range controlPlaneBinaries {
		errs = append(errs, removeIfExists(filepath.Join(runDir, name+pidFileSuffix)))
	}
	return errors.Join(errs...)
}

func writePIDFile(path string, pid int) error {
	return writeFileAtomic(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

func readPIDFile(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: not a pid: %q", path, raw)
	}
	return pid, nil
}

// withoutVariable returns env without the variable name.
func withoutVariable(env []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}
