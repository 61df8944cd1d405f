package planner_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestDiffAccess(t *testing.T) {
	prod := func(roles ...iamv1.Role) iamv1.EnvironmentAccess {
		return access("team-a/prod", "acme", iamv1.AccessSourceEnvironment, nil, roles...)
	}
	dev := func(roles ...iamv1.Role) iamv1.EnvironmentAccess {
		return access("team-a/dev", "acme", iamv1.AccessSourceAgency, nil, roles...)
	}
	cases := map[string]struct {
		before, after []iamv1.EnvironmentAccess
		want          planner.AccessChange
	}{
		"nothing to nothing": {},
		"same":               {before: []iamv1.EnvironmentAccess{prod(iamv1.RoleAgent)}, after: []iamv1.EnvironmentAccess{prod(iamv1.RoleAgent)}},
		"granted": {
			after: []iamv1.EnvironmentAccess{prod(iamv1.RoleAgent, iamv1.RoleAnalyst), dev(iamv1.RolePlanner)},
			want:  planner.AccessChange{Granted: []string{"team-a/dev: Planner", "team-a/prod: Agent, Analyst"}},
		},
		"revoked": {
			before: []iamv1.EnvironmentAccess{prod(iamv1.RoleAgent)},
			want:   planner.AccessChange{Revoked: []string{"team-a/prod: Agent"}},
		},
		"swapped": {
			before: []iamv1.EnvironmentAccess{prod(iamv1.RoleAgent, iamv1.RoleAnalyst)},
			after:  []iamv1.EnvironmentAccess{prod(iamv1.RoleAnalyst, iamv1.RoleOperator)},
			want:   planner.AccessChange{Granted: []string{"team-a/prod: Operator"}, Revoked: []string{"team-a/prod: Agent"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := planner.DiffAccess(tc.before, tc.after)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
			if got.Empty() != (len(tc.want.Granted)+len(tc.want.Revoked) == 0) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

func TestAccessWithout(t *testing.T) {
	prod := access("team-a/prod", "acme", iamv1.AccessSourceEnvironment, nil, iamv1.RoleAgent)
	dev := access("team-a/dev", "acme", iamv1.AccessSourceAgency, nil, iamv1.RoleAnalyst)
	bot := access("globex/bot", "globex", iamv1.AccessSourceAgency, nil, iamv1.RoleAnalyst)
	all := []iamv1.EnvironmentAccess{bot, dev, prod}
	cases := map[string]struct {
		scopes []store.Scope
		want   []iamv1.EnvironmentAccess
	}{
		"nothing skipped":    {want: all},
		"one environment":    {scopes: []store.Scope{{Environment: "team-a.prod"}}, want: []iamv1.EnvironmentAccess{bot, dev}},
		"a whole agency":     {scopes: []store.Scope{{Agency: "acme"}}, want: []iamv1.EnvironmentAccess{bot}},
		"everything":         {scopes: []store.Scope{{Agency: "acme"}, {Environment: "globex.bot"}}},
		"unrelated scope":    {scopes: []store.Scope{{Environment: "team-b.web"}}, want: all},
		"dots in env names ": {scopes: []store.Scope{{Environment: "team-a.dev"}}, want: []iamv1.EnvironmentAccess{bot, prod}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, planner.AccessWithout(all, tc.scopes)); diff != "" {
				t.Errorf("access (-want +got):\n%s", diff)
			}
		})
	}
}
