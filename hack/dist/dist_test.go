package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

const (
	// moduleDir is the repository root, seen from this package's directory.
	moduleDir = "../.."
	// standIn is the program the tests pack instead of kubectl-studio (see its doc).
	standIn     = "./hack/dist/testdata/plugin"
	testVersion = "v1.2.3"
	testLicense = "Licensed for testing hack/dist.\n"
)

var testMtime = time.Date(2025, 12, 1, 12, 0, 0, 0, time.UTC)

// testPlatforms are the platforms TestDist builds: this machine's, so that the
// installed plugin can be run, and one that has the other archive format. `make dist`
// builds all six; the code paths differ by OS only, and each platform costs a compile
// of the runtime when the build cache is empty.
func testPlatforms(t *testing.T) []Platform {
	t.Helper()
	host := Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if !supported.os[host.OS] || !supported.arch[host.Arch] {
		host = Platform{OS: "linux", Arch: "amd64"}
	}
	other := Platform{OS: "windows", Arch: "arm64"}
	if host.OS == "windows" {
		other = Platform{OS: "linux", Arch: "arm64"}
	}
	ps, err := ParsePlatforms(host.String() + "," + other.String())
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestDist builds the release assets of a stand-in plugin twice and checks that they
// are byte-identical, that each archive holds exactly the executable for its platform
// and the LICENSE, in a fixed form, that SHA256SUMS and the manifest give each
// archive's real sha256, and that krew accepts the manifest: krew's validator passes
// it, and `krew install --manifest` installs every platform from the manifest's uri
// (served here as the release would be), checking the sha256 and linking bin.
func TestDist(t *testing.T) {
	ctx := context.Background()
	platforms := testPlatforms(t)
	license := filepath.Join(t.TempDir(), "LICENSE")
	if err := os.WriteFile(license, []byte(testLicense), 0o600); err != nil {
		t.Fatal(err)
	}

	// The release server: it serves the first build's directory under the URL the
	// manifest names, and remembers what was asked for.
	const releasePath = "/releases/download/"
	first := t.TempDir()
	var mu sync.Mutex
	var fetched []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched = append(fetched, r.URL.Path)
		mu.Unlock()
		name, ok := strings.CutPrefix(r.URL.Path, releasePath+testVersion+"/")
		if !ok || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(first, name))
	}))
	defer srv.Close()

	config := func(out string) Config {
		return Config{
			ModuleDir: moduleDir,
			Package:   standIn,
			Template:  defaultTemplate,
			License:   license,
			Out:       out,
			Version:   testVersion,
			URLBase:   srv.URL + strings.TrimSuffix(releasePath, "/"),
			Platforms: platforms,
			Mtime:     testMtime,
		}
	}

	// A run replaces an earlier run's assets, of whatever version, and keeps the rest.
	for _, name := range []string{"kubectl-studio_v1.0.0_linux_amd64.tar.gz", "kubectl-studio_v1.0.0_windows_arm64.zip", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(first, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	assets, err := Dist(ctx, config(first))
	if err != nil {
		t.Fatal(err)
	}

	var wantFiles []string
	for _, p := range platforms {
		wantFiles = append(wantFiles, p.Archive(testVersion))
	}
	wantFiles = append(wantFiles, checksumsName, ManifestName, "notes.txt")
	sort.Strings(wantFiles)
	if diff := cmp.Diff(wantFiles, listDir(t, first)); diff != "" {
		t.Fatalf("files in the output directory (-want +got):\n%s", diff)
	}

	t.Run("reproducible", func(t *testing.T) {
		// Another directory, another temporary directory for the build: the same bytes.
		second := config(t.TempDir())
		second.ExtraEnv = []string{"TMPDIR=" + t.TempDir()}
		if _, err := Dist(ctx, second); err != nil {
			t.Fatal(err)
		}
		for _, name := range wantFiles {
			if name == "notes.txt" {
				continue
			}
			a, b := readFile(t, filepath.Join(first, name)), readFile(t, filepath.Join(second.Out, name))
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs between two builds: sha256 %s and %s", name, sha256Hex(a), sha256Hex(b))
			}
		}

		// The file times come from the commit, so another commit time is other bytes.
		later := config(t.TempDir())
		later.Mtime = testMtime.Add(time.Second)
		if _, err := Dist(ctx, later); err != nil {
			t.Fatal(err)
		}
		for _, p := range platforms {
			name := p.Archive(testVersion)
			if bytes.Equal(readFile(t, filepath.Join(first, name)), readFile(t, filepath.Join(later.Out, name))) {
				t.Errorf("%s: another commit time gave the same archive", name)
			}
		}
	})

	archives := map[string][]archived{}
	t.Run("archives", func(t *testing.T) {
		for _, a := range assets {
			p := a.Platform
			entries := readArchive(t, a.Path)
			archives[filepath.Base(a.Path)] = entries
			var names []string
			for _, e := range entries {
				names = append(names, e.name)
				if !e.mtime.Equal(testMtime) || e.uid != 0 || e.gid != 0 {
					t.Errorf("%s: %s: mtime %s, owner %d:%d; want %s and 0:0", a.Path, e.name, e.mtime, e.uid, e.gid, testMtime)
				}
			}
			// Sorted names: LICENSE before kubectl-studio.
			if diff := cmp.Diff([]string{"LICENSE", p.Binary()}, names); diff != "" {
				t.Errorf("%s: entries (-want +got):\n%s", a.Path, diff)
				continue
			}
			if entries[0].mode != 0o644 || string(entries[0].data) != testLicense {
				t.Errorf("%s: LICENSE has mode %o and %q, want 644 and the repository's LICENSE", a.Path, entries[0].mode, entries[0].data)
			}
			if entries[1].mode != 0o755 {
				t.Errorf("%s: %s has mode %o, want 755", a.Path, p.Binary(), entries[1].mode)
			}
			checkExecutable(t, p, entries[1].data)
			if a.SHA256 != sha256Hex(readFile(t, a.Path)) {
				t.Errorf("%s: Dist reports sha256 %s, the file has %s", a.Path, a.SHA256, sha256Hex(readFile(t, a.Path)))
			}
		}
	})

	t.Run("SHA256SUMS", func(t *testing.T) {
		sums := readChecksums(t, filepath.Join(first, checksumsName))
		want := map[string]string{}
		for _, a := range assets {
			want[filepath.Base(a.Path)] = sha256Hex(readFile(t, a.Path))
		}
		if diff := cmp.Diff(want, sums); diff != "" {
			t.Errorf("SHA256SUMS against the archives (-want +got):\n%s", diff)
		}
		// The format sha256sum reads, where it exists (it does on Linux and in Git for
		// Windows); Dist's own lines are checked above.
		if sha256sum, err := exec.LookPath("sha256sum"); err == nil {
			cmd := exec.Command(sha256sum, "--check", "--strict", checksumsName)
			cmd.Dir = first
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("sha256sum --check: %v\n%s", err, out)
			}
		}
	})

	manifest := filepath.Join(first, ManifestName)
	t.Run("manifest", func(t *testing.T) {
		var m KrewPlugin
		if err := yaml.UnmarshalStrict(readFile(t, manifest), &m); err != nil {
			t.Fatal(err)
		}
		if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "studio" || m.Spec.Version != testVersion {
			t.Errorf("manifest is %s %s %s version %s, want krew.googlecontainertools.github.com/v1alpha2 Plugin studio version %s",
				m.APIVersion, m.Kind, m.Metadata.Name, m.Spec.Version, testVersion)
		}
		if len(m.Spec.Platforms) != len(platforms) {
			t.Fatalf("manifest has %d platforms, want %d", len(m.Spec.Platforms), len(platforms))
		}
		for i, p := range platforms {
			mp := m.Spec.Platforms[i]
			archive := p.Archive(testVersion)
			if diff := cmp.Diff(map[string]string{"os": p.OS, "arch": p.Arch}, mp.Selector.MatchLabels); diff != "" {
				t.Errorf("platform %d selector (-want +got):\n%s", i, diff)
			}
			if want := srv.URL + releasePath + testVersion + "/" + archive; mp.URI != want {
				t.Errorf("%s: uri %s, want %s", p, mp.URI, want)
			}
			if got := sha256Hex(readFile(t, filepath.Join(first, archive))); mp.SHA256 != got {
				t.Errorf("%s: sha256 %s, but %s has %s", p, mp.SHA256, archive, got)
			}
			names := entryNames(archives[archive])
			if !slices.Contains(names, mp.Bin) {
				t.Errorf("%s: bin %q is not in %s (%v)", p, mp.Bin, archive, names)
			}
			for _, f := range mp.Files {
				if !slices.Contains(names, f.From) || f.To != "." {
					t.Errorf("%s: file %s → %s: want an entry of %s (%v) copied to .", p, f.From, f.To, archive, names)
				}
			}
		}
	})

	t.Run("krew validation", func(t *testing.T) {
		validateManifest(t, manifest)
	})

	t.Run("krew install", func(t *testing.T) {
		for _, p := range platforms {
			root, err := installKrew(t, manifest, p)
			if err != nil {
				t.Error(err)
				continue
			}
			installed := filepath.Join(root, "store", "studio", testVersion)
			link := filepath.Join(root, "bin", p.Binary())
			target, err := filepath.EvalSymlinks(link)
			if err != nil {
				t.Errorf("%s: krew linked no plugin: %v", p, err)
				continue
			}
			if want, _ := filepath.EvalSymlinks(filepath.Join(installed, p.Binary())); target != want {
				t.Errorf("%s: %s points to %s, want %s", p, link, target, want)
			}
			entries := archives[p.Archive(testVersion)]
			if len(entries) == 2 {
				if !bytes.Equal(readFile(t, target), entries[1].data) {
					t.Errorf("%s: the installed binary is not the archive's", p)
				}
				if got := string(readFile(t, filepath.Join(installed, "LICENSE"))); got != testLicense {
					t.Errorf("%s: installed LICENSE %q, want %q", p, got, testLicense)
				}
			}
			if p.OS == runtime.GOOS && p.Arch == runtime.GOARCH {
				out, err := exec.Command(link).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "kubectl-studio stand-in") {
					t.Errorf("running the installed plugin: %v\n%s", err, out)
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		var want []string
		for _, p := range platforms {
			want = append(want, releasePath+testVersion+"/"+p.Archive(testVersion))
		}
		if diff := cmp.Diff(want, fetched); diff != "" {
			t.Errorf("krew downloaded (-want +got):\n%s", diff)
		}
	})
}

// archived is one entry of an archive, as a test sees it.
type archived struct {
	name     string
	mode     os.FileMode
	mtime    time.Time
	uid, gid int
	data     []byte
}

func entryNames(entries []archived) []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.name)
	}
	return names
}

// readArchive reads a .tar.gz or .zip in file order, checking that it holds regular
// files only and, for a .tar.gz, that the gzip header carries no name or time.
func readArchive(t *testing.T, path string) []archived {
	t.Helper()
	var entries []archived
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if !f.Mode().IsRegular() {
				t.Errorf("%s: %s is not a regular file (%s)", path, f.Name, f.Mode())
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %s: %v", path, f.Name, err)
			}
			entries = append(entries, archived{name: f.Name, mode: f.Mode().Perm(), mtime: f.Modified, data: data})
		}
		return entries
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("%s: gzip header names %q at %s, want neither", path, gz.Name, gz.ModTime)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: %s has type %c and owner names %q:%q, want a regular file and none", path, h.Name, h.Typeflag, h.Uname, h.Gname)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, archived{name: h.Name, mode: os.FileMode(h.Mode), mtime: h.ModTime, uid: h.Uid, gid: h.Gid, data: data})
	}
	return entries
}

// checkExecutable checks that data is a program for p, and on Linux a static one.
func checkExecutable(t *testing.T, p Platform, data []byte) {
	t.Helper()
	r := bytes.NewReader(data)
	switch p.OS {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Arch]
		if f.Machine != want {
			t.Errorf("%s: an ELF program for %s, want %s", p, f.Machine, want)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
				t.Errorf("%s: the binary is dynamically linked (%s)", p, prog.Type)
			}
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[p.Arch]
		if f.Machine != want {
			t.Errorf("%s: a PE program for machine %#x, want %#x", p, f.Machine, want)
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[p.Arch]
		if f.Cpu != want {
			t.Errorf("%s: a Mach-O program for %s, want %s", p, f.Cpu, want)
		}
	default:
		t.Fatalf("no check for %s", p)
	}
}

// readChecksums reads SHA256SUMS strictly: "<64 hex>  <name>" lines in name order.
func readChecksums(t *testing.T, path string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 64 || name == "" {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		sums[name] = sum
		names = append(names, name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("%s: names not in order: %v", path, names)
	}
	return sums
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
