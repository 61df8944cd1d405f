// Command dist builds the release assets of the kubectl plugin kubectl-studio into
// bin/dist/: for each platform (linux, darwin and windows, each on amd64 and arm64) an
// archive kubectl-studio_<version>_<os>_<arch>.tar.gz (.zip on windows) holding the
// static binary and the repository's LICENSE when it has one; SHA256SUMS, the archives'
// checksums in the format `sha256sum -c` reads; and studio.yaml, the krew manifest of
// that version rendered from deploy/krew/studio.yaml.tmpl, whose platforms download
// the archives from <url-base>/<version>/ and check them by their sha256.
//
// The assets depend on the commit only, so that anyone can rebuild a release and
// compare the checksums: the binaries are compiled with the settings of hack/images
// (no cgo, -trimpath, no VCS stamp, GOFLAGS and GOAMD64/GOARM64 reset to Go's
// defaults), and the archives list their entries in name order, owned by root (0:0)
// and stamped with the commit time (SOURCE_DATE_EPOCH). `make dist` runs it; see
// docs/operations.md ("Installing kubectl studio").
package main
