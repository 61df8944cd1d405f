package scale

import (
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// The benchmark gives the manager the memory limit the shipped manifests give its
// container: change one, and this says to change the other.
func TestShippedMemoryLimit(t *testing.T) {
	raw, err := os.ReadFile("../../config/manager/manager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, doc := range splitYAML(raw) {
		var d appsv1.Deployment
		if err := yaml.Unmarshal(doc, &d); err != nil || d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != "manager" {
				continue
			}
			found = true
			if got := c.Resources.Limits.Memory().String(); got != ShippedMemoryLimit {
				t.Errorf("config/manager: the manager's memory limit is %s, the benchmark's %s", got, ShippedMemoryLimit)
			}
		}
	}
	if !found {
		t.Fatal("config/manager/manager.yaml has no Deployment with a manager container")
	}

	raw, err = os.ReadFile("../../charts/studio-operator/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Manager struct {
			Resources struct {
				Limits struct {
					Memory string `json:"memory"`
				} `json:"limits"`
			} `json:"resources"`
		} `json:"manager"`
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	if got := values.Manager.Resources.Limits.Memory; got != ShippedMemoryLimit {
		t.Errorf("the chart's manager.resources.limits.memory is %q, the benchmark's %s", got, ShippedMemoryLimit)
	}
}

// splitYAML splits a multi-document YAML file at its "---" lines.
func splitYAML(raw []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i+4 <= len(raw); i++ {
		if (i == 0 || raw[i-1] == '\n') && string(raw[i:i+4]) == "---\n" {
			docs = append(docs, raw[start:i])
			start = i + 4
		}
	}
	return append(docs, raw[start:])
}
