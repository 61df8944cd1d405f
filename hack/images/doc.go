// Command images builds the OCI image archives of the operator (bin/images/manager.tar)
// and the user store (bin/images/studio-store.tar) without a container engine: it
// compiles the static binaries with the Go toolchain and assembles each image with
// go-containerregistry from two layers, a small base (the nonroot user 65532, CA
// certificates, /tmp) and the binary. Every input is fixed by the commit — file times
// come from the commit time (SOURCE_DATE_EPOCH), the CA certificates from a Go module
// pinned in go.mod — so the same commit gives the same image digest.
//
// Each archive is at once an OCI image layout (oci-layout, index.json, blobs/) and a
// `docker save` archive (manifest.json), which is what `docker load`, `podman load`,
// `ctr images import` and `kind load image-archive` read. `make images` runs it; see
// docs/operations.md ("Images").
package main
