package planner_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// recorded marks the world's agencies and environments as the store has them, less
// the ones named in missing ("acme", "team-a/dev").
func recorded(s planner.Snapshot, missing ...string) planner.Snapshot {
	for name, a := range s.Agencies {
		if !slices.Contains(missing, name) {
			a.Status.StudioKey = name
		}
	}
	for key, e := range s.Environments {
		if !slices.Contains(missing, key.Namespace+"/"+key.Name) {
			e.Status.StudioKey = planner.StoreEnvironmentKey(key)
		}
	}
	return s
}

func TestUnrecordedScopes(t *testing.T) {
	bindings := []iamv1.RoleBinding{
		agencyBinding("team-a", "acme-analysts", "acme", []string{"alice"}, iamv1.RoleAnalyst),
		envBinding("team-a", "prod-ops", "prod", []string{"alice"}, iamv1.RoleOperator),
		envBinding("globex", "bot-dev", "bot", []string{"alice"}, iamv1.RoleDeveloper),
	}
	cases := map[string]struct {
		missing    []string
		wantScopes []store.Scope
		wantEnvs   []string // environments left in the plan's access
		wantGrants int
	}{
		"everything recorded": {
			wantEnvs: []string{"globex/bot", "team-a/dev", "team-a/prod"}, wantGrants: 3,
		},
		"an environment reached only through the agency": {
			missing:    []string{"team-a/dev"},
			wantScopes: []store.Scope{{Environment: "team-a.dev"}},
			wantEnvs:   []string{"globex/bot", "team-a/prod"}, wantGrants: 3,
		},
		"an environment with its own grant": {
			missing:    []string{"team-a/prod"},
			wantScopes: []store.Scope{{Environment: "team-a.prod"}},
			wantEnvs:   []string{"globex/bot", "team-a/dev"}, wantGrants: 2,
		},
		"an agency: nothing of it can be recorded": {
			missing:    []string{"acme", "team-a/prod", "team-a/dev"},
			wantScopes: []store.Scope{{Agency: "acme"}, {Environment: "team-a.prod"}, {Environment: "team-a.dev"}},
			wantEnvs:   []string{"globex/bot"}, wantGrants: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := recorded(world(), tc.missing...)
			plan := planner.PlanUser(s.Users["alice"], bindings, s)
			scopes := planner.UnrecordedScopes(plan, s)
			sortScopes := func(a, b store.Scope) int {
				return strings.Compare(a.Agency+"|"+a.Environment, b.Agency+"|"+b.Environment)
			}
			slices.SortFunc(scopes, sortScopes)
			want := slices.Clone(tc.wantScopes)
			slices.SortFunc(want, sortScopes)
			if diff := cmp.Diff(want, scopes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("unrecorded scopes (-want +got):\n%s", diff)
			}
			left := planner.WithoutScopes(plan, scopes)
			var envs []string
			for _, a := range left.Access {
				envs = append(envs, a.Environment)
			}
			if diff := cmp.Diff(tc.wantEnvs, envs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("access left (-want +got):\n%s", diff)
			}
			if len(left.Grants) != tc.wantGrants {
				t.Errorf("%d grants left, want %d: %+v", len(left.Grants), tc.wantGrants, left.Grants)
			}
			for _, g := range left.Grants {
				if slices.Contains(scopes, g.Scope) {
					t.Errorf("grant at unrecorded scope %+v kept", g.Scope)
				}
			}
		})
	}
}
