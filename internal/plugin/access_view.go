package plugin

import (
	"cmp"
	"slices"
	"strings"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Where access comes from.
const (
	// FromCluster: the StudioUser's status.access, as the operator resolved it.
	FromCluster = "cluster"
	// FromStore: the Studio user store's GET /users/{user}/access.
	FromStore = "store"
)

// AccessEntry is a user's effective access to one environment: the impersonate view.
type AccessEntry struct {
	Environment  string   `json:"environment"`
	Agency       string   `json:"agency"`
	Roles        []string `json:"roles"`
	Source       string   `json:"source"`
	Capabilities []string `json:"capabilities"`
	Notify       bool     `json:"notify"`
	// Bindings are the RoleBindings (ns/name) that give the roles; the store does not
	// know them.
	Bindings []string `json:"bindings,omitempty"`
}

// AccessView is what `access` prints for one user.
type AccessView struct {
	User         string        `json:"user"`
	From         string        `json:"from"`
	Environments []AccessEntry `json:"environments"`
}

// AccessFromStatus derives a user's access from its status.access: the roles, their
// source and bindings as the operator resolved them, and the capabilities that
// internal/cascade gives those roles (notify only when Agent or Operator is granted
// in the environment itself).
func AccessFromStatus(u *iamv1.StudioUser) []AccessEntry {
	out := make([]AccessEntry, 0, len(u.Status.Access))
	user := cascade.User{Type: cascade.UserType(cmp.Or(u.Spec.Type, iamv1.UserTypeUser))}
	for _, a := range u.Status.Access {
		roles := planner.CascadeRoles(a.Roles)
		// Resolve the status's own roles once more, at the scope they came from, so the
		// capabilities follow the same rules as everywhere else.
		grant := cascade.Grant{Scope: cascade.Scope{Agency: a.Agency}, Roles: roles}
		if a.Source == iamv1.AccessSourceEnvironment {
			grant.Scope = cascade.Scope{Environment: a.Environment}
		}
		entry := AccessEntry{
			Environment:  a.Environment,
			Agency:       a.Agency,
			Roles:        strs(a.Roles),
			Source:       string(a.Source),
			Capabilities: []string{},
			Bindings:     slices.Clone(a.Bindings),
		}
		resolved := cascade.Resolve(user, []cascade.Grant{grant}, []cascade.Environment{{Key: a.Environment, Agency: a.Agency}})
		if len(resolved) == 1 {
			entry.Capabilities = strs(resolved[0].Capabilities)
			entry.Notify = resolved[0].Notify
		}
		out = append(out, entry)
	}
	slices.SortFunc(out, func(a, b AccessEntry) int { return cmp.Compare(a.Environment, b.Environment) })
	return out
}

// AccessFromStore converts the store's answer; its environment keys ("ns.name") are
// shown as ns/name like everywhere else in Kubernetes.
func AccessFromStore(a store.Access) []AccessEntry {
	out := make([]AccessEntry, 0, len(a.Environments))
	for _, e := range a.Environments {
		out = append(out, AccessEntry{
			Environment:  EnvironmentRef(e.Environment),
			Agency:       e.Agency,
			Roles:        strs(e.Roles),
			Source:       string(e.Source),
			Capabilities: strs(e.Capabilities),
			Notify:       e.Notify,
		})
	}
	slices.SortFunc(out, func(a, b AccessEntry) int { return cmp.Compare(a.Environment, b.Environment) })
	return out
}

// EnvironmentRef turns a store environment key "<namespace>.<name>" into
// "<namespace>/<name>". Namespaces cannot contain dots, so the first one splits.
func EnvironmentRef(storeKey string) string {
	ns, name, ok := strings.Cut(storeKey, ".")
	if !ok {
		return storeKey
	}
	return ns + "/" + name
}

// OnlyEnvironment keeps the entry for env ("" keeps all).
func OnlyEnvironment(entries []AccessEntry, env string) []AccessEntry {
	if env == "" {
		return entries
	}
	return slices.DeleteFunc(slices.Clone(entries), func(e AccessEntry) bool { return e.Environment != env })
}

// AccessTable shows one row per environment.
func AccessTable(entries []AccessEntry) Table {
	t := Table{Header: []string{"ENVIRONMENT", "AGENCY", "ROLES", "SOURCE", "CAPABILITIES", "BINDINGS"}}
	for _, e := range entries {
		t.Rows = append(t.Rows, []string{e.Environment, e.Agency, joinOrNone(e.Roles), e.Source, joinOrNone(e.Capabilities), joinOrNone(e.Bindings)})
	}
	return t
}

func strs[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
