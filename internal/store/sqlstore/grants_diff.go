package sqlstore

import (
	"slices"
	"strings"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// grantChange is one audited change of a grant set: a role added or removed at a
// scope, or (Role "") a block added or removed.
type grantChange struct {
	Scope store.Scope
	Role  cascade.Role
	Added bool
}

// grantPlan is what turns the stored grant set into the desired one.
type grantPlan struct {
	Insert  []store.Grant
	Update  []store.Grant
	Delete  []store.Scope
	Changes []grantChange
}

// planGrants compares two normalized grant sets (sorted scopes, sorted roles) and
// returns the row operations and the audited changes, in scope then role order. A
// scope present on both sides with other roles is updated; its roles are diffed one by
// one. A block ([] at environment scope) appearing or disappearing is a change of its
// own.
func planGrants(current, desired []store.Grant) grantPlan {
	var p grantPlan
	cur := make(map[store.Scope][]cascade.Role, len(current))
	for _, g := range current {
		cur[g.Scope] = g.Roles
	}
	want := make(map[store.Scope]bool, len(desired))
	for _, g := range desired {
		want[g.Scope] = true
		have, ok := cur[g.Scope]
		switch {
		case !ok:
			p.Insert = append(p.Insert, g)
			if len(g.Roles) == 0 {
				p.Changes = append(p.Changes, grantChange{Scope: g.Scope, Added: true})
			}
			for _, r := range g.Roles {
				p.Changes = append(p.Changes, grantChange{Scope: g.Scope, Role: r, Added: true})
			}
		case !slices.Equal(have, g.Roles):
			p.Update = append(p.Update, g)
			for _, r := range have {
				if !slices.Contains(g.Roles, r) {
					p.Changes = append(p.Changes, grantChange{Scope: g.Scope, Role: r})
				}
			}
			for _, r := range g.Roles {
				if !slices.Contains(have, r) {
					p.Changes = append(p.Changes, grantChange{Scope: g.Scope, Role: r, Added: true})
				}
			}
		}
	}
	for _, g := range current {
		if want[g.Scope] {
			continue
		}
		p.Delete = append(p.Delete, g.Scope)
		p.Changes = append(p.Changes, revokeChanges(g)...)
	}
	return p
}

// revokeChanges are the changes of removing grant g entirely.
func revokeChanges(g store.Grant) []grantChange {
	if len(g.Roles) == 0 {
		return []grantChange{{Scope: g.Scope}}
	}
	out := make([]grantChange, 0, len(g.Roles))
	for _, r := range g.Roles {
		out = append(out, grantChange{Scope: g.Scope, Role: r})
	}
	return out
}

// auditDetails describes the change without anything secret.
func (c grantChange) auditDetails() map[string]any {
	scope := map[string]any{}
	if c.Scope.Agency != "" {
		scope["agency"] = c.Scope.Agency
	} else {
		scope["environment"] = c.Scope.Environment
	}
	d := map[string]any{"scope": scope}
	if c.Role == "" {
		d["block"] = true
	} else {
		d["role"] = string(c.Role)
	}
	return d
}

func (c grantChange) action() string {
	if c.Added {
		return store.ActionGrantAdded
	}
	return store.ActionGrantRemoved
}

// Encoding of a grant row: scope "agency/<key>" or "environment/<key>", roles sorted
// and comma-separated ("" is a block).

func scopeID(s store.Scope) string {
	if s.Agency != "" {
		return "agency/" + s.Agency
	}
	return "environment/" + s.Environment
}

func encodeRoles(roles []cascade.Role) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

func decodeRoles(s string) []cascade.Role {
	if s == "" {
		return []cascade.Role{}
	}
	parts := strings.Split(s, ",")
	out := make([]cascade.Role, len(parts))
	for i, p := range parts {
		out[i] = cascade.Role(p)
	}
	return out
}
