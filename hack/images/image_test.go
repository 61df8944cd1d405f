package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var (
	testPlatform   = v1.Platform{OS: "linux", Architecture: "amd64"}
	testProvenance = Provenance{
		Source:   defaultSource,
		Version:  "v1.2.3",
		Revision: "0123456789abcdef0123456789abcdef01234567",
		Created:  time.Date(2025, 12, 1, 12, 0, 0, 0, time.UTC),
	}
	fakeBinary = []byte("\x7fELF not really a program")
)

// assemble builds spec's image around fakeBinary with the pinned CA bundle.
func assemble(t *testing.T, spec ImageSpec, p Provenance) v1.Image {
	t.Helper()
	base, err := layerFrom(baseEntries(PinnedCABundle()), p.Created)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Assemble(spec, fakeBinary, base, testPlatform, p)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func spec(t *testing.T, name string) ImageSpec {
	t.Helper()
	specs, err := selectImages(name)
	if err != nil {
		t.Fatal(err)
	}
	return specs[0]
}

// file is what a test sees of one entry of the flattened filesystem.
type file struct {
	mode     int64
	uid, gid int
	dir      bool
}

// TestImageConfig checks how the images start: as the nonroot user, the binary as
// entrypoint, the labels that name the source, version and commit, and a creation
// time taken from the commit.
func TestImageConfig(t *testing.T) {
	cases := map[string]struct {
		cmd   []string
		ports map[string]struct{}
	}{
		"manager":      {},
		"studio-store": {cmd: []string{"serve"}, ports: map[string]struct{}{"8080/tcp": {}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			img := assemble(t, spec(t, name), testProvenance)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS != "linux" || cf.Architecture != "amd64" {
				t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
			}
			if !cf.Created.Equal(testProvenance.Created) {
				t.Errorf("created %s, want the commit time %s", cf.Created, testProvenance.Created)
			}
			c := cf.Config
			if c.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532", c.User)
			}
			if diff := cmp.Diff([]string{"/" + name}, c.Entrypoint); diff != "" {
				t.Errorf("entrypoint (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.cmd, c.Cmd); diff != "" {
				t.Errorf("cmd (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ports, c.ExposedPorts); diff != "" {
				t.Errorf("exposed ports (-want +got):\n%s", diff)
			}
			for key, want := range map[string]string{
				LabelSource:   defaultSource,
				LabelVersion:  "v1.2.3",
				LabelRevision: testProvenance.Revision,
				LabelCreated:  "2025-12-01T12:00:00Z",
				LabelTitle:    name,
			} {
				if got := c.Labels[key]; got != want {
					t.Errorf("label %s = %q, want %q", key, got, want)
				}
			}

			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("media types %s / %s, want OCI", m.MediaType, m.Config.MediaType)
			}
			for _, l := range m.Layers {
				if l.MediaType != types.OCILayer {
					t.Errorf("layer media type %s, want %s", l.MediaType, types.OCILayer)
				}
			}
		})
	}
}

// TestImageFilesystem lists the whole filesystem of an image: the binary, the account
// files, the CA bundle, /tmp and the nonroot home, nothing else — in particular no
// shell — all owned by root except the home, all stamped with the commit time.
func TestImageFilesystem(t *testing.T) {
	img := assemble(t, spec(t, "manager"), testProvenance)
	got := map[string]file{}
	contents := map[string][]byte{}
	walkTar(t, mutate.Extract(img), func(h *tar.Header, r io.Reader) {
		if !h.ModTime.Equal(testProvenance.Created) {
			t.Errorf("%s: mtime %s, want %s", h.Name, h.ModTime, testProvenance.Created)
		}
		got[h.Name] = file{mode: h.Mode, uid: h.Uid, gid: h.Gid, dir: h.Typeflag == tar.TypeDir}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			contents[h.Name] = b
		}
	})
	// Names as the flattened filesystem gives them (directories without the slash).
	want := map[string]file{
		"etc":               {mode: 0o755, dir: true},
		"etc/group":         {mode: 0o644},
		"etc/nsswitch.conf": {mode: 0o644},
		"etc/passwd":        {mode: 0o644},
		"etc/ssl":           {mode: 0o755, dir: true},
		"etc/ssl/certs":     {mode: 0o755, dir: true},
		CABundlePath:        {mode: 0o644},
		"home":              {mode: 0o755, dir: true},
		"home/nonroot":      {mode: 0o700, uid: 65532, gid: 65532, dir: true},
		"manager":           {mode: 0o755},
		"tmp":               {mode: 0o1777, dir: true},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(file{})); diff != "" {
		t.Errorf("filesystem (-want +got):\n%s", diff)
	}
	if !bytes.Equal(contents["manager"], fakeBinary) {
		t.Error("/manager is not the binary")
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
		if _, ok := got[shell]; ok {
			t.Errorf("the image has a shell: /%s", shell)
		}
	}
	if !strings.Contains(string(contents["etc/passwd"]), "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
		t.Errorf("/etc/passwd lacks the nonroot user:\n%s", contents["etc/passwd"])
	}
	if !strings.Contains(string(contents["etc/group"]), "nonroot:x:65532:\n") {
		t.Errorf("/etc/group lacks the nonroot group:\n%s", contents["etc/group"])
	}

	n, err := countCertificates(contents[CABundlePath])
	if err != nil {
		t.Fatalf("CA bundle: %v", err)
	}
	// The Mozilla root program has well over a hundred roots; a handful would mean a
	// broken bundle.
	if n < 100 {
		t.Errorf("CA bundle has %d certificates, want the Mozilla roots (100+)", n)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(contents[CABundlePath]) {
		t.Error("crypto/x509 cannot load the CA bundle")
	}
}

// Both images share the base layer, so a node or registry stores it once.
func TestImagesShareTheBaseLayer(t *testing.T) {
	var bases []v1.Hash
	for _, s := range Images {
		layers, err := assemble(t, s, testProvenance).Layers()
		if err != nil {
			t.Fatal(err)
		}
		d, err := layers[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, d)
	}
	if bases[0] != bases[1] {
		t.Errorf("base layers differ: %v", bases)
	}
}

func TestSelectImages(t *testing.T) {
	all, err := selectImages("")
	if err != nil || len(all) != 2 {
		t.Fatalf("selectImages(\"\") = %d images, %v; want both", len(all), err)
	}
	if _, err := selectImages("manager,nope"); err == nil {
		t.Error("an unknown image name must be refused")
	}
}
