package cascade_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
)

// The test organisation: agency acme owns three environments in two namespaces,
// agency globex owns one.
var (
	prod   = cascade.Environment{Key: "team-a/prod", Agency: "acme"}
	dev    = cascade.Environment{Key: "team-a/dev", Agency: "acme"}
	web    = cascade.Environment{Key: "team-b/web", Agency: "acme"}
	globex = cascade.Environment{Key: "globex/bot", Agency: "globex"}

	allEnvs = []cascade.Environment{prod, dev, web, globex}
)

func agencyGrant(name, agency string, roles ...cascade.Role) cascade.Grant {
	return cascade.Grant{Name: name, Scope: cascade.Scope{Agency: agency}, Roles: roles}
}

func envGrant(name string, e cascade.Environment, roles ...cascade.Role) cascade.Grant {
	return cascade.Grant{Name: name, Scope: cascade.Scope{Environment: e.Key}, Roles: roles}
}

// access builds the expected entry; capabilities are spelled out by each case so the
// test does not reuse the table it checks.
func access(e cascade.Environment, src cascade.Source, grants []string, roles []cascade.Role, caps ...cascade.Capability) cascade.Access {
	notify := slices.Contains(caps, cascade.Notify)
	return cascade.Access{
		Environment:  e.Key,
		Agency:       e.Agency,
		Roles:        roles,
		Source:       src,
		Grants:       grants,
		Capabilities: caps,
		Notify:       notify,
	}
}

func roles(rs ...cascade.Role) []cascade.Role { return rs }
func names(ns ...string) []string             { return ns }

var (
	analystCaps  = []cascade.Capability{cascade.AnalyticsRead, cascade.CRMRead}
	producerCaps = []cascade.Capability{cascade.AnalyticsRead, cascade.BackupsManage, cascade.CMSWrite, cascade.CRMRead, cascade.CRMWrite, cascade.SettingsWrite}
	// operatorCaps is Operator without notify: what it gives from agency scope.
	operatorCaps = []cascade.Capability{cascade.CRMRead, cascade.CRMWrite, cascade.InboxHistory, cascade.InboxReply, cascade.InboxStart}
)

func TestResolve(t *testing.T) {
	cases := map[string]struct {
		user   cascade.User
		grants []cascade.Grant
		envs   []cascade.Environment
		want   []cascade.Access
	}{
		"no grants, no access": {
			envs: allEnvs,
		},
		"agency roles ripple to every environment of the agency and no other": {
			grants: []cascade.Grant{agencyGrant("team-a/analysts", "acme", cascade.Analyst)},
			envs:   allEnvs,
			want: []cascade.Access{
				access(dev, cascade.SourceAgency, names("team-a/analysts"), roles(cascade.Analyst), analystCaps...),
				access(prod, cascade.SourceAgency, names("team-a/analysts"), roles(cascade.Analyst), analystCaps...),
				access(web, cascade.SourceAgency, names("team-a/analysts"), roles(cascade.Analyst), analystCaps...),
			},
		},
		"agency roles do not reach another agency's environments": {
			grants: []cascade.Grant{agencyGrant("team-a/analysts", "acme", cascade.Analyst)},
			envs:   []cascade.Environment{globex},
		},
		"environment grant replaces the agency roles there only": {
			grants: []cascade.Grant{
				agencyGrant("team-a/producers", "acme", cascade.Producer),
				envGrant("team-a/prod-planner", prod, cascade.Planner),
			},
			envs: allEnvs,
			want: []cascade.Access{
				access(dev, cascade.SourceAgency, names("team-a/producers"), roles(cascade.Producer), producerCaps...),
				access(prod, cascade.SourceEnvironment, names("team-a/prod-planner"), roles(cascade.Planner), cascade.PlanningWrite),
				access(web, cascade.SourceAgency, names("team-a/producers"), roles(cascade.Producer), producerCaps...),
			},
		},
		"environment grants are a union": {
			grants: []cascade.Grant{
				envGrant("team-a/b", prod, cascade.Developer),
				envGrant("team-a/a", prod, cascade.Analyst, cascade.Developer),
			},
			envs: allEnvs,
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/a", "team-a/b"), roles(cascade.Analyst, cascade.Developer),
					cascade.AnalyticsRead, cascade.BackupsManage, cascade.BotsDevelop, cascade.CRMRead),
			},
		},
		"agency grants are a union": {
			grants: []cascade.Grant{
				agencyGrant("team-a/planners", "acme", cascade.Planner),
				agencyGrant("team-a/content", "acme", cascade.ContentManager),
			},
			envs: []cascade.Environment{dev},
			want: []cascade.Access{
				access(dev, cascade.SourceAgency, names("team-a/content", "team-a/planners"), roles(cascade.ContentManager, cascade.Planner),
					cascade.CMSWrite, cascade.PlanningWrite),
			},
		},
		"empty environment grant blocks inherited roles": {
			grants: []cascade.Grant{
				agencyGrant("team-a/analysts", "acme", cascade.Analyst),
				envGrant("team-a/prod-block", prod),
			},
			envs: allEnvs,
			want: []cascade.Access{
				access(dev, cascade.SourceAgency, names("team-a/analysts"), roles(cascade.Analyst), analystCaps...),
				access(web, cascade.SourceAgency, names("team-a/analysts"), roles(cascade.Analyst), analystCaps...),
			},
		},
		"a block next to an environment grant: union, block not reported": {
			grants: []cascade.Grant{
				agencyGrant("team-a/analysts", "acme", cascade.Analyst),
				envGrant("team-a/prod-block", prod),
				envGrant("team-a/prod-planner", prod, cascade.Planner),
			},
			envs: []cascade.Environment{prod},
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/prod-planner"), roles(cascade.Planner), cascade.PlanningWrite),
			},
		},
		"agent keeps only Agent and Operator": {
			user: cascade.User{Type: cascade.UserTypeAgent},
			grants: []cascade.Grant{
				agencyGrant("team-a/support", "acme", cascade.Operator, cascade.Analyst),
				agencyGrant("team-a/analysts", "acme", cascade.Analyst),
			},
			envs: []cascade.Environment{dev},
			want: []cascade.Access{
				access(dev, cascade.SourceAgency, names("team-a/support"), roles(cascade.Operator), operatorCaps...),
			},
		},
		"agent's environment with only other roles disappears": {
			// The environment grant still overrides the agency's Operator: it exists,
			// its roles just do not apply to an agent.
			user: cascade.User{Type: cascade.UserTypeAgent},
			grants: []cascade.Grant{
				agencyGrant("team-a/support", "acme", cascade.Operator),
				envGrant("team-a/prod-dev", prod, cascade.Developer),
			},
			envs: []cascade.Environment{prod, dev},
			want: []cascade.Access{
				access(dev, cascade.SourceAgency, names("team-a/support"), roles(cascade.Operator), operatorCaps...),
			},
		},
		"agent with Agent in the environment is notified": {
			user:   cascade.User{Type: cascade.UserTypeAgent},
			grants: []cascade.Grant{envGrant("team-a/prod-agents", prod, cascade.Agent, cascade.Administrator)},
			envs:   allEnvs,
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/prod-agents"), roles(cascade.Agent), cascade.InboxReply, cascade.Notify),
			},
		},
		"suspended user has nothing": {
			user: cascade.User{Suspended: true},
			grants: []cascade.Grant{
				agencyGrant("team-a/admins", "acme", cascade.Administrator),
				envGrant("team-a/prod-agents", prod, cascade.Agent),
			},
			envs: allEnvs,
		},
		"removed user has nothing": {
			user:   cascade.User{Removed: true},
			grants: []cascade.Grant{envGrant("team-a/prod-agents", prod, cascade.Agent)},
			envs:   allEnvs,
		},
		"Operator at agency scope is not notified": {
			grants: []cascade.Grant{agencyGrant("team-a/support", "acme", cascade.Operator)},
			envs:   []cascade.Environment{prod},
			want: []cascade.Access{
				access(prod, cascade.SourceAgency, names("team-a/support"), roles(cascade.Operator), operatorCaps...),
			},
		},
		"Agent at agency scope is not notified": {
			grants: []cascade.Grant{agencyGrant("team-a/agents", "acme", cascade.Agent)},
			envs:   []cascade.Environment{prod},
			want: []cascade.Access{
				access(prod, cascade.SourceAgency, names("team-a/agents"), roles(cascade.Agent), cascade.InboxReply),
			},
		},
		"Operator in the environment is notified": {
			grants: []cascade.Grant{envGrant("team-a/prod-support", prod, cascade.Operator)},
			envs:   []cascade.Environment{prod},
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/prod-support"), roles(cascade.Operator),
					cascade.CRMRead, cascade.CRMWrite, cascade.InboxHistory, cascade.InboxReply, cascade.InboxStart, cascade.Notify),
			},
		},
		"Administrator at agency scope: everything but notify": {
			grants: []cascade.Grant{agencyGrant("team-a/admins", "acme", cascade.Administrator)},
			envs:   []cascade.Environment{web},
			want: []cascade.Access{
				access(web, cascade.SourceAgency, names("team-a/admins"), roles(cascade.Administrator), withoutNotify(cascade.AllCapabilities)...),
			},
		},
		"Administrator in the environment without Agent or Operator: no notify": {
			grants: []cascade.Grant{envGrant("team-a/prod-admins", prod, cascade.Administrator)},
			envs:   []cascade.Environment{prod},
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/prod-admins"), roles(cascade.Administrator), withoutNotify(cascade.AllCapabilities)...),
			},
		},
		"Administrator and Agent in the environment: every capability": {
			grants: []cascade.Grant{
				envGrant("team-a/prod-admins", prod, cascade.Administrator),
				envGrant("team-a/prod-agents", prod, cascade.Agent),
			},
			envs: []cascade.Environment{prod},
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/prod-admins", "team-a/prod-agents"), roles(cascade.Administrator, cascade.Agent), cascade.AllCapabilities...),
			},
		},
		"Agent at agency and Analyst in the environment: environment wins, no notify": {
			grants: []cascade.Grant{
				agencyGrant("team-a/agents", "acme", cascade.Agent),
				envGrant("team-a/prod-analysts", prod, cascade.Analyst),
			},
			envs: []cascade.Environment{prod},
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/prod-analysts"), roles(cascade.Analyst), analystCaps...),
			},
		},
		"grants that contribute nothing are not reported; duplicates collapse": {
			grants: []cascade.Grant{
				agencyGrant("team-a/x", "acme", cascade.Analyst, cascade.Analyst),
				agencyGrant("team-a/x", "acme", cascade.Analyst),
				agencyGrant("team-a/supervisors", "acme", cascade.Supervisor, "Janitor"),
				agencyGrant("", "acme", cascade.Planner),
			},
			envs: []cascade.Environment{dev},
			want: []cascade.Access{
				access(dev, cascade.SourceAgency, names("team-a/x"), roles(cascade.Analyst, cascade.Planner), cascade.AnalyticsRead, cascade.CRMRead, cascade.PlanningWrite),
			},
		},
		"only non-assignable roles: no access": {
			grants: []cascade.Grant{agencyGrant("team-a/supervisors", "acme", cascade.Supervisor)},
			envs:   allEnvs,
		},
		"grants on unknown scopes are ignored": {
			grants: []cascade.Grant{
				agencyGrant("x/initech", "initech", cascade.Administrator),
				envGrant("x/nowhere", cascade.Environment{Key: "x/nowhere"}, cascade.Administrator),
			},
			envs: allEnvs,
		},
		"an environment listed twice appears once": {
			grants: []cascade.Grant{envGrant("team-a/prod-planner", prod, cascade.Planner)},
			envs:   []cascade.Environment{prod, prod},
			want: []cascade.Access{
				access(prod, cascade.SourceEnvironment, names("team-a/prod-planner"), roles(cascade.Planner), cascade.PlanningWrite),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.user.Type == "" {
				tc.user.Type = cascade.UserTypeUser
			}
			got := cascade.Resolve(tc.user, tc.grants, tc.envs)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolveDeterministic shuffles grants, their roles and the environments: the
// result must not change.
func TestResolveDeterministic(t *testing.T) {
	grants := []cascade.Grant{
		agencyGrant("team-a/support", "acme", cascade.Operator, cascade.Analyst, cascade.Planner),
		agencyGrant("team-a/content", "acme", cascade.ContentManager),
		agencyGrant("globex/admins", "globex", cascade.Administrator, cascade.Developer),
		envGrant("team-a/prod-agents", prod, cascade.Agent, cascade.Producer),
		envGrant("team-a/prod-dev", prod, cascade.Developer, cascade.Agent),
		envGrant("team-b/web-block", web),
		envGrant("team-b/web-em", web, cascade.EnvironmentManager),
	}
	want := cascade.Resolve(cascade.User{Type: cascade.UserTypeUser}, grants, allEnvs)
	if len(want) != 4 {
		t.Fatalf("Resolve() returned %d environments, want 4", len(want))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		g := cloneGrants(grants)
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		for _, x := range g {
			rng.Shuffle(len(x.Roles), func(i, j int) { x.Roles[i], x.Roles[j] = x.Roles[j], x.Roles[i] })
		}
		e := slices.Clone(allEnvs)
		rng.Shuffle(len(e), func(i, j int) { e[i], e[j] = e[j], e[i] })
		if diff := cmp.Diff(want, cascade.Resolve(cascade.User{Type: cascade.UserTypeUser}, g, e)); diff != "" {
			t.Fatalf("shuffle %d changed the result (-want +got):\n%s", i, diff)
		}
	}
}

func TestResolveDoesNotModifyInput(t *testing.T) {
	grants := []cascade.Grant{
		agencyGrant("team-a/b", "acme", cascade.Planner, cascade.Analyst, cascade.Analyst),
		envGrant("team-a/a", prod, cascade.Operator, cascade.Agent),
	}
	envs := []cascade.Environment{web, prod, dev}
	wantGrants, wantEnvs := cloneGrants(grants), slices.Clone(envs)
	got := cascade.Resolve(cascade.User{Type: cascade.UserTypeAgent}, grants, envs)
	if diff := cmp.Diff(wantGrants, grants); diff != "" {
		t.Errorf("Resolve() modified grants (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(wantEnvs, envs); diff != "" {
		t.Errorf("Resolve() modified envs (-before +after):\n%s", diff)
	}
	// The result must not alias the input either: changing it leaves grants alone.
	for _, a := range got {
		for i := range a.Roles {
			a.Roles[i] = "Changed"
		}
	}
	if diff := cmp.Diff(wantGrants, grants); diff != "" {
		t.Errorf("result aliases the grants (-before +after):\n%s", diff)
	}
}

func TestHasRole(t *testing.T) {
	got := cascade.Resolve(cascade.User{Type: cascade.UserTypeUser}, []cascade.Grant{
		agencyGrant("team-a/analysts", "acme", cascade.Analyst),
		envGrant("team-a/prod-agents", prod, cascade.Agent),
	}, allEnvs)
	cases := map[string]struct {
		role cascade.Role
		want bool
	}{
		"from agency":                    {role: cascade.Analyst, want: true},
		"from environment":               {role: cascade.Agent, want: true},
		"not granted":                    {role: cascade.Operator},
		"never granted (not assignable)": {role: cascade.Supervisor},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if g := cascade.HasRole(got, tc.role); g != tc.want {
				t.Errorf("HasRole(%s) = %v, want %v", tc.role, g, tc.want)
			}
		})
	}
}

func TestScopeKind(t *testing.T) {
	cases := map[string]struct {
		scope cascade.Scope
		want  cascade.ScopeKind
	}{
		"agency":      {scope: cascade.Scope{Agency: "acme"}, want: cascade.ScopeAgency},
		"environment": {scope: cascade.Scope{Environment: "team-a/prod"}, want: cascade.ScopeEnvironment},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.scope.Kind(); got != tc.want {
				t.Errorf("Kind() = %q, want %q", got, tc.want)
			}
		})
	}
}

func withoutNotify(cs []cascade.Capability) []cascade.Capability {
	return slices.DeleteFunc(slices.Clone(cs), func(c cascade.Capability) bool { return c == cascade.Notify })
}

func cloneGrants(gs []cascade.Grant) []cascade.Grant {
	if gs == nil {
		return nil
	}
	out := make([]cascade.Grant, len(gs))
	for i, g := range gs {
		g.Roles = slices.Clone(g.Roles)
		out[i] = g
	}
	return out
}
