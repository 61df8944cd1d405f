package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// defaultSource is the repository the labels point to.
const defaultSource = "https://github.com/studio-operator/studio-operator"

// options is the command line.
type options struct {
	out      string
	registry string
	tag      string
	platform string
	caBundle string
	only     string
	Provenance
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	platform, err := v1.ParsePlatform(o.platform)
	if err != nil {
		return err
	}
	if platform.OS != "linux" {
		return fmt.Errorf("-platform %s: the images are Linux images", o.platform)
	}
	specs, err := selectImages(o.only)
	if err != nil {
		return err
	}
	caBundle := PinnedCABundle()
	if o.caBundle != "" {
		if caBundle, err = ReadCABundle(o.caBundle); err != nil {
			return err
		}
	}
	if dirty, _ := git("status", "--porcelain", "--untracked-files=no"); dirty != "" {
		fmt.Fprintln(stderr, "images: warning: the work tree has uncommitted changes; the binaries are built from it, the labels name commit", o.Revision)
	}

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	binDir, err := os.MkdirTemp("", "studio-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(binDir)
	pkgs := make([]string, 0, len(specs))
	for _, s := range specs {
		pkgs = append(pkgs, s.Package)
	}
	if err := GoBuild(ctx, ".", binDir, *platform, o.Version, pkgs, nil); err != nil {
		return err
	}

	base, err := layerFrom(baseEntries(caBundle), o.Created)
	if err != nil {
		return err
	}
	for _, s := range specs {
		tag, err := name.NewTag(o.registry + "/" + s.Name + ":" + o.tag)
		if err != nil {
			return err
		}
		binary, err := os.ReadFile(filepath.Join(binDir, filepath.Base(s.Package)))
		if err != nil {
			return err
		}
		img, err := Assemble(s, binary, base, *platform, o.Provenance)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		path := filepath.Join(o.out, s.Name+".tar")
		if err := WriteArchiveFile(path, img, tag, o.Created); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s  %s@%s  %.1f MiB\n", path, tag.Name(), digest, float64(fi.Size())/(1<<20))
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var epoch string
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "bin/images", "directory of the archives")
	fs.StringVar(&o.registry, "registry", "ghcr.io/studio-operator", "registry and path the image names start with")
	fs.StringVar(&o.Version, "version", "", "version label and studio-store's version (default: git describe --tags --always)")
	fs.StringVar(&o.tag, "tag", "", "image tag (default: the version)")
	fs.StringVar(&o.Revision, "revision", "", "revision label (default: git rev-parse HEAD)")
	fs.StringVar(&o.Source, "source", defaultSource, "source label: the repository URL")
	fs.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "creation time and file times, in seconds since 1970 (default: $SOURCE_DATE_EPOCH, else the commit time)")
	fs.StringVar(&o.platform, "platform", "linux/amd64", "OS/architecture of the images")
	fs.StringVar(&o.caBundle, "ca-bundle", "", "PEM file to install as "+CABundlePath+" (default: the Mozilla roots of the x509roots/fallback module pinned in go.mod)")
	fs.StringVar(&o.only, "images", "", "comma-separated names of the images to build (default: all)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var err error
	if o.Version == "" {
		if o.Version, err = git("describe", "--tags", "--always"); err != nil {
			return options{}, fmt.Errorf("-version not given and %w", err)
		}
	}
	if o.tag == "" {
		o.tag = o.Version
	}
	if o.Revision == "" {
		if o.Revision, err = git("rev-parse", "HEAD"); err != nil {
			return options{}, fmt.Errorf("-revision not given and %w", err)
		}
	}
	if epoch == "" {
		if epoch, err = git("log", "-1", "--format=%ct"); err != nil {
			return options{}, fmt.Errorf("-source-date-epoch not given and %w", err)
		}
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || secs < 0 {
		return options{}, fmt.Errorf("-source-date-epoch %q: want seconds since 1970", epoch)
	}
	o.Created = time.Unix(secs, 0).UTC()
	if strings.ContainsAny(o.Version, " \t\n'\"") {
		return options{}, fmt.Errorf("-version %q: no spaces or quotes", o.Version)
	}
	return o, nil
}

// selectImages returns the images named in only (comma-separated), or all of them.
func selectImages(only string) ([]ImageSpec, error) {
	if only == "" {
		return Images, nil
	}
	var specs []ImageSpec
	for _, n := range strings.Split(only, ",") {
		found := false
		for _, s := range Images {
			if s.Name == n {
				specs, found = append(specs, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("-images: unknown image %q", n)
		}
	}
	return specs, nil
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
