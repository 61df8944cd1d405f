package sandbox

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Mistakes are reported before anything slow starts, with a message that says what to
// do, and a failed start leaves no ready file and no lock behind.
func TestStartRefusesEarly(t *testing.T) {
	fakeDir := t.TempDir()
	fakeAssets(t, fakeDir, apiServerBinary, etcdBinary)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	aFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lockedDir := t.TempDir()
	release, err := lockDir(filepath.Join(lockedDir, lockFile), lockedDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)

	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	cases := map[string]struct {
		setup   func(t *testing.T, dir string)
		cfg     func(dir string) Config
		wantErr string
	}{
		"control-plane binaries missing": {
			cfg:     func(dir string) Config { return Config{Dir: dir, AssetsDir: filepath.Join(dir, "nothing")} },
			wantErr: "kube-apiserver not found in ",
		},
		"store port in use": {
			cfg: func(dir string) Config {
				return Config{Dir: dir, AssetsDir: fakeDir, StoreListen: busy.Addr().String()}
			},
			wantErr: "store listen address " + busy.Addr().String() + " is already in use",
		},
		"kept store port taken": {
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, StorePortFile), []byte(busyPort+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			cfg:     func(dir string) Config { return Config{Dir: dir, AssetsDir: fakeDir} },
			wantErr: "the store's port " + busyPort + ", kept for this directory in ",
		},
		"bad store address": {
			cfg: func(dir string) Config {
				return Config{Dir: dir, AssetsDir: fakeDir, StoreListen: "127.0.0.1:notaport"}
			},
			wantErr: "store listen address 127.0.0.1:notaport",
		},
		"directory not writable": {
			cfg:     func(string) Config { return Config{Dir: filepath.Join(aFile, "sandbox"), AssetsDir: fakeDir} },
			wantErr: "is not writable",
		},
		"directory used by another sandbox": {
			cfg:     func(string) Config { return Config{Dir: lockedDir, AssetsDir: fakeDir} },
			wantErr: "another studio-dev is running with --dir " + lockedDir,
		},
		"no directory": {
			cfg:     func(string) Config { return Config{} },
			wantErr: errNoDir,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// A ready file from a killed sandbox must not survive a failed start.
			if err := os.WriteFile(filepath.Join(dir, ReadyFile), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			cfg := tc.cfg(dir)
			start := time.Now()
			s, err := Start(context.Background(), cfg)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("refused after %s; mistakes must be reported at once", took)
			}
			if cfg.Dir != dir {
				return
			}
			if _, err := os.Stat(filepath.Join(dir, ReadyFile)); !os.IsNotExist(err) {
				t.Errorf("ready file still there after a failed start (stat: %v)", err)
			}
			// The lock is released: another sandbox may take the directory.
			release, err := lockDir(filepath.Join(dir, lockFile), dir)
			if err != nil {
				t.Errorf("directory still locked after a failed start: %v", err)
			} else {
				release()
			}
		})
	}
}
