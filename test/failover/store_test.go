package failover

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store/auth"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

// storeReadyTimeout bounds the store's start (migrations on a fresh SQLite file).
const storeReadyTimeout = 30 * time.Second

// studio is the running studio-store.
type studio struct {
	*proc
	url     string
	mailDir string
	// tokenFile holds the admin token the managers write with.
	tokenFile string
	// client reads the store with a reader token: the test never writes to it.
	client *storeclient.Client
}

// startStore runs `studio-store serve` on a free port of 127.0.0.1, with SQLite and
// a mail directory under dir and its tokens in a --tokens-file (admin for the
// managers, reader for the test), and waits for /readyz.
func startStore(ctx context.Context, t *testing.T, bin, dir string) *studio {
	t.Helper()
	admin, reader := rand.Text(), rand.Text()
	secretTokens = append(secretTokens, admin, reader)
	tokens := fmt.Sprintf("admin operator %s\nreader failover-test %s\n", auth.HashToken(admin), auth.HashToken(reader))
	s := &studio{mailDir: filepath.Join(dir, "mail"), tokenFile: filepath.Join(dir, "operator-token")}
	tokensFile := filepath.Join(dir, "tokens")
	for path, content := range map[string]string{tokensFile: tokens, s.tokenFile: admin + "\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(s.mailDir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s.url = "http://" + addr
	s.proc = startProc(t, "studio-store", bin, []string{"serve",
		"--listen", addr,
		"--db", "sqlite://" + filepath.Join(dir, "studio.db"), // an absolute path: sqlite:///...
		"--public-url", s.url,
		"--tokens-file", tokensFile,
		"--mail-dir", s.mailDir,
		"--mail-poll-interval", "1s",
		"--shutdown-timeout", "5s",
	}, nil, filepath.Join(dir, "store.log"))
	var err error
	if s.client, err = storeclient.New(s.url, storeclient.Options{Token: reader, UserAgent: "failover-test", Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	err = poll(ctx, "studio-store /readyz", 100*time.Millisecond, storeReadyTimeout, s.ExitErr, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("/readyz: %s", resp.Status)
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process could take
// it before the child binds it; a clash fails the start, it does not go unnoticed.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
