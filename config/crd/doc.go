// Package crd embeds the CustomResourceDefinitions that `make manifests` writes to
// config/crd/bases, so binaries that install them (studio-dev, tests) work from any
// directory while the generated YAML stays the single source.
package crd
