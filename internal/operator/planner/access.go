package planner

import (
	"fmt"
	"slices"
	"strings"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// AccessChange lists, per environment, the roles gained and lost between two
// effective-access lists, for events ("AccessGranted", "AccessRevoked").
type AccessChange struct {
	Granted []string
	Revoked []string
}

// Empty reports whether nothing changed.
func (c AccessChange) Empty() bool { return len(c.Granted) == 0 && len(c.Revoked) == 0 }

// DiffAccess compares effective access before and after; each entry reads
// "<ns>/<name>: Role, Role", sorted by environment.
func DiffAccess(before, after []iamv1.EnvironmentAccess) AccessChange {
	old := rolesByEnvironment(before)
	cur := rolesByEnvironment(after)
	var c AccessChange
	for _, env := range sortedKeys(old, cur) {
		if gained := missing(cur[env], old[env]); len(gained) > 0 {
			c.Granted = append(c.Granted, fmt.Sprintf("%s: %s", env, strings.Join(gained, ", ")))
		}
		if lost := missing(old[env], cur[env]); len(lost) > 0 {
			c.Revoked = append(c.Revoked, fmt.Sprintf("%s: %s", env, strings.Join(lost, ", ")))
		}
	}
	return c
}

func rolesByEnvironment(access []iamv1.EnvironmentAccess) map[string][]iamv1.Role {
	m := make(map[string][]iamv1.Role, len(access))
	for _, a := range access {
		m[a.Environment] = append(m[a.Environment], a.Roles...)
	}
	return m
}

// missing returns the roles in a that are not in b, sorted.
func missing(a, b []iamv1.Role) []string {
	var out []string
	for _, r := range a {
		if !slices.Contains(b, r) {
			out = append(out, string(r))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys(ms ...map[string][]iamv1.Role) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// AccessWithout drops from access the environments that grants at scopes could not
// reach because the store does not know them yet: an environment scope ("ns.name")
// removes that environment, an agency scope every environment of the agency.
func AccessWithout(access []iamv1.EnvironmentAccess, scopes []store.Scope) []iamv1.EnvironmentAccess {
	if len(scopes) == 0 {
		return access
	}
	out := make([]iamv1.EnvironmentAccess, 0, len(access))
	for _, a := range access {
		reached := true
		for _, sc := range scopes {
			if (sc.Agency != "" && sc.Agency == a.Agency) || (sc.Environment != "" && sc.Environment == storeKeyFromRef(a.Environment)) {
				reached = false
				break
			}
		}
		if reached {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// UnrecordedScopes returns the scopes of plan that the store has not recorded yet, as
// the cluster knows it: an Agency or Environment sets status.studioKey once its record
// is written. They are the agency and environment scopes of plan's grants whose
// object has no key yet, and every environment plan's access reaches that has none
// (an agency role ripples only into environments the store knows). Leaving them out
// of a write never widens access, and saves the write the store would refuse.
func UnrecordedScopes(plan UserPlan, s Snapshot) []store.Scope {
	envByKey := make(map[string]*iamv1.Environment, len(s.Environments))
	for key, env := range s.Environments {
		envByKey[StoreEnvironmentKey(key)] = env
	}
	unrecordedEnv := func(storeKey string) bool {
		env, ok := envByKey[storeKey]
		return ok && env != nil && env.Status.StudioKey == ""
	}
	seen := map[store.Scope]bool{}
	var out []store.Scope
	add := func(sc store.Scope) {
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	for _, g := range plan.Grants {
		switch {
		case g.Scope.Agency != "":
			if a, ok := s.Agencies[g.Scope.Agency]; ok && a != nil && a.Status.StudioKey == "" {
				add(g.Scope)
			}
		case unrecordedEnv(g.Scope.Environment):
			add(g.Scope)
		}
	}
	for _, a := range plan.Access {
		if key := storeKeyFromRef(a.Environment); unrecordedEnv(key) {
			add(store.Scope{Environment: key})
		}
	}
	return out
}

// WithoutScopes returns plan without the grants at scopes and without the access they
// would have given (AccessWithout).
func WithoutScopes(plan UserPlan, scopes []store.Scope) UserPlan {
	if len(scopes) == 0 {
		return plan
	}
	drop := make(map[store.Scope]bool, len(scopes))
	for _, sc := range scopes {
		drop[sc] = true
	}
	grants := make([]store.Grant, 0, len(plan.Grants))
	for _, g := range plan.Grants {
		if !drop[g.Scope] {
			grants = append(grants, g)
		}
	}
	return UserPlan{Grants: grants, Access: AccessWithout(plan.Access, scopes), NotForAgent: plan.NotForAgent}
}
