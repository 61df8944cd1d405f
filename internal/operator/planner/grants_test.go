package planner_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/store"
)

func agencyGrant(agency string, roles ...cascade.Role) store.Grant {
	if roles == nil {
		roles = []cascade.Role{}
	}
	return store.Grant{Scope: store.Scope{Agency: agency}, Roles: roles}
}

func envGrant(key string, roles ...cascade.Role) store.Grant {
	if roles == nil {
		roles = []cascade.Role{}
	}
	return store.Grant{Scope: store.Scope{Environment: key}, Roles: roles}
}

func access(env, agency string, src iamv1.AccessSource, bindings []string, roles ...iamv1.Role) iamv1.EnvironmentAccess {
	return iamv1.EnvironmentAccess{Environment: env, Agency: agency, Roles: roles, Source: src, Bindings: bindings}
}

func refs(r ...string) []string { return r }

func TestPlanUser(t *testing.T) {
	const agencySrc, envSrc = iamv1.AccessSourceAgency, iamv1.AccessSourceEnvironment
	cases := map[string]struct {
		user     string
		edit     func(*planner.Snapshot)
		bindings []iamv1.RoleBinding
		want     planner.UserPlan
	}{
		"no bindings: empty grant set, no access": {
			user: "alice",
			want: planner.UserPlan{Grants: []store.Grant{}},
		},
		"agency roles ripple down to every allowed environment": {
			user:     "alice",
			bindings: []iamv1.RoleBinding{agencyBinding("team-a", "analysts", "acme", subjects("alice"), iamv1.RoleAnalyst)},
			want: planner.UserPlan{
				Grants: []store.Grant{agencyGrant("acme", cascade.Analyst)},
				Access: []iamv1.EnvironmentAccess{
					access("team-a/dev", "acme", agencySrc, refs("team-a/analysts"), iamv1.RoleAnalyst),
					access("team-a/prod", "acme", agencySrc, refs("team-a/analysts"), iamv1.RoleAnalyst),
				},
			},
		},
		"environment roles override the agency's there": {
			user: "alice",
			bindings: []iamv1.RoleBinding{
				agencyBinding("team-a", "analysts", "acme", subjects("alice"), iamv1.RoleAnalyst),
				envBinding("team-a", "prod-ops", "prod", subjects("alice"), iamv1.RoleOperator),
			},
			want: planner.UserPlan{
				Grants: []store.Grant{agencyGrant("acme", cascade.Analyst), envGrant("team-a.prod", cascade.Operator)},
				Access: []iamv1.EnvironmentAccess{
					access("team-a/dev", "acme", agencySrc, refs("team-a/analysts"), iamv1.RoleAnalyst),
					access("team-a/prod", "acme", envSrc, refs("team-a/prod-ops"), iamv1.RoleOperator),
				},
			},
		},
		"an explicit empty binding blocks the agency's roles": {
			user: "alice",
			bindings: []iamv1.RoleBinding{
				agencyBinding("team-a", "analysts", "acme", subjects("alice"), iamv1.RoleAnalyst),
				envBinding("team-a", "no-prod", "prod", subjects("alice")),
			},
			want: planner.UserPlan{
				Grants: []store.Grant{agencyGrant("acme", cascade.Analyst), envGrant("team-a.prod")},
				Access: []iamv1.EnvironmentAccess{
					access("team-a/dev", "acme", agencySrc, refs("team-a/analysts"), iamv1.RoleAnalyst),
				},
			},
		},
		"several bindings at one scope unite": {
			user: "alice",
			bindings: []iamv1.RoleBinding{
				envBinding("team-a", "one", "prod", subjects("alice", "bob"), iamv1.RoleAnalyst, iamv1.RoleDeveloper),
				envBinding("team-a", "two", "prod", subjects("alice"), iamv1.RoleDeveloper, iamv1.RoleContentManager),
				envBinding("team-a", "three", "prod", subjects("alice")),
			},
			want: planner.UserPlan{
				Grants: []store.Grant{envGrant("team-a.prod", cascade.Analyst, cascade.ContentManager, cascade.Developer)},
				Access: []iamv1.EnvironmentAccess{
					access("team-a/prod", "acme", envSrc, refs("team-a/one", "team-a/two"),
						iamv1.RoleAnalyst, iamv1.RoleContentManager, iamv1.RoleDeveloper),
				},
			},
		},
		"an agent keeps Agent and Operator only, in grants and access": {
			user: "ann",
			bindings: []iamv1.RoleBinding{
				agencyBinding("team-a", "everyone", "acme", subjects("ann"), iamv1.RoleAnalyst, iamv1.RoleOperator),
				envBinding("team-a", "dev-cms", "dev", subjects("ann"), iamv1.RoleContentManager),
			},
			want: planner.UserPlan{
				Grants: []store.Grant{agencyGrant("acme", cascade.Operator), envGrant("team-a.dev")},
				Access: []iamv1.EnvironmentAccess{
					access("team-a/prod", "acme", agencySrc, refs("team-a/everyone"), iamv1.RoleOperator),
				},
				NotForAgent: []string{"Analyst (RoleBinding team-a/everyone)", "ContentManager (RoleBinding team-a/dev-cms)"},
			},
		},
		"an agent's agency binding without agent roles grants nothing, and says which roles": {
			user:     "ann",
			bindings: []iamv1.RoleBinding{agencyBinding("team-a", "analysts", "acme", subjects("ann"), iamv1.RoleAnalyst)},
			want:     planner.UserPlan{Grants: []store.Grant{}, NotForAgent: []string{"Analyst (RoleBinding team-a/analysts)"}},
		},
		"tenancy: an environment its agency does not allow gets nothing": {
			user: "alice",
			bindings: []iamv1.RoleBinding{
				agencyBinding("team-a", "analysts", "acme", subjects("alice"), iamv1.RoleAnalyst),
				envBinding("team-b", "web-dev", "web", subjects("alice"), iamv1.RoleDeveloper),
			},
			want: planner.UserPlan{
				Grants: []store.Grant{agencyGrant("acme", cascade.Analyst)},
				Access: []iamv1.EnvironmentAccess{
					access("team-a/dev", "acme", agencySrc, refs("team-a/analysts"), iamv1.RoleAnalyst),
					access("team-a/prod", "acme", agencySrc, refs("team-a/analysts"), iamv1.RoleAnalyst),
				},
			},
		},
		"agency roles reach environments in other namespaces the agency allows": {
			user:     "alice",
			bindings: []iamv1.RoleBinding{agencyBinding("lab", "devs", "labelled", subjects("alice"), iamv1.RoleDeveloper)},
			want: planner.UserPlan{
				Grants: []store.Grant{agencyGrant("labelled", cascade.Developer)},
				Access: []iamv1.EnvironmentAccess{
					access("lab/home-bot", "labelled", agencySrc, refs("lab/devs"), iamv1.RoleDeveloper),
					access("team-c/sel", "labelled", agencySrc, refs("lab/devs"), iamv1.RoleDeveloper),
				},
			},
		},
		"an agency binding outside the home namespace grants nothing": {
			user:     "alice",
			bindings: []iamv1.RoleBinding{agencyBinding("team-b", "sneaky", "acme", subjects("alice"), iamv1.RoleAdministrator)},
			want:     planner.UserPlan{Grants: []store.Grant{}},
		},
		"a binding being deleted grants nothing": {
			user:     "alice",
			bindings: []iamv1.RoleBinding{*deleting(new(envBinding("team-a", "old", "prod", subjects("alice"), iamv1.RoleAnalyst)))},
			want:     planner.UserPlan{Grants: []store.Grant{}},
		},
		"a suspended user keeps its grants but has no access": {
			user: "alice",
			edit: func(s *planner.Snapshot) { s.Users["alice"].Spec.Suspended = true },
			bindings: []iamv1.RoleBinding{
				envBinding("team-a", "prod-ops", "prod", subjects("alice"), iamv1.RoleOperator),
			},
			want: planner.UserPlan{Grants: []store.Grant{envGrant("team-a.prod", cascade.Operator)}},
		},
		"grants are in the store's order": {
			user: "alice",
			bindings: []iamv1.RoleBinding{
				envBinding("team-b", "chat", "chat", subjects("alice"), iamv1.RoleAgent),
				envBinding("globex", "bot", "bot", subjects("alice"), iamv1.RoleAgent),
				agencyBinding("team-a", "acme", "acme", subjects("alice"), iamv1.RolePlanner),
				agencyBinding("globex", "globex", "globex", subjects("alice"), iamv1.RolePlanner),
			},
			want: planner.UserPlan{
				Grants: []store.Grant{
					agencyGrant("acme", cascade.Planner), agencyGrant("globex", cascade.Planner),
					envGrant("globex.bot", cascade.Agent), envGrant("team-b.chat", cascade.Agent),
				},
				Access: []iamv1.EnvironmentAccess{
					access("globex/bot", "globex", envSrc, refs("globex/bot"), iamv1.RoleAgent),
					access("team-a/dev", "acme", agencySrc, refs("team-a/acme"), iamv1.RolePlanner),
					access("team-a/prod", "acme", agencySrc, refs("team-a/acme"), iamv1.RolePlanner),
					access("team-b/chat", "globex", envSrc, refs("team-b/chat"), iamv1.RoleAgent),
				},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := world()
			if tc.edit != nil {
				tc.edit(&s)
			}
			got := planner.PlanUser(s.Users[tc.user], tc.bindings, s)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if got.HasAccess() != (len(tc.want.Access) > 0) {
				t.Errorf("HasAccess = %v", got.HasAccess())
			}
		})
	}
}

func TestGrantsEqual(t *testing.T) {
	cases := map[string]struct {
		a, b  []store.Grant
		equal bool
	}{
		"both empty":        {equal: true},
		"nil and empty":     {a: nil, b: []store.Grant{}, equal: true},
		"order of scopes":   {a: []store.Grant{envGrant("x.y", cascade.Agent), agencyGrant("a", cascade.Analyst)}, b: []store.Grant{agencyGrant("a", cascade.Analyst), envGrant("x.y", cascade.Agent)}, equal: true},
		"order of roles":    {a: []store.Grant{agencyGrant("a", cascade.Planner, cascade.Analyst)}, b: []store.Grant{agencyGrant("a", cascade.Analyst, cascade.Planner)}, equal: true},
		"nil roles = block": {a: []store.Grant{{Scope: store.Scope{Environment: "x.y"}}}, b: []store.Grant{envGrant("x.y")}, equal: true},
		"block vs nothing":  {a: []store.Grant{envGrant("x.y")}, b: nil},
		"different role":    {a: []store.Grant{agencyGrant("a", cascade.Analyst)}, b: []store.Grant{agencyGrant("a", cascade.Planner)}},
		"different scope":   {a: []store.Grant{agencyGrant("a", cascade.Analyst)}, b: []store.Grant{agencyGrant("b", cascade.Analyst)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := planner.GrantsEqual(tc.a, tc.b); got != tc.equal {
				t.Errorf("GrantsEqual = %v, want %v", got, tc.equal)
			}
		})
	}
}

func TestCountGrantChanges(t *testing.T) {
	cases := map[string]struct {
		old, cur       []store.Grant
		added, removed int
	}{
		"nothing":        {},
		"first grants":   {cur: []store.Grant{agencyGrant("a", cascade.Analyst, cascade.Planner)}, added: 2},
		"all revoked":    {old: []store.Grant{agencyGrant("a", cascade.Analyst), envGrant("x.y", cascade.Agent)}, removed: 2},
		"one role swaps": {old: []store.Grant{agencyGrant("a", cascade.Analyst, cascade.Planner)}, cur: []store.Grant{agencyGrant("a", cascade.Analyst, cascade.Developer)}, added: 1, removed: 1},
		"a block counts no role": {
			old: []store.Grant{agencyGrant("a", cascade.Analyst)}, cur: []store.Grant{agencyGrant("a", cascade.Analyst), envGrant("x.y")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			added, removed := planner.CountGrantChanges(tc.old, tc.cur)
			if added != tc.added || removed != tc.removed {
				t.Errorf("CountGrantChanges = +%d -%d, want +%d -%d", added, removed, tc.added, tc.removed)
			}
		})
	}
}

func TestStoreKeys(t *testing.T) {
	key := types.NamespacedName{Namespace: "team-a", Name: "prod.v2"}
	if got := planner.StoreEnvironmentKey(key); got != "team-a.prod.v2" {
		t.Errorf("StoreEnvironmentKey = %q", got)
	}
	if got := planner.EnvironmentRef(key); got != "team-a/prod.v2" {
		t.Errorf("EnvironmentRef = %q", got)
	}
}

func TestNarrowed(t *testing.T) {
	held := []store.Grant{
		agencyGrant("acme", cascade.Analyst, cascade.Planner),
		envGrant("team-a.dev", cascade.Developer),
		envGrant("team-a.prod", cascade.Operator),
	}
	planned := []store.Grant{
		agencyGrant("acme", cascade.Planner, cascade.Administrator), // Administrator is new: not added
		envGrant("team-a.dev"),                // now a block: kept as one
		envGrant("team-b.new", cascade.Agent), // a new scope: not added
	}
	want := []store.Grant{agencyGrant("acme", cascade.Planner), envGrant("team-a.dev")}
	if diff := cmp.Diff(want, planner.Narrowed(held, planned)); diff != "" {
		t.Errorf("narrowed (-want +got):\n%s", diff)
	}
	if got := planner.Narrowed(held, nil); len(got) != 0 {
		t.Errorf("nothing planned, still holds %v", got)
	}
}
