package cascade

import (
	"cmp"
	"slices"
)

// UserType distinguishes ordinary users from agents.
type UserType string

const (
	// UserTypeUser is an ordinary user.
	UserTypeUser UserType = "User"
	// UserTypeAgent keeps only the Agent and Operator roles.
	UserTypeAgent UserType = "Agent"
)

// Source says where an environment's effective roles come from.
type Source string

const (
	// SourceAgency: roles ripple down from agency-scope grants.
	SourceAgency Source = "Agency"
	// SourceEnvironment: environment-scope grants overwrite the agency's.
	SourceEnvironment Source = "Environment"
)

// User is what the cascade needs to know of a user.
type User struct {
	Type      UserType
	Suspended bool
	Removed   bool
}

// Environment is one environment and the agency that owns it. Key is whatever the
// caller uses to name environments (the operator uses "ns/name", the store "ns.name").
type Environment struct {
	Key    string
	Agency string
}

// Scope is where a grant applies: exactly one of Agency or Environment is set.
type Scope struct {
	Agency      string
	Environment string
}

// Kind returns the scope's kind.
func (s Scope) Kind() ScopeKind {
	if s.Environment != "" {
		return ScopeEnvironment
	}
	return ScopeAgency
}

// Grant is one valid grant of roles to the user at a scope. Name identifies where it
// comes from (a RoleBinding's "ns/name"); it is reported in Access.Bindings.
type Grant struct {
	Name  string
	Scope Scope
	Roles []Role
}

// Access is a user's effective access to one environment.
type Access struct {
	Environment  string
	Agency       string
	Roles        []Role
	Source       Source
	Grants       []string
	Capabilities []Capability
	Notify       bool
}

// Resolve returns u's effective access to each environment in envs, given the grants
// that apply to u. Environments where u ends up with no role are left out. The result
// is sorted by environment key, and within each entry roles, grants and capabilities
// are sorted and free of duplicates. Grants whose scope names no environment or agency
// in envs are ignored.
func Resolve(u User, grants []Grant, envs []Environment) []Access {
	if u.Suspended || u.Removed {
		return nil
	}
	byEnv := make(map[string][]Grant)
	byAgency := make(map[string][]Grant)
	for _, g := range grants {
		if g.Scope.Kind() == ScopeEnvironment {
			byEnv[g.Scope.Environment] = append(byEnv[g.Scope.Environment], g)
		} else {
			byAgency[g.Scope.Agency] = append(byAgency[g.Scope.Agency], g)
		}
	}

	var out []Access
	seen := make(map[string]bool, len(envs))
	for _, e := range envs {
		if seen[e.Key] {
			continue
		}
		seen[e.Key] = true
		applied, source := byEnv[e.Key], SourceEnvironment
		if len(applied) == 0 {
			applied, source = byAgency[e.Agency], SourceAgency
		}
		a, ok := effective(u, e, applied, source)
		if ok {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b Access) int { return cmp.Compare(a.Environment, b.Environment) })
	return out
}

// effective unions the roles of the applied grants, keeps what the user's type allows,
// and derives capabilities. ok is false when no role remains.
func effective(u User, e Environment, applied []Grant, source Source) (Access, bool) {
	var roles []Role
	var names []string
	for _, g := range applied {
		contributed := false
		for _, r := range g.Roles {
			if !r.Assignable() || (u.Type == UserTypeAgent && !r.AgentRole()) {
				continue
			}
			roles = append(roles, r)
			contributed = true
		}
		if contributed && g.Name != "" {
			names = append(names, g.Name)
		}
	}
	if len(roles) == 0 {
		return Access{}, false
	}
	slices.Sort(roles)
	roles = slices.Compact(roles)
	slices.Sort(names)
	names = slices.Compact(names)

	notify := false
	var caps []Capability
	for _, r := range roles {
		caps = append(caps, roleCapabilities[r]...)
		if r.AgentRole() && source == SourceEnvironment {
			notify = true
		}
	}
	caps = slices.DeleteFunc(sortedCapabilities(caps), func(c Capability) bool {
		return c == Notify && !notify
	})
	return Access{
		Environment:  e.Key,
		Agency:       e.Agency,
		Roles:        roles,
		Source:       source,
		Grants:       names,
		Capabilities: caps,
		Notify:       notify,
	}, true
}

// HasRole reports whether any entry grants role r.
func HasRole(access []Access, r Role) bool {
	for _, a := range access {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}
