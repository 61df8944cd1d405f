package crd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/api/v1alpha1"
)

// The embedded CRDs must cover every kind of the API, in the group the Go types
// register, so the sandbox installs exactly what the operator watches.
func TestDefinitionsCoverTheAPI(t *testing.T) {
	crds, err := Definitions()
	if err != nil {
		t.Fatalf("Definitions: %v", err)
	}
	got := map[string]string{}
	for _, c := range crds {
		if c.Spec.Group != v1alpha1.GroupVersion.Group {
			t.Errorf("%s: group %q, want %q", c.Name, c.Spec.Group, v1alpha1.GroupVersion.Group)
		}
		got[c.Spec.Names.Kind] = string(c.Spec.Scope)
	}
	want := map[string]string{
		"Agency":      "Cluster",
		"Environment": "Namespaced",
		"StudioUser":  "Cluster",
		"RoleBinding": "Namespaced",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kinds and scopes (-want +got):\n%s", diff)
	}
}
