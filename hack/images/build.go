package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// VersionVariable is stamped with the version; `studio-store version` prints it.
const VersionVariable = "github.com/studio-operator/studio-operator/internal/buildinfo.Version"

// BuildFlags are the `go build` flags of the image binaries; the Dockerfile uses the
// same. -trimpath drops the build directory from the binary and -buildvcs=false the
// VCS stamp (which a dirty work tree would change; the labels carry the commit).
func BuildFlags(version string) []string {
	return []string{"-trimpath", "-buildvcs=false", "-ldflags", "-s -w -X " + VersionVariable + "=" + version}
}

// buildEnv is the environment of `go build` for platform: static (no cgo), and the
// settings a developer's environment could change pinned to Go's defaults, so that
// another machine compiles the same bytes. extra comes last and wins.
func buildEnv(platform v1.Platform, extra []string) []string {
	env := []string{"CGO_ENABLED=0", "GOOS=" + platform.OS, "GOARCH=" + platform.Architecture, "GOFLAGS=", "GOEXPERIMENT="}
	switch platform.Architecture {
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	}
	return append(append(os.Environ(), env...), extra...)
}

// GoBuild compiles pkgs (relative to moduleDir) into outDir, one binary per package
// named after its directory.
func GoBuild(ctx context.Context, moduleDir, outDir string, platform v1.Platform, version string, pkgs []string, extraEnv []string) error {
	args := append([]string{"build"}, BuildFlags(version)...)
	args = append(args, "-o", outDir+string(os.PathSeparator))
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleDir
	cmd.Env = buildEnv(platform, extraEnv)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
