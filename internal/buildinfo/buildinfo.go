// Package buildinfo holds the release version of the project's binaries, stamped at
// build time: make images and the Dockerfile for manager and studio-store, make dist
// for kubectl-studio (-ldflags "-X github.com/studio-operator/studio-operator/internal/buildinfo.Version=v1.2.3").
package buildinfo

import "runtime/debug"

// Version is the stamped release version; empty in a plain go build.
var Version = ""

// String is the stamped version, else the module version the binary was built from
// (go install …@v1.2.3), else "(devel)".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
