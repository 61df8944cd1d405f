package cascade_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
)

// TestCapabilitiesOf spells out the role table of docs/architecture.md, one case per role, sorted.
func TestCapabilitiesOf(t *testing.T) {
	cases := map[cascade.Role]struct {
		want []cascade.Capability
	}{
		cascade.Agent:               {want: []cascade.Capability{"inbox.reply", "notify"}},
		cascade.Operator:            {want: []cascade.Capability{"crm.read", "crm.write", "inbox.history", "inbox.reply", "inbox.start", "notify"}},
		cascade.ContentManager:      {want: []cascade.Capability{"cms.write"}},
		cascade.Analyst:             {want: []cascade.Capability{"analytics.read", "crm.read"}},
		cascade.Developer:           {want: []cascade.Capability{"backups.manage", "bots.develop"}},
		cascade.Producer:            {want: []cascade.Capability{"analytics.read", "backups.manage", "cms.write", "crm.read", "crm.write", "settings.write"}},
		cascade.Planner:             {want: []cascade.Capability{"planning.write"}},
		cascade.EnvironmentManager:  {want: []cascade.Capability{"settings.write", "users.manage"}},
		cascade.OrganisationManager: {want: []cascade.Capability{"environments.manage", "users.manage"}},
		cascade.Administrator: {want: []cascade.Capability{
			"analytics.read", "backups.manage", "bots.develop", "cms.write", "crm.read", "crm.write",
			"environments.manage", "inbox.history", "inbox.reply", "inbox.start", "notify",
			"planning.write", "settings.write", "users.manage",
		}},
		cascade.Supervisor: {want: nil},
		"Janitor":          {want: nil},
	}
	for role, tc := range cases {
		t.Run(string(role), func(t *testing.T) {
			if diff := cmp.Diff(tc.want, cascade.CapabilitiesOf(role)); diff != "" {
				t.Errorf("CapabilitiesOf(%s) mismatch (-want +got):\n%s", role, diff)
			}
		})
	}
}

// TestCapabilitiesOfIsACopy: callers may sort or append; the table must not change.
func TestCapabilitiesOfIsACopy(t *testing.T) {
	c := cascade.CapabilitiesOf(cascade.Administrator)
	c[0] = "changed"
	if got := cascade.CapabilitiesOf(cascade.Administrator); got[0] == "changed" {
		t.Fatal("CapabilitiesOf returned the shared table")
	}
}

// TestRoleCapabilitiesThroughResolve: each role granted alone in an environment gives
// exactly its capabilities (notify included only for Agent and Operator there).
func TestRoleCapabilitiesThroughResolve(t *testing.T) {
	for _, r := range cascade.AssignableRoles {
		t.Run(string(r), func(t *testing.T) {
			got := cascade.Resolve(cascade.User{Type: cascade.UserTypeUser},
				[]cascade.Grant{envGrant("ns/b", prod, r)}, []cascade.Environment{prod})
			if len(got) != 1 {
				t.Fatalf("Resolve() = %d entries, want 1", len(got))
			}
			want := cascade.CapabilitiesOf(r)
			if r == cascade.Administrator {
				// Administrator alone is not an inbox role: no notify.
				want = withoutNotify(want)
			}
			if diff := cmp.Diff(want, got[0].Capabilities); diff != "" {
				t.Errorf("capabilities mismatch (-want +got):\n%s", diff)
			}
			if wantNotify := r.AgentRole(); got[0].Notify != wantNotify {
				t.Errorf("Notify = %v, want %v", got[0].Notify, wantNotify)
			}
		})
	}
}

func TestAllCapabilitiesAndAssignableRoles(t *testing.T) {
	if !slices.IsSorted(cascade.AllCapabilities) || len(slices.Compact(slices.Clone(cascade.AllCapabilities))) != 14 {
		t.Errorf("AllCapabilities = %v, want the 14 capabilities sorted", cascade.AllCapabilities)
	}
	wantRoles := []cascade.Role{
		"Administrator", "Agent", "Analyst", "ContentManager", "Developer", "EnvironmentManager",
		"Operator", "OrganisationManager", "Planner", "Producer",
	}
	if diff := cmp.Diff(wantRoles, cascade.AssignableRoles); diff != "" {
		t.Errorf("AssignableRoles mismatch (-want +got):\n%s", diff)
	}
}

func TestRolePredicates(t *testing.T) {
	type predicates struct{ Known, Assignable, AgentRole bool }
	cases := map[cascade.Role]predicates{
		cascade.Agent:               {Known: true, Assignable: true, AgentRole: true},
		cascade.Operator:            {Known: true, Assignable: true, AgentRole: true},
		cascade.Administrator:       {Known: true, Assignable: true},
		cascade.OrganisationManager: {Known: true, Assignable: true},
		cascade.Supervisor:          {Known: true},
		"Janitor":                   {},
		"":                          {},
	}
	for role, want := range cases {
		t.Run(string(role), func(t *testing.T) {
			got := predicates{role.Known(), role.Assignable(), role.AgentRole()}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("predicates mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateRoles(t *testing.T) {
	cases := map[string]struct {
		kind  cascade.ScopeKind
		roles []cascade.Role
		// wantField is the ValidationError's Field; "" means valid.
		wantField string
		// wantRule is part of the explanation people read.
		wantRule string
	}{
		"every assignable role at agency scope": {
			kind: cascade.ScopeAgency, roles: cascade.AssignableRoles,
		},
		"every role but OrganisationManager at environment scope": {
			kind: cascade.ScopeEnvironment,
			roles: slices.DeleteFunc(slices.Clone(cascade.AssignableRoles), func(r cascade.Role) bool {
				return r == cascade.OrganisationManager
			}),
		},
		"empty at environment scope blocks inherited roles": {
			kind: cascade.ScopeEnvironment, roles: []cascade.Role{},
		},
		"nil at environment scope": {
			kind: cascade.ScopeEnvironment,
		},
		"empty at agency scope": {
			kind: cascade.ScopeAgency, roles: []cascade.Role{},
			wantField: "roles", wantRule: "must not be empty at agency scope",
		},
		"unknown role": {
			kind: cascade.ScopeAgency, roles: []cascade.Role{cascade.Analyst, "Janitor"},
			wantField: "roles[1]", wantRule: `unknown role "Janitor"`,
		},
		"unknown role lists the known ones": {
			kind: cascade.ScopeEnvironment, roles: []cascade.Role{"agent"},
			wantField: "roles[0]", wantRule: "known roles: Administrator, Agent,",
		},
		"Supervisor": {
			kind: cascade.ScopeEnvironment, roles: []cascade.Role{cascade.Supervisor},
			wantField: "roles[0]", wantRule: "not assignable",
		},
		"duplicate": {
			kind: cascade.ScopeAgency, roles: []cascade.Role{cascade.Agent, cascade.Planner, cascade.Agent},
			wantField: "roles[2]", wantRule: `duplicate role "Agent"`,
		},
		"OrganisationManager at environment scope": {
			kind: cascade.ScopeEnvironment, roles: []cascade.Role{cascade.Planner, cascade.OrganisationManager},
			wantField: "roles[1]", wantRule: "only be granted at agency scope",
		},
		"OrganisationManager at agency scope": {
			kind: cascade.ScopeAgency, roles: []cascade.Role{cascade.OrganisationManager},
		},
		"first problem wins": {
			kind: cascade.ScopeEnvironment, roles: []cascade.Role{cascade.OrganisationManager, cascade.Supervisor},
			wantField: "roles[0]", wantRule: "agency scope",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := cascade.ValidateRoles(tc.kind, tc.roles)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateRoles() = %v, want nil", err)
				}
				return
			}
			var verr *cascade.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("ValidateRoles() = %v, want a *ValidationError", err)
			}
			if verr.Field != tc.wantField {
				t.Errorf("Field = %q, want %q", verr.Field, tc.wantField)
			}
			if !strings.Contains(verr.Rule, tc.wantRule) {
				t.Errorf("Rule = %q, want it to contain %q", verr.Rule, tc.wantRule)
			}
			if want := verr.Field + ": " + verr.Rule; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}
