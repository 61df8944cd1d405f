package scale

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/studio-operator/studio-operator/test/internal/childproc"
)

// Subprocess timeouts.
const (
	storeReadyTimeout   = time.Minute
	managerReadyTimeout = 2 * time.Minute
	// procStopTimeout is how long a SIGTERM gets before SIGKILL; the store's own
	// graceful shutdown is bounded by 30 s by default, the manager's by 30 s too.
	procStopTimeout = 40 * time.Second
)

// stopProc sends SIGTERM to p's process group, then SIGKILL after procStopTimeout.
func stopProc(p *childproc.Proc) error { return p.Stop(syscall.SIGTERM, procStopTimeout) }

// storeProc is a running studio-store.
type storeProc struct {
	*childproc.Proc
	url     string
	token   string
	mailDir string
}

// startStore runs `studio-store serve` on a free port with SQLite and a mail
// directory under dir, and waits until /readyz answers 200.
func startStore(ctx context.Context, bin, dir string) (*storeProc, error) {
	port, err := childproc.FreePort()
	if err != nil {
		return nil, err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	mailDir := filepath.Join(dir, "mail")
	if err := os.MkdirAll(mailDir, 0o755); err != nil {
		return nil, err
	}
	token := rand.Text()
	args := []string{"serve",
		"--listen", "127.0.0.1:" + strconv.Itoa(port),
		"--db", "sqlite://" + filepath.Join(dir, "studio.db"), // absolute: sqlite:///abs
		"--public-url", url,
		"--mail-dir", mailDir,
	}
	p, err := childproc.Start(childproc.Spec{
		Name: "studio-store", Bin: bin, Args: args, Env: []string{"STUDIO_STORE_ADMIN_TOKEN=" + token},
		LogPath: filepath.Join(dir, "store.log"), Secrets: []string{token},
	})
	if err != nil {
		return nil, err
	}
	s := &storeProc{Proc: p, url: url, token: token, mailDir: mailDir}
	if err := childproc.WaitHTTP200(ctx, p, url+"/readyz", storeReadyTimeout); err != nil {
		return nil, errors.Join(err, stopProc(p))
	}
	return s, nil
}

// managerProc is a running manager.
type managerProc struct {
	*childproc.Proc
	metricsURL string
}

// managerControllers is how many controllers the manager starts; it is up once each
// has logged "Starting workers" (its caches are synced then).
const managerControllers = 4

// ShippedMemoryLimit is the manager container's memory limit in the shipped
// Deployment (config/manager and the Helm chart's default values). A manager in a pod
// reads it from its cgroup and gives 90% of it to Go as a soft limit; the benchmark
// runs the manager as a plain process, so it passes the same limit as --memory-limit.
const ShippedMemoryLimit = "256Mi"

// startManager runs the manager against the control plane in kubeconfig and the
// store, with the shipped defaults except what the benchmark must set, plus extra.
// It returns once all controllers have started their workers, so that timing does
// not include the manager's start-up.
func startManager(ctx context.Context, bin, dir, kubeconfig string, st *storeProc, resync time.Duration, extra []string) (*managerProc, error) {
	port, err := childproc.FreePort()
	if err != nil {
		return nil, err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{
		"--store-url", st.url,
		"--kubeconfig", kubeconfig,
		"--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", "0",
		"--resync-period", resync.String(),
		"--memory-limit", ShippedMemoryLimit,
	}, extra...)
	p, err := childproc.Start(childproc.Spec{
		Name: "manager", Bin: bin, Args: args, Env: []string{"STUDIO_STORE_TOKEN=" + st.token},
		LogPath: filepath.Join(dir, "manager.log"), Secrets: []string{st.token},
	})
	if err != nil {
		return nil, err
	}
	m := &managerProc{Proc: p, metricsURL: "http://" + metricsAddr + "/metrics"}
	if err := childproc.WaitLogLines(ctx, p, "Starting workers", managerControllers, managerReadyTimeout); err != nil {
		return nil, errors.Join(err, stopProc(p))
	}
	return m, nil
}

// procMemory reads the peak (VmHWM) and current (VmRSS) resident set of pid, in MiB.
func procMemory(pid int) (peak, now float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseProcStatus(string(b))
}

// parseProcStatus extracts VmHWM and VmRSS (kB) from /proc/<pid>/status as MiB.
func parseProcStatus(s string) (peak, now float64, err error) {
	var gotPeak, gotNow bool
	for _, line := range strings.Split(s, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		kb, perr := strconv.ParseFloat(fields[0], 64)
		if perr != nil {
			continue
		}
		switch key {
		case "VmHWM":
			peak, gotPeak = kb/1024, true
		case "VmRSS":
			now, gotNow = kb/1024, true
		}
	}
	if !gotPeak || !gotNow {
		return 0, 0, errors.New("VmHWM or VmRSS missing from /proc status")
	}
	return peak, now, nil
}
