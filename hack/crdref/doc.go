// Command crdref writes docs/crd-reference.md: a Markdown reference of the CustomResourceDefinitions
// in a directory, walked from their openAPIV3Schema.
//
//	go run ./hack/crdref config/crd/bases > docs/crd-reference.md   (or: make docs)
//
// For every kind it lists group, versions, scope, names, categories and printer columns, and for
// every field its path, type, whether it is required, its validation (enums, patterns, bounds,
// defaults, list semantics and CEL rules with their messages) and its description. The output
// depends only on the CRDs: files, kinds and properties are sorted, so regenerating an unchanged
// directory gives the same bytes, and a test fails when the committed file is stale.
package main
