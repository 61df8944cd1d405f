package plugin

import (
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// WriteManifests prints m as YAML documents separated by ---, ready for kubectl
// apply -f: the StudioUsers first (each after its notes, as comments), then the
// RoleBindings that name them. Objects carry no status and no server fields.
func WriteManifests(w io.Writer, m ImportManifests) error {
	var b strings.Builder
	doc := func(comments []string, obj runtime.Object) error {
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		for _, c := range comments {
			b.WriteString("# " + c + "\n")
		}
		y, err := manifestYAML(obj)
		if err != nil {
			return err
		}
		b.Write(y)
		return nil
	}
	for i := range m.Users {
		if err := doc(m.Notes[m.Users[i].Name], &m.Users[i]); err != nil {
			return err
		}
	}
	for i := range m.Bindings {
		if err := doc(nil, &m.Bindings[i]); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// manifestYAML is obj as a manifest: without status and metadata.creationTimestamp,
// which a typed object always carries and an apply must not.
func manifestYAML(obj runtime.Object) ([]byte, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}
