//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// parentDeathSignalSupported: Linux has prctl(PR_SET_PDEATHSIG).
const parentDeathSignalSupported = true

// execControlPlaneBinary arms SIGKILL as this process's parent-death signal, records
// its pid next to the launcher and replaces the process by target. It returns only on
// failure.
func execControlPlaneBinary(target string) error {
	// The signal is kept per thread and, across execve, only for the thread that calls
	// it: arm and exec on the same one.
	runtime.LockOSThread()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		return fmt.Errorf("arm the parent-death signal: %w", errno)
	}
	// Had the parent died before the signal was armed, nobody would ever send it.
	parent := os.Getenv(launcherParentEnv)
	if strconv.Itoa(os.Getppid()) != parent {
		return fmt.Errorf(errLauncherParentGone, parent, os.Args[0])
	}
	if err := writePIDFile(os.Args[0]+pidFileSuffix, os.Getpid()); err != nil {
		return err
	}
	// argv[0] stays the launcher's path, so the process's command line names its
	// sandbox directory (what the cleanup of leftovers checks).
	return syscall.Exec(target, os.Args, withoutVariable(os.Environ(), launcherParentEnv))
}
