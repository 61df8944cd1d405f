package plugin

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

const errEnvironmentRef = "invalid --environment %q: want <namespace>/<name> or <name> with -n <namespace>"

// parseEnvironmentRef reads --environment: "ns/name", or "name" in namespace ns (the
// one -n or the kubeconfig context selects). It returns "ns/name".
func parseEnvironmentRef(ref, namespace string) (string, error) {
	ns, name, hasNS := strings.Cut(ref, "/")
	if !hasNS {
		ns, name = namespace, ref
	}
	if ns == "" || name == "" || strings.Contains(name, "/") ||
		len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return "", fmt.Errorf(errEnvironmentRef, ref)
	}
	return ns + "/" + name, nil
}
