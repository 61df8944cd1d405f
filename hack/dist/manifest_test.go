package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// committedTemplate reads the repository's manifest template.
func committedTemplate(t *testing.T) string {
	t.Helper()
	return string(readFile(t, filepath.Join(moduleDir, defaultTemplate)))
}

// manifestData is what Dist would render for platforms without a LICENSE, the
// repository as it is, with made-up checksums.
func manifestData(platforms []Platform) ManifestData {
	d := ManifestData{Version: testVersion, URLBase: defaultURLBase}
	for i, p := range platforms {
		d.Platforms = append(d.Platforms, ManifestPlatform{
			OS: p.OS, Arch: p.Arch, Archive: p.Archive(testVersion),
			SHA256: strings.Repeat(string(rune('a'+i)), 64),
			Bin:    p.Binary(), Files: []string{p.Binary()},
		})
	}
	return d
}

// The committed template, rendered for all six platforms `make dist` builds, is a
// manifest krew accepts, and downloads from the project's GitHub releases. TestDist
// renders it for two platforms with real archives.
func TestTemplateForAllPlatforms(t *testing.T) {
	rendered, err := RenderManifest(committedTemplate(t), manifestData(DefaultPlatforms))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"uri: https://github.com/studio-operator/studio-operator/releases/download/v1.2.3/kubectl-studio_v1.2.3_darwin_arm64.tar.gz\n",
		"uri: https://github.com/studio-operator/studio-operator/releases/download/v1.2.3/kubectl-studio_v1.2.3_windows_amd64.zip\n",
		"    bin: kubectl-studio.exe\n",
		"    - from: kubectl-studio\n      to: .\n",
	} {
		if !strings.Contains(string(rendered), want) {
			t.Errorf("the rendered manifest lacks %q:\n%s", want, rendered)
		}
	}
	path := filepath.Join(t.TempDir(), ManifestName)
	if err := os.WriteFile(path, rendered, 0o644); err != nil {
		t.Fatal(err)
	}
	validateManifest(t, path)
}

// RenderManifest refuses a template whose output does not say what the data says.
func TestRenderManifestChecksItsOutput(t *testing.T) {
	tmpl := committedTemplate(t)
	data := manifestData([]Platform{{OS: "linux", Arch: "amd64"}, {OS: "windows", Arch: "arm64"}})
	cases := map[string]struct {
		old, new string
		want     string // in the error
	}{
		"a field left out":        {"    sha256: {{ .SHA256 }}\n", "", "sha256"},
		"a field misspelt":        {"    bin: {{ .Bin }}", "    binary: {{ .Bin }}", `unknown field "binary"`},
		"broken YAML":             {"  platforms:\n", "  platforms: [\n", "does not read back"},
		"another URI":             {"/{{ $.Version }}/{{ .Archive }}", "/{{ .Archive }}", "uri"},
		"a platform left out":     {"{{- range .Platforms }}", "{{- range slice .Platforms 1 }}", "1 platforms, want 2"},
		"an unknown template key": {"{{ .Bin }}", "{{ .Binary }}", "Binary"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(tmpl, tc.old) {
				t.Fatalf("the template no longer has %q", tc.old)
			}
			_, err := RenderManifest(strings.Replace(tmpl, tc.old, tc.new, 1), data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}

func TestVersionFromDescribe(t *testing.T) {
	cases := map[string]string{
		"v1.2.3":              "v1.2.3",
		"v1.2.3-rc.1":         "v1.2.3-rc.1",
		"v1.2.3-4-gabcdef0":   "v1.2.3-4-gabcdef0",
		"abcdef0":             "v0.0.0-gabcdef0",
		"0123456":             "v0.0.0-g0123456", // a numeric pre-release may not start with 0; g keeps it a word
		"1.2.3":               "",                // krew wants the v
		"v1.2":                "",
		"release-2025":        "",
		"v1.2.3-4-gabcdef0 x": "",
	}
	for in, want := range cases {
		got, err := VersionFromDescribe(in)
		if want == "" {
			if err == nil {
				t.Errorf("VersionFromDescribe(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("VersionFromDescribe(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParsePlatforms(t *testing.T) {
	got, err := ParsePlatforms("windows/arm64, linux/amd64,darwin/arm64")
	if err != nil {
		t.Fatal(err)
	}
	want := []Platform{{"darwin", "arm64"}, {"linux", "amd64"}, {"windows", "arm64"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	if got, err := ParsePlatforms(platformList(DefaultPlatforms)); err != nil || !cmp.Equal(got, DefaultPlatforms) {
		t.Errorf("the default platforms read back as %v, %v", got, err)
	}
	for _, bad := range []string{"", "linux", "linux/386", "linux/arm", "freebsd/amd64", "linux/amd64,linux/amd64"} {
		if _, err := ParsePlatforms(bad); err == nil {
			t.Errorf("ParsePlatforms(%q) gave no error", bad)
		}
	}
}

func TestNormalizeURLBase(t *testing.T) {
	if got, err := NormalizeURLBase("https://example.com/studio/releases/"); err != nil || got != "https://example.com/studio/releases" {
		t.Errorf("NormalizeURLBase = %q, %v", got, err)
	}
	for _, bad := range []string{"", "example.com/releases", "file:///tmp/dist", "https://example.com/r?x=1", "https://example.com/r#x", "https://example.com/a b"} {
		if _, err := NormalizeURLBase(bad); err == nil {
			t.Errorf("NormalizeURLBase(%q) gave no error", bad)
		}
	}
}

// The command line: the defaults name this repository's plugin, template and releases.
func TestFlags(t *testing.T) {
	c, err := parseFlags([]string{"-version", "v0.3.0", "-source-date-epoch", "1764590400", "-url-base", "https://example.com/dl/"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != "./cmd/kubectl-studio" || c.Template != "deploy/krew/studio.yaml.tmpl" || c.Out != "bin/dist" ||
		c.Version != "v0.3.0" || c.URLBase != "https://example.com/dl" || !c.Mtime.Equal(testMtime) || !cmp.Equal(c.Platforms, DefaultPlatforms) {
		t.Errorf("config %+v", c)
	}
	for _, args := range [][]string{
		{"-version", "0.3.0", "-source-date-epoch", "1764590400"},
		{"-version", "v0.3.0", "-source-date-epoch", "yesterday"},
		{"-version", "v0.3.0", "-source-date-epoch", "0"},
		{"-version", "v0.3.0", "-source-date-epoch", "1764590400", "-platforms", "plan9/amd64"},
		{"-version", "v0.3.0", "-source-date-epoch", "1764590400", "extra"},
	} {
		if _, err := parseFlags(args, &strings.Builder{}); err == nil {
			t.Errorf("parseFlags(%q) gave no error", args)
		}
	}
}
