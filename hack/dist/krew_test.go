package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// krewModuleDir is the module that pins krew's commands, seen from this package.
const krewModuleDir = "krew"

// krewBin holds krew and validate-krew-manifest. TestMain starts building them while
// the tests build their own binaries: most of either build is compiling one package
// after another, which leaves a core idle.
var krewBin struct {
	dir  string
	done chan struct{}
	err  error
}

func TestMain(m *testing.M) {
	krewBin.done = make(chan struct{})
	go func() {
		defer close(krewBin.done)
		krewBin.dir, krewBin.err = buildKrew()
	}()
	code := m.Run()
	<-krewBin.done
	if krewBin.dir != "" {
		os.RemoveAll(krewBin.dir)
	}
	os.Exit(code)
}

// buildKrew builds krew's commands, at the versions hack/dist/krew/go.mod pins, into a
// new directory.
func buildKrew() (string, error) {
	dir, err := os.MkdirTemp("", "studio-dist-krew-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"sigs.k8s.io/krew/cmd/krew", "sigs.k8s.io/krew/cmd/validate-krew-manifest")
	cmd.Dir = krewModuleDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, fmt.Errorf("building krew in %s: %v\n%s", krewModuleDir, err, out)
	}
	return dir, nil
}

// krewTool returns the path of krew's command name ("krew" or
// "validate-krew-manifest").
func krewTool(t *testing.T, name string) string {
	t.Helper()
	<-krewBin.done
	if krewBin.err != nil {
		t.Fatal(krewBin.err)
	}
	return filepath.Join(krewBin.dir, name)
}

// validateManifest runs validate-krew-manifest, the check krew-index runs on every
// plugin manifest: krew's own structural validation (apiVersion, kind, the name
// matching the file name, a one-line short description, a semantic version, for each
// platform a selector on os and arch only, a uri, a well-formed sha256, bin and files),
// then that every platform selects one of krew's OS/architecture pairs and that no pair
// is selected twice. -skip-install leaves out its installation step, which goes through
// `kubectl krew` and insists on a LICENSE file; installKrew does that part.
func validateManifest(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command(krewTool(t, "validate-krew-manifest"), "-manifest", path, "-skip-install")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("validate-krew-manifest %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// installKrew installs the plugin from manifest with `krew install --manifest` as p
// would (KREW_OS, KREW_ARCH), into a new krew root, and returns that root. krew
// downloads the platform's uri, checks its sha256, unpacks it, copies files and links
// bin into root/bin.
func installKrew(t *testing.T, manifest string, p Platform) (root string, err error) {
	t.Helper()
	home := t.TempDir()
	root = filepath.Join(home, "krew")
	cmd := exec.Command(krewTool(t, "krew"), "install", "--manifest="+manifest)
	cmd.Env = []string{
		"HOME=" + home,
		"KREW_ROOT=" + root,
		"KREW_OS=" + p.OS,
		"KREW_ARCH=" + p.Arch,
		"KREW_NO_UPGRADE_CHECK=1",
		"TMPDIR=" + t.TempDir(),
		"PATH=" + os.Getenv("PATH"),
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return root, fmt.Errorf("krew install as %s: %v\n%s", p, err, out.String())
	}
	return root, nil
}
