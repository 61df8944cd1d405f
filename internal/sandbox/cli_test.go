package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The command line refuses mistakes with messages that say what to do, and writes its
// detailed log file even when it cannot start.
func TestUpCommandErrors(t *testing.T) {
	cases := map[string]struct {
		args    func(dir string) []string
		assets  string
		wantErr string
		wantLog bool
	}{
		"no directory": {
			args:    func(string) []string { return []string{"up"} },
			wantErr: `required flag(s) "dir" not set`,
		},
		"no control-plane binaries": {
			args:    func(dir string) []string { return []string{"up", "--dir", dir} },
			assets:  "empty",
			wantErr: "kube-apiserver not found in ",
			wantLog: true,
		},
		"unexpected argument": {
			args:    func(dir string) []string { return []string{"up", "--dir", dir, "extra"} },
			wantErr: "unknown command",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sandbox")
			if tc.assets != "" {
				assets := filepath.Join(t.TempDir(), tc.assets)
				if err := os.MkdirAll(assets, 0o755); err != nil {
					t.Fatal(err)
				}
				t.Setenv(AssetsEnv, assets)
			}
			cmd := NewCommand()
			var stderr bytes.Buffer
			cmd.SetErr(&stderr)
			cmd.SetOut(&stderr)
			cmd.SetArgs(tc.args(dir))
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if _, statErr := os.Stat(filepath.Join(dir, LogFile)); (statErr == nil) != tc.wantLog {
				t.Errorf("log file exists = %v, want %v", statErr == nil, tc.wantLog)
			}
		})
	}
}
