package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeAssets makes dir hold executable files named like the control-plane binaries.
func fakeAssets(t *testing.T, dir string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResolveAssetsDir(t *testing.T) {
	root := t.TempDir()
	// A repository with built assets, a studio-dev binary elsewhere with its own, and
	// a directory that belongs to no repository.
	repo := filepath.Join(root, "repo")
	if err := os.MkdirAll(filepath.Join(repo, "internal", "sandbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module "+modulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repoAssets := filepath.Join(repo, "bin", assetsSubdir())
	fakeAssets(t, repoAssets, apiServerBinary, etcdBinary)
	installed := filepath.Join(root, "opt", "bin")
	fakeAssets(t, filepath.Join(installed, assetsSubdir()), apiServerBinary, etcdBinary)
	explicit := filepath.Join(root, "explicit")
	fakeAssets(t, explicit, apiServerBinary, etcdBinary)
	onlyEtcd := filepath.Join(root, "only-etcd")
	fakeAssets(t, onlyEtcd, etcdBinary)
	emptyRepo := filepath.Join(root, "empty-repo")
	if err := os.MkdirAll(emptyRepo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(emptyRepo, "go.mod"), []byte("module "+modulePath+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(root, "elsewhere")
	if err := os.MkdirAll(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		lookup  assetsLookup
		want    string
		wantErr string
	}{
		"KUBEBUILDER_ASSETS wins": {
			lookup: assetsLookup{env: explicit, workDir: filepath.Join(repo, "internal", "sandbox")},
			want:   explicit,
		},
		"KUBEBUILDER_ASSETS missing a binary": {
			lookup:  assetsLookup{env: onlyEtcd, workDir: repo},
			want:    onlyEtcd,
			wantErr: "kube-apiserver not found in " + onlyEtcd + ": run `make envtest-assets`",
		},
		"next to the binary": {
			lookup: assetsLookup{executable: filepath.Join(installed, "studio-dev"), workDir: elsewhere},
			want:   filepath.Join(installed, assetsSubdir()),
		},
		"repository above the working directory": {
			lookup: assetsLookup{executable: filepath.Join(elsewhere, "studio-dev"), workDir: filepath.Join(repo, "internal", "sandbox")},
			want:   repoAssets,
		},
		"repository without assets names the default": {
			lookup:  assetsLookup{workDir: emptyRepo},
			want:    filepath.Join(emptyRepo, "bin", assetsSubdir()),
			wantErr: "kube-apiserver not found in " + filepath.Join(emptyRepo, "bin", assetsSubdir()) + ": run `make envtest-assets`",
		},
		"nowhere": {
			lookup:  assetsLookup{workDir: elsewhere},
			wantErr: "set KUBEBUILDER_ASSETS or run `make envtest-assets`",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := resolveAssetsDir(tc.lookup)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("dir (-want +got):\n%s", diff)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
