package main

import (
	"bytes"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// ManifestName is the rendered manifest's file name: krew (and krew-index's
// validate-krew-manifest) want a manifest named after the plugin it describes.
const ManifestName = "studio.yaml"

// ManifestData is what the manifest template is rendered with.
type ManifestData struct {
	Version   string // a semantic version with a leading v, as krew requires
	URLBase   string // the archives are downloaded from URLBase/Version/Archive
	Platforms []ManifestPlatform
}

// ManifestPlatform is one archive as the template sees it.
type ManifestPlatform struct {
	OS, Arch string
	Archive  string   // file name
	SHA256   string   // hex
	Bin      string   // the executable in the archive
	Files    []string // every file of the archive, copied to the plugin's directory
}

// KrewPlugin is the part of krew's Plugin type (sigs.k8s.io/krew/pkg/index) that the
// template writes. The tool reads its own output back into it, strictly, to check that
// the template still says what the data says; krew itself is not a dependency of this
// module (see hack/dist/krew/go.mod).
type KrewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string         `json:"version"`
		Homepage         string         `json:"homepage"`
		ShortDescription string         `json:"shortDescription"`
		Description      string         `json:"description"`
		Caveats          string         `json:"caveats,omitempty"`
		Platforms        []KrewPlatform `json:"platforms"`
	} `json:"spec"`
}

// KrewPlatform is one entry of a krew manifest's spec.platforms.
type KrewPlatform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

// semverPattern is a semantic version (semver.org) with krew's leading v. It is
// stricter than krew's parser, and its characters are safe in file names, URL paths
// and plain YAML.
var semverPattern = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// CheckVersion fails unless v is a version krew accepts.
func CheckVersion(v string) error {
	if !semverPattern.MatchString(v) {
		return fmt.Errorf("version %q: krew wants a semantic version with a leading v, like v1.2.3 or v1.2.3-rc.1", v)
	}
	return nil
}

// abbreviatedCommit is what `git describe --always` prints when no tag is reachable.
var abbreviatedCommit = regexp.MustCompile(`^[0-9a-f]{4,40}$`)

// VersionFromDescribe turns the output of `git describe --tags --always` into the
// version of the assets: a release tag (v1.2.3) or a commit after one
// (v1.2.3-4-gabcdef0, a pre-release of v1.2.3 in semver terms, which is close enough
// for a build between releases) as it is, and a bare commit, in a history without
// tags, as v0.0.0-g<commit>, a pre-release that sorts before every release.
func VersionFromDescribe(described string) (string, error) {
	v := described
	if abbreviatedCommit.MatchString(v) {
		v = "v0.0.0-g" + v
	}
	if err := CheckVersion(v); err != nil {
		return "", fmt.Errorf("git describe gives %q, which is not a version krew accepts: pass -version (make dist VERSION=v1.2.3)", described)
	}
	return v, nil
}

// NormalizeURLBase checks that base is an absolute http(s) URL the archives' names can
// be appended to, and drops a trailing slash.
func NormalizeURLBase(base string) (string, error) {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return "", fmt.Errorf("-url-base %q: %w", base, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return "", fmt.Errorf("-url-base %q: want an http or https URL", base)
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(base, " \t\r\n\"'#?"):
		return "", fmt.Errorf("-url-base %q: no query, fragment, spaces or quotes", base)
	}
	return strings.TrimRight(base, "/"), nil
}

// URI is where p's archive is downloaded from.
func (d ManifestData) URI(p ManifestPlatform) string {
	return d.URLBase + "/" + d.Version + "/" + p.Archive
}

// RenderManifest renders the manifest template tmpl with d and checks the result by
// reading it back: every platform of d, and only those, with its download URI, sha256,
// executable and files. It does not replace krew's validation (the tests run it); it
// catches a template edit that breaks the YAML or drops a field.
func RenderManifest(tmpl string, d ManifestData) ([]byte, error) {
	t, err := template.New("manifest").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, d); err != nil {
		return nil, err
	}
	var got KrewPlugin
	if err := yaml.UnmarshalStrict(out.Bytes(), &got); err != nil {
		return nil, fmt.Errorf("the rendered manifest does not read back: %w", err)
	}
	if err := checkRendered(got, d); err != nil {
		return nil, fmt.Errorf("the rendered manifest: %w", err)
	}
	return out.Bytes(), nil
}

func checkRendered(got KrewPlugin, d ManifestData) error {
	if got.Spec.Version != d.Version {
		return fmt.Errorf("version %q, want %q", got.Spec.Version, d.Version)
	}
	if len(got.Spec.Platforms) != len(d.Platforms) {
		return fmt.Errorf("%d platforms, want %d", len(got.Spec.Platforms), len(d.Platforms))
	}
	for i, want := range d.Platforms {
		p := got.Spec.Platforms[i]
		labels := map[string]string{"os": want.OS, "arch": want.Arch}
		var froms []string
		for _, f := range p.Files {
			if f.To != "." {
				return fmt.Errorf("platform %s/%s: file %s goes to %q, want .", want.OS, want.Arch, f.From, f.To)
			}
			froms = append(froms, f.From)
		}
		switch {
		case !maps.Equal(p.Selector.MatchLabels, labels):
			return fmt.Errorf("platform %d selects %v, want %v", i, p.Selector.MatchLabels, labels)
		case p.URI != d.URI(want):
			return fmt.Errorf("platform %s/%s: uri %q, want %q", want.OS, want.Arch, p.URI, d.URI(want))
		case p.SHA256 != want.SHA256:
			return fmt.Errorf("platform %s/%s: sha256 %q, want %q", want.OS, want.Arch, p.SHA256, want.SHA256)
		case p.Bin != want.Bin:
			return fmt.Errorf("platform %s/%s: bin %q, want %q", want.OS, want.Arch, p.Bin, want.Bin)
		case strings.Join(froms, ",") != strings.Join(want.Files, ","):
			return fmt.Errorf("platform %s/%s: files %v, want %v", want.OS, want.Arch, froms, want.Files)
		}
	}
	return nil
}

// Checksums renders SHA256SUMS: one "<sha256>  <name>" line per file, in name order,
// the format of sha256sum and `shasum -a 256`.
func Checksums(sums map[string]string) []byte {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return b.Bytes()
}
