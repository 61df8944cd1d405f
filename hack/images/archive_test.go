package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const testTag = "ghcr.io/studio-operator/studio-store:v1.2.3"

// writeTestArchive writes spec's image to a file in a fresh directory.
func writeTestArchive(t *testing.T, img v1.Image) string {
	t.Helper()
	tag, err := name.NewTag(testTag)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "studio-store.tar")
	if err := WriteArchiveFile(path, img, tag, testProvenance.Created); err != nil {
		t.Fatal(err)
	}
	return path
}

// The archive must read back, with the same digest, through both of its faces: as a
// `docker save` archive (manifest.json, what docker load reads) and as an OCI image
// layout (index.json, what ctr import and podman load prefer).
func TestArchiveReadsAsDockerArchiveAndOCILayout(t *testing.T) {
	img := assemble(t, spec(t, "studio-store"), testProvenance)
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	wantConfig, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	path := writeTestArchive(t, img)

	t.Run("docker archive", func(t *testing.T) {
		tag, _ := name.NewTag(testTag)
		got, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			t.Fatal(err)
		}
		// A docker archive keeps the config and the layers, not the manifest: Docker
		// names an image by its config digest, which must be ours.
		if got, err := got.ConfigName(); err != nil || got != wantConfig {
			t.Errorf("config digest %s (%v), want %s", got, err, wantConfig)
		}
		if diff := cmp.Diff(layerDigests(t, img), layerDigests(t, got)); diff != "" {
			t.Errorf("layers (-want +got):\n%s", diff)
		}
		gotCfg, err := got.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		wantCfg, _ := img.RawConfigFile()
		if !bytes.Equal(gotCfg, wantCfg) {
			t.Error("config differs after reading the archive back")
		}
	})

	t.Run("OCI layout", func(t *testing.T) {
		dir := extract(t, path)
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 {
			t.Fatalf("index lists %d manifests, want 1", len(im.Manifests))
		}
		d := im.Manifests[0]
		if d.Digest != want {
			t.Errorf("index names %s, want %s", d.Digest, want)
		}
		wantAnn := map[string]string{annotationContainerdName: testTag, annotationRefName: "v1.2.3"}
		if diff := cmp.Diff(wantAnn, d.Annotations); diff != "" {
			t.Errorf("annotations (-want +got):\n%s", diff)
		}
		got, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := got.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			// Reading the whole layer verifies its digest against the blob.
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Errorf("layer: %v", err)
			}
			rc.Close()
		}
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			t.Error(err)
		}
	})

	t.Run("tar entries", func(t *testing.T) {
		walkTarFile(t, path, func(h *tar.Header, _ io.Reader) {
			if !h.ModTime.Equal(testProvenance.Created) || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s: mtime %s uid %d gid %d, want the commit time and root", h.Name, h.ModTime, h.Uid, h.Gid)
			}
		})
	})
}

// Same inputs, same bytes: building an image twice (in other directories, at other
// times) gives an identical archive; the commit time and revision do change it.
func TestArchiveIsReproducible(t *testing.T) {
	build := func(p Provenance) ([]byte, v1.Hash) {
		img := assemble(t, spec(t, "studio-store"), p)
		raw, err := os.ReadFile(writeTestArchive(t, img))
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return raw, d
	}
	first, d1 := build(testProvenance)
	second, d2 := build(testProvenance)
	if d1 != d2 || !bytes.Equal(first, second) {
		t.Fatalf("two builds of the same inputs differ: %s and %s", d1, d2)
	}

	later := testProvenance
	later.Created = later.Created.Add(1e9)
	if _, d := build(later); d == d1 {
		t.Error("another commit time gave the same digest")
	}
	other := testProvenance
	other.Revision = "fedcba9876543210fedcba9876543210fedcba98"
	if _, d := build(other); d == d1 {
		t.Error("another revision gave the same digest")
	}
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// extract unpacks a tar file into a new directory.
func extract(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	walkTarFile(t, path, func(h *tar.Header, r io.Reader) {
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			return
		}
		out, err := os.Create(target)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if _, err := io.Copy(out, r); err != nil {
			t.Fatal(err)
		}
	})
	return dir
}

func walkTarFile(t *testing.T, path string, fn func(*tar.Header, io.Reader)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	walkTar(t, f, fn)
}

// walkTar calls fn for every entry of a tar stream, with the entry's content.
func walkTar(t *testing.T, r io.Reader, fn func(*tar.Header, io.Reader)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(h, tr)
	}
}
