package argocdhealth

import (
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const patchFile = "../../config/argocd/argocd-cm-patch.yaml"

var update = flag.Bool("update", false, "rewrite config/argocd/argocd-cm-patch.yaml from config/argocd/health/studio-operator.lua")

// TestArgoCDPatchMatchesScripts keeps the ConfigMap patch from drifting from the
// script: the patch must be exactly what RenderArgoCDPatch makes of it, and what Argo
// CD reads from it (the parsed data keys) the script, once per kind.
func TestArgoCDPatchMatchesScripts(t *testing.T) {
	script := readScript(t)
	rendered, err := RenderArgoCDPatch(script)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(patchFile, rendered, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	onDisk, err := os.ReadFile(patchFile)
	if err != nil {
		t.Fatalf("%v (run: go test ./internal/argocdhealth -run TestArgoCDPatchMatchesScripts -update)", err)
	}
	if diff := cmp.Diff(string(rendered), string(onDisk)); diff != "" {
		t.Errorf("%s is out of date; run: go test ./internal/argocdhealth -run TestArgoCDPatchMatchesScripts -update\n(-want +got):\n%s", patchFile, diff)
	}

	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(onDisk, &cm); err != nil {
		t.Fatalf("%s is not a ConfigMap: %v", patchFile, err)
	}
	if cm.Name != "argocd-cm" || cm.Namespace != "argocd" {
		t.Errorf("patch targets %s/%s, want argocd/argocd-cm", cm.Namespace, cm.Name)
	}
	want := make(map[string]string, len(Kinds))
	for _, kind := range Kinds {
		want[ConfigMapKey(kind)] = script
	}
	if diff := cmp.Diff(want, cm.Data); diff != "" {
		t.Errorf("embedded scripts differ from config/argocd/health/%s (-file +patch):\n%s", ScriptFile, diff)
	}
}

func TestConfigMapKey(t *testing.T) {
	// Argo CD looks custom health checks up as resource.customizations.health.<group>_<kind>.
	if got, want := ConfigMapKey("StudioUser"), "resource.customizations.health.iam.studio-operator.io_StudioUser"; got != want {
		t.Errorf("ConfigMapKey = %q, want %q", got, want)
	}
}

func TestRenderArgoCDPatchRefusesUnembeddableScripts(t *testing.T) {
	for name, script := range map[string]string{
		"empty script":    "",
		"indented start":  "  return {status = \"Healthy\"}\n",
		"tab indentation": "if x then\n\treturn 1\nend\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := RenderArgoCDPatch(script); err == nil {
				t.Error("want an error")
			}
		})
	}
}
