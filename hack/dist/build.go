package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// PluginName is the plugin's executable name without extension: kubectl runs
// `kubectl studio` by finding kubectl-studio on PATH.
const PluginName = "kubectl-studio"

// Platform is an OS and architecture the plugin is released for, in Go's names, which
// are also those of krew's os and arch selector labels.
type Platform struct {
	OS   string
	Arch string
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Binary is the executable's name in the archive: Windows finds programs by extension.
func (p Platform) Binary() string {
	if p.OS == "windows" {
		return PluginName + ".exe"
	}
	return PluginName
}

// Archive is the name of p's archive for version: zip on Windows, which unpacks it
// without extra tools, gzipped tar elsewhere, which keeps the executable bit.
func (p Platform) Archive(version string) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return PluginName + "_" + version + "_" + p.OS + "_" + p.Arch + ext
}

// DefaultPlatforms are the platforms `make dist` builds, in name order.
var DefaultPlatforms = []Platform{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// supported says which OSes and architectures dist can build reproducibly: buildEnv
// pins the instruction set level of amd64 and arm64 only (GOAMD64, GOARM64), and krew
// installs on these three OSes.
var supported = struct{ os, arch map[string]bool }{
	os:   map[string]bool{"darwin": true, "linux": true, "windows": true},
	arch: map[string]bool{"amd64": true, "arm64": true},
}

// ParsePlatforms reads a comma-separated list of os/arch pairs. The result is in name
// order, so the manifest and SHA256SUMS do not depend on how the list was written.
func ParsePlatforms(s string) ([]Platform, error) {
	seen := map[Platform]bool{}
	var ps []Platform
	for _, f := range strings.Split(s, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(f), "/")
		p := Platform{OS: osName, Arch: arch}
		switch {
		case !ok || !supported.os[osName] || !supported.arch[arch]:
			return nil, fmt.Errorf("platform %q: want os/arch with os darwin, linux or windows and arch amd64 or arm64", f)
		case seen[p]:
			return nil, fmt.Errorf("platform %s listed twice", p)
		}
		seen[p] = true
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].String() < ps[j].String() })
	return ps, nil
}

// VersionVariable is the release version, stamped with -X (kubectl studio version).
const VersionVariable = "github.com/studio-operator/studio-operator/internal/buildinfo.Version"

// BuildFlags are the `go build` flags of the plugin, those of hack/images: -trimpath
// drops the build directory from the binary, -buildvcs=false the VCS stamp (which a
// dirty work tree would change), -s -w the symbol tables, and -X stamps version.
func BuildFlags(version string) []string {
	return []string{"-trimpath", "-buildvcs=false", "-ldflags", "-s -w -X " + VersionVariable + "=" + version}
}

// buildEnv is the environment of `go build` for p: static (no cgo), and the settings
// a developer's environment could change pinned to Go's defaults, so that another
// machine compiles the same bytes. extra comes last and wins.
func buildEnv(p Platform, extra []string) []string {
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Arch, "GOFLAGS=", "GOEXPERIMENT="}
	switch p.Arch {
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	}
	return append(append(os.Environ(), env...), extra...)
}

// GoBuild compiles pkg (relative to moduleDir) for p into the file out, stamped with
// version.
func GoBuild(ctx context.Context, moduleDir, pkg, out, version string, p Platform, extraEnv []string) error {
	args := append([]string{"build"}, BuildFlags(version)...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleDir
	cmd.Env = buildEnv(p, extraEnv)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: go %s: %w", p, strings.Join(args, " "), err)
	}
	return nil
}
