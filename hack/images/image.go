package main

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageSpec is one image: its binary and how it starts. The layout matches the
// Dockerfile's stage of the same name.
type ImageSpec struct {
	Name        string // archive bin/images/<Name>.tar, repository <registry>/<Name>, binary /<Name>
	Package     string // the Go package of the binary
	Description string
	Cmd         []string
	Ports       []string // exposed, as "8080/tcp"
}

// Images are the images `make images` builds.
var Images = []ImageSpec{
	{
		Name:        "manager",
		Package:     "./cmd/manager",
		Description: "studio-operator: reconciles Agencies, Environments, StudioUsers and RoleBindings into the Studio user store",
	},
	{
		Name:        "studio-store",
		Package:     "./cmd/studio-store",
		Description: "The Studio user store: users, grants, invitations and audit log over HTTP",
		Cmd:         []string{"serve"},
		Ports:       []string{"8080/tcp"},
	},
}

// Provenance is what the OCI labels say about an image's origin. Created also stamps
// every file, so it must come from the commit (its time), not from the clock.
type Provenance struct {
	Source   string // URL of the repository
	Version  string
	Revision string // the commit
	Created  time.Time
}

// The OCI annotation keys used as labels
// (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
const (
	LabelSource      = "org.opencontainers.image.source"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
)

// Assemble makes spec's image for platform: the base layer, then a layer holding
// binary as /<Name>, run as the nonroot user. Nothing in it depends on when or where
// it is built.
func Assemble(spec ImageSpec, binary []byte, base v1.Layer, platform v1.Platform, p Provenance) (v1.Image, error) {
	created := v1.Time{Time: p.Created.UTC()}
	app, err := layerFrom([]entry{{name: spec.Name, mode: 0o755, data: binary}}, p.Created)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image,
		mutate.Addendum{Layer: base, History: v1.History{
			Created:   created,
			CreatedBy: "hack/images: base files (nonroot user 65532, CA certificates, /tmp)",
		}},
		mutate.Addendum{Layer: app, History: v1.History{
			Created:   created,
			CreatedBy: fmt.Sprintf("hack/images: /%s (go build %s)", spec.Name, spec.Package),
		}},
	)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)

	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Created = created
	cf.Config = v1.Config{
		User:       imageUser,
		Entrypoint: []string{"/" + spec.Name},
		Cmd:        spec.Cmd,
		Env:        imageEnv,
		WorkingDir: "/",
		Labels: map[string]string{
			LabelSource:      p.Source,
			LabelVersion:     p.Version,
			LabelRevision:    p.Revision,
			LabelCreated:     created.Format(time.RFC3339),
			LabelTitle:       spec.Name,
			LabelDescription: spec.Description,
		},
	}
	if len(spec.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, port := range spec.Ports {
			cf.Config.ExposedPorts[port] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}
