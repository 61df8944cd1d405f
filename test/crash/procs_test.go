package crash

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/studio-operator/studio-operator/test/internal/childproc"
)

// Process timeouts.
const (
	storeReadyTimeout = time.Minute
	procKillTimeout   = 10 * time.Second
)

// storeProc is a studio-store with a fixed address, database and mail directory, so
// that a restart after a SIGKILL comes back where the killed one was.
type storeProc struct {
	dir, url, token, mailDir string
	args                     []string
	*childproc.Proc
	starts int
}

// newStoreProc prepares (does not start) a store in dir on a free port.
func newStoreProc(dir string) (*storeProc, error) {
	port, err := childproc.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &storeProc{dir: dir, url: "http://" + addr, token: rand.Text(), mailDir: filepath.Join(dir, "mail")}
	s.args = []string{"serve",
		"--listen", addr,
		"--db", "sqlite://" + filepath.Join(dir, "studio.db"),
		"--public-url", s.url,
		"--mail-dir", s.mailDir,
		"--mail-poll-interval", "1s",
		"--shutdown-timeout", "5s",
	}
	return s, os.MkdirAll(s.mailDir, 0o700)
}

// start runs the store and waits until /readyz answers 200.
func (s *storeProc) start(ctx context.Context) error {
	p, err := childproc.Start(childproc.Spec{
		Name: "studio-store", Bin: storeBin, Args: s.args, Env: []string{"STUDIO_STORE_ADMIN_TOKEN=" + s.token},
		LogPath: filepath.Join(s.dir, "store.log"), Secrets: []string{s.token},
	})
	if err != nil {
		return err
	}
	s.Proc = p
	s.starts++
	if err := childproc.WaitHTTP200(ctx, p, s.url+"/readyz", storeReadyTimeout); err != nil {
		return errors.Join(err, p.Kill())
	}
	return nil
}

// managerProc starts the real manager binary, again after each kill, with the same
// flags: it talks to the store at storeURL (the fault proxy) with the store's token.
type managerProc struct {
	dir, kubeconfig, storeURL, token string
	extra                            []string
	*childproc.Proc
	starts int
}

// start runs the manager; it does not wait for it to be ready, since a kill may come
// at any point, start-up included.
func (m *managerProc) start() error {
	args := append([]string{
		"--store-url", m.storeURL,
		"--kubeconfig", m.kubeconfig,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
	}, m.extra...)
	p, err := childproc.Start(childproc.Spec{
		Name: "manager", Bin: managerBin, Args: args, Env: []string{"STUDIO_STORE_TOKEN=" + m.token},
		LogPath: m.logPath(), Secrets: []string{m.token},
	})
	if err != nil {
		return err
	}
	m.Proc = p
	m.starts++
	return nil
}

// waitWorkers waits until the manager has logged want more "Starting workers" lines
// than before (each controller logs one once its caches are synced).
func (m *managerProc) waitWorkers(ctx context.Context, before, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for childproc.CountLines(m.logPath(), "Starting workers") < before+want {
		if err := m.ExitErr(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("manager: its controllers did not start within %s (log: %s)", timeout, m.logPath())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (m *managerProc) logPath() string { return filepath.Join(m.dir, "manager.log") }
