package health

//go:generate go test . -run TestArgoCDPatchMatchesScripts -update

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Kinds are the kinds that get an Argo CD health check, in the order the patch lists
// them (the order of their sync waves).
var Kinds = []string{"Agency", "Environment", "StudioUser", "RoleBinding"}

// ConfigMapKey is the argocd-cm key that holds kind's health check.
func ConfigMapKey(kind string) string {
	return "resource.customizations.health." + iamv1.GroupVersion.Group + "_" + kind
}

// ScriptFile is the name of kind's script in config/argocd/health/.
func ScriptFile(kind string) string { return strings.ToLower(kind) + ".lua" }

// patchHeader says where the file comes from, so nobody edits the copy.
const patchHeader = `# Argo CD health checks for studio-operator's kinds: patch the argocd-cm ConfigMap
# of your Argo CD installation with this file (see config/argocd/README.md).
#
# GENERATED from config/argocd/health/health.lua.tmpl; do not edit. To regenerate:
#   go test ./internal/health -run TestArgoCDPatchMatchesScripts -update
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

// RenderArgoCDPatch returns config/argocd/argocd-cm-patch.yaml for scripts (kind →
// Lua source); every kind in Kinds needs a script. The scripts are embedded as YAML
// literal blocks so they stay readable in the ConfigMap.
func RenderArgoCDPatch(scripts map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(patchHeader)
	for _, kind := range Kinds {
		script, ok := scripts[kind]
		if !ok {
			return nil, fmt.Errorf("no health script for %s", kind)
		}
		if script == "" || strings.HasPrefix(script, " ") || strings.Contains(script, "\t") {
			// A literal block takes its indentation from the first line and YAML
			// forbids tabs there; the scripts are written to avoid both.
			return nil, fmt.Errorf("health script for %s must be non-empty, start unindented and use no tabs", kind)
		}
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

// ScriptTemplateFile is the one source of the health scripts, in config/argocd/health/.
const ScriptTemplateFile = "health.lua.tmpl"

// scriptKind is what the template knows about a kind.
type scriptKind struct {
	Kind string
	// Suspendable kinds report Health "Suspended" for spec.suspended: true.
	Suspendable bool
}

// RenderScripts renders the health script of every kind in Kinds from the template
// text (kind → Lua source). The kinds differ only in their name and in whether they can
// be suspended, so one template says it once.
func RenderScripts(tmpl string) (map[string]string, error) {
	t, err := template.New(ScriptTemplateFile).Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(Kinds))
	for _, kind := range Kinds {
		var b strings.Builder
		if err := t.Execute(&b, scriptKind{Kind: kind, Suspendable: kind == "StudioUser"}); err != nil {
			return nil, fmt.Errorf("health script for %s: %w", kind, err)
		}
		out[kind] = b.String()
	}
	return out, nil
}
