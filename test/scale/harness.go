package scale

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Harness logging: controller-runtime and client-go log to harness.log in the work
// directory, not to the terminal. The logger is set once per process (the
// controller-runtime logger can only be set once); the file behind it is swapped.
var (
	logOnce   sync.Once
	logMu     sync.Mutex
	logTarget io.Writer = io.Discard
)

type harnessWriter struct{}

func (harnessWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return logTarget.Write(p)
}

func useHarnessLog(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	logMu.Lock()
	logTarget = f
	logMu.Unlock()
	logOnce.Do(func() {
		l := zap.New(zap.WriteTo(harnessWriter{}))
		ctrllog.SetLogger(l)
		klog.SetLogger(l)
	})
	return func() {
		logMu.Lock()
		logTarget = io.Discard
		logMu.Unlock()
		_ = f.Close()
	}, nil
}

// Machine facts for the report.

func goVersion() string {
	return fmt.Sprintf("go version %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
