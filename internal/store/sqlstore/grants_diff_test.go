package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestPlanGrants(t *testing.T) {
	acme := store.Scope{Agency: "acme"}
	prod := store.Scope{Environment: "team-a.prod"}
	staging := store.Scope{Environment: "team-a.staging"}
	g := func(s store.Scope, roles ...cascade.Role) store.Grant {
		if roles == nil {
			roles = []cascade.Role{}
		}
		return store.Grant{Scope: s, Roles: roles}
	}
	for name, tc := range map[string]struct {
		current, desired []store.Grant
		want             grantPlan
	}{
		"nothing": {},
		"same": {
			current: []store.Grant{g(acme, cascade.Analyst), g(prod)},
			desired: []store.Grant{g(acme, cascade.Analyst), g(prod)},
		},
		"add roles and a block": {
			desired: []store.Grant{g(acme, cascade.Analyst, cascade.Developer), g(prod)},
			want: grantPlan{
				Insert: []store.Grant{g(acme, cascade.Analyst, cascade.Developer), g(prod)},
				Changes: []grantChange{
					{Scope: acme, Role: cascade.Analyst, Added: true},
					{Scope: acme, Role: cascade.Developer, Added: true},
					{Scope: prod, Added: true},
				},
			},
		},
		"change roles of a scope": {
			current: []store.Grant{g(acme, cascade.Analyst, cascade.Developer)},
			desired: []store.Grant{g(acme, cascade.Developer, cascade.Planner)},
			want: grantPlan{
				Update: []store.Grant{g(acme, cascade.Developer, cascade.Planner)},
				Changes: []grantChange{
					{Scope: acme, Role: cascade.Analyst},
					{Scope: acme, Role: cascade.Planner, Added: true},
				},
			},
		},
		"block becomes a grant": {
			current: []store.Grant{g(prod)},
			desired: []store.Grant{g(prod, cascade.Agent)},
			want: grantPlan{
				Update:  []store.Grant{g(prod, cascade.Agent)},
				Changes: []grantChange{{Scope: prod, Role: cascade.Agent, Added: true}},
			},
		},
		"grant becomes a block": {
			current: []store.Grant{g(prod, cascade.Agent)},
			desired: []store.Grant{g(prod)},
			want: grantPlan{
				Update:  []store.Grant{g(prod)},
				Changes: []grantChange{{Scope: prod, Role: cascade.Agent}},
			},
		},
		"remove a grant and a block": {
			current: []store.Grant{g(prod, cascade.Agent, cascade.Operator), g(staging)},
			want: grantPlan{
				Delete: []store.Scope{prod, staging},
				Changes: []grantChange{
					{Scope: prod, Role: cascade.Agent},
					{Scope: prod, Role: cascade.Operator},
					{Scope: staging},
				},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, planGrants(tc.current, tc.desired)); d != "" {
				t.Fatalf("plan (-want +got):\n%s", d)
			}
		})
	}
}

func TestGrantChangeDetails(t *testing.T) {
	for name, tc := range map[string]struct {
		change grantChange
		want   map[string]any
		action string
	}{
		"role at agency": {grantChange{Scope: store.Scope{Agency: "acme"}, Role: cascade.Analyst, Added: true},
			map[string]any{"scope": map[string]any{"agency": "acme"}, "role": "Analyst"}, store.ActionGrantAdded},
		"block at environment": {grantChange{Scope: store.Scope{Environment: "a.prod"}},
			map[string]any{"scope": map[string]any{"environment": "a.prod"}, "block": true}, store.ActionGrantRemoved},
	} {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.change.auditDetails()); d != "" {
				t.Fatalf("details (-want +got):\n%s", d)
			}
			if got := tc.change.action(); got != tc.action {
				t.Fatalf("action %q, want %q", got, tc.action)
			}
		})
	}
}

func TestRolesEncoding(t *testing.T) {
	for _, roles := range [][]cascade.Role{{}, {cascade.Agent}, {cascade.Agent, cascade.Operator}} {
		if d := cmp.Diff(roles, decodeRoles(encodeRoles(roles))); d != "" {
			t.Fatalf("round trip of %v (-want +got):\n%s", roles, d)
		}
	}
}
