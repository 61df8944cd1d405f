package planner

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Snapshot is the part of the cluster a decision depends on, read by the caller.
// Objects that are being deleted may be included: the planner treats them as gone,
// because deleting an Agency, Environment or StudioUser withdraws what it gave.
type Snapshot struct {
	// Agencies by name.
	Agencies map[string]*iamv1.Agency
	// Environments by namespace and name.
	Environments map[types.NamespacedName]*iamv1.Environment
	// Users by name.
	Users map[string]*iamv1.StudioUser
	// NamespaceLabels by namespace name; a namespace missing from the map does not
	// exist. Only needed for agencies whose environmentNamespaces.from is Selector.
	NamespaceLabels map[string]map[string]string
}

// agency returns the named Agency unless it is missing or being deleted.
func (s Snapshot) agency(name string) (*iamv1.Agency, bool) {
	a, ok := s.Agencies[name]
	if !ok || a == nil || !a.DeletionTimestamp.IsZero() {
		return nil, false
	}
	return a, true
}

// agencyGone says why the named agency cannot be used: it does not exist, or it is
// being deleted (then what refers to it stops applying now, not when it is gone).
func (s Snapshot) agencyGone(name string) string {
	if a, ok := s.Agencies[name]; ok && a != nil && !a.DeletionTimestamp.IsZero() {
		return fmt.Sprintf("Agency %q is being deleted", name)
	}
	return fmt.Sprintf("Agency %q does not exist", name)
}

// environment returns the Environment unless it is missing or being deleted.
func (s Snapshot) environment(key types.NamespacedName) (*iamv1.Environment, bool) {
	e, ok := s.Environments[key]
	if !ok || e == nil || !e.DeletionTimestamp.IsZero() {
		return nil, false
	}
	return e, true
}

// user returns the StudioUser unless it is missing or being deleted.
func (s Snapshot) user(name string) (*iamv1.StudioUser, bool) {
	u, ok := s.Users[name]
	if !ok || u == nil || !u.DeletionTimestamp.IsZero() {
		return nil, false
	}
	return u, true
}

// EnvironmentRef is how the operator names an environment in status and in
// cascade: "<namespace>/<name>".
func EnvironmentRef(key types.NamespacedName) string { return key.Namespace + "/" + key.Name }

// StoreEnvironmentKey is the environment's key in the Studio user store:
// "<namespace>.<name>". Namespaces cannot contain dots, so the key is unambiguous.
func StoreEnvironmentKey(key types.NamespacedName) string { return key.Namespace + "." + key.Name }

// storeKeyFromRef turns "<namespace>/<name>" into "<namespace>.<name>".
func storeKeyFromRef(ref string) string { return strings.Replace(ref, "/", ".", 1) }
