package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of the index.json entry that name the image, as `docker save` (25 and
// later) writes them: containerd takes the full name from the first, OCI tools the tag
// from the second.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// dockerManifest is one entry of a `docker save` archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// blob is one content-addressed file under blobs/.
type blob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

// WriteArchive writes img, tagged tag, as one tar that is both an OCI image layout
// (oci-layout, index.json, blobs/sha256/…) and a `docker save` archive (manifest.json
// pointing into the same blobs), the layout `docker save` itself writes since Docker 25.
// Entries are in a fixed order and stamped with mtime, so equal images give equal bytes.
func WriteArchive(w io.Writer, img v1.Image, tag name.Tag, mtime time.Time) error {
	rawManifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	manifestDigest, manifestSize, err := v1.SHA256(bytes.NewReader(rawManifest))
	if err != nil {
		return err
	}
	manifest, err := img.Manifest()
	if err != nil {
		return err
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}

	blobs := map[v1.Hash]blob{
		manifestDigest:         bytesBlob(manifestDigest, rawManifest),
		manifest.Config.Digest: bytesBlob(manifest.Config.Digest, rawConfig),
	}
	docker := dockerManifest{Config: blobPath(manifest.Config.Digest), RepoTags: []string{tag.Name()}}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		blobs[d] = blob{digest: d, size: size, open: l.Compressed}
		docker.Layers = append(docker.Layers, blobPath(d))
	}

	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: manifest.MediaType,
			Digest:    manifestDigest,
			Size:      manifestSize,
			Annotations: map[string]string{
				annotationContainerdName: tag.Name(),
				annotationRefName:        tag.TagStr(),
			},
		}},
	}
	rawIndex, err := json.Marshal(index)
	if err != nil {
		return err
	}
	rawDocker, err := json.Marshal([]dockerManifest{docker})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	header := func(name string, size int64) *tar.Header {
		h := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if size < 0 {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		return h
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(header(dir, -1)); err != nil {
			return err
		}
	}
	digests := make([]v1.Hash, 0, len(blobs))
	for d := range blobs {
		digests = append(digests, d)
	}
	sort.Slice(digests, func(i, j int) bool { return digests[i].String() < digests[j].String() })
	for _, d := range digests {
		if err := writeBlob(tw, header(blobPath(d), blobs[d].size), blobs[d]); err != nil {
			return fmt.Errorf("blob %s: %w", d, err)
		}
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"index.json", rawIndex},
		{"manifest.json", rawDocker},
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
	} {
		if err := tw.WriteHeader(header(f.name, int64(len(f.data)))); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// WriteArchiveFile writes the archive to path through a temporary file, so a failed
// build never leaves a truncated archive behind.
func WriteArchiveFile(path string, img v1.Image, tag name.Tag, mtime time.Time) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := WriteArchive(tmp, img, tag, mtime); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeBlob(tw *tar.Writer, h *tar.Header, b blob) error {
	rc, err := b.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	n, err := io.Copy(tw, rc)
	if err != nil {
		return err
	}
	if n != b.size {
		return fmt.Errorf("wrote %d bytes, want %d", n, b.size)
	}
	return nil
}

func blobPath(d v1.Hash) string { return "blobs/" + d.Algorithm + "/" + d.Hex }

func bytesBlob(d v1.Hash, data []byte) blob {
	return blob{digest: d, size: int64(len(data)), open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}
