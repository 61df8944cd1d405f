package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Paths from this package's directory, where go test runs.
const (
	crdDir       = "../../config/crd/bases"
	referenceDoc = "../../docs/crd-reference.md"
)

// TestReferenceIsUpToDate fails when the CRDs changed (make manifests) but
// docs/crd-reference.md was not regenerated.
func TestReferenceIsUpToDate(t *testing.T) {
	var fresh bytes.Buffer
	if err := run([]string{crdDir}, &fresh); err != nil {
		t.Fatalf("generating the reference: %v", err)
	}
	committed, err := os.ReadFile(referenceDoc)
	if err != nil {
		t.Fatalf("docs/crd-reference.md is missing (%v): run `make docs`", err)
	}
	if bytes.Equal(committed, fresh.Bytes()) {
		return
	}
	t.Fatalf("docs/crd-reference.md is out of date with config/crd/bases: run `make docs`\n%s",
		firstDifference(string(committed), fresh.String()))
}

// firstDifference names the first line where the committed file and a fresh generation
// differ, so the failure says what changed without printing both files.
func firstDifference(committed, fresh string) string {
	a, b := strings.Split(committed, "\n"), strings.Split(fresh, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}
		if i < len(b) {
			lb = b[i]
		}
		if la != lb {
			return "line " + strconv.Itoa(i+1) + ":\n  committed: " + la + "\n  generated: " + lb
		}
	}
	return "the files differ only in trailing bytes"
}
