// Package memlimit sets the manager's soft memory limit (Go's GOMEMLIMIT) from the
// memory limit of its container, so that the garbage collector works harder as the
// heap nears the limit instead of letting it grow to twice the live data and the
// container be killed for it.
package memlimit

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Fraction of the container's limit given to Go's soft limit: the rest is for what
// the kernel counts beside the Go heap (goroutine stacks, the runtime's own memory,
// the binary's pages).
const Fraction = 0.9

// Source says where the soft limit came from.
type Source string

const (
	// SourceEnv: GOMEMLIMIT was set; the Go runtime applied it and it is kept.
	SourceEnv Source = "GOMEMLIMIT"
	// SourceFlag: the --memory-limit flag.
	SourceFlag Source = "--memory-limit"
	// SourceCgroup: the memory limit of the process's cgroup (its container).
	SourceCgroup Source = "cgroup"
	// SourceNone: no limit is known; Go's default (none) stays.
	SourceNone Source = "none"
)

// Decide returns the soft limit to set, in bytes (0: leave Go's as it is), and where
// it came from: GOMEMLIMIT wins, then the flag's limit, then the cgroup's; a limit
// becomes Fraction of itself.
func Decide(env string, flagLimit, cgroupLimit int64) (int64, Source) {
	switch {
	case env != "":
		return 0, SourceEnv
	case flagLimit > 0:
		return int64(float64(flagLimit) * Fraction), SourceFlag
	case cgroupLimit > 0:
		return int64(float64(cgroupLimit) * Fraction), SourceCgroup
	}
	return 0, SourceNone
}

// unlimited is where cgroup v1 reports "no limit" (the largest page-aligned int64).
const unlimited = int64(1) << 62

// Cgroup returns the memory limit of the cgroup named in selfCgroup (the text of
// /proc/self/cgroup), read under root (normally /sys/fs/cgroup): cgroup v2's
// memory.max, else cgroup v1's memory.limit_in_bytes. It returns 0 when the cgroup
// sets no limit or no cgroup memory controller is found.
func Cgroup(root, selfCgroup string) (int64, error) {
	v2, v1 := "", ""
	sc := bufio.NewScanner(strings.NewReader(selfCgroup))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case hasController(parts[1], "memory"):
			v1 = parts[2]
		}
	}
	candidates := []string{}
	if v2 != "" {
		// Inside a cgroup namespace the own cgroup is mounted at the root.
		candidates = append(candidates, filepath.Join(root, v2, "memory.max"), filepath.Join(root, "memory.max"))
	}
	if v1 != "" {
		candidates = append(candidates, filepath.Join(root, "memory", v1, "memory.limit_in_bytes"), filepath.Join(root, "memory", "memory.limit_in_bytes"))
	}
	for _, path := range candidates {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		return parseLimit(strings.TrimSpace(string(b)))
	}
	return 0, nil
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

func parseLimit(s string) (int64, error) {
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n >= unlimited {
		return 0, nil
	}
	return n, nil
}
