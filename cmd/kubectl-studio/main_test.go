package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runMainEnv makes this test binary behave as kubectl-studio, so kubectl can run it
// as a plugin.
const runMainEnv = "KUBECTL_STUDIO_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// kubectlStudio runs `kubectl studio args...` with this binary installed on PATH as
// kubectl-studio, the way users install the plugin.
func kubectlStudio(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "kubectl-studio")); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command("kubectl", append([]string{"studio"}, args...)...)
	cmd.Env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"KUBECONFIG=" + filepath.Join(home, "no-such-kubeconfig"),
		runMainEnv + "=1",
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kubectl: %v", err)
	}
	return out.String(), errOut.String(), code
}

func TestRunsAsKubectlPlugin(t *testing.T) {
	cases := map[string]struct {
		args       []string
		wantCode   int
		wantOut    string // a line stdout must contain
		wantErrOut string // all of stderr
	}{
		"help": {
			args:    []string{"--help"},
			wantOut: "kubectl studio [command]",
		},
		"help of a command has examples": {
			args:    []string{"who-can", "--help"},
			wantOut: "kubectl studio who-can notify --environment team-support/webchat",
		},
		"audit without store settings": {
			args:       []string{"audit"},
			wantCode:   1,
			wantErrOut: "error: the Studio user store is not configured: set --store-url and --store-token-file, or STUDIO_STORE_URL and STUDIO_STORE_TOKEN\n",
		},
		"plan documents its exit codes": {
			args:    []string{"plan", "--help"},
			wantOut: "0 when there is nothing to change",
		},
		"unmanaged -o yaml without store settings": {
			args:       []string{"unmanaged", "-o", "yaml"},
			wantCode:   1,
			wantErrOut: "error: the Studio user store is not configured: set --store-url and --store-token-file, or STUDIO_STORE_URL and STUDIO_STORE_TOKEN\n",
		},
		"missing argument": {
			args:       []string{"resend"},
			wantCode:   1,
			wantErrOut: "error: accepts 1 arg(s), received 0\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := kubectlStudio(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantOut, out)
			}
			if errOut != tc.wantErrOut {
				t.Errorf("stderr %q, want %q", errOut, tc.wantErrOut)
			}
		})
	}
}
