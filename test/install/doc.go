// Package install tests the Helm chart charts/studio-operator the way people install
// it: `helm lint` and `helm template` of every values profile through the Helm SDK,
// checks of the rendered objects against config/ and the binaries' flags, and a
// server-side dry-run of the rendered manifests against a real API server (envtest)
// with the chart's CRDs installed.
package install
