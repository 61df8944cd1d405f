//go:build linux

package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// runsLauncher says whether process pid runs with launcher as argv[0], which is how
// the sandbox's etcd and kube-apiserver run (a zombie has no command line).
func runsLauncher(pid int, launcher string) bool {
	args := commandLine(pid)
	return len(args) > 0 && string(args[0]) == launcher
}

// etcdOnDataDir returns a process started with --data-dir=dataDir, 0 if there is none.
func etcdOnDataDir(dataDir string) int {
	want := []byte("--data-dir=" + dataDir)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, arg := range commandLine(pid) {
			if bytes.Equal(arg, want) {
				return pid
			}
		}
	}
	return 0
}

// commandLine returns the arguments of process pid, nil once it is gone.
func commandLine(pid int) [][]byte {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(raw) == 0 {
		return nil
	}
	return bytes.Split(bytes.TrimSuffix(raw, []byte{0}), []byte{0})
}
