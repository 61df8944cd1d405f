package main

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moduleDir is the repository root, seen from this package's directory.
const moduleDir = "../.."

// The build settings make a binary depend on its source only: compiling the same
// program into another directory with an empty build cache gives the same bytes, and
// the result is static (no dynamic loader, so it runs on an image without libc). The
// program is a small one so that the cold compile stays quick; the settings are those
// of the real images.
func TestBuildIsReproducibleAndStatic(t *testing.T) {
	const pkg = "./hack/images/testdata/hello"
	ctx := context.Background()
	first, second := t.TempDir(), t.TempDir()
	if err := GoBuild(ctx, moduleDir, first, testPlatform, "v1.2.3", []string{pkg}, nil); err != nil {
		t.Fatal(err)
	}
	if err := GoBuild(ctx, moduleDir, second, testPlatform, "v1.2.3", []string{pkg}, []string{"GOCACHE=" + t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(filepath.Join(first, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(second, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same source differ")
	}

	f, err := elf.NewFile(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%s)", p.Type)
		}
	}
	root, err := filepath.Abs(moduleDir)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(a, []byte(root)) {
		t.Errorf("the binary holds the build directory %s", root)
	}
}

// The Dockerfile builds the same images for people with Docker: the same build flags,
// user, entrypoints and labels.
func TestDockerfileMatches(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(moduleDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(raw)
	want := []string{
		"CGO_ENABLED=0",
		"-trimpath -buildvcs=false",
		"-X " + VersionVariable + "=${VERSION}",
		"USER " + imageUser,
		"gcr.io/distroless/static:nonroot",
	}
	for _, s := range Images {
		want = append(want, `ENTRYPOINT ["/`+s.Name+`"]`, "/out/"+s.Name+" /"+s.Name)
	}
	for _, label := range []string{LabelSource, LabelVersion, LabelRevision} {
		want = append(want, label+"=")
	}
	for _, w := range want {
		if !strings.Contains(dockerfile, w) {
			t.Errorf("Dockerfile lacks %q", w)
		}
	}
}
