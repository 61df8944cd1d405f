package argocdhealth

//go:generate go test . -run TestArgoCDPatchMatchesScripts -update

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Kinds are the kinds that get an Argo CD health check, in the order the patch lists
// them (the order of their sync waves).
var Kinds = []string{"Agency", "Environment", "StudioUser", "RoleBinding"}

// ConfigMapKey is the argocd-cm key that holds kind's health check.
func ConfigMapKey(kind string) string {
	return "resource.customizations.health." + iamv1.GroupVersion.Group + "_" + kind
}

// ScriptFile is the health script of every kind, in config/argocd/health/: the kinds
// differ only in their name, which the script reads from the object, and in
// StudioUser's Suspended, which it checks by kind.
const ScriptFile = "studio-operator.lua"

// patchHeader says where the file comes from, so nobody edits the copy.
const patchHeader = `# Argo CD health checks for studio-operator's kinds: patch the argocd-cm ConfigMap
# of your Argo CD installation with this file (see config/argocd/README.md).
#
# GENERATED from config/argocd/health/studio-operator.lua, once per kind; do not edit.
# To regenerate: go test ./internal/argocdhealth -run TestArgoCDPatchMatchesScripts -update
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
`

// RenderArgoCDPatch returns config/argocd/argocd-cm-patch.yaml for script: the
// health check of every kind in Kinds, embedded as a YAML literal block so that it
// stays readable in the ConfigMap.
func RenderArgoCDPatch(script string) ([]byte, error) {
	if script == "" || strings.HasPrefix(script, " ") || strings.Contains(script, "\t") {
		// A literal block takes its indentation from the first line and YAML
		// forbids tabs there; the script is written to avoid both.
		return nil, errors.New("the health script must be non-empty, start unindented and use no tabs")
	}
	var b bytes.Buffer
	b.WriteString(patchHeader)
	for _, kind := range Kinds {
		fmt.Fprintf(&b, "  %s: |\n", ConfigMapKey(kind))
		for line := range strings.Lines(strings.TrimRight(script, "\n") + "\n") {
			if line == "\n" {
				b.WriteString(line)
				continue
			}
			b.WriteString("    " + line)
		}
	}
	return b.Bytes(), nil
}
