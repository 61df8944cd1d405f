package install

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	repoRoot    = "../.."
	chartDir    = repoRoot + "/charts/studio-operator"
	releaseName = "studio-operator"
	namespace   = "studio-system"
)

// kubeVersion is the version of the envtest control plane the dry-run uses.
var kubeVersion = chartutil.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}

// profile is one way of installing the chart: values files as `helm -f` takes them
// (relative to the chart), then single values as `--set` does.
type profile struct {
	name  string
	files []string
	set   map[string]any
}

// profiles are the chart's own values (the defaults, values-postgres.yaml) and every
// test profile in ci/, so that a new file there is tested without a change here.
func profiles(t *testing.T) []profile {
	t.Helper()
	ps := []profile{
		{name: "default"},
		{name: "values-postgres.yaml", files: []string{"values-postgres.yaml"}},
	}
	ci, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ci) == 0 {
		t.Fatalf("no test profiles in %s/ci", chartDir)
	}
	sort.Strings(ci)
	for _, f := range ci {
		rel := "ci/" + filepath.Base(f)
		ps = append(ps, profile{name: rel, files: []string{rel}})
	}
	return ps
}

// values merges the profile's files and settings the way helm does: later files win,
// maps merge key by key.
func (p profile) values(t *testing.T) map[string]any {
	t.Helper()
	vals := map[string]any{}
	for _, f := range p.files {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, f))
		if err != nil {
			t.Fatal(err)
		}
		mergeValues(vals, v)
	}
	for path, v := range p.set {
		m := vals
		keys := strings.Split(path, ".")
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
	return vals
}

func mergeValues(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return c
}

// rendered is what `helm template` (and the notes of `helm install`) make of a profile.
type rendered struct {
	objects []*unstructured.Unstructured
	notes   string
}

// render renders the chart client-side, as `helm template` does, against the envtest
// Kubernetes version.
func render(t *testing.T, vals map[string]any) (rendered, error) {
	t.Helper()
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.KubeVersion = &kubeVersion
	rel, err := install.Run(loadChart(t), vals)
	if err != nil {
		return rendered{}, err
	}
	objs, err := decodeObjects(rel.Manifest)
	if err != nil {
		return rendered{}, fmt.Errorf("rendered manifests: %w", err)
	}
	return rendered{objects: objs, notes: rel.Info.Notes}, nil
}

func mustRender(t *testing.T, p profile) rendered {
	t.Helper()
	r, err := render(t, p.values(t))
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	return r
}

func decodeObjects(manifest string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// find returns the rendered object of kind and name, or nil.
func (r rendered) find(kind, name string) *unstructured.Unstructured {
	for _, o := range r.objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func (r rendered) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// convert turns a rendered object into its typed form, refusing unknown fields.
func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

func (r rendered) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	u := r.find("Deployment", name)
	if u == nil {
		t.Fatalf("no Deployment %s", name)
	}
	return convert[appsv1.Deployment](t, u)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
