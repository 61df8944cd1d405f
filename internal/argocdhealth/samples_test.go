package argocdhealth

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

const samplesDir = "../../config/samples"

// TestSamplesPassAdmission renders config/samples with kustomize (kubectl's, as
// users run it) and really creates every object on a real apiserver with server-side
// apply, so schema, enums, formats and CEL rules all get their say. It then checks
// that GitOps tools see the fresh, not yet reconciled objects as in progress.
func TestSamplesPassAdmission(t *testing.T) {
	objs := renderSamples(t)
	c := startAPIServer(t)
	ctx := context.Background()

	for _, obj := range objs {
		// Apply writes the answer back into its argument; keep objs as rendered.
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), client.FieldOwner("samples-test"), client.ForceOwnership); err != nil {
			t.Errorf("%s %s: refused: %v", obj.GetKind(), objectKey(obj), err)
		}
	}
	if t.Failed() {
		return
	}
	// The same path refuses what admission must refuse, so the loop above proves
	// something: a Supervisor grant is rejected by the CRD's CEL rule.
	i := slices.IndexFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == "RoleBinding" })
	if i < 0 {
		t.Fatal("the samples have no RoleBinding")
	}
	bad := objs[i].DeepCopy()
	bad.SetName("negative-control")
	if err := unstructured.SetNestedStringSlice(bad.Object, []string{"Supervisor"}, "spec", "roles"); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(bad), client.FieldOwner("samples-test")); err == nil || !strings.Contains(err.Error(), "not assignable") {
		t.Errorf("a RoleBinding granting Supervisor was not refused: %v", err)
	}

	scripts := readScripts(t)
	for _, want := range objs {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(want.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(want), live); err != nil {
			t.Errorf("%s %s: %v", want.GetKind(), objectKey(want), err)
			continue
		}
		if wave := live.GetAnnotations()["argocd.argoproj.io/sync-wave"]; wave != syncWaves[live.GetKind()] {
			t.Errorf("%s %s: sync-wave %q, want %q", live.GetKind(), objectKey(live), wave, syncWaves[live.GetKind()])
		}
		script, ours := scripts[live.GetKind()]
		if !ours {
			continue
		}
		// No operator runs here: the apiserver defaulted status.observedGeneration to
		// -1, which is what makes kstatus (and so Flux) wait instead of reporting Current.
		res, err := status.Compute(live)
		if err != nil || res.Status != status.InProgressStatus {
			t.Errorf("%s %s: kstatus = %v (%v), want InProgress for an unreconciled object", live.GetKind(), objectKey(live), res, err)
		}
		h, err := EvalArgoCDHealth(script, live.Object)
		if err != nil || h.Status != ArgoCDProgressing {
			t.Errorf("%s %s: Argo CD health = %+v (%v), want Progressing", live.GetKind(), objectKey(live), h, err)
		}
	}
}

// syncWaves are the Argo CD sync waves config/argocd/README.md documents.
var syncWaves = map[string]string{
	"Namespace":   "-1",
	"Agency":      "0",
	"Environment": "1",
	"StudioUser":  "2",
	"RoleBinding": "3",
}

// TestSamplesKustomizationListsEveryFile guards against a sample file that is in the
// directory but never applied.
func TestSamplesKustomizationListsEveryFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(samplesDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name != "kustomization.yaml" && !slices.Contains(k.Resources, name) {
			t.Errorf("%s is not listed in config/samples/kustomization.yaml", name)
		}
	}
}

// renderSamples runs `kubectl kustomize config/samples` and decodes the result.
func renderSamples(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("kubectl", "kustomize", samplesDir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v: %s", samplesDir, err, strings.TrimSpace(stderr.String()))
	}
	file := filepath.Join(t.TempDir(), "samples.yaml")
	if err := os.WriteFile(file, stdout.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	objs := readObjects(t, file)
	if len(objs) == 0 {
		t.Fatal("config/samples renders no objects")
	}
	return objs
}

func objectKey(obj client.Object) string {
	return client.ObjectKeyFromObject(obj).String()
}
