package health

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const patchFile = "../../config/argocd/argocd-cm-patch.yaml"

var update = flag.Bool("update", false, "rewrite config/argocd/health/*.lua from the template and config/argocd/argocd-cm-patch.yaml from them")

// TestArgoCDPatchMatchesScripts keeps the template, the Lua files and the ConfigMap
// patch from drifting apart: each script must be what the template renders for its
// kind, the patch exactly what RenderArgoCDPatch makes of the scripts, and what Argo CD
// reads from it (the parsed data keys) the scripts.
func TestArgoCDPatchMatchesScripts(t *testing.T) {
	tmpl, err := os.ReadFile(filepath.Join(scriptsDir, ScriptTemplateFile))
	if err != nil {
		t.Fatal(err)
	}
	generated, err := RenderScripts(string(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		for kind, script := range generated {
			if err := os.WriteFile(filepath.Join(scriptsDir, ScriptFile(kind)), []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	scripts := readScripts(t)
	if diff := cmp.Diff(generated, scripts); diff != "" {
		t.Errorf("config/argocd/health/*.lua differ from %s; run: go test ./internal/health -run TestArgoCDPatchMatchesScripts -update\n(-template +files):\n%s", ScriptTemplateFile, diff)
	}
	rendered, err := RenderArgoCDPatch(scripts)
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
		t.Fatalf("%v (run: go test ./internal/health -run TestArgoCDPatchMatchesScripts -update)", err)
	}
	if diff := cmp.Diff(string(rendered), string(onDisk)); diff != "" {
		t.Errorf("%s is out of date; run: go test ./internal/health -run TestArgoCDPatchMatchesScripts -update\n(-want +got):\n%s", patchFile, diff)
	}

	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(onDisk, &cm); err != nil {
		t.Fatalf("%s is not a ConfigMap: %v", patchFile, err)
	}
	if cm.Name != "argocd-cm" || cm.Namespace != "argocd" {
		t.Errorf("patch targets %s/%s, want argocd/argocd-cm", cm.Namespace, cm.Name)
	}
	want := make(map[string]string, len(scripts))
	for kind, s := range scripts {
		want[ConfigMapKey(kind)] = s
	}
	if diff := cmp.Diff(want, cm.Data); diff != "" {
		t.Errorf("embedded scripts differ from config/argocd/health (-files +patch):\n%s", diff)
	}
}

func TestConfigMapKey(t *testing.T) {
	// Argo CD looks custom health checks up as resource.customizations.health.<group>_<kind>.
	if got, want := ConfigMapKey("StudioUser"), "resource.customizations.health.iam.studio-operator.io_StudioUser"; got != want {
		t.Errorf("ConfigMapKey = %q, want %q", got, want)
	}
}

func TestRenderArgoCDPatchRefusesUnembeddableScripts(t *testing.T) {
	ok := "return {status = \"Healthy\"}\n"
	cases := map[string]map[string]string{
		"missing kind":    {"Agency": ok, "Environment": ok, "StudioUser": ok},
		"empty script":    {"Agency": "", "Environment": ok, "StudioUser": ok, "RoleBinding": ok},
		"indented start":  {"Agency": "  " + ok, "Environment": ok, "StudioUser": ok, "RoleBinding": ok},
		"tab indentation": {"Agency": "if x then\n\treturn 1\nend\n", "Environment": ok, "StudioUser": ok, "RoleBinding": ok},
	}
	for name, scripts := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := RenderArgoCDPatch(scripts); err == nil {
				t.Error("want an error")
			}
		})
	}
}
