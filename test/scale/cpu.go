package scale

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat; it is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds is the CPU time (user + system) each process of a run used so far, by
// role: kube-apiserver and etcd (children of this process), the manager and the
// store when given, and this process (the harness and, on the floor run, the floor
// controller).
func cpuSeconds(pids map[string]int) (map[string]float64, error) {
	all := map[string]int{"harness": os.Getpid()}
	for role, pid := range pids {
		all[role] = pid
	}
	children, err := childrenByName(os.Getpid(), "kube-apiserver", "etcd")
	if err != nil {
		return nil, err
	}
	for name, pid := range children {
		all[name] = pid
	}
	out := map[string]float64{}
	var errs []error
	for role, pid := range all {
		s, err := procCPU(pid)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", role, err))
			continue
		}
		out[role] = s
	}
	return out, errors.Join(errs...)
}

// childrenByName finds the direct children of parent whose command name is one of
// names, by scanning /proc.
func childrenByName(parent int, names ...string) (map[string]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone meanwhile
		}
		st, err := parseProcStat(string(b))
		if err != nil || st.ppid != parent {
			continue
		}
		for _, n := range names {
			if st.comm == n {
				out[n] = pid
			}
		}
	}
	return out, nil
}

// procCPU is the user + system CPU seconds pid used.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	st, err := parseProcStat(string(b))
	if err != nil {
		return 0, err
	}
	return float64(st.utime+st.stime) / clockTicks, nil
}

type procStat struct {
	comm         string
	ppid         int
	utime, stime int64
}

// parseProcStat reads the fields of /proc/<pid>/stat the harness needs. The command
// name is in parentheses and may itself hold spaces and parentheses, so the fields
// are counted from the last ')'.
func parseProcStat(s string) (procStat, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, errors.New("malformed /proc stat: no command name")
	}
	rest := strings.Fields(s[end+1:])
	// rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(rest) < 13 {
		return procStat{}, errors.New("malformed /proc stat: too few fields")
	}
	ppid, err1 := strconv.Atoi(rest[1])
	ut, err2 := strconv.ParseInt(rest[11], 10, 64)
	stt, err3 := strconv.ParseInt(rest[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return procStat{comm: s[open+1 : end], ppid: ppid, utime: ut, stime: stt}, nil
}
