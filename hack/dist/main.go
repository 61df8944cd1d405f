package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults of the command line, for this repository.
const (
	defaultPackage  = "./cmd/kubectl-studio"
	defaultTemplate = "deploy/krew/studio.yaml.tmpl"
	// defaultURLBase is where GitHub serves a release's assets: <base>/<tag>/<file>.
	defaultURLBase = "https://github.com/studio-operator/studio-operator/releases/download"
	// licenseFile is packed into every archive when the repository has it (krew-index
	// asks for a license in the archive).
	licenseFile = "LICENSE"
	// checksumsName is the checksum file written next to the archives.
	checksumsName = "SHA256SUMS"
	// zipEpoch is 1980-01-01 in seconds since 1970, the earliest time a zip entry's
	// MS-DOS date can hold.
	zipEpoch = 315532800
)

// Config is one run of dist.
type Config struct {
	ModuleDir string     // the repository root: Package, and Template and License unless absolute, are relative to it
	Package   string     // the plugin's main package
	Template  string     // the krew manifest template
	License   string     // the file packed as LICENSE; "" for none
	Out       string     // the directory of the assets
	Version   string     // see CheckVersion
	URLBase   string     // see NormalizeURLBase
	Platforms []Platform // in name order (ParsePlatforms)
	Mtime     time.Time  // every archive entry's time
	ExtraEnv  []string   // appended to the environment of `go build`
	Log       io.Writer  // a line per asset written
}

// Asset is one archive Dist wrote.
type Asset struct {
	Platform Platform
	Path     string
	SHA256   string
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if dirty, _ := git("status", "--porcelain", "--untracked-files=no"); dirty != "" {
		fmt.Fprintln(stderr, "dist: warning: the work tree has uncommitted changes; the binaries are built from it, as version", c.Version)
	}
	c.Log = stdout
	_, err = Dist(ctx, c)
	return err
}

func parseFlags(args []string, stderr io.Writer) (Config, error) {
	c := Config{ModuleDir: "."}
	var epoch, platforms string
	flags := flag.NewFlagSet("dist", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.Out, "out", "bin/dist", "directory of the archives, "+checksumsName+" and "+ManifestName)
	flags.StringVar(&c.Version, "version", "", "version of the release, vMAJOR.MINOR.PATCH[-PRERELEASE] (default: from git describe --tags --always)")
	flags.StringVar(&c.URLBase, "url-base", defaultURLBase, "URL the release's assets are published under, as <url-base>/<version>/<archive>")
	flags.StringVar(&platforms, "platforms", platformList(DefaultPlatforms), "comma-separated os/arch pairs to build")
	flags.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "file times in the archives, in seconds since 1970 (default: $SOURCE_DATE_EPOCH, else the commit time)")
	flags.StringVar(&c.Package, "package", defaultPackage, "the plugin's main package")
	flags.StringVar(&c.Template, "manifest-template", defaultTemplate, "the krew manifest template")
	if err := flags.Parse(args); err != nil {
		return Config{}, err
	}
	if flags.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(flags.Args(), " "))
	}
	var err error
	if c.Platforms, err = ParsePlatforms(platforms); err != nil {
		return Config{}, fmt.Errorf("-platforms: %w", err)
	}
	if c.URLBase, err = NormalizeURLBase(c.URLBase); err != nil {
		return Config{}, err
	}
	if c.Version == "" {
		described, err := git("describe", "--tags", "--always")
		if err != nil {
			return Config{}, fmt.Errorf("-version not given and %w", err)
		}
		if c.Version, err = VersionFromDescribe(described); err != nil {
			return Config{}, err
		}
	}
	if err := CheckVersion(c.Version); err != nil {
		return Config{}, fmt.Errorf("-version: %w", err)
	}
	if epoch == "" {
		if epoch, err = git("log", "-1", "--format=%ct"); err != nil {
			return Config{}, fmt.Errorf("-source-date-epoch not given and %w", err)
		}
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || secs < zipEpoch {
		return Config{}, fmt.Errorf("-source-date-epoch %q: want seconds since 1970, from 1980 on (zip cannot date files earlier)", epoch)
	}
	c.Mtime = time.Unix(secs, 0).UTC()
	if _, err := os.Stat(filepath.Join(c.ModuleDir, licenseFile)); err == nil {
		c.License = licenseFile
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Config{}, err
	}
	return c, nil
}

// Dist builds the plugin for each of c's platforms, packs the archives, and writes
// SHA256SUMS and the krew manifest next to them. It first removes the assets an
// earlier run left in c.Out (of any version), so that the directory holds one
// release; other files there are kept.
func Dist(ctx context.Context, c Config) ([]Asset, error) {
	if c.Log == nil {
		c.Log = io.Discard
	}
	if len(c.Platforms) == 0 {
		return nil, errors.New("no platforms to build")
	}
	tmpl, err := os.ReadFile(c.path(c.Template))
	if err != nil {
		return nil, err
	}
	var license string
	if c.License != "" {
		if license, err = filepath.Abs(c.path(c.License)); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, err
	}
	if err := removeOldAssets(c.Out); err != nil {
		return nil, err
	}
	binDir, err := os.MkdirTemp("", "studio-dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	if binDir, err = filepath.Abs(binDir); err != nil {
		return nil, err
	}

	data := ManifestData{Version: c.Version, URLBase: c.URLBase}
	sums := map[string]string{}
	var assets []Asset
	for _, p := range c.Platforms {
		bin := filepath.Join(binDir, p.OS+"_"+p.Arch, p.Binary())
		if err := GoBuild(ctx, c.ModuleDir, c.Package, bin, c.Version, p, c.ExtraEnv); err != nil {
			return nil, err
		}
		entries := []Entry{{Name: p.Binary(), Mode: 0o755, Path: bin}}
		if license != "" {
			entries = append(entries, Entry{Name: licenseFile, Mode: 0o644, Path: license})
		}
		path := filepath.Join(c.Out, p.Archive(c.Version))
		if err := WriteArchiveFile(path, entries, c.Mtime); err != nil {
			return nil, err
		}
		sum, size, err := fileSHA256(path)
		if err != nil {
			return nil, err
		}
		sums[filepath.Base(path)] = sum
		assets = append(assets, Asset{Platform: p, Path: path, SHA256: sum})
		var files []string
		for _, e := range sorted(entries) {
			files = append(files, e.Name)
		}
		data.Platforms = append(data.Platforms, ManifestPlatform{
			OS: p.OS, Arch: p.Arch, Archive: filepath.Base(path), SHA256: sum, Bin: p.Binary(), Files: files,
		})
		fmt.Fprintf(c.Log, "%s  %s  %.1f MiB\n", path, sum, float64(size)/(1<<20))
	}

	if err := writeFile(filepath.Join(c.Out, checksumsName), Checksums(sums)); err != nil {
		return nil, err
	}
	manifest, err := RenderManifest(string(tmpl), data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Template, err)
	}
	manifestPath := filepath.Join(c.Out, ManifestName)
	if err := writeFile(manifestPath, manifest); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.Log, "%s  krew manifest of %s, downloads from %s/%s/\n", manifestPath, c.Version, c.URLBase, c.Version)
	return assets, nil
}

// path resolves a path of c's: relative ones are relative to the repository.
func (c Config) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.ModuleDir, p)
}

// removeOldAssets deletes what an earlier run wrote into dir.
func removeOldAssets(dir string) error {
	old, err := filepath.Glob(filepath.Join(dir, PluginName+"_*"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".zip") {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for _, n := range []string{checksumsName, ManifestName} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeFile writes data to path through a temporary file, like WriteArchiveFile.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
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

func platformList(ps []Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// git runs git in the current directory and returns its trimmed output.
func git(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(string(exit.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
