package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The user the images run as: distroless's "nonroot", so that manifests written for
// gcr.io/distroless/static:nonroot (the Dockerfile's base) fit these images too.
const (
	nonrootUID  = 65532
	nonrootName = "nonroot"
	imageUser   = "65532:65532"
)

// CABundlePath is where Go's crypto/x509 (and most other TLS stacks) look for the
// system's CA certificates on Linux.
const CABundlePath = "etc/ssl/certs/ca-certificates.crt"

// The account files of the base layer, as in distroless: no login shell for anyone.
const (
	passwdFile = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	groupFile = "root:x:0:\n" +
		"nobody:x:65534:\n" +
		"nonroot:x:65532:\n"
	// Go's resolver reads it to order /etc/hosts before DNS.
	nsswitchFile = "hosts: files dns\n"
)

// imageEnv is the environment of both images.
var imageEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"SSL_CERT_FILE=/" + CABundlePath,
}

// entry is one file or directory of a layer.
type entry struct {
	name     string // relative to /, no leading slash; directories end in "/"
	mode     int64
	uid, gid int
	data     []byte
}

// baseEntries are the files every image gets besides its binary.
func baseEntries(caBundle []byte) []entry {
	return []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(groupFile)},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte(nsswitchFile)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwdFile)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: CABundlePath, mode: 0o644, data: caBundle},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: nonrootUID, gid: nonrootUID},
		{name: "tmp/", mode: 0o1777},
	}
}

// layerFrom builds a gzip-compressed OCI layer from entries, in name order, every
// entry stamped with mtime so the layer's digest depends on the content only.
func layerFrom(entries []entry, mtime time.Time) (v1.Layer, error) {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range sorted {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if e.name[len(e.name)-1] == '/' {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(9),
		tarball.WithCompressedCaching,
	)
}

// PinnedCABundle returns the Mozilla root certificates of the x509roots/fallback
// module (the version go.mod pins) as a PEM bundle. Roots with a constraint PEM
// cannot express (a distrust-after date) are left out: a file-based verifier would
// trust them without it.
func PinnedCABundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return b.Bytes()
}

// ReadCABundle reads a PEM bundle from path (for -ca-bundle) and checks that it holds
// certificates only.
func ReadCABundle(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n, err := countCertificates(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no certificates", path)
	}
	return raw, nil
}

// countCertificates parses every PEM block of a bundle; text between the blocks (some
// distributions comment each certificate) is ignored, as crypto/x509 does.
func countCertificates(raw []byte) (int, error) {
	n := 0
	for rest := raw; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return n, nil
		}
		if block.Type != "CERTIFICATE" {
			return n, fmt.Errorf("PEM block %q, want CERTIFICATE", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return n, err
		}
		n++
	}
}
