package sqlstore

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMeter measures the CPU time a benchmark costs: this process plus the PostgreSQL
// server it started (the server's backends do half the work of a PostgreSQL write).
// On a shared machine throughput depends on what else runs; CPU per operation much
// less so. Other PostgreSQL servers on the machine (other test binaries) are not
// counted.
type cpuMeter struct{ process, server time.Duration }

func startCPU() cpuMeter { return cpuMeter{process: processCPU(), server: postgresCPU()} }

// elapsed is the CPU time used since start, and the PostgreSQL server's part of it.
func (m cpuMeter) elapsed() (total, server time.Duration) {
	server = postgresCPU() - m.server
	return processCPU() - m.process + server, server
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

// procStat is what postgresCPU needs from /proc/<pid>/stat.
type procStat struct {
	pid, ppid int
	// own is user + system time; children adds that of exited, reaped children.
	own, children int64
}

// postgresCPU sums the CPU time of the postgres servers this process started: the
// postmasters (children of this process), their exited backends, and their running
// processes.
func postgresCPU() time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var procs []procStat
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open || s[open+1:closing] != "postgres" {
			continue
		}
		// After the command: state, ppid, ...; utime, stime, cutime and cstime are
		// fields 14 to 17 of stat (11 to 14 here).
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 15 {
			continue
		}
		var st procStat
		st.pid, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
		st.ppid, _ = strconv.Atoi(fields[1])
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		sy, _ := strconv.ParseInt(fields[12], 10, 64)
		cu, _ := strconv.ParseInt(fields[13], 10, 64)
		cs, _ := strconv.ParseInt(fields[14], 10, 64)
		st.own, st.children = u+sy, cu+cs
		procs = append(procs, st)
	}
	self := os.Getpid()
	postmasters := map[int]bool{}
	var ticks int64
	for _, p := range procs {
		if p.ppid == self {
			postmasters[p.pid] = true
			ticks += p.own + p.children
		}
	}
	for _, p := range procs {
		if postmasters[p.ppid] {
			ticks += p.own
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
