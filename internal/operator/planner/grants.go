package planner

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// UserPlan is what a user should have in the Studio according to the cluster.
type UserPlan struct {
	// Grants is the whole grant set for PutGrants, in the store's order (agency
	// scopes first, then environments, each by key; roles sorted). Never nil.
	Grants []store.Grant
	// Access is the effective access those grants give (status.access), sorted by
	// environment. Empty for a suspended user, whose grants are kept.
	Access []iamv1.EnvironmentAccess
	// NotForAgent lists, for an Agent-type user, the roles its bindings give that do
	// not apply to it, as "Planner (RoleBinding team-a/planners)", sorted: the reason
	// a user whose type changed to Agent lost access.
	NotForAgent []string
}

// HasAccess reports whether the plan gives at least one role somewhere.
func (p UserPlan) HasAccess() bool { return len(p.Access) > 0 }

// PlanUser computes user u's grant set and effective access from the RoleBindings
// that name it. Only valid bindings count (EvaluateScope, EvaluateSubject); bindings
// being deleted count for nothing. s must hold, besides the bindings' scopes, every
// Environment of each agency the user has agency-scope roles in, since those roles
// ripple down to all of them.
func PlanUser(u *iamv1.StudioUser, bindings []iamv1.RoleBinding, s Snapshot) UserPlan {
	var grants []cascade.Grant
	var notForAgent []string
	envs := map[types.NamespacedName]string{} // environment → agency, for cascade
	agencies := map[string]bool{}
	for i := range bindings {
		b := &bindings[i]
		if !b.DeletionTimestamp.IsZero() {
			continue
		}
		scope := EvaluateScope(b, s)
		sv := EvaluateSubject(b, scope, u.Name, s)
		if sv.Status.Reason == iamv1.ReasonRolesNotAllowedForAgent {
			for _, r := range b.Spec.Roles {
				if !slices.Contains(sv.Roles, CascadeRole(r)) {
					notForAgent = append(notForAgent, fmt.Sprintf("%s (RoleBinding %s/%s)", r, b.Namespace, b.Name))
				}
			}
		}
		if !sv.Contributes {
			continue
		}
		g := cascade.Grant{Name: b.Namespace + "/" + b.Name, Roles: sv.Roles}
		if scope.EnvironmentScoped() {
			g.Scope.Environment = EnvironmentRef(scope.Environment)
			envs[scope.Environment] = scope.Agency
		} else {
			g.Scope.Agency = scope.Agency
			agencies[scope.Agency] = true
		}
		grants = append(grants, g)
	}
	for key, env := range s.Environments {
		if !agencies[env.Spec.AgencyRef.Name] || !env.DeletionTimestamp.IsZero() {
			continue
		}
		if res := ResolveEnvironment(env, s); res.Valid() {
			envs[key] = res.Agency
		}
	}
	cenvs := make([]cascade.Environment, 0, len(envs))
	for key, agency := range envs {
		cenvs = append(cenvs, cascade.Environment{Key: EnvironmentRef(key), Agency: agency})
	}
	user := cascade.User{Type: cascadeUserType(u.Spec.Type), Suspended: u.Spec.Suspended}
	slices.Sort(notForAgent)
	return UserPlan{
		Grants:      storeGrants(grants),
		Access:      accessStatus(cascade.Resolve(user, grants, cenvs)),
		NotForAgent: notForAgent,
	}
}

func cascadeUserType(t iamv1.UserType) cascade.UserType {
	if t == iamv1.UserTypeAgent {
		return cascade.UserTypeAgent
	}
	return cascade.UserTypeUser
}

// storeGrants merges grants per scope (the store holds one grant per scope) and puts
// them in the store's order.
func storeGrants(grants []cascade.Grant) []store.Grant {
	byScope := map[store.Scope][]cascade.Role{}
	for _, g := range grants {
		sc := store.Scope{Agency: g.Scope.Agency}
		if g.Scope.Environment != "" {
			sc = store.Scope{Environment: storeKeyFromRef(g.Scope.Environment)}
		}
		byScope[sc] = append(byScope[sc], g.Roles...)
	}
	out := make([]store.Grant, 0, len(byScope))
	for sc, roles := range byScope {
		out = append(out, store.Grant{Scope: sc, Roles: roles})
	}
	return NormalizeGrants(out)
}

// NormalizeGrants returns grants in the store's canonical form: sorted by scope
// (agencies first, then environments, each by key), roles sorted, unique and never
// nil (an empty list at environment scope is a block and must say so on the wire).
func NormalizeGrants(grants []store.Grant) []store.Grant {
	out := make([]store.Grant, 0, len(grants))
	for _, g := range grants {
		roles := slices.Clone(g.Roles)
		if roles == nil {
			roles = []cascade.Role{}
		}
		slices.Sort(roles)
		out = append(out, store.Grant{Scope: g.Scope, Roles: slices.Compact(roles)})
	}
	slices.SortFunc(out, func(a, b store.Grant) int {
		aEnv, bEnv := a.Scope.Environment != "", b.Scope.Environment != ""
		switch {
		case aEnv != bEnv && !aEnv:
			return -1
		case aEnv != bEnv:
			return 1
		}
		return cmp.Or(cmp.Compare(a.Scope.Agency, b.Scope.Agency), cmp.Compare(a.Scope.Environment, b.Scope.Environment))
	})
	return out
}

// GrantsEqual reports whether two grant sets are the same once normalized, so the
// operator writes only when the store's set differs from the desired one.
func GrantsEqual(a, b []store.Grant) bool {
	return slices.EqualFunc(NormalizeGrants(a), NormalizeGrants(b), func(x, y store.Grant) bool {
		return x.Scope == y.Scope && slices.Equal(x.Roles, y.Roles)
	})
}

func accessStatus(access []cascade.Access) []iamv1.EnvironmentAccess {
	if len(access) == 0 {
		return nil
	}
	out := make([]iamv1.EnvironmentAccess, 0, len(access))
	for _, a := range access {
		roles := APIRoles(a.Roles)
		out = append(out, iamv1.EnvironmentAccess{
			Environment: a.Environment,
			Agency:      a.Agency,
			Roles:       roles,
			Source:      iamv1.AccessSource(a.Source),
			Bindings:    slices.Clone(a.Grants),
		})
	}
	return out
}

// CountGrantChanges counts the (scope, role) pairs that replacing grant set old by
// cur adds and removes — the store's grant.added / grant.removed audit entries.
func CountGrantChanges(old, cur []store.Grant) (added, removed int) {
	type pair struct {
		scope store.Scope
		role  cascade.Role
	}
	set := func(gs []store.Grant) map[pair]bool {
		m := map[pair]bool{}
		for _, g := range gs {
			for _, r := range g.Roles {
				m[pair{g.Scope, r}] = true
			}
		}
		return m
	}
	o, c := set(old), set(cur)
	for p := range c {
		if !o[p] {
			added++
		}
	}
	for p := range o {
		if !c[p] {
			removed++
		}
	}
	return added, removed
}

// Narrowed is held with everything taken away that planned no longer gives, and
// nothing added: a scope planned leaves out goes, and a scope it keeps keeps only the
// roles both have (an environment block stays a block). It is what may be written
// when the rest of a user's reconcile cannot proceed: revocations never wait, new
// access may.
func Narrowed(held, planned []store.Grant) []store.Grant {
	out := make([]store.Grant, 0, len(held))
	for _, h := range held {
		i := slices.IndexFunc(planned, func(p store.Grant) bool { return p.Scope == h.Scope })
		if i < 0 {
			continue
		}
		roles := make([]cascade.Role, 0, len(h.Roles))
		for _, r := range h.Roles {
			if slices.Contains(planned[i].Roles, r) {
				roles = append(roles, r)
			}
		}
		if len(roles) == 0 && len(planned[i].Roles) > 0 {
			continue // no role left, and the plan's grant there is not a block
		}
		out = append(out, store.Grant{Scope: h.Scope, Roles: roles})
	}
	return out
}
